"""Evaluation: case sets, metrics (via ranx) and reports.

Each evaluation lives in its own module so ``python -m`` can run it, e.g.
``python -m garmle.evaluation.coding --out docs/coding-eval.md``.
"""

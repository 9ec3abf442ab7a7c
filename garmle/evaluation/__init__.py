"""Evaluation: case sets, metrics (via ranx) and reports.

Example:
    >>> from garmle.evaluation import coding_metrics
    >>> callable(coding_metrics)
    True
"""

from garmle.evaluation.coding import CodingCase, coding_metrics, write_coding_report

__all__ = ["CodingCase", "coding_metrics", "write_coding_report"]

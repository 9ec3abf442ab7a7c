"""Run a case set through garmle and its baselines on one index and score them.

:func:`run_evaluation` loads the cases, runs every system on every case, scores the runs
(:mod:`garmle.evaluation.metrics`), compares garmle with each other system case by case (paired
bootstrap), and writes ``report.md``, ``report.html``, ``results.json`` and plots to the output
directory. :func:`results_table` is the Markdown table of the README (garmle beside each baseline).

Command line (until it is wired into ``garmle eval``)::

    python -m garmle.evaluation.harness eval/cases/dev.jsonl --index index/full \\
        --mirror ../shared/data --report out/eval            # add --table to print the README table

Example:
    >>> from garmle import Recommender
    >>> result = run_evaluation("eval/cases/dev.jsonl", Recommender.open("index"), "out/eval",
    ...                         mirror="../shared/data")                       # doctest: +SKIP
    >>> result.summary["garmle"]["key_recall@10"]                              # doctest: +SKIP
    0.93
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from garmle.catalogue import catalogue_documents
from garmle.errors import GarmleError
from garmle.evaluation.cases import EvalCase, load_cases
from garmle.evaluation.metrics import (
    key_recommendation_hits,
    non_verbatim_chars,
    paired_bootstrap,
    per_case_metrics,
    population_fits,
    semantic_relevance,
)
from garmle.evaluation.systems import System, SystemOutput, default_systems, record_text
from garmle.query import population_phrase
from garmle.recommender import CATALOGUE_SOURCE, Recommender
from garmle.types import Chunk, Document, Patient, Snippet

__all__ = ["HEADLINE", "EvaluationResult", "evaluate_systems", "results_table", "run_evaluation"]

log = logging.getLogger(__name__)

RANK_METRICS = ("precision@5", "precision@10", "recall@10", "mrr", "ndcg@10")
HEADLINE: tuple[tuple[str, str], ...] = (
    ("key_recall@10", "key-rec recall@10"),
    ("snippet_pop/precision@5", "P@5 (population rule)"),
    ("snippet_pop/ndcg@10", "nDCG@10 (population rule)"),
    ("doc_pop/recall@10", "doc recall@10"),
    ("cited_relevant", "cited guidelines relevant"),
    ("semantic_relevance", "semantic relevance"),
    ("hallucination_rate", "hallucination rate"),
    ("seconds_median", "median s/case"),
)
"""The columns of :func:`results_table`: result key and column heading."""


@dataclass
class EvaluationResult:
    """Every number of one evaluation run.

    ``summary[system][metric]`` holds the means; ``per_case[system][metric]`` the per-case values in
    case order; ``comparisons[system][metric]`` the paired bootstrap of garmle minus that system;
    ``misses`` the key recommendations garmle did not find, with what it returned instead.
    """

    index: Mapping[str, Any]
    cases: list[str]
    k: int
    systems: dict[str, str] = field(default_factory=dict)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)
    per_case: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    comparisons: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    coding: dict[str, dict[str, float]] = field(default_factory=dict)
    reachable: dict[str, dict[str, bool]] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``results.json``."""
        return {
            "index": dict(self.index),
            "k": self.k,
            "cases": self.cases,
            "systems": self.systems,
            "summary": self.summary,
            "per_case": self.per_case,
            "comparisons": self.comparisons,
            "coding": self.coding,
            "reachable": self.reachable,
            "misses": self.misses,
        }


@dataclass
class _Judged:
    """The relevance judgements of one case, resolved against the index."""

    docs_topic: dict[str, int]
    docs_pop: dict[str, int]
    chunks_topic: dict[str, int]
    chunks_pop: dict[str, int]


def _judge(
    case: EvalCase,
    patient: Patient,
    doc_meta: Mapping[str, Mapping[str, str]],
    chunks_by_doc: Mapping[str, Sequence[str]],
) -> _Judged:
    docs_topic: dict[str, int] = {}
    for doc_id, meta in doc_meta.items():
        if meta.get("source") == CATALOGUE_SOURCE:
            continue
        grade = case.relevance_grade(meta, doc_id)
        if grade:
            docs_topic[doc_id] = grade
    docs_pop = {d: g for d, g in docs_topic.items() if population_fits(doc_meta[d], patient)}
    explicit = {cid: rule.grade for rule in case.relevance for cid in rule.chunk_ids}
    chunks_topic = {cid: g for d, g in docs_topic.items() for cid in chunks_by_doc.get(d, ())}
    chunks_pop = {cid: g for d, g in docs_pop.items() for cid in chunks_by_doc.get(d, ())}
    for cid, grade in explicit.items():
        chunks_topic[cid] = max(grade, chunks_topic.get(cid, 0))
        chunks_pop[cid] = max(grade, chunks_pop.get(cid, 0))
    return _Judged(docs_topic, docs_pop, chunks_topic, chunks_pop)


def _context_text(case: EvalCase, patient: Patient, recommender: Recommender) -> str:
    """What the patient's guideline needs are about: population and gold conditions (system-independent)."""
    titles = []
    for code in case.gold_codes:
        try:
            titles.append(recommender.catalogue.title(code))
        except GarmleError:
            continue
    conditions = "; ".join(titles) or record_text(patient)[:300]
    return f"Guideline recommendations for {population_phrase(patient)} with {conditions}"


def _documents_for(snippets: Sequence[Snippet], recommender: Recommender) -> dict[str, Document]:
    """Source documents of the snippets: from the index, else (catalogue entries) the packaged catalogue."""
    ids = {s.doc_id for s in snippets}
    documents = dict(recommender.store.get_documents(ids))
    for snip in snippets:
        if snip.doc_id not in documents and snip.source == CATALOGUE_SOURCE and snip.section:
            for doc in catalogue_documents(snip.section[-1][:3], recommender.catalogue):
                documents[doc.doc_id] = doc
    return documents


def _reachable(cases: Sequence[EvalCase], chunks: Sequence[Chunk]) -> dict[str, dict[str, bool]]:
    """Whether any guideline chunk of the index states each key recommendation."""
    guideline_chunks = [c for c in chunks if c.metadata.get("source") != CATALOGUE_SOURCE]
    return {
        case.case_id: {
            key.id: any(key.matches(c.text, c.chunk_id) for c in guideline_chunks)
            for key in case.key_recommendations
        }
        for case in cases
    }


def evaluate_systems(
    cases: Sequence[EvalCase],
    recommender: Recommender,
    systems: Sequence[System],
    *,
    k: int = 10,
    bootstrap_samples: int = 2000,
    progress: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Run and score ``systems`` on ``cases``; the first system is the one compared with the others."""
    from garmle.evaluation.coding import CodingCase, coding_metrics

    say = progress or log.info
    store = recommender.store
    doc_meta = store.document_metadata()
    chunks = store.all_chunks()
    chunks_by_doc: dict[str, list[str]] = {}
    for chunk in chunks:
        chunks_by_doc.setdefault(chunk.doc_id, []).append(chunk.chunk_id)
    patients = {case.case_id: case.patient.load() for case in cases}
    judged = {c.case_id: _judge(c, patients[c.case_id], doc_meta, chunks_by_doc) for c in cases}
    contexts = recommender.embedder.embed([_context_text(c, patients[c.case_id], recommender) for c in cases])
    result = EvaluationResult(
        index={**store.stats(), "documents_meta": len(doc_meta)},
        cases=[c.case_id for c in cases],
        k=k,
        reachable=_reachable(cases, chunks),
    )
    outputs: dict[str, dict[str, SystemOutput]] = {}
    coded: set[tuple[Any, ...]] = set()
    for system in systems:
        result.systems[system.name] = system.description
        outputs[system.name] = {}
        for case in cases:
            codes = case.gold_codes if system.uses_gold_codes else case.codes
            outputs[system.name][case.case_id] = system.run(
                patients[case.case_id], raw_text=case.patient.raw_text(), k=k, codes=codes
            )
        say(f"ran {system.name} on {len(cases)} cases")
        _score_system(result, system.name, cases, outputs[system.name], judged, contexts, recommender, k)
        predicted = {c.case_id: outputs[system.name][c.case_id].predictions for c in cases}
        gold_cases = [
            CodingCase(c.case_id, patients[c.case_id], c.gold_codes)
            for c in cases
            if c.gold_codes and not c.codes
        ]
        signature = tuple((c.case_id, predicted[c.case_id]) for c in gold_cases)
        if gold_cases and not system.uses_gold_codes and any(predicted.values()) and signature not in coded:
            coded.add(signature)  # systems sharing one predictor are scored once
            run = {c.case_id: {p.code: p.score for p in predicted[c.case_id]} for c in gold_cases}
            for level in ("code", "category"):
                result.coding[f"{system.name}/{level}"] = coding_metrics(gold_cases, run, level=level)
        say(f"{system.name}: " + ", ".join(f"{m}={result.summary[system.name][m]}" for m, _ in HEADLINE))
    _compare(result, systems[0].name, bootstrap_samples)
    result.misses = _misses(cases, outputs[systems[0].name], result.reachable, k)
    return result


def _score_system(
    result: EvaluationResult,
    name: str,
    cases: Sequence[EvalCase],
    outputs: Mapping[str, SystemOutput],
    judged: Mapping[str, _Judged],
    contexts: np.ndarray,
    recommender: Recommender,
    k: int,
) -> None:
    ids = [c.case_id for c in cases]
    snippet_run = {cid: [s.chunk_id for s in outputs[cid].snippets[:k]] for cid in ids}
    doc_run = {cid: list(dict.fromkeys(s.doc_id for s in outputs[cid].snippets[:k])) for cid in ids}
    per_case: dict[str, list[float]] = {}
    for label, qrels, run in (
        ("snippet_topic", {c: judged[c].chunks_topic for c in ids}, snippet_run),
        ("snippet_pop", {c: judged[c].chunks_pop for c in ids}, snippet_run),
        ("doc_topic", {c: judged[c].docs_topic for c in ids}, doc_run),
        ("doc_pop", {c: judged[c].docs_pop for c in ids}, doc_run),
    ):
        for metric, values in per_case_metrics(qrels, run, RANK_METRICS).items():
            per_case[f"{label}/{metric}"] = values
    key_recall: list[float] = []
    key_found = key_total = 0
    cited: list[float] = []
    semantic: list[float] = []
    bad_chars = total_chars = 0
    seconds: list[float] = []
    for i, case in enumerate(cases):
        out = outputs[case.case_id]
        hits = key_recommendation_hits(case.key_recommendations, out.snippets, k)
        found = sum(1 for rank in hits.values() if rank is not None)
        key_found += found
        key_total += len(hits)
        key_recall.append(found / len(hits) if hits else float("nan"))
        docs = {s.doc_id for s in out.snippets[:k]}
        cited.append(sum(1 for d in docs if d in judged[case.case_id].docs_pop) / len(docs) if docs else 0.0)
        vectors = recommender.retriever.chunk_vectors([s.chunk_id for s in out.snippets[:k]])
        semantic.append(semantic_relevance(contexts[i], list(vectors.values())))
        bad, total = non_verbatim_chars(out.output_snippets, _documents_for(out.output_snippets, recommender))
        bad_chars += bad
        total_chars += total
        seconds.append(out.seconds)
    per_case[f"key_recall@{k}"] = key_recall
    per_case["cited_relevant"] = cited
    per_case["semantic_relevance"] = semantic
    per_case["seconds"] = seconds
    summary = {m: _mean(v) for m, v in per_case.items()}
    summary["key_recall_micro"] = round(key_found / key_total, 4) if key_total else 0.0
    summary["hallucination_rate"] = round(bad_chars / total_chars, 6) if total_chars else 0.0
    summary["output_chars"] = float(total_chars)
    summary["seconds_median"] = round(statistics.median(seconds), 3) if seconds else 0.0
    result.summary[name] = summary
    result.per_case[name] = per_case


def _mean(values: Sequence[float]) -> float:
    """Mean over the cases where the value is defined (NaN: a case without key recommendations)."""
    defined = [v for v in values if not np.isnan(v)]
    return round(float(np.mean(defined)), 4) if defined else 0.0


def _compare(result: EvaluationResult, reference: str, samples: int) -> None:
    key = f"key_recall@{result.k}"
    for name, per_case in result.per_case.items():
        if name == reference:
            continue
        result.comparisons[name] = {}
        for metric in (key, "snippet_pop/precision@5", "snippet_pop/ndcg@10", "semantic_relevance"):
            a, b = result.per_case[reference][metric], per_case[metric]
            pairs = [(x, y) for x, y in zip(a, b, strict=True) if not (np.isnan(x) or np.isnan(y))]
            boot = paired_bootstrap([p[0] for p in pairs], [p[1] for p in pairs], samples=samples)
            result.comparisons[name][metric] = boot.to_dict()


def _misses(
    cases: Sequence[EvalCase],
    outputs: Mapping[str, SystemOutput],
    reachable: Mapping[str, Mapping[str, bool]],
    k: int,
) -> list[dict[str, Any]]:
    misses = []
    for case in cases:
        out = outputs[case.case_id]
        hits = key_recommendation_hits(case.key_recommendations, out.snippets, k)
        for key in case.key_recommendations:
            if hits[key.id] is not None:
                continue
            misses.append(
                {
                    "case": case.case_id,
                    "key": key.id,
                    "description": key.description,
                    "reachable": reachable[case.case_id][key.id],
                    "predicted": [p.code for p in out.predictions],
                    "returned": [
                        {"title": s.title, "aspect": s.aspect, "text": re.sub(r"\s+", " ", s.text)[:160]}
                        for s in out.snippets[:3]
                    ],
                }
            )
    return misses


def run_evaluation(
    cases_path: Path | str,
    recommender: Recommender,
    out_dir: Path | str,
    *,
    mirror: Path | str | None = None,
    systems: Sequence[System] | None = None,
    k: int = 10,
    ablations: bool = True,
    bootstrap_samples: int = 2000,
    progress: Callable[[str], None] | None = None,
) -> EvaluationResult:
    """Evaluate garmle and its baselines on a case file and write the report to ``out_dir``.

    Args:
        cases_path: the JSONL case file.
        recommender: an open recommender on the index to evaluate.
        out_dir: where ``report.md``, ``report.html``, ``results.json`` and the plots go.
        mirror: the directory that ``{mirror}`` in patient paths stands for.
        systems: the systems to compare, garmle first; :func:`default_systems` when None.
        k: the cut-off of the ranked lists (key-recommendation recall@k and friends).
        ablations: include the fusion ablations in the default systems.
        bootstrap_samples: resamples of the paired bootstrap.
        progress: called with a line of text as each system finishes.

    Raises:
        ConfigError: the case file is missing or malformed.
    """
    from garmle.evaluation.report import write_report

    if k < 1:
        raise GarmleError(f"k={k} must be at least 1")
    cases = load_cases(cases_path, mirror=mirror)
    chosen = list(systems) if systems is not None else default_systems(recommender, ablations=ablations)
    result = evaluate_systems(
        cases, recommender, chosen, k=k, bootstrap_samples=bootstrap_samples, progress=progress
    )
    write_report(result, Path(out_dir), cases_path=str(cases_path))
    return result


def results_table(result: EvaluationResult) -> str:
    """The Markdown results table: one row per system, garmle first, headline metrics as columns.

    Example:
        >>> r = EvaluationResult(index={}, cases=["c"], k=10, systems={"garmle": "x"},
        ...                      summary={"garmle": {m: 1.0 for m, _ in HEADLINE}})
        >>> results_table(r).splitlines()[2].startswith("| garmle | 1.000")
        True
    """
    head = "| system | " + " | ".join(label for _, label in HEADLINE) + " |"
    lines = [head, "|---|" + "---:|" * len(HEADLINE)]
    for name in result.systems:
        values = result.summary.get(name, {})
        cells = [
            f"{values.get(key.replace('@10', f'@{result.k}', 1) if key.startswith('key_') else key, 0.0):.3f}"
            for key, _ in HEADLINE
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m garmle.evaluation.harness CASES --index DIR --report OUT [--mirror DIR] [--table]``."""
    parser = argparse.ArgumentParser(description="Evaluate garmle and its baselines on a JSONL case file.")
    parser.add_argument("cases", help="JSONL case file")
    parser.add_argument("--index", required=True, help="index directory")
    parser.add_argument("--report", default="out/eval", help="output directory of the report")
    parser.add_argument("--mirror", default=None, help="directory that {mirror} in patient paths names")
    parser.add_argument("--model", default=None, help="embedding model directory (default: the bundled one)")
    parser.add_argument("-k", type=int, default=10, help="cut-off of the ranked lists")
    parser.add_argument("--no-ablations", action="store_true", help="leave out the fusion ablations")
    parser.add_argument("--table", action="store_true", help="print the README results table")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        recommender = Recommender.open(args.index, model_dir=args.model)
        result = run_evaluation(
            args.cases,
            recommender,
            args.report,
            mirror=args.mirror,
            k=args.k,
            ablations=not args.no_ablations,
            progress=lambda line: print(line, file=sys.stderr),
        )
    except GarmleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(results_table(result) if args.table else f"wrote {args.report}/report.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

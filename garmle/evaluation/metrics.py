"""Retrieval-quality metrics for recommendation runs.

Ranking metrics (P@k, Recall@k, MRR, nDCG@k) come from ``ranx``; the rest are defined here because no
IR library has them:

* **key-recommendation recall@k**: the share of a case's expected guideline statements found among
  its top-k snippets;
* **population fit**: whether a guideline's NGC Target Population (and title) admits the patient
  (:func:`population_fits`), used to judge relevance "under the population rule";
* **semantic relevance**: mean cosine between a case's context vector and the returned snippets;
* **hallucination rate**: the share of output characters that are not the verbatim source text at the
  cited span (:func:`non_verbatim_chars`);
* **paired bootstrap**: a 95% confidence interval of the mean per-case difference of two systems.

Example:
    >>> qrels = {"q1": {"a": 1, "c": 1}}
    >>> run = {"q1": ["a", "b", "c"]}
    >>> ranking_metrics(qrels, run, ["precision@2", "recall@3", "mrr"])
    {'precision@2': 0.5, 'recall@3': 1.0, 'mrr': 1.0}
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from garmle.evaluation.cases import KeyRecommendation
from garmle.ingest.ngc import includes_pregnancy_alongside, names_sex_as_subgroup, population_groups
from garmle.types import Document, Patient, Snippet

__all__ = [
    "BootstrapResult",
    "key_recommendation_hits",
    "non_verbatim_chars",
    "paired_bootstrap",
    "per_case_metrics",
    "population_fits",
    "ranking_metrics",
    "semantic_relevance",
]

_PEDIATRIC = frozenset({"infants", "children", "adolescents"})
_ADULT = frozenset({"adults", "older adults"})
_POSTNATAL = re.compile(
    r"\b(?:post-?natal|post-?partum|perinatal|puerper\w*|after (?:birth|delivery))\b", re.I
)


def _ranx_inputs(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Sequence[str]]
) -> tuple[object, object]:
    from ranx import Qrels, Run

    # ranx drops queries without a relevant item; a run scores by rank so ties keep the system's order.
    scored = {q: {item: float(len(items) - i) for i, item in enumerate(items)} for q, items in run.items()}
    for q in qrels:
        scored.setdefault(q, {})
    return Qrels({q: dict(v) for q, v in qrels.items()}), Run(scored)


def _has_relevant(qrels: Mapping[str, Mapping[str, int]]) -> bool:
    return any(grade > 0 for judged in qrels.values() for grade in judged.values())


def ranking_metrics(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Sequence[str]], metrics: Sequence[str]
) -> dict[str, float]:
    """Mean ranx metrics (``precision@5``, ``recall@10``, ``mrr``, ``ndcg@10``, ...) of ranked id lists.

    Args:
        qrels: case id -> {item id: grade > 0} (the relevant items).
        run: case id -> item ids, best first (duplicates are ignored after their first place).
        metrics: ranx metric names.
    """
    per_case = per_case_metrics(qrels, run, metrics)
    return {m: round(float(np.mean(v)), 4) if len(v) else 0.0 for m, v in per_case.items()}


def per_case_metrics(
    qrels: Mapping[str, Mapping[str, int]], run: Mapping[str, Sequence[str]], metrics: Sequence[str]
) -> dict[str, list[float]]:
    """ranx metrics per case, in the order of ``qrels`` (0 for a case with no relevant item).

    Example:
        >>> qrels = {"zeta": {"a": 1}, "alpha": {"b": 1}, "mid": {"c": 1}}
        >>> per_case_metrics(qrels, {"zeta": ["a"], "alpha": ["x"], "mid": ["c"]}, ["precision@1"])
        {'precision@1': [1.0, 0.0, 1.0]}
    """
    from ranx import evaluate

    cases = list(qrels)
    deduped = {q: list(dict.fromkeys(run.get(q, ()))) for q in cases}
    judged = {q: {i: g for i, g in qrels[q].items() if g > 0} for q in cases}
    scored_cases = [q for q in cases if judged[q]]
    out: dict[str, list[float]] = {m: [0.0] * len(cases) for m in metrics}
    if not scored_cases or not _has_relevant(judged):
        return out
    ranx_qrels, ranx_run = _ranx_inputs(
        {q: judged[q] for q in scored_cases}, {q: deduped[q] for q in scored_cases}
    )
    result = evaluate(ranx_qrels, ranx_run, list(metrics), return_mean=False, make_comparable=True)
    if len(metrics) == 1:
        result = {metrics[0]: result}
    position = {q: i for i, q in enumerate(cases)}
    # ranx returns the values in its own (sorted) query order, not in the order it was given
    ranx_order = [str(q) for q in ranx_qrels.keys()]  # type: ignore[attr-defined]  # noqa: SIM118
    for metric in metrics:
        values = np.asarray(result[metric], dtype=float).reshape(-1)
        for q, value in zip(ranx_order, values, strict=True):
            out[metric][position[q]] = float(value)
    return out


def key_recommendation_hits(
    keys: Sequence[KeyRecommendation], snippets: Sequence[Snippet], k: int
) -> dict[str, int | None]:
    """For each key recommendation, the 1-based rank of the first top-``k`` snippet stating it (None: missed).

    Example:
        >>> s = Snippet("Offer metformin first.", "d", "d:0", "T", 0, 22, 1.0)
        >>> key_recommendation_hits([KeyRecommendation("met", pattern="metformin")], [s], 10)
        {'met': 1}
    """
    found: dict[str, int | None] = {}
    for key in keys:
        ranks = (i for i, s in enumerate(snippets[:k], start=1) if key.matches(s.text, s.chunk_id))
        found[key.id] = next(ranks, None)
    return found


def population_fits(metadata: Mapping[str, str], patient: Patient) -> bool:
    """Whether a guideline's target population (NGC Target Population and title) admits the patient.

    A guideline only for children/adolescents does not fit an adult (and one only for adults does not fit
    a child); one on pregnancy fits only a pregnant patient unless it also names adults in general; one
    that names only women (men) does not fit a man (woman). Unknown age counts as adult.

    A woman in the weeks after a birth fits one on pregnancy that names the postnatal period.

    Example:
        >>> population_fits({"population": "Pregnant women with chronic hypertension"}, Patient("p", age=50))
        False
        >>> perinatal = {"population": "All pregnant or postnatal women"}
        >>> population_fits(perinatal, Patient("p", age=31, sex="female", postpartum=True))
        True
        >>> preterm = {"population": "Pregnant women at risk of preterm birth and their infants"}
        >>> population_fits(preterm, Patient("p", age=27, sex="female", pregnant=True))
        True
        >>> women = {"population": "Women with recurrent cystitis"}
        >>> population_fits(women, Patient("p", age=0.8, sex="female"))
        False
        >>> population_fits({"population": "Adults with hypertension"}, Patient("p", age=50, sex="male"))
        True
        >>> title = "Interventions for tobacco smoking cessation in adults, including pregnant women"
        >>> population_fits({"title": title}, Patient("p", age=47, sex="male"))
        True
    """
    title = str(metadata.get("title", ""))
    title_groups = set(population_groups(title))
    groups = set(population_groups(str(metadata.get("population", "")))) | title_groups
    # "... in adults, including pregnant women" widens an adult guideline; it is not about pregnancy alone
    title_pregnancy = "pregnancy" in title_groups and not includes_pregnancy_alongside(title)
    adult_patient = patient.age is None or patient.age >= 18
    # a guideline for "pregnant or postnatal women" admits a woman in the weeks after a birth
    postnatal = bool(patient.postpartum) and _POSTNATAL.search(f"{title} {metadata.get('population', '')}")
    # "Pregnant women and their infants" names the babies a pregnancy guideline also covers
    perinatal = "pregnancy" in groups and bool(patient.pregnant or postnatal)
    if adult_patient and groups & _PEDIATRIC and not groups & _ADULT and not perinatal:
        return False
    if not adult_patient and groups & _ADULT and not groups & _PEDIATRIC:
        return False
    if (
        not (patient.pregnant or postnatal)
        and "pregnancy" in groups
        and (title_pregnancy or not groups & _ADULT)
    ):
        return False
    # "Adults ..., including pregnant women" names women because of pregnancy, not to exclude men.
    # "Adults with STEMI ... subgroups such as older adults, women and ..." is for men too
    subgroup = "adults" in groups and names_sex_as_subgroup(str(metadata.get("population", "")))
    women_only = (
        "women" in groups
        and "men" not in groups
        and not ("pregnancy" in groups and groups & _ADULT)
        and not subgroup
    )
    men_only = "men" in groups and "women" not in groups and not subgroup
    sex = (patient.sex or "").lower()
    # a guideline for women (or men) alone is not one for a young child
    child = patient.age is not None and patient.age < 12 and not groups & _PEDIATRIC
    return not (
        (sex == "male" and women_only)
        or (sex == "female" and men_only)
        or (child and (women_only or men_only))
    )


def semantic_relevance(context: np.ndarray, vectors: Sequence[np.ndarray]) -> float:
    """Mean cosine between a context vector and snippet vectors (0.0 for no snippets).

    Example:
        >>> semantic_relevance(np.array([1.0, 0.0]), [np.array([1.0, 0.0]), np.array([0.0, 2.0])])
        0.5
    """
    if not len(vectors):
        return 0.0
    ctx = np.asarray(context, dtype=np.float64)
    ctx = ctx / (np.linalg.norm(ctx) or 1.0)
    mat = np.asarray(np.stack(vectors), dtype=np.float64)
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    mat = mat / np.where(norms == 0, 1.0, norms)
    return round(float(np.mean(mat @ ctx)), 6)


def non_verbatim_chars(snippets: Sequence[Snippet], documents: Mapping[str, Document]) -> tuple[int, int]:
    """``(non-verbatim characters, total characters)`` of output snippets against their cited spans.

    A snippet counts in full as non-verbatim when its document is unknown, its span is out of range or
    the document text at the span differs from the snippet text.

    Example:
        >>> doc = Document(doc_id="d", title="T", text="Treat to <140/90.")
        >>> ok = Snippet("Treat", "d", "d:0", "T", 0, 5, 1.0)
        >>> bad = Snippet("Trust", "d", "d:0", "T", 0, 5, 1.0)
        >>> non_verbatim_chars([ok, bad], {"d": doc})
        (5, 10)
    """
    bad = total = 0
    for snip in snippets:
        total += len(snip.text)
        doc = documents.get(snip.doc_id)
        if doc is None or doc.text[snip.char_start : snip.char_end] != snip.text or snip.char_start < 0:
            bad += len(snip.text)
    return bad, total


@dataclass(frozen=True)
class BootstrapResult:
    """Mean per-case difference (a - b) with a percentile bootstrap 95% confidence interval."""

    mean_diff: float
    low: float
    high: float
    n: int

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def to_dict(self) -> dict[str, float | int | bool]:
        """Plain values for JSON."""
        return {
            "mean_diff": self.mean_diff,
            "ci_low": self.low,
            "ci_high": self.high,
            "n": self.n,
            "significant": self.significant,
        }


def paired_bootstrap(
    a: Sequence[float], b: Sequence[float], *, samples: int = 2000, seed: int = 0
) -> BootstrapResult:
    """Paired bootstrap of the mean difference ``a - b`` over cases (resampling cases with replacement).

    Example:
        >>> r = paired_bootstrap([1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0])
        >>> (r.mean_diff, r.low, r.high, r.significant)
        (1.0, 1.0, 1.0, True)
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    diffs = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    n = len(diffs)
    if n == 0:
        return BootstrapResult(0.0, 0.0, 0.0, 0)
    rng = random.Random(seed)
    means = np.empty(samples)
    for i in range(samples):
        means[i] = diffs[[rng.randrange(n) for _ in range(n)]].mean()
    low, high = np.percentile(means, [2.5, 97.5])
    return BootstrapResult(round(float(diffs.mean()), 4), round(float(low), 4), round(float(high), 4), n)

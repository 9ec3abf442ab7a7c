"""The systems an evaluation compares: garmle, its baselines and ablations, all on one index.

Every system maps a case's patient to a ranked list of guideline snippets (best first) and, where it
predicts codes, its code predictions. garmle's report holds snippets per code; its ranked list is the
report's leading list (:meth:`garmle.types.Report.leading`): the codes take turns in report order,
the presenting condition giving three snippets per turn and every other code one.

Baselines (same index, same embedder):

* ``naive-rag``: the raw note (or the record as plain text) as one dense query, top-k chunks;
* ``codes-only``: garmle's queries from the code titles alone (no patient facts);
* ``ehr-only``: queries from the patient facts alone (no code titles), hybrid retrieval, no fusion;
* ``bm25-only`` / ``dense-only``: garmle with one retriever switched off;
* ablations of fusion features: ``no-topic``, ``no-facts``, ``no-population-filter``, ``no-mmr``.

Example:
    >>> systems = default_systems(recommender)            # doctest: +SKIP
    >>> out = systems[0].run(patient, raw_text="...", k=10)  # doctest: +SKIP
    >>> out.snippets[0].title                              # doctest: +SKIP
    'Hypertension in adults'
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from garmle.fusion import FusionWeights, snippet_from_chunk
from garmle.query import patient_facts, population_phrase
from garmle.recommender import CATALOGUE_SOURCE, Recommender
from garmle.retrieval import HybridRetriever, SearchFilter, rrf_fuse
from garmle.types import CodePrediction, Patient, Report, Snippet

__all__ = [
    "EhrOnlyBaseline",
    "GarmleSystem",
    "NaiveRagBaseline",
    "SharedPredictor",
    "System",
    "SystemOutput",
    "default_systems",
    "interleave",
    "record_text",
]

GUIDELINES_ONLY = SearchFilter(exclude_sources=(CATALOGUE_SOURCE,))


@dataclass(frozen=True)
class SystemOutput:
    """What one system returned for one case."""

    snippets: tuple[Snippet, ...]
    predictions: tuple[CodePrediction, ...] = ()
    extra_snippets: tuple[Snippet, ...] = ()
    seconds: float = 0.0
    report: Report | None = field(default=None, compare=False)

    @property
    def output_snippets(self) -> tuple[Snippet, ...]:
        """Every snippet the system shows (ranked ones and catalogue entries), for the verbatim audit."""
        return self.snippets + self.extra_snippets


class System(Protocol):
    """A retrieval system under evaluation."""

    name: str
    description: str
    uses_gold_codes: bool

    def run(self, patient: Patient, *, raw_text: str, k: int, codes: Sequence[str] = ()) -> SystemOutput:
        """Ranked snippets (at least ``k`` where the index allows) for one patient."""
        ...


def interleave(report: Report, k: int) -> list[Snippet]:
    """The report's ``k`` leading guideline snippets as one list (:meth:`Report.leading`).

    Example:
        >>> interleave(Report(patient=Patient("p")), 10)
        []
    """
    return [snippet for _, snippet in report.leading(k)]


def record_text(patient: Patient) -> str:
    """A structured record as the plain text a naive pipeline would embed (notes when there are any).

    Example:
        >>> record_text(Patient("p", age=70, sex="female", notes=("Palpitations.",)))
        'Palpitations.'
    """
    if patient.notes:
        return "\n".join(patient.notes)
    parts = [f"{patient.age}-year-old {patient.sex or 'patient'}" if patient.age is not None else ""]
    parts += [p.display for p in patient.problems if p.status == "active"]
    bp = patient.blood_pressures[-1] if patient.blood_pressures else None
    if bp is not None:
        parts.append(f"blood pressure {bp.systolic:.0f}/{bp.diastolic:.0f} mmHg")
    parts += [f"{o.name} {o.value:g} {o.unit}".strip() for o in (*patient.labs, *patient.vitals)]
    parts += [m.display for m in patient.medications]
    return ". ".join(p for p in parts if p)


class GarmleSystem:
    """garmle itself (or a variant of it): predicted or given codes, queries, hybrid retrieval, fusion.

    Args:
        recommender: the recommender (its retriever, weights and templates define the variant).
        name: the system's name in reports.
        description: one line for the report.
        use_facts: False builds code-only queries.
        given_codes: the evaluation passes the case's gold codes instead of letting it predict them.

    Example:
        >>> GarmleSystem(recommender, "garmle").run(patient, raw_text="", k=10)   # doctest: +SKIP
    """

    def __init__(
        self,
        recommender: Recommender,
        name: str = "garmle",
        description: str = "predicted codes + EHR facts -> hybrid retrieval -> fusion",
        *,
        use_facts: bool = True,
        given_codes: bool = False,
    ) -> None:
        self.recommender = recommender
        self.name = name
        self.description = description
        self.use_facts = use_facts
        self.uses_gold_codes = given_codes

    def run(self, patient: Patient, *, raw_text: str, k: int, codes: Sequence[str] = ()) -> SystemOutput:
        """Recommend with ``k`` snippets per code and interleave them."""
        started = time.perf_counter()
        report = self.recommender.recommend(
            patient, codes=list(codes) or None, top_k=k, use_facts=self.use_facts
        )
        seconds = time.perf_counter() - started
        catalogue = tuple(s for rec in report.recommendations for s in rec.catalogue)
        return SystemOutput(
            snippets=tuple(interleave(report, k)),
            predictions=report.predictions,
            extra_snippets=catalogue,
            seconds=seconds,
            report=report,
        )


class NaiveRagBaseline:
    """Conventional RAG: the raw note (or the record as text) as one dense query, top-k guideline chunks.

    Example:
        >>> NaiveRagBaseline(recommender).run(patient, raw_text="72F, AF on ECG", k=10)  # doctest: +SKIP
    """

    name = "naive-rag"
    description = "raw note as one dense query, top-k chunks"
    uses_gold_codes = False

    def __init__(self, recommender: Recommender) -> None:
        self.retriever = HybridRetriever(recommender.store, recommender.embedder, lexical=False)

    def run(self, patient: Patient, *, raw_text: str, k: int, codes: Sequence[str] = ()) -> SystemOutput:
        """Dense top-``k`` for the raw text."""
        started = time.perf_counter()
        text = raw_text.strip() or record_text(patient)
        hits = self.retriever.retrieve([text], k=k, search_filter=GUIDELINES_ONLY)[0]
        snippets = tuple(snippet_from_chunk(h.chunk, h.score) for h in hits)
        return SystemOutput(snippets=snippets, seconds=time.perf_counter() - started)


class EhrOnlyBaseline:
    """Queries from the patient's facts alone (population, vital signs, labs, medications; no code titles).

    The codes (predicted, or given) only choose which facts are relevant, as garmle does; their titles
    never enter the query text. The per-query hybrid results are fused by reciprocal rank.

    Example:
        >>> EhrOnlyBaseline(recommender).run(patient, raw_text="", k=10)   # doctest: +SKIP
    """

    name = "ehr-only"
    description = "patient facts without code titles, hybrid retrieval, rank fusion"
    uses_gold_codes = False

    def __init__(self, recommender: Recommender) -> None:
        self.recommender = recommender

    def queries(self, patient: Patient, predictions: Sequence[CodePrediction]) -> list[str]:
        """One query per code: the population phrase and the code's patient facts, code titles left out."""
        population = population_phrase(patient)
        texts = []
        for pred in predictions:
            facts = [
                f.text
                for f in patient_facts(patient, pred.code, predictions, self.recommender.templates)
                if not f.text.startswith("comorbidities")
            ]
            texts.append(f"Guideline recommendations for {population}. " + "; ".join(facts))
        return list(dict.fromkeys(texts)) or [f"Guideline recommendations for {population}."]

    def run(self, patient: Patient, *, raw_text: str, k: int, codes: Sequence[str] = ()) -> SystemOutput:
        """Fused hybrid results of the fact queries."""
        started = time.perf_counter()
        predictions, _ = self.recommender.predict(patient, list(codes) or None)
        queries = self.queries(patient, predictions)
        hits = self.recommender.retriever.retrieve(queries, k=max(k * 3, 30), search_filter=GUIDELINES_ONLY)
        fused = rrf_fuse({str(i): [h.chunk.chunk_id for h in per] for i, per in enumerate(hits)})
        chunks = {h.chunk.chunk_id: h.chunk for per in hits for h in per}
        ranked = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
        snippets = tuple(snippet_from_chunk(chunks[cid], score) for cid, score in ranked)
        return SystemOutput(
            snippets=snippets, predictions=tuple(predictions), seconds=time.perf_counter() - started
        )


class SharedPredictor:
    """One code predictor for every system of an evaluation: each patient is predicted once.

    The first system to see a patient pays for the prediction (and its time); the others reuse it.

    Example:
        >>> shared = SharedPredictor(recommender)          # doctest: +SKIP
        >>> shared.predict(patient) is shared.predict(patient)   # doctest: +SKIP
        True
    """

    def __init__(self, recommender: Recommender) -> None:
        self.recommender = recommender
        self._cache: dict[Patient, list[CodePrediction]] = {}

    def predict(self, patient: Patient) -> list[CodePrediction]:
        """The predictor's codes for ``patient`` (cached)."""
        try:
            return list(self._cache[patient])
        except (KeyError, TypeError):
            predictions = list(self.recommender.predictor.predict(patient))
        with contextlib.suppress(TypeError):  # an unhashable patient is predicted each time
            self._cache[patient] = predictions
        return list(predictions)


def _variant(
    base: Recommender,
    predictor: SharedPredictor,
    *,
    retriever: HybridRetriever | None = None,
    weights: FusionWeights | None = None,
) -> Recommender:
    """A recommender sharing ``base``'s store, embedder, catalogue and templates, and one predictor."""
    return Recommender(
        base.store,
        base.embedder,
        catalogue=base.catalogue,
        predictor=predictor,
        templates=base.templates,
        retriever=retriever or base.retriever,
        weights=weights or base.weights,
    )


def default_systems(recommender: Recommender, *, ablations: bool = True) -> list[System]:
    """garmle (predicted and given codes), every baseline and, optionally, the fusion ablations.

    All systems share one code predictor, so each patient's codes are predicted once; the time of that
    prediction counts for the first system (garmle).
    """
    store, embedder, weights = recommender.store, recommender.embedder, recommender.weights
    shared = SharedPredictor(recommender)
    base = _variant(recommender, shared)
    systems: list[System] = [
        GarmleSystem(base),
        GarmleSystem(base, "garmle-gold-codes", "garmle with the case's gold codes given", given_codes=True),
        NaiveRagBaseline(recommender),
        GarmleSystem(base, "codes-only", "code-title queries without patient facts", use_facts=False),
        EhrOnlyBaseline(base),
        GarmleSystem(
            _variant(recommender, shared, retriever=HybridRetriever(store, embedder, dense=False)),
            "bm25-only",
            "garmle with the lexical (BM25) retriever alone",
        ),
        GarmleSystem(
            _variant(recommender, shared, retriever=HybridRetriever(store, embedder, lexical=False)),
            "dense-only",
            "garmle with the dense retriever alone",
        ),
    ]
    if ablations:
        for name, description, changed in (
            ("no-topic", "fusion without the guideline-topic feature", {"topic": 0.0}),
            ("no-facts", "fusion without the patient-fact feature", {"facts": 0.0}),
            ("no-population-filter", "fusion without the population filter", {"population_filter": False}),
            (
                "no-mmr",
                "fusion without MMR de-duplication",
                {"mmr_lambda": 1.0, "max_per_doc": 100, "doc_decay": 1.0},
            ),
        ):
            variant = _variant(recommender, shared, weights=FusionWeights(**{**weights.__dict__, **changed}))
            systems.append(GarmleSystem(variant, name, description))
    return systems

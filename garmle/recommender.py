"""The facade: patient -> predicted codes -> queries -> retrieval -> verbatim, cited recommendations.

The CLI, the dashboard, the CDS Hooks service and notebooks all go through :class:`Recommender`.

Example:
    >>> from garmle import Recommender
    >>> r = Recommender.open("index/")                                # doctest: +SKIP
    >>> report = r.recommend("patient.json", codes=["I10", "E11.9"])   # doctest: +SKIP
    >>> report.recommendations[0].snippets[0].title                    # doctest: +SKIP
    'Standards of medical care in diabetes'
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from garmle.cache import cached, kept
from garmle.catalogue import IcdCatalogue, catalogue_documents
from garmle.config import Settings, offline_environment
from garmle.embedding import Embedder, make_embedder
from garmle.errors import CatalogueError, GarmleError, PredictionError
from garmle.fusion import (
    READING_VERSION,
    Designator,
    FusionWeights,
    PassagePopulation,
    TopicIndex,
    about_another,
    conditions_of,
    covered_conditions,
    designators,
    drug_not_taken,
    match_facts,
    passage_populations,
    population_conflict,
    rank_snippets,
    snippet_from_chunk,
    topic_names,
    verify_snippets,
)
from garmle.query import (
    TemplateSet,
    build_queries,
    condition_names,
    fact_terms,
    load_templates,
    patient_dense_texts,
    sibling_names,
)
from garmle.retrieval import CrossEncoderReranker, Hit, HybridRetriever, SearchFilter
from garmle.store import ChromaStore
from garmle.types import (
    CodePrediction,
    Document,
    Patient,
    Recommendation,
    Report,
    Snippet,
)

__all__ = ["CATALOGUE_SOURCE", "Recommender", "prepare_index"]

log = logging.getLogger(__name__)

CATALOGUE_SOURCE = "icd10cm"
PatientInput = Patient | Path | str | Mapping[str, Any] | bytes


_ConditionNames = tuple[tuple[tuple[str, ...], ...], tuple[Designator, ...], tuple[str, ...]]
"""A code's condition names as topic stems, its designators and its siblings' names in the catalogue."""


class Recommender:
    """Guideline recommendations for a patient, grounded verbatim in an index.

    Args:
        store: the guideline index.
        embedder: the embedder the index was built with.
        catalogue: the ICD-10-CM catalogue.
        predictor: the code predictor; the default (catalogue + EHR evidence) when None.
        templates: query templates; the packaged set when None.
        retriever: the hybrid retriever; dense + BM25 over ``store`` when None.
        weights: fusion weights.

    Example:
        >>> r = Recommender.open("index/")                       # doctest: +SKIP
        >>> report = r.recommend(patient, codes=["I48.91"])      # doctest: +SKIP
        >>> report.verbatim_check.failed                         # doctest: +SKIP
        0
    """

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        *,
        catalogue: IcdCatalogue | None = None,
        predictor: Any = None,
        templates: TemplateSet | None = None,
        retriever: HybridRetriever | None = None,
        weights: FusionWeights | None = None,
    ) -> None:
        store.check_model(embedder.model_id, embedder.dimension)
        self.store = store
        self.embedder = embedder
        self.catalogue = catalogue or IcdCatalogue()
        self._predictor = predictor
        self.templates = templates or load_templates()
        self.retriever = retriever or HybridRetriever(store, embedder)
        self.weights = weights or FusionWeights()
        self._doc_meta: dict[str, dict[str, str]] | None = None
        self._conditions: dict[str, _ConditionNames] = {}
        self._catalogue_docs: dict[str, Document | None] = {}
        self._doc_meta_key: tuple[int, str] | None = None
        # what each guideline is about (_doc_topic) and the guidelines about each code
        # (_guidelines_about), kept for one metadata read of the index (_documents_meta)
        self._topics_of: object = None
        self._doc_topics: dict[str, str] = {}
        self._about: dict[str, frozenset[str]] = {}
        self._about_index: TopicIndex | None = None
        self._populations: Mapping[str, PassagePopulation] | None = None
        self._populations_key: tuple[tuple[int, str], int] | None = None
        # aspects whose dense text names only the condition and the aspect (no patient wording)
        self._shared_aspects = frozenset(a.id for a in self.templates.aspects if a.patient_independent_dense)

    @classmethod
    def open(
        cls,
        index: str | Path | None = None,
        *,
        chroma_url: str | None = None,
        model_dir: str | Path | None = None,
        device: str | None = None,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        reranker_dir: str | Path | None = None,
        collection: str = "garmle",
        **kwargs: Any,
    ) -> Recommender:
        """Open an existing index (embedded directory or Chroma server) with its embedding model.

        A missing index, an unreachable server or a model other than the index's is a clear error.
        """
        offline_environment()
        settings = settings or Settings.from_env(
            index_dir=index, chroma_url=chroma_url, model_dir=model_dir, device=device
        )
        store = ChromaStore.open(settings.index_dir, url=settings.chroma_url, collection=collection)
        embedder = embedder or make_embedder(settings)
        retriever = None
        if reranker_dir is not None:
            reranker = CrossEncoderReranker(reranker_dir, device=settings.device)
            retriever = HybridRetriever(store, embedder, reranker=reranker)
        return cls(store, embedder, retriever=retriever, **kwargs)

    # ------------------------------------------------------------------ stages

    @property
    def predictor(self) -> Any:
        """The code predictor (built on first use: it loads the catalogue's search structures)."""
        if self._predictor is None:
            from garmle.coding import default_predictor

            self._predictor = default_predictor(self.embedder, self.catalogue)
        return self._predictor

    @staticmethod
    def load_patient(source: PatientInput) -> Patient:
        """A :class:`Patient` from a path, FHIR/JSON content, a note, or a Patient (returned as is)."""
        if isinstance(source, Patient):
            return source
        from garmle.patient import load_patient

        return load_patient(source)

    def predict(
        self, patient: Patient, codes: Sequence[str] | str | None = None, *, max_codes: int = 5
    ) -> tuple[list[CodePrediction], list[str]]:
        """Predicted (or given) codes, validated against the catalogue, and messages for the user."""
        from garmle.coding import predictions_from_codes, validate_predictions
        from garmle.coding.catalogue_coder import assessed_symptom, presenting_first
        from garmle.coding.screening import SCREENING_SOURCE

        messages: list[str] = []
        if codes:
            predictions = list(predictions_from_codes(codes, self.catalogue))
            return predictions, messages
        raw = self.predictor.predict(patient)
        kept, rejected = validate_predictions(raw, self.catalogue)
        for code, reason in rejected:
            messages.append(f"predicted code {code} rejected: {reason}")
        # the condition the note's assessment names first: it is why the patient is seen
        ordered = presenting_first(sorted(kept, key=lambda p: -p.score), patient)
        # screening the record qualifies for comes after the conditions it has
        ordered.sort(key=lambda p: p.source == SCREENING_SOURCE)
        kept, skipped = _guideline_codes(ordered, self.catalogue, assessed_symptom(ordered, patient))
        if skipped:
            messages.append(
                "not searched (supplementary, symptom or medication-only codes next to a diagnosis): "
                + ", ".join(skipped)
            )
        kept = kept[:max_codes]
        if not kept:
            messages.append("no ICD-10 code could be predicted from this record; give codes explicitly")
        return kept, messages

    def _documents_meta(self) -> dict[str, dict[str, str]]:
        key = self.store.version()
        if self._doc_meta is None or key != self._doc_meta_key:
            self._doc_meta = self.store.document_metadata()
            self._doc_meta_key = key
        return self._doc_meta

    def _passage_populations(self) -> Mapping[str, PassagePopulation] | None:
        """The index's passage readings kept by :func:`prepare_index`, or None (each passage is then
        read when ranked: an index built before them, or a Chroma server)."""
        key = _readings_key(self.store)
        if key != self._populations_key:
            self._populations = kept(self.store.cache_file(_POPULATIONS_CACHE), key)
            self._populations_key = key
        return self._populations

    def _condition(self, code: str) -> _ConditionNames:
        """A code's condition names read once: as topic stems, as the designators that tell it from
        its siblings, and its siblings' names in the catalogue."""
        if code not in self._conditions:
            names = condition_names(code, self.catalogue)
            self._conditions[code] = (
                topic_names(*names),
                designators(*names),
                sibling_names(code, self.catalogue),
            )
        return self._conditions[code]

    def _guidelines_about(self, code: str) -> frozenset[str]:
        """The guidelines about a code's condition: those whose title or Disease/Condition(s) field
        names one of its names in full (the topic feature's test), kept per index version. Retrieval
        also ranks their passages on their own, so that over the whole NGC corpus the condition's own
        guidelines are not crowded out of the candidates by similar passages of others (the three-month
        passage of the CHEST guideline, which writes pulmonary embolism "PE", ranks 622nd of 54,822
        for the catalogue's wording)."""
        topics = self._guideline_topics()
        if self._about_index is None:
            meta = self._documents_meta()
            self._about_index = TopicIndex(
                {d: t for d, t in topics.items() if meta[d].get("source") != CATALOGUE_SOURCE}
            )
        if code not in self._about:
            names, siblings, others = self._condition(code)
            # a guideline about a sibling (hepatitis C for B, interstitial for acute cystitis) or the
            # negation ("non-alcoholic") is not about the condition, though a broader name of it is there
            self._about[code] = frozenset(
                d
                for d in self._about_index.naming(names)
                if not about_another(names, siblings, topics[d], others)
            )
        return self._about[code]

    def _guideline_topics(self) -> dict[str, str]:
        """What each indexed document is about (:func:`_doc_topic`), read once per index version."""
        meta = self._documents_meta()
        if self._topics_of is not meta:
            self._topics_of = meta
            self._doc_topics = {d: _doc_topic(f) for d, f in meta.items()}
            self._about.clear()
            self._about_index = None
        return self._doc_topics

    def _topic(self, code: str) -> tuple[tuple[str, ...], ...]:
        """The condition's names as stems: catalogue titles, short inclusion terms, clinical synonyms."""
        return self._condition(code)[0]

    def _catalogue_document(self, category: str) -> Document | None:
        if category not in self._catalogue_docs:
            ids = self.store.ids_for_source_path(f"{CATALOGUE_SOURCE}:{category}")
            doc = self.store.get_document(ids[0]) if ids else None
            if doc is None:
                docs = catalogue_documents(category, self.catalogue)
                doc = docs[0] if docs else None
            self._catalogue_docs[category] = doc
        return self._catalogue_docs[category]

    def _catalogue_snippet(self, code: str) -> tuple[Snippet, Document] | None:
        """The code's own catalogue entry, cited in the indexed (or packaged) ICD-10-CM tabular."""
        doc = self._catalogue_document(code[:3])
        if doc is None:
            return None
        section = next((s for s in doc.sections if len(s.path) == 2 and s.path[1] == code), None)
        if section is None:
            return None
        text = doc.text[section.char_start : section.char_end]
        snippet = Snippet(
            text=text,
            doc_id=doc.doc_id,
            chunk_id=f"{doc.doc_id}@{section.char_start}",
            title=doc.title,
            char_start=section.char_start,
            char_end=section.char_end,
            score=1.0,
            publisher=doc.publisher,
            year=doc.year,
            section=section.path,
            source=doc.source,
        )
        return snippet, doc

    # ------------------------------------------------------------------ recommend

    def recommend(
        self,
        patient_or_path: PatientInput,
        codes: Sequence[str] | str | None = None,
        *,
        top_k: int = 5,
        max_codes: int = 5,
        search_filter: SearchFilter | None = None,
        aspects: Sequence[str] | None = None,
        use_facts: bool = True,
    ) -> Report:
        """Recommendations for one patient.

        Args:
            patient_or_path: a Patient, a file path, FHIR/JSON content or a note.
            codes: ICD-10-CM codes to use instead of predicting them.
            top_k: guideline snippets per code.
            max_codes: predicted codes to keep (ignored when ``codes`` is given).
            search_filter: source/publisher/year filters for guideline snippets.
            aspects: restrict queries to these aspects of care.
            use_facts: False builds code-only queries (a baseline).
        """
        if top_k < 1:
            raise GarmleError(f"top_k={top_k} must be at least 1")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        patient = self.load_patient(patient_or_path)
        timings["load"] = _ms(started)

        # The notes' query does not depend on the codes: embed it while they are predicted.
        self.retriever.embed_ahead(
            patient_dense_texts(patient, self.templates, aspects=aspects, use_facts=use_facts)
        )
        started = time.perf_counter()
        predictions, messages = self.predict(patient, codes, max_codes=max_codes)
        timings["predict"] = _ms(started)
        patient = _obstetric_state(patient, predictions)

        started = time.perf_counter()
        queries = build_queries(
            patient, predictions, self.catalogue, self.templates, aspects=aspects, use_facts=use_facts
        )
        timings["queries"] = _ms(started)

        started = time.perf_counter()
        # status and exposure codes name no condition a guideline is about ("Contact with and
        # (suspected) exposure to environmental tobacco smoke" named contact dermatitis guidelines)
        about = {
            p.code: None if p.code.startswith(_SUPPLEMENTARY) else self._guidelines_about(p.code) or None
            for p in predictions
        }
        flt = search_filter or SearchFilter()
        if CATALOGUE_SOURCE not in flt.exclude_sources and not flt.sources:
            flt = replace(flt, exclude_sources=(*flt.exclude_sources, CATALOGUE_SOURCE))
        hits = self.retriever.retrieve(
            [q.text for q in queries],
            k=max(top_k * 6, 30),
            search_filter=flt,
            dense_queries=[q.dense_text or q.text for q in queries],
            shared={q.dense_text for q in queries if q.dense_text and q.aspect in self._shared_aspects},
            focus=[about[q.code] for q in queries],
        )
        timings["retrieve"] = _ms(started)

        started = time.perf_counter()
        # Only the guidelines that retrieval returned need their population and topic checked.
        all_meta = self._documents_meta()
        hit_docs = {h.chunk.doc_id for per_query in hits for h in per_query}
        meta = {d: all_meta[d] for d in hit_docs if d in all_meta}
        excluded = {}
        for doc_id, fields in meta.items():
            groups = [g.strip() for g in fields.get("population_groups", "").split(";") if g.strip()]
            reason = population_conflict(
                fields.get("population", ""), fields.get("title", ""), patient, groups
            ) or drug_not_taken(fields.get("title", ""), patient)
            if reason:
                excluded[doc_id] = reason
        doc_topics = self._guideline_topics()
        all_ids = {h.chunk.chunk_id for per_query in hits for h in per_query}
        vectors = self.retriever.chunk_vectors(all_ids)
        populations = self._passage_populations()
        ranked: dict[str, list[Snippet]] = {}
        catalogue_snippets: dict[str, tuple[Snippet, ...]] = {}
        documents: dict[str, Document] = {}
        population_dropped = off_topic = 0
        conditions = conditions_of(
            [p.code for p in predictions] + [c.icd10 for c in patient.problems if c.active and c.icd10]
        )
        for pred in predictions:
            by_aspect: dict[str, list[Hit]] = {}
            for query, query_hits in zip(queries, hits, strict=True):
                if query.code == pred.code:
                    by_aspect[query.aspect] = query_hits
            terms = fact_terms(patient, pred.code, predictions, self.templates) if use_facts else {}
            topic, siblings, others = self._condition(pred.code)
            snippets, dropped = rank_snippets(
                pred, by_aspect, fact_terms=terms, topic=topic, doc_topics=doc_topics, vectors=vectors,
                excluded_docs=excluded, top_k=top_k * 2, weights=self.weights,
                aspect_weights=self.templates.aspect_weights(),
                cross_aspects=self.templates.cross_guideline_aspects(),
                related_topics=[self._topic(p.code) for p in predictions if p.code != pred.code],
                patient=patient, populations=populations, patient_conditions=conditions,
                siblings=siblings, sibling_names=others,
            )  # fmt: skip
            population_dropped += dropped["population"]
            off_topic += dropped["off_topic"] + dropped["weak"]
            ranked[pred.code] = snippets
            found = self._catalogue_snippet(pred.code)
            if found is not None:
                cat_snip, cat_doc = found
                cat_snip = replace(cat_snip, matched_facts=match_facts(cat_snip.text, terms))
                documents[cat_doc.doc_id] = cat_doc
                catalogue_snippets[pred.code] = (cat_snip,)
        chosen = _assign_once(ranked, top_k)
        recommendations = [
            Recommendation(
                code=pred.code,
                title=pred.title,
                score=pred.score,
                snippets=tuple(chosen[pred.code]),
                catalogue=catalogue_snippets.get(pred.code, ()),
                note="" if chosen[pred.code] else "no guideline evidence found in this index for this code",
            )
            for pred in predictions
        ]
        candidates = [s for rec in recommendations for s in (*rec.snippets, *rec.catalogue)]
        timings["fuse"] = _ms(started)

        started = time.perf_counter()
        needed = {s.doc_id for s in candidates} - set(documents)
        documents.update(self.store.get_documents(needed))
        kept, check = verify_snippets(candidates, documents)
        keep_ids = {(s.chunk_id, s.char_start) for s in kept}
        recommendations = [
            replace(
                rec,
                snippets=tuple(s for s in rec.snippets if (s.chunk_id, s.char_start) in keep_ids),
                catalogue=tuple(s for s in rec.catalogue if (s.chunk_id, s.char_start) in keep_ids),
            )
            for rec in recommendations
        ]
        timings["verify"] = _ms(started)
        if population_dropped:
            messages.append(
                f"{population_dropped} candidate snippets from guidelines for another population "
                "were left out"
            )
        if off_topic:
            messages.append(
                f"{off_topic} candidate snippets that do not name the predicted condition, or score below "
                f"{self.weights.min_score}, were left out"
            )
        if check.failed:
            messages.append(f"{check.failed} snippets failed the verbatim check and were dropped")
        described = search_filter.describe() if search_filter is not None else ""
        if search_filter is not None and described:
            if search_filter.populations:
                described += " (guidelines that state no target population are kept)"
            messages.append(f"guidelines searched: {described}")
        timings["total"] = round(sum(timings.values()), 1)
        return Report(
            patient=patient,
            predictions=tuple(predictions),
            recommendations=tuple(recommendations),
            queries=tuple(queries),
            verbatim_check=check,
            timings_ms=timings,
            messages=tuple(messages),
        )

    # ------------------------------------------------------------------ plain search

    def search(self, text: str, k: int = 10, *, search_filter: SearchFilter | None = None) -> list[Snippet]:
        """Verbatim snippets for free text (no codes, no patient): the index as a plain retriever."""
        if not text.strip():
            raise PredictionError("the search text is empty")
        flt = search_filter or SearchFilter(exclude_sources=(CATALOGUE_SOURCE,))
        hits = self.retriever.retrieve([text], k=k, search_filter=flt)[0]
        snippets = [snippet_from_chunk(h.chunk, h.score) for h in hits]
        documents = self.store.get_documents({s.doc_id for s in snippets})
        kept, _ = verify_snippets(snippets, documents)
        return kept

    def document(self, doc_id: str) -> Document:
        """A stored document with its canonical text."""
        from garmle.errors import IndexError_

        doc = self.store.get_document(doc_id)
        if doc is None:
            raise IndexError_(f"no document {doc_id!r} in the index")
        return doc


_ANAPHYLAXIS = ("T78.0", "T78.2", "T80.5", "T88.6")  # to food, of unspecified cause, to serum, to a drug
# pressure and other chronic skin ulcers, a diabetic foot ulcer, osteomyelitis
_ULCERS = ("L89", "L97", "L98.4", "E08.621", "E09.621", "E10.621", "E11.621", "E13.621", "M86")
# an axial spondyloarthritis, myeloma, bone metastases: diseases of the spine that cause back pain
_SPINAL_DISEASE = ("M45", "M46.1", "C90", "C79.5")
_EXPLAINED_BY: tuple[tuple[str, tuple[str, ...]], ...] = (
    # joint pain and stiffness: arthritis of any kind, polymyalgia rheumatica, psoriasis (its arthritis),
    # the arthropathy of haemochromatosis
    ("M25.5", ("M00", "M05", "M06", "M08", "M10", "M1A", "M15", "M16", "M17", "M18", "M19", "M35.3", "L40")),
    ("M25.5", ("M45", "E83.11")),
    ("M25.6", ("M05", "M06", "M08", "M15", "M16", "M17", "M18", "M19", "M35.3", "L40", "M45", "E83.11")),
    ("M79.64", ("L40",)),
    # pain in a limb: arthritis, gout, sciatica and radiculopathy, spinal stenosis, arterial and venous
    # disease of the leg, cellulitis
    ("M79.6", ("M10", "M1A", "M15", "M16", "M17", "M18", "M19", "M54.1", "M54.3", "M54.4", "M51.1", "M48.0")),
    ("M79.6", ("I70.2", "I73.9", "I80", "I82", "I83", "I87.2", "L03.11")),
    # the limb pain of a sickle-cell crisis
    ("M79.6", ("D57",)),
    # the back pain of an axial spondyloarthritis, of myeloma or of bone metastases
    ("M54.5", _SPINAL_DISEASE),
    ("M54.9", _SPINAL_DISEASE),
    # the daytime sleepiness of a sleep apnoea
    ("G47.1", ("G47.3",)),
    # the enlarged heart of a heart failure or cardiomyopathy, and the pleural effusions of a heart failure
    ("I51.7", ("I50", "I11", "I13", "I42")),
    ("J90", ("I50", "I11.0", "I13.0", "I13.2")),
    # ear pain and discharge: otitis and other diseases of the ear
    ("H92.0", ("H60", "H61", "H62", "H65", "H66", "H67", "H68", "H69", "H70", "H72", "H73", "H74")),
    ("H92.1", ("H60", "H62", "H65", "H66", "H67", "H70", "H72")),
    # the nystagmus of a positional vertigo or a vestibular neuritis
    ("H55", ("H81",)),
    # the hearing loss of a glue ear or of impacted wax
    ("H91.9", ("H65", "H66", "H61.2")),
    # pain in or around the eye: conjunctivitis, keratitis, iritis, glaucoma
    ("H57.1", ("H10", "H16", "H20", "H40", "H46")),
    # itch: eczema, psoriasis, urticaria, scabies
    ("L29", ("L20", "L23", "L24", "L25", "L28", "L30", "L40", "L50", "B86")),
    # hirsutism, acne, acanthosis nigricans and scant periods of polycystic ovary syndrome
    ("L68.0", ("E28.2",)),
    ("L70", ("E28.2",)),
    ("L83", ("E28.2", "E66", "E11", "R73")),  # and the insulin resistance of obesity, diabetes
    ("N91", ("E28.2",)),
    # redness of the skin, and the graze it started from: a skin infection, Lyme disease, dermatitis
    ("L53", ("L00", "L01", "L02", "L03", "L04", "L08", "A46", "A69.2", "L20", "L23", "L24", "L25", "L30")),
    ("T14", ("L00", "L01", "L02", "L03", "L04", "L08", "A46")),
    # ... the redness of a vaginal thrush or a mastitis
    ("L53", ("B37", "N61", "O91")),
    # ... and the redness around an ulcer, the ulcer's dressed wound, an infected bone beneath it
    ("L53", _ULCERS),
    ("T14", _ULCERS),
    # the visual field loss of glaucoma or of an optic nerve disorder
    ("H53.4", ("H40", "H46", "H47")),
    # painful periods and painful intercourse of endometriosis, and the painful intercourse of a pelvic
    # inflammatory disease
    ("N94.1", ("N80", "N70", "N71", "N73", "N95.2")),
    ("N94.4", ("N80",)),
    ("N94.5", ("N80",)),
    ("N94.6", ("N80",)),
    # light sensitivity and other visual disturbances of a headache, an eye inflammation or meningitis
    ("H53.1", ("G43", "G44", "G00", "G01", "G02", "G03", "A39.0", "A87", "H10", "H16", "H20")),
    # the aching muscles of influenza, COVID-19, malaria, dengue, Lyme disease, leptospirosis and of
    # polymyalgia rheumatica
    ("M79.1", ("J09", "J10", "J11", "U07.1", "B50", "B51", "B52", "B53", "B54", "A90", "A91", "A27")),
    ("M79.1", ("A69.2",)),
    ("M79.1", ("M35.3",)),
    # the low blood pressure of anaphylaxis, and an allergy beside its anaphylaxis
    ("I95", _ANAPHYLAXIS),
    ("T78.4", _ANAPHYLAXIS),
    # a cold's coryza beside another acute respiratory infection: bronchiolitis, sinusitis, influenza
    ("J00", ("J01", "J02", "J03", "J04", "J05", "J06", "J09", "J1", "J20", "J21", "J22")),
    # the dehydration of a gastroenteritis, whose guidelines rehydrate
    ("E86", ("A00", "A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A09", "K52.9")),
)
"""Symptom codes outside chapter R and the diagnoses that explain them (code prefixes)."""


_SYNDROMES = (
    *("R15", "R29.6", "R32", "R45.851", "R45.88", "R54", "R55", "R56.0", "R65.2", "R73"),
    *("R05.3", "R87.6", "R87.81", "R91.1", "R92"),
)
"""Chapter R codes that name a condition with guidelines of its own (faecal and urinary incontinence,
repeated falls, suicidal ideation and self-harm, frailty, syncope, febrile convulsions, severe sepsis,
raised blood glucose, chronic cough, abnormal cervical cytology and high-risk HPV, a lung nodule, an
abnormal mammogram): searched beside a diagnosis, since no diagnosis explains them away."""


_MANIFESTATION = re.compile(r"\bin (?:[a-z-]+ ){0,3}diseases?\b|classified elsewhere", re.I)
# Screening for a named cancer (Z12.-) has guidelines of its own, and is searched beside a diagnosis.
_ENCOUNTER = ("Z00", "Z01", "Z02", "Z03", "Z04", "Z05", "Z08", "Z09", "Z11", "Z13")
# status and supplementary codes: weeks of gestation, exposures, long-term drug use, allergies, family
# history
# ... and a past pneumonia (Z87.01), hypoglycaemia (Z86.39) or healed fracture (Z87.81), whose guidelines
# treat an episode that is over
# ... and the organism of an infection coded beside it (E. coli, streptococcus "as the cause of diseases
# classified elsewhere"), but H. pylori, whose eradication has guidelines of its own
_SUPPLEMENTARY = (
    "Z3A", "Z68", "Z77", "Z79", "Z88", "Z91.0", "Z80", "Z81", "Z82", "Z83", "Z84", "Z87.01", "Z86.39",
    "Z87.81",
    "B95", "B96.0", "B96.1", "B96.2", "B96.3", "B96.4", "B96.5", "B96.6", "B96.7", "B96.89", "B97",
)  # fmt: skip
# manifestations whose care has guidelines of their own, beside those of the disease they occur in:
# anaemia in chronic kidney disease or in cancer (iron, erythropoiesis-stimulating agents)
_OWN_GUIDELINES = ("D63.0", "D63.1")
_CODE_RANGE = re.compile(r"\b([A-Z]\d{2})(?:\.\w+)?(?:-([A-Z]\d{2})(?:\.\w+)?)?\b")


_POPULATIONS_CACHE = "passages.pkl"


def _doc_topic(fields: Mapping[str, str]) -> str:
    """What a guideline is about, for the topic feature: its title and the conditions it covers."""
    return f"{fields.get('title', '')} {covered_conditions(fields.get('conditions', ''))}"


def _readings_key(store: ChromaStore) -> tuple[tuple[int, str], int]:
    """What the passage readings kept in an index's cache folder are valid for: that index's
    version and the version of the reading (:data:`~garmle.fusion.READING_VERSION`)."""
    return store.version(), READING_VERSION


def prepare_index(store: ChromaStore, embedder: Embedder) -> int:
    """Keep what requests derive from a whole embedded index in its cache folder: the retrieval
    table and each passage's population reading (:func:`~garmle.fusion.passage_populations`, about
    0.1 ms a passage, so the first request for a new patient need not read its passages). Returns
    the number of chunks; a Chroma server (no local folder) is left alone.

    Example:
        >>> prepare_index(ChromaStore.open("index/demo"), embedder)  # doctest: +SKIP
        2912
    """
    path = store.cache_file(_POPULATIONS_CACHE)
    if path is None:
        return 0
    retriever = HybridRetriever(store, embedder)
    size = retriever.prepare()
    cached(path, _readings_key(store), lambda: passage_populations(retriever.passages()))
    return size


def _manifestation_of(code: str, others: Sequence[str], catalogue: IcdCatalogue) -> bool:
    """True when ``code`` (or a parent) says "code first" an underlying disease that ``others`` holds."""
    try:
        chain = [code, *catalogue.ancestors(code)]
    except CatalogueError:
        return False
    for node in chain:
        try:
            entry = catalogue.lookup(node)
        except CatalogueError:
            continue
        # "Code first" alone is about sequencing (N18 after E11.22); a manifestation says where it occurs
        if not _MANIFESTATION.search(entry.title):
            continue
        for note in entry.code_first:
            for lo, hi in _CODE_RANGE.findall(note):
                if any(o != code and lo <= o[:3] <= (hi or lo) for o in others):
                    return True
    return False


def _guideline_codes(
    predictions: Sequence[CodePrediction], catalogue: IcdCatalogue | None = None, assessed: str | None = None
) -> tuple[list[CodePrediction], list[str]]:
    """Predicted codes worth a guideline search, and those left out.

    Status and supplementary codes (BMI, weeks of gestation, exposures, long-term drug use, family
    history) and encounter codes (examination, screening: Z00-Z13 but the cancer screening of Z12,
    which its own guidelines cover) add to a diagnosis rather than name
    a condition to treat; symptom codes (chapter R but the syndromes of :data:`_SYNDROMES`, and
    the joint and limb pain codes of :data:`_EXPLAINED_BY`) are explained by a diagnosis when one is
    predicted too;
    a manifestation code whose "code first" note names a predicted underlying disease (G46.0 beside
    I63.9) is covered by that disease's guidelines (but anaemia in kidney disease or cancer, whose
    care has guidelines of its own: :data:`_OWN_GUIDELINES`), and so is a personal-history Z code beside its
    condition coded as current (Z86.73 beside I63.9); a diagnosis inferred from medications alone (heart
    failure from a loop diuretic and an ACE inhibitor, which kidney disease explains too) is listed
    but not searched when the record states another diagnosis, and so is a manifestation code ("...
    in diseases classified elsewhere") whose underlying disease is not coded beside another diagnosis
    (a partial reading of its inclusion terms: "pyelonephritis" as N16). Searching guidelines for them takes
    the clinician's screen from the conditions themselves. Codes given explicitly by the user are
    never filtered. A symptom that the notes' assessment names as its only condition (``assessed``: "ACE
    inhibitor induced cough") is why the patient is seen, and is searched beside the diagnoses of the
    history.
    """
    from garmle.coding.catalogue_coder import PERSONAL_HISTORY_CODES

    # an infectious agent "as the cause of diseases classified elsewhere" (B95-B97: H. pylori beside
    # dyspepsia) names no disease of its own, so it explains no symptom
    no_diagnosis = ("R", "Z", "B95", "B96", "B97")
    has_diagnosis = any(not p.code.startswith(no_diagnosis) for p in predictions)
    stated = any(not p.code.startswith(no_diagnosis) and not p.medication_only for p in predictions)
    codes = [p.code for p in predictions]
    kept: list[CodePrediction] = []
    skipped: list[str] = []
    for pred in predictions:
        explained = (
            any(
                pred.code.startswith(symptom) and any(c.startswith(causes) for c in codes)
                for symptom, causes in _EXPLAINED_BY
            )
            or (
                catalogue is not None
                and not pred.code.startswith(_OWN_GUIDELINES)
                and _manifestation_of(pred.code, codes, catalogue)
            )
            # the history of a condition coded as current too (a stroke three weeks ago beside its
            # cerebral infarction): the current code's guidelines cover it
            or any(
                pred.code == history and any(c.startswith(current) for c in codes)
                for current, history in PERSONAL_HISTORY_CODES
                if history.startswith("Z")
            )
        )
        # a manifestation code ("... in diseases classified elsewhere") whose underlying disease is not
        # coded: a partial reading of its inclusion terms ("pyelonephritis in brucellosis" for N16)
        unsupported = (
            catalogue is not None
            and not pred.code.startswith(no_diagnosis)
            and "classified elsewhere" in pred.title
            and any(p.code != pred.code and not p.code.startswith(no_diagnosis) for p in predictions)
            and not _manifestation_of(pred.code, codes, catalogue)
        )
        if (
            explained
            or unsupported
            or (stated and pred.medication_only)
            or (has_diagnosis and pred.code.startswith(_ENCOUNTER + _SUPPLEMENTARY))
            or (
                has_diagnosis
                and pred.code.startswith("R")
                and not pred.code.startswith(_SYNDROMES)
                and pred.code != assessed
            )
        ):
            skipped.append(pred.code)
        else:
            kept.append(pred)
    return kept, skipped


_PUERPERIUM = ("O85", "O86", "O87", "O88", "O89", "O90", "O91", "O92")


def _obstetric_state(patient: Patient, predictions: Sequence[CodePrediction]) -> Patient:
    """The patient with the pregnancy or puerperium that a chapter 15 code asserts, when unstated.

    "Gestational diabetes on diet" says no "pregnant", yet O24.4- is a diagnosis of pregnancy: without
    this, the pregnancy guidelines on it would be left out as written for another population. A
    record that states the patient is not pregnant, or the weeks after a birth, is kept as it is.

    Example:
        >>> from garmle.types import CodePrediction, Patient
        >>> gdm = [CodePrediction("O24.419", "Gestational diabetes mellitus in pregnancy", 0.9)]
        >>> _obstetric_state(Patient("p", sex="female"), gdm).pregnant
        True
        >>> _obstetric_state(Patient("p", sex="female", pregnant=False), gdm).pregnant
        False
        >>> pph = [CodePrediction("O90.81", "Anemia of the puerperium", 0.9)]
        >>> _obstetric_state(Patient("p", sex="female"), pph).postpartum
        True
    """
    if patient.pregnant is not None or patient.postpartum:
        return patient
    obstetric = [p.code for p in predictions if p.code.startswith("O")]
    if not obstetric:
        return patient
    if all(code.startswith(_PUERPERIUM) for code in obstetric):
        return replace(patient, postpartum=True)
    return replace(patient, pregnant=True)


def _assign_once(ranked: Mapping[str, Sequence[Snippet]], top_k: int) -> dict[str, list[Snippet]]:
    """Show each passage once, under the code it scores best for; each code keeps its ``top_k`` best."""
    best: dict[str, tuple[float, str]] = {}
    for code, snippets in ranked.items():
        for snip in snippets:
            if snip.chunk_id not in best or snip.score > best[snip.chunk_id][0]:
                best[snip.chunk_id] = (snip.score, code)
    return {
        code: [s for s in snippets if best[s.chunk_id][1] == code][:top_k]
        for code, snippets in ranked.items()
    }


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

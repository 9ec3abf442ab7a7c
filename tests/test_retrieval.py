"""Retrieval: exact in-memory dense search, the table cache between processes, paged reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from garmle.cache import INDEX_CACHE_DIR
from garmle.embedding import HashEmbedder
from garmle.errors import ConfigError
from garmle.indexing import Indexer
from garmle.retrieval import HybridRetriever, SearchFilter
from garmle.store import ChromaStore
from garmle.store import chroma as chroma_module

TEXTS = {
    "htn.md": "Hypertension\n\nOffer a thiazide diuretic to adults with hypertension. Aim below 130/80.\n",
    "dm.md": "Diabetes\n\nOffer metformin as the first drug for adults with type 2 diabetes.\n",
    "af.md": "Atrial fibrillation\n\nOffer anticoagulation to people with atrial fibrillation and a raised "
    "stroke risk.\n",
}


def _index(tmp_path: Path, names: list[str]) -> ChromaStore:
    store = ChromaStore.open(tmp_path / "index", create=True)
    files = []
    for name in names:
        path = tmp_path / name
        path.write_text(TEXTS[name], encoding="utf-8")
        files.append((path, "local", {}))
    with Indexer(store, HashEmbedder(64), max_words=30) as ix:
        ix.add_files(files)
    return store


def test_exact_dense_search_matches_brute_force_and_respects_filters(tmp_path: Path) -> None:
    store = _index(tmp_path, ["htn.md", "dm.md", "af.md"])
    embedder = HashEmbedder(64)
    retriever = HybridRetriever(store, embedder, lexical=False)
    hits = retriever.retrieve(["metformin type 2 diabetes"], k=3)[0]
    chunks = store.all_chunks()
    vectors = store.vectors([c.chunk_id for c in chunks])
    query = embedder.embed(["metformin type 2 diabetes"])[0]
    best = max(chunks, key=lambda c: float(vectors[c.chunk_id] @ query))
    assert hits[0].chunk.chunk_id == best.chunk_id
    dm_doc = best.doc_id
    filtered = retriever.retrieve(
        ["metformin type 2 diabetes"], k=5, search_filter=SearchFilter(exclude_doc_ids=frozenset({dm_doc}))
    )[0]
    assert filtered and all(h.chunk.doc_id != dm_doc for h in filtered)


def test_dense_queries_must_pair_with_queries(tmp_path: Path) -> None:
    store = _index(tmp_path, ["htn.md"])
    retriever = HybridRetriever(store, HashEmbedder(64))
    with pytest.raises(ConfigError):
        retriever.retrieve(["a", "b"], dense_queries=["a"])
    both = retriever.retrieve(["thiazide hypertension"], dense_queries=["blood pressure"], k=2)[0]
    assert both and {"dense", "bm25"} & set(both[0].ranks)


def test_table_cache_is_reused_and_invalidated_by_an_add(tmp_path: Path) -> None:
    store = _index(tmp_path, ["htn.md", "dm.md"])
    first = HybridRetriever(store, HashEmbedder(64))
    expected = [h.chunk.chunk_id for h in first.retrieve(["metformin"], k=3)[0]]
    cache = tmp_path / "index" / INDEX_CACHE_DIR
    assert any(cache.iterdir())
    # a new process: the table comes from the cache, with the same answers
    reopened = ChromaStore.open(tmp_path / "index")
    second = HybridRetriever(reopened, HashEmbedder(64))
    assert second._load_cached(reopened.version()) is not None
    assert [h.chunk.chunk_id for h in second.retrieve(["metformin"], k=3)[0]] == expected
    # adding a document changes the version: the stale cache is not used
    stale = reopened.version()
    (tmp_path / "af.md").write_text(TEXTS["af.md"], encoding="utf-8")
    with Indexer(reopened, HashEmbedder(64), max_words=30) as ix:
        ix.add_files([(tmp_path / "af.md", "local", {})])
    assert reopened.version() != stale
    assert second._load_cached(reopened.version()) is None
    hits = second.retrieve(["anticoagulation atrial fibrillation"], k=2)[0]
    assert "anticoagulation" in hits[0].chunk.text


def test_version_and_document_fields_are_kept_between_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _index(tmp_path, ["htn.md", "dm.md"])
    version, fields = store.version(), store.document_metadata()
    # a new process (opening rewrites the SQLite file's time) reads both from the cache
    reopened = ChromaStore.open(tmp_path / "index")

    def no_query(*args: object, **kwargs: object) -> None:
        raise AssertionError("queried the store")

    with monkeypatch.context() as m:
        m.setattr(reopened, "document_ids", no_query)
        m.setattr(reopened, "_read_document_metadata", no_query)
        assert reopened.version() == version
        assert reopened.document_metadata() == fields
    # an add and a removal each change both
    (tmp_path / "af.md").write_text(TEXTS["af.md"], encoding="utf-8")
    with Indexer(reopened, HashEmbedder(64), max_words=30) as ix:
        ix.add_files([(tmp_path / "af.md", "local", {})])
    after_add = ChromaStore.open(tmp_path / "index")
    added = after_add.version()
    assert added != version and len(after_add.document_metadata()) == 3
    htn = [d for d, f in after_add.document_metadata().items() if f["source_path"].endswith("htn.md")]
    with Indexer(after_add, HashEmbedder(64), max_words=30) as ix:
        ix.remove(htn)
    after_remove = ChromaStore.open(tmp_path / "index")
    assert after_remove.version() not in (version, added)
    left = sorted(f["source_path"][-5:] for f in after_remove.document_metadata().values())
    assert left == ["af.md", "dm.md"]


def test_table_rows_become_the_stores_chunks(tmp_path: Path) -> None:
    store = _index(tmp_path, ["htn.md", "dm.md", "af.md"])
    HybridRetriever(store, HashEmbedder(64)).prepare()
    cached = HybridRetriever(ChromaStore.open(tmp_path / "index"), HashEmbedder(64))
    assert cached.prepare() == len(store.all_chunks())
    table = cached._chunk_table()
    by_id = {c.chunk_id: c for c in store.all_chunks()}
    assert [by_id[c.chunk_id] for c in table.chunks] == list(table.chunks)
    assert table.chunks[0] is table.chunks[0] and table.chunks[-2:] == list(table.chunks)[-2:]


def _counting_embedder(threads: dict[str, str] | None = None) -> tuple[HashEmbedder, list[list[str]]]:
    """A HashEmbedder that records the texts of each call (and in ``threads``, each text's thread)."""
    import threading

    embedder = HashEmbedder(64)
    calls: list[list[str]] = []
    original = embedder.embed

    def counting(texts: list[str], **kwargs: object) -> np.ndarray:
        calls.append(list(texts))
        if threads is not None:
            threads.update(dict.fromkeys(texts, threading.current_thread().name))
        return original(texts)

    embedder.embed = counting  # type: ignore[method-assign]
    return embedder, calls


def test_only_patient_independent_query_vectors_are_kept(tmp_path: Path) -> None:
    store = _index(tmp_path, ["htn.md", "dm.md"])
    shared, private = "Hypertension: recommended treatment", "68-year-old man, BP 162/98"
    first = HybridRetriever(store, HashEmbedder(64))
    first.retrieve(["thiazide", "metformin"], dense_queries=[shared, private], shared={shared})
    files = list((tmp_path / "index" / INDEX_CACHE_DIR).glob("*queries-*.pkl"))
    assert len(files) == 1
    kept = files[0].read_bytes()
    assert shared.encode() in kept and private.encode() not in kept
    # a new process reuses the kept vector instead of embedding the text again
    embedder, calls = _counting_embedder()
    second = HybridRetriever(ChromaStore.open(tmp_path / "index"), embedder)
    second.retrieve(["thiazide", "metformin"], dense_queries=[shared, private], shared={shared})
    assert calls == [[private]]


def test_a_full_query_cache_keeps_the_vectors_of_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import garmle.retrieval as retrieval_module

    monkeypatch.setattr(retrieval_module, "_QUERY_CACHE_SIZE", 3)
    retriever = HybridRetriever(_index(tmp_path, ["htn.md"]), HashEmbedder(64))
    retriever.embed_queries(["a", "b"])
    # "b" is cached and "c", "d" overflow the cache: the request still gets all three vectors
    vectors = retriever.embed_queries(["b", "c", "d"])
    assert vectors.shape == (3, 64)
    assert np.allclose(vectors, HashEmbedder(64).embed(["b", "c", "d"]))
    assert retriever.retrieve(["thiazide"], k=1, dense_queries=["e"])[0]


def test_kept_patient_independent_vectors_outlast_a_full_query_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import garmle.retrieval as retrieval_module

    store = _index(tmp_path, ["htn.md"])
    shared = ["Hypertension: treatment", "Hypertension: targets", "Hypertension: monitoring"]
    HybridRetriever(store, HashEmbedder(64)).embed_queries(shared, shared=set(shared))
    monkeypatch.setattr(retrieval_module, "_QUERY_CACHE_SIZE", 2)
    embedder, calls = _counting_embedder()
    retriever = HybridRetriever(ChromaStore.open(tmp_path / "index"), embedder)
    for text, note in zip(shared, ("68-year-old man", "54-year-old woman", "71-year-old man"), strict=True):
        retriever.embed_queries([text, note], shared={text})
    # the kept vectors are read from disk each time, never evicted; only each request's own text is
    # embedded
    assert calls == [["68-year-old man"], ["54-year-old woman"], ["71-year-old man"]]


def test_a_text_embedded_ahead_is_not_embedded_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import garmle.retrieval as retrieval_module

    monkeypatch.setattr(retrieval_module, "_CORES", 2)
    store = _index(tmp_path, ["htn.md", "dm.md"])
    embedder, calls = _counting_embedder()
    retriever = HybridRetriever(store, embedder)
    note = "68-year-old man, BP 162/98 on two readings"
    retriever.embed_ahead([note])
    hits = retriever.retrieve(["thiazide", "metformin"], dense_queries=[note, "type 2 diabetes"])
    assert calls == [[note], ["type 2 diabetes"]]
    # the same hits as a retriever that embeds everything when asked
    plain = HybridRetriever(store, HashEmbedder(64)).retrieve(
        ["thiazide", "metformin"], dense_queries=[note, "type 2 diabetes"]
    )
    assert [[h.chunk.chunk_id for h in q] for q in hits] == [[h.chunk.chunk_id for h in q] for q in plain]
    retriever.embed_ahead([note])  # known now: nothing to do
    assert len(calls) == 2


def test_retrieve_embeds_the_patients_own_texts_beside_bm25(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import garmle.retrieval as retrieval_module

    monkeypatch.setattr(retrieval_module, "_CORES", 2)
    threads: dict[str, str] = {}
    embedder, _ = _counting_embedder(threads)
    retriever = HybridRetriever(_index(tmp_path, ["htn.md", "dm.md"]), embedder)
    own, shared = "Hypertension in patients with type 2 diabetes", "Hypertension: treatment"
    retriever.retrieve(["thiazide", "metformin"], dense_queries=[own, shared], shared={shared})
    # the patient's text on the background thread; the patient-independent one where it is kept on disk
    assert threads[own].startswith("garmle-embed") and threads[shared] == "MainThread"


def test_a_failed_embedding_ahead_is_done_again_when_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import garmle.retrieval as retrieval_module

    monkeypatch.setattr(retrieval_module, "_CORES", 2)
    embedder = HashEmbedder(64)
    original = embedder.embed
    failures = [RuntimeError("out of memory")]

    def flaky(texts: list[str], **kwargs: object) -> np.ndarray:
        if failures:
            raise failures.pop()
        return original(texts)

    embedder.embed = flaky  # type: ignore[method-assign]
    retriever = HybridRetriever(_index(tmp_path, ["htn.md"]), embedder)
    retriever.embed_ahead(["a note"])
    vectors = retriever.embed_queries(["a note"])
    assert np.allclose(vectors, HashEmbedder(64).embed(["a note"]))


def test_one_core_embeds_nothing_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import garmle.retrieval as retrieval_module

    monkeypatch.setattr(retrieval_module, "_CORES", 1)
    embedder, calls = _counting_embedder()
    retriever = HybridRetriever(_index(tmp_path, ["htn.md"]), embedder)
    retriever.embed_ahead(["a note"])
    assert calls == []
    retriever.embed_queries(["a note"])
    assert calls == [["a note"]]


def test_rankings_of_patient_independent_texts_are_kept_until_the_index_changes(tmp_path: Path) -> None:
    store = _index(tmp_path, ["htn.md"])
    retriever = HybridRetriever(store, HashEmbedder(64))
    searched: list[int] = []
    original = retriever._dense_rankings

    def counting(table, vectors, flt):  # type: ignore[no-untyped-def]
        searched.append(len(vectors))
        return original(table, vectors, flt)

    retriever._dense_rankings = counting  # type: ignore[method-assign]
    shared, note = "Hypertension: recommended treatment", "68-year-old man, BP 162/98"
    first = retriever.retrieve(["thiazide", "x", "y"], dense_queries=[shared, note, note], shared={shared})
    assert searched == [2]  # the note's text once, though two queries carry it
    again = retriever.retrieve(["thiazide", "x"], dense_queries=[shared, note], shared={shared})
    assert searched == [2, 1]  # the kept ranking serves the shared text; the note is searched again
    assert [h.chunk.chunk_id for h in again[0]] == [h.chunk.chunk_id for h in first[0]]
    (tmp_path / "dm.md").write_text(TEXTS["dm.md"], encoding="utf-8")
    with Indexer(store, HashEmbedder(64), max_words=30) as indexer:
        indexer.add_files([(tmp_path / "dm.md", "local", {})])
    retriever.retrieve(["thiazide"], dense_queries=[shared], shared={shared})
    assert searched == [2, 1, 1]  # a changed index is searched afresh


def test_damaged_cache_is_rebuilt(tmp_path: Path) -> None:
    store = _index(tmp_path, ["htn.md"])
    HybridRetriever(store, HashEmbedder(64)).retrieve(["thiazide"], k=1)
    for f in (tmp_path / "index" / INDEX_CACHE_DIR).iterdir():
        f.write_bytes(b"not a pickle")
    hits = HybridRetriever(store, HashEmbedder(64)).retrieve(["thiazide"], k=1)[0]
    assert hits and "thiazide" in hits[0].chunk.text


def test_reads_are_paged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _index(tmp_path, ["htn.md", "dm.md", "af.md"])
    everything = store.all_chunks()
    monkeypatch.setattr(chroma_module, "_READ_BATCH", 1)
    paged, matrix = store.all_chunks_with_vectors()
    assert sorted(c.chunk_id for c in paged) == sorted(c.chunk_id for c in everything)
    assert matrix.shape == (len(paged), 64) and np.isfinite(matrix).all()
    assert len(store.document_ids()) == 3


def test_a_focus_brings_its_documents_passages_into_the_fusion(tmp_path: Path) -> None:
    store = _index(tmp_path, ["htn.md", "dm.md", "af.md"])
    # one candidate per retriever: the query's words lead both rankings to the diabetes guideline
    retriever = HybridRetriever(store, HashEmbedder(64), candidates=1)
    query = "offer metformin first drug adults type 2 diabetes and anticoagulation"
    af_doc = next(c.doc_id for c in store.all_chunks() if "fibrillation" in c.text)
    plain = retriever.retrieve([query], k=5)[0]
    focused = retriever.retrieve([query], k=5, focus=[frozenset({af_doc})])[0]
    assert af_doc not in {h.chunk.doc_id for h in plain}
    af_hits = [h for h in focused if h.chunk.doc_id == af_doc]
    assert af_hits and set(af_hits[0].ranks) <= {"dense@focus", "bm25@focus"}
    # what the plain fusion found is still there, and a focus the filter leaves out adds nothing
    assert {h.chunk.chunk_id for h in plain} <= {h.chunk.chunk_id for h in focused}
    left_out = SearchFilter(exclude_doc_ids=frozenset({af_doc}))
    assert af_doc not in {
        h.chunk.doc_id
        for h in retriever.retrieve([query], k=5, search_filter=left_out, focus=[frozenset({af_doc})])[0]
    }
    with pytest.raises(ConfigError, match="focus"):
        retriever.retrieve([query, query], focus=[None])

"""Indexing: idempotent adds, replacement of changed files, removal, model checks, orphans, locking."""

from __future__ import annotations

from pathlib import Path

import pytest

from garmle.embedding import HashEmbedder
from garmle.errors import IndexError_, ModelMismatchError
from garmle.indexing import Indexer, embedding_text, write_lock
from garmle.store import ChromaStore
from garmle.types import Chunk, Document

TEXT = (
    "Hypertension in adults\n\n"
    "Recommendation 1. Offer a thiazide-like diuretic or a calcium channel blocker to adults with stage 2 "
    "hypertension. (Strength of Recommendation: A)\n\n"
    "Recommendation 2. Aim for a blood pressure below 130/80 mmHg in adults with diabetes. "
    "(Strength of Recommendation: B)\n"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _store(tmp_path: Path) -> ChromaStore:
    return ChromaStore.open(tmp_path / "index", create=True)


def test_add_is_idempotent_and_spans_are_exact(tmp_path: Path) -> None:
    doc_path = _write(tmp_path, "htn.md", TEXT)
    store = _store(tmp_path)
    with Indexer(store, HashEmbedder(32), max_words=30) as ix:
        first = ix.add_files([(doc_path, "local", {})])
        second = ix.add_files([(doc_path, "local", {})])
    assert len(first.added) == 1 and first.chunks >= 2
    assert second.added == [] and second.unchanged == first.added
    doc = store.get_document(first.added[0])
    assert doc is not None
    chunks = store.all_chunks()
    assert len(chunks) == first.chunks
    for chunk in chunks:
        assert doc.text[chunk.char_start : chunk.char_end] == chunk.text
    assert any(c.metadata.get("strength") for c in chunks)


def test_changed_file_replaces_old_version_and_remove_works(tmp_path: Path) -> None:
    doc_path = _write(tmp_path, "htn.md", TEXT)
    store = _store(tmp_path)
    with Indexer(store, HashEmbedder(32)) as ix:
        old = ix.add_files([(doc_path, "local", {})]).added[0]
        doc_path.write_text(TEXT.replace("130/80", "140/90"), encoding="utf-8")
        report = ix.add_files([(doc_path, "local", {})])
        assert report.replaced == [old]
        new = report.added[0]
        assert store.document_ids() == {new}
        assert all(c.doc_id == new for c in store.all_chunks())
        removed = ix.remove([new])
    assert removed > 0 and store.document_ids() == set() and store.count_chunks() == 0


def test_bad_file_is_reported_and_others_are_indexed(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.txt", TEXT)
    empty = _write(tmp_path, "empty.txt", "")
    store = _store(tmp_path)
    with Indexer(store, HashEmbedder(32)) as ix:
        report = ix.add_files([(empty, "local", {}), (good, "local", {})])
    assert len(report.added) == 1
    assert report.failed and report.failed[0][0] == str(empty)


def test_other_model_is_refused(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with Indexer(store, HashEmbedder(32)) as ix:
        ix.add_files([(_write(tmp_path, "a.txt", TEXT), "local", {})])
    with (
        pytest.raises(ModelMismatchError, match="hash-32"),
        Indexer(ChromaStore.open(tmp_path / "index"), HashEmbedder(16)),
    ):
        pass


def test_interrupted_add_leaves_no_visible_half_document(tmp_path: Path) -> None:
    store = _store(tmp_path)
    doc = Document("d1", "T", TEXT)
    with Indexer(store, HashEmbedder(32)) as ix:
        ix.add_documents([doc])
    # Simulate a crash between writing chunks and the document record: orphan chunks of "d2".
    import numpy as np

    orphan = Chunk("d2:0", "d2", "orphan text", 0, 11)
    assert store._chunks is not None
    store._chunks.add(
        ids=[orphan.chunk_id],
        embeddings=np.ones((1, 32), dtype=np.float32),
        documents=[orphan.text],
        metadatas=[{"doc_id": "d2", "char_start": 0, "char_end": 11}],
    )
    assert {c.doc_id for c in store.all_chunks()} == {"d1"}
    with Indexer(ChromaStore.open(tmp_path / "index"), HashEmbedder(32)):
        pass
    assert store.count_chunks() == len(store.all_chunks())


def test_second_writer_gets_a_clear_error(tmp_path: Path) -> None:
    store = _store(tmp_path)
    lock = write_lock(tmp_path / "index", timeout=0.1)
    with (
        lock,
        pytest.raises(IndexError_, match="another process is writing"),
        Indexer(store, HashEmbedder(32), lock_timeout=0.2),
    ):
        pass


def test_missing_index_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(IndexError_, match="no index at"):
        ChromaStore.open(tmp_path / "nothing")
    assert not (tmp_path / "nothing").exists()


def test_embedding_text_adds_context_only() -> None:
    chunk = Chunk("d:0", "d", "Offer statins.", 0, 14, section=("Lipids", "Treatment"))
    assert embedding_text(chunk, "Diabetes care") == "Diabetes care | Lipids > Treatment\nOffer statins."

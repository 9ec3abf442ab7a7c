"""Documents -> chunks -> vectors -> store, incrementally and safely.

Adding is idempotent: a document whose id (content hash) is already indexed is
skipped; a document whose source file was indexed before with other content
replaces the old version once the new one is fully written. A document becomes
visible only when its record is written after all its chunks, so an interrupted
run leaves at worst orphan chunks, which the next writer removes.

Example:
    >>> from garmle.embedding import HashEmbedder
    >>> from garmle.store import ChromaStore
    >>> store = ChromaStore.open("/tmp/idx", create=True)          # doctest: +SKIP
    >>> with Indexer(store, HashEmbedder(64)) as indexer:           # doctest: +SKIP
    ...     report = indexer.add_documents(docs)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from garmle.chunking import chunk_document
from garmle.embedding import Embedder, embed_bulk
from garmle.errors import ConfigError, GarmleError, IndexError_
from garmle.store import ChromaStore
from garmle.types import Chunk, Document

__all__ = ["IndexReport", "Indexer", "embedding_text", "write_lock"]

log = logging.getLogger(__name__)

LOCK_NAME = ".garmle-write.lock"

ProgressFn = Callable[[int, int | None, str], None]
"""Called as ``progress(documents_done, documents_total_or_None, current_title)``."""


def embedding_text(chunk: Chunk, title: str) -> str:
    """The text embedded for a chunk: its document title and section give the span its context.

    The stored and displayed text stays the verbatim span; only the vector sees the context.

    Example:
        >>> c = Chunk(chunk_id="d:0", doc_id="d", text="Start metformin.", char_start=0, char_end=16,
        ...           section=("Major Recommendations",))
        >>> embedding_text(c, "Type 2 diabetes")
        'Type 2 diabetes | Major Recommendations\\nStart metformin.'
    """
    context = " > ".join(part for part in chunk.section if part)
    head = f"{title} | {context}" if context else title
    return f"{head}\n{chunk.text}" if head else chunk.text


@dataclass
class IndexReport:
    """What one ``add`` run did (counts, failures and where the time went)."""

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: dict[str, float] = field(
        default_factory=lambda: {"parse": 0.0, "chunk": 0.0, "embed": 0.0, "store": 0.0}
    )

    @property
    def chunks_per_second(self) -> float:
        """Indexing throughput over chunking, embedding and storing."""
        busy = self.seconds["chunk"] + self.seconds["embed"] + self.seconds["store"]
        return self.chunks / busy if busy > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        return {
            "added": len(self.added),
            "replaced": len(self.replaced),
            "unchanged": len(self.unchanged),
            "failed": [{"source": s, "error": e} for s, e in self.failed],
            "chunks": self.chunks,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "chunks_per_second": round(self.chunks_per_second, 1),
        }


def write_lock(index_dir: Path, timeout: float = 30.0) -> Any:
    """An exclusive lock on an embedded index directory so two writers never interleave."""
    from filelock import FileLock

    index_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(index_dir / LOCK_NAME), timeout=timeout)


class Indexer:
    """Adds and removes documents in a :class:`~garmle.store.ChromaStore`.

    Args:
        store: an open store (created with ``create=True`` for a new index).
        embedder: the embedder the index is (or will be) built with.
        max_words: chunk size bound.
        overlap_words: words shared by neighbouring fallback-split chunks (default: 20, at most max_words/5).
        batch_chunks: chunks embedded per batch (several documents share a batch).
        lock_timeout: seconds to wait for another writer on the same embedded index.

    Example:
        >>> with Indexer(ChromaStore.open("index", create=True), embedder) as ix:   # doctest: +SKIP
        ...     ix.add_documents(docs).to_dict()["added"]
        12
    """

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        *,
        max_words: int = 150,
        overlap_words: int | None = None,
        batch_chunks: int = 256,
        lock_timeout: float = 30.0,
    ) -> None:
        if max_words < 20:
            raise ConfigError(f"max_words={max_words}: chunks under 20 words lose their context")
        if overlap_words is None:
            overlap_words = min(20, max_words // 5)
        self.store = store
        self.embedder = embedder
        self.max_words = max_words
        self.overlap_words = overlap_words
        self.batch_chunks = max(1, batch_chunks)
        self._lock: Any = None
        if not store.location.startswith(("http://", "https://")):
            self._lock = write_lock(Path(store.location), lock_timeout)

    # ------------------------------------------------------------------ context

    def __enter__(self) -> Indexer:
        if self._lock is not None:
            from filelock import Timeout

            try:
                self._lock.acquire()
            except Timeout as exc:
                raise IndexError_(
                    f"another process is writing to the index in {self.store.location!r}; "
                    "try again when it ends"
                ) from exc
        self.store.check_model(self.embedder.model_id, self.embedder.dimension)
        self.store.remove_orphans()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._lock is not None and self._lock.is_locked:
            self._lock.release()

    # ------------------------------------------------------------------ adding

    def add_documents(
        self,
        documents: Iterable[Document],
        *,
        total: int | None = None,
        progress: ProgressFn | None = None,
        report: IndexReport | None = None,
    ) -> IndexReport:
        """Chunk, embed and store ``documents``; unchanged ones are skipped."""
        report = report if report is not None else IndexReport()
        known = self.store.document_ids()
        pending: list[tuple[Document, list[Chunk]]] = []
        pending_chunks = 0
        done = 0
        for doc in documents:
            done += 1
            if progress is not None:
                progress(done, total, doc.title)
            if doc.doc_id in known:
                report.unchanged.append(doc.doc_id)
                continue
            started = time.perf_counter()
            chunks = chunk_document(doc, max_words=self.max_words, overlap_words=self.overlap_words)
            report.seconds["chunk"] += time.perf_counter() - started
            if not chunks:
                report.failed.append((doc.source_path or doc.doc_id, "no text to index"))
                continue
            known.add(doc.doc_id)
            pending.append((doc, chunks))
            pending_chunks += len(chunks)
            if pending_chunks >= self.batch_chunks:
                self._flush(pending, report)
                pending, pending_chunks = [], 0
        if pending:
            self._flush(pending, report)
        return report

    def add_files(
        self,
        items: Sequence[tuple[Path, str, dict[str, str]]],
        *,
        progress: ProgressFn | None = None,
    ) -> IndexReport:
        """Parse and add files given as ``(path, source, meta)``; one bad file is reported, not fatal."""
        from garmle.ingest import load_file

        report = IndexReport()
        current: dict[str, set[str]] = {}

        def parsed() -> Iterator[Document]:
            for number, (path, source, meta) in enumerate(items, start=1):
                if progress is not None:
                    progress(number, len(items), path.name)
                started = time.perf_counter()
                try:
                    docs = load_file(path, source=source, meta=meta)
                except GarmleError as exc:
                    report.failed.append((str(path), str(exc)))
                    log.info("skipped %s: %s", path, exc)  # the report lists it; the CLI says it
                    continue
                finally:
                    report.seconds["parse"] += time.perf_counter() - started
                current[str(path)] = {d.doc_id for d in docs}
                yield from docs

        self.add_documents(parsed(), report=report)
        # Older versions of a re-parsed file go only now that the new version is complete,
        # so an interrupted run never leaves a file with no version at all.
        for source_path, new_ids in current.items():
            for old in set(self.store.ids_for_source_path(source_path)) - new_ids:
                self.store.remove_document(old)
                report.replaced.append(old)
        return report

    def _flush(self, pending: list[tuple[Document, list[Chunk]]], report: IndexReport) -> None:
        texts = [embedding_text(c, doc.title) for doc, chunks in pending for c in chunks]
        started = time.perf_counter()
        vectors = np.asarray(embed_bulk(self.embedder, texts), dtype=np.float32)
        report.seconds["embed"] += time.perf_counter() - started
        started = time.perf_counter()
        offset = 0
        for doc, chunks in pending:
            part = vectors[offset : offset + len(chunks)]
            offset += len(chunks)
            self.store.add_document(doc, chunks, part)
            report.added.append(doc.doc_id)
            report.chunks += len(chunks)
        report.seconds["store"] += time.perf_counter() - started

    # ------------------------------------------------------------------ removing

    def remove(self, doc_ids: Iterable[str]) -> int:
        """Remove documents by id; returns the number of chunks removed."""
        return sum(self.store.remove_document(doc_id) for doc_id in doc_ids)

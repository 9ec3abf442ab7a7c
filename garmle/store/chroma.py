"""Chunks and vectors in Chroma: the embedded store by default, a server by URL.

Two collections per index:

* ``<name>_chunks``: one record per chunk, our own vectors (cosine HNSW with a
  raised ``ef_search``), chunk text as the document, citation fields as
  metadata. The collection metadata records the embedding model and dimension.
* ``<name>_docs``: one record per document holding its canonical text, so a
  snippet can always be checked against its source, in either mode.

A document becomes visible only when its record in ``<name>_docs`` is written,
which happens after all its chunks are in; chunks whose document has no record
(an interrupted add) are ignored by readers and removed by the next writer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from garmle.cache import INDEX_CACHE_DIR, cached
from garmle.errors import ConfigError, IndexError_, ModelMismatchError
from garmle.types import Chunk, Document, PageSpan, Section

__all__ = ["ChromaStore", "DocumentRecord", "IndexInfo", "ScoredChunk"]

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "garmle"
HNSW = {"space": "cosine", "ef_search": 100, "ef_construction": 200}
_SECTION_SEP = " > "
_WRITE_BATCH = 2000


@dataclass(frozen=True)
class IndexInfo:
    """What an index was built with."""

    embedding_model: str
    dimension: int
    created: str
    garmle_version: str


@dataclass(frozen=True)
class DocumentRecord:
    """A document as listed by the index (without its text)."""

    doc_id: str
    title: str
    source: str
    source_path: str
    publisher: str
    year: int | None
    n_chunks: int
    added: str


@dataclass(frozen=True)
class ScoredChunk:
    """A chunk returned by a search with its similarity (cosine, higher is better)."""

    chunk: Chunk
    score: float


def _chunk_metadata(doc: Document, chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "page": chunk.page if chunk.page is not None else -1,
        "section": _SECTION_SEP.join(chunk.section),
        "ordinal": chunk.ordinal,
        "title": doc.title,
        "source": doc.source,
        "publisher": doc.publisher,
        "year": doc.year or 0,
    }
    for key, value in chunk.metadata.items():
        if key not in meta and value not in (None, ""):
            meta[f"m_{key}"] = str(value)
    return meta


_READ_BATCH = 20_000


def _get_all(collection: Any, include: list[str]) -> dict[str, list[Any]]:
    """Every record of ``collection``, in pages: one ``get`` of ~100k records exceeds SQLite's limits."""
    out: dict[str, list[Any]] = {"ids": [], **{key: [] for key in include}}
    offset = 0
    while True:
        page = collection.get(include=include, limit=_READ_BATCH, offset=offset)
        ids = page["ids"]
        out["ids"].extend(ids)
        for key in include:
            values = page.get(key)
            out[key].extend(list(values) if values is not None else [None] * len(ids))
        if len(ids) < _READ_BATCH:
            return out
        offset += len(ids)


def _chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    page = int(meta.get("page", -1))
    extra = {k[2:]: str(v) for k, v in meta.items() if k.startswith("m_")}
    for key in ("title", "source", "publisher"):
        extra[key] = str(meta.get(key, ""))
    extra["year"] = str(meta.get("year", 0) or "")
    return Chunk(
        chunk_id=chunk_id,
        doc_id=str(meta["doc_id"]),
        text=text,
        char_start=int(meta["char_start"]),
        char_end=int(meta["char_end"]),
        page=page if page >= 0 else None,
        section=tuple(s for s in str(meta.get("section", "")).split(_SECTION_SEP) if s),
        ordinal=int(meta.get("ordinal", 0)),
        metadata=extra,
    )


class ChromaStore:
    """The garmle index in Chroma.

    Args:
        path: directory of the embedded store (ignored when ``url`` is given).
        url: ``http://host:port`` of a ``chroma run`` server.
        collection: name prefix of the two collections (3-40 chars of ``[a-zA-Z0-9._-]``).
        create: create the index when it does not exist (writers); readers get a clear error.

    Example:
        >>> store = ChromaStore.open(Path("index"), create=True)   # doctest: +SKIP
        >>> store.stats()["documents"]                              # doctest: +SKIP
        0
    """

    def __init__(self, client: Any, collection: str, *, location: str, create: bool) -> None:
        self._client = client
        self.location = location
        self.collection = collection
        self._chunks: Any = None
        self._docs: Any = None
        self._create = create
        self._version_stat: tuple[int, ...] | None = None
        self._version: tuple[int, str] | None = None
        self._load_collections()

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        *,
        url: str | None = None,
        collection: str = DEFAULT_COLLECTION,
        create: bool = False,
    ) -> ChromaStore:
        """Open (or with ``create`` make) the index at ``path`` or on the server at ``url``."""
        import re

        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,38}[a-zA-Z0-9]", collection):
            raise ConfigError(f"collection name {collection!r}: use 3-40 characters of [a-zA-Z0-9._-]")
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if url:
            parsed = urlparse(url)
            if not parsed.hostname:
                raise ConfigError(f"Chroma URL {url!r} has no host")
            port = parsed.port or (443 if parsed.scheme == "https" else 8000)
            try:
                client = chromadb.HttpClient(
                    host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=chroma_settings
                )
                client.heartbeat()
            except Exception as exc:
                raise IndexError_(f"cannot reach the Chroma server at {url}: {exc}") from exc
            return cls(client, collection, location=url, create=create)
        if path is None:
            raise ConfigError("an index directory or a Chroma URL is needed")
        index_dir = Path(path)
        if not (index_dir / "chroma.sqlite3").is_file():
            if not create:
                raise IndexError_(
                    f"no index at {str(index_dir)!r}: "
                    f"build one with `garmle index add SOURCE --index {index_dir}`"
                )
            index_dir.mkdir(parents=True, exist_ok=True)
        try:
            client = chromadb.PersistentClient(path=str(index_dir), settings=chroma_settings)
        except Exception as exc:
            raise IndexError_(f"cannot open the index at {str(index_dir)!r}: {exc}") from exc
        return cls(client, collection, location=str(index_dir), create=create)

    def _load_collections(self) -> None:
        names = {getattr(c, "name", c) for c in self._client.list_collections()}
        chunks_name, docs_name = f"{self.collection}_chunks", f"{self.collection}_docs"
        if chunks_name in names and docs_name in names:
            self._chunks = self._client.get_collection(chunks_name, embedding_function=None)
            self._docs = self._client.get_collection(docs_name, embedding_function=None)
        elif not self._create:
            raise IndexError_(
                f"no garmle index in {self.location!r} (collection {self.collection!r}): "
                "build one with `garmle index add`"
            )

    def _ensure_collections(self, model_id: str, dimension: int) -> None:
        if self._chunks is not None:
            return
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        from garmle import __version__

        self._chunks = self._client.get_or_create_collection(
            f"{self.collection}_chunks",
            embedding_function=None,
            configuration={"hnsw": HNSW},
            metadata={
                "embedding_model": model_id,
                "dimension": dimension,
                "created": now,
                "garmle_version": __version__,
            },
        )
        self._docs = self._client.get_or_create_collection(
            f"{self.collection}_docs", embedding_function=None, metadata={"kind": "garmle-documents"}
        )

    # ------------------------------------------------------------------ metadata

    @property
    def is_initialised(self) -> bool:
        """True once the index has been created with a model."""
        return self._chunks is not None

    def info(self) -> IndexInfo:
        """The model and dimension the index was built with."""
        if self._chunks is None:
            raise IndexError_(f"the index in {self.location!r} has no collections yet")
        meta = self._chunks.metadata or {}
        return IndexInfo(
            embedding_model=str(meta.get("embedding_model", "")),
            dimension=int(meta.get("dimension", 0)),
            created=str(meta.get("created", "")),
            garmle_version=str(meta.get("garmle_version", "")),
        )

    def check_model(self, model_id: str, dimension: int) -> None:
        """Create the collections for this model, or fail if the index uses another one."""
        if self._chunks is None:
            self._ensure_collections(model_id, dimension)
            return
        info = self.info()
        if info.embedding_model != model_id or info.dimension != dimension:
            raise ModelMismatchError(
                f"the index in {self.location!r} was built with {info.embedding_model} "
                f"({info.dimension}-d) but this run uses {model_id} ({dimension}-d): "
                "use the same --model or build a new index"
            )

    # ------------------------------------------------------------------ documents

    def document_ids(self) -> set[str]:
        """Ids of every complete document."""
        if self._docs is None:
            return set()
        return set(_get_all(self._docs, [])["ids"])

    def has_document(self, doc_id: str) -> bool:
        """True when ``doc_id`` is fully indexed."""
        if self._docs is None:
            return False
        return bool(self._docs.get(ids=[doc_id], include=[])["ids"])

    def ids_for_source_path(self, source_path: str) -> list[str]:
        """Ids of documents that came from ``source_path`` (to replace a changed file)."""
        if self._docs is None:
            return []
        return list(self._docs.get(where={"source_path": source_path}, include=[])["ids"])

    def list_documents(self) -> list[DocumentRecord]:
        """Every complete document, sorted by source and title."""
        if self._docs is None:
            return []
        got = _get_all(self._docs, ["metadatas"])
        records = [
            DocumentRecord(
                doc_id=doc_id,
                title=str(m.get("title", "")),
                source=str(m.get("source", "")),
                source_path=str(m.get("source_path", "")),
                publisher=str(m.get("publisher", "")),
                year=int(m["year"]) if m.get("year") else None,
                n_chunks=int(m.get("n_chunks", 0)),
                added=str(m.get("added", "")),
            )
            for doc_id, m in zip(got["ids"], got["metadatas"], strict=True)
        ]
        return sorted(records, key=lambda r: (r.source, r.title, r.doc_id))

    def get_document(self, doc_id: str) -> Document | None:
        """The document with its canonical text, or None."""
        docs = self.get_documents([doc_id])
        return docs.get(doc_id)

    def get_documents(self, doc_ids: Iterable[str]) -> dict[str, Document]:
        """Documents by id (missing ids are left out)."""
        ids = sorted(set(doc_ids))
        if self._docs is None or not ids:
            return {}
        got = self._docs.get(ids=ids, include=["documents", "metadatas"])
        out: dict[str, Document] = {}
        for doc_id, text, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            out[doc_id] = Document(
                doc_id=doc_id,
                title=str(m.get("title", "")),
                text=text or "",
                source=str(m.get("source", "")),
                source_path=str(m.get("source_path", "")),
                publisher=str(m.get("publisher", "")),
                year=int(m["year"]) if m.get("year") else None,
                licence=str(m.get("licence", "")),
                url=str(m.get("url", "")),
                fmt=str(m.get("fmt", "")),
                sections=tuple(Section.from_dict(s) for s in json.loads(str(m.get("sections", "[]")))),
                pages=tuple(PageSpan.from_dict(p) for p in json.loads(str(m.get("pages", "[]")))),
                metadata=json.loads(str(m.get("meta", "{}"))),
            )
        return out

    def add_document(self, doc: Document, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Write a document's chunks and vectors, then its record (which makes it visible)."""
        if self._chunks is None or self._docs is None:
            raise IndexError_("call check_model() before adding documents")
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self._delete_chunks_of(doc.doc_id)
        for start in range(0, len(chunks), _WRITE_BATCH):
            part = chunks[start : start + _WRITE_BATCH]
            self._chunks.add(
                ids=[c.chunk_id for c in part],
                embeddings=np.asarray(vectors[start : start + _WRITE_BATCH], dtype=np.float32),
                documents=[c.text for c in part],
                metadatas=[_chunk_metadata(doc, c) for c in part],
            )
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self._docs.upsert(
            ids=[doc.doc_id],
            embeddings=np.ones((1, 1), dtype=np.float32),
            documents=[doc.text],
            metadatas=[
                {
                    "title": doc.title,
                    "source": doc.source,
                    "source_path": doc.source_path,
                    "publisher": doc.publisher,
                    "year": doc.year or 0,
                    "licence": doc.licence,
                    "url": doc.url,
                    "fmt": doc.fmt,
                    "sections": json.dumps([s.to_dict() for s in doc.sections]),
                    "pages": json.dumps([p.to_dict() for p in doc.pages]),
                    "meta": json.dumps(dict(doc.metadata)),
                    "n_chunks": len(chunks),
                    "added": now,
                }
            ],
        )

    def remove_document(self, doc_id: str) -> int:
        """Remove a document and its chunks; returns the number of chunks removed."""
        if self._docs is None or not self.has_document(doc_id):
            raise IndexError_(f"no document {doc_id!r} in the index")
        self._docs.delete(ids=[doc_id])
        return self._delete_chunks_of(doc_id)

    def _delete_chunks_of(self, doc_id: str) -> int:
        assert self._chunks is not None
        ids = self._chunks.get(where={"doc_id": doc_id}, include=[])["ids"]
        for start in range(0, len(ids), _WRITE_BATCH):
            self._chunks.delete(ids=ids[start : start + _WRITE_BATCH])
        return len(ids)

    def remove_orphans(self) -> int:
        """Delete chunks whose document record is missing (left by an interrupted add)."""
        if self._chunks is None:
            return 0
        known = self.document_ids()
        got = _get_all(self._chunks, ["metadatas"])
        orphans = [
            cid for cid, m in zip(got["ids"], got["metadatas"], strict=True) if m.get("doc_id") not in known
        ]
        for start in range(0, len(orphans), _WRITE_BATCH):
            self._chunks.delete(ids=orphans[start : start + _WRITE_BATCH])
        if orphans:
            log.warning("removed %d chunks left by an interrupted add", len(orphans))
        return len(orphans)

    # ------------------------------------------------------------------ reading

    def version(self) -> tuple[int, str]:
        """A value that changes whenever the index content changes (for caches built from it).

        The chunk count and a digest of the document ids (a changed file gets a new id). For the
        embedded store it is recomputed only when its SQLite files changed size or time, so a call
        usually costs two ``stat`` calls rather than two queries; the last value is also kept in
        the index's cache folder, so a new process does not query for it either.
        """
        stat = self._file_stat()
        if stat is not None and stat == self._version_stat and self._version is not None:
            return self._version
        version = cached(self.cache_file("version.pkl"), self._content_stamp(), self._query_version)
        self._version_stat, self._version = stat, version
        return version

    def _query_version(self) -> tuple[int, str]:
        ids = "\n".join(sorted(self.document_ids()))
        return self.count_chunks(), hashlib.sha1(ids.encode("utf-8")).hexdigest()

    def _content_stamp(self) -> tuple[tuple[str, str, int], ...] | None:
        """Chroma's write sequence number of each of this index's collections, read from SQLite.

        Every add and delete takes a new sequence number, so an unchanged stamp means unchanged
        content, while the file's time changes on every open (Chroma writes on opening). None
        for a server, or when the file cannot be read as expected (the version is then queried).
        """
        base = self.local_dir()
        if base is None:
            return None
        names = (f"{self.collection}_chunks", f"{self.collection}_docs")
        try:
            conn = sqlite3.connect(f"file:{base / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=1.0)
            try:
                rows = conn.execute(
                    "SELECT c.name, c.id, m.seq_id FROM collections c "
                    "JOIN segments s ON s.collection = c.id AND s.scope = 'METADATA' "
                    "JOIN max_seq_id m ON m.segment_id = s.id "
                    "WHERE c.name IN (?, ?) ORDER BY c.name",
                    names,
                ).fetchall()
            finally:
                conn.close()
        except sqlite3.Error:
            return None
        if len(rows) != len(names):
            return None
        return tuple((str(name), str(cid), int(seq)) for name, cid, seq in rows)

    def cache_file(self, name: str) -> Path | None:
        """Where derived data named ``name`` is kept inside an embedded index (None for a server)."""
        base = self.local_dir()
        return base / INDEX_CACHE_DIR / f"{self.collection}-{name}" if base is not None else None

    def local_dir(self) -> Path | None:
        """The directory of an embedded store (None for a Chroma server)."""
        base = Path(self.location)
        return base if (base / "chroma.sqlite3").is_file() else None

    def _file_stat(self) -> tuple[int, ...] | None:
        base = self.local_dir()
        if base is None:
            return None
        key: list[int] = []
        for f in (base / "chroma.sqlite3", base / "chroma.sqlite3-wal"):
            try:
                st = f.stat()
                key += [st.st_mtime_ns, st.st_size]
            except OSError:
                key += [0, 0]
        return tuple(key)

    def count_chunks(self) -> int:
        """Number of chunk records (orphans included)."""
        return int(self._chunks.count()) if self._chunks is not None else 0

    def all_chunks(self) -> list[Chunk]:
        """Every chunk of every complete document (for lexical retrieval)."""
        return self._complete_chunks(["documents", "metadatas"])[0]

    def all_chunks_with_vectors(self) -> tuple[list[Chunk], np.ndarray]:
        """Every chunk of every complete document and its stored vector (rows in chunk order)."""
        chunks, embeddings = self._complete_chunks(["documents", "metadatas", "embeddings"])
        if not embeddings:
            return chunks, np.zeros((0, 0), dtype=np.float32)
        return chunks, np.asarray(embeddings, dtype=np.float32)

    def _complete_chunks(self, include: list[str]) -> tuple[list[Chunk], list[Any]]:
        """Chunks of complete documents and, when ``include`` asks for them, their embeddings."""
        if self._chunks is None:
            return [], []
        known = self.document_ids()
        got = _get_all(self._chunks, include)
        keep = [i for i, m in enumerate(got["metadatas"]) if m.get("doc_id") in known]
        ids, texts, metas = got["ids"], got["documents"], got["metadatas"]
        chunks = [_chunk_from_record(ids[i], texts[i] or "", metas[i]) for i in keep]
        vectors = got.get("embeddings")
        return chunks, [vectors[i] for i in keep] if vectors is not None else []

    def search(self, vector: np.ndarray, k: int, *, where: dict[str, Any] | None = None) -> list[ScoredChunk]:
        """The ``k`` nearest chunks to ``vector`` (optionally filtered on chunk metadata)."""
        if self._chunks is None:
            return []
        total = self.count_chunks()
        if total == 0:
            return []
        got = self._chunks.query(
            query_embeddings=np.asarray(vector, dtype=np.float32).reshape(1, -1),
            n_results=min(k, total),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        found = [
            ScoredChunk(_chunk_from_record(cid, text or "", m), 1.0 - float(dist))
            for cid, text, m, dist in zip(
                got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True
            )
        ]
        # Chunks of a document whose add was interrupted (no document record) are not shown.
        cited = sorted({sc.chunk.doc_id for sc in found})
        complete = (
            set(self._docs.get(ids=cited, include=[])["ids"]) if cited and self._docs is not None else set()
        )
        return [sc for sc in found if sc.chunk.doc_id in complete]

    def document_metadata(self) -> dict[str, dict[str, str]]:
        """Title, source, publisher, year and the document's own metadata fields, by document id.

        Kept in the index's cache folder, keyed by :meth:`version`.
        """
        if self._docs is None:
            return {}
        return cached(self.cache_file("documents.pkl"), self.version(), self._read_document_metadata)

    def _read_document_metadata(self) -> dict[str, dict[str, str]]:
        assert self._docs is not None
        got = _get_all(self._docs, ["metadatas"])
        out: dict[str, dict[str, str]] = {}
        for doc_id, m in zip(got["ids"], got["metadatas"], strict=True):
            fields = {str(k): str(v) for k, v in json.loads(str(m.get("meta", "{}"))).items()}
            for key in ("title", "source", "source_path", "publisher", "year", "url", "licence"):
                fields[key] = str(m.get(key, "") or "")
            out[doc_id] = fields
        return out

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given chunks, by chunk id."""
        if self._chunks is None or not chunk_ids:
            return {}
        got = self._chunks.get(ids=list(chunk_ids), include=["embeddings"])
        return {
            cid: np.asarray(vec, dtype=np.float32)
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True)
        }

    def stats(self) -> dict[str, Any]:
        """Counts and model of the index, as plain values."""
        docs = self.list_documents()
        sources: dict[str, int] = {}
        for rec in docs:
            sources[rec.source] = sources.get(rec.source, 0) + 1
        info = self.info() if self._chunks is not None else None
        return {
            "location": self.location,
            "collection": self.collection,
            "documents": len(docs),
            "chunks": sum(r.n_chunks for r in docs),
            "sources": sources,
            "embedding_model": info.embedding_model if info else None,
            "dimension": info.dimension if info else None,
            "created": info.created if info else None,
        }

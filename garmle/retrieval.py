"""Queries -> scored chunks: dense search + BM25, reciprocal-rank fusion, filters, re-ranking, MMR.

Example:
    >>> retriever = HybridRetriever(store, embedder)                       # doctest: +SKIP
    >>> hits = retriever.retrieve(["metformin first-line type 2 diabetes"], k=10)[0]   # doctest: +SKIP
    >>> hits[0].chunk.text                                                  # doctest: +SKIP
    'Metformin, if not contraindicated and if tolerated, is the preferred initial ...'
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, overload

import numpy as np

from garmle.cache import read_cache, write_cache
from garmle.embedding import Embedder
from garmle.errors import ConfigError
from garmle.ingest.ngc import POPULATION_GROUPS
from garmle.store import ChromaStore
from garmle.types import Chunk

__all__ = [
    "CrossEncoderReranker",
    "Hit",
    "HybridRetriever",
    "Reranker",
    "SearchFilter",
    "mmr_select",
    "rrf_fuse",
    "tokenize",
]

log = logging.getLogger(__name__)

RRF_K = 60
"""Reciprocal-rank-fusion constant (Cormack et al. 2009): score = sum 1 / (RRF_K + rank)."""

_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "which",
        "with",
        "should",
        "may",
        "can",
        "not",
        "no",
        "than",
        "then",
        "there",
        "these",
        "those",
        "who",
        "whom",
        "will",
        "would",
        "also",
        "been",
        "being",
        "into",
        "over",
        "such",
        "patients",
        "patient",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stop words, with a light plural strip (for BM25).

    Example:
        >>> tokenize("Adults with hypertension should receive statins.")
        ['adult', 'hypertension', 'receive', 'statin']
    """
    out: list[str] = []
    for tok in re.findall(r"[a-z0-9][a-z0-9.\-]*[a-z0-9]|[a-z0-9]", text.lower()):
        if tok in _STOPWORDS:
            continue
        if len(tok) > 4 and tok.endswith("s") and not tok.endswith("ss"):
            tok = tok[:-1]
        out.append(tok)
    return out


@dataclass(frozen=True)
class SearchFilter:
    """Metadata filters applied to every retriever alike.

    Example:
        >>> SearchFilter(sources=("ngc",), min_year=2010).accepts({"source": "ngc", "year": "2014"})
        True
    """

    sources: tuple[str, ...] = ()
    exclude_sources: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    min_year: int | None = None
    max_year: int | None = None
    doc_ids: frozenset[str] | None = None
    exclude_doc_ids: frozenset[str] = frozenset()
    populations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.populations) - set(POPULATION_GROUPS))
        if unknown:
            raise ConfigError(f"unknown guideline population {unknown}; known: {list(POPULATION_GROUPS)}")

    def describe(self) -> str:
        """The filters in words, for a report ("" when nothing is filtered).

        Example:
            >>> SearchFilter(publishers=("NICE",), min_year=2012, populations=("children",)).describe()
            'publisher NICE; published 2012 or later; population children'
        """
        parts = []
        if self.sources:
            parts.append("source " + ", ".join(self.sources))
        if self.exclude_sources:
            parts.append("not source " + ", ".join(self.exclude_sources))
        if self.publishers:
            parts.append("publisher " + ", ".join(self.publishers))
        if self.min_year is not None and self.max_year is not None:
            parts.append(f"published {self.min_year}-{self.max_year}")
        elif self.min_year is not None:
            parts.append(f"published {self.min_year} or later")
        elif self.max_year is not None:
            parts.append(f"published {self.max_year} or earlier")
        if self.populations:
            parts.append("population " + ", ".join(self.populations))
        if self.doc_ids is not None:
            parts.append(f"{len(self.doc_ids)} chosen documents")
        if self.exclude_doc_ids:
            parts.append(f"{len(self.exclude_doc_ids)} documents left out")
        return "; ".join(parts)

    def for_documents(self, documents: Mapping[str, Mapping[str, str]]) -> SearchFilter:
        """This filter with its ``populations`` turned into the guidelines they leave out.

        A guideline is kept when the groups its target population names (the ``population_groups``
        the NGC reader takes from "Target Population") include one of ``populations``, or when it
        names none (most documents other than NGC summaries); a guideline for adults also serves
        "older adults".

        Example:
            >>> docs = {"a": {"population_groups": "children"}, "b": {"population_groups": "adults"},
            ...         "c": {}}
            >>> sorted(SearchFilter(populations=("older adults",)).for_documents(docs).exclude_doc_ids)
            ['a']
        """
        if not self.populations:
            return self
        wanted = set(self.populations) | ({"adults"} if "older adults" in self.populations else set())
        left_out = set()
        for doc_id, meta in documents.items():
            groups = {g.strip() for g in meta.get("population_groups", "").split(";") if g.strip()}
            if groups and not groups & wanted:
                left_out.add(doc_id)
        return replace(self, populations=(), exclude_doc_ids=self.exclude_doc_ids | frozenset(left_out))

    def chroma_where(self) -> dict[str, Any] | None:
        """The source inclusion filter as a Chroma ``where`` clause, so the dense pool is not wasted."""
        # Only inclusion goes to Chroma: an exclusion such as "not the ICD-10-CM catalogue" matches
        # most of the index, and a Chroma filter costs ~100x an unfiltered query at 100k chunks, while
        # dropping the few excluded hits afterwards costs nothing.
        if self.sources:
            return {"source": {"$in": list(self.sources)}}
        return None

    def accepts(self, meta: Mapping[str, str], doc_id: str = "") -> bool:
        """True when a chunk with metadata ``meta`` passes every filter."""
        source = meta.get("source", "")
        if self.sources and source not in self.sources:
            return False
        if source in self.exclude_sources:
            return False
        if self.publishers:
            publisher = meta.get("publisher", "").lower()
            if not any(p.lower() in publisher for p in self.publishers):
                return False
        year = int(meta.get("year") or 0) or None
        if self.min_year is not None and (year is None or year < self.min_year):
            return False
        if self.max_year is not None and (year is None or year > self.max_year):
            return False
        if self.doc_ids is not None and doc_id not in self.doc_ids:
            return False
        return doc_id not in self.exclude_doc_ids


@dataclass
class Hit:
    """A chunk found for a query, with its fused score and its rank in each retriever (1-based)."""

    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    dense_score: float | None = None


class Reranker(Protocol):
    """Re-scores (query, passage) pairs; higher is more relevant."""

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """One score per passage."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers cross-encoder loaded from a local directory.

    Example:
        >>> CrossEncoderReranker("/models/ms-marco-MiniLM-L-6-v2").score("q", ["p"])  # doctest: +SKIP
        [3.2]
    """

    def __init__(self, model_dir: str | Path, device: str | None = None) -> None:
        path = Path(model_dir)
        if not path.is_dir():
            raise ConfigError(f"cross-encoder directory {str(path)!r} does not exist")
        self.model_dir = path
        self.device = device
        self._model: Any = None

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        """Scores of ``passages`` for ``query``."""
        if self._model is None:
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(str(self.model_dir), device=self.device)
        if not passages:
            return []
        return [float(s) for s in self._model.predict([(query, p) for p in passages])]


def rrf_fuse(
    rankings: Mapping[str, Sequence[str]],
    k: int = RRF_K,
    weights: Mapping[str, float] | None = None,
    *,
    combine: str = "sum",
) -> dict[str, float]:
    """Reciprocal-rank fusion of several ranked id lists (optionally weighted per list).

    Each list gives an item ``weight / (k + rank)``; ``combine="sum"`` adds these over the lists
    (classic RRF), ``combine="max"`` keeps the best one (an item's best rank in any list).

    Example:
        >>> fused = rrf_fuse({"dense": ["a", "b"], "bm25": ["b", "c"]})
        >>> max(fused, key=fused.get)
        'b'
        >>> best = rrf_fuse({"dense": ["a", "b"], "bm25": ["b", "c"]}, combine="max")
        >>> best["a"] == best["b"]
        True
    """
    if combine not in ("sum", "max"):
        raise ConfigError(f"combine must be 'sum' or 'max', got {combine!r}")
    scores: dict[str, float] = {}
    for name, ranking in rankings.items():
        weight = 1.0 if weights is None else weights.get(name, 1.0)
        for rank, item in enumerate(ranking, start=1):
            value = weight / (k + rank)
            if combine == "max":
                scores[item] = max(scores.get(item, 0.0), value)
            else:
                scores[item] = scores.get(item, 0.0) + value
    return scores


def mmr_select(
    relevance: Sequence[float],
    vectors: np.ndarray,
    k: int,
    *,
    lambda_: float = 0.7,
    groups: Sequence[str] | None = None,
    max_per_group: int | None = None,
    group_decay: float = 1.0,
    over_cap: float = 0.0,
) -> list[int]:
    """Maximal marginal relevance: indices of ``k`` items trading relevance against redundancy.

    ``relevance`` is divided by its largest value; redundancy is the highest cosine to an already chosen item.
    ``groups``/``max_per_group`` cap how many items one group (e.g. one guideline) may fill until no item
    of another group is left (then the remaining slots are filled regardless of the cap), and
    ``group_decay`` scales an item's relevance by ``group_decay ** n`` once ``n`` items of its group are
    chosen: a softer limit that lets a strong third passage of one guideline beat a weak passage of another.

    Example:
        >>> v = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> mmr_select([1.0, 0.99, 0.5], v, 2, lambda_=0.5)
        [0, 2]
    """
    n = len(relevance)
    if n == 0 or k <= 0:
        return []
    rel = np.asarray(relevance, dtype=np.float64)
    top = np.abs(rel).max()
    rel = rel / top if top > 0 else np.ones_like(rel)
    vecs = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs = vecs / np.where(norms == 0, 1.0, norms)
    sims = vecs @ vecs.T
    chosen: list[int] = []
    per_group: dict[str, int] = {}
    candidates = list(range(n))
    # without groups every item is its own group: no cap, no decay
    labels = list(groups) if groups is not None else [str(i) for i in range(n)]
    cap = max_per_group if groups is not None and max_per_group is not None else n
    while candidates and len(chosen) < k:
        best, best_value = -1, -np.inf
        for i in candidates:
            shown = per_group.get(labels[i], 0)
            decay = group_decay**shown
            if shown >= cap:
                if over_cap <= 0:
                    continue
                decay *= over_cap
            redundancy = max((sims[i, j] for j in chosen), default=0.0)
            value = lambda_ * rel[i] * decay - (1 - lambda_) * redundancy
            if value > best_value:
                best, best_value = i, value
        if best < 0:
            # every remaining item is in a full group: the cap spreads the first picks over groups,
            # it does not leave slots empty when one guideline is all the index has on the condition
            cap = n
            continue
        chosen.append(best)
        candidates.remove(best)
        per_group[labels[best]] = per_group.get(labels[best], 0) + 1
    return chosen


class _LexicalIndex:
    """Okapi BM25 (k1=1.5, b=0.75) over every chunk of the store, title and section included.

    Postings are precomputed per term as (chunk index, term weight) runs of two flat arrays
    (``offsets`` delimits each term's run), so a query costs one vector add per query term
    instead of a pass over the whole corpus, and the index pickles as three arrays.
    """

    def __init__(self, chunks: Sequence[Chunk], k1: float = 1.5, b: float = 0.75) -> None:
        docs = [
            tokenize(" ".join((c.metadata.get("title", ""), " ".join(c.section), c.text))) for c in chunks
        ]
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        avg = float(lengths.mean()) if len(docs) else 0.0
        counts: dict[str, dict[int, int]] = {}
        for i, doc in enumerate(docs):
            for tok in doc:
                per_doc = counts.setdefault(tok, {})
                per_doc[i] = per_doc.get(i, 0) + 1
        n = len(docs)
        norm = k1 * (1 - b + b * lengths / avg) if avg > 0 else np.full(n, k1)
        self._terms = {tok: row for row, tok in enumerate(counts)}
        sizes = np.fromiter((len(per_doc) for per_doc in counts.values()), dtype=np.int64, count=len(counts))
        self._offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        total = int(self._offsets[-1])
        self._docs = np.empty(total, dtype=np.int32)
        self._weights = np.empty(total, dtype=np.float64)
        for row, per_doc in enumerate(counts.values()):
            lo, hi = self._offsets[row], self._offsets[row + 1]
            idx = np.fromiter(per_doc.keys(), dtype=np.int64, count=len(per_doc))
            tf = np.fromiter(per_doc.values(), dtype=np.float64, count=len(per_doc))
            idf = np.log((n - len(idx) + 0.5) / (len(idx) + 0.5) + 1.0)
            self._docs[lo:hi] = idx
            self._weights[lo:hi] = idf * tf * (k1 + 1) / (tf + norm[idx])
        self._n = n

    def state(self) -> dict[str, Any]:
        """The postings, to rebuild this index without re-tokenizing (:meth:`restore`)."""
        return {
            "terms": self._terms,
            "offsets": self._offsets,
            "docs": self._docs,
            "weights": self._weights,
            "n": self._n,
        }

    @classmethod
    def restore(cls, state: Mapping[str, Any]) -> _LexicalIndex:
        """An index from :meth:`state` (over the chunks it was built from, in the same order)."""
        index = cls.__new__(cls)
        index._terms = state["terms"]
        index._offsets = state["offsets"]
        index._docs = state["docs"]
        index._weights = state["weights"]
        index._n = int(state["n"])
        return index

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` chunks (rows) with the best BM25 score for ``query``, best first."""
        scores = np.zeros(self._n, dtype=np.float64)
        for tok in tokenize(query):
            row = self._terms.get(tok)
            if row is not None:
                lo, hi = self._offsets[row], self._offsets[row + 1]
                scores[self._docs[lo:hi]] += self._weights[lo:hi]
        matched = np.flatnonzero(scores > 0)  # usually a small part of the corpus
        if matched.size == 0 or k < 1:
            return []
        found = scores[matched]
        k = min(k, matched.size)
        top = np.argpartition(-found, k - 1)[:k]
        order = top[np.argsort(-found[top], kind="stable")]
        return [(int(matched[i]), float(found[i])) for i in order]


_CACHE_FORMAT = 3

EXACT_SEARCH_LIMIT = 250_000
"""Indexes up to this many chunks are searched exactly from memory; larger ones through the store's HNSW."""

_QUERY_CACHE_SIZE = 4096
_RANKINGS_KEPT = 4096  # dense rankings of patient-independent query texts kept in memory
_FOCUS_KEPT = 1024  # the chunk positions of a focus (a code's guidelines) kept in memory
# cores this process may run on: with two or more, a request's notes' query is embedded on a second
# thread (HybridRetriever.embed_ahead)
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_SHARED_QUERY_LIMIT = 20_000  # patient-independent query vectors kept on disk (about 30 MB at 384-d)


_Row = tuple[str, str, str, int, int, int | None, tuple[str, ...], int, Mapping[str, str]]


class _ChunkRows(Sequence[Chunk]):
    """The table's chunks kept as plain tuples (in :class:`Chunk` field order), each made a
    :class:`Chunk` when first read: a table of 100k chunks loads in a third of the time, and a
    request reads only the few hundred it ranks."""

    def __init__(self, rows: list[_Row]) -> None:
        self.rows = rows
        self._made: dict[int, Chunk] = {}

    @classmethod
    def of(cls, chunks: Iterable[Chunk]) -> _ChunkRows:
        """Rows of ``chunks``; equal metadata mappings are shared (chunks of one document)."""
        shared: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}
        rows: list[_Row] = []
        for c in chunks:
            meta = shared.setdefault(tuple(sorted(c.metadata.items())), c.metadata)
            rows.append(
                (c.chunk_id, c.doc_id, c.text, c.char_start, c.char_end, c.page, c.section, c.ordinal, meta)
            )
        return cls(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Chunk]:
        # A full pass (building BM25) makes each chunk without keeping it.
        return (self._made.get(i) or Chunk(*row) for i, row in enumerate(self.rows))

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | list[Chunk]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self.rows)))]
        chunk = self._made.get(index)
        if chunk is None:
            chunk = self._made[index] = Chunk(*self.rows[index])
        return chunk


@dataclass
class _Table:
    """The index's chunks held in memory: BM25 postings and, for exact dense search, the vectors."""

    chunks: _ChunkRows
    lexical: _LexicalIndex
    matrix: np.ndarray | None
    subsets: dict[SearchFilter, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    focus: dict[tuple[frozenset[str], SearchFilter], np.ndarray] = field(default_factory=dict)
    _positions: dict[str, int] | None = None
    _doc_rows: dict[str, list[int]] | None = None

    @property
    def positions(self) -> dict[str, int]:
        """Row of each chunk id."""
        if self._positions is None:
            self._positions = {row[0]: i for i, row in enumerate(self.chunks.rows)}
        return self._positions

    def focus_rows(self, doc_ids: frozenset[str], flt: SearchFilter) -> np.ndarray:
        """The positions of the chunks of ``doc_ids`` that ``flt`` accepts (the latest kept)."""
        key = (doc_ids, flt)
        if key not in self.focus:
            if self._doc_rows is None:
                by_doc: dict[str, list[int]] = {}
                for i, row in enumerate(self.chunks.rows):
                    by_doc.setdefault(row[1], []).append(i)
                self._doc_rows = by_doc
            rows = self.chunks.rows
            found = sorted(
                i for d in doc_ids for i in self._doc_rows.get(d, ()) if flt.accepts(rows[i][8], rows[i][1])
            )
            if len(self.focus) >= _FOCUS_KEPT:
                self.focus.clear()
            self.focus[key] = np.asarray(found, dtype=np.int64)
        return self.focus[key]

    def subset(self, flt: SearchFilter) -> tuple[np.ndarray, np.ndarray]:
        """The positions of the chunks ``flt`` accepts and their vectors (cached per filter)."""
        if flt not in self.subsets:
            assert self.matrix is not None
            rows = self.chunks.rows
            keep = np.fromiter((flt.accepts(r[8], r[1]) for r in rows), dtype=bool, count=len(rows))
            positions = np.nonzero(keep)[0]
            self.subsets[flt] = (positions, np.ascontiguousarray(self.matrix[positions]))
        return self.subsets[flt]


def _into_pool(table: _Table, rows: Sequence[int], pool: dict[str, Hit]) -> list[str]:
    """The chunk ids of a ranking of table rows, each chunk added to the query's pool of hits."""
    ranked = []
    for idx in rows:
        chunk = table.chunks[idx]
        pool.setdefault(chunk.chunk_id, Hit(chunk, 0.0))
        ranked.append(chunk.chunk_id)
    return ranked


class HybridRetriever:
    """Dense (vector store) + lexical (BM25) retrieval fused by reciprocal rank.

    Up to ``exact_limit`` chunks, dense search is exact: the stored vectors are
    held in memory and scored with one matrix product for all queries (no HNSW
    recall loss, no per-query store round trip). Larger indexes, and the
    client/server store beyond that size, are searched through Chroma's HNSW
    index. Query embeddings are cached by text, so the patient-independent
    dense queries of a code are embedded once per process.

    Args:
        store: the index.
        embedder: the index's embedder (queries are embedded with it).
        dense: use the dense retriever.
        lexical: use the BM25 retriever.
        candidates: how many hits each retriever contributes per query before fusion.
        reranker: optional cross-encoder that re-scores the fused top candidates.
        exact_limit: largest index searched exactly from memory.

    Example:
        >>> r = HybridRetriever(store, embedder, lexical=False)               # doctest: +SKIP
        >>> [h.chunk.chunk_id for h in r.retrieve(["statin therapy"], k=3)[0]]  # doctest: +SKIP
        ['3f2a...:4', '91bc...:0', '3f2a...:5']
    """

    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        *,
        dense: bool = True,
        lexical: bool = True,
        candidates: int = 60,
        reranker: Reranker | None = None,
        exact_limit: int = EXACT_SEARCH_LIMIT,
    ) -> None:
        if not (dense or lexical):
            raise ConfigError("retrieval needs the dense retriever, the lexical one or both")
        if candidates < 1:
            raise ConfigError(f"candidates={candidates} must be at least 1")
        self.store = store
        self.embedder = embedder
        self.dense = dense
        self.lexical = lexical
        self.candidates = candidates
        self.reranker = reranker
        self.exact_limit = exact_limit
        self._table: _Table | None = None
        self._table_key: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._query_vectors: dict[str, np.ndarray] = {}
        self._shared: dict[str, np.ndarray] | None = None
        self._filters: dict[tuple[SearchFilter, tuple[int, str]], SearchFilter] = {}
        self._rankings: dict[tuple[str, SearchFilter], list[tuple[Chunk, float]]] = {}
        self._rankings_table: _Table | None = None
        self._ahead: list[tuple[tuple[str, ...], Future[Any]]] = []  # embed_ahead's jobs
        self._background: ThreadPoolExecutor | None = None

    def _cache_file(self) -> Path | None:
        """Where the in-memory table of an embedded index is kept between processes."""
        return self.store.cache_file("table.pkl")

    def _load_cached(self, key: tuple[int, str]) -> _Table | None:
        path = self._cache_file()
        state = read_cache(path) if path is not None else None
        if not isinstance(state, dict) or state.get("format") != _CACHE_FORMAT:
            return None
        if tuple(state.get("version") or ()) != key:
            return None
        chunks = _ChunkRows(state["rows"])
        lexical = _LexicalIndex.restore(state["postings"])
        return _Table(chunks, lexical, state.get("matrix"))

    def _save_cached(self, key: tuple[int, str], table: _Table) -> None:
        path = self._cache_file()
        if path is not None:
            state = {
                "format": _CACHE_FORMAT,
                "version": key,
                "rows": table.chunks.rows,
                "postings": table.lexical.state(),
                "matrix": table.matrix,
            }
            write_cache(path, state)

    def _chunk_table(self) -> _Table:
        key = self.store.version()
        with self._lock:
            if self._table is not None and self._table_key == key:
                return self._table
            cached = self._load_cached(key)
            if cached is not None:
                self._table, self._table_key = cached, key
                return cached
            # Built whole whatever this retriever uses, so variants sharing the index share the cache.
            matrix: np.ndarray | None = None
            if key[0] <= self.exact_limit:  # the version's first part is the chunk count
                chunks, matrix = self.store.all_chunks_with_vectors()
                if matrix.size == 0:
                    matrix = None
                else:
                    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                    matrix = matrix / np.maximum(norms, 1e-12)
            else:
                chunks = self.store.all_chunks()
            rows = _ChunkRows.of(chunks)
            self._table = _Table(rows, _LexicalIndex(rows), matrix)
            self._table_key = key
            self._save_cached(key, self._table)
            return self._table

    def prepare(self) -> int:
        """Load (or build and cache) the chunk table now rather than at the first query; its size."""
        return len(self._chunk_table().chunks)

    def passages(self) -> Iterator[tuple[str, str, tuple[str, ...]]]:
        """The id, text and section headings of every chunk in the index (from the in-memory table)."""
        return ((row[0], row[2], row[6]) for row in self._chunk_table().chunks.rows)

    def _shared_file(self) -> Path | None:
        model = hashlib.sha1(self.embedder.model_id.encode("utf-8")).hexdigest()[:12]
        return self.store.cache_file(f"queries-{model}.pkl")

    def _load_shared(self) -> None:
        """Bring in the query vectors earlier processes kept for patient-independent texts."""
        if self._shared is not None:
            return
        path = self._shared_file()
        saved = read_cache(path) if path is not None else None
        mine = isinstance(saved, dict) and saved.get("model") == self.embedder.model_id
        self._shared = dict(saved["vectors"]) if mine else {}  # type: ignore[index]

    def _keep_shared(self, vectors: Mapping[str, np.ndarray]) -> bool:
        """Add the vectors of these patient-independent texts to the ones kept on disk (False when
        the limit of :data:`_SHARED_QUERY_LIMIT` leaves no room for them)."""
        assert self._shared is not None
        if len(self._shared) + len(vectors) > _SHARED_QUERY_LIMIT:
            return False
        self._shared.update(vectors)
        path = self._shared_file()
        if path is not None:
            write_cache(path, {"model": self.embedder.model_id, "vectors": self._shared})
        return True

    def embed_ahead(self, texts: Sequence[str]) -> None:
        """Start embedding these query texts on a background thread; a later :meth:`embed_queries` or
        :meth:`retrieve` that needs them waits for that instead of embedding them again.

        A request's notes' query does not depend on its codes, so it is embedded while the codes
        are predicted (one core each); :meth:`retrieve` starts the code's patient-specific texts
        the same way before it runs BM25.
        """
        if not self.dense or _CORES < 2:
            return
        self._harvest()
        with self._lock:
            busy = {t for job, _ in self._ahead for t in job}
            kept = self._shared or {}
            todo = tuple(
                t
                for t in dict.fromkeys(texts)
                if t not in busy and t not in self._query_vectors and t not in kept
            )
        if not todo:
            return
        future = self._executor().submit(self.embedder.embed, list(todo))
        with self._lock:
            self._ahead.append((todo, future))

    def _harvest(self, needed: Collection[str] = ()) -> None:
        """Keep the vectors of the finished :meth:`embed_ahead` jobs, first waiting for the jobs that
        hold a ``needed`` text."""
        with self._lock:
            jobs = list(self._ahead)
        for job in jobs:
            texts, future = job
            if not future.done() and not any(t in needed for t in texts):
                continue
            try:
                vectors: np.ndarray | None = np.asarray(future.result(), dtype=np.float32)
            except Exception:  # the texts are embedded again when needed
                log.debug("embedding queries ahead failed", exc_info=True)
                vectors = None
            with self._lock:
                if job not in self._ahead:  # another thread kept them
                    continue
                self._ahead.remove(job)
                if vectors is not None:
                    if len(self._query_vectors) + len(texts) > _QUERY_CACHE_SIZE:
                        self._query_vectors.clear()
                    self._query_vectors.update(zip(texts, vectors, strict=True))

    def embed_queries(self, texts: Sequence[str], *, shared: Collection[str] = ()) -> np.ndarray:
        """Query vectors, embedding only the texts not seen before.

        Vectors of the texts in ``shared`` (patient-independent wording such as "type 2 diabetes:
        recommended treatment (...)") are also kept in the index's cache folder, so later processes
        do not embed them again; no other text is written anywhere. Other texts' vectors are kept in
        memory, the latest :data:`_QUERY_CACHE_SIZE` of them.
        """
        if shared:
            self._load_shared()
        if self._ahead:
            self._harvest(set(texts))
        kept = self._shared or {}
        found = {t: v for t in texts if (v := kept.get(t, self._query_vectors.get(t))) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            new = {
                text: np.asarray(vec, dtype=np.float32)
                for text, vec in zip(missing, self.embedder.embed(missing), strict=True)
            }
            found.update(new)
            to_disk = {t: v for t, v in new.items() if t in shared}
            if to_disk and self._keep_shared(to_disk):
                new = {t: v for t, v in new.items() if t not in to_disk}
            if len(self._query_vectors) + len(new) > _QUERY_CACHE_SIZE:
                self._query_vectors.clear()
            self._query_vectors.update(new)
        return np.stack([found[t] for t in texts])

    def _resolved(self, flt: SearchFilter) -> SearchFilter:
        """``flt`` with its guideline populations turned into documents (kept per index version)."""
        if not flt.populations:
            return flt
        key = (flt, self.store.version())
        if key not in self._filters:
            if len(self._filters) > 64:
                self._filters.clear()
            self._filters[key] = flt.for_documents(self.store.document_metadata())
        return self._filters[key]

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._background is None:
                # two: a code's texts need not wait behind the notes' longer text embedded ahead
                self._background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="garmle-embed")
            return self._background

    def _dense_for(
        self, table: _Table, texts: list[str], flt: SearchFilter, shared: Collection[str]
    ) -> list[list[tuple[Chunk, float]]]:
        """Each text's dense ranking. A text repeated in a request is searched once, and the rankings
        of patient-independent texts (``shared``) are kept in memory for this table and filter: a
        code's aspect queries read the same passages for every patient with that code."""
        if self._rankings_table is not table:
            self._rankings.clear()
            self._rankings_table = table
        unique = list(dict.fromkeys(texts))
        found = {t: got for t in unique if (got := self._rankings.get((t, flt))) is not None}
        todo = [t for t in unique if t not in found]
        if todo:
            vectors = self.embed_queries(todo, shared=shared)
            for text, ranking in zip(todo, self._dense_rankings(table, vectors, flt), strict=True):
                found[text] = ranking
                if text in shared:
                    if len(self._rankings) >= _RANKINGS_KEPT:
                        self._rankings.clear()
                    self._rankings[(text, flt)] = ranking
        return [found[t] for t in texts]

    def _dense_focus(
        self, table: _Table, texts: list[str], focus_rows: Sequence[np.ndarray | None]
    ) -> list[list[int]]:
        """Each text's best ``candidates`` rows among its focus rows (none without a focus), by the
        same cosine as the full dense ranking; the vectors are the ones just embedded or kept. The
        texts of one focus (a code's aspect queries) share one product with its rows' vectors."""
        assert table.matrix is not None
        out: list[list[int]] = [[] for _ in texts]
        groups: dict[int, list[int]] = {}
        for i, rows in enumerate(focus_rows):
            if rows is not None and rows.size:
                groups.setdefault(id(rows), []).append(i)
        if not groups:
            return out
        wanted = [i for members in groups.values() for i in members]
        vectors = dict(zip(wanted, self.embed_queries([texts[i] for i in wanted]), strict=True))
        for members in groups.values():
            rows = focus_rows[members[0]]
            assert rows is not None
            unit = np.stack([vectors[i] for i in members])
            unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
            scores = unit.astype(table.matrix.dtype) @ table.matrix[rows].T
            n = min(self.candidates, rows.size)
            for i, row in zip(members, scores, strict=True):
                top = np.argpartition(-row, n - 1)[:n]
                out[i] = [int(rows[j]) for j in top[np.argsort(-row[top], kind="stable")]]
        return out

    def _dense_rankings(
        self, table: _Table, vectors: np.ndarray, flt: SearchFilter
    ) -> list[list[tuple[Chunk, float]]]:
        depth = self.candidates * 2
        if table.matrix is not None:
            positions, matrix = table.subset(flt)
            out: list[list[tuple[Chunk, float]]] = []
            n = min(depth, len(positions))
            if n == 0:
                return [[] for _ in range(len(vectors))]
            unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            # (queries, chunks): each query's scores are one contiguous row to partition
            scores = unit.astype(matrix.dtype) @ matrix.T
            np.negative(scores, out=scores)
            top = np.argpartition(scores, n - 1, axis=1)[:, :n]
            for qi in range(scores.shape[0]):
                row = scores[qi]
                order = top[qi][np.argsort(row[top[qi]], kind="stable")]
                out.append([(table.chunks[int(positions[i])], -float(row[i])) for i in order])
            return out
        results = []
        for vec in vectors:
            # Excluded sources are dropped after the search, so fetch deeper when there are any.
            hits = self.store.search(vec, depth * (3 if flt.exclude_sources else 1), where=flt.chroma_where())
            kept = [(sc.chunk, sc.score) for sc in hits if flt.accepts(sc.chunk.metadata, sc.chunk.doc_id)]
            results.append(kept[:depth])
        return results

    def retrieve(
        self,
        queries: Sequence[str],
        k: int = 20,
        *,
        search_filter: SearchFilter | None = None,
        dense_queries: Sequence[str] | None = None,
        shared: Collection[str] = (),
        focus: Sequence[frozenset[str] | None] | None = None,
    ) -> list[list[Hit]]:
        """The fused top ``k`` hits for each query (filters applied to both retrievers).

        ``dense_queries`` (one per query) are the texts the dense retriever embeds
        instead of ``queries``; BM25 always reads ``queries``. ``shared`` names the dense texts
        that carry nothing of a patient, whose vectors may be kept between processes.

        ``focus`` (one per query, or None) names documents whose passages each retriever also ranks on
        their own: their best join the fusion as two more rankings, so that over a large index the
        guidelines about the query's condition are not crowded out of the candidates by the similar
        passages of other guidelines. Dense search ranks every focus passage by the same cosine
        (exact search only: the in-memory table); BM25 ranks those of its deeper list.
        """
        flt = self._resolved(search_filter or SearchFilter())
        if not queries:
            return []
        if dense_queries is not None and len(dense_queries) != len(queries):
            raise ConfigError(f"got {len(dense_queries)} dense queries for {len(queries)} queries")
        if focus is not None and len(focus) != len(queries):
            raise ConfigError(f"got {len(focus)} focus document sets for {len(queries)} queries")
        table = self._chunk_table()
        focus_rows = [
            table.focus_rows(docs, flt) if docs else None for docs in (focus or [None] * len(queries))
        ]
        if self.dense:
            # The request's own dense texts (a code's queries with this patient's comorbidities) start
            # embedding beside BM25; patient-independent ones are embedded by embed_queries, which also
            # keeps them on disk, and most have a kept ranking that needs no vector at all.
            self.embed_ahead([t for t in (dense_queries or queries) if t not in shared])
        # BM25 first: a text embedded ahead (embed_ahead) has the time to finish meanwhile.
        lexical: list[list[int]] = []
        lexical_focus: list[list[int]] = []
        if self.lexical:
            for query, rows in zip(queries, focus_rows, strict=True):
                deeper = table.lexical.search(query, self.candidates * 3)
                ranked_rows = []
                for idx, _score in deeper:
                    chunk = table.chunks[idx]
                    if not flt.accepts(chunk.metadata, chunk.doc_id):
                        continue
                    ranked_rows.append(idx)
                    if len(ranked_rows) >= self.candidates:
                        break
                lexical.append(ranked_rows)
                # BM25's focus ranking is drawn from the same deeper list: a focus passage that shares
                # fewer of the query's words than that adds only noise (ranking every focus passage
                # found 3 keys fewer of the 198)
                found = []
                if rows is not None and deeper:
                    inside = np.isin(np.fromiter((i for i, _ in deeper), dtype=np.int64), rows)
                    found = [hit for hit, keep in zip(deeper, inside, strict=True) if keep][: self.candidates]
                lexical_focus.append([idx for idx, _ in found])
        dense: list[list[tuple[Chunk, float]]] | None = None
        dense_focus: list[list[int]] = [[] for _ in queries]
        if self.dense:
            dense_texts = list(dense_queries or queries)
            dense = self._dense_for(table, dense_texts, flt, shared)
            if table.matrix is not None and any(rows is not None for rows in focus_rows):
                dense_focus = self._dense_focus(table, dense_texts, focus_rows)
        results: list[list[Hit]] = []
        for qi, query in enumerate(queries):
            pool: dict[str, Hit] = {}
            rankings: dict[str, list[str]] = {}
            if dense is not None:
                ranked = []
                for chunk, score in dense[qi]:
                    hit = pool.setdefault(chunk.chunk_id, Hit(chunk, 0.0))
                    hit.dense_score = score
                    ranked.append(chunk.chunk_id)
                rankings["dense"] = ranked[: self.candidates]
            if self.lexical:
                rankings["bm25"] = _into_pool(table, lexical[qi], pool)
            for name, focused in (
                ("dense@focus", dense_focus[qi]),
                ("bm25@focus", lexical_focus[qi] if lexical_focus else []),
            ):
                if focused:
                    rankings[name] = _into_pool(table, focused, pool)
            fused = rrf_fuse(rankings)
            for name, ranking in rankings.items():
                for rank, cid in enumerate(ranking, start=1):
                    pool[cid].ranks[name] = rank
            hits = []
            for cid, score in sorted(fused.items(), key=lambda kv: -kv[1]):
                pool[cid].score = score
                hits.append(pool[cid])
            if self.reranker is not None and hits:
                top = hits[: max(k * 2, 20)]
                reranked = self.reranker.score(query, [h.chunk.text for h in top])
                for hit, s in zip(top, reranked, strict=True):
                    hit.score = float(s)
                hits = sorted(top, key=lambda h: -h.score)
            results.append(hits[:k])
        return results

    def chunk_vectors(self, chunk_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """Stored vectors of the given chunks (for MMR)."""
        ids = list(chunk_ids)
        table = self._table
        if table is not None and table.matrix is not None and all(c in table.positions for c in ids):
            return {c: table.matrix[table.positions[c]] for c in ids}
        return self.store.vectors(ids)

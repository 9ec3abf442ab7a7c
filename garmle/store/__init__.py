"""Chunks + vectors <-> the vector store (Chroma embedded or server).

Example:
    >>> from garmle.store import ChromaStore
    >>> ChromaStore.__name__
    'ChromaStore'
"""

from garmle.store.chroma import ChromaStore, DocumentRecord, IndexInfo, ScoredChunk

__all__ = ["ChromaStore", "DocumentRecord", "IndexInfo", "ScoredChunk"]

"""The index as a LangChain retriever: verbatim guideline passages with their citations as metadata.

Example:
    >>> from garmle import Recommender
    >>> from garmle.langchain_retriever import GarmleRetriever
    >>> retriever = GarmleRetriever(recommender=Recommender.open("index/demo"), k=5)   # doctest: +SKIP
    >>> docs = retriever.invoke("anticoagulation in atrial fibrillation")             # doctest: +SKIP
    >>> docs[0].metadata["doc_id"], docs[0].metadata["char_start"]                     # doctest: +SKIP
    ('78287df29959242b', 7642)
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LcDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from garmle.retrieval import SearchFilter
from garmle.types import Snippet

__all__ = ["GarmleRetriever", "snippet_to_langchain"]


def snippet_to_langchain(snippet: Snippet) -> LcDocument:
    """A LangChain Document whose page_content is the verbatim snippet and whose metadata is its citation."""
    meta: dict[str, Any] = {
        "doc_id": snippet.doc_id,
        "chunk_id": snippet.chunk_id,
        "title": snippet.title,
        "publisher": snippet.publisher,
        "year": snippet.year,
        "page": snippet.page,
        "section": " > ".join(snippet.section),
        "char_start": snippet.char_start,
        "char_end": snippet.char_end,
        "score": snippet.score,
        "source": snippet.source,
        "strength": snippet.strength,
    }
    return LcDocument(page_content=snippet.text, metadata=meta, id=snippet.chunk_id)


class GarmleRetriever(BaseRetriever):
    """LangChain retriever over a garmle index (hybrid dense + BM25 search, verbatim-checked).

    Attributes:
        recommender: an open :class:`~garmle.recommender.Recommender`.
        k: passages per query.
        search_filter: optional source/publisher/year filters.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    recommender: Any
    k: int = 5
    search_filter: SearchFilter | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[LcDocument]:
        snippets = self.recommender.search(query, k=self.k, search_filter=self.search_filter)
        return [snippet_to_langchain(s) for s in snippets]

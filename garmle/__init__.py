"""garmle: retrieval-grounded clinical guideline recommendations.

Every character garmle shows comes verbatim from a source document and
carries its citation. Heavy parts (models, stores) load lazily, so importing
this package is fast.

Example:
    >>> import garmle
    >>> garmle.__version__
    '0.1.0'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from garmle.errors import GarmleError
from garmle.types import (
    Chunk,
    CodePrediction,
    Document,
    Patient,
    Recommendation,
    Report,
    Snippet,
)

if TYPE_CHECKING:
    from garmle.recommender import Recommender

__version__ = "0.1.0"

__all__ = [
    "Chunk",
    "CodePrediction",
    "Document",
    "GarmleError",
    "Patient",
    "Recommendation",
    "Recommender",
    "Report",
    "Snippet",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name == "Recommender":
        from garmle.recommender import Recommender

        return Recommender
    raise AttributeError(f"module 'garmle' has no attribute {name!r}")

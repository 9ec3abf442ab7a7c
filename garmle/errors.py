"""Errors raised by garmle.

Every error a user can cause derives from :class:`GarmleError`; the CLI turns
each into one line on stderr and a non-zero exit code::

    GarmleError
    ├── ConfigError          bad setting, missing model directory
    ├── IngestError          unreadable, corrupt, encrypted, empty or unknown file
    ├── IndexError_          missing/empty index, model mismatch, locked index
    │   └── ModelMismatchError
    ├── CatalogueError       malformed or unknown ICD-10 code
    ├── PatientError         malformed FHIR / JSON / impossible patient data
    ├── PredictionError      a code predictor failed (bad checkpoint, bad JSON)
    └── RetrievalError       retrieval or fusion could not run
"""

from __future__ import annotations

__all__ = [
    "CatalogueError",
    "ConfigError",
    "GarmleError",
    "IndexError_",
    "IngestError",
    "ModelMismatchError",
    "PatientError",
    "PredictionError",
    "RetrievalError",
]


class GarmleError(Exception):
    """Base class of every error garmle raises on purpose."""


class ConfigError(GarmleError):
    """A setting is invalid (bad value, missing directory)."""


class IngestError(GarmleError):
    """A source file cannot be turned into a document."""


class IndexError_(GarmleError):  # noqa: N801, N818 - avoid shadowing the builtin IndexError
    """The index is missing, empty, locked or otherwise unusable."""


class ModelMismatchError(IndexError_):
    """The index was built with another embedding model or dimension."""


class CatalogueError(GarmleError):
    """An ICD-10 code is malformed or not in the catalogue."""


class PatientError(GarmleError):
    """Patient input is malformed or holds impossible values."""


class PredictionError(GarmleError):
    """A code predictor could not run."""


class RetrievalError(GarmleError):
    """Retrieval or fusion failed."""

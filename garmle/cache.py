"""Derived data kept on disk between processes: read tolerantly, written atomically.

The caches of garmle (inside an embedded index, in :data:`INDEX_CACHE_DIR`:
the retrieval table, the index version and the document fields; in
``cache_dir()``: the note coder's catalogue index) hold data derived from
inputs the caller keys them by; a missing, damaged or foreign file is simply rebuilt, and a
file that cannot be written (a read-only index) only costs the rebuild next time.

Example:
    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.pkl"
    >>> write_cache(path, {"a": 1}); read_cache(path)
    {'a': 1}
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["INDEX_CACHE_DIR", "cached", "kept", "read_cache", "write_cache"]

INDEX_CACHE_DIR = ".garmle-cache"
"""Folder inside an embedded index for data derived from it (chunk table, version, document fields)."""

log = logging.getLogger(__name__)


def read_cache(path: Path) -> Any | None:
    """The object pickled at ``path``, or None when it is missing or unreadable."""
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged or foreign cache is rebuilt, never fatal
        log.debug("ignoring the cache %s: %s", path, exc)
        return None


def write_cache(path: Path, obj: Any) -> None:
    """Pickle ``obj`` to ``path`` atomically (a temporary file, then a rename); failures are logged."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("cannot write the cache %s: %s", path, exc)


_MISSING = object()


def kept(path: Path | None, key: Any, default: Any = None) -> Any:
    """The value :func:`cached` keeps at ``path`` for ``key``, else ``default`` (nothing is built).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "k.pkl"
        >>> kept(path, 1), cached(path, 1, lambda: "built"), kept(path, 1), kept(path, 2)
        (None, 'built', 'built', None)
    """
    saved = read_cache(path) if path is not None else None
    if isinstance(saved, dict) and saved.get("key") == key and "value" in saved:
        return saved["value"]
    return default


def cached(path: Path | None, key: Any, build: Callable[[], T]) -> T:
    """The value kept at ``path`` for ``key``, else ``build()``, kept there for next time.

    With no ``path`` or no ``key`` (nothing to tell a stale value by) it simply builds.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "v.pkl"
        >>> cached(path, 1, lambda: "built"), cached(path, 1, lambda: "again"), cached(path, 2, lambda: "new")
        ('built', 'built', 'new')
    """
    if path is None or key is None:
        return build()
    saved = kept(path, key, _MISSING)
    if saved is not _MISSING:
        return saved  # type: ignore[no-any-return]
    value = build()
    write_cache(path, {"key": key, "value": value})
    return value

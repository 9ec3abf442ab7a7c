"""HTTP services over the :class:`~garmle.recommender.Recommender`: a CDS Hooks 2.0 service.

FastAPI and uvicorn (the ``server`` extra) are imported only when a service is built.

Example:
    >>> from garmle.server import serve                                   # doctest: +SKIP
    >>> serve(Settings.from_env(index_dir="index/"), port=8080)           # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from garmle.server.cds_hooks import ServiceOptions, create_app, discovery, serve

__all__ = ["ServiceOptions", "create_app", "discovery", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from garmle.server import cds_hooks

        return getattr(cds_hooks, name)
    raise AttributeError(f"module 'garmle.server' has no attribute {name!r}")

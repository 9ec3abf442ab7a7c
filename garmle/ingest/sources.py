"""The guideline source manifest: named sources in a local mirror, checksums and subsets.

``guidelines/sources.toml`` names every guideline source garmle knows (title,
publisher, URL, licence, format, where it lies inside a mirror directory and
its sha256) and named subsets of them, such as ``demo``. The source files
themselves are never part of the repository: they are read from a mirror
directory given by ``--mirror`` or ``GARMLE_GUIDELINE_MIRROR``.

A source spec names what to load:

* a source name: ``"ngc"``, ``"uspstf"`` (every item of that source);
* a subset name: ``"demo"``;
* a source and item ids: ``"ngc:10598,11186"``.

Example:
    >>> manifest = load_manifest()  # doctest: +SKIP
    >>> items = manifest.resolve("ngc:10598", mirror=Path("../shared/data"))  # doctest: +SKIP
    >>> items[0].path.name, items[0].source  # doctest: +SKIP
    ('ngc-10598.xml', 'ngc')
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from garmle.errors import ConfigError, IngestError

__all__ = [
    "ENV_MIRROR",
    "ENV_SOURCES",
    "Manifest",
    "Source",
    "SourceItem",
    "Subset",
    "default_manifest_path",
    "directory_sha256",
    "file_sha256",
    "load_manifest",
    "path_sha256",
    "resolve_source",
]

ENV_SOURCES = "GARMLE_SOURCES"
ENV_MIRROR = "GARMLE_GUIDELINE_MIRROR"
MANIFEST_NAME = Path("guidelines") / "sources.toml"
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def directory_sha256(path: Path) -> str:
    """Hex sha256 of a directory: over the sorted lines ``"name\\tsha256(file)\\n"``.

    ``name`` is each regular file's path relative to ``path`` with ``/`` separators;
    hidden files and folders (names starting with ``.``) are left out.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = (folder / "a.txt").write_text("x")
        >>> line = "a.txt\\t" + hashlib.sha256(b"x").hexdigest() + "\\n"
        >>> directory_sha256(folder) == hashlib.sha256(line.encode()).hexdigest()
        True
    """
    root = Path(path)
    lines = []
    for file in root.rglob("*"):
        relative = file.relative_to(root)
        if file.is_file() and not any(part.startswith(".") for part in relative.parts):
            lines.append(f"{relative.as_posix()}\t{file_sha256(file)}\n")
    return hashlib.sha256("".join(sorted(lines)).encode("utf-8")).hexdigest()


def path_sha256(path: Path) -> str:
    """:func:`directory_sha256` for a directory, :func:`file_sha256` for a file."""
    return directory_sha256(path) if Path(path).is_dir() else file_sha256(path)


@dataclass(frozen=True)
class SourceItem:
    """One file to ingest, with the source name and the metadata defaults it gets.

    Example:
        >>> item = SourceItem(Path("ngc-10598.xml"), "ngc", {"publisher": "AHRQ"})
        >>> item.meta["publisher"]
        'AHRQ'
    """

    path: Path
    source: str
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """A named guideline source in the manifest.

    ``mirror_path`` is a file or a directory relative to the mirror;
    ``item_pattern`` (directories only) turns an item id into a file name,
    e.g. ``"ngc-{id}.xml"``.

    Example:
        >>> ngc = Source(name="ngc", title="NGC", mirror_path="ngc-summaries", item_pattern="ngc-{id}.xml")
        >>> ngc.is_collection
        True
    """

    name: str
    title: str
    mirror_path: str
    publisher: str = ""
    url: str = ""
    licence: str = ""
    format: str = ""
    sha256: str = ""
    item_pattern: str = ""
    description: str = ""

    @property
    def is_collection(self) -> bool:
        """Whether the source is a directory of one file per item."""
        return bool(self.item_pattern)

    @property
    def meta(self) -> dict[str, str]:
        """The metadata defaults every document of this source gets."""
        values = {"publisher": self.publisher, "licence": self.licence, "url": self.url}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class Subset:
    """A named selection of items of one source.

    Example:
        >>> Subset(name="mini", source="ngc", items=("10598",)).items
        ('10598',)
    """

    name: str
    source: str
    items: tuple[str, ...]
    description: str = ""
    conditions: tuple[str, ...] = ()


def _text(table: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = table.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"{where}: '{key}' must be a non-empty string")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class Manifest:
    """The parsed source manifest.

    Example:
        >>> manifest = load_manifest()  # doctest: +SKIP
        >>> sorted(manifest.sources)  # doctest: +SKIP
        ['ngc', 'uspstf']
    """

    path: Path
    sources: Mapping[str, Source]
    subsets: Mapping[str, Subset]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path) -> Manifest:
        """Build a manifest from parsed TOML, failing with the bad entry in the message."""
        sources: dict[str, Source] = {}
        for name, table in dict(data.get("sources", {})).items():
            where = f"{path}: [sources.{name}]"
            if not isinstance(table, dict):
                raise ConfigError(f"{where} must be a table")
            sources[name] = Source(
                name=name,
                title=_text(table, "title", where, required=True),
                mirror_path=_text(table, "mirror_path", where, required=True),
                publisher=_text(table, "publisher", where),
                url=_text(table, "url", where),
                licence=_text(table, "licence", where),
                format=_text(table, "format", where),
                sha256=_text(table, "sha256", where).lower(),
                item_pattern=_text(table, "item_pattern", where),
                description=_text(table, "description", where),
            )
        subsets: dict[str, Subset] = {}
        for name, table in dict(data.get("subsets", {})).items():
            where = f"{path}: [subsets.{name}]"
            if not isinstance(table, dict):
                raise ConfigError(f"{where} must be a table")
            if name in sources:
                raise ConfigError(f"{where}: a subset cannot share the name of a source")
            source = _text(table, "source", where, required=True)
            if source not in sources or not sources[source].is_collection:
                raise ConfigError(f"{where}: 'source' must name a directory source, got {source!r}")
            items = _strings(table, "items", where)
            if not items:
                raise ConfigError(f"{where}: 'items' is empty")
            subsets[name] = Subset(
                name=name,
                source=source,
                items=items,
                description=_text(table, "description", where),
                conditions=_strings(table, "conditions", where),
            )
        if not sources:
            raise ConfigError(f"{path}: the manifest names no [sources]")
        return cls(path=path, sources=sources, subsets=subsets)

    def names(self) -> list[str]:
        """Every source and subset name a spec may use."""
        return sorted({*self.sources, *self.subsets})

    def resolve(
        self, spec: str, *, mirror: Path | None, limit: int | None = None, verify: bool = True
    ) -> list[SourceItem]:
        """Turn a source spec into the files to ingest (see the module docstring).

        Args:
            spec: ``"ngc"``, ``"demo"`` or ``"ngc:ID1,ID2"``.
            mirror: the mirror directory; ``None`` falls back to ``GARMLE_GUIDELINE_MIRROR``.
            limit: keep only the first ``limit`` items (in sorted order for whole sources).
            verify: check the source's sha256 against the manifest.

        Raises:
            IngestError: unknown spec, no or missing mirror, missing files, or a checksum mismatch.
        """
        if limit is not None and limit < 1:
            raise IngestError(f"limit must be a positive number of items, got {limit}")
        name, colon, ids = spec.strip().partition(":")
        name = name.strip()
        if name in self.subsets and not colon:
            subset = self.subsets[name]
            source, wanted = self.sources[subset.source], list(subset.items)
        elif name in self.sources:
            source = self.sources[name]
            wanted = [i.strip() for i in ids.split(",") if i.strip()] if ids else []
            if colon and not wanted:
                raise IngestError(f"source spec {spec!r} names no item ids after ':'")
            if wanted and not source.is_collection:
                raise IngestError(f"source {name!r} is a single file; item ids cannot be selected")
        else:
            known = ", ".join(self.names())
            raise IngestError(f"unknown guideline source {spec!r} (known: {known}; or SOURCE:ID1,ID2)")
        base = _mirror_dir(mirror) / source.mirror_path
        if not base.exists():
            raise IngestError(
                f"source {source.name!r} not found at {base}; check --mirror / {ENV_MIRROR} "
                f"(it should contain {source.mirror_path})"
            )
        if verify and source.sha256:
            actual = path_sha256(base)
            if actual != source.sha256:
                raise IngestError(
                    f"checksum mismatch for source {source.name!r} at {base}: expected "
                    f"{source.sha256[:12]}..., got {actual[:12]}... (a different or changed copy)"
                )
        if not source.is_collection:
            return [SourceItem(base, source.name, source.meta)]
        if wanted:
            paths = [base / source.item_pattern.format(id=item) for item in wanted]
            missing = [p.name for p in paths if not p.is_file()]
            if missing:
                shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                raise IngestError(
                    f"source {source.name!r}: {shown} not found in {base} (check --mirror / {ENV_MIRROR})"
                )
        else:
            suffix = Path(source.item_pattern).suffix
            paths = sorted(p for p in base.iterdir() if p.is_file() and p.suffix == suffix)
            if not paths:
                raise IngestError(f"source {source.name!r}: no *{suffix} files in {base}")
        if limit is not None:
            paths = paths[:limit]
        return [SourceItem(path, source.name, source.meta) for path in paths]


def _mirror_dir(mirror: Path | None) -> Path:
    value = mirror if mirror is not None else os.environ.get(ENV_MIRROR) or None
    if value is None:
        raise IngestError(f"no guideline mirror given: pass --mirror DIR or set {ENV_MIRROR}")
    path = Path(value)
    if not path.is_dir():
        raise IngestError(f"guideline mirror {str(path)!r} is not a directory (--mirror / {ENV_MIRROR})")
    return path


def default_manifest_path() -> Path:
    """Where the manifest is looked for: ``GARMLE_SOURCES``, then ``./guidelines``, then the repository."""
    env = os.environ.get(ENV_SOURCES)
    if env:
        return Path(env)
    for base in (Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[2]):
        candidate = base / MANIFEST_NAME
        if candidate.is_file():
            return candidate
    return Path.cwd() / MANIFEST_NAME


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"source manifest {str(path)!r} not found (set {ENV_SOURCES})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"source manifest {str(path)!r} is not valid TOML ({exc})") from exc


def load_manifest(path: Path | None = None) -> Manifest:
    """Read the source manifest (default: :func:`default_manifest_path`).

    Raises:
        ConfigError: the manifest is missing, not TOML, or has a malformed entry.
    """
    manifest_path = Path(path) if path is not None else default_manifest_path()
    return Manifest.from_dict(_read_toml(manifest_path), manifest_path)


def resolve_source(
    spec: str,
    *,
    mirror: Path | None,
    limit: int | None = None,
    verify: bool = True,
    manifest: Manifest | None = None,
) -> list[SourceItem]:
    """Resolve a source spec against the default (or given) manifest; see :meth:`Manifest.resolve`.

    Example:
        >>> items = resolve_source("ngc:10598", mirror=Path("../shared/data"))  # doctest: +SKIP
        >>> [item.path.name for item in items]  # doctest: +SKIP
        ['ngc-10598.xml']
    """
    return (manifest or load_manifest()).resolve(spec, mirror=mirror, limit=limit, verify=verify)

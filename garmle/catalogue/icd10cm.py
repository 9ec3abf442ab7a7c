"""The ICD-10-CM 2026 tabular list, read from the ``simple-icd-10-cm`` package.

The catalogue validates predicted codes, gives their verbatim titles and
notes, and turns the tabular list into documents so catalogue text can be
indexed and cited like any guideline.

Importing ``simple-icd-10-cm`` parses its whole XML file (seconds), so the
entries are kept in a SQLite snapshot in :func:`garmle.config.cache_dir`,
keyed by the package's version: a process looks up the few codes it needs
there instead. The snapshot is built on first use (and in memory when the
cache directory is not writable).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import astuple, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from garmle.errors import CatalogueError
from garmle.types import Document, Section

__all__ = [
    "IcdCatalogue",
    "IcdEntry",
    "catalogue_documents",
    "catalogue_release",
    "lay_wordings",
    "parse_code_range",
]

# Letter, digit, letter-or-digit, then an optional dot and up to four more characters.
_CODE_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
CATALOGUE_SOURCE = "icd10cm"
CATALOGUE_TITLE = "ICD-10-CM 2026 Tabular List"
CATALOGUE_PUBLISHER = "CDC National Center for Health Statistics"


log = logging.getLogger(__name__)
_SNAPSHOT_FORMAT = 1

_LIMBS = (
    (re.compile(r"\blower (?:extremity|extremities|limb|limbs)\b", re.I), "leg"),
    (re.compile(r"\bupper (?:extremity|extremities|limb|limbs)\b", re.I), "arm"),
)


def lay_wordings(wordings: Iterable[str]) -> list[str]:
    """The wordings, each followed by its lay form where it names a limb as the catalogue does
    ("Varicose veins of right lower extremity with ulcer of ankle" -> "... of right leg with ulcer of
    ankle"; "Cellulitis of left upper limb" -> "... of left arm"): notes and guideline titles say leg
    and arm ("Varicose veins in the legs").

    Example:
        >>> lay_wordings(["Cellulitis of left lower limb", "Gout"])
        ['Cellulitis of left lower limb', 'Cellulitis of left leg', 'Gout']
    """
    out = []
    for wording in wordings:
        out.append(wording)
        lay = wording
        for pattern, word in _LIMBS:
            lay = pattern.sub(word, lay)
        if lay != wording:
            out.append(lay)
    return out


@lru_cache(maxsize=1)
def _cm() -> Any:
    import simple_icd_10_cm as cm

    return cm


@dataclass(frozen=True)
class IcdEntry:
    """One ICD-10-CM code with its verbatim title and tabular notes.

    Example:
        >>> IcdCatalogue().lookup("E11.9").billable
        True
    """

    code: str
    title: str
    billable: bool
    parent: str | None
    category: str
    chapter: str
    block: str
    includes: tuple[str, ...] = ()
    inclusion_terms: tuple[str, ...] = ()
    excludes1: tuple[str, ...] = ()
    excludes2: tuple[str, ...] = ()
    code_first: tuple[str, ...] = ()
    use_additional: tuple[str, ...] = ()
    code_also: tuple[str, ...] = ()

    def entry_text(self) -> str:
        """The entry as it appears in catalogue documents (title line, then notes)."""
        lines = [f"{self.code} {self.title}"]
        for label, items in (
            ("Includes", self.includes),
            ("Inclusion terms", self.inclusion_terms),
            ("Excludes1", self.excludes1),
            ("Excludes2", self.excludes2),
            ("Code first", self.code_first),
            ("Use additional code", self.use_additional),
            ("Code also", self.code_also),
        ):
            if items:
                lines.append(f"{label}: " + "; ".join(items))
        return "\n".join(lines)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def parse_code_range(spec: str) -> tuple[str, str] | None:
    """Parse ``"I00-I99"`` (or ``"E11"``) into inclusive bounds; ``""`` means everything.

    Example:
        >>> parse_code_range("i00-i99")
        ('I00', 'I99')
    """
    spec = spec.strip().upper()
    if not spec:
        return None
    lo, _, hi = spec.partition("-")
    hi = hi or lo
    for part in (lo, hi):
        if not _CODE_RE.match(part):
            raise CatalogueError(f"bad ICD-10-CM range {spec!r}: expected e.g. I00-I99")
    if lo > hi:
        raise CatalogueError(f"bad ICD-10-CM range {spec!r}: start is after end")
    return lo, hi


class IcdCatalogue:
    """Look up, validate and enumerate ICD-10-CM codes.

    Example:
        >>> cat = IcdCatalogue()
        >>> cat.normalize("e119")
        'E11.9'
        >>> cat.is_valid("Z99.999")
        False
    """

    def normalize(self, code: str) -> str:
        """Upper-case a code and put its dot in place (``e119`` -> ``E11.9``)."""
        raw = code.strip().upper().replace(" ", "")
        if not _CODE_RE.match(raw):
            raise CatalogueError(f"malformed ICD-10-CM code {code!r}")
        bare = raw.replace(".", "")
        return bare if len(bare) <= 3 else f"{bare[:3]}.{bare[3:]}"

    def is_valid(self, code: str) -> bool:
        """True when ``code`` is a category or subcategory of ICD-10-CM."""
        try:
            norm = self.normalize(code)
        except CatalogueError:
            return False
        return _snapshot().has(norm)

    def validate(self, code: str) -> str:
        """Return the normalised code or raise :class:`CatalogueError` saying why it is rejected."""
        norm = self.normalize(code)
        if not self.is_valid(norm):
            raise CatalogueError(f"unknown ICD-10-CM code {code!r}: not in the 2026 tabular list")
        return norm

    def lookup(self, code: str) -> IcdEntry:
        """Return the catalogue entry for ``code`` (validated)."""
        return self._entry(self.validate(code))

    def title(self, code: str) -> str:
        """The verbatim catalogue title of ``code``."""
        return self.lookup(code).title

    def ancestors(self, code: str) -> list[str]:
        """Parent codes up to the chapter, nearest first, e.g. ``E11.9`` -> ``E11, E08-E13, 4``."""
        return _snapshot().ancestors(self.validate(code))

    def category(self, code: str) -> str:
        """The three-character category of ``code``."""
        return self.validate(code)[:3]

    @lru_cache(maxsize=200_000)  # noqa: B019 - one catalogue per process; entries never change
    def _entry(self, code: str) -> IcdEntry:
        entry = _snapshot().entry(code)
        if entry is None:
            raise CatalogueError(f"unknown ICD-10-CM code {code!r}: not in the 2026 tabular list")
        return entry

    def codes(self, code_range: str = "", *, billable_only: bool = False) -> Iterator[IcdEntry]:
        """Iterate the entries (categories and subcategories) inside ``code_range``."""
        bounds = parse_code_range(code_range)
        for code in _snapshot().codes(*(bounds or ("", ""))):
            entry = self._entry(code)
            if billable_only and not entry.billable:
                continue
            yield entry


def _build_entry(cm: Any, code: str) -> tuple[IcdEntry, list[str]]:
    """The entry of ``code`` and its ancestors, read from ``simple_icd_10_cm``."""
    ancestors = [str(a) for a in cm.get_ancestors(code)]
    chapter = next((a for a in ancestors if cm.is_chapter(a)), "")
    block = next((a for a in ancestors if cm.is_block(a)), "")
    parent = cm.get_parent(code) or None
    entry = IcdEntry(
        code=code,
        title=str(cm.get_description(code)),
        billable=bool(cm.is_leaf(code)),
        parent=parent if parent and cm.is_category_or_subcategory(parent) else None,
        category=code[:3],
        chapter=chapter,
        block=block,
        includes=_as_tuple(cm.get_includes(code)),
        inclusion_terms=_as_tuple(cm.get_inclusion_term(code)),
        excludes1=_as_tuple(cm.get_excludes1(code)),
        excludes2=_as_tuple(cm.get_excludes2(code)),
        code_first=_as_tuple(cm.get_code_first(code)),
        use_additional=_as_tuple(cm.get_use_additional_code(code)),
        code_also=_as_tuple(cm.get_code_also(code)),
    )
    return entry, ancestors


_ENTRY_FIELDS = [f.name for f in fields(IcdEntry)]


class _Snapshot:
    """Every category and subcategory of the tabular list in one SQLite table, in list order."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    @staticmethod
    def fill(conn: sqlite3.Connection) -> None:
        """Write every entry from ``simple_icd_10_cm`` into ``conn``."""
        cm = _cm()
        conn.execute("CREATE TABLE entries (pos INTEGER PRIMARY KEY, code TEXT UNIQUE, entry TEXT, anc TEXT)")
        rows = []
        # A block named by its one category (B10) is listed beside that category: keep one.
        listed = dict.fromkeys(c for c in cm.get_all_codes(True) if cm.is_category_or_subcategory(c))
        for pos, code in enumerate(listed):
            entry, ancestors = _build_entry(cm, code)
            rows.append((pos, code, json.dumps(astuple(entry)), json.dumps(ancestors)))
        conn.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", rows)
        conn.execute("CREATE TABLE meta (format INTEGER, complete INTEGER)")
        conn.execute("INSERT INTO meta VALUES (?, 1)", (_SNAPSHOT_FORMAT,))
        conn.commit()

    def _row(self, code: str) -> tuple[str, str] | None:
        with self._lock:
            row = self._conn.execute("SELECT entry, anc FROM entries WHERE code = ?", (code,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def has(self, code: str) -> bool:
        return self._row(code) is not None

    def entry(self, code: str) -> IcdEntry | None:
        row = self._row(code)
        if row is None:
            return None
        values = json.loads(row[0])
        data = dict(zip(_ENTRY_FIELDS, values, strict=True))
        for name, value in data.items():
            if isinstance(value, list):
                data[name] = tuple(value)
        return IcdEntry(**data)

    def ancestors(self, code: str) -> list[str]:
        row = self._row(code)
        return list(json.loads(row[1])) if row else []

    def codes(self, first: str = "", last: str = "") -> list[str]:
        """Codes in list order; with bounds, those from ``first`` to ``last`` and everything below them."""
        with self._lock:
            if not first:
                return [str(r[0]) for r in self._conn.execute("SELECT code FROM entries ORDER BY pos")]
            # a code is in range when its first len(bound) characters are: "I10" through "I15.9" and below
            query = "SELECT code FROM entries WHERE code >= ? AND code <= ? ORDER BY pos"
            rows = self._conn.execute(query, (first, last + "\uffff"))
            return [str(r[0]) for r in rows]


def _snapshot_valid(path: Path) -> sqlite3.Connection | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        row = conn.execute("SELECT format, complete FROM meta").fetchone()
    except sqlite3.Error:
        return None
    if row != (_SNAPSHOT_FORMAT, 1):
        conn.close()
        return None
    return conn


@lru_cache(maxsize=1)
def catalogue_release() -> str:
    """The version of the installed ``simple-icd-10-cm`` package (what derived caches are keyed by)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("simple-icd-10-cm")
    except PackageNotFoundError as exc:  # pragma: no cover - a declared dependency
        raise CatalogueError("the simple-icd-10-cm package is not installed") from exc


@lru_cache(maxsize=1)
def _snapshot() -> _Snapshot:
    """The catalogue snapshot for the installed ``simple-icd-10-cm``, built when missing."""
    from garmle.config import cache_dir

    path = cache_dir() / f"icd10cm-{catalogue_release()}-{_SNAPSHOT_FORMAT}.sqlite"
    conn = _snapshot_valid(path)
    if conn is not None:
        return _Snapshot(conn)
    log.info("building the ICD-10-CM catalogue snapshot %s", path)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)
        with sqlite3.connect(tmp) as build:
            _Snapshot.fill(build)
        build.close()
        os.replace(tmp, path)
        conn = _snapshot_valid(path)
    except (OSError, sqlite3.Error) as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        log.debug("cannot write the catalogue snapshot %s: %s", path, exc)
        conn = None
    if conn is None:  # an unwritable cache: the snapshot lives in memory for this process
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        _Snapshot.fill(conn)
    return _Snapshot(conn)


def catalogue_documents(code_range: str = "", catalogue: IcdCatalogue | None = None) -> list[Document]:
    """Turn the tabular list (or a range of it) into one document per category.

    Each document's canonical text holds the category and every code below it,
    each entry a paragraph, so chunks cite the catalogue verbatim.

    Example:
        >>> docs = catalogue_documents("I10")
        >>> docs[0].text.splitlines()[0]
        'I10 Essential (primary) hypertension'
    """
    cat = catalogue or IcdCatalogue()
    by_category: dict[str, list[IcdEntry]] = {}
    for entry in cat.codes(code_range):
        by_category.setdefault(entry.category, []).append(entry)
    return [_category_document(entries) for entries in by_category.values()]


def _category_document(entries: Iterable[IcdEntry]) -> Document:
    items = list(entries)
    head = items[0]
    parts: list[str] = []
    sections: list[Section] = []
    offset = 0
    for entry in items:
        text = entry.entry_text()
        if parts:
            offset += 2  # the blank line between entries
        sections.append(
            Section(
                path=(f"{head.code} {head.title}", entry.code), char_start=offset, char_end=offset + len(text)
            )
        )
        parts.append(text)
        offset += len(text)
    body = "\n\n".join(parts)
    top = Section(path=(f"{head.code} {head.title}",), char_start=0, char_end=len(body))
    digest = hashlib.sha256(f"{CATALOGUE_SOURCE}\n{body}".encode()).hexdigest()[:16]
    return Document(
        doc_id=digest,
        title=f"{CATALOGUE_TITLE}: {head.code} {head.title}",
        text=body,
        source=CATALOGUE_SOURCE,
        source_path=f"icd10cm:{head.code}",
        publisher=CATALOGUE_PUBLISHER,
        year=2026,
        licence="Public domain (U.S. government work)",
        url="https://www.cdc.gov/nchs/icd/icd-10-cm/",
        fmt="icd10cm",
        sections=(top, *sections),
        metadata={
            "category": head.code,
            "chapter": head.chapter,
            "block": head.block,
            "codes": " ".join(e.code for e in items),
        },
    )

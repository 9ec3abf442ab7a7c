"""The ICD-10-CM 2026 tabular list, read from the ``simple-icd-10-cm`` package.

The catalogue validates predicted codes, gives their verbatim titles and
notes, and turns the tabular list into documents so catalogue text can be
indexed and cited like any guideline.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from garmle.errors import CatalogueError
from garmle.types import Document, Section

__all__ = ["IcdCatalogue", "IcdEntry", "catalogue_documents", "parse_code_range"]

# Letter, digit, letter-or-digit, then an optional dot and up to four more characters.
_CODE_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$")
CATALOGUE_SOURCE = "icd10cm"
CATALOGUE_TITLE = "ICD-10-CM 2026 Tabular List"
CATALOGUE_PUBLISHER = "CDC National Center for Health Statistics"


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
        cm = _cm()
        return bool(cm.is_valid_item(norm)) and bool(cm.is_category_or_subcategory(norm))

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
        return list(_cm().get_ancestors(self.validate(code)))

    def category(self, code: str) -> str:
        """The three-character category of ``code``."""
        return self.validate(code)[:3]

    @lru_cache(maxsize=200_000)  # noqa: B019 - one catalogue per process; entries never change
    def _entry(self, code: str) -> IcdEntry:
        cm = _cm()
        ancestors = list(cm.get_ancestors(code))
        chapter = next((a for a in ancestors if cm.is_chapter(a)), "")
        block = next((a for a in ancestors if cm.is_block(a)), "")
        parent = cm.get_parent(code) or None
        return IcdEntry(
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

    def codes(self, code_range: str = "", *, billable_only: bool = False) -> Iterator[IcdEntry]:
        """Iterate the entries (categories and subcategories) inside ``code_range``."""
        bounds = parse_code_range(code_range)
        cm = _cm()
        for code in cm.get_all_codes(True):
            if not cm.is_category_or_subcategory(code):
                continue
            if bounds is not None and not (
                code[: len(bounds[0])] >= bounds[0] and code[: len(bounds[1])] <= bounds[1]
            ):
                continue
            entry = self._entry(code)
            if billable_only and not entry.billable:
                continue
            yield entry


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

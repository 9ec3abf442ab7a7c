"""SNOMED CT -> ICD-10-CM crosswalk for common chronic conditions.

The table lives in ``garmle/data/snomed_icd10_crosswalk.csv`` with the columns
``snomed, snomed_display, icd10, icd10_title, note``. It covers every condition
that occurs in the Synthea sample patients plus the common chronic conditions
a guideline recommender meets (hypertension, diabetes, CKD stages, heart
disease, lung disease, ...). Each ICD-10-CM code is a valid, billable
ICD-10-CM code and ``icd10_title`` is its official title; ``note`` says where
the mapping is a choice (e.g. an acute injury coded as the initial encounter).

Unmapped SNOMED codes are not an error: the loaders keep such problems with
their display text and ``icd10=None``.

Example:
    >>> map_snomed("38341003")
    ('I10', 'Essential (primary) hypertension')
    >>> map_snomed("0") is None
    True
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from garmle.catalogue.icd10cm import IcdCatalogue
from garmle.errors import CatalogueError
from garmle.types import Problem

__all__ = [
    "ICD10CM_SYSTEM",
    "ICD10_SYSTEMS",
    "PREGNANCY_SNOMED",
    "RXNORM_SYSTEM",
    "SNOMED_SYSTEM",
    "CrosswalkEntry",
    "crosswalk",
    "is_pregnancy_problem",
    "make_problem",
    "map_snomed",
]

SNOMED_SYSTEM = "http://snomed.info/sct"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10_SYSTEMS = frozenset(
    {ICD10CM_SYSTEM, "http://hl7.org/fhir/sid/icd-10", "urn:oid:2.16.840.1.113883.6.90"}
)

_CSV_NAME = "snomed_icd10_crosswalk.csv"

PREGNANCY_SNOMED = frozenset({"77386006", "72892002", "47200007", "11687002", "398254007", "237240001"})
"""Condition codes that mean the patient is pregnant while the condition is active."""


@dataclass(frozen=True)
class CrosswalkEntry:
    """One row of the crosswalk table."""

    snomed: str
    snomed_display: str
    icd10: str
    icd10_title: str
    note: str = ""


@functools.lru_cache(maxsize=1)
def crosswalk() -> Mapping[str, CrosswalkEntry]:
    """Return the crosswalk table keyed by SNOMED CT concept id (read once, on first use)."""
    text = resources.files("garmle").joinpath("data", _CSV_NAME).read_text(encoding="utf-8")
    table: dict[str, CrosswalkEntry] = {}
    for row in csv.DictReader(io.StringIO(text)):
        entry = CrosswalkEntry(
            snomed=row["snomed"].strip(),
            snomed_display=row["snomed_display"].strip(),
            icd10=row["icd10"].strip(),
            icd10_title=row["icd10_title"].strip(),
            note=(row.get("note") or "").strip(),
        )
        table[entry.snomed] = entry
    return table


def map_snomed(code: str) -> tuple[str, str] | None:
    """Map a SNOMED CT concept id to ``(icd10_code, icd10_title)``, or None when unmapped."""
    entry = crosswalk().get(str(code).strip())
    return (entry.icd10, entry.icd10_title) if entry else None


def make_problem(
    display: str,
    *,
    icd10: str | None = None,
    snomed: str | None = None,
    onset: dt.date | None = None,
    warnings: list[str],
    where: str = "",
) -> Problem:
    """Build a problem from its display text and any ICD-10-CM or SNOMED CT code it carries.

    A given ICD-10-CM code wins (after format normalisation); otherwise a SNOMED
    CT code is mapped through the crosswalk. A malformed ICD-10-CM code is
    dropped with a warning; an unmapped SNOMED code leaves ``icd10=None``.

    Example:
        >>> make_problem("High blood pressure", snomed="38341003", warnings=[]).icd10
        'I10'
    """
    code_icd = None
    if icd10:
        try:
            code_icd = IcdCatalogue().normalize(icd10)
        except CatalogueError as exc:
            warnings.append(f"{where + ': ' if where else ''}{exc}; code dropped")
    if code_icd is not None:
        return Problem(display=display, code=code_icd, system=ICD10CM_SYSTEM, icd10=code_icd, onset=onset)
    if snomed:
        mapped = map_snomed(snomed)
        return Problem(
            display=display,
            code=str(snomed).strip(),
            system=SNOMED_SYSTEM,
            icd10=mapped[0] if mapped else None,
            onset=onset,
        )
    return Problem(display=display, onset=onset)


# O09-O48: supervision and complications of an ongoing pregnancy; Z33.1, Z34, Z3A: pregnant state,
# supervision, weeks of gestation. Abortive outcomes (O00-O08), delivery and the puerperium are left
# out: they end a pregnancy.
_PREGNANT_ICD10 = re.compile(r"^(O(09|[1-3][0-9]|4[0-8])|Z33\.1|Z34|Z3A)")


def is_pregnancy_problem(problem: Problem) -> bool:
    """Whether an active ``problem`` means the patient is pregnant now.

    Example:
        >>> is_pregnancy_problem(Problem("Pre-eclampsia", icd10="O14.90"))
        True
        >>> is_pregnancy_problem(Problem("Miscarriage", icd10="O03.9"))
        False
    """
    if problem.system == SNOMED_SYSTEM and problem.code in PREGNANCY_SNOMED:
        return True
    return bool(problem.icd10 and _PREGNANT_ICD10.match(problem.icd10))

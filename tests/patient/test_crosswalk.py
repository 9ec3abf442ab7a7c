"""The SNOMED CT -> ICD-10-CM crosswalk table."""

from __future__ import annotations

import csv
import re
from importlib import resources

import pytest

from garmle.catalogue.icd10cm import IcdCatalogue
from garmle.patient import map_snomed
from garmle.patient.crosswalk import PREGNANCY_SNOMED, crosswalk, is_pregnancy_problem, make_problem
from garmle.types import Problem


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    text = (
        resources.files("garmle").joinpath("data", "snomed_icd10_crosswalk.csv").read_text(encoding="utf-8")
    )
    return list(csv.DictReader(text.splitlines()))


def test_table_is_well_formed(rows: list[dict[str, str]]) -> None:
    assert len(rows) >= 80
    assert list(rows[0]) == ["snomed", "snomed_display", "icd10", "icd10_title", "note"]
    ids = [r["snomed"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate SNOMED concept"
    for row in rows:
        assert re.fullmatch(r"\d{6,18}", row["snomed"]), row
        assert row["snomed_display"].strip() and row["icd10_title"].strip(), row
    assert len(crosswalk()) == len(rows)


@pytest.mark.slow
def test_every_code_is_a_billable_icd10cm_code_with_its_official_title(rows: list[dict[str, str]]) -> None:
    catalogue = IcdCatalogue()
    for row in rows:
        entry = catalogue.lookup(row["icd10"])
        assert entry.code == row["icd10"], row
        assert entry.billable, row
        assert entry.title == row["icd10_title"], row


def test_pregnancy_codes_are_in_the_table() -> None:
    assert set(crosswalk()) >= PREGNANCY_SNOMED
    for code in PREGNANCY_SNOMED:
        problem = make_problem("x", snomed=code, warnings=[])
        assert is_pregnancy_problem(problem)
        assert is_pregnancy_problem(Problem("x", icd10=problem.icd10))


@pytest.mark.parametrize(
    ("icd10", "pregnant"),
    [
        ("O13.3", True),
        ("O09.299", True),
        ("Z3A.28", True),
        ("Z34.00", True),
        ("Z33.1", True),
        ("O03.9", False),
        ("O80", False),
        ("Z33.2", False),
        ("I10", False),
    ],
)
def test_pregnancy_by_icd10(icd10: str, pregnant: bool) -> None:
    assert is_pregnancy_problem(Problem("x", icd10=icd10)) is pregnant


def test_map_snomed() -> None:
    assert map_snomed("38341003") == ("I10", "Essential (primary) hypertension")
    assert map_snomed(" 44054006 ") == ("E11.9", "Type 2 diabetes mellitus without complications")
    assert map_snomed("123") is None

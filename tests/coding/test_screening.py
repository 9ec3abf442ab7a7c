"""Screening the record qualifies for: lung cancer screening by the USPSTF 2021 criteria."""

from __future__ import annotations

import datetime as dt

from garmle.catalogue import IcdCatalogue
from garmle.coding.screening import LUNG_SCREENING_CODE, ScreeningCoder, lung_screening_evidence, pack_years
from garmle.types import CodePrediction, Patient

TODAY = dt.date(2026, 12, 3)


class _Fixed:
    name = "fixed"

    def __init__(self, *codes: str) -> None:
        self.codes = codes

    def predict(self, patient: Patient) -> list[CodePrediction]:
        return [CodePrediction(code, code, 0.9) for code in self.codes]


def _qualifies(age: int, note: str, *codes: str) -> bool:
    return bool(lung_screening_evidence(Patient("p", age=age, notes=(note,)), list(codes), TODAY))


def test_lung_cancer_screening_criteria() -> None:
    assert _qualifies(63, "Smokes 20/day since age 18 (45 pack-years).", "F17.210")
    assert _qualifies(58, "Ex-smoker (quit 2015, 20 pack-years).", "Z87.891")
    assert _qualifies(70, "Former smoker, 35 pack years, stopped 10 years ago.", "Z87.891")
    assert not _qualifies(58, "Ex-smoker (quit 2005, 40 pack-years).", "Z87.891")  # quit over 15 years ago
    assert not _qualifies(58, "Ex-smoker, 40 pack-years.", "Z87.891")  # when they quit is not stated
    assert not _qualifies(45, "Smokes, 30 pack-years.", "F17.210")  # too young
    assert not _qualifies(82, "Smokes, 30 pack-years.", "F17.210")  # too old
    assert not _qualifies(63, "Smokes, 15 pack-years.", "F17.210")  # too little
    assert not _qualifies(63, "Smokes a pack a day.", "F17.210")  # pack-years not stated
    assert not _qualifies(63, "45 pack-years.", "I10")  # no smoking code
    assert not _qualifies(63, "45 pack-years, lung adenocarcinoma.", "F17.210", "C34.11")


def test_a_wish_or_a_try_to_quit_dates_no_stop() -> None:
    # the same rule as the note coder's: "quit attempts", "wants to quit", "quit date" are no stop
    assert not _qualifies(60, "Former smoker, 30 pack-years, quit attempts 2019.", "Z87.891")
    assert not _qualifies(60, "Ex-smoker, 30 pack-years; wanted to quit 2020, did so later.", "Z87.891")
    assert not _qualifies(60, "Former smoker, 30 pack-years, set a quit date 2021.", "Z87.891")
    assert _qualifies(60, "Former smoker, 30 pack-years, quit attempts 2005 and 2009, quit 2016.", "Z87.891")
    assert not _qualifies(60, "Former smoker, 30 pack-years, quit attempts 2019, quit 1999.", "Z87.891")


def test_the_screening_code_is_added_with_the_criteria_and_the_facts_as_evidence() -> None:
    note = "Annual review. Smokes 20 cigarettes a day since age 18 (45 pack-years)."
    patient = Patient("p", age=63, notes=(note,))
    predictions = ScreeningCoder(_Fixed("F17.210", "I10")).predict(patient)
    assert [p.code for p in predictions] == ["F17.210", "I10", LUNG_SCREENING_CODE]
    added = predictions[-1]
    assert added.source == "screening"
    rule, span = added.evidence
    assert "USPSTF 2021" in rule.text and "45 pack-years" in rule.text
    assert note[span.char_start : span.char_end] == "45 pack-years"
    found = pack_years([note])
    assert found is not None and found[0] == 45.0
    # a record that already codes the screening keeps its own prediction only
    assert [p.code for p in ScreeningCoder(_Fixed("F17.210", "Z12.2")).predict(patient)] == [
        "F17.210",
        "Z12.2",
    ]


def test_the_default_predictor_adds_lung_screening_and_the_recommender_searches_it() -> None:
    from garmle.coding.combined import default_predictor
    from garmle.recommender import _guideline_codes

    note = "Annual review in primary care. Smokes 20 cigarettes a day (45 pack-years). Hypertension."
    predictions = default_predictor(None, IcdCatalogue()).predict(
        Patient("p", age=63, sex="male", notes=(note,))
    )
    codes = [p.code for p in predictions]
    assert LUNG_SCREENING_CODE in codes and any(c.startswith("F17.2") for c in codes)
    kept, _ = _guideline_codes(predictions)
    assert LUNG_SCREENING_CODE in [p.code for p in kept]  # searched beside the diagnoses

"""Prediction validation, externally given codes and the combined predictor."""

from __future__ import annotations

import math

import pytest

from garmle.catalogue import IcdCatalogue
from garmle.coding import (
    CombinedPredictor,
    default_predictor,
    predictions_from_codes,
    validate_predictions,
)
from garmle.errors import CatalogueError, ConfigError, PredictionError
from garmle.types import BloodPressure, CodePrediction, Evidence, Medication, Patient


def test_validate_rejects_garbage_and_merges_duplicates(catalogue: IcdCatalogue) -> None:
    e1, e2 = Evidence("note", "HTN", 0, 0, 3), Evidence("medication", "amlodipine")
    preds = [
        CodePrediction("i10", "made-up title", 0.4, "a", evidence=(e1,)),
        CodePrediction("I10", "another title", 0.8, "b", evidence=(e2,)),
        CodePrediction("E11", "diabetes", 0.5),
        CodePrediction("hello", "x", 0.9),
        CodePrediction("Z99.999", "x", 0.9),
        CodePrediction("J45.909", "x", math.nan),
    ]
    kept, rejected = validate_predictions(preds, catalogue)
    assert [p.code for p in kept] == ["I10", "E11"]
    top = kept[0]
    assert top.score == 0.8 and top.title == "Essential (primary) hypertension"
    assert top.source == "b+a" and set(top.evidence) == {e1, e2}
    assert kept[1].billable is False and kept[1].title == "Type 2 diabetes mellitus"
    reasons = dict(rejected)
    assert reasons["hello"] == "malformed ICD-10-CM code"
    assert "not in the ICD-10-CM 2026" in reasons["Z99.999"]
    assert "finite" in reasons["J45.909"]


@pytest.mark.parametrize(
    "given",
    ["I10,e119", "I10; E11.9", '["I10", "E11.9"]', ["I10", "E11.9"], '[{"code": "I10"}, {"code": "E11.9"}]'],
)
def test_predictions_from_codes_accepts_lists_and_json(catalogue: IcdCatalogue, given: object) -> None:
    preds = predictions_from_codes(given, catalogue)  # type: ignore[arg-type]
    assert {p.code for p in preds} == {"I10", "E11.9"}
    assert all(p.source == "external" and p.score == 1.0 and p.evidence[0].kind == "external" for p in preds)


def test_predictions_from_codes_keeps_given_scores(catalogue: IcdCatalogue) -> None:
    preds = predictions_from_codes(
        '[{"code": "E11.9", "score": 0.3}, {"code": "I10", "score": 0.7}]', catalogue
    )
    assert [(p.code, p.score) for p in preds] == [("I10", 0.7), ("E11.9", 0.3)]


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ("I10,Z99.999", CatalogueError, "unknown ICD-10-CM code 'Z99.999'"),
        ("I10,banana", CatalogueError, "malformed ICD-10-CM code 'banana'"),
        ("[1, 2", PredictionError, "not valid JSON"),
        ('[{"code": "I10", "score": 7}]', PredictionError, "from 0 to 1"),
        ("[42]", PredictionError, "cannot read code entry"),
        (" , ", PredictionError, "no ICD-10-CM codes"),
    ],
)
def test_bad_external_codes_raise_one_clear_line(
    catalogue: IcdCatalogue, given: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        predictions_from_codes(given, catalogue)
    assert "\n" not in str(info.value)


class _Fixed:
    def __init__(self, name: str, preds: list[CodePrediction]) -> None:
        self.name = name
        self._preds = preds

    def predict(self, patient: Patient) -> list[CodePrediction]:
        return list(self._preds)


def test_combined_merges_by_code(catalogue: IcdCatalogue) -> None:
    ev_a, ev_b = Evidence("note", "HTN", 0, 0, 3), Evidence("medication", "amlodipine")
    a = _Fixed(
        "notes",
        [
            CodePrediction("I10", "t", 0.6, "notes", evidence=(ev_a,)),
            CodePrediction("K21.9", "t", 0.5, "notes"),
        ],
    )
    b = _Fixed("ehr", [CodePrediction("I10", "t", 0.5, "ehr", evidence=(ev_b,))])
    noisy = CombinedPredictor([a, b]).predict(Patient("p"))
    assert [p.code for p in noisy] == ["I10", "K21.9"]
    assert noisy[0].score == pytest.approx(0.8) and noisy[0].source == "notes+ehr"
    assert noisy[0].evidence == (ev_a, ev_b)
    best = CombinedPredictor([a, b], [1.0, 0.5], mode="max").predict(Patient("p"))
    assert best[0].score == pytest.approx(0.6)
    mean = CombinedPredictor([a, b], mode="weighted_sum").predict(Patient("p"))
    assert mean[0].score == pytest.approx(0.55) and mean[1].score == pytest.approx(0.25)


def test_combined_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError):
        CombinedPredictor([])
    with pytest.raises(ConfigError, match="weights"):
        CombinedPredictor([_Fixed("a", [])], [0.5, 0.5])
    with pytest.raises(ConfigError, match="mode"):
        CombinedPredictor([_Fixed("a", [])], mode="vote")


def test_default_predictor_codes_from_record_alone_and_honours_recorded_problems(
    catalogue: IcdCatalogue,
) -> None:
    from garmle.types import Problem

    patient = Patient(
        "p",
        blood_pressures=(BloodPressure(152, 96), BloodPressure(148, 94)),
        medications=(Medication("Metformin 500 MG Oral Tablet"),),
        problems=(Problem("Gout", icd10="M10.9"),),
        notes=("Denies chest pain. Known GERD.",),
    )
    with_problems = {p.code: p for p in default_predictor(None, catalogue).predict(patient)}
    assert {"I10", "E11.9", "K21.9", "M10.9"} <= set(with_problems)
    assert not any(c.startswith("R07") for c in with_problems)
    assert with_problems["I10"].source == "ehr"
    without = {
        p.code for p in default_predictor(None, catalogue, use_recorded_problems=False).predict(patient)
    }
    assert "M10.9" not in without and "I10" in without

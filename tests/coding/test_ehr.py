"""Structured-record rules: each fires on its facts alone, with those facts as evidence."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from garmle.catalogue import IcdCatalogue
from garmle.coding import EhrCoder, load_rules
from garmle.errors import ConfigError
from garmle.types import BloodPressure, Medication, Observation, Patient, Problem

D = dt.date


def _predict(catalogue: IcdCatalogue, **fields: object) -> dict[str, list[str]]:
    coder = EhrCoder(catalogue, use_recorded_problems=False)
    preds = coder.predict(Patient("p", age=60, **fields))  # type: ignore[arg-type]
    return {p.code: [e.text for e in p.evidence] for p in preds}


def test_blood_pressure_mean_fires_hypertension_with_the_readings(catalogue: IcdCatalogue) -> None:
    out = _predict(catalogue, blood_pressures=(BloodPressure(150, 88, D(2024, 1, 2)), BloodPressure(142, 84)))
    assert "mean blood pressure 146/86 mmHg over 2 readings" in out["I10"]
    assert "blood pressure 150/88 mmHg on 2024-01-02" in out["I10"]
    assert "I10" not in _predict(catalogue, blood_pressures=(BloodPressure(150, 95),))  # one reading
    assert "I10" not in _predict(catalogue, blood_pressures=(BloodPressure(128, 80), BloodPressure(135, 85)))


@pytest.mark.parametrize(
    ("value", "code", "absent"),
    [(7.1, "E11.9", "R73.03"), (9.8, "E11.65", "E11.9"), (6.0, "R73.03", "E11.9"), (5.2, None, "R73.03")],
)
def test_hba1c_bands(catalogue: IcdCatalogue, value: float, code: str | None, absent: str) -> None:
    out = _predict(catalogue, labs=(Observation("hba1c", value, "%", display="HbA1c"),))
    if code:
        assert out[code] == [f"HbA1c {value:g} %"]
    assert absent not in out


def test_egfr_needs_two_low_readings_90_days_apart_and_stages_by_the_latest(catalogue: IcdCatalogue) -> None:
    labs = (Observation("egfr", 52, date=D(2024, 1, 1)), Observation("egfr", 38, date=D(2024, 5, 1)))
    out = _predict(catalogue, labs=labs)
    assert "N18.32" in out and len(out["N18.32"]) == 2
    close = (Observation("egfr", 52, date=D(2024, 1, 1)), Observation("egfr", 38, date=D(2024, 2, 1)))
    assert not any(c.startswith("N18") for c in _predict(catalogue, labs=close))


def test_bmi_gives_obesity_and_the_z68_band_for_adults_only(catalogue: IcdCatalogue) -> None:
    out = _predict(catalogue, vitals=(Observation("bmi", 42.3),))
    assert {"E66.813", "Z68.41"} <= set(out) and "E66.9" not in out
    # the class the BMI gives (ICD-10-CM since 2025): 30-34.9 class 1, 35-39.9 class 2
    assert {"E66.811", "Z68.33"} <= set(_predict(catalogue, vitals=(Observation("bmi", 33.0),)))
    assert "E66.812" in _predict(catalogue, vitals=(Observation("bmi", 36.2),))
    # a child: no adult class or band, but a BMI of 32 or more is above the 95th centile at every age
    child = EhrCoder(catalogue).predict(Patient("c", age=10, vitals=(Observation("bmi", 42.3),)))
    assert [p.code for p in child] == ["E66.9"]
    assert EhrCoder(catalogue).predict(Patient("c", age=10, vitals=(Observation("bmi", 25.0),))) == []


def test_a_t_score_of_minus_2_5_or_lower_gives_osteoporosis(catalogue: IcdCatalogue) -> None:
    dxa = Observation("t_score", -2.5, "{T-score}", display="Bone density T-score")
    out = _predict(catalogue, labs=(dxa,))
    assert out["M81.0"] == ["Bone density T-score -2.5 {T-score}"]
    assert "M81.0" not in _predict(catalogue, labs=(Observation("t_score", -1.9, "{T-score}"),))


def test_a_glucose_below_54_is_a_hypoglycaemia_at_any_reading(catalogue: IcdCatalogue) -> None:
    low, treated = Observation("glucose", 52.2, "mg/dL"), Observation("glucose", 122.5, "mg/dL")
    assert "E16.2" in _predict(catalogue, labs=(low, treated))
    assert "E16.2" not in _predict(catalogue, labs=(Observation("glucose", 61.0, "mg/dL"),))


def test_a_psa_of_4_or_more_is_a_raised_psa(catalogue: IcdCatalogue) -> None:
    psa = Observation("psa", 9.2, "ng/mL", display="Prostate specific antigen")
    assert _predict(catalogue, labs=(psa,))["R97.20"] == ["Prostate specific antigen 9.2 ng/mL"]
    assert "R97.20" not in _predict(catalogue, labs=(Observation("psa", 2.1, "ng/mL"),))


def test_medication_rules(catalogue: IcdCatalogue) -> None:
    meds = (
        Medication("Hydrochlorothiazide 25 MG"),
        Medication("Apixaban 5 MG Oral Tablet"),
        Medication("Metoprolol tartrate 25 MG"),
        Medication("Levothyroxine 50 MCG"),
        Medication("Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray"),
        Medication("Metformin 500 MG", status="stopped"),
    )
    out = _predict(catalogue, medications=meds)
    assert out["I10"] == ["Hydrochlorothiazide 25 MG"]
    assert out["I48.91"] == ["Apixaban 5 MG Oral Tablet", "Metoprolol tartrate 25 MG"]
    assert "E03.9" in out and "I25.10" in out
    assert "E11.9" not in out  # stopped medication
    assert "I48.91" not in _predict(catalogue, medications=(Medication("Apixaban 5 MG"),))


def test_independent_facts_raise_the_score(catalogue: IcdCatalogue) -> None:
    coder = EhrCoder(catalogue)
    bp = (BloodPressure(150, 95), BloodPressure(148, 92))
    one = coder.predict(Patient("p", blood_pressures=bp))[0]
    both = coder.predict(Patient("p", blood_pressures=bp, medications=(Medication("amlodipine 5 mg"),)))[0]
    assert both.score > one.score and len(both.evidence) > len(one.evidence)


def test_recorded_problems_pass_through_unless_turned_off(catalogue: IcdCatalogue) -> None:
    problems = (
        Problem("Hypertension", "38341003", icd10="I10"),
        Problem("Old fracture", icd10="S72.001A", status="resolved"),
        Problem("Chronic sinusitis", icd10="J32.9"),
    )
    on = EhrCoder(catalogue).predict(Patient("p", problems=problems))
    assert {p.code for p in on} == {"I10", "J32.9"}
    assert on[0].evidence[0].kind == "problem"
    assert EhrCoder(catalogue, use_recorded_problems=False).predict(Patient("p", problems=problems)) == []


def test_bundled_rules_are_valid_and_versioned(catalogue: IcdCatalogue) -> None:
    rules = load_rules(catalogue=catalogue)
    assert len(rules) > 20 and len({r.rule_id for r in rules}) == len(rules)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "cannot read"),
        ('{"version": 99, "rules": []}', "version"),
        (
            '{"version": 1, "rules": [{"id": "x", "code": "Q99.99.9", "score": 0.5, "kind": "lab", '
            '"name": "a"}]}',
            "x",
        ),
        ('{"version": 1, "rules": [{"id": "y", "code": "I10", "score": 0.5, "kind": "vibes"}]}', "kind"),
        (
            '{"version": 1, "rules": [{"id": "z", "code": "I10", "score": 5, "kind": "medication", '
            '"any": ["a"]}]}',
            "score",
        ),
    ],
)
def test_malformed_rules_files_are_rejected(
    tmp_path: Path, catalogue: IcdCatalogue, content: str, message: str
) -> None:
    path = tmp_path / "rules.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_rules(path, catalogue)


def test_custom_rules_file_is_used(tmp_path: Path, catalogue: IcdCatalogue) -> None:
    rule = {"id": "k", "code": "E87.5", "score": 0.7, "kind": "lab", "name": "potassium", "min": 5.5}
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"version": 1, "rules": [rule]}), encoding="utf-8")
    coder = EhrCoder(catalogue, load_rules(path, catalogue))
    preds = coder.predict(Patient("p", labs=(Observation("potassium", 6.1, "mmol/L"),)))
    assert [p.code for p in preds] == ["E87.5"]


def test_gestational_age_gives_weeks_of_gestation_only_in_pregnancy(catalogue: IcdCatalogue) -> None:
    coder = EhrCoder(catalogue, use_recorded_problems=False)
    weeks = (Observation("gestational_age", 24.0, "wk"),)
    assert [p.code for p in coder.predict(Patient("p", vitals=weeks, pregnant=True))] == ["Z3A.24"]
    assert coder.predict(Patient("p", vitals=weeks, pregnant=None)) == []
    early = (Observation("gestational_age", 6.0, "wk"),)
    assert [p.code for p in coder.predict(Patient("p", vitals=early, pregnant=True))] == ["Z3A.01"]


def test_an_acute_episode_long_before_the_record_is_its_history(catalogue: IcdCatalogue) -> None:
    old_mi = Problem("Myocardial Infarction", icd10="I21.9", onset=D(2015, 3, 1))
    coder = EhrCoder(catalogue)
    reading = (BloodPressure(128, 80, D(2024, 1, 2)),)
    codes = [p.code for p in coder.predict(Patient("p", age=60, problems=(old_mi,), blood_pressures=reading))]
    assert codes == ["I25.2"]
    recent = Problem("Myocardial Infarction", icd10="I21.9", onset=D(2023, 12, 20))
    codes = [p.code for p in coder.predict(Patient("p", age=60, problems=(recent,), blood_pressures=reading))]
    assert codes == ["I21.9"]

"""The documented JSON patient form."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from garmle.errors import PatientError
from garmle.patient import load_json_form, load_patient
from garmle.patient.jsonform import FORM_KEYS


def test_full_form_is_read() -> None:
    p = load_json_form(
        {
            "id": "demo-1",
            "age": 64,
            "sex": "M",
            "pregnant": False,
            "blood_pressure": [{"systolic": 152, "diastolic": 94, "date": "2024-03-01"}, "148/92 mmHg"],
            "labs": {
                "hba1c": 8.1,
                "eGFR": {"value": 48, "unit": "mL/min/1.73m2", "date": "2024-02-20"},
                "LDL-C": [
                    {"value": 4.1, "unit": "mmol/L", "date": "2023-01-01"},
                    {"value": 150, "date": "2024-01-01"},
                ],
                "troponin": {"value": 12, "unit": "ng/L"},
            },
            "vitals": {"bmi": 31.2, "weight": {"value": 198, "unit": "lb"}},
            "problems": [
                "Hypertension",
                {"display": "Type 2 diabetes", "icd10": "e119", "onset": "2015-05-01"},
                {"snomed": "433144002"},
                {"icd10": "N18.31"},
            ],
            "medications": ["Metformin 1000 mg", {"display": "Atorvastatin 20 mg", "rxnorm": "617310"}],
            "allergies": ["Penicillin"],
            "notes": "Seen for review.",
        }
    )
    assert (p.patient_id, p.age, p.sex, p.pregnant) == ("demo-1", 64, "male", False)
    # an undated reading counts as older than every dated one
    assert [(r.systolic, r.diastolic) for r in p.blood_pressures] == [(148, 92), (152, 94)]
    assert p.lab("hba1c").value == 8.1  # type: ignore[union-attr]
    assert p.lab("egfr").date == dt.date(2024, 2, 20)  # type: ignore[union-attr]
    assert [round(o.value) for o in p.labs if o.name == "ldl"] == [159, 150]
    assert p.lab("troponin").unit == "ng/L"  # type: ignore[union-attr]
    assert p.lab("weight").value == pytest.approx(89.81, abs=0.01)  # type: ignore[union-attr]
    assert {o.name for o in p.vitals} == {"bmi", "weight"}
    assert [(x.display, x.icd10) for x in p.problems] == [
        ("Hypertension", None),
        ("Type 2 diabetes", "E11.9"),
        ("Chronic kidney disease, stage 3 unspecified", "N18.30"),
        ("N18.31", "N18.31"),
    ]
    assert p.problems[1].onset == dt.date(2015, 5, 1)
    assert [(m.display, m.code) for m in p.medications] == [
        ("Metformin 1000 mg", ""),
        ("Atorvastatin 20 mg", "617310"),
    ]
    assert p.allergies == ("Penicillin",)
    assert p.notes == ("Seen for review.",)
    assert p.warnings == ()


def test_birth_date_gives_age_at_the_latest_reading() -> None:
    p = load_json_form(
        {
            "birth_date": "1950-06-15",
            "blood_pressure": [{"systolic": 140, "diastolic": 80, "date": "2020-06-14"}],
        }
    )
    assert p.age == 69 and p.birth_date == dt.date(1950, 6, 15)


def test_pregnancy_follows_an_active_pregnancy_problem() -> None:
    assert load_json_form(
        {"sex": "female", "problems": [{"display": "Pre-eclampsia", "icd10": "O14.90"}]}
    ).pregnant
    assert load_json_form({"sex": "female", "problems": ["Pregnant"], "pregnant": False}).pregnant is False


def test_postpartum_is_stated_or_read_from_the_problems_and_notes() -> None:
    assert load_json_form({"sex": "female", "postpartum": True}).postpartum is True
    assert load_json_form({"sex": "female", "notes": ["Seen 10 days postpartum."]}).postpartum is True
    assert load_json_form({"sex": "female", "problems": ["Postpartum haemorrhage"]}).postpartum is True
    assert (
        load_json_form({"sex": "female", "problems": ["History of postnatal depression"]}).postpartum is None
    )
    assert load_json_form({"sex": "female", "pregnant": True, "notes": ["postnatal plan"]}).postpartum is None
    with pytest.raises(PatientError, match="'postpartum' must be true or false"):
        load_json_form({"postpartum": "yes"})


def test_impossible_values_unknown_units_and_unknown_keys_become_warnings() -> None:
    p = load_json_form(
        {
            "age": 64,
            "blood_pressure": ["400/20", {"systolic": 130, "diastolic": 80}],
            "labs": {"hba1c": -1.0, "potassium": {"value": 4.2, "unit": "stone"}, "egfr": 55},
            "height_cm": 170,
            "problems": [{"display": "Odd", "icd10": "not-a-code"}],
            "sex": "robot",
        }
    )
    assert [(r.systolic, r.diastolic) for r in p.blood_pressures] == [(130, 80)]
    assert p.lab("hba1c") is None and p.lab("potassium") is None and p.lab("egfr") is not None
    assert p.sex is None
    assert p.problems[0].icd10 is None
    text = " | ".join(p.warnings)
    for fragment in (
        "systolic 400",
        "hba1c -1",
        "'stone'",
        "unknown field 'height_cm'",
        "malformed ICD-10-CM",
        "'robot'",
    ):
        assert fragment in text


def test_impossible_age_is_warned() -> None:
    p = load_json_form({"age": 250})
    assert p.age is None and any("age 250" in w for w in p.warnings)


def test_missing_id_gets_a_stable_content_id() -> None:
    a = load_json_form({"age": 50})
    assert a.patient_id.startswith("form-")
    assert a.patient_id == load_json_form({"age": 50}).patient_id
    assert a.patient_id != load_json_form({"age": 51}).patient_id


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"age": "sixty"}, "'age' must be a number, not text"),
        ({"age": True}, "'age' must be a number"),
        ({"id": ["x"]}, "'id' must be text"),
        ({"sex": 1}, "'sex' must be text"),
        ({"pregnant": "yes"}, "'pregnant' must be true or false"),
        ({"birth_date": "last spring"}, "'birth_date' must be an ISO date"),
        ({"blood_pressure": "high"}, "must look like '140/90'"),
        ({"blood_pressure": [{"systolic": 140}]}, "needs 'systolic' and 'diastolic'"),
        ({"blood_pressure": [{"systolic": "140", "diastolic": 90}]}, "value must be a number"),
        ({"blood_pressure": [140]}, "must be '140/90' or an object"),
        ({"blood_pressure": [{"systolic": 140, "diastolic": 90, "date": "soon"}]}, "ISO date"),
        ({"labs": [7.2]}, "'labs' must be an object"),
        ({"labs": {"hba1c": "high"}}, "labs.hba1c value must be a number"),
        ({"labs": {"hba1c": {"unit": "%"}}}, "needs a 'value'"),
        ({"labs": {"hba1c": {"value": 7, "unit": 5}}}, "'unit' must be text"),
        ({"problems": "Hypertension, diabetes", "medications": {"a": 1}}, "'medications' must be a list"),
        ({"problems": [42]}, "a problem must be text or an object"),
        ({"problems": [{"onset": "2020-01-01"}]}, "needs 'display', 'icd10' or 'snomed'"),
        ({"problems": [{"display": ["x"]}]}, "problem 'display' must be text"),
        ({"medications": [{"code": "1"}]}, "a medication must be text or an object with a 'display'"),
        ({"allergies": [1]}, "every item of 'allergies' must be text"),
        ({"notes": [None]}, "every item of 'notes' must be text"),
    ],
)
def test_wrong_types_raise_one_clear_line(form: dict[str, Any], message: str) -> None:
    with pytest.raises(PatientError, match=message) as info:
        load_patient(form)
    assert "\n" not in str(info.value)


DOC = Path(__file__).resolve().parents[2] / "docs" / "patient-input.md"


def test_documented_example_loads_cleanly_and_every_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", text, re.DOTALL)
    assert example is not None
    p = load_patient(json.loads(example.group(1)))
    assert p.warnings == ()
    assert p.age == 64 and p.latest_bp is not None and p.problems
    for key in FORM_KEYS:
        assert f"`{key}`" in text, f"form key {key!r} is not documented"

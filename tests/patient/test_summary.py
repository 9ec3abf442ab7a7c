"""patient_summary: the view the CLI and dashboard show."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from garmle.patient import load_patient, patient_summary
from garmle.types import BloodPressure, Medication, Observation, Patient, Problem


def readings(*systolic: float) -> tuple[BloodPressure, ...]:
    return tuple(BloodPressure(s, 80, dt.date(2020, 1, i + 1)) for i, s in enumerate(systolic))


@pytest.mark.parametrize(
    ("values", "trend", "change"),
    [
        ((130, 134, 142, 150), "rising", 14.0),
        ((160, 150, 140, 138), "falling", -16.0),
        ((140, 142, 139, 141), "stable", -1.0),
        ((150,), None, None),
        # only the latest six readings count: the old 200s do not make it falling
        ((200, 200, 200, 140, 141, 139, 140, 142, 140), "stable", 0.7),
    ],
)
def test_blood_pressure_trend(values: tuple[float, ...], trend: str | None, change: float | None) -> None:
    summary = patient_summary(Patient("p", blood_pressures=readings(*values)))["blood_pressure"]
    assert summary["trend"] == trend
    assert summary["systolic_change"] == change
    assert summary["latest"]["systolic"] == round(values[-1])
    assert summary["count"] == len(values)
    assert len(summary["readings"]) == min(6, len(values))


def test_summary_fields_are_json_ready() -> None:
    p = Patient(
        "p1",
        age=64,
        sex="male",
        pregnant=None,
        blood_pressures=readings(150.4),
        labs=(
            Observation("ldl", 160, "mg/dL", date=dt.date(2020, 1, 1)),
            Observation("hba1c", 7.2, "%", date=dt.date(2019, 1, 1)),
            Observation("hba1c", 8.1234, "%", date=dt.date(2020, 1, 1)),
            Observation("troponin", 12, "ng/L"),
        ),
        vitals=(Observation("heart_rate", 80, "/min"), Observation("bmi", 31, "kg/m2")),
        problems=(Problem("Hypertension", code="38341003", system="http://snomed.info/sct", icd10="I10"),),
        medications=(Medication("Lisinopril 10 mg", code="314076"),),
        allergies=("Penicillin",),
        notes=("a", "b"),
        warnings=("something ignored",),
    )
    s = patient_summary(p)
    json.dumps(s)
    assert (s["age"], s["sex"], s["pregnant"], s["note_count"]) == (64, "male", None, 2)
    assert s["blood_pressure"]["latest"]["text"] == "150/80 mmHg"
    assert [(x["name"], x["value"], x["date"]) for x in s["labs"]] == [
        ("hba1c", 8.12, "2020-01-01"),
        ("ldl", 160, "2020-01-01"),
        ("troponin", 12, None),
    ]
    assert s["labs"][0]["display"] == "HbA1c" and s["labs"][2]["display"] == "troponin"
    assert [x["name"] for x in s["vitals"]] == ["bmi", "heart_rate"]
    assert s["problems"] == [
        {
            "display": "Hypertension",
            "icd10": "I10",
            "code": "38341003",
            "system": "http://snomed.info/sct",
            "onset": None,
        }
    ]
    assert s["medications"] == [{"display": "Lisinopril 10 mg", "code": "314076", "system": ""}]
    assert s["allergies"] == ["Penicillin"] and s["warnings"] == ["something ignored"]


def test_patient_without_readings() -> None:
    s = patient_summary(load_patient("Patient with cough."))
    assert s["blood_pressure"] is None and s["labs"] == [] and s["age"] is None

"""A display-ready summary of a patient for the CLI and the dashboard.

Example:
    >>> from garmle.types import BloodPressure, Patient
    >>> p = Patient("p1", age=64, sex="male",
    ...             blood_pressures=(BloodPressure(138, 85), BloodPressure(146, 90), BloodPressure(152, 94)))
    >>> s = patient_summary(p)
    >>> s["blood_pressure"]["latest"]["text"], s["blood_pressure"]["trend"]
    ('152/94 mmHg', 'rising')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from statistics import fmean
from typing import Any

from garmle.patient.measurements import MEASURES
from garmle.types import BloodPressure, Observation, Patient

__all__ = ["KEY_LABS", "KEY_VITALS", "TREND_MMHG", "TREND_READINGS", "patient_summary"]

KEY_LABS = (
    "hba1c",
    "egfr",
    "creatinine",
    "uacr",
    "potassium",
    "sodium",
    "glucose",
    "ldl",
    "hdl",
    "total_cholesterol",
    "triglycerides",
    "hemoglobin",
)
"""Labs listed first in the summary, in this order; other labs follow."""

KEY_VITALS = ("bmi", "weight", "height", "heart_rate")
"""Vital signs listed first in the summary, in this order."""

TREND_READINGS = 6
"""Latest readings the blood pressure trend looks at."""

TREND_MMHG = 5.0
"""Systolic change (mean of the later half minus the earlier half of recent readings) that makes a trend."""


def patient_summary(patient: Patient) -> dict[str, Any]:
    """Summarise a patient as plain JSON-ready values.

    Args:
        patient: the patient.

    Returns:
        ``patient_id``, ``age``, ``sex``, ``pregnant``, ``postpartum``, ``ethnicity``, ``blood_pressure``
        (latest reading, recent readings and trend; None without readings),
        ``labs`` and ``vitals`` (latest value of each, with unit and date),
        ``problems`` (with ICD-10-CM), ``medications``, ``allergies``,
        ``note_count`` and ``warnings``.
    """
    return {
        "patient_id": patient.patient_id,
        "age": patient.age,
        "sex": patient.sex,
        "pregnant": patient.pregnant,
        "postpartum": patient.postpartum,
        "ethnicity": patient.ethnicity,
        "blood_pressure": _blood_pressure(patient.blood_pressures),
        "labs": _latest(patient.labs, KEY_LABS),
        "vitals": _latest(patient.vitals, KEY_VITALS),
        "problems": [
            {
                "display": p.display,
                "icd10": p.icd10,
                "code": p.code,
                "system": p.system,
                "onset": _iso(p.onset),
            }
            for p in patient.problems
        ],
        "medications": [
            {"display": m.display, "code": m.code, "system": m.system} for m in patient.medications
        ],
        "allergies": list(patient.allergies),
        "note_count": len(patient.notes),
        "warnings": list(patient.warnings),
    }


def _iso(date: dt.date | None) -> str | None:
    return date.isoformat() if date else None


def _reading(reading: BloodPressure) -> dict[str, Any]:
    return {
        "systolic": round(reading.systolic),
        "diastolic": round(reading.diastolic),
        "date": _iso(reading.date),
        "text": f"{reading.systolic:.0f}/{reading.diastolic:.0f} mmHg",
    }


def _blood_pressure(readings: Sequence[BloodPressure]) -> dict[str, Any] | None:
    if not readings:
        return None
    recent = list(readings[-TREND_READINGS:])
    trend = None
    change = None
    if len(recent) >= 2:
        half = len(recent) // 2
        change = round(fmean(r.systolic for r in recent[half:]) - fmean(r.systolic for r in recent[:half]), 1)
        trend = "rising" if change >= TREND_MMHG else "falling" if change <= -TREND_MMHG else "stable"
    return {
        "latest": _reading(recent[-1]),
        "readings": [_reading(r) for r in recent],
        "trend": trend,
        "systolic_change": change,
        "count": len(readings),
    }


def _latest(observations: Sequence[Observation], order: Sequence[str]) -> list[dict[str, Any]]:
    # Loaders keep each name's values oldest first, so the last one seen is the latest.
    latest = {obs.name: obs for obs in observations}
    names = [n for n in order if n in latest] + [n for n in latest if n not in order]
    return [
        {
            "name": name,
            "display": latest[name].display or (MEASURES[name].display if name in MEASURES else name),
            "value": round(latest[name].value, 2),
            "unit": latest[name].unit,
            "date": _iso(latest[name].date),
        }
        for name in names
    ]

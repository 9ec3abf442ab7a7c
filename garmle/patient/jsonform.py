"""The simple JSON patient form -> :class:`~garmle.types.Patient`.

The form is documented in ``docs/patient-input.md``. Every key is optional::

    {"id": "demo-1", "age": 64, "sex": "male", "pregnant": false,
     "blood_pressure": [{"systolic": 152, "diastolic": 94, "date": "2024-03-01"}, "148/92"],
     "labs": {"hba1c": 8.1, "egfr": {"value": 48, "unit": "mL/min/1.73m2", "date": "2024-02-20"}},
     "vitals": {"bmi": 31.2},
     "problems": ["Hypertension", {"display": "Type 2 diabetes", "icd10": "E11.9"}],
     "medications": ["Metformin 1000 mg twice daily"],
     "allergies": ["Penicillin"],
     "notes": ["Seen for review."]}

A value of the wrong type (text where a number belongs, a list where text
belongs) raises :class:`~garmle.errors.PatientError`; an impossible value, an
unknown unit or an unknown top-level key is listed in ``patient.warnings``.

Example:
    >>> p = load_json_form({"age": 64, "sex": "M", "blood_pressure": "150/95", "labs": {"a1c": 8.1}})
    >>> p.sex, p.latest_bp.systolic, p.lab("hba1c").value
    ('male', 150.0, 8.1)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from garmle.errors import PatientError
from garmle.patient.crosswalk import RXNORM_SYSTEM, is_pregnancy_problem, make_problem, map_snomed
from garmle.patient.ethnicity import ethnicity_in_notes, normalise_ethnicity
from garmle.patient.measurements import (
    age_problem,
    canonical_measure,
    make_blood_pressure,
    make_observation,
    normalise_sex,
    parse_date,
    record_age,
    sort_blood_pressures,
    split_observations,
)
from garmle.patient.note import states_postpartum
from garmle.types import BloodPressure, Medication, Observation, Patient, Problem

__all__ = ["FORM_KEYS", "load_json_form", "looks_like_form"]

logger = logging.getLogger(__name__)

FORM_KEYS = (
    "id",
    "age",
    "birth_date",
    "sex",
    "pregnant",
    "postpartum",
    "ethnicity",
    "blood_pressure",
    "labs",
    "vitals",
    "problems",
    "medications",
    "allergies",
    "notes",
)
"""Top-level keys of the JSON patient form."""

_BP_TEXT = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)\s*/\s*(\d{1,3}(?:\.\d+)?)\s*(?:mm\s*hg)?\s*$", re.IGNORECASE)


def looks_like_form(data: Mapping[str, Any]) -> bool:
    """Whether a JSON object uses at least one key of the patient form."""
    return any(key in data for key in FORM_KEYS)


def load_json_form(data: Mapping[str, Any]) -> Patient:
    """Read the JSON patient form.

    Args:
        data: the parsed JSON object.

    Returns:
        The patient; readings and labs sorted oldest first.

    Raises:
        PatientError: a field has the wrong type or a malformed value.
    """
    warnings: list[str] = [f"unknown field {key!r} ignored" for key in data if key not in FORM_KEYS]
    patient_id = data.get("id")
    if patient_id is None:
        digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
        patient_id = f"form-{digest[:10]}"
    elif isinstance(patient_id, bool) or not isinstance(patient_id, str | int):
        raise PatientError(f"patient form: 'id' must be text, not {_kind(patient_id)}")

    readings = _blood_pressures(data.get("blood_pressure"), warnings)
    observations = [
        *_measures("labs", data.get("labs"), warnings),
        *_measures("vitals", data.get("vitals"), warnings),
    ]
    problems = tuple(_problem(item, warnings) for item in _items("problems", data.get("problems")))
    medications = tuple(_medication(item) for item in _items("medications", data.get("medications")))
    allergies = tuple(_text("allergies", item) for item in _items("allergies", data.get("allergies")))
    notes = tuple(_text("notes", item) for item in _items("notes", data.get("notes")))

    birth = _birth_date(data.get("birth_date"))
    age = _age(
        data.get("age"), birth, [*(r.date for r in readings), *(o.date for o in observations)], warnings
    )
    sex = data.get("sex")
    if sex is not None and not isinstance(sex, str):
        raise PatientError(f"patient form: 'sex' must be text, not {_kind(sex)}")
    sex_value = normalise_sex(sex) if sex else None
    if sex and sex_value is None and sex.strip().lower() != "unknown":
        warnings.append(f"sex {sex!r} not recognised; ignored")
    pregnant = data.get("pregnant")
    if pregnant is not None and not isinstance(pregnant, bool):
        raise PatientError(f"patient form: 'pregnant' must be true or false, not {_kind(pregnant)}")
    if pregnant is None and any(is_pregnancy_problem(p) for p in problems):
        pregnant = True
    postpartum = data.get("postpartum")
    if postpartum is not None and not isinstance(postpartum, bool):
        raise PatientError(f"patient form: 'postpartum' must be true or false, not {_kind(postpartum)}")
    if postpartum is None and not pregnant:
        stated = [p.display for p in problems if p.active] + list(notes)
        postpartum = True if any(states_postpartum(text) for text in stated) else None

    ethnicity = data.get("ethnicity")
    if ethnicity is not None and not isinstance(ethnicity, str):
        raise PatientError(f"patient form: 'ethnicity' must be text, not {_kind(ethnicity)}")
    ethnicity_value = normalise_ethnicity(ethnicity) if ethnicity else None
    if ethnicity and ethnicity_value is None:
        warnings.append("ethnicity not recognised; ignored")
    if ethnicity is None:
        ethnicity_value = ethnicity_in_notes(notes)

    vitals, labs = split_observations(observations)
    patient = Patient(
        patient_id=str(patient_id),
        age=age,
        sex=sex_value,
        birth_date=birth,
        blood_pressures=sort_blood_pressures(readings),
        vitals=vitals,
        labs=labs,
        problems=problems,
        medications=medications,
        allergies=allergies,
        notes=notes,
        pregnant=pregnant,
        warnings=tuple(dict.fromkeys(warnings)),
        postpartum=postpartum,
        ethnicity=ethnicity_value,
    )
    logger.debug(
        "patient form read: %d readings, %d labs, %d vitals, %d problems, %d warnings",
        len(patient.blood_pressures),
        len(patient.labs),
        len(patient.vitals),
        len(patient.problems),
        len(patient.warnings),
    )
    return patient


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(value), "a number")


def _items(key: str, value: object) -> list[Any]:
    """A list field; a single string counts as a list of one."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise PatientError(f"patient form: {key!r} must be a list, not {_kind(value)}")
    return value


def _text(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise PatientError(f"patient form: every item of {key!r} must be text, not {_kind(value)}")
    return value.strip()


def _date(key: str, value: object) -> dt.date | None:
    if value is None:
        return None
    date = parse_date(value)
    if date is None:
        raise PatientError(f"patient form: {key} must be an ISO date (YYYY-MM-DD), got {_kind(value)}")
    return date


def _birth_date(value: object) -> dt.date | None:
    return _date("'birth_date'", value)


def _age(
    value: object, birth: dt.date | None, dates: list[dt.date | None], warnings: list[str]
) -> int | None:
    if value is None:
        return record_age(birth, dates) if birth is not None else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PatientError(f"patient form: 'age' must be a number, not {_kind(value)}")
    problem = age_problem(value)
    if problem:
        warnings.append(f"{problem}; age ignored")
        return None
    return int(value)


def _blood_pressures(value: object, warnings: list[str]) -> list[BloodPressure]:
    readings: list[BloodPressure] = []
    for item in _items("blood_pressure", [value] if isinstance(value, Mapping) else value):
        if isinstance(item, str):
            match = _BP_TEXT.match(item)
            if not match:
                raise PatientError("patient form: blood pressure text must look like '140/90'")
            systolic, diastolic, date = float(match.group(1)), float(match.group(2)), None
        elif isinstance(item, Mapping):
            if "systolic" not in item or "diastolic" not in item:
                raise PatientError("patient form: a blood pressure object needs 'systolic' and 'diastolic'")
            systolic, diastolic = (
                _number("blood pressure", item["systolic"]),
                _number("blood pressure", item["diastolic"]),
            )
            date = _date("a blood pressure 'date'", item.get("date"))
        else:
            raise PatientError(
                f"patient form: a blood pressure must be '140/90' or an object, not {_kind(item)}"
            )
        reading = make_blood_pressure(
            systolic, diastolic, date=date, warnings=warnings, where="blood pressure"
        )
        if reading is not None:
            readings.append(reading)
    return readings


def _number(label: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PatientError(f"patient form: {label} value must be a number, not {_kind(value)}")
    return float(value)


def _measures(section: str, value: object, warnings: list[str]) -> list[Observation]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise PatientError(f"patient form: {section!r} must be an object of name: value, not {_kind(value)}")
    observations: list[Observation] = []
    for raw_name, entry in value.items():
        name = canonical_measure(raw_name) or re.sub(r"\s+", "_", raw_name.strip().lower())
        for item in entry if isinstance(entry, list) else [entry]:
            if isinstance(item, Mapping):
                if "value" not in item:
                    raise PatientError(f"patient form: {section}.{raw_name} object needs a 'value'")
                unit = item.get("unit")
                if unit is not None and not isinstance(unit, str):
                    raise PatientError(f"patient form: {section}.{raw_name} 'unit' must be text")
                number, date = item["value"], _date(f"{section}.{raw_name} 'date'", item.get("date"))
            else:
                number, unit, date = item, None, None
            _number(f"{section}.{raw_name}", number)
            obs = make_observation(
                name, number, unit, date=date, warnings=warnings, where=f"{section}.{raw_name}"
            )
            if obs is not None:
                observations.append(obs)
    return observations


def _problem(item: object, warnings: list[str]) -> Problem:
    if isinstance(item, str):
        return Problem(display=item.strip())
    if not isinstance(item, Mapping):
        raise PatientError(f"patient form: a problem must be text or an object, not {_kind(item)}")
    fields = {key: item.get(key) for key in ("display", "icd10", "snomed", "onset")}
    for key in ("display", "icd10", "snomed"):
        if fields[key] is not None and not isinstance(fields[key], str | int):
            raise PatientError(f"patient form: problem {key!r} must be text, not {_kind(fields[key])}")
    icd10 = str(fields["icd10"]) if fields["icd10"] is not None else None
    snomed = str(fields["snomed"]) if fields["snomed"] is not None else None
    mapped = map_snomed(snomed) if snomed else None
    display = str(fields["display"] or "").strip() or (mapped[1] if mapped else icd10 or "")
    if not display:
        raise PatientError("patient form: a problem object needs 'display', 'icd10' or 'snomed'")
    onset = _date("a problem 'onset'", fields["onset"])
    return make_problem(display, icd10=icd10, snomed=snomed, onset=onset, warnings=warnings, where="problem")


def _medication(item: object) -> Medication:
    if isinstance(item, str):
        return Medication(display=item.strip())
    if not isinstance(item, Mapping) or not isinstance(item.get("display"), str):
        raise PatientError("patient form: a medication must be text or an object with a 'display'")
    code = item.get("rxnorm", item.get("code", ""))
    system = RXNORM_SYSTEM if "rxnorm" in item else item.get("system", "")
    if not isinstance(code, str | int) or not isinstance(system, str):
        raise PatientError("patient form: medication 'code' and 'system' must be text")
    return Medication(display=item["display"].strip(), code=str(code), system=system)

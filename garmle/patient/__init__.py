"""Patient input: FHIR R4, the JSON patient form or a plain-text note -> :class:`~garmle.types.Patient`.

:func:`load_patient` picks the reader by content, never by file name. Readers
keep the latest values of each measure, active problems (SNOMED CT mapped to
ICD-10-CM through :func:`map_snomed`) and active medications, and list every
value they flag and ignore in ``patient.warnings``. No patient value is ever
logged.

Example:
    >>> from garmle.patient import load_patient, patient_summary
    >>> patient = load_patient("64-year-old man. BP 152/96 mmHg. HbA1c 8.1%.")
    >>> patient_summary(patient)["blood_pressure"]["latest"]["text"]
    '152/96 mmHg'
"""

from __future__ import annotations

from garmle.patient.crosswalk import map_snomed
from garmle.patient.fhir import load_fhir
from garmle.patient.jsonform import load_json_form
from garmle.patient.loader import load_patient
from garmle.patient.note import parse_note
from garmle.patient.samples import sample_patients
from garmle.patient.summary import patient_summary

__all__ = [
    "load_fhir",
    "load_json_form",
    "load_patient",
    "map_snomed",
    "parse_note",
    "patient_summary",
    "sample_patients",
]

"""Loading a patient: a packaged sample, an uploaded record, or a typed note with a few vitals.

Whatever the way in, the patient goes through :meth:`garmle.Recommender.load_patient` and
stays in session state only; uploaded bytes are read in memory, never saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from garmle.errors import GarmleError, PatientError
from garmle.types import Patient

__all__ = ["form_record", "render_patient_input"]

PATIENT_FILE_TYPES = ["json", "txt", "text", "md"]


def render_patient_input(load: Any) -> tuple[Patient, str] | None:
    """Show the three ways to load a patient; return ``(patient, label)`` when one was just loaded.

    Args:
        load: the function that reads a patient (``Recommender.load_patient``).
    """
    from garmle.patient import sample_patients

    sample_tab, upload_tab, form_tab = st.tabs(["Sample patients", "Upload a record", "Type a note"])
    loaded: tuple[Patient, str] | None = None
    with sample_tab:
        samples = sample_patients()
        if not samples:
            st.info("No sample patients are packaged with this installation.")
        else:
            name = st.selectbox(
                "Sample patient",
                list(samples),
                format_func=lambda n: n.replace("-", " ").capitalize(),
                help="Invented patients shipped with garmle; no real person.",
            )
            if st.button("Load sample", key="load_sample", type="primary") and name:
                loaded = _read(load, samples[name], f"sample: {name}")
    with upload_tab:
        uploaded = st.file_uploader(
            "FHIR R4 bundle or resource, patient JSON, or a clinical note (.txt)",
            type=PATIENT_FILE_TYPES,
            key=f"patient_upload_{st.session_state.get('upload_generation', 0)}",
            help="Read in memory for this session only; nothing is saved on the server.",
        )
        if uploaded is not None and st.session_state.get("patient_upload_seen") != uploaded.file_id:
            st.session_state["patient_upload_seen"] = uploaded.file_id
            loaded = _read(load, uploaded.getvalue(), f"file: {uploaded.name}")
    with form_tab, st.form("patient_form"):
        note = st.text_area(
            "Clinical note",
            height=140,
            placeholder="e.g. 64-year-old man with poorly controlled hypertension and type 2 diabetes…",
        )
        cols = st.columns(4)
        age = cols[0].number_input("Age (years)", min_value=0, max_value=120, value=None, step=1)
        sex = cols[1].selectbox("Sex", ["not stated", "female", "male"])
        systolic = cols[2].number_input("Systolic BP (mmHg)", 50, 300, value=None, step=1)
        diastolic = cols[3].number_input("Diastolic BP (mmHg)", 20, 200, value=None, step=1)
        cols = st.columns(4)
        hba1c = cols[0].number_input("HbA1c (%)", 3.0, 20.0, value=None, step=0.1)
        egfr = cols[1].number_input("eGFR (mL/min/1.73m²)", 1.0, 200.0, value=None, step=1.0)
        ldl = cols[2].number_input("LDL cholesterol (mg/dL)", 10.0, 500.0, value=None, step=1.0)
        bmi = cols[3].number_input("BMI (kg/m²)", 10.0, 80.0, value=None, step=0.1)
        if st.form_submit_button("Analyse this patient", type="primary"):
            try:
                record = form_record(
                    note=note, age=age, sex=sex, systolic=systolic, diastolic=diastolic,
                    hba1c=hba1c, egfr=egfr, ldl=ldl, bmi=bmi,
                )  # fmt: skip
            except PatientError as exc:
                st.error(str(exc))
            else:
                loaded = _read(load, record, "typed note")
    return loaded


def form_record(
    *,
    note: str = "",
    age: float | None = None,
    sex: str = "not stated",
    systolic: float | None = None,
    diastolic: float | None = None,
    hba1c: float | None = None,
    egfr: float | None = None,
    ldl: float | None = None,
    bmi: float | None = None,
) -> dict[str, Any]:
    """The JSON patient form for what was typed into the dashboard's form.

    Raises:
        PatientError: nothing was entered, or only one half of a blood pressure.

    Example:
        >>> form_record(note="Hypertension.", systolic=150, diastolic=95)
        {'id': 'typed-note', 'notes': ['Hypertension.'], 'blood_pressure': ['150/95']}
    """
    record: dict[str, Any] = {"id": "typed-note"}
    if note.strip():
        record["notes"] = [note.strip()]
    if age is not None:
        record["age"] = int(age)
    if sex in ("female", "male"):
        record["sex"] = sex
    if (systolic is None) != (diastolic is None):
        raise PatientError("enter both the systolic and the diastolic blood pressure, or neither")
    if systolic is not None and diastolic is not None:
        record["blood_pressure"] = [f"{systolic:g}/{diastolic:g}"]
    labs = {k: v for k, v in (("hba1c", hba1c), ("egfr", egfr), ("ldl", ldl)) if v is not None}
    if labs:
        record["labs"] = labs
    if bmi is not None:
        record["vitals"] = {"bmi": bmi}
    if len(record) == 1:
        raise PatientError("enter a clinical note or at least one value before analysing")
    return record


def _read(load: Any, source: bytes | Mapping[str, Any] | Any, label: str) -> tuple[Patient, str] | None:
    try:
        with st.spinner("Reading the patient record…"):
            return load(source), label
    except GarmleError as exc:
        st.error(f"This record could not be read: {exc}")
        return None

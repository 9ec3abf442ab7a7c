"""The patient summary as extracted by garmle, so extraction errors are visible at a glance."""

from __future__ import annotations

from typing import Any

import streamlit as st

from garmle.types import CodePrediction, Patient
from ui.markup import escape_markdown, highlight_spans

__all__ = ["note_evidence_spans", "render_notes", "render_summary"]

_TREND_WORDS = {"rising": "rising", "falling": "falling", "stable": "stable"}


def render_summary(patient: Patient) -> None:
    """Demographics, latest blood pressure with its trend, key labs, problems and medications."""
    from garmle.patient import patient_summary

    summary = patient_summary(patient)
    bp = summary["blood_pressure"]
    cols = st.columns(4)
    cols[0].metric("Age", f"{summary['age']} y" if summary["age"] is not None else "unknown")
    sex = (summary["sex"] or "not stated").capitalize()
    if summary["pregnant"]:
        sex += " · pregnant"
    elif summary.get("postpartum"):
        sex += " · postpartum"
    cols[1].metric("Sex", sex)
    if bp:
        change = bp["systolic_change"]
        cols[2].metric(
            "Latest blood pressure",
            bp["latest"]["text"],
            delta=(f"{change:+.0f} mmHg systolic, {_TREND_WORDS.get(bp['trend'], '')}" if change is not None
                   else None),
            delta_color="inverse",
            help=f"{bp['count']} readings; trend over the latest {len(bp['readings'])}"
            + (f"; latest on {bp['latest']['date']}" if bp["latest"]["date"] else ""),
        )  # fmt: skip
    else:
        cols[2].metric("Latest blood pressure", "none recorded")
    cols[3].metric("Clinical notes", summary["note_count"])

    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Measurements (latest value of each)**")
        rows = [_measure_row(m) for m in (*summary["labs"], *summary["vitals"])]
        if rows:
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.caption("No labs or vital signs found in this record.")
        if bp and len(bp["readings"]) > 1:
            st.caption("Recent blood pressure: " + " → ".join(r["text"].removesuffix(" mmHg")
                                                              for r in bp["readings"]) + " mmHg")  # fmt: skip
    with right:
        st.markdown("**Active problems**")
        if summary["problems"]:
            st.markdown("\n".join(_problem_line(p) for p in summary["problems"]))
        else:
            st.caption("No coded problems in this record.")
        st.markdown("**Active medications**")
        if summary["medications"]:
            st.markdown("\n".join(f"- {escape_markdown(m['display'])}" for m in summary["medications"]))
        else:
            st.caption("No active medications in this record.")
        if summary["allergies"]:
            st.markdown("**Allergies:** " + escape_markdown(", ".join(summary["allergies"])))
    if summary["warnings"]:
        with st.expander(f"{len(summary['warnings'])} values were flagged and left out"):
            for warning in summary["warnings"]:
                st.markdown(f"- {escape_markdown(warning)}")


def note_evidence_spans(
    predictions: list[CodePrediction], note_index: int, note: str
) -> list[tuple[int, int, str]]:
    """Spans of ``note`` that some prediction cites as evidence, labelled with the code."""
    spans = []
    for pred in predictions:
        for ev in pred.evidence:
            if ev.kind != "note" or ev.note_index != note_index:
                continue
            if ev.char_start is None or ev.char_end is None:
                continue
            if 0 <= ev.char_start < ev.char_end <= len(note):
                spans.append((ev.char_start, ev.char_end, f"{pred.code} {pred.title}"))
    return spans


def render_notes(patient: Patient, predictions: list[CodePrediction]) -> None:
    """Each note with the passages that support a predicted code highlighted."""
    for index, note in enumerate(patient.notes):
        spans = note_evidence_spans(predictions, index, note)
        heading = f"Note {index + 1}" if len(patient.notes) > 1 else "Clinical note"
        hint = f" · {len(spans)} evidence passages highlighted" if spans else ""
        st.markdown(f"**{heading}**{hint}")
        st.html(f'<div class="garmle-note">{highlight_spans(note, spans, css_class="garmle-evidence")}</div>')


def _measure_row(measure: dict[str, Any]) -> dict[str, Any]:
    return {
        "Measure": measure["display"],
        "Value": f"{measure['value']:g} {measure['unit']}".strip(),
        "Date": measure["date"] or "",
    }


def _problem_line(problem: dict[str, Any]) -> str:
    code = f" — `{problem['icd10']}`" if problem["icd10"] else " — no ICD-10-CM mapping"
    onset = f" (since {problem['onset'][:4]})" if problem["onset"] else ""
    return f"- {escape_markdown(problem['display'])}{onset}{code}"

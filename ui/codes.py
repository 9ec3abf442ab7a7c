"""Reviewing the ICD-10-CM codes: confidence, source and evidence; keep, set aside or add codes."""

from __future__ import annotations

import streamlit as st

from garmle.catalogue import IcdCatalogue
from garmle.errors import GarmleError
from garmle.types import CodePrediction, Evidence
from ui.markup import escape_markdown
from ui.state import Review

__all__ = ["add_code", "evidence_line", "render_codes", "source_name"]

SOURCE_NAMES = {
    "external": "given code",
    "catalogue": "note text (catalogue terms)",
    "ehr": "structured record (EHR rules)",
    "medication": "medications taken long-term",
    "allergy": "recorded allergies",
    "transformers": "trained classifier",
    "screening": "screening criteria (age, smoking history)",
}


def render_codes(review: Review, catalogue: IcdCatalogue) -> bool:
    """Show the codes under review with a keep box each and a field to add one.

    Returns:
        True when the clinician asked to re-run the recommendations with the kept codes.
    """
    candidates = review.candidates()
    if not review.predicted:
        st.info(
            "No ICD-10-CM code could be predicted from this record: it names no condition the "
            "catalogue recognises. Add the codes you want guideline evidence for below."
        )
    if candidates:
        head = st.columns([0.6, 4.4, 1.6, 2.4])
        for col, text in zip(head, ("Keep", "Code", "Confidence", "Source"), strict=True):
            col.caption(text)
    for pred in candidates:
        cols = st.columns([0.6, 4.4, 1.6, 2.4], vertical_alignment="center")
        keep = cols[0].checkbox(
            f"Keep {pred.code}",
            value=pred.code not in review.removed,
            key=f"keep:{pred.code}",
            label_visibility="collapsed",
        )
        if keep:
            review.removed.discard(pred.code)
        else:
            review.removed.add(pred.code)
        billable = "" if pred.billable else " · category (not billable)"
        cols[1].markdown(f"**`{pred.code}`** {escape_markdown(pred.title)}{billable}")
        evidence = evidence_line(pred.evidence)
        if evidence:
            cols[1].caption(evidence)
        cols[2].progress(min(max(pred.score, 0.0), 1.0), text=f"{pred.score:.0%}")
        cols[3].caption(source_name(pred.source))

    with st.form("add_code", clear_on_submit=True, border=False):
        cols = st.columns([3, 1], vertical_alignment="bottom")
        typed = cols[0].text_input(
            "Add an ICD-10-CM code", placeholder="e.g. I10, E11.22, N18.31", key="add_code_text"
        )
        if cols[1].form_submit_button("Add code") and typed.strip():
            message = add_code(review, typed, catalogue)
            if message:
                st.error(message)
    chosen = review.chosen_codes()
    if review.is_stale():
        st.warning("The codes changed since the recommendations below were made: update them.")
    label = f"Update recommendations for {len(chosen)} code{'s' if len(chosen) != 1 else ''}"
    return st.button(label, type="primary", disabled=not chosen, key="rerun")


def add_code(review: Review, typed: str, catalogue: IcdCatalogue) -> str | None:
    """Validate ``typed`` against the catalogue and add it to the review; return an error message if not.

    Example:
        >>> from garmle.types import Patient
        >>> review = Review(Patient("p1"), "note")
        >>> add_code(review, "i10", IcdCatalogue()), review.chosen_codes()
        (None, ['I10'])
    """
    from garmle.coding import predictions_from_codes

    try:
        found = predictions_from_codes([typed.strip()], catalogue)
    except GarmleError as exc:
        return f"{typed.strip()!r} was not added: {exc}"
    for pred in found:
        review.removed.discard(pred.code)
        if pred.code not in {p.code for p in review.candidates()}:
            review.added.append(CodePrediction(**{**pred.__dict__, "evidence": ()}))
        # The box of a code added back must show it kept, not its old unticked state.
        st.session_state.pop(f"keep:{pred.code}", None)
    return None


def evidence_line(evidence: tuple[Evidence, ...], limit: int = 4) -> str:
    """A one-line summary of why a code was proposed (quoted note passages and record facts)."""
    parts = []
    for ev in evidence[:limit]:
        text = " ".join(ev.text.split())
        parts.append(escape_markdown(f"“{text}”" if ev.kind == "note" else text))
    more = f" (+{len(evidence) - limit} more)" if len(evidence) > limit else ""
    return ("Evidence: " + "; ".join(parts) + more) if parts else ""


def source_name(source: str) -> str:
    """Say which predictor(s) proposed a code, e.g. ``catalogue+ehr``.

    Example:
        >>> source_name("catalogue+ehr")
        'note text (catalogue terms) + structured record (EHR rules)'
    """
    names = [SOURCE_NAMES.get(part, part) for part in source.split("+") if part]
    return " + ".join(names) or "unknown"

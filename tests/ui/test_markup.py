"""The dashboard's pure helpers: highlighting that keeps text verbatim, source windows, form and codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garmle.catalogue import IcdCatalogue
from garmle.errors import PatientError
from garmle.types import CodePrediction, Document, Evidence, Patient, Report, Section
from ui.codes import add_code, evidence_line, source_name
from ui.index_page import upload_path
from ui.markup import escape_markdown, highlight_spans, highlight_terms, plain_text, source_view, term_spans
from ui.patient_input import form_record
from ui.report_view import snippet_card
from ui.state import Review
from ui.summary import note_evidence_spans

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200)


@given(
    TEXT, st.lists(st.tuples(st.integers(-5, 210), st.integers(-5, 210), st.sampled_from(["a", "<b>", "&"])))
)
def test_highlighting_never_changes_the_text(text: str, spans: list[tuple[int, int, str]]) -> None:
    assert plain_text(highlight_spans(text, spans, css_class="x")) == text


@given(TEXT, st.lists(st.text(max_size=6), max_size=4))
def test_term_highlighting_never_changes_the_text(text: str, terms: list[str]) -> None:
    assert plain_text(highlight_terms(text, {"fact <1>": terms})) == text


def test_overlapping_spans_merge_into_one_mark_listing_both_labels() -> None:
    out = highlight_spans("hypertension and diabetes", [(0, 16, "I10"), (13, 25, "E11")])
    assert out == (
        '<mark title="I10">hypertension </mark><mark title="I10; E11">and</mark>'
        '<mark title="E11"> diabetes</mark>'
    )


def test_markup_in_the_text_is_escaped_not_rendered() -> None:
    out = highlight_spans("<script>x</script> & BP", [(21, 23, "bp")])
    assert "<script>" not in out
    assert out.endswith('<mark title="bp">BP</mark>')


def test_term_spans_are_case_insensitive_and_skip_blank_terms() -> None:
    assert term_spans("eGFR low; EGFR falling", ["egfr", "", "  "]) == [(0, 4, "egfr"), (10, 14, "egfr")]


def test_source_view_shows_the_section_holding_the_snippet() -> None:
    text = "Intro text. " * 50 + "Treat to 140/90 in adults. Recheck yearly. " + "Later part. " * 50
    start = text.index("Treat")
    end = text.index("Recheck")
    sec_start = start - 24
    sec_end = end + len("Recheck yearly. ")
    doc = Document(doc_id="d", title="T", text=text, sections=(Section(("Recs", "BP"), sec_start, sec_end),))
    view = source_view(doc, start, end)
    assert (view.char_start, view.char_end) == (sec_start, sec_end)
    assert view.section == ("Recs", "BP")
    assert plain_text(view.markup) == text[sec_start:sec_end]
    assert '<mark title="snippet">Treat to 140/90 in adults. </mark>' in view.markup
    assert view.truncated_before and view.truncated_after


def test_source_view_falls_back_to_a_window_cut_at_word_boundaries() -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    start = text.index("word1500")
    end = start + len("word1500")
    view = source_view(Document(doc_id="d", title="T", text=text), start, end, max_chars=200)
    window = text[view.char_start : view.char_end]
    assert view.char_start < start and end < view.char_end
    assert len(window) <= 200
    assert window.startswith("word") and not window.endswith(" ")
    assert plain_text(view.markup) == window


def test_escape_markdown_keeps_the_visible_text() -> None:
    assert escape_markdown("*BP* 150/95 [high] :warning:") == "\\*BP\\* 150/95 \\[high\\] \\:warning\\:"


def test_form_record_needs_some_input_and_both_halves_of_a_blood_pressure() -> None:
    with pytest.raises(PatientError, match="enter a clinical note"):
        form_record(note="   ")
    with pytest.raises(PatientError, match="both the systolic and the diastolic"):
        form_record(note="x", systolic=150)
    record = form_record(
        note="Hypertension.", age=64, sex="male", systolic=150, diastolic=95, hba1c=8.1, bmi=31
    )
    assert record == {
        "id": "typed-note",
        "notes": ["Hypertension."],
        "age": 64,
        "sex": "male",
        "blood_pressure": ["150/95"],
        "labs": {"hba1c": 8.1},
        "vitals": {"bmi": 31},
    }


def test_upload_path_stays_in_the_folder() -> None:
    folder = Path("/tmp/uploads")
    assert upload_path(folder, "../../etc/passwd").parent == folder
    assert upload_path(folder, "HTN guide (v2).PDF").name == "HTN_guide_v2.pdf"
    assert upload_path(folder, "...").name == "guideline"


def test_adding_codes_validates_against_the_catalogue() -> None:
    catalogue = IcdCatalogue()
    review = Review(
        Patient("p1"), "note", predicted=[CodePrediction("I10", "Essential (primary) hypertension", 0.9)]
    )
    assert add_code(review, "Z99.999", catalogue) is not None
    assert "not in the 2026 tabular list" in (add_code(review, "Z99.999", catalogue) or "")
    assert "malformed" in (add_code(review, "hello", catalogue) or "")
    assert review.chosen_codes() == ["I10"]
    assert add_code(review, "e119", catalogue) is None
    assert add_code(review, "I10", catalogue) is None  # already there: not added twice
    assert review.chosen_codes() == ["I10", "E11.9"]
    review.removed.add("I10")
    assert review.chosen_codes() == ["E11.9"]
    add_code(review, "i10", catalogue)  # adding a set-aside code keeps it again
    assert review.chosen_codes() == ["I10", "E11.9"]


def test_a_rerun_report_keeps_the_predictions_the_clinician_reviewed() -> None:
    predicted = CodePrediction(
        "I10", "Hypertension", 0.8, "ehr", evidence=(Evidence("observation", "BP 150/95"),)
    )
    review = Review(Patient("p1"), "note", predicted=[predicted])
    given_copy = CodePrediction("I10", "Hypertension", 0.8, "external")
    added = CodePrediction("E11.9", "Type 2 diabetes", 1.0, "external")
    review.added.append(added)
    review.take_report(Report(Patient("p1"), predictions=(given_copy, added)), ["I10", "E11.9"])
    assert review.report is not None
    assert review.report.predictions == (predicted, added)
    assert not review.is_stale()
    review.removed.add("I10")
    assert review.is_stale()


def test_note_evidence_spans_skip_spans_outside_the_note() -> None:
    note = "Known hypertension, on amlodipine."
    pred = CodePrediction(
        "I10", "Hypertension", 0.9,
        evidence=(Evidence("note", "hypertension", 0, 6, 18), Evidence("note", "x", 0, 30, 99),
                  Evidence("note", "y", 1, 0, 3), Evidence("medication", "amlodipine")),
    )  # fmt: skip
    assert note_evidence_spans([pred], 0, note) == [(6, 18, "I10 Hypertension")]


def test_evidence_line_and_source_names() -> None:
    evidence = (Evidence("note", "high  blood\npressure", 0, 0, 5), Evidence("observation", "BP 150/95"))
    assert evidence_line(evidence) == "Evidence: “high blood pressure”; BP 150/95"
    assert evidence_line(evidence, limit=1).endswith("(+1 more)")
    assert source_name("catalogue+ehr") == "note text (catalogue terms) + structured record (EHR rules)"
    assert source_name("medication") == "medications taken long-term"
    assert source_name("catalogue+allergy") == "note text (catalogue terms) + recorded allergies"
    assert source_name("") == "unknown"


def test_snippet_card_keeps_the_passage_verbatim_and_cites_it() -> None:
    from garmle.types import Snippet

    snip = Snippet(
        text="Keep <130/80 mmHg & check eGFR.", doc_id="abc", chunk_id="abc:1", title="CKD guideline",
        char_start=100, char_end=131, score=0.4, publisher="KDIGO", year=2012, page=4,
        section=("Major Recommendations", "BP"), strength="Grade 1B",
    )  # fmt: skip
    card = snippet_card(snip, 2, {"eGFR 48": ["egfr"]})
    quote = card.split('<blockquote class="garmle-verbatim">', 1)[1].split("</blockquote>", 1)[0]
    assert plain_text(quote) == snip.text
    assert '<mark class="garmle-fact" title="eGFR 48">eGFR</mark>' in quote
    for part in ("CKD guideline", "KDIGO, 2012", "Major Recommendations › BP", "page 4", "characters 100–131",
                 "Strength: Grade 1B", "Matches this patient"):  # fmt: skip
        assert part in card

"""Cards from reports (verbatim, cited, short summaries) and prefetch flattening, without a server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from garmle.errors import PatientError
from garmle.server.cards import MAX_SUMMARY, escape_markdown, report_cards, summary_line
from garmle.server.prefetch import MissingPrefetchError, prefetch_bundle
from garmle.types import Patient, Recommendation, Report, Snippet

_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def rendered(markdown: str) -> str:
    """What a CommonMark renderer shows for backslash escapes (other syntax is escaped away)."""
    return _UNESCAPE.sub(r"\1", markdown)


def snippet(doc_id: str, text: str, start: int = 0, **kw: Any) -> Snippet:
    fields: dict[str, Any] = {
        "title": f"Guideline {doc_id}",
        "publisher": "VA/DoD",
        "year": 2014,
        "section": ("Major Recommendations", "Treatment"),
        "page": None,
    }
    fields.update(kw)
    return Snippet(
        text=text, doc_id=doc_id, chunk_id=f"{doc_id}:{start}", char_start=start,
        char_end=start + len(text), score=0.5, **fields,
    )  # fmt: skip


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=200))
def test_escaped_markdown_renders_as_the_text_itself(text: str) -> None:
    lines = text.split("\n")
    escaped = escape_markdown(text).split("\n")
    assert [rendered(line) for line in escaped] == [line.lstrip() for line in lines]
    for line in escaped:
        assert not re.match(r"(#|[-+*>]|\d+[.)])(\s|$)", line), line


def test_escape_markdown_neutralises_syntax() -> None:
    text = "# Grade A\n- item\n1. first\n<script>x</script> *bold* [link](http://x) `code`"
    out = escape_markdown(text)
    assert "<script>" not in out and "*bold*" not in out and "[link](" not in out
    assert out.splitlines()[0].startswith("\\#") and out.splitlines()[2].startswith("1\\.")


def test_summary_is_built_from_titles_and_fits() -> None:
    assert summary_line("I10", "Essential (primary) hypertension", "VA/DoD hypertension") == (
        "I10 Essential (primary) hypertension: VA/DoD hypertension"
    )
    long = summary_line("N18.30", "Chronic kidney disease, stage 3 unspecified", "Clinical practice " * 20)
    assert len(long) < MAX_SUMMARY and long.endswith("…")
    words = set(("N18.30 Chronic kidney disease, stage 3 unspecified: " + "Clinical practice " * 20).split())
    assert set(long.rstrip("…").split()) <= words


def test_one_card_per_code_and_guideline_with_verbatim_detail() -> None:
    a1 = snippet("docA", "Start a thiazide-type diuretic.\n\n* Grade A", 10)
    b1 = snippet("docB", "Measure blood pressure at every visit.", 0, publisher="", year=None, page=4)
    a2 = snippet("docA", "Target <140/90 mm Hg [SR].", 300)
    report = Report(
        patient=Patient("p1"),
        recommendations=(
            Recommendation("I10", "Essential (primary) hypertension", 0.9, snippets=(a1, b1, a2)),
            Recommendation("E11.9", "Type 2 diabetes mellitus without complications", 0.8),
        ),
    )
    docs = {"docA": {"url": "https://example.org/a", "title": "Guideline docA"}, "docB": {"url": ""}}
    cards = report_cards(report, docs)
    assert [c["summary"] for c in cards] == [
        "I10 Essential (primary) hypertension: Guideline docA",
        "I10 Essential (primary) hypertension: Guideline docB",
    ]
    first, second = cards
    assert first["indicator"] == "info" and first["source"] == {
        "label": "VA/DoD",
        "url": "https://example.org/a",
    }
    assert first["links"] == [{"label": "Guideline docA", "url": "https://example.org/a", "type": "absolute"}]
    assert "links" not in second and second["source"] == {"label": "Guideline docB"}
    detail = rendered(first["detail"])
    quoted = [line[2:] for line in detail.split("\n") if line.startswith("> ")]
    assert quoted == ["Start a thiazide-type diuretic.", "* Grade A", "Target <140/90 mm Hg [SR]."]
    assert "— Guideline docA — VA/DoD, 2014 — Major Recommendations > Treatment — [docA 10:" in detail
    assert "p. 4" in rendered(second["detail"])
    assert len({c["uuid"] for c in cards}) == 2


def test_cards_follow_the_reports_leading_list() -> None:
    def rec(code: str, *docs: str) -> Recommendation:
        snips = tuple(snippet(d, f"{code} passage {i}.", 10 * i) for i, d in enumerate(docs))
        return Recommendation(code, code, 0.9, snippets=snips)

    report = Report(
        patient=Patient("p"),
        recommendations=(rec("I48.91", "af1", "af2", "af3", "af1"), rec("I10", "htn1"), rec("E11.9", "dm1")),
    )
    cards = report_cards(report, max_cards=4)
    # turn 1: AF gives three (af1, af2, af3), then I10 and E11.9 one each
    assert [c["summary"].rsplit("Guideline ", 1)[1] for c in cards] == ["af1", "af2", "af3", "htn1"]
    # a guideline's card holds all of that code's passages from it, in rank order
    first = [line[2:] for line in rendered(cards[0]["detail"]).split("\n") if line.startswith("> ")]
    assert first == ["I48.91 passage 0.", "I48.91 passage 3."]
    assert len(report_cards(report)) == 5


def test_card_limit() -> None:
    snips = tuple(snippet(f"d{i}", f"Passage {i}.") for i in range(8))
    report = Report(
        patient=Patient("p"), recommendations=(Recommendation("I10", "Hypertension", 1.0, snips),)
    )
    assert len(report_cards(report, max_cards=3)) == 3


# --------------------------------------------------------------------------- prefetch


def patient(pid: str = "p1") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": "1960-01-01"}


def condition(cid: str, subject: str = "Patient/p1") -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "subject": {"reference": subject},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]},
    }


def searchset(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in resources]}


def test_prefetch_shapes_flatten_to_one_bundle() -> None:
    split = prefetch_bundle(
        {"patient": patient(), "conditions": searchset(condition("c1"), condition("c2"))}, "p1"
    )
    whole = prefetch_bundle({"everything": searchset(patient(), condition("c1"), condition("c2"))}, "p1")
    assert split == whole
    assert [e["resource"]["resourceType"] for e in split["entry"]] == ["Patient", "Condition", "Condition"]
    outcome = {"resourceType": "OperationOutcome", "issue": []}
    dup = prefetch_bundle(
        {"patient": patient(), "a": searchset(condition("c1"), outcome), "b": condition("c1")}, "p1"
    )
    assert len(dup["entry"]) == 2


def test_prefetch_without_patient_resource_gets_the_context_patient() -> None:
    bundle = prefetch_bundle({"patient": None, "conditions": searchset(condition("c1"))}, "p1")
    assert bundle["entry"][0]["resource"] == {"resourceType": "Patient", "id": "p1"}


@pytest.mark.parametrize(
    ("prefetch", "message"),
    [
        ({"patient": patient("p2")}, "not the hook's context.patientId"),
        ({"patient": patient(), "c": searchset(condition("c1", "Patient/p9"))}, "another patient"),
        ({"patient": "Patient/p1"}, "not a FHIR resource"),
        ({"patient": patient(), "c": {"resourceType": "Bundle", "entry": {"x": 1}}}, "not a list"),
        ({"c": {"resourceType": "Bundle", "entry": [3]}}, "entry 0 is not an object"),
    ],
)
def test_bad_prefetch_is_a_patient_error(prefetch: dict[str, Any], message: str) -> None:
    with pytest.raises(PatientError, match=message):
        prefetch_bundle(prefetch, "p1")


@pytest.mark.parametrize("prefetch", [None, {}, {"patient": None}, {"c": searchset()}])
def test_no_prefetched_data(prefetch: dict[str, Any] | None) -> None:
    with pytest.raises(MissingPrefetchError, match="does not query the FHIR server"):
        prefetch_bundle(prefetch, "p1")

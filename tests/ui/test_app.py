"""Dashboard flows through Streamlit's AppTest (no browser), on the fast hash-embedded index."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from garmle.types import Report

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")
TIMEOUT = 180
SAMPLE = "hypertension-diabetes-ckd"


def _use_index(monkeypatch: pytest.MonkeyPatch, index: Path) -> Path:
    """Point the dashboard at ``index`` with the model-free hash embedder."""
    monkeypatch.setenv("GARMLE_INDEX", str(index))
    monkeypatch.setenv("GARMLE_MODEL", "hash:64")
    monkeypatch.delenv("GARMLE_CHROMA_URL", raising=False)
    return index


@pytest.fixture()
def on_hash_index(hash_index: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return _use_index(monkeypatch, hash_index)


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _load_sample(at: AppTest, name: str = SAMPLE) -> AppTest:
    at.selectbox[0].select(name)
    at.button(key="load_sample").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _report(at: AppTest) -> Report:
    review = at.session_state["garmle_review"]
    assert review.report is not None
    return review.report


def _blocks(at: AppTest, css_class: str) -> list[str]:
    """The st.html blocks that open with an element of ``css_class`` (the style sheet is not one)."""
    return [n.proto.body for n in at.get("html") if n.proto.body.startswith(f'<div class="{css_class}"')]


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [a.value for kind in ("info", "warning", "error", "success") for a in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def test_without_an_index_both_pages_explain_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_index(monkeypatch, tmp_path / "missing")
    at = _app()
    assert any("no index at" in e.value for e in at.error)
    assert any("Recommendations need a guideline index" in e.value for e in at.error)
    assert not at.button  # nothing to load a patient into
    at.radio(key="page").set_value("Guideline index").run()
    assert any("There is no guideline index" in i.value for i in at.info)
    assert at.file_uploader(key="guideline_upload")


def test_before_a_patient_is_loaded_the_page_says_how_to_start(on_hash_index: Path) -> None:
    at = _app()
    assert any("Load a patient to begin" in i.value for i in at.info)
    assert "documents" in _texts(at)  # index status in the sidebar


def test_sample_patient_shows_summary_codes_and_cited_verbatim_recommendations(on_hash_index: Path) -> None:
    at = _load_sample(_app())
    report = _report(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Age"] == "67 y"
    assert metrics["Latest blood pressure"] == "156/92 mmHg"
    assert "rising" in (at.metric[2].proto.delta or "")
    codes = [p.code for p in report.predictions]
    assert "I12.9" in codes and "N18.31" in codes
    text = _texts(at)
    assert "Essential hypertension" in text and "Lisinopril 20 mg once daily" in text
    # The sample's labs appear as a table, not as raw JSON.
    table = at.dataframe[0].value
    assert "eGFR" in set(table["Measure"])
    assert not at.json

    # The leading evidence across codes comes first, the presenting condition's twice per turn.
    leading = [e for e in at.expander if e.label.startswith("Leading evidence")]
    assert len(leading) == 1
    listed = leading[0].markdown[0].value.splitlines()
    assert [line.split("`")[1] for line in listed] == [code for code, _ in report.leading(10)]
    assert listed[0].startswith(f"1. `{codes[0]}`") and listed[1].startswith(f"2. `{codes[0]}`")

    # One block per code, each passage verbatim and cited.
    headings = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert [h.split("`")[1] for h in headings] == codes
    cards = _blocks(at, "garmle-snippet")
    snippets = [s for rec in report.recommendations for s in rec.snippets]
    assert snippets and len(cards) == len(snippets)
    from ui.markup import plain_text

    for card, snip in zip(cards, snippets, strict=True):
        quote = card.split('<blockquote class="garmle-verbatim">', 1)[1].split("</blockquote>", 1)[0]
        assert plain_text(quote) == snip.text
        assert f"document {snip.doc_id}" in card and f"characters {snip.char_start}–{snip.char_end}" in card
    assert any(s.matched_facts for s in snippets)
    assert any('class="garmle-fact"' in c for c in cards), "matched patient facts are highlighted"
    assert any("Verbatim check passed" in s.value for s in at.success)


def test_export_gives_the_report_as_json_and_printable_html(
    on_hash_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = _record_downloads(monkeypatch)
    at = _load_sample(_app())
    labels = {getattr(b, "label", "") for b in at.get("download_button")}
    assert labels == {"Download report (JSON)", "Download printable report (HTML)"}
    exported = json.loads(served["garmle-report.json"])
    assert [r["code"] for r in exported["recommendations"]] == [r.code for r in _report(at).recommendations]
    assert exported["verbatim_check"]["failed"] == 0
    page = served["garmle-report.html"]
    assert page.startswith("<!doctype html>") and "Verbatim check" in page


def _record_downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Keep what each download button would serve, by file name (AppTest drops its media store)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    served: dict[str, str] = {}

    class Recording(MemoryMediaFileStorage):
        def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
            file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
            if filename:
                served[filename] = bytes(self.get_file(file_id).content).decode("utf-8")
            return file_id

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)
    return served


def test_source_document_opens_at_the_snippet(on_hash_index: Path) -> None:
    at = _load_sample(_app())
    first = _report(at).recommendations[0].snippets[0]
    assert not _blocks(at, "garmle-source")
    at.toggle[0].set_value(True).run()
    views = _blocks(at, "garmle-source")
    assert len(views) == 1
    assert '<mark title="snippet">' in views[0]
    from ui.markup import plain_text

    marked = views[0].split('<mark title="snippet">', 1)[1].split("</mark>", 1)[0]
    assert plain_text(marked) == first.text


def test_codes_can_be_removed_and_added_with_a_clear_message_for_invalid_ones(on_hash_index: Path) -> None:
    at = _load_sample(_app())
    before = _report(at)
    first = before.predictions[0]
    at.checkbox(key=f"keep:{first.code}").uncheck().run()
    assert any("codes changed" in w.value for w in at.warning)

    at.text_input(key="add_code_text").input("Z99.999")
    at.button[[b.label for b in at.button].index("Add code")].click().run()
    assert any(
        "'Z99.999' was not added" in e.value and "not in the 2026 tabular list" in e.value for e in at.error
    )

    at.text_input(key="add_code_text").input("j45.909")
    at.button[[b.label for b in at.button].index("Add code")].click().run()
    assert not at.error
    at.button(key="rerun").click().run()
    assert not at.exception
    after = _report(at)
    expected = [p.code for p in before.predictions if p.code != first.code] + ["J45.909"]
    assert sorted(r.code for r in after.recommendations) == sorted(expected)
    kept = {p.code: p for p in after.predictions}
    for pred in before.predictions[1:]:
        assert kept[pred.code].evidence == pred.evidence, "re-run keeps the reviewed evidence"
    assert kept["J45.909"].source == "external"
    assert not any("codes changed" in w.value for w in at.warning)


def test_unticking_every_code_disables_the_update(on_hash_index: Path) -> None:
    at = _load_sample(_app())
    for pred in _report(at).predictions:
        at.checkbox(key=f"keep:{pred.code}").uncheck()
    at.run()
    assert at.button(key="rerun").disabled


def test_fhir_upload_from_synthea(on_hash_index: Path, synthea_dir: Path) -> None:
    bundle = next(p for p in sorted(synthea_dir.glob("*.json")) if "38341003" in p.read_text("utf-8"))
    before = _files_under(Path(tempfile.gettempdir())) | _files_under(Path.cwd())
    at = _app()
    at.file_uploader[0].upload(bundle.name, bundle.read_bytes(), "application/json").run()
    assert not at.exception and not at.error
    report = _report(at)
    assert "I10" in [p.code for p in report.predictions]
    assert report.recommendations[0].snippets
    assert {m.label for m in at.metric} >= {"Age", "Latest blood pressure"}
    after = _files_under(Path(tempfile.gettempdir())) | _files_under(Path.cwd())
    assert not {p for p in after - before if bundle.stem in p or p.endswith(".json")}, (
        "patient written to disk"
    )


def _files_under(folder: Path) -> set[str]:
    found: set[str] = set()
    for root, _, names in os.walk(folder):
        if "/.venv" in root or "/.git" in root:
            continue
        found.update(os.path.join(root, n) for n in names)
    return found


def test_an_unreadable_upload_is_explained(on_hash_index: Path) -> None:
    at = _app()
    at.file_uploader[0].upload(
        "broken.json", b'{"resourceType": "Bundle", "entry": [', "application/json"
    ).run()
    assert any(e.value.startswith("This record could not be read:") for e in at.error)
    assert "garmle_review" not in at.session_state


def test_typed_note_and_vitals(on_hash_index: Path) -> None:
    at = _app()
    form_button = next(b for b in at.button if b.label == "Analyse this patient")
    form_button.click().run()
    assert any("enter a clinical note or at least one value" in e.value for e in at.error)

    at.text_area[0].input("58-year-old woman with type 2 diabetes and hypertension. Feels well.")
    numbers = {n.label: n for n in at.number_input}
    numbers["Age (years)"].set_value(58)
    numbers["Systolic BP (mmHg)"].set_value(164)
    numbers["Diastolic BP (mmHg)"].set_value(98)
    numbers["HbA1c (%)"].set_value(8.3)
    next(b for b in at.button if b.label == "Analyse this patient").click().run()
    assert not at.exception and not at.error
    report = _report(at)
    assert report.patient.latest_bp is not None and report.patient.latest_bp.systolic == 164
    assert {"I10", "E11.9"} <= {p.code for p in report.predictions} | {p.code[:3] for p in report.predictions}
    note_views = _blocks(at, "garmle-note")
    assert note_views and '<mark class="garmle-evidence"' in note_views[0]


def test_no_codes_predicted_is_explained(on_hash_index: Path) -> None:
    at = _app()
    at.text_area[0].input("Routine visit. Feels well. No complaints today.")
    next(b for b in at.button if b.label == "Analyse this patient").click().run()
    assert not at.exception
    assert any("No ICD-10-CM code could be predicted" in i.value for i in at.info)
    assert any("No codes were kept" in i.value for i in at.info)
    assert at.button(key="rerun").disabled


def test_no_guideline_evidence_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from garmle.catalogue import catalogue_documents
    from garmle.embedding import HashEmbedder
    from garmle.indexing import Indexer
    from garmle.store import ChromaStore

    store = ChromaStore.open(tmp_path / "catalogue-only", create=True)
    with Indexer(store, HashEmbedder(64)) as indexer:
        indexer.add_documents(catalogue_documents("I10"))
    _use_index(monkeypatch, tmp_path / "catalogue-only")
    at = _load_sample(_app())
    assert any("no guideline evidence" in w.value.lower() for w in at.warning)
    assert not _blocks(at, "garmle-snippet")
    assert _blocks(at, "garmle-catalogue"), "the code's catalogue entry is still shown"


def test_index_page_creates_an_index_from_uploads_lists_and_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_index(monkeypatch, tmp_path / "new-index")
    at = _app()
    at.radio(key="page").set_value("Guideline index").run()
    guideline = (
        "# Managing gout in primary care\n\n## Recommendations\n\n"
        + "Offer a urate-lowering therapy to patients with recurrent gout flares. " * 12
        + "\n\n## Monitoring\n\nCheck serum urate every three months until the target is reached.\n"
    )
    at.file_uploader(key="guideline_upload").set_value(
        [
            ("gout.md", guideline.encode(), "text/markdown"),
            ("broken.pdf", b"%PDF-1.4 not really", "application/pdf"),
        ]
    ).run()
    at.text_input(key="upload_publisher").input("Example Society")
    at.button(key="index_uploads").click().run()
    assert not at.exception
    assert any("Added 1 documents" in w.value and "broken.pdf" in w.value for w in at.warning)
    table = at.dataframe[0].value
    assert list(table["Title"]) == ["Managing gout in primary care"]
    assert list(table["Publisher"]) == ["Example Society"]
    assert {m.label: m.value for m in at.metric}["Guidelines and catalogue documents"] == "1"

    from garmle.store import ChromaStore

    (doc_id,) = list(table["Id"])
    assert ChromaStore.open(tmp_path / "new-index").has_document(doc_id)
    at.multiselect(key="remove_choice").select(doc_id).run()
    assert at.button(key="remove_docs").disabled, "removal needs the confirmation box"
    at.checkbox(key="remove_confirm").check().run()
    at.button(key="remove_docs").click().run()
    assert not at.exception
    assert any("Removed 1 documents" in s.value for s in at.success)
    assert not ChromaStore.open(tmp_path / "new-index").has_document(doc_id)
    assert any("holds no documents yet" in i.value for i in at.info)


def test_guideline_filters_reach_the_report(on_hash_index: Path) -> None:
    at = _app()
    at.multiselect(key="populations").set_value(["pregnancy"]).run()
    at.number_input(key="min_year").set_value(2010).run()
    _load_sample(at)
    assert not at.exception
    notes = _report(at).messages
    assert any("published 2010 or later; population pregnancy" in m for m in notes), notes


def test_report_options_apply_and_survive_a_visit_to_the_index_page(on_hash_index: Path) -> None:
    at = _app()
    at.slider(key="top_k").set_value(2).run()
    at.radio(key="page").set_value("Guideline index").run()
    assert not at.slider  # report options belong to the patient page
    at.radio(key="page").set_value("Patient review").run()
    assert at.slider(key="top_k").value == 2
    _load_sample(at)
    counts = [len(rec.snippets) for rec in _report(at).recommendations]
    assert counts and max(counts) == 2

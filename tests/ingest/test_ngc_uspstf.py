"""NGC summary XML and the USPSTF JSON dump, read from the shared corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garmle.errors import IngestError
from garmle.ingest import iter_source_files, load_document, load_file
from garmle.ingest.ngc import population_groups
from garmle.types import Document


def test_ngc_metadata_and_sections(ngc_dir: Path) -> None:
    doc = load_document(ngc_dir / "ngc-10598.xml", source="ngc")
    assert doc.fmt == "ngc" and doc.source == "ngc"
    assert doc.title.startswith(
        "VA/DoD clinical practice guideline for the diagnosis and management of hypertension"
    )
    assert "Department of Veterans Affairs" in doc.publisher
    assert doc.year == 2014
    assert doc.licence == "No copyright restrictions apply."
    assert doc.url.startswith("http")
    meta = doc.metadata
    assert meta["ngc_id"] == "10598"
    assert meta["conditions"] == "Hypertension and prehypertension"
    assert meta["population"].startswith("Adults (men and women) who are eligible for care")
    assert meta["population_groups"].split("; ")[0] == "adults"
    assert "pregnancy" not in meta["population_groups"]  # named only as excluded
    assert "Physicians" in meta["intended_users"]
    assert "Cardiology" in meta["clinical_specialty"]
    top = [s.path[0] for s in doc.sections if len(s.path) == 1]
    assert top[0] == "Major Recommendations"
    assert {"Disease/Condition(s)", "Target Population", "Potential Harms"} <= set(top)
    at = doc.text.index("screening adults for elevated blood pressure occur periodically")
    assert doc.section_at(at) == (
        "Major Recommendations",
        "Screening, Diagnosis and Measurement of Hypertension (HTN)",
        "Screening",
    )
    assert doc.text[at:].split("\n")[0].endswith("(Strong for)")


def test_ngc_needs_title_and_recommendations(tmp_path: Path) -> None:
    title_only = tmp_path / "ngc-1.xml"
    title_only.write_text(
        '<Version><Section><Field Name="Guideline Title"><FieldValue Value="A title" /></Field>'
        "</Section></Version>"
    )
    with pytest.raises(IngestError, match="no narrative fields"):
        load_document(title_only)
    no_title = tmp_path / "ngc-2.xml"
    no_title.write_text(
        '<Version><Field Name="Major Recommendations"><FieldValue Value="&lt;p&gt;Do it.&lt;/p&gt;" />'
        "</Field></Version>"
    )
    with pytest.raises(IngestError, match="no 'Guideline Title'"):
        load_document(no_title)


def test_population_groups() -> None:
    assert population_groups("Adults aged 65 years and older") == ["adults", "older adults"]
    assert population_groups("Patients 10 years to less than 18 years of age") == ["children"]
    assert population_groups("Non-pregnant adults with atrial fibrillation") == ["adults"]
    assert population_groups("Pregnant women. Note: excludes adolescents") == ["pregnancy", "women"]


def test_uspstf_dump_gives_one_document_per_recommendation(shared_data: Path) -> None:
    path = shared_data / "uspstf" / "uspstf-recommendations.json"
    docs = load_file(path, source="uspstf")
    raw = json.loads(path.read_text())["specificRecommendations"]
    assert len(docs) == len(raw) == 137
    assert len({d.doc_id for d in docs}) == len(docs)
    first = docs[0]
    assert first.title == "Cervical Cancer: Screening -- Women aged 21 to 30 years"
    assert first.publisher == "U.S. Preventive Services Task Force"
    assert first.licence.startswith("Public domain")
    assert first.metadata["grade"] == "A"
    assert first.metadata["sex"] == "female"
    assert (first.metadata["age_min"], first.metadata["age_max"]) == ("21", "30")
    assert first.metadata["conditions"] == "Cervical Cancer"
    assert first.metadata["population"] == "Women aged 21 to 30 years"
    recommendation = first.text[first.text.index("The USPSTF recommends") :]
    assert recommendation.split("\n\nPopulation")[0].endswith("Grade: A")
    assert first.section_at(first.text.index("The USPSTF recommends")) == ("Recommendation",)
    pregnant = [d for d in docs if d.metadata.get("pregnancy") == "true"]
    assert pregnant and all("regnan" in d.title or d.metadata.get("risk") == "Pregnant" for d in pregnant)
    with pytest.raises(IngestError, match="holds 137 documents"):
        load_document(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"items": [1, 2]}', "not a USPSTF dump"),
        ('{"specificRecommendations": []}', "holds no recommendations"),
    ],
)
def test_bad_json(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "dump.json"
    path.write_text(content)
    with pytest.raises(IngestError, match=message):
        load_file(path)


@pytest.mark.slow
def test_whole_ngc_corpus_loads(ngc_dir: Path, ngc_corpus: tuple[list[Document], list[object]]) -> None:
    assert len(list(iter_source_files(ngc_dir))) == 1416
    docs, failures = ngc_corpus
    assert failures == [] and len(docs) == 1416
    assert len({d.doc_id for d in docs}) == len(docs)
    for doc in docs:
        assert doc.title and doc.publisher, doc.source_path
        assert doc.metadata.get("conditions"), doc.source_path
        assert doc.sections[0].path == ("Major Recommendations",), doc.source_path
        assert doc.text == doc.text.strip()
    assert sum(1 for d in docs if d.year) > 0.99 * len(docs)
    assert sum(1 for d in docs if d.licence == "No copyright restrictions apply.") >= 40

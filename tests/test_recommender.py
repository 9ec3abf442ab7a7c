"""The facade end to end on a small real index: verbatim, cited, population-aware recommendations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from garmle import Recommender
from garmle.errors import CatalogueError, GarmleError, IndexError_
from garmle.langchain_retriever import GarmleRetriever
from garmle.retrieval import SearchFilter
from garmle.types import CodePrediction, Patient, Report

pytestmark = pytest.mark.slow

SAMPLES = Path(__file__).resolve().parent.parent / "garmle" / "data" / "samples"


@pytest.fixture(scope="module")
def recommender(small_index: Path) -> Recommender:
    return Recommender.open(small_index)


def _all_snippets(report: Report) -> list:
    return [s for rec in report.recommendations for s in (*rec.snippets, *rec.catalogue)]


def test_every_snippet_is_verbatim_and_cited(recommender: Recommender) -> None:
    report = recommender.recommend(
        SAMPLES / "hypertension-diabetes-ckd.json", codes=["I10", "E11.9", "N18.31"]
    )
    assert [r.code for r in report.recommendations] == ["I10", "E11.9", "N18.31"]
    assert report.verbatim_check.failed == 0
    snippets = _all_snippets(report)
    assert report.verbatim_check.checked == len(snippets) > 5
    for snip in snippets:
        doc = recommender.document(snip.doc_id)
        assert doc.text[snip.char_start : snip.char_end] == snip.text
        assert snip.title and snip.doc_id and snip.chunk_id
    guideline = [s for r in report.recommendations for s in r.snippets]
    assert all(s.source != "icd10cm" for s in guideline)
    assert len({s.chunk_id for s in guideline}) == len(guideline), "a passage is shown once"
    assert all(r.catalogue and r.catalogue[0].text.startswith(r.code) for r in report.recommendations)
    assert set(report.timings_ms) >= {"predict", "retrieve", "fuse", "verify", "total"}


def test_hypertension_with_diabetes_gets_a_blood_pressure_goal(recommender: Recommender) -> None:
    report = recommender.recommend(
        SAMPLES / "hypertension-diabetes-ckd.json", codes=["I10", "E11.9"], top_k=5
    )
    texts = " ".join(s.text for r in report.recommendations for s in r.snippets)
    assert re.search(r"(goal|target)[^.]{0,80}\d{3} ?mm ?Hg|\d{3}/\d{2,3} ?mm ?Hg", texts, re.I), texts[:500]


def test_each_code_also_searches_the_guidelines_about_its_condition(recommender: Recommender) -> None:
    meta = recommender._documents_meta()
    about = recommender._guidelines_about("I10")
    assert about and all("hypertens" in (meta[d]["title"] + meta[d]["conditions"]).lower() for d in about)
    diabetes = recommender._guidelines_about("E11.9")
    assert diabetes - about and all(
        "diabet" in (meta[d]["title"] + meta[d]["conditions"]).lower() for d in diabetes
    )
    report = recommender.recommend(SAMPLES / "hypertension-diabetes-ckd.json", codes=["I10"], top_k=5)
    assert report.recommendations[0].snippets
    assert any(s.doc_id in about for s in report.recommendations[0].snippets)


def test_the_guidelines_about_a_condition_leave_out_its_siblings_and_its_negation(
    recommender: Recommender, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = {
        "cirrhosis": {"title": "Cirrhosis in over 16s: assessment and management", "conditions": "Cirrhosis"},
        "nafld": {
            "title": "Non-alcoholic fatty liver disease (NAFLD): assessment and management",
            "conditions": "Non-alcoholic fatty liver disease; non-alcoholic steatohepatitis; cirrhosis",
        },
        "alcohol": {
            "title": "Alcohol-use disorders: physical complications",
            "conditions": "Alcoholic liver disease",
        },
        "hep-c": {"title": "Management of chronic hepatitis C", "conditions": "Chronic viral hepatitis C"},
        "hep-b": {"title": "Hepatitis B (chronic)", "conditions": "Chronic hepatitis B"},
    }
    monkeypatch.setattr(recommender, "_documents_meta", lambda: meta)
    assert recommender._guidelines_about("K70.31") == {"cirrhosis", "alcohol"}
    # "Chronic viral hepatitis", a name of B18.1, is there in full in the hepatitis C guideline
    assert recommender._guidelines_about("B18.1") == {"hep-b"}


def test_queries_show_the_patient_facts_they_used(recommender: Recommender) -> None:
    report = recommender.recommend(SAMPLES / "hypertension-diabetes-ckd.json", codes=["I10"])
    assert report.queries and all(q.code == "I10" for q in report.queries)
    assert any(any(f.startswith("blood pressure") for f in q.facts) for q in report.queries)
    assert any(s.matched_facts for r in report.recommendations for s in r.snippets)


def test_guidelines_for_other_populations_are_left_out(recommender: Recommender) -> None:
    man = Patient("m", age=60, sex="male", notes=("Hypertension.",))
    report = recommender.recommend(man, codes=["I10"], top_k=8)
    meta = recommender.store.document_metadata()
    for snip in report.recommendations[0].snippets:
        population = meta[snip.doc_id].get("population", "")
        title = meta[snip.doc_id].get("title", "")
        assert not re.search(r"\bpregnan", f"{title} {population}", re.I) or re.search(
            r"\badults?\b", population, re.I
        ), f"pregnancy guideline shown to a man: {title}"
        assert not re.search(r"\bchildren\b", title, re.I), title


def test_filters_restrict_sources(recommender: Recommender) -> None:
    report = recommender.recommend(
        SAMPLES / "hypertension-diabetes-ckd.json", codes=["I10"], search_filter=SearchFilter(min_year=2099)
    )
    assert report.recommendations[0].snippets == ()
    assert "no guideline evidence" in report.recommendations[0].note


def test_population_filter_keeps_guidelines_for_that_group(recommender: Recommender) -> None:
    meta = recommender.store.document_metadata()

    def groups(doc_id: str) -> set[str]:
        return {g.strip() for g in meta[doc_id].get("population_groups", "").split(";") if g.strip()}

    plain = recommender.recommend(SAMPLES / "pregnancy-hypertension.json", codes=["O10.011", "I10"], top_k=8)
    report = recommender.recommend(
        SAMPLES / "pregnancy-hypertension.json",
        codes=["O10.011", "I10"],
        top_k=8,
        search_filter=SearchFilter(populations=("pregnancy",)),
    )
    shown = {s.doc_id for rec in report.recommendations for s in rec.snippets}
    assert shown and all("pregnancy" in groups(d) or not groups(d) for d in shown)
    # the unfiltered report cites guidelines for other groups, which the filter left out
    before = {s.doc_id for rec in plain.recommendations for s in rec.snippets}
    assert any(groups(d) and "pregnancy" not in groups(d) for d in before)
    assert any("population pregnancy" in m for m in report.messages)
    with pytest.raises(GarmleError, match="unknown guideline population"):
        SearchFilter(populations=("kids",))


def test_bad_codes_and_missing_index_are_clear_errors(recommender: Recommender, tmp_path: Path) -> None:
    with pytest.raises((CatalogueError, GarmleError), match=r"Q99\.999|not"):
        recommender.recommend(SAMPLES / "hypertension-diabetes-ckd.json", codes=["Q99.999"])
    with pytest.raises(IndexError_, match="no index"):
        Recommender.open(tmp_path / "none")


def test_report_serialises(recommender: Recommender) -> None:
    report = recommender.recommend(SAMPLES / "new-atrial-fibrillation.txt", codes=["I48.91"])
    data = json.loads(report.to_json())
    assert {"predictions", "recommendations", "verbatim_check", "timings_ms"} <= set(data)
    snip = data["recommendations"][0]["snippets"][0]
    assert {"text", "doc_id", "title", "publisher", "year", "page", "section", "char_start", "char_end",
            "score", "matched_facts"} <= set(snip)  # fmt: skip
    html = report._repr_html_()
    assert "I48.91" in html and "Verbatim check" in html
    assert Report.from_dict(data).recommendations[0].snippets[0].text == snip["text"]


def test_langchain_retriever(recommender: Recommender) -> None:
    docs = GarmleRetriever(recommender=recommender, k=3).invoke(
        "oral anticoagulation for atrial fibrillation"
    )
    assert 0 < len(docs) <= 3
    for d in docs:
        source = recommender.document(d.metadata["doc_id"]).text
        assert source[d.metadata["char_start"] : d.metadata["char_end"]] == d.page_content


def test_codes_not_searched_next_to_a_diagnosis() -> None:
    from garmle.catalogue import IcdCatalogue
    from garmle.recommender import _guideline_codes

    cat = IcdCatalogue()

    def said(*codes: str) -> list[CodePrediction]:
        return [CodePrediction(c, cat.title(c), 0.9) for c in codes]

    preds = said("I63.9", "G46.0", "M17.0", "M25.561", "N18.31", "E11.22", "Z13.9", "R03.0", "Z68.32")
    kept, skipped = _guideline_codes(preds, cat)
    # a manifestation ("... in cerebrovascular diseases") beside its disease; knee pain beside knee arthritis;
    # an encounter code, a symptom and a BMI code beside diagnoses
    assert set(skipped) == {"G46.0", "M25.561", "Z13.9", "R03.0", "Z68.32"}
    # CKD's "code first" note is about sequencing: its stage has guidelines of its own
    assert [p.code for p in kept] == ["I63.9", "M17.0", "N18.31", "E11.22"]
    # anaemia in kidney disease has guidelines of its own
    renal = said("N18.6", "D63.1")
    assert _guideline_codes(renal, cat) == (renal, [])
    # the low blood pressure and the allergy of an anaphylaxis
    allergy = said("T78.2XXA", "I95.9", "T78.40XA")
    assert _guideline_codes(allergy, cat) == (allergy[:1], ["I95.9", "T78.40XA"])
    # a pneumonia that is over beside the infection its antibiotics brought on
    colitis = said("A04.72", "Z87.01")
    assert _guideline_codes(colitis, cat) == (colitis[:1], ["Z87.01"])
    # the dehydration of a gastroenteritis
    dry = said("K52.9", "E86.0")
    assert _guideline_codes(dry, cat) == (dry[:1], ["E86.0"])
    # abnormal cervical cytology, high-risk HPV and a chronic cough have guidelines of their own
    smear = said("F17.210", "R87.610", "R87.810", "R05.3")
    assert _guideline_codes(smear, cat) == (smear, [])
    alone, none = _guideline_codes(said("M25.561"), cat)
    assert [p.code for p in alone] == ["M25.561"] and none == []
    # joint pain beside psoriasis, field loss beside glaucoma, painful intercourse beside endometriosis
    signs = said("L40.0", "M25.50", "H40.1190", "H53.40", "N80.129", "N94.12")
    assert _guideline_codes(signs, cat)[1] == ["M25.50", "H53.40", "N94.12"]
    # an infectious agent explains no symptom: dyspepsia stays beside H. pylori
    agent = said("B96.81", "R10.13")
    assert [p.code for p in _guideline_codes(agent, cat)[0]] == ["B96.81", "R10.13"]
    # ear pain beside otitis media, itch beside psoriasis
    ear = said("H92.09", "H66.93", "L29.9", "L40.0")
    kept, skipped = _guideline_codes(ear, cat)
    assert [p.code for p in kept] == ["H66.93", "L40.0"] and skipped == ["H92.09", "L29.9"]
    # the skin signs of polycystic ovary syndrome
    pcos = said("E28.2", "L68.0", "L70.9", "L83", "E66.9")
    kept, skipped = _guideline_codes(pcos, cat)
    assert [p.code for p in kept] == ["E28.2", "E66.9"] and skipped == ["L68.0", "L70.9", "L83"]
    # the redness and graze of a cellulitis, the light sensitivity of a migraine
    skin = said("L03.90", "E11.9", "L53.9", "T14.8XXA")
    kept, skipped = _guideline_codes(skin, cat)
    assert [p.code for p in kept] == ["L03.90", "E11.9"] and skipped == ["L53.9", "T14.8XXA"]
    # ... and of a pressure ulcer, whose dressed wound is no injury; a febrile convulsion is no sign
    # of the otitis beside it
    ulcer = said("L89.153", "L53.9", "T14.8XXA", "R56.00", "H66.92")
    kept, skipped = _guideline_codes(ulcer, cat)
    assert [p.code for p in kept] == ["L89.153", "R56.00", "H66.92"] and skipped == ["L53.9", "T14.8XXA"]
    # the enlarged heart and pleural effusions of a heart failure
    heart = said("I50.23", "I51.7", "J90")
    assert _guideline_codes(heart, cat) == (heart[:1], ["I51.7", "J90"])
    # the painful intercourse of a pelvic inflammatory disease
    pid = said("N73.9", "N94.12")
    assert _guideline_codes(pid, cat) == (pid[:1], ["N94.12"])
    # the nystagmus of a positional vertigo
    bppv = said("H81.11", "H55.00")
    assert _guideline_codes(bppv, cat) == (bppv[:1], ["H55.00"])
    # self-harm has guidelines of its own; the hearing loss of a glue ear does not
    harm = said("T39.1X2A", "R45.88", "H65.93", "H91.90")
    assert _guideline_codes(harm, cat) == (harm[:3], ["H91.90"])
    # the aching muscles of malaria, the back pain of myeloma and of an axial spondyloarthritis
    fever = said("B50.9", "M79.10", "C90.00", "M54.9", "M45.9", "M54.50")
    assert _guideline_codes(fever, cat) == ([fever[0], fever[2], fever[4]], ["M79.10", "M54.9", "M54.50"])
    # a symptom the assessment names as its only condition is why the patient is seen
    cough = said("R05.9", "I10")
    assert _guideline_codes(cough, cat)[1] == ["R05.9"]
    assert _guideline_codes(cough, cat, "R05.9") == (cough, [])
    migraine = said("G43.109", "H53.149")
    assert [p.code for p in _guideline_codes(migraine, cat)[0]] == ["G43.109"]
    # the girdle pain of a polymyalgia rheumatica
    pmr = said("M35.3", "M25.559")
    assert _guideline_codes(pmr, cat) == (pmr[:1], ["M25.559"])
    # the aching muscles of influenza
    flu = said("J10.1", "M79.10")
    assert _guideline_codes(flu, cat) == (flu[:1], ["M79.10"])
    # a manifestation whose underlying disease is not coded is a partial reading beside a diagnosis
    uti = said("N39.0", "N16")
    assert _guideline_codes(uti, cat) == (uti[:1], ["N16"])
    assert _guideline_codes(uti[1:], cat) == (uti[1:], [])
    # the history of a condition coded as current too; a cold's coryza beside a bronchiolitis
    stroke = said("I63.9", "I48.91", "Z86.73")
    assert _guideline_codes(stroke, cat) == (stroke[:2], ["Z86.73"])
    cold = said("J21.9", "J00")
    assert _guideline_codes(cold, cat) == (cold[:1], ["J00"])
    # the leg pain of a sciatica, of peripheral arterial disease
    for cause in ("M54.30", "I73.9"):
        leg = said(cause, "M79.605")
        assert _guideline_codes(leg, cat) == (leg[:1], ["M79.605"])
    # repeated falls and incontinence have guidelines of their own: no diagnosis explains them away
    falls = said("R29.6", "I95.1", "R32", "R42")
    kept, skipped = _guideline_codes(falls, cat)
    assert [p.code for p in kept] == ["R29.6", "I95.1", "R32"] and skipped == ["R42"]


def test_a_diagnosis_inferred_from_medications_alone_is_not_searched_beside_a_stated_one() -> None:
    from garmle.catalogue import IcdCatalogue
    from garmle.recommender import _guideline_codes
    from garmle.types import Evidence

    cat = IcdCatalogue()
    ckd = CodePrediction("N18.4", cat.title("N18.4"), 0.97, evidence=(Evidence("problem", "CKD stage 4"),))
    meds = (Evidence("medication", "Furosemide 20 mg daily"), Evidence("medication", "Lisinopril 20 mg"))
    hf = CodePrediction("I50.9", cat.title("I50.9"), 0.45, evidence=meds)
    kept, skipped = _guideline_codes([ckd, hf], cat)
    assert [p.code for p in kept] == ["N18.4"] and skipped == ["I50.9"]
    # with nothing else stated, the medications are the only lead and are searched
    alone, none = _guideline_codes([hf], cat)
    assert [p.code for p in alone] == ["I50.9"] and none == []


def test_the_condition_the_assessment_names_comes_first(recommender: Recommender) -> None:
    from garmle.types import Medication, Observation

    note = "58M, 4 days of cough and fever. PMH: T2DM on metformin.\nImp: community-acquired pneumonia."
    patient = Patient(
        "cap", age=58, sex="male", notes=(note,), medications=(Medication("metformin 1 g twice daily"),),
        labs=(Observation("hba1c", 7.1, "%"),),
    )  # fmt: skip
    surest = max(recommender.predictor.predict(patient), key=lambda p: p.score)
    assert surest.code.startswith("E11")  # the diabetes is the surer code ...
    predictions, _ = recommender.predict(patient)
    assert predictions[0].code.startswith("J18")  # ... the pneumonia is why he is seen


def test_a_written_problem_list_puts_its_first_problem_first(recommender: Recommender) -> None:
    import datetime as dt

    from garmle.types import Medication, Observation, Problem

    listed = (Problem("Paranoid schizophrenia"), Problem("Type 2 diabetes"))
    meds = (Medication("metformin 500 mg"),)
    labs = (Observation("hba1c", 7.4, "%"),)
    patient = Patient("s", age=34, sex="male", problems=listed, medications=meds, labs=labs)
    predictions, _ = recommender.predict(patient)
    assert [p.code[:3] for p in predictions[:2]] == ["F20", "E11"]
    # dated problems (a record's conditions) are in no such order: the surer code leads
    dated = tuple(Problem(p.display, onset=dt.date(2020, 1, 1)) for p in listed)
    predictions, _ = recommender.predict(
        Patient("s", age=34, sex="male", problems=dated, medications=meds, labs=labs)
    )
    assert predictions[0].code.startswith("E11")


def test_a_condition_of_pregnancy_puts_the_patient_in_the_pregnancy_population(
    recommender: Recommender,
) -> None:
    report = recommender.recommend("28F, gestational diabetes on diet, glucose 8.2 mmol/L.", top_k=3)
    assert report.predictions and report.predictions[0].code.startswith("O24.4")
    assert report.patient.pregnant is True


def test_the_index_keeps_each_passages_population_reading(small_index: Path, tmp_path: Path) -> None:
    import shutil

    from garmle.cache import write_cache
    from garmle.fusion import ANYONE, passage_population
    from garmle.recommender import prepare_index

    index = tmp_path / "index"
    shutil.copytree(small_index, index)
    patient = SAMPLES / "hypertension-diabetes-ckd.json"
    unprepared = Recommender.open(index)
    assert unprepared._passage_populations() is None  # read passage by passage
    before = unprepared.recommend(patient, top_k=5)

    assert prepare_index(unprepared.store, unprepared.embedder) > 0
    prepared = Recommender.open(index)
    readings = prepared._passage_populations()
    assert readings is not None and ANYONE not in readings.values()
    passages = list(prepared.retriever.passages())
    assert any(r.pregnancy for r in readings.values())
    for cid, text, section in passages:
        assert readings.get(cid, ANYONE) == passage_population(text, section)
    after = prepared.recommend(patient, top_k=5)
    assert [s.chunk_id for s in _all_snippets(after)] == [s.chunk_id for s in _all_snippets(before)]

    # a damaged or stale file is ignored, never trusted
    path = prepared.store.cache_file("passages.pkl")
    assert path is not None and path.is_file()
    write_cache(path, {"key": (0, "other index"), "value": {}})
    assert Recommender.open(index)._passage_populations() is None
    from garmle.fusion import READING_VERSION

    # readings kept by an earlier version of the reading are read again
    write_cache(path, {"key": (prepared.store.version(), READING_VERSION - 1), "value": {}})
    assert Recommender.open(index)._passage_populations() is None
    path.write_bytes(b"not a pickle")
    assert Recommender.open(index)._passage_populations() is None


def test_the_notes_reach_retrieval_but_no_file_of_the_index(small_index: Path, tmp_path: Path) -> None:
    import shutil

    index = tmp_path / "index"
    shutil.copytree(small_index, index)
    marker = "zanzibarite"  # a word of this patient's note, and of nothing else
    patient = Patient(
        "n1", age=64, sex="male", notes=(f"Hypertension, home readings 150/95; works with {marker} dust.",)
    )
    report = Recommender.open(index).recommend(patient, codes=["I10"], top_k=3)
    assert any(q.aspect == "presentation" and marker in q.text for q in report.queries)
    for path in index.rglob("*"):
        if path.is_file():
            assert marker.encode() not in path.read_bytes(), path

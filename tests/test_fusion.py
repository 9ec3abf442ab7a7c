"""Fusion: population rules, fact matching, ranking with MMR, and the verbatim check."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from garmle.fusion import (
    FusionWeights,
    TopicIndex,
    conditions_of,
    covered_conditions,
    designators,
    guideline_conditions,
    is_empty_passage,
    leading_snippets,
    match_facts,
    names_only_negated,
    population_conflict,
    rank_snippets,
    section_prior,
    topic_coverage,
    topic_names,
    verify_snippets,
)
from garmle.ingest.ngc import load_ngc
from garmle.render import report_html, report_json, report_text
from garmle.retrieval import Hit, mmr_select, rrf_fuse, tokenize
from garmle.types import Chunk, CodePrediction, Document, Patient, Recommendation, Report, Snippet

ADULT = Patient("a", age=58, sex="male")
PREGNANT = Patient("b", age=29, sex="female", pregnant=True)
CHILD = Patient("c", age=8, sex="female")


def test_population_rules() -> None:
    assert population_conflict("Children and adolescents aged 2 to 18 with asthma", "", ADULT) == (
        "written for children"
    )
    assert population_conflict("Adults 18 years and older with hypertension", "", ADULT) is None
    assert population_conflict("Adults 18 years and older", "", CHILD) == "written for adults"
    assert population_conflict("Pregnant women with chronic hypertension", "", ADULT) is not None
    assert population_conflict("Pregnant women with chronic hypertension", "", PREGNANT) is None
    assert population_conflict("Postmenopausal women", "Osteoporosis", ADULT) == "written for women"
    # a title written for one sex, but not one that includes pregnant women alongside
    female = "Surgical treatment of female stress urinary incontinence"
    assert population_conflict("", female, ADULT, ["adults"]) == "written for women"
    alongside = "Tobacco smoking cessation in adults, including pregnant women"
    assert population_conflict("", alongside, ADULT, ["adults"]) is None
    assert population_conflict("", "Hypertension in children", ADULT) == "written for children"
    assert population_conflict("Adults and children with asthma", "", ADULT) is None


def test_match_facts_and_topic_names() -> None:
    facts = {"eGFR 48": ("egfr", "kidney function"), "BP 150/95": ("blood pressure",)}
    assert match_facts("Check kidney function yearly.", facts) == ("eGFR 48",)
    assert match_facts("Nothing relevant.", facts) == ()
    assert topic_names("Type 2 diabetes mellitus without complications") == (("diabet", "mellitu"),)
    assert topic_names("Unspecified atrial fibrillation") == (("atrial", "fibrill"),)


def test_topic_coverage_takes_the_best_name_not_the_pooled_words() -> None:
    names = topic_names("Essential (primary) hypertension", "HTN", "high blood pressure")
    # one of three names in full: the guideline is about the condition
    assert topic_coverage(names, "Hypertension in adults") == 1.0
    assert topic_coverage(names, "High blood pressure in adults: screening") == 1.0
    assert topic_coverage(names, "Pressure ulcers") == 1 / 3
    # a short stem is a whole word: "fib" does not name fibrosis, "HTN" is found as a word
    assert topic_coverage(topic_names("A fib"), "Idiopathic pulmonary fibrosis") == 0.0
    assert topic_coverage(names, "Managing HTN in primary care") == 1.0


def test_an_inflammation_is_not_named_by_its_organs_adjective() -> None:
    pancreatitis = topic_names("Acute pancreatitis", "Pancreatitis")
    assert topic_coverage(pancreatitis, "Metastatic pancreatic cancer") == 0.0
    assert topic_coverage(pancreatitis, "Management of acute pancreatitis") == 1.0
    assert topic_coverage(topic_names("Myocarditis"), "Acute myocardial infarction") == 0.0
    assert topic_coverage(topic_names("Endometriosis"), "Endometrial cancer") == 0.0
    assert topic_coverage(topic_names("Encephalopathy"), "Viral encephalitis") == 0.0
    assert topic_coverage(topic_names("Endometriosis"), "Endometriotic cysts") == 1.0
    # a process's adjective still names it
    assert topic_coverage(topic_names("Osteoporosis"), "Osteoporotic fractures: risk") == 1.0
    assert topic_coverage(topic_names("Atherosclerosis"), "Atherosclerotic cardiovascular disease") == 1.0


def test_non_x_names_no_x() -> None:
    index = TopicIndex(
        {"af": "Acute AF in non-pregnant adults", "hdp": "Hypertensive disorders of pregnancy"}
    )
    assert index.naming(topic_names("Pregnancy")) == {"hdp"}
    assert topic_coverage(topic_names("Hodgkin lymphoma"), "Non-Hodgkin lymphoma in adults") < 1.0
    assert topic_coverage(topic_names("Hodgkin lymphoma"), "Hodgkin and non-Hodgkin lymphoma") == 1.0
    # a name with "non-" needs it: an NSTEMI title is not named by "ST elevation myocardial infarction"
    nstemi = topic_names("Non-ST elevation myocardial infarction")
    assert topic_coverage(nstemi, "Non-ST-elevation myocardial infarction: early management") == 1.0
    assert topic_coverage(nstemi, "ST elevation myocardial infarction") < 1.0
    cirrhosis = topic_names("Alcoholic cirrhosis of liver", "cirrhosis")
    assert names_only_negated(cirrhosis, "Non-alcoholic fatty liver disease; cirrhosis")
    assert not names_only_negated(cirrhosis, "Alcohol-related liver disease; cirrhosis")


def test_a_short_name_does_not_shrink_to_one_common_word() -> None:
    ckd = topic_names("Chronic kidney disease")
    assert topic_coverage(ckd, "Kidney stones: assessment and management") < 1.0
    assert topic_coverage(ckd, "Chronic kidney disease in adults") == 1.0
    ms = topic_names("Multiple sclerosis")
    assert topic_coverage(ms, "Amyotrophic lateral sclerosis") < 1.0
    assert topic_coverage(ms, "Multiple sclerosis in adults: management") == 1.0
    hip_oa = topic_names("hip OA")
    assert topic_coverage(hip_oa, "Hip fracture: management") < 1.0
    assert topic_coverage(hip_oa, "Exercise for hip OA") == 1.0
    # an abbreviation stays a name of its own, and a longer name keeps ignoring the qualifiers
    assert topic_coverage(topic_names("chronic HBV"), "HBV vaccination") == 1.0
    copd = topic_names("Chronic obstructive pulmonary disease")
    assert topic_coverage(copd, "Obstructive pulmonary disease: inhaled therapy") == 1.0


def test_rrf_mmr_and_tokenize() -> None:
    fused = rrf_fuse({"a": ["x", "y", "z"], "b": ["y", "z"]})
    assert max(fused, key=lambda k: fused[k]) == "y"
    vecs = np.array([[1.0, 0.0], [0.99, 0.01], [0.0, 1.0]])
    assert mmr_select([1.0, 0.95, 0.5], vecs, 2, lambda_=0.5) == [0, 2]
    assert mmr_select([1.0, 0.95, 0.5], vecs, 2, lambda_=1.0) == [0, 1]
    assert mmr_select([1.0, 0.9, 0.8], np.eye(3), 2, groups=["d", "d", "e"], max_per_group=1) == [0, 2]
    # the cap spreads the first picks; once every other group is used up it fills the remaining slots
    assert mmr_select([1.0, 0.9, 0.8], np.eye(3), 3, groups=["d", "d", "e"], max_per_group=1) == [0, 2, 1]
    # past the cap a group's passage counts at over_cap of its relevance: a strong second passage of
    # one guideline beats a weak passage of another, a close one does not
    capped = {"groups": ["d", "d", "e"], "max_per_group": 1, "over_cap": 0.75}
    assert mmr_select([1.0, 0.9, 0.5], np.eye(3), 2, lambda_=1.0, **capped) == [0, 1]  # type: ignore[arg-type]
    assert mmr_select([1.0, 0.9, 0.8], np.eye(3), 2, lambda_=1.0, **capped) == [0, 2]  # type: ignore[arg-type]
    assert tokenize("Statins for adults") == ["statin", "adult"]


def _chunk(doc: str, i: int, text: str, *section: str) -> Chunk:
    return Chunk(
        f"{doc}:{i}",
        doc,
        text,
        0,
        len(text),
        section=section,
        metadata={"title": f"Guideline {doc}", "source": "ngc"},
    )


def test_rank_snippets_drops_other_populations_and_caps_per_doc() -> None:
    hits = {
        "treatment": [
            Hit(_chunk("kids", 0, "In children with hypertension use ACE inhibitors."), 0.1),
            Hit(_chunk("adult", 0, "Start a thiazide; target blood pressure below 130/80."), 0.09),
            Hit(_chunk("adult", 1, "Add a calcium channel blocker if blood pressure is above target."), 0.08),
            Hit(_chunk("adult", 2, "Blood pressure target for adults is 130/80."), 0.07),
            Hit(_chunk("other", 0, "Lifestyle changes lower blood pressure in hypertension."), 0.06),
        ]
    }
    vectors = {h.chunk.chunk_id: np.eye(5)[i] for i, h in enumerate(hits["treatment"])}
    snippets, dropped = rank_snippets(
        CodePrediction("I10", "Essential (primary) hypertension", 0.9),
        hits,
        fact_terms={"blood pressure 150/95 mmHg": ("blood pressure",)},
        topic=topic_names("Essential (primary) hypertension"),
        doc_topics={
            "adult": "Hypertension in adults",
            "kids": "Hypertension in children",
            "other": "Lifestyle changes in hypertension",
        },
        vectors=vectors,
        excluded_docs={"kids": "written for children"},
        top_k=3,
        weights=FusionWeights(max_per_doc=2, over_cap_factor=0.0),
    )
    assert dropped["population"] == 1
    assert [s.doc_id for s in snippets].count("adult") == 2
    assert "kids" not in {s.doc_id for s in snippets}
    assert all(s.matched_facts == ("blood pressure 150/95 mmHg",) for s in snippets)
    assert snippets[0].aspect == "treatment"


def _one_guideline_args(hits: dict[str, list[Hit]], condition: str, doc_topics: dict[str, str]) -> dict:
    """rank_snippets' other arguments for two passages of one guideline, each its own direction."""
    return {
        "fact_terms": {},
        "topic": topic_names(condition),
        "doc_topics": doc_topics,
        "vectors": {h.chunk.chunk_id: np.eye(2)[i] for i, h in enumerate(hits["treatment"])},
        "excluded_docs": {},
        "top_k": 2,
    }


def test_a_passage_for_another_population_ranks_below_one_for_the_patient() -> None:
    # one tobacco guideline for everyone, whose passages speak to one group in turn
    hits = {
        "treatment": [
            Hit(_chunk("tob", 0, "Offer counselling to all pregnant or postpartum women who smoke."), 0.1),
            Hit(_chunk("tob", 1, "Offer varenicline with counselling to adults who smoke."), 0.09),
        ]
    }
    args = _one_guideline_args(hits, "Nicotine dependence", {"tob": "Tobacco use and nicotine dependence"})
    pred = CodePrediction("F17.210", "Nicotine dependence, cigarettes", 0.9)
    man, _ = rank_snippets(pred, hits, **args, patient=ADULT)  # type: ignore[arg-type]
    # halved, the passage for pregnant women falls below the score floor for a man
    assert [s.chunk_id for s in man] == ["tob:1"]
    mother, _ = rank_snippets(pred, hits, **args, patient=PREGNANT)  # type: ignore[arg-type]
    assert [s.chunk_id for s in mother] == ["tob:0", "tob:1"]
    unfiltered = FusionWeights(population_filter=False)
    same, _ = rank_snippets(pred, hits, **args, patient=ADULT, weights=unfiltered)  # type: ignore[arg-type]
    assert [s.chunk_id for s in same] == ["tob:0", "tob:1"]


@pytest.mark.parametrize(
    ("title", "written_for"),
    [
        ("Anaemia management in people with chronic kidney disease.", ("chronic kidney disease",)),
        ("Management of febrile neutropenia in adult cancer patients.", ("cancer",)),
        (
            "Prophylaxis of venous thromboembolism in patients undergoing treatment for solid tumours.",
            ("cancer",),
        ),
        (
            "British HIV Association guidelines for hepatitis viruses in adults infected with HIV 2013.",
            ("hiv",),
        ),
        ("IWGDF guidance on the prevention of foot ulcers in at-risk patients with diabetes.", ("diabetes",)),
        (
            "Apixaban for preventing stroke in people with nonvalvular atrial fibrillation.",
            ("atrial fibrillation",),
        ),
        ("Management of chronic insomnia disorder in adults.", ()),
        ("Adult asthma care: promoting control of asthma.", ()),
        ("Guidance for patients with hearing aids.", ()),
        (
            "2013 IDSA clinical practice guideline for vaccination of the immunocompromised host.",
            ("immunocompromise",),
        ),
        (
            "Adapting your practice: recommendations for patients who are homeless with diabetes.",
            ("homelessness",),
        ),
    ],
)
def test_the_conditions_a_guideline_title_is_written_for(title: str, written_for: tuple[str, ...]) -> None:
    assert guideline_conditions(title) == written_for


def test_a_guideline_for_people_with_another_condition_ranks_below_a_general_one() -> None:
    # the same depression statement in a general guideline and in one for patients with cancer
    text = "Offer an SSRI or cognitive behavioural therapy for moderate major depressive disorder."
    cancer = replace(
        _chunk("onc", 0, text), metadata={"title": "Depression in patients with cancer", "source": "ngc"}
    )
    hits = {"treatment": [Hit(cancer, 0.1), Hit(_chunk("gen", 0, text + " "), 0.09)]}
    args = {
        "fact_terms": {},
        "topic": topic_names("Major depressive disorder, single episode, moderate"),
        "doc_topics": {"onc": "Major depressive disorder in cancer", "gen": "Major depressive disorder"},
        "vectors": {"onc:0": np.eye(2)[0], "gen:0": np.eye(2)[1]},
        "excluded_docs": {},
        "top_k": 2,
        "patient": ADULT,
    }
    pred = CodePrediction("F32.1", "Major depressive disorder, single episode, moderate", 0.9)
    without, _ = rank_snippets(pred, hits, **args, patient_conditions=frozenset())  # type: ignore[arg-type]
    # halved, the guideline for patients with cancer falls below the score floor
    assert [s.doc_id for s in without] == ["gen"]
    with_cancer, _ = rank_snippets(pred, hits, **args, patient_conditions=frozenset({"cancer"}))  # type: ignore[arg-type]
    assert [s.doc_id for s in with_cancer] == ["onc", "gen"]
    unknown, _ = rank_snippets(pred, hits, **args)  # type: ignore[arg-type]
    assert [s.doc_id for s in unknown] == ["onc", "gen"]


def test_a_passage_under_a_heading_for_another_population_ranks_below_one_for_the_patient() -> None:
    # a list item under a children's heading says nothing of age in its own words
    kids = _chunk(
        "sad",
        0,
        "- Monitor treatment adherence and practitioner competence.",
        "Major Recommendations",
        "Interventions for Children and Young People With Social Anxiety",
    )
    adults = _chunk(
        "sad",
        1,
        "- Offer individual CBT and monitor treatment adherence.",
        "Major Recommendations",
        "Interventions for Adults With Social Anxiety Disorder",
    )
    hits = {"treatment": [Hit(kids, 0.1), Hit(adults, 0.09)]}
    args = _one_guideline_args(
        hits, "Social phobia, unspecified", {"sad": "Social anxiety disorder (social phobia)"}
    )
    pred = CodePrediction("F40.10", "Social phobia, unspecified", 0.9)
    adult, _ = rank_snippets(pred, hits, **args, patient=ADULT)  # type: ignore[arg-type]
    assert [s.chunk_id for s in adult] == ["sad:1"]  # the children's item falls below the floor
    child, _ = rank_snippets(pred, hits, **args, patient=CHILD)  # type: ignore[arg-type]
    assert "sad:0" in {s.chunk_id for s in child}


def test_for_a_diagnosis_the_patient_carries_finding_it_ranks_below_treating_it() -> None:
    from garmle.fusion import is_about_finding, is_diagnostic

    testing = _chunk(
        "osa",
        0,
        "Recommendation 2: Use polysomnography or home testing in uncomplicated adults.",
        "Major Recommendations",
        "Home Sleep Apnea Testing for the Diagnosis of OSA in Adults",
    )
    treating = _chunk(
        "osa",
        1,
        "Recommendation 3: Offer positive airway pressure to adults with OSA.",
        "Major Recommendations",
        "Positive Airway Pressure Therapy",
    )
    hits = {"treatment": [Hit(testing, 0.1), Hit(treating, 0.09)]}
    args = _one_guideline_args(hits, "Obstructive sleep apnea", {"osa": "Obstructive sleep apnea in adults"})
    apnea = CodePrediction("G47.33", "Obstructive sleep apnea (adult) (pediatric)", 0.9)
    carried, _ = rank_snippets(apnea, hits, **args)  # type: ignore[arg-type]
    assert [s.chunk_id for s in carried] == ["osa:1", "osa:0"]
    off = FusionWeights(diagnostic_factor=1.0)
    assert [s.chunk_id for s in rank_snippets(apnea, hits, **args, weights=off)[0]] == ["osa:0", "osa:1"]
    # a symptom (R) or an encounter (Z) is there to be worked up: finding the cause keeps its place
    snoring = CodePrediction("R06.83", "Snoring", 0.9)
    workup, _ = rank_snippets(snoring, hits, **args)  # type: ignore[arg-type]
    assert [s.chunk_id for s in workup] == ["osa:0", "osa:1"]
    assert is_about_finding("Screening for Hepatitis C")
    assert not is_about_finding("Diagnosis and Treatment of Hepatitis C")
    # a screening guideline's passages are about finding, except those under a treatment heading
    screening = Chunk("s:0", "s", "Offer one-time testing.", 0, 23, metadata={"title": "Screening for HCV"})
    assert is_diagnostic(screening)
    assert not is_diagnostic(replace(screening, section=("Major Recommendations", "Treatment of HCV")))


def test_a_screening_guideline_that_is_all_the_index_has_is_still_shown() -> None:
    only = _chunk("tsh", 0, "The USPSTF recommends levothyroxine for overt hypothyroidism.")
    only = replace(only, metadata={"title": "Screening for thyroid dysfunction"})
    hits = {"treatment": [Hit(only, 0.1)]}
    args = _one_guideline_args(
        hits, "Hypothyroidism", {"tsh": "Screening for thyroid dysfunction hypothyroidism"}
    )
    thyroid = CodePrediction("E03.9", "Hypothyroidism, unspecified", 0.9)
    shown, _ = rank_snippets(thyroid, hits, **args)  # type: ignore[arg-type]
    kept, _ = rank_snippets(thyroid, hits, **args, weights=FusionWeights(diagnostic_factor=1.0))  # type: ignore[arg-type]
    assert [s.chunk_id for s in shown] == ["tsh:0"]
    assert shown[0].score == pytest.approx(0.8 * kept[0].score, abs=1e-3)


def test_headings_complete_a_passages_reading_without_overruling_its_words() -> None:
    from garmle.fusion import ANYONE, heading_population, passage_population

    assert heading_population(("Major Recommendations", "Antenatal Care for Women with Diabetes")).pregnancy
    assert heading_population(("Recommendations", "Management")) == ANYONE
    under_pregnancy = ("Treatment", "Safety Considerations in Pregnant Patients")
    assert passage_population("Use the lowest effective dose.", under_pregnancy).pregnancy
    # the passage's own words say it is for everyone; what to avoid in pregnancy is still for pregnancy
    assert not passage_population("Treat all adults, including pregnant women.", under_pregnancy).pregnancy
    assert passage_population("Do not use warfarin unless planning care.", under_pregnancy).pregnancy
    older = ("Screening", "Women Aged 50-69 Years")
    assert passage_population("Offer mammography every 2 years.", older).ages == ((50.0, 70.0),)
    # the passage's own age range comes first
    assert passage_population("Offer it from age 40 to 49.", older).ages == ((40.0, 50.0),)
    lipids = ("Statins", "Primary Prevention in Individuals with Diabetes and LDL-C 70-189 mg/dL")
    assert passage_population("Use a moderate-intensity statin.", lipids).conditions == ("diabetes",)
    # the adults around a child do not make a children's passage one for adults; adult patients do
    children = ("Major Recommendations", "Interventions for Children and Young People With Social Anxiety")
    around = "Work with parents, teachers, other adults and the child or young person's peers."
    assert passage_population(around, children).children
    assert not passage_population("In young people and adults, offer CBT.", children).children


def test_verbatim_check_drops_altered_snippets() -> None:
    doc = Document("d", "T", "Offer metformin as first-line therapy.")
    good = Snippet("Offer metformin", "d", "d:0", "T", 0, 15, 1.0)
    altered = Snippet("Offer insulin", "d", "d:1", "T", 0, 13, 1.0)
    out_of_range = Snippet("x", "d", "d:2", "T", 100, 101, 1.0)
    unknown_doc = Snippet("Offer", "zz", "zz:0", "T", 0, 5, 1.0)
    kept, check = verify_snippets([good, altered, out_of_range, unknown_doc], {"d": doc})
    assert kept == [good]
    assert (check.checked, check.failed) == (4, 3)
    assert set(check.dropped) == {"d:1", "d:2", "zz:0"}


def test_population_rules_with_recorded_groups() -> None:
    assert population_conflict("Patients 10 years to less than 18 years of age", "", ADULT, ["children"]) == (
        "written for children"
    )
    assert (
        population_conflict("Adults, including pregnant women", "", ADULT, ["adults", "pregnancy", "women"])
        is None
    )
    assert population_conflict("Pregnant women", "", ADULT, ["pregnancy", "women"]) == "written for pregnancy"
    assert (
        population_conflict("Women aged 65 and older", "", ADULT, ["older adults", "women"])
        == "written for women"
    )
    assert population_conflict("Adults 18 and older", "", CHILD, ["adults"]) == "written for adults"
    assert population_conflict("Adults", "Asthma in children and adolescents", ADULT, ["adults"]) == (
        "written for children"
    )


def test_passages_not_naming_the_condition_are_left_out() -> None:
    hits = {
        "treatment": [
            Hit(_chunk("sinus", 0, "Offer saline irrigation for chronic sinusitis."), 0.1),
            Hit(_chunk("htn", 0, "Start a thiazide diuretic for high blood pressure."), 0.05),
        ]
    }
    snippets, dropped = rank_snippets(
        CodePrediction("J32.9", "Chronic sinusitis, unspecified", 0.9),
        hits,
        fact_terms={},
        topic=topic_names("Chronic sinusitis, unspecified"),
        doc_topics={"htn": "Hypertension", "sinus": "Chronic sinusitis in adults"},
        vectors={},
        excluded_docs={},
        top_k=3,
    )
    assert [s.doc_id for s in snippets] == ["sinus"]
    assert dropped["off_topic"] == 1


def test_other_guidelines_count_only_through_cross_aspects_about_the_patient() -> None:
    statin = _chunk("lipid", 0, "Offer a statin to adults with diabetes aged 40 to 75 years.")
    af = _chunk("af", 0, "In patients with diabetes and atrial fibrillation, offer anticoagulation.")
    metformin = _chunk("dm", 0, "ACP recommends metformin for type 2 diabetes.")
    doc_topics = {
        "lipid": "Blood cholesterol in adults",
        "af": "Atrial fibrillation",
        "dm": "Type 2 diabetes mellitus",
    }

    def scores(
        hits: dict[str, list[Hit]], related: tuple[tuple[tuple[str, ...], ...], ...]
    ) -> dict[str, float]:
        snippets, _ = rank_snippets(
            CodePrediction("E11.9", "Type 2 diabetes mellitus without complications", 0.9),
            hits,
            fact_terms={"LDL cholesterol 131 mg/dL": ("ldl", "cholesterol")},
            # the recommender adds the clinical synonyms ("diabetes") to the catalogue title
            topic=topic_names("Type 2 diabetes mellitus without complications", "diabetes"),
            doc_topics=doc_topics,
            vectors={},
            excluded_docs={},
            top_k=3,
            weights=FusionWeights(min_score=0.0),
            cross_aspects={"risk"},
            related_topics=related,
        )
        return {s.doc_id: s.score for s in snippets}

    cross = {"treatment": [Hit(metformin, 0.1)], "risk": [Hit(statin, 0.1), Hit(af, 0.1)]}
    via_risk = scores(cross, ())
    via_treatment = scores({"treatment": [Hit(metformin, 0.1), Hit(statin, 0.1), Hit(af, 0.1)]}, ())
    # the cholesterol guideline is about the patient's raised LDL: it keeps its score through the risk aspect
    assert via_risk["lipid"] > via_treatment["lipid"]
    # the AF guideline is about nothing this patient has: scaled down either way
    assert via_risk["af"] < via_risk["lipid"]
    with_af = scores(
        {"treatment": [Hit(metformin, 0.1)], "risk": [Hit(statin, 0.1), Hit(af, 0.1)]},
        (topic_names("Atrial fibrillation"),),
    )
    assert with_af["af"] > via_risk["af"]


def test_headings_inside_recommendations_that_hold_no_statement_rank_lower() -> None:
    top = ("Major Recommendations",)
    assert section_prior((*top, "Summary of Recommendations and Evidence")) == 1.0
    assert section_prior((*top, "Treatment", "Pharmacologic Therapy")) == 1.0
    assert section_prior((*top, "Summary of Literature Review")) == 0.5
    assert section_prior((*top, "Clinical Considerations", "Assessment of Risk")) == 0.5
    assert section_prior((*top, "Definitions")) == 0.0
    for table in (
        "Table of Evidence Levels",
        "Conclusion Grading Table",
        "Target Population",
        "Gaps in Knowledge",
    ):
        assert section_prior((*top, table)) == 0.0, table
    assert section_prior((*top, "Diagnosis", "Strength of Recommendations")) == 0.0
    # a statement section keeps its own (lower) prior when a heading below it is neutral
    assert section_prior(("Qualifying Statements", "Treatment")) == 0.4
    # what services, educators and staff should do is no statement for the patient
    for service in (
        "System, Organization and Policy Recommendations",
        "Organization and Policy Recommendations",
        "Education Recommendations",
        "Service Organisation",
        "Organisation and Delivery of Care",
        "Staff Training",
    ):
        assert section_prior((*top, service)) == 0.5, service
    for statement in (
        "Summary of Recommendations for Clinicians and Policymakers",
        "Education and Self-management",
    ):
        assert section_prior((*top, statement)) == 1.0, statement


def test_a_scope_note_that_leaves_a_condition_out_is_not_about_it(ngc_dir: Path) -> None:
    sinusitis = load_ngc(ngc_dir / "ngc-10703.xml")["metadata"]
    conditions = sinusitis["conditions"]  # type: ignore[index]
    migraine = topic_names("Migraine", "Chronic migraine without aura")
    assert topic_coverage(migraine, conditions) == 1.0  # "... will not consider ... migraines"
    covered = covered_conditions(conditions)
    assert topic_coverage(migraine, covered) == 0.0
    assert topic_coverage(topic_names("Acute rhinosinusitis"), covered) == 1.0
    unchanged = "Hypertension; - Type 2 diabetes mellitus"
    assert covered_conditions(unchanged) == unchanged


def test_a_postpartum_woman_is_in_the_pregnancy_guidelines_population() -> None:
    mother = Patient("m", age=30, sex="female", postpartum=True)
    assert population_conflict("Pregnant and postpartum women", "Postpartum haemorrhage", mother) is None
    assert population_conflict("Pregnant and postpartum women", "Postpartum haemorrhage", ADULT) is not None
    from garmle.fusion import passage_population_conflict

    passage = "Offer all pregnant and postpartum women screening for depression."
    assert passage_population_conflict(passage, mother) is None
    assert (
        passage_population_conflict(passage, Patient("w", age=30, sex="female")) == "addressed to pregnancy"
    )


def test_passages_for_another_age_group() -> None:
    from garmle.fusion import passage_age_bounds, passage_population_conflict

    forty, toddler = Patient("f", age=40, sex="male"), Patient("t", age=1, sex="male")
    jnc = "For patients 60 years and over, the Work Group recommends treating to a systolic below 150."
    assert passage_population_conflict(jnc, forty) == "addressed to another age group"
    assert passage_population_conflict(jnc, Patient("o", age=60)) is None
    both = "Aged 60 or older: treat to below 150; younger than 60: treat to below 140."
    assert passage_population_conflict(both, forty) is None
    aom = "Prescribe antibiotic therapy for bilateral AOM in children younger than 24 months."
    assert passage_population_conflict(aom, toddler) is None
    tubes = "Surgery for Children ≥4 Years Old: recommend tympanostomy tubes."
    assert passage_population_conflict(tubes, toddler) == "addressed to another age group"
    # older people, without an age said
    older = "Management of Older People with Epilepsy Antiepileptic Drug Treatment B - Lamotrigine or ..."
    assert (
        passage_population_conflict(older, Patient("y", age=26, sex="female"))
        == "addressed to another age group"
    )
    assert passage_population_conflict(older, Patient("o", age=72, sex="female")) is None
    assert passage_population_conflict("Dehydration is more common in the elderly.", forty) is None
    # durations, intervals, risks and titres are no ages
    assert passage_age_bounds("Anticoagulate for 3 to 6 months; recheck every 1-3 months.") == []
    assert passage_age_bounds("Repeat every 5 to 10 years if the 10-year risk is under 7.5%.") == []


def test_a_passage_reading_gives_the_same_verdict_as_its_text() -> None:
    from garmle.fusion import ANYONE, passage_population, passage_population_conflict, passage_populations

    texts = {
        "a:0": "Treat all pregnant or postpartum women for tobacco use.",
        "a:1": "In children aged 5 to 11, use a low-dose ICS.",
        "a:2": "For patients 60 years and over, treat to a systolic below 150.",
        "a:3": "Metformin is the preferred initial drug for type 2 diabetes.",
    }
    readings = passage_populations(texts.items())
    assert set(readings) == {"a:0", "a:1", "a:2"}  # a passage for anyone is left out
    for patient in (ADULT, Patient("c", age=8), Patient("p", age=30, sex="female", pregnant=True)):
        for cid, text in texts.items():
            reading = readings.get(cid, ANYONE)
            assert reading == passage_population(text)
            assert passage_population_conflict(reading, patient) == passage_population_conflict(text, patient)


def test_a_passage_that_is_only_its_guidelines_title_is_left_out() -> None:
    title = _chunk("osa", 0, "Guideline osa.")
    cpap = _chunk("osa", 1, "ACP recommends CPAP as initial therapy for obstructive sleep apnea.")
    code = CodePrediction("G47.33", "Obstructive sleep apnea (adult) (pediatric)", 0.9)
    snippets, dropped = _rank_one_guideline(code, "Obstructive sleep apnea", [title, cpap], top_k=3)
    assert [s.chunk_id for s in snippets] == ["osa:1"] and dropped["weak"] == 1


def _rank_one_guideline(
    code: CodePrediction, condition: str, chunks: list[Chunk], top_k: int
) -> tuple[list[Snippet], dict[str, int]]:
    """Rank the passages of one guideline about ``condition``, best retrieved first."""
    return rank_snippets(
        code,
        {"treatment": [Hit(c, 0.2 / (i + 1)) for i, c in enumerate(chunks)]},
        fact_terms={},
        topic=topic_names(condition),
        doc_topics={c.doc_id: condition for c in chunks},
        vectors={},
        excluded_docs={},
        top_k=top_k,
    )


def test_a_passage_for_patients_with_another_condition_ranks_below_one_for_this_patient() -> None:
    from garmle.fusion import addressed_conditions, conditions_of, passage_population_conflict

    diabetic = _chunk(
        "htn", 0, "30. For patients with diabetes, the Work Group recommends a systolic below 150."
    )
    general = _chunk("htn", 1, "The Work Group recommends treating to a systolic below 140 mmHg.")
    assert addressed_conditions(diabetic.text) == ("diabetes",)
    assert addressed_conditions(general.text) == ()
    # a condition named later, or only in a heading, or negated, does not address the passage
    assert addressed_conditions("Offer a thiazide. For patients with diabetes, add an ACE inhibitor.") == ()
    assert addressed_conditions("Management of Patients with Diabetes and Hypertension") == ()
    assert addressed_conditions("In adults with non-diabetic kidney disease, offer ...") == (
        "chronic kidney disease",
    )

    def ranked(codes: list[str] | None) -> list[str]:
        snippets, _ = rank_snippets(
            CodePrediction("I10", "Essential (primary) hypertension", 0.9),
            {"targets": [Hit(diabetic, 0.2), Hit(general, 0.1)]},
            fact_terms={},
            topic=topic_names("Essential (primary) hypertension", "Hypertension"),
            doc_topics={"htn": "Hypertension"},
            vectors={},
            excluded_docs={},
            top_k=2,
            patient=ADULT,
            patient_conditions=None if codes is None else conditions_of(codes),
        )
        return [s.chunk_id for s in snippets]

    # the patient has no diabetes: halved, the passage ranks below the other one or falls below the floor
    assert ranked(["I10"])[0] == "htn:1"
    assert ranked(["I10", "E11.9"]) == ["htn:0", "htn:1"]
    assert ranked(None) == ["htn:0", "htn:1"]  # conditions unknown: no check
    assert passage_population_conflict(diabetic.text, ADULT, conditions_of(["I10"])) is not None
    assert passage_population_conflict(diabetic.text, ADULT, conditions_of(["E11.65"])) is None
    # and one addressed to patients without a condition this patient has
    without = "For patients without diabetes or end organ damage, the target is below 140/90 mm Hg."
    assert addressed_conditions(without) == ("without diabetes",)
    assert passage_population_conflict(without, ADULT, conditions_of(["I10", "E11.9"])) is not None
    assert passage_population_conflict(without, ADULT, conditions_of(["I10"])) is None


def test_the_clearinghouse_note_ranks_below_the_recommendations_it_introduces() -> None:
    from garmle.fusion import is_editorial_note

    note = _chunk(
        "cap",
        0,
        "Pneumonia in adults. Major Recommendations Note from the National Guideline Clearinghouse (NGC): "
        "This guideline was developed by NICE. The wording used in the recommendations (for example words "
        "such as 'offer' and 'consider') denotes the certainty with which each is made.",
    )
    crb65 = _chunk("cap", 1, "Use the CRB65 score to assess pneumonia severity in primary care.")
    assert is_editorial_note(note) and not is_editorial_note(crb65)
    # a footnote on a drug's licence recommends nothing either, wherever it stands
    licence = _chunk(
        "sad", 28, "2 At the time of publication (May 2013) phenelzine did not have a UK licence."
    )
    assert is_editorial_note(licence)
    assert not is_editorial_note(_chunk("sad", 3, "Offer CBT. At the time of publication it was licensed."))
    code = CodePrediction("J18.9", "Pneumonia, unspecified organism", 0.9)
    snippets, _ = _rank_one_guideline(code, "Pneumonia", [note, crb65], top_k=2)
    assert [s.chunk_id for s in snippets] == ["cap:1", "cap:0"]


def test_a_guideline_on_a_sibling_condition_is_not_about_the_code() -> None:
    # "Chronic viral hepatitis" names hepatitis C in full; the designator tells them apart
    names = (
        "Chronic viral hepatitis B without delta-agent",
        "Chronic viral hepatitis",
        "chronic hepatitis B",
    )
    hits = {
        "treatment": [
            Hit(
                _chunk(
                    "hcv", 0, "All patients with chronic viral hepatitis C should be considered for therapy."
                ),
                0.1,
            ),
            Hit(
                _chunk("hbv", 0, "Offer tenofovir to adults with chronic viral hepatitis and raised ALT."),
                0.09,
            ),
            Hit(_chunk("hbv", 1, "Test people with chronic hepatitis B for HCV and HDV co-infection."), 0.08),
        ]
    }
    args = {
        "fact_terms": {},
        "topic": topic_names(*names),
        "doc_topics": {
            "hcv": "Management of hepatitis C. Chronic viral hepatitis C",
            "hbv": "Chronic hepatitis B",
        },
        "vectors": {h.chunk.chunk_id: np.eye(3)[i] for i, h in enumerate(hits["treatment"])},
        "excluded_docs": {},
        "top_k": 3,
    }
    pred = CodePrediction("B18.1", names[0], 0.9)
    before, _ = rank_snippets(pred, hits, **args)  # type: ignore[arg-type]
    assert before[0].chunk_id == "hcv:0"
    after, dropped = rank_snippets(pred, hits, **args, siblings=designators(*names))  # type: ignore[arg-type]
    # the hepatitis C guideline's passage names only hepatitis C: it no longer names the condition
    assert [s.chunk_id for s in after] == ["hbv:0", "hbv:1"] and dropped["off_topic"] == 1


def test_a_passage_on_a_sibling_ranks_below_its_neighbours_in_a_shared_guideline() -> None:
    names = ("Type 2 diabetes mellitus without complications", "type 2 diabetes", "T2DM")
    hits = {
        "treatment": [
            Hit(
                _chunk(
                    "dm",
                    0,
                    "People with type 1 diabetes should be offered multiple daily insulin injections.",
                ),
                0.1,
            ),
            Hit(
                _chunk("dm", 1, "Offer metformin as the initial drug treatment for adults with diabetes."),
                0.09,
            ),
        ]
    }
    args = _one_guideline_args(hits, names[0], {"dm": "Standards of medical care in diabetes"})
    args["topic"] = topic_names(*names)
    pred = CodePrediction("E11.9", names[0], 0.9)
    plain, _ = rank_snippets(pred, hits, **args)  # type: ignore[arg-type]
    assert plain[0].chunk_id == "dm:0"
    marked, _ = rank_snippets(pred, hits, **args, siblings=designators(*names))  # type: ignore[arg-type]
    assert [s.chunk_id for s in marked] == ["dm:1", "dm:0"]
    args["doc_topics"] = {"dm": "Type 1 and type 2 diabetes in adults"}
    both, _ = rank_snippets(pred, hits, **args, siblings=designators(*names))  # type: ignore[arg-type]
    assert [s.chunk_id for s in both] == ["dm:1", "dm:0"]
    # a guideline on type 2 diabetes alone speaks of type 1 for its own readers
    args["doc_topics"] = {"dm": "Type 2 diabetes in adults: management"}
    own, _ = rank_snippets(pred, hits, **args, siblings=designators(*names))  # type: ignore[arg-type]
    assert own[0].chunk_id == "dm:0"


def _rec(code: str, *ids: str) -> Recommendation:
    return Recommendation(code, code, 0.9, snippets=tuple(Snippet(i, "d", i, "T", 0, 1, 1.0) for i in ids))


def test_leading_snippets_give_the_presenting_code_three_places_per_turn() -> None:
    recs = [_rec("A", "a0", "a1", "a2", "a3"), _rec("B", "b0", "b1"), _rec("C", "c0", "shared", "c2")]
    ranked = [(code, s.chunk_id) for code, s in leading_snippets(recs, 8)]
    assert ranked == [
        ("A", "a0"),
        ("A", "a1"),
        ("A", "a2"),
        ("B", "b0"),
        ("C", "c0"),
        ("A", "a3"),
        ("B", "b1"),
        ("C", "shared"),
    ]
    # a passage two codes share is listed once, under the code that reaches it first
    recs = [_rec("A", "a0", "shared"), _rec("B", "shared", "b1")]
    assert [(c, s.chunk_id) for c, s in leading_snippets(recs, 10)] == [
        ("A", "a0"),
        ("A", "shared"),
        ("B", "b1"),
    ]
    # round-robin is the share of one; nothing for k 0 or no codes
    assert [s.chunk_id for _, s in leading_snippets(recs, 2, presenting_share=1)] == ["a0", "shared"]
    assert leading_snippets(recs, 0) == [] and leading_snippets([], 5) == []


def test_reports_list_the_leading_evidence_first() -> None:
    report = Report(patient=Patient("p"), recommendations=(_rec("A", "a0", "a1"), _rec("B", "b0")))
    assert [(c, s.chunk_id) for c, s in report.leading(2)] == [("A", "a0"), ("A", "a1")]
    text = report_text(report)
    assert "Leading evidence" in text and text.index("Leading evidence") < text.index("== A")
    assert "<h2>Leading evidence</h2><ol><li><b>A</b>" in report_html(report)
    assert '"leading": [{"code": "A", "chunk_id": "a0"}' in report_json(report, indent=None)
    # one code: its own list is the leading list, so none is printed twice
    assert "Leading evidence" not in report_text(
        Report(patient=Patient("p"), recommendations=(_rec("A", "a0"),))
    )


def test_passages_with_nothing_but_headings_and_a_placeholder_are_empty() -> None:
    def chunk(text: str, *section: str) -> Chunk:
        return Chunk("d:1", "d", text, 0, len(text), section=section)

    for text, section in [
        ("Definitions:", ("Major Recommendations",)),
        ("- Differences of opinion: None", ("Action Statement Profile",)),
        ("Potential Harms\n\nNot stated", ("Potential Harms",)),
        ("Clinical Algorithm(s)\n\nNone available", ("Clinical Algorithm(s)",)),
        ("Medical Therapy", ("Major Recommendations", "Class I")),
        ("See Table 5 in the original guideline document for high-intensity statin therapies.", ()),
        ("Potential Harms\n\nRefer to Appendix B in the original guideline document.", ("Potential Harms",)),
    ]:
        assert is_empty_passage(chunk(text, *section)), text
    for text, section in [
        ("Offer CPAP to adults with moderate OSA.", ("Major Recommendations",)),
        ("Potential Harms\n\nHypoglycaemia with sulfonylureas", ("Potential Harms",)),
        ("None of the trials enrolled adults older than 80 years, so no recommendation is made.", ()),
        ("Offer a high-intensity statin (see Table 5). Review adherence at 3 months.", ()),
    ]:
        assert not is_empty_passage(chunk(text, *section)), text


def test_a_passages_traits_are_kept_per_span() -> None:
    from garmle.fusion import _traits, action_strength, is_empty_passage, section_prior
    from garmle.types import Chunk

    text = "Treatment\n\nWe recommend metformin as first-line therapy."
    chunk = Chunk("kept:0", "kept", text, 0, len(text), section=("Major Recommendations", "Treatment"))
    assert _traits(chunk) == (False, action_strength(chunk), section_prior(chunk.section), False)
    # the same id over another span (another chunking of the document) is read again
    empty = Chunk("kept:0", "kept", "Definitions:", 0, 12, section=("Major Recommendations",))
    assert is_empty_passage(empty) and _traits(empty)[0] is True


def test_a_guideline_in_british_spelling_is_about_the_catalogues_condition() -> None:
    anemia = topic_names("Iron deficiency anemia, unspecified")
    assert topic_coverage(anemia, "WHO guideline: daily iron supplementation. Iron deficiency anaemia") == 1.0
    reflux = topic_names("Gastro-esophageal reflux disease")
    assert topic_coverage(reflux, "Gastro-oesophageal reflux disease in adults") == 1.0
    # and a British name finds an American text
    assert topic_coverage(topic_names("Coeliac disease"), "Celiac disease: diagnosis and management") == 1.0


def test_a_guideline_naming_the_condition_only_inside_a_siblings_name_is_not_about_it() -> None:
    from garmle.catalogue import IcdCatalogue
    from garmle.fusion import about_another
    from garmle.query import condition_names, sibling_names

    catalogue = IcdCatalogue()
    for code, text, another in (
        ("N30.00", "Diagnosis and treatment of interstitial cystitis/bladder pain syndrome", True),
        ("N30.00", "Acute uncomplicated cystitis in women", False),
        ("I50.32", "Cardiac resynchronization therapy for systolic heart failure", True),
        ("I50.32", "Heart failure in adults: systolic and diastolic heart failure", False),
        # a sibling that adds no word to the condition's names is the condition itself
        ("M17.11", "Treatment of primary osteoarthritis of knee", False),
    ):
        names = condition_names(code, catalogue)
        assert (
            about_another(topic_names(*names), designators(*names), text, sibling_names(code, catalogue))
            is another
        ), (
            code,
            text,
        )


def test_a_guideline_on_preventing_the_condition_the_patient_has_ranks_like_finding_it() -> None:
    from garmle.fusion import prevented_condition

    prevent = _chunk("prev", 0, "Offer a structured lifestyle programme to people at high risk of diabetes.")
    prevent = replace(prevent, metadata={"title": "Prevention of type 2 diabetes in adults"})
    hits = {"treatment": [Hit(prevent, 0.1)]}
    args = _one_guideline_args(hits, "Type 2 diabetes", {"prev": "Prevention of type 2 diabetes"})
    diabetes = CodePrediction("E11.9", "Type 2 diabetes mellitus without complications", 0.9)
    shown, _ = rank_snippets(diabetes, hits, **args)  # type: ignore[arg-type]
    kept, _ = rank_snippets(diabetes, hits, **args, weights=FusionWeights(diagnostic_factor=1.0))  # type: ignore[arg-type]
    assert shown[0].score == pytest.approx(0.8 * kept[0].score, abs=1e-3)
    # preventing its exacerbations, or its recurrence, is caring for it
    assert prevented_condition("Prevention of acute exacerbations of COPD") == "acute exacerbations"
    assert prevented_condition("Rivaroxaban for treating PE and preventing recurrent VTE") is None
    assert prevented_condition("Stroke prevention in atrial fibrillation") == "Stroke"


def test_asplenia_of_sickle_cell_disease_is_an_immunocompromise() -> None:
    from garmle.fusion import conditions_of, written_for_others

    title = "2013 IDSA clinical practice guideline for vaccination of the immunocompromised host."
    assert not written_for_others(title, conditions_of(["D57.1"]))
    assert written_for_others(title, conditions_of(["I10"]))
    # hepatitis B and C are conditions a passage can be addressed to
    assert conditions_of(["B18.1"]) == {"hepatitis b"}


def test_primary_and_central_hypothyroidism_are_subtypes_apart() -> None:
    from garmle.fusion import names_other_subtype, patient_subtypes

    primary = patient_subtypes("Hypothyroidism, unspecified")
    assert names_other_subtype("Hormonal replacement in hypopituitarism in adults", primary)
    assert not names_other_subtype("Levothyroxine for primary hypothyroidism", primary)
    assert not names_other_subtype("Hypothyroidism in older people", patient_subtypes("Hypothyroidism"))


def test_a_passage_on_the_other_subtype_of_the_condition_ranks_as_off_topic() -> None:
    hits = {
        "treatment": [
            Hit(
                _chunk("hf", 0, "Treatment of Heart Failure with Preserved Ejection Fraction: control BP."),
                0.1,
            ),
            Hit(
                _chunk("hf", 1, "Offer an ACE inhibitor and a beta-blocker to people with heart failure."),
                0.09,
            ),
        ]
    }
    args = _one_guideline_args(hits, "Heart failure", {"hf": "Chronic heart failure in adults"})
    reduced = CodePrediction("I50.22", "Chronic systolic (congestive) heart failure", 0.9)
    ranked, _ = rank_snippets(reduced, hits, **args, patient=ADULT)  # type: ignore[arg-type]
    # the subtype unknown, both passages keep their scores
    unknown = CodePrediction("I50.22", "Heart failure", 0.9)
    kept, _ = rank_snippets(unknown, hits, **args, patient=ADULT)  # type: ignore[arg-type]
    score, kept_score = ({s.chunk_id: s.score for s in r} for r in (ranked, kept))
    assert score["hf:0"] == pytest.approx(0.75 * kept_score["hf:0"], abs=1e-3)
    assert score["hf:1"] == pytest.approx(kept_score["hf:1"], abs=1e-3)


def test_a_pharmacogenetics_guideline_fits_only_a_patient_on_its_drug() -> None:
    from garmle.fusion import drug_not_taken
    from garmle.types import Medication

    title = "Clinical Pharmacogenetics Implementation Consortium guidelines for CYP2C9 and phenytoin dosing."
    assert drug_not_taken(title, Patient("p", notes=("Febrile seizure, first episode.",))) is not None
    on_it = Patient("p", medications=(Medication("Phenytoin 100 mg three times daily"),))
    assert drug_not_taken(title, on_it) is None
    assert drug_not_taken(title, Patient("p", notes=("Epilepsy on phenytoin.",))) is None
    assert drug_not_taken("Hypertension in adults.", Patient("p")) is None


def test_a_passage_for_a_cancer_that_has_spread_ranks_below_one_for_a_localised_cancer() -> None:
    hits = {
        "treatment": [
            Hit(
                _chunk(
                    "pca",
                    0,
                    "Offer bilateral orchidectomy to all men.",
                    "Major Recommendations",
                    "Metastatic Prostate Cancer",
                    "Treatment",
                ),
                0.1,
            ),
            Hit(
                _chunk(
                    "pca",
                    1,
                    "Offer active surveillance to men with low-risk disease.",
                    "Major Recommendations",
                    "Localised and Locally Advanced Prostate Cancer",
                ),
                0.09,
            ),
        ]
    }
    args = _one_guideline_args(hits, "Prostate cancer", {"pca": "Prostate cancer"})
    pred = CodePrediction("C61", "Malignant neoplasm of prostate", 0.9)
    localised, _ = rank_snippets(  # type: ignore[arg-type]
        pred, hits, **args, patient=ADULT, patient_conditions=conditions_of(["C61"])
    )
    assert [s.chunk_id for s in localised] == ["pca:1"]
    spread, _ = rank_snippets(  # type: ignore[arg-type]
        pred, hits, **args, patient=ADULT, patient_conditions=conditions_of(["C61", "C79.51"])
    )
    assert spread[0].chunk_id == "pca:0"


def test_a_note_on_where_the_grades_are_defined_is_an_empty_passage() -> None:
    title = "Clinical practice guideline: tinnitus."
    text = f"{title}\n\nMajor Recommendations\n\nThe evidence grades are defined at the end of the "
    text += '"Major Recommendations" field.'
    assert is_empty_passage(Chunk("t:0", "t", text, 0, len(text), metadata={"title": title}))
    text = f"{title}\n\nMajor Recommendations\n\nClinicians should recommend a hearing aid evaluation."
    assert not is_empty_passage(Chunk("t:1", "t", text, 0, len(text), metadata={"title": title}))


def test_pregnancy_headings_and_passages_for_asymptomatic_patients() -> None:
    from garmle.fusion import passage_population

    section = ("Major Recommendations", "Pregnancy and VHD", "Native Valve Stenosis", "Class IIa")
    text = "Exercise testing is reasonable in asymptomatic patients with severe AS before pregnancy."
    assert passage_population(text, section).pregnancy
    assert not passage_population("Treat all patients, including pregnant women.", section).pregnancy
    hits = {
        "treatment": [
            Hit(_chunk("as", 0, "AVR is reasonable for asymptomatic patients with very severe AS."), 0.1),
            Hit(_chunk("as", 1, "AVR is recommended for symptomatic patients with severe AS."), 0.09),
        ]
    }
    args = _one_guideline_args(hits, "Aortic stenosis", {"as": "Aortic stenosis"})
    pred = CodePrediction("I35.0", "Nonrheumatic aortic (valve) stenosis", 0.9)
    symptomatic = Patient("s", age=84, sex="male", notes=("Severe symptomatic aortic stenosis.",))
    ranked, _ = rank_snippets(pred, hits, **args, patient=symptomatic)  # type: ignore[arg-type]
    unknown, _ = rank_snippets(pred, hits, **args, patient=ADULT)  # type: ignore[arg-type]
    score = {s.chunk_id: s.score for s in unknown}
    assert set(score) == {"as:0", "as:1"}
    # halved for the symptomatic patient (or below the floor), the other passage as it was
    halved = {s.chunk_id: s.score for s in ranked}
    assert halved.get("as:0", 0.0) < score["as:0"] and halved["as:1"] == score["as:1"]


@pytest.mark.parametrize(
    "population",
    [
        # women named as one subgroup of a guideline for all adults
        "Adults having STEMI. Guidance will address differences between specific populations, such as older "
        "adults, women and people from ethnic minorities",
        "Adults (aged 18 years and older) without established CVD. The following special groups are "
        "considered: - People older than 75 - Women - People with autoimmune disease",
    ],
)
def test_a_guideline_for_all_adults_that_names_women_as_a_subgroup_is_a_mans_too(population: str) -> None:
    man = Patient("p", age=63, sex="male")
    assert population_conflict(population, "Guideline", man, ["adults", "older adults", "women"]) is None
    # a guideline for adult women alone is not
    women = "Adult women with stress urinary incontinence"
    assert population_conflict(women, "Guideline", man, ["adults", "women"]) == "written for women"

"""Query construction: templates as data, patient facts per code, inspectable queries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from garmle.catalogue import IcdCatalogue
from garmle.errors import ConfigError
from garmle.fusion import topic_coverage, topic_names
from garmle.query import (
    build_queries,
    clinical_title,
    condition_names,
    condition_phrase,
    fact_terms,
    load_templates,
    patient_facts,
    population_phrase,
)
from garmle.types import BloodPressure, CodePrediction, Medication, Observation, Patient


@pytest.fixture(scope="module")
def catalogue() -> IcdCatalogue:
    return IcdCatalogue()


def _patient(**kw: object) -> Patient:
    base: dict[str, object] = {
        "patient_id": "q1",
        "age": 67,
        "sex": "female",
        "blood_pressures": (
            BloodPressure(138, 85, dt.date(2024, 1, 1)),
            BloodPressure(150, 92, dt.date(2024, 3, 1)),
            BloodPressure(156, 94, dt.date(2024, 6, 1)),
            BloodPressure(160, 96, dt.date(2024, 9, 1)),
        ),
        "labs": (Observation("egfr", 48, "mL/min/1.73m2"), Observation("hba1c", 8.1, "%")),
        "medications": (Medication("lisinopril 10 MG Oral Tablet"),),
    }
    base.update(kw)
    return Patient(**base)  # type: ignore[arg-type]


def test_population_phrase_covers_age_sex_pregnancy() -> None:
    assert population_phrase(_patient()) == "a 67-year-old woman (older adult)"
    assert population_phrase(_patient(age=30, pregnant=True)) == "a 30-year-old pregnant woman"
    assert population_phrase(_patient(age=9, sex="male")) == "a 9-year-old boy (school-age child)"
    assert population_phrase(_patient(age=1, sex="male")) == "a 1-year-old boy (young child under 2 years)"
    assert population_phrase(_patient(age=15)) == "a 15-year-old girl (adolescent)"
    assert population_phrase(Patient("x")) == "adults"
    assert population_phrase(_patient(age=30, postpartum=True)) == "a 30-year-old woman (postpartum)"


def test_facts_depend_on_the_code() -> None:
    p = _patient()
    htn = [f.text for f in patient_facts(p, "I10", [])]
    assert any(f.startswith("blood pressure 155.3/94 mmHg") for f in htn)
    assert any("eGFR 48" in f for f in htn)
    assert not any("HbA1c" in f for f in htn)
    dm = [f.text for f in patient_facts(p, "E11.9", [])]
    assert any("HbA1c 8.1" in f for f in dm)


def test_fact_terms_follow_the_given_templates(tmp_path: Path) -> None:
    p = _patient()
    packaged = load_templates()
    text = (Path(__file__).parents[1] / "garmle/data/query_templates.toml").read_text()
    own = tmp_path / "t.toml"
    own.write_text(text.replace('labs = ["hba1c", "glucose", "egfr", "uacr", "ldl"]', 'labs = ["egfr"]'))
    mine = load_templates(own)
    assert any("HbA1c" in f for f in fact_terms(p, "E11.9", [], packaged))
    terms = fact_terms(p, "E11.9", [], mine)
    assert not any("HbA1c" in f for f in terms)
    assert any("eGFR" in f for f in terms)


def test_queries_per_aspect_record_their_facts(catalogue: IcdCatalogue) -> None:
    preds = [
        CodePrediction("E11.9", "Type 2 diabetes mellitus without complications", 0.9),
        CodePrediction("I10", "Essential (primary) hypertension", 0.8),
    ]
    queries = build_queries(_patient(), preds, catalogue)
    aspects = {(q.code, q.aspect) for q in queries}
    assert ("E11.9", "treatment") in aspects and ("I10", "targets") in aspects
    assert ("I10", "population") in aspects  # comorbidity present
    dm_treat = next(q for q in queries if q.code == "E11.9" and q.aspect == "treatment")
    assert "metformin" in dm_treat.text
    assert "Type 2 diabetes mellitus" in dm_treat.text
    assert any("HbA1c" in f for f in dm_treat.facts)
    assert any("comorbidities: Essential (primary) hypertension" in f for f in dm_treat.facts)
    assert dm_treat.template_id.endswith("/treatment")
    for q in queries:
        for fact in q.facts:
            assert fact.split(" ")[0].lower() in q.text.lower()


def test_the_presentation_query_reads_the_notes_without_denied_findings(catalogue: IcdCatalogue) -> None:
    from garmle.query import presentation_text

    note = (
        "Four admissions in 12 months for vaso-occlusive pain crises. No stroke, no priapism; "
        "denies leg ulcers. Never started hydroxyurea."
    )
    patient = _patient(notes=(note,))
    text = presentation_text(patient)
    assert "vaso-occlusive pain crises" in text and "Never started hydroxyurea" in text
    assert not any(word in text for word in ("stroke", "priapism", "ulcers"))
    assert len(presentation_text(_patient(notes=("word " * 500,))).split()) == 120
    # a denial runs through a list of short findings, not past "but" or into a longer finding
    listed = presentation_text(
        _patient(notes=("Denies fever, weight loss, haematemesis or melaena; tired.",))
    )
    assert listed == "tired."
    assert presentation_text(_patient(notes=("No chest pain, but dyspnoea.",))) == "but dyspnoea."
    assert presentation_text(_patient(notes=("Wheeze without fever, worse at night.",))) == (
        "Wheeze, worse at night."
    )

    # a long note: its opening, then its assessment and the question the patient asks
    long_note = (
        "Maternity triage. 31-year-old at 37+4 weeks with a gush of clear fluid. "
        + "Examination and history details. " * 40
        + "\nImp: prelabour rupture of membranes at term.\nShe asks whether she can go home and wait."
    )
    focused = presentation_text(_patient(notes=(long_note,)))
    assert focused.startswith("Maternity triage.") and len(focused.split()) <= 120
    assert "Imp: prelabour rupture of membranes at term." in focused
    assert focused.endswith("She asks whether she can go home and wait.")

    preds = [CodePrediction("D57.1", "Sickle-cell disease without crisis", 0.9)]
    queries = build_queries(patient, preds, catalogue)
    shown = next(q for q in queries if q.aspect == "presentation")
    assert shown.text.startswith("Sickle-cell disease") and "hydroxyurea" in shown.text
    assert shown.facts == ()  # the notes went in, not the structured facts
    # no notes, or code-only queries: no presentation query
    assert all(q.aspect != "presentation" for q in build_queries(_patient(), preds, catalogue))
    code_only = build_queries(patient, preds, catalogue, use_facts=False)
    assert all(q.aspect != "presentation" for q in code_only)


def test_the_notes_dense_text_is_known_before_the_codes(catalogue: IcdCatalogue) -> None:
    from garmle.query import patient_dense_texts

    patient = _patient(notes=("Four admissions in 12 months for pain crises. Never started hydroxyurea.",))
    early = patient_dense_texts(patient)
    # whatever the codes, the presentation query embeds exactly that text
    for code, title in (("D57.1", "Sickle-cell disease without crisis"), ("I10", "Essential hypertension")):
        queries = build_queries(patient, [CodePrediction(code, title, 0.9)], catalogue)
        assert [q.dense_text for q in queries if q.aspect == "presentation"] == early
    assert patient_dense_texts(patient, aspects=["treatment"]) == []
    assert patient_dense_texts(patient, use_facts=False) == []
    assert patient_dense_texts(_patient()) == []


def test_code_only_queries_have_no_patient_facts(catalogue: IcdCatalogue) -> None:
    preds = [CodePrediction("I10", "Essential (primary) hypertension", 0.8)]
    queries = build_queries(_patient(), preds, catalogue, use_facts=False)
    assert queries and all(not q.facts for q in queries)
    assert all("67-year-old" not in q.text for q in queries)


def test_unknown_code_group_uses_generic_wording(catalogue: IcdCatalogue) -> None:
    preds = [CodePrediction("L40.0", catalogue.title("L40.0"), 0.7)]
    queries = build_queries(_patient(), preds, catalogue, aspects=["treatment"])
    assert len(queries) == 1 and "psoriasis" in queries[0].text.lower()
    assert "first-line drug and lifestyle treatment" in queries[0].text


def test_osteoarthritis_asks_for_exercise_and_weight_and_reads_the_bmi(catalogue: IcdCatalogue) -> None:
    labs = (Observation("bmi", 33.1, "kg/m2"), Observation("egfr", 48, "mL/min/1.73m2"))
    preds = [CodePrediction("M16.11", catalogue.title("M16.11"), 0.9)]
    queries = {q.aspect: q for q in build_queries(_patient(labs=labs), preds, catalogue)}
    assert "weight loss" in queries["selfcare"].text and "exercise" in queries["treatment"].text
    assert "joint replacement" in queries["procedures"].text
    facts = " ".join(queries["treatment"].facts).lower()
    assert "bmi" in facts and "blood pressure" not in facts  # a joint's care does not read the BP


@pytest.mark.parametrize(
    ("code", "aspect", "wording"),
    [
        ("G47.33", "treatment", "CPAP"),
        ("F17.210", "treatment", "varenicline"),
        ("G47.00", "treatment", "cognitive behavioural therapy"),
        ("M10.071", "targets", "serum urate"),
        ("M81.0", "treatment", "bisphosphonate"),
        ("K21.9", "treatment", "proton pump inhibitor"),
        ("M54.50", "selfcare", "staying active"),
        ("G43.109", "monitoring", "medication overuse"),
        ("N40.1", "treatment", "alpha blocker"),
        ("F11.20", "treatment", "buprenorphine"),
        ("L20.9", "selfcare", "emollient"),
        ("F31.73", "monitoring", "lithium levels"),
        ("N39.3", "treatment", "pelvic floor muscle training"),
        # a diabetes combination code asks for its complication's care too
        ("E11.51", "treatment", "supervised exercise therapy"),
        ("E11.42", "treatment", "duloxetine"),
        ("E11.3293", "treatment", "anti-VEGF"),
        ("E11.9", "treatment", "metformin first-line"),
    ],
)
def test_common_conditions_have_their_own_wording(
    catalogue: IcdCatalogue, code: str, aspect: str, wording: str
) -> None:
    preds = [CodePrediction(code, catalogue.title(code), 0.9)]
    (query,) = build_queries(_patient(), preds, catalogue, aspects=[aspect])
    assert wording in query.text and wording in (query.dense_text or "")


def test_bad_template_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('version = "x"\n[[aspect]]\nid = "a"\ntemplate = "{nonsense}"\n')
    with pytest.raises(ConfigError, match="unknown placeholders"):
        load_templates(bad)
    bad.write_text("not toml [")
    with pytest.raises(ConfigError):
        load_templates(bad)


def test_condition_phrase_drops_coding_qualifiers(catalogue: IcdCatalogue) -> None:
    assert clinical_title("Carpal tunnel syndrome, right upper limb") == "Carpal tunnel syndrome, upper limb"
    assert clinical_title("Stress incontinence (female) (male)") == "Stress incontinence"
    assert clinical_title("Type 2 diabetes mellitus without complications") == "Type 2 diabetes mellitus"
    phrase = condition_phrase("G43.109", catalogue)
    assert phrase.startswith("Migraine with aura") and "intractable" not in phrase


def test_condition_names_reach_the_clinical_name(catalogue: IcdCatalogue) -> None:
    # the subcategory title names the condition the catalogue title qualifies
    assert "Carpal tunnel syndrome" in condition_names("G56.01", catalogue)
    # clinical synonyms of the subcategory's unspecified code ("DVT" is listed for I82.409)
    assert "deep vein thrombosis" in condition_names("I82.412", catalogue)
    # and the inclusion terms of the subcategories above it
    assert "Graves' disease" in condition_names("E05.00", catalogue)
    # a diabetes combination code is about its complication as guidelines name it
    assert "peripheral artery disease" in condition_names("E11.51", catalogue)
    assert "diabetic neuropathy" in condition_names("E11.42", catalogue)
    # the guidance a condition's care lives under: SIADH's under hyponatraemia, a painful diabetic
    # polyneuropathy's under neuropathic pain
    assert "hyponatraemia" in condition_names("E22.2", catalogue)
    assert "neuropathic pain" in condition_names("E11.42", catalogue)
    assert "pharyngitis" in condition_names("J03.00", catalogue)
    # an age-related condition is the condition guidelines name without the age; a femoral neck
    # fracture is a hip fracture
    assert "cataract" in condition_names("H25.13", catalogue)
    assert "hip fracture" in condition_names("S72.011A", catalogue)
    # the names guidelines give a vestibular neuritis, a vertebral osteomyelitis, a tonsil cancer and the
    # care of the dying
    assert "vestibular hypofunction" in condition_names("H81.21", catalogue)
    assert "vertebral osteomyelitis" in condition_names("M46.26", catalogue)
    assert "head and neck cancer" in condition_names("C09.9", catalogue)
    assert "last days of life" in condition_names("Z51.5", catalogue)
    # a diabetes code of any complication is about its type's guidelines ("Type 1 diabetes in adults")
    assert "type 1 diabetes" in condition_names("E10.65", catalogue)
    assert "Gallstone pancreatitis" in condition_names("K85.10", catalogue)
    # a use disorder's name reaches its codes with a complication too (alcohol withdrawal), and
    # influenza names its categories
    assert "alcohol use disorder" in condition_names("F10.230", catalogue)
    assert "influenza" in condition_names("J10.1", catalogue)
    # "A due to B" is A of a stated cause, when A is more than one word
    assert "Allergic rhinitis" in condition_names("J30.1", catalogue)
    assert "Enterocolitis" not in condition_names("A04.72", catalogue)
    # "... of newborn" is the neonatal condition
    assert "neonatal respiratory distress syndrome" in condition_names("P22.0", catalogue)
    assert "preterm infant" in condition_names("P07.33", catalogue)
    # an epilepsy syndrome and a migraine subtype are epilepsy and migraine ("Epilepsy, unspecified, ...")
    assert "epilepsy" in condition_names("G40.209", catalogue)
    assert "migraine" in condition_names("G43.109", catalogue)
    # hypertensive kidney disease is a kidney disease; recurrent depression is depression
    assert "chronic kidney disease" in condition_names("I12.9", catalogue)
    assert "depression" in condition_names("F33.1", catalogue)
    # the catalogue's parentheses hold nonessential modifiers: "Bronchiolitis (acute)" is bronchiolitis
    assert "Bronchiolitis" in condition_names("J21.9", catalogue)


def test_namesakes_of_other_categories_are_siblings(catalogue: IcdCatalogue) -> None:
    from garmle.query import sibling_names

    assert "pulmonary hypertension" in sibling_names("I10", catalogue)
    assert "ulcerative colitis" in sibling_names("K52.9", catalogue)
    assert "pulmonary hypertension" not in sibling_names("I27.0", catalogue)
    # "A without B" and "A [B]" are named by A: gestational hypertension, Crohn's disease; chronic
    # bronchitis is cared for in the COPD guidelines
    assert "Gestational hypertension" in condition_names("O13.3", catalogue)
    assert "Crohn's disease" in condition_names("K50.00", catalogue)
    assert "COPD" in condition_names("J42", catalogue)
    assert not any(n.startswith("Conditions ") for n in condition_names("O99.012", catalogue))
    # but not the names of a specified sibling: diverticulitis is not diverticulosis
    assert not any("diverticulitis" in n.lower() for n in condition_names("K57.30", catalogue))
    # an arthropathy of one joint is also the condition itself, which guidelines cover for every joint
    assert "Osteoarthritis" in condition_names("M16.11", catalogue)
    assert "Pain" not in condition_names("M25.551", catalogue)  # pain in the hip is no "pain" guideline
    # a residual class above the code names the other conditions of its kind: a social anxiety
    # disorder guideline is not about generalized anxiety disorder
    gad = condition_names("F41.1", catalogue)
    assert "Generalized anxiety disorder" in gad and not any(n.startswith("Other ") for n in gad)
    assert topic_coverage(topic_names(*gad), "Social anxiety disorder: recognition, assessment") < 1.0
    assert topic_coverage(topic_names(*gad), "Generalised anxiety disorder in adults") == 1.0
    # "A with B" is A with a feature: seropositive rheumatoid arthritis is rheumatoid arthritis
    seropositive = condition_names("M05.79", catalogue)
    assert "Rheumatoid arthritis" in seropositive
    assert topic_coverage(topic_names(*seropositive), "Rheumatoid arthritis in adults: management") == 1.0
    # a sequela is cared for in the guidelines of the condition it follows
    assert "stroke" in condition_names("I69.331", catalogue)
    # "pregnancy" and "pregnant" are one stem: a guideline for pregnant women names smoking in pregnancy
    smoking = topic_names(*condition_names("O99.332", catalogue))
    assert topic_coverage(smoking, "Tobacco smoking cessation in adults, including pregnant women") == 1.0
    # the unspecified code of a specified subcategory names that subtype, not its siblings
    assert "systolic heart failure" not in condition_names("I50.32", catalogue)
    assert "diabetic retinopathy" not in condition_names("E11.65", catalogue)
    # the broader name a guideline uses for a condition the catalogue splits by site or kind
    duodenal = topic_names(*condition_names("K26.9", catalogue))
    assert (
        topic_coverage(duodenal, "Dyspepsia and gastro-oesophageal reflux disease ... peptic ulcer disease")
        == 1.0
    )
    assert "acute otitis media" in condition_names("H66.003", catalogue)  # listed for the subcategory H66.0
    assert "lower urinary tract symptoms" in condition_names("R39.12", catalogue)  # a poor stream is LUTS
    assert "peptic ulcer disease" not in condition_names("K21.9", catalogue)
    # a skin cancer of a named site is about the guidelines on its kind of skin cancer
    scc = topic_names(*condition_names("C44.222", catalogue))
    assert topic_coverage(scc, "Management of primary cutaneous squamous cell carcinoma") == 1.0
    # a raised INR is about the anticoagulant that raised it
    inr = topic_names(*condition_names("R79.1", catalogue))
    assert (
        topic_coverage(inr, "Guideline on the management of bleeding in patients on antithrombotic agents")
        == 1.0
    )
    # a cause or kind the catalogue splits a disease by: alcoholic cirrhosis is cirrhosis, vascular
    # dementia dementia, an NSTEMI an acute coronary syndrome, emphysema COPD
    assert "cirrhosis" in condition_names("K70.31", catalogue)
    assert "dementia" in condition_names("F01.B0", catalogue)
    assert "acute coronary syndrome" in condition_names("I21.4", catalogue)
    assert "COPD" in condition_names("J43.9", catalogue)
    assert "pneumonia" in condition_names("J13", catalogue)
    assert "cirrhosis" not in condition_names("K70.10", catalogue)  # alcoholic hepatitis


def test_a_past_stroke_or_thrombosis_is_named_as_the_condition(catalogue: IcdCatalogue) -> None:
    # guidelines on preventing a recurrence name the condition, not "personal history of stroke NOS"
    names = condition_names("Z86.73", catalogue)
    assert {"stroke", "cerebral infarction", "transient ischemic attack (TIA)"} <= set(names)
    assert "pulmonary embolism" in condition_names("Z86.711", catalogue)
    phrase = condition_phrase("Z86.73", catalogue)
    assert phrase.startswith("history of transient ischemic attack") and "secondary prevention" in phrase
    assert "Personal history" not in phrase and "NOS" not in phrase
    # a past pneumonia or a past habit is not searched as the condition itself
    assert "pneumonia (recurrent)" not in condition_names("Z87.01", catalogue)
    assert "nicotine dependence" not in condition_names("Z87.891", catalogue)
    assert condition_phrase("Z87.01", catalogue).startswith("Personal history of pneumonia")


def test_a_screening_encounter_is_no_comorbidity() -> None:
    from garmle.catalogue import IcdCatalogue
    from garmle.query import patient_facts
    from garmle.types import CodePrediction, Patient

    cat = IcdCatalogue()
    codes = [CodePrediction(c, cat.title(c), 0.9) for c in ("J44.9", "Z87.891", "Z12.2")]
    facts = patient_facts(Patient("p", age=68, sex="male"), "J44.9", codes)
    comorbid = next(f for f in facts if f.text.startswith("comorbidities"))
    assert "nicotine" in comorbid.text and "screening" not in comorbid.text


def test_limb_codes_are_named_as_guidelines_and_notes_name_them(catalogue: IcdCatalogue) -> None:
    from garmle.query import clinical_synonyms, condition_names

    # "Varicose veins in the legs" is about varicose veins of a lower extremity
    names = condition_names("I83.013", catalogue)
    assert "Varicose veins of leg with ulcer" in names or "Varicose veins of leg" in " | ".join(names)
    assert topic_coverage(topic_names(*names), "Varicose veins in the legs") == 1.0
    # the unspecified code's name serves its siblings when what it leaves unspecified is a severity
    assert "leg ulcer" in clinical_synonyms("L97.312", catalogue)

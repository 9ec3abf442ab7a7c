"""ICD-10-CM conventions on merged predictions, and problem-list entries as coding input."""

from __future__ import annotations

from dataclasses import replace

import pytest

from garmle.catalogue import IcdCatalogue
from garmle.coding.catalogue_coder import CatalogueCoder
from garmle.coding.combined import default_predictor
from garmle.coding.reconcile import reconcile
from garmle.types import CodePrediction, Evidence, Patient, Problem


@pytest.fixture
def cat(catalogue: IcdCatalogue) -> IcdCatalogue:
    return catalogue


def _preds(cat: IcdCatalogue, *pairs: tuple[str, float]) -> list[CodePrediction]:
    return [
        CodePrediction(c, cat.title(c), s, "t", evidence=(Evidence("observation", f"fact {c}"),))
        for c, s in pairs
    ]


def _merged(
    cat: IcdCatalogue, pairs: tuple[tuple[str, float], ...], expected: list[str]
) -> list[CodePrediction]:
    """Reconcile ``pairs``, check the codes left are ``expected`` and the first holds every evidence."""
    out = reconcile(_preds(cat, *pairs), cat)
    assert [p.code for p in out] == expected
    assert {e.text for e in out[0].evidence} == {f"fact {c}" for c, _ in pairs}
    return out


def test_specific_code_absorbs_unspecified_sibling(cat: IcdCatalogue) -> None:
    out = reconcile(_preds(cat, ("E11.9", 0.95), ("E11.22", 0.8), ("E66.9", 0.7)), cat)
    assert [p.code for p in out] == ["E11.22", "E66.9"]
    e11 = out[0]
    assert e11.score == 0.95
    assert {e.text for e in e11.evidence} == {"fact E11.9", "fact E11.22"}


def test_a_sided_default_folds_into_a_specific_code_of_that_side(cat: IcdCatalogue) -> None:
    # asymptomatic varicose veins of the right leg beside varicose veins of the right leg with an ulcer
    out = reconcile(_preds(cat, ("I83.91", 0.9), ("I83.013", 0.85)), cat)
    assert [p.code for p in out] == ["I83.013"]
    # ... but not into the other side's code
    out = reconcile(_preds(cat, ("I83.92", 0.9), ("I83.013", 0.85)), cat)
    assert {p.code for p in out} == {"I83.92", "I83.013"}


def test_a_subcategory_default_absorbs_the_category_default(cat: IcdCatalogue) -> None:
    out = reconcile(_preds(cat, ("M54.50", 0.9), ("M54.9", 0.76)), cat)
    assert [p.code for p in out] == ["M54.50"]
    # two defaults at one depth are two readings, not one more specific than the other
    same = reconcile(_preds(cat, ("I48.91", 0.9), ("I48.20", 0.8)), cat)
    assert [p.code for p in same] == ["I48.91", "I48.20"]
    # a longer code is not a more specific one: moderate persistent asthma stays
    asthma = reconcile(_preds(cat, ("J45.40", 0.9), ("J45.909", 0.9)), cat)
    assert "J45.40" in [p.code for p in asthma]


def test_a_named_subcategory_default_folds_only_within_it(cat: IcdCatalogue) -> None:
    # psoriatic arthritis beside psoriasis vulgaris, insomnia beside sleep apnoea: two conditions
    both = reconcile(_preds(cat, ("L40.0", 0.9), ("L40.50", 0.9)), cat)
    assert {p.code for p in both} == {"L40.0", "L40.50"}
    sleep = reconcile(_preds(cat, ("G47.33", 0.9), ("G47.00", 0.85)), cat)
    assert {p.code for p in sleep} == {"G47.33", "G47.00"}
    # within it, the default still folds: unspecified into distal interphalangeal psoriatic arthropathy
    dip = reconcile(_preds(cat, ("L40.50", 0.9), ("L40.51", 0.9)), cat)
    assert [p.code for p in dip] == ["L40.51"]


def test_weak_or_residual_siblings_do_not_absorb(cat: IcdCatalogue) -> None:
    weak = reconcile(_preds(cat, ("E11.9", 0.95), ("E11.22", 0.5)), cat)
    assert [p.code for p in weak] == ["E11.9", "E11.22"]
    residual = reconcile(_preds(cat, ("E11.9", 0.95), ("E11.69", 0.9)), cat)
    assert [p.code for p in residual] == ["E11.9", "E11.69"]


def test_two_unspecified_codes_of_different_categories_stay(cat: IcdCatalogue) -> None:
    out = reconcile(_preds(cat, ("E11.9", 0.9), ("E66.9", 0.8), ("I48.91", 0.7)), cat)
    assert [p.code for p in out] == ["E11.9", "E66.9", "I48.91"]


def test_a_default_folds_past_a_sibling_already_folded(cat: IcdCatalogue) -> None:
    # M16.10 folds into M16.11 first; M16.9 then folds into M16.11, not into the M16.10 now gone
    out = reconcile(_preds(cat, ("M16.10", 0.9), ("M16.9", 0.85), ("M16.11", 0.8)), cat)
    assert [p.code for p in out] == ["M16.11"]
    assert {e.text for e in out[0].evidence} == {"fact M16.10", "fact M16.9", "fact M16.11"}


def test_specific_siblings_are_not_merged(cat: IcdCatalogue) -> None:
    # old MI and coronary atherosclerosis are different facts of one category
    out = reconcile(_preds(cat, ("I25.10", 0.9), ("I25.2", 0.8)), cat)
    assert {p.code for p in out} == {"I25.10", "I25.2"}


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # the feature stated ("with ...") wins with enough support, and takes the other's evidence
        ((("N40.1", 0.9), ("N40.0", 0.82)), ["N40.1"]),
        ((("N40.0", 0.9), ("N40.1", 0.8)), ["N40.1"]),
        ((("G43.009", 0.9), ("G43.109", 0.85)), ["G43.109"]),
        ((("I25.10", 0.9), ("I25.110", 0.8)), ["I25.110"]),
        ((("K80.20", 0.9), ("K80.21", 0.7)), ["K80.21"]),
        # a weakly supported feature yields to the code saying it is absent
        ((("N40.0", 0.9), ("N40.1", 0.5)), ["N40.0"]),
    ],
)
def test_with_and_without_a_feature_are_not_reported_together(
    cat: IcdCatalogue, pairs: tuple[tuple[str, float], ...], expected: list[str]
) -> None:
    out = _merged(cat, pairs, expected)
    assert out[0].score == max(s for _, s in pairs)


def test_the_default_code_of_a_mention_states_no_feature_a_sibling_denies(cat: IcdCatalogue) -> None:
    from garmle.coding.catalogue_coder import CatalogueCoder

    coder = CatalogueCoder(cat)
    # "dementia, mild" is the code without behavioural, psychotic or mood disturbance and anxiety
    assert coder.billable_default("F03.A") == "F03.A0"
    # plain "dementia" leaves its severity open, as "Unspecified dementia, unspecified severity" does
    assert coder.billable_default("F03") == "F03.90"
    assert coder.billable_default("N30") == "N30.90"  # cystitis, without haematuria
    assert coder.billable_default("B19.2") == "B19.20"  # hepatitis C, without hepatic coma
    assert coder.billable_default("E11.31") == "E11.319"  # retinopathy, without macular oedema
    # a child restating its parent's feature more precisely is still its default
    assert coder.billable_default("E11.4") == "E11.40"
    assert coder.billable_default("I13.1") == "I13.10"


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # the CKD stage and the ulcer's site stay beside the combination code
        ((("E11.9", 0.9), ("N18.32", 0.8)), ["E11.22", "N18.32"]),
        ((("E11.9", 0.9), ("L97.419", 0.8)), ["E11.621", "L97.419"]),
        # the combination code says the rest
        ((("E11.9", 0.9), ("G62.9", 0.8)), ["E11.42"]),
        ((("E10.9", 0.9), ("I73.9", 0.8)), ["E10.51"]),
        ((("E11.9", 0.9), ("E16.2", 0.8)), ["E11.649"]),
        # one combination code for each complication
        ((("E11.9", 0.7), ("N18.32", 0.8), ("G62.9", 0.82)), ["E11.42", "N18.32", "E11.22"]),
        # diabetes with hyperglycemia keeps its code beside each combination code (I.C.4.a: as many
        # codes of E08-E13 as the associated conditions need)
        ((("E11.65", 0.9), ("N18.32", 0.8)), ["E11.22", "E11.65", "N18.32"]),
        ((("E11.65", 0.9), ("G62.9", 0.8)), ["E11.42", "E11.65"]),
        # a specific complication code is left as it is
        ((("E11.22", 0.9), ("L97.419", 0.8)), ["E11.22", "L97.419"]),
    ],
)
def test_diabetes_with_a_complication_takes_its_combination_code(
    cat: IcdCatalogue, pairs: tuple[tuple[str, float], ...], expected: list[str]
) -> None:
    out = reconcile(_preds(cat, *pairs), cat)
    assert [p.code for p in out] == expected


def test_a_complication_inferred_from_medications_alone_makes_no_diabetes_combination(
    cat: IcdCatalogue,
) -> None:
    diabetes, neuropathy = _preds(cat, ("E11.9", 0.9), ("G62.9", 0.6))
    pregabalin = CodePrediction(
        "G62.9", neuropathy.title, 0.6, "ehr", evidence=(Evidence("medication", "Pregabalin 75 mg bd"),)
    )
    assert [p.code for p in reconcile([diabetes, pregabalin], cat)] == ["E11.9", "G62.9"]
    assert [p.code for p in reconcile([diabetes, neuropathy], cat)] == ["E11.42"]


def test_different_conditions_of_one_category_are_no_contradiction(cat: IcdCatalogue) -> None:
    # diverticulosis with bleeding beside diverticulitis without: two conditions, not one said twice
    out = reconcile(_preds(cat, ("K57.32", 0.9), ("K57.31", 0.8)), cat)
    assert {p.code for p in out} == {"K57.32", "K57.31"}


@pytest.mark.parametrize(
    ("others", "expected"),
    [
        (("N18.31",), "I12.9"),
        (("N18.6",), "I12.0"),
        (("I50.22",), "I11.0"),
        (("N18.4", "I50.9"), "I13.0"),
        (("N18.5", "I50.9"), "I13.2"),
    ],
)
def test_hypertension_combination_codes(cat: IcdCatalogue, others: tuple[str, ...], expected: str) -> None:
    out = reconcile(_preds(cat, ("I10", 0.9), *((c, 0.7) for c in others)), cat)
    codes = [p.code for p in out]
    assert "I10" not in codes and expected in codes
    assert set(others) <= set(codes)  # the stage and heart-failure codes stay beside it
    combo = next(p for p in out if p.code == expected)
    assert combo.title == cat.title(expected)
    assert any(e.kind == "rule" and "I.C.9.a" in e.text for e in combo.evidence)


def test_heart_failure_inferred_from_medications_alone_makes_no_combination_code(cat: IcdCatalogue) -> None:
    from dataclasses import replace

    from garmle.types import Evidence

    htn, ckd, hf = _preds(cat, ("I10", 0.9), ("N18.4", 0.8), ("I50.9", 0.45))
    hf = replace(hf, evidence=(Evidence("medication", "Furosemide 20 mg daily"),))
    codes = [p.code for p in reconcile([htn, ckd, hf], cat)]
    assert "I12.9" in codes and "I13.0" not in codes
    stated = replace(hf, evidence=(Evidence("problem", "Heart failure"),))
    assert "I13.0" in [p.code for p in reconcile([htn, ckd, stated], cat)]


def test_hypertension_alone_stays_i10(cat: IcdCatalogue) -> None:
    assert [p.code for p in reconcile(_preds(cat, ("I10", 0.9), ("E78.5", 0.5)), cat)] == ["I10", "E78.5"]


def test_uncoded_problem_list_entries_are_coded(cat: IcdCatalogue) -> None:
    coder = CatalogueCoder(cat, None)
    patient = Patient(
        "p",
        problems=(
            Problem("Type 2 diabetes mellitus with diabetic chronic kidney disease"),
            Problem("Chronic kidney disease stage 3a"),
            Problem("Asthma", status="resolved"),
            Problem("Essential hypertension", icd10="I10"),  # coded already: the EHR coder passes it on
        ),
    )
    preds = {p.code: p for p in coder.predict(patient)}
    assert {"E11.22", "N18.31"} <= set(preds)
    assert not any(c.startswith("J45") for c in preds)
    assert "I10" not in preds
    assert preds["N18.31"].evidence[0] == Evidence("problem", "Chronic kidney disease stage 3a")


def test_default_predictor_codes_a_form_problem_list(cat: IcdCatalogue) -> None:
    predictor = default_predictor(None, cat)
    patient = Patient(
        "p",
        problems=(Problem("Essential hypertension"), Problem("Chronic kidney disease stage 3a")),
    )
    codes = [p.code for p in predictor.predict(patient)]
    assert set(codes) == {"I12.9", "N18.31"}


def test_dated_past_event_is_history_and_partial_wordings_yield(cat: IcdCatalogue) -> None:
    coder = CatalogueCoder(cat, None)
    note = (
        "Chronic heart failure with reduced ejection fraction after an anterior myocardial "
        "infarction in 2019. "
        "Type 2 diabetes mellitus, diet controlled, since 2015."
    )
    codes = [p.code for p in coder.predict(Patient("p", notes=(note,)))]
    assert "I25.2" in codes and not any(c.startswith("I21") for c in codes)
    assert "I50.22" in codes
    assert "E11.9" in codes  # "since 2015": still present
    assert not {"E11.A", "E11.8", "E11.6", "E11.69"} & set(codes)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ((("F17.210", 0.9), ("Z87.891", 0.7)), ["F17.210"]),  # current dependence excludes its history
        ((("Z87.891", 0.9), ("F17.210", 0.6)), ["Z87.891"]),  # the better-supported code stays
        ((("F33.1", 0.8), ("F32.1", 0.7)), ["F33.1"]),  # recurrent vs single episode
        ((("R73.03", 0.6), ("E11.9", 0.9)), ["E11.9"]),  # prediabetes vs diabetes (a range note)
        ((("E11.9", 0.9), ("I10", 0.8), ("E78.5", 0.7)), ["E11.9", "I10", "E78.5"]),  # unrelated codes stay
    ],
)
def test_excludes1_pairs_are_not_reported_together(
    cat: IcdCatalogue, codes: tuple[tuple[str, float], ...], expected: list[str]
) -> None:
    preds = [CodePrediction(c, cat.title(c), s) for c, s in codes]
    assert [p.code for p in reconcile(preds, cat)] == expected


def test_conditions_of_a_pregnant_patient_take_chapter_15_codes_at_the_trimester(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("D50.9", 0.9), ("F17.210", 0.9), ("Z3A.24", 0.7))
    out = [p.code for p in reconcile(preds, cat, pregnant=True)]
    # chapter 15 first, the specific codes kept beside them
    assert out[:2] == ["O99.012", "O99.332"] and {"D50.9", "F17.210", "Z3A.24"} <= set(out)
    rule = next(p for p in reconcile(preds, cat, pregnant=True) if p.code == "O99.012").evidence[0]
    assert rule.kind == "rule" and "I.C.15.a" in rule.text
    # pre-existing essential hypertension is O10.01- alone; no weeks: unspecified trimester
    assert [p.code for p in reconcile(_preds(cat, ("I10", 0.9)), cat, pregnant=True)] == ["O10.019"]
    third = reconcile(_preds(cat, ("E11.9", 0.9), ("Z3A.30", 0.7)), cat, pregnant=True)
    assert [p.code for p in third][:2] == ["O24.113", "E11.9"]
    # not pregnant: nothing changes
    assert [p.code for p in reconcile(_preds(cat, ("I10", 0.9)), cat)] == ["I10"]
    # a urinary infection in pregnancy is the chapter 15 code of its site alone
    cystitis = reconcile(_preds(cat, ("N30.90", 0.9), ("Z3A.18", 0.7)), cat, pregnant=True)
    assert [p.code for p in cystitis] == ["O23.12", "Z3A.18"]
    # group B streptococcus found in pregnancy is its carrier state
    gbs = reconcile(_preds(cat, ("B95.1", 0.9), ("Z3A.37", 0.7)), cat, pregnant=True)
    assert [p.code for p in gbs] == ["O99.820", "Z3A.37"]


def test_a_pregnant_patients_note_gives_trimester_codes(catalogue: IcdCatalogue) -> None:
    from garmle.patient import parse_note

    patient = parse_note("34F G2P1, 12/40, chronic hypertension on labetalol, BMI 33.")
    codes = [p.code for p in default_predictor(None, catalogue).predict(patient)]
    assert {"O10.011", "Z3A.12", "O99.211"} <= set(codes) and "I10" not in codes


def test_a_wording_that_holds_another_and_more_stays(catalogue: IcdCatalogue) -> None:
    from garmle.patient import parse_note

    patient = parse_note("Imp: bilateral acute otitis media, 2 days of fever.")
    codes = [p.code for p in default_predictor(None, catalogue).predict(patient)]
    assert "H66.93" in codes and "H66.90" not in codes


def test_a_complication_of_pregnancy_is_not_an_incidental_pregnancy(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("Z33.1", 0.95), ("O24.419", 0.9), ("Z3A.27", 0.7))
    assert [p.code for p in reconcile(preds, cat, pregnant=True)] == ["O24.419", "Z3A.27"]
    assert [p.code for p in reconcile(_preds(cat, ("Z33.1", 0.9)), cat, pregnant=True)] == ["Z33.1"]
    # a condition in pregnancy takes its chapter 15 code, however often the note says "pregnancy"
    preds = _preds(cat, ("Z33.1", 0.97), ("G40.109", 0.9))
    assert [p.code for p in reconcile(preds, cat, pregnant=True)] == ["O99.350", "G40.109"]


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # both "uncomplicated"; only one leaves the product unspecified
        ((("F17.200", 0.9), ("F17.210", 0.86)), ["F17.210"]),
        # both "without complications"; only one leaves the extent unspecified
        ((("K51.90", 0.88), ("K51.50", 0.83)), ["K51.50"]),
        # the same title with its severity said
        ((("F01.50", 0.79), ("F01.B0", 0.79)), ["F01.B0"]),
        # a block's residual category beside a specific one of its block
        ((("L20.9", 0.9), ("L30.9", 0.77)), ["L20.9"]),
        ((("F20.0", 0.9), ("F29", 0.82)), ["F20.0"]),
        ((("N20.0", 0.9), ("N23", 0.8)), ["N20.0"]),
        # a sign of the joint beside its osteoarthritis; back pain beside lumbar spondylosis
        ((("M16.11", 0.9), ("M25.751", 0.82)), ["M16.11"]),
        ((("M47.816", 0.78), ("M54.9", 0.68)), ["M47.816"]),
        # "Epilepsy, unspecified, not intractable, ..." beside a named epilepsy syndrome
        ((("G40.909", 0.9), ("G40.B09", 0.86)), ["G40.B09"]),
        ((("G43.909", 0.9), ("G43.109", 0.8)), ["G43.109"]),
        # signs part of the disease: lupus's rash, a withdrawal's tremor, polycythaemia's itch
        ((("M32.9", 0.9), ("R21", 0.8)), ["M32.9"]),
        ((("F10.230", 0.9), ("R25.1", 0.8)), ["F10.230"]),
        ((("D45", 0.9), ("L29.9", 0.8)), ["D45"]),
        # hypertensive heart disease within the code of heart and kidney disease
        ((("I13.0", 0.9), ("I11.9", 0.85)), ["I13.0"]),
        # an infant's hypertrophic pyloric stenosis; the allergy an allergy status says
        ((("Q40.0", 0.9), ("K31.1", 0.8)), ["Q40.0"]),
        ((("Z88.0", 0.9), ("T78.40XA", 0.8)), ["Z88.0"]),
    ],
)
def test_vaguer_codes_fold_into_the_code_that_says_more(
    cat: IcdCatalogue, pairs: tuple[tuple[str, float], ...], expected: list[str]
) -> None:
    _merged(cat, pairs, expected)


@pytest.mark.parametrize(
    "pairs",
    [
        (("L89.601", 0.9), ("L89.152", 0.8)),  # two ulcers at two sites
        (("J18.9", 0.9), ("J11.1", 0.8)),  # pneumonia is no residual of influenza
        (("M25.561", 0.8), ("M16.11", 0.9)),  # knee pain beside hip osteoarthritis
        (("I16.9", 0.8), ("I10", 0.9)),  # a hypertensive crisis beside its hypertension
    ],
)
def test_codes_that_say_different_things_both_stay(
    cat: IcdCatalogue, pairs: tuple[tuple[str, float], ...]
) -> None:
    assert {p.code for p in reconcile(_preds(cat, *pairs), cat)} == {c for c, _ in pairs}


def test_a_type_2_code_from_readings_alone_takes_the_stated_diabetes_type(cat: IcdCatalogue) -> None:
    lab = CodePrediction("E11.65", cat.title("E11.65"), 0.8, source="ehr")
    stated = CodePrediction("E10.9", cat.title("E10.9"), 0.81, source="catalogue")
    assert [p.code for p in reconcile([lab, stated], cat)] == ["E10.65"]
    # a type 2 diabetes the notes say stays type 2
    said = CodePrediction("E11.9", cat.title("E11.9"), 0.9, source="catalogue")
    assert [p.code for p in reconcile([said, lab], cat)] == ["E11.65"]


def test_each_diabetes_complication_keeps_its_code(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("E11.319", 0.9), ("E11.9", 0.9), ("E11.65", 0.8))
    # the retinopathy is no unspecified hyperglycemia; "without complications" folds
    assert sorted(p.code for p in reconcile(preds, cat)) == ["E11.319", "E11.65"]


def test_dementia_beside_its_disease_is_dementia_in_other_diseases(cat: IcdCatalogue) -> None:
    # G30 excludes the unspecified dementia; the code-first disease takes F02 with the same behaviour
    codes = [p.code for p in reconcile(_preds(cat, ("F03.911", 0.9), ("G30.9", 0.88)), cat)]
    assert sorted(codes) == ["F02.811", "G30.9"]
    assert [p.code for p in reconcile(_preds(cat, ("F03.90", 0.9)), cat)] == ["F03.90"]
    # hypothyroidism may cause a dementia, but beside one it is no proof that it did
    codes = [p.code for p in reconcile(_preds(cat, ("F03.90", 0.9), ("E03.9", 0.9)), cat)]
    assert sorted(codes) == ["E03.9", "F03.90"]


def test_unspecified_codes_fold_into_the_same_disease_said_more_exactly(cat: IcdCatalogue) -> None:
    assert [p.code for p in reconcile(_preds(cat, ("M06.9", 0.9), ("M05.9", 0.9)), cat)] == ["M05.9"]
    assert [p.code for p in reconcile(_preds(cat, ("C80.1", 0.9), ("C25.9", 0.88)), cat)] == ["C25.9"]
    assert [p.code for p in reconcile(_preds(cat, ("D57.1", 0.9), ("D57.00", 0.85)), cat)] == ["D57.00"]


def test_a_ketoacidosis_not_said_of_type_2_takes_the_stated_type(cat: IcdCatalogue) -> None:
    from garmle.types import Evidence

    said = CodePrediction("E10.9", cat.title("E10.9"), 0.9, "catalogue", evidence=(Evidence("note", "T1DM"),))
    dka = CodePrediction("E11.10", cat.title("E11.10"), 0.9, "catalogue", evidence=(Evidence("note", "DKA"),))
    assert [p.code for p in reconcile([said, dka], cat)] == ["E10.10"]
    typed = CodePrediction(
        "E11.10", cat.title("E11.10"), 0.9, "catalogue", evidence=(Evidence("note", "T2DM"),)
    )
    assert "E10.10" not in [p.code for p in reconcile([said, typed], cat)]


def test_a_condition_beside_its_complication_takes_the_combination_code(cat: IcdCatalogue) -> None:
    gallbladder = _preds(cat, ("K81.1", 0.9), ("K80.21", 0.8))
    assert [p.code for p in reconcile(gallbladder, cat)] == ["K80.11"]
    cirrhosis = _preds(cat, ("K70.30", 0.9), ("R18.8", 0.8))
    assert [p.code for p in reconcile(cirrhosis, cat)] == ["K70.31"]
    colon = _preds(cat, ("K57.32", 0.9), ("K57.92", 0.8), ("K57.30", 0.8))
    assert [p.code for p in reconcile(colon, cat)] == ["K57.32"]
    back = _preds(cat, ("M54.50", 0.9), ("M54.32", 0.8))
    assert [p.code for p in reconcile(back, cat)] == ["M54.42"]
    dementia = _preds(cat, ("F03.911", 0.7), ("F03.C0", 0.9))
    assert [p.code for p in reconcile(dementia, cat)] == ["F03.C11"]
    # a leg ulcer said to be venous is no diabetic foot ulcer
    venous = _preds(cat, ("E11.9", 0.9), ("L97.909", 0.8), ("I83.029", 0.8))
    assert "E11.621" not in [p.code for p in reconcile(venous, cat)]
    # readings alone beside pre-eclampsia are no pre-existing hypertension; a stated one is, with O11
    readings = _preds(cat, ("O14.03", 0.9), ("I10", 0.8), ("Z3A.34", 0.7))
    assert [p.code for p in reconcile(readings, cat, pregnant=True)] == ["O14.03", "Z3A.34"]
    stated = [replace(p, evidence=(Evidence("note", "chronic hypertension"),)) for p in readings]
    assert {"O11.3", "O10.013"} <= {p.code for p in reconcile(stated, cat, pregnant=True)}
    # a diabetes of no stated type beside gestational diabetes is no pre-existing one
    gdm = _preds(cat, ("O24.410", 0.9), ("E11.9", 0.6), ("Z3A.28", 0.7))
    assert [p.code for p in reconcile(gdm, cat, pregnant=True)] == ["O24.410", "Z3A.28"]
    # a stone beside the hydronephrosis it causes, its colic folded in
    stone = _preds(cat, ("N20.1", 0.9), ("N13.30", 0.8), ("N23", 0.7))
    assert [p.code for p in reconcile(stone, cat)] == ["N13.2"]
    # an infection with the site it inflames
    chlamydia = _preds(cat, ("A56.2", 0.9), ("N34.2", 0.8))
    assert [p.code for p in reconcile(chlamydia, cat)] == ["A56.01"]
    herpes = _preds(cat, ("A60.9", 0.9), ("N76.0", 0.8))
    assert [p.code for p in reconcile(herpes, cat)] == ["A60.04"]
    # hyperemesis with dehydration and an electrolyte imbalance, both absorbed
    hyperemesis = _preds(cat, ("O21.0", 0.9), ("E86.0", 0.8), ("O99.281", 0.7), ("Z3A.11", 0.6))
    assert [p.code for p in reconcile(hyperemesis, cat, pregnant=True)] == ["O21.1", "Z3A.11"]
    # coronary atherosclerosis with its stable angina
    angina = _preds(cat, ("I20.89", 0.9), ("I25.10", 0.8), ("I10", 0.7))
    assert [p.code for p in reconcile(angina, cat)] == ["I25.118", "I10"]


def test_vague_codes_fold_into_the_condition_said_more_exactly(cat: IcdCatalogue) -> None:
    anaemia = _preds(cat, ("N18.4", 0.9), ("D63.1", 0.8), ("D64.9", 0.8))
    assert [p.code for p in reconcile(anaemia, cat)] == ["N18.4", "D63.1"]
    pad = _preds(cat, ("I73.9", 0.9), ("I70.212", 0.8))
    assert [p.code for p in reconcile(pad, cat)] == ["I70.212"]
    rhythm = _preds(cat, ("I48.3", 0.9), ("I49.9", 0.8))
    assert [p.code for p in reconcile(rhythm, cat)] == ["I48.3"]
    breast = _preds(cat, ("N63.20", 0.9), ("N63.21", 0.8))
    assert [p.code for p in reconcile(breast, cat)] == ["N63.21"]
    neuropathy = _preds(cat, ("E11.40", 0.9), ("G62.9", 0.8))
    assert [p.code for p in reconcile(neuropathy, cat)] == ["E11.42"]


def test_alzheimers_disease_takes_its_dementia_graded_by_its_sentence(cat: IcdCatalogue) -> None:
    notes = ["Dx: late-onset Alzheimer's disease - now moderate stage - with agitation. Mild depression."]
    said = Evidence("note", "Alzheimer's disease", 0, 15, 34)
    ad = CodePrediction("G30.1", cat.title("G30.1"), 0.9, evidence=(said,))
    assert [p.code for p in reconcile([ad], cat, notes=notes)] == ["G30.1", "F02.B11"]
    plain = ["PMH: late-onset Alzheimer's disease."]
    ad = replace(ad, evidence=(Evidence("note", "Alzheimer's disease", 0, 16, 35),))
    assert [p.code for p in reconcile([ad], cat, notes=plain)] == ["G30.1", "F02.80"]
    mci = _preds(cat, ("G30.1", 0.9), ("G31.84", 0.8))
    assert [p.code for p in reconcile(mci, cat)] == ["G30.1", "G31.84"]


def test_a_combination_code_drops_the_reading_it_contradicts(cat: IcdCatalogue) -> None:
    heart = _preds(cat, ("I50.22", 0.9), ("I11.9", 0.85), ("I10", 0.8))
    assert [p.code for p in reconcile(heart, cat)] == ["I50.22", "I11.0"]


def test_a_stage_said_more_exactly_absorbs_the_stage_left_open(cat: IcdCatalogue) -> None:
    ckd = _preds(cat, ("N18.32", 0.9), ("N18.30", 0.85))
    assert [p.code for p in reconcile(ckd, cat)] == ["N18.32"]


def test_current_use_beats_a_history_read_as_remission(cat: IcdCatalogue) -> None:
    alcohol = _preds(cat, ("F10.21", 0.9), ("F10.230", 0.7))
    assert [p.code for p in reconcile(alcohol, cat)] == ["F10.230"]


def test_a_suicide_attempt_goes_beside_the_self_poisoning(cat: IcdCatalogue) -> None:
    overdose = _preds(cat, ("T39.1X2A", 0.9), ("T14.91XA", 0.8), ("F32.A", 0.7))
    assert [p.code for p in reconcile(overdose, cat)] == ["T39.1X2A", "F32.A"]


def test_an_unspecified_code_gives_way_to_the_specific_one_it_excludes(cat: IcdCatalogue) -> None:
    # "cirrhosis" in the assessment scores above the history's "alcohol-related cirrhosis"
    cirrhosis = _preds(cat, ("K74.60", 0.95), ("K70.30", 0.9))
    assert [p.code for p in reconcile(cirrhosis, cat)] == ["K70.30"]
    cystitis = _preds(cat, ("N39.0", 0.95), ("N30.01", 0.9))
    assert [p.code for p in reconcile(cystitis, cat)] == ["N30.01"]
    # only where the unspecified code's own note excludes the other: a cold's note excludes pharyngitis
    throat = _preds(cat, ("J02.9", 0.95), ("J00", 0.7))
    assert [p.code for p in reconcile(throat, cat)] == ["J02.9"]
    # across chapters the better scored stays: postpartum hypertension is no essential hypertension
    puerperium = _preds(cat, ("O16.5", 0.95), ("I10", 0.9))
    assert [p.code for p in reconcile(puerperium, cat)] == ["O16.5"]


def test_kidney_disease_on_dialysis_is_end_stage(cat: IcdCatalogue) -> None:
    assert [p.code for p in reconcile(_preds(cat, ("N18.5", 0.9), ("Z99.2", 0.85)), cat)] == [
        "N18.6",
        "Z99.2",
    ]


def test_osteoarthritis_beside_one_joints_pain_is_that_joints(cat: IcdCatalogue) -> None:
    knee = reconcile(_preds(cat, ("M19.90", 0.9), ("M25.561", 0.85)), cat)
    assert [p.code for p in knee] == ["M17.11"]
    # two joints' pain leave the site open
    both = reconcile(_preds(cat, ("M19.90", 0.9), ("M25.561", 0.85), ("M25.551", 0.85)), cat)
    assert "M19.90" in [p.code for p in both]


def test_a_past_stroke_with_a_deficit_it_left_is_the_deficits_sequela(cat: IcdCatalogue) -> None:
    from garmle.types import Evidence

    note = "CVA 2022 (left MCA infarct) with residual right arm weakness and expressive dysphasia."

    def said(code: str, text: str) -> CodePrediction:
        start = note.index(text)
        return CodePrediction(
            code, cat.title(code), 0.8, evidence=(Evidence("note", text, 0, start, start + len(text)),)
        )

    preds = [said("Z86.73", "CVA"), said("R53.1", "weakness"), said("R47.02", "dysphasia")]
    assert sorted(p.code for p in reconcile(preds, cat, notes=(note,))) == ["I69.321", "I69.398"]
    # a deficit said apart from the stroke, or after "no residual", is no sequela of it
    other = "History of stroke 2019, no residual deficit. Weakness from anaemia."
    apart = [
        CodePrediction("Z86.73", cat.title("Z86.73"), 0.8, evidence=(Evidence("note", "stroke", 0, 11, 17),)),
        CodePrediction("R53.1", cat.title("R53.1"), 0.8, evidence=(Evidence("note", "Weakness", 0, 45, 53),)),
    ]
    assert sorted(p.code for p in reconcile(apart, cat, notes=(other,))) == ["R53.1", "Z86.73"]


def test_an_excludes1_note_within_one_category_must_name_the_condition() -> None:
    cat = IcdCatalogue()
    # the carotid stenosis that caused a transient ischaemic attack: both stay (the note under I65 names
    # an insufficiency of precerebral arteries); a suspected sleep apnoea beats the apnoea symptom
    tia = [CodePrediction("I65.21", "Carotid", 0.9), CodePrediction("G45.9", "TIA", 0.8)]
    assert {p.code for p in reconcile(tia, cat)} == {"I65.21", "G45.9"}
    osa = [CodePrediction("R06.81", "Apnea", 0.6), CodePrediction("G47.33", "OSA", 0.5)]
    assert [p.code for p in reconcile(osa, cat)] == ["G47.33"]


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # the chronic condition beside its acute exacerbation
        ((("I50.23", 0.9), ("I50.22", 0.8)), ["I50.23"]),
        ((("J96.21", 0.9), ("J96.11", 0.8)), ["J96.21"]),
        # a code beside one of its own subdivisions; haemorrhoids beside their degree
        ((("R56.00", 0.9), ("R56.0", 0.8)), ["R56.00"]),
        ((("K64.1", 0.9), ("K64.8", 0.8)), ["K64.1"]),
        # a joint's pain beside its enthesopathy; a polyneuropathy or background retinopathy beside the
        # diabetic one; an influenza beside its pneumonia
        ((("M77.12", 0.9), ("M25.522", 0.8)), ["M77.12"]),
        ((("E10.42", 0.9), ("G62.9", 0.8)), ["E10.42"]),
        ((("E10.319", 0.9), ("H35.00", 0.8)), ["E10.319"]),
        ((("J10.00", 0.9), ("J10.1", 0.8)), ["J10.00"]),
        # an ovarian cyst that is the endometrioma
        ((("N80.102", 0.9), ("N83.202", 0.8)), ["N80.102"]),
        # the low sodium of an SIADH; the hives of an anaphylaxis and the anaphylaxis of no stated cause
        ((("E22.2", 0.9), ("E87.1", 0.8)), ["E22.2"]),
        ((("T78.01XA", 0.9), ("T78.2XXA", 0.8), ("L50.9", 0.7)), ["T78.01XA"]),
        # the depressive episode that is the postnatal depression; a viral infection that is the RSV
        # bronchiolitis
        ((("F53.0", 0.9), ("F32.1", 0.8)), ["F53.0"]),
        ((("J21.0", 0.9), ("B34.9", 0.8)), ["J21.0"]),
        # the melaena of a bleeding duodenal ulcer
        ((("K26.0", 0.9), ("K92.1", 0.8)), ["K26.0"]),
        # a hypothyroidism after radioiodine and the Graves' disease it ended; an acute pyelonephritis; a
        # sepsis of a stated organism
        ((("E89.0", 0.9), ("E05.00", 0.8), ("E03.9", 0.7)), ["E89.0"]),
        ((("N10", 0.9), ("N12", 0.8)), ["N10"]),
        ((("A41.51", 0.9), ("A41.9", 0.8)), ["A41.51"]),
    ],
)
def test_one_code_says_what_both_say(
    cat: IcdCatalogue, pairs: tuple[tuple[str, float], ...], expected: list[str]
) -> None:
    _merged(cat, pairs, expected)


def test_a_sited_disease_takes_no_other_sites_complication_and_diabetes_no_arbitrary_retinopathy(
    cat: IcdCatalogue,
) -> None:
    # E11.9 "... without complications" says nothing E11.319's "unspecified" leaves open
    out = reconcile(_preds(cat, ("E11.319", 0.9), ("E11.9", 0.8)), cat)
    assert [p.code for p in out] == ["E11.319"]


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        # a disease of no stated site with its complication, beside its site without one
        ((("K50.911", 0.9), ("K50.80", 0.8)), ["K50.811"]),
        # a diabetic nephropathy beside its kidney disease's stage; COPD beside an influenza pneumonia
        ((("E11.21", 0.9), ("N18.31", 0.8)), ["E11.22", "N18.31"]),
        ((("J44.9", 0.9), ("J10.00", 0.8)), ["J44.0", "J10.00"]),
        # varices in alcoholic cirrhosis are secondary varices; the fever of a neutropenia
        ((("K70.31", 0.9), ("I85.00", 0.8)), ["K70.31", "I85.10"]),
        ((("D70.1", 0.9), ("R50.9", 0.8)), ["D70.1", "R50.81"]),
    ],
)
def test_combinations_keep_their_companion(
    cat: IcdCatalogue, pairs: tuple[tuple[str, float], ...], expected: list[str]
) -> None:
    assert [p.code for p in reconcile(_preds(cat, *pairs), cat)] == expected


def test_weeks_past_term_make_a_post_term_pregnancy(cat: IcdCatalogue) -> None:
    def codes(week: str) -> list[str]:
        return [p.code for p in reconcile(_preds(cat, (week, 0.9)), cat, pregnant=True)]

    assert codes("Z3A.41") == ["O48.0", "Z3A.41"]  # the condition before its supplementary code
    assert codes("Z3A.42") == ["O48.1", "Z3A.42"]
    assert codes("Z3A.39") == ["Z3A.39"]


def test_a_neutropenia_during_chemotherapy_is_its_adverse_effect_and_its_fever_is_coded(
    cat: IcdCatalogue,
) -> None:
    ev = (Evidence("note", "febrile neutropenia", 0, 30, 49),)
    preds = [CodePrediction("D70.9", cat.title("D70.9"), 0.9, evidence=ev)]
    chemo = reconcile(preds, cat, notes=["Last vincristine 9 days ago. Febrile neutropenia."])
    assert {"D70.1", "T45.1X5A", "R50.81"} <= {p.code for p in chemo}
    # methotrexate for arthritis is no cancer chemotherapy
    arthritis = reconcile(preds, cat, notes=["RA on methotrexate. Febrile neutropenia."])
    assert "D70.1" not in {p.code for p in arthritis} and "R50.81" in {p.code for p in arthritis}


def test_hypertensive_heart_disease_folds_into_the_combination_code_made_from_it(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("I11.9", 0.9), ("I10", 0.9), ("N18.32", 0.9), ("I50.33", 0.9))
    assert sorted(p.code for p in reconcile(preds, cat)) == ["I13.0", "I50.33", "N18.32"]


def test_a_peptic_ulcer_beside_its_bleeding_is_the_ulcer_with_haemorrhage(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("K26.9", 0.9), ("K92.1", 0.86), ("D62", 0.9))
    assert sorted(p.code for p in reconcile(preds, cat)) == ["D62", "K26.4"]


def test_a_diabetic_gastroparesis_keeps_its_code_beside_the_combination(cat: IcdCatalogue) -> None:
    codes = {p.code for p in reconcile(_preds(cat, ("E11.9", 0.95), ("K31.84", 0.9)), cat)}
    assert codes == {"E11.43", "K31.84"}


def test_signs_of_an_angle_closure_a_croup_and_a_poisoning_are_not_coded_beside_them(
    cat: IcdCatalogue,
) -> None:
    for disease, signs in (
        ("H40.211", ("R51.9", "R11.0")),
        ("J05.0", ("R05.9", "R06.1")),
        ("T58.91XA", ("R51.9", "R11.10")),
        ("B86", ("L29.9",)),
        ("I71.43", ("I72.9",)),
    ):
        preds = _preds(cat, (disease, 0.9), *((sign, 0.7) for sign in signs))
        assert [p.code for p in reconcile(preds, cat)] == [disease]


def _cancer(cat: IcdCatalogue, code: str, start: int, end: int) -> CodePrediction:
    return CodePrediction(code, cat.title(code), 0.85, evidence=(Evidence("note", "", 0, start, end),))


def test_a_cancer_treated_with_no_evidence_of_disease_is_a_personal_history(cat: IcdCatalogue) -> None:
    note = (
        "Diagnosis: Adenocarcinoma of caecum, dx 2022. R hemicolectomy, adjuvant CAPOX completed.\n"
        "Reason for visit: 3-year routine surveillance.\n"
        "Impression: No evidence of recurrence at 3 years."
    )
    codes = [p.code for p in reconcile([_cancer(cat, "C18.0", 11, 35)], cat, notes=[note])]
    assert codes == ["Z85.038", "Z08"]
    # in the cancer's own line, beside another cancer of this visit
    skin = "Background: SCC R hand excised 2019 (no recurrence).\nHistology: basal cell carcinoma, L cheek."
    preds = [_cancer(cat, "C44.621", 12, 15), _cancer(cat, "C44.319", 79, 100)]
    assert {p.code for p in reconcile(preds, cat, notes=[skin])} == {"Z85.828", "C44.319"}


@pytest.mark.parametrize(
    "note",
    [
        # a staging that found no spread; a cancer still treated; a new cancer beside no recurrence of
        # another
        "Imp: new adenocarcinoma of caecum, no evidence of metastatic disease on CT. Plan: hemicolectomy.",
        "Dx: adenocarcinoma of caecum. Imp: no evidence of recurrence; continues capecitabine.",
    ],
)
def test_a_cancer_still_there_or_treated_stays_a_cancer(cat: IcdCatalogue, note: str) -> None:
    start = note.index("adenocarcinoma")
    preds = [_cancer(cat, "C18.0", start, start + 26)]
    if "capecitabine" in note:
        preds.append(CodePrediction("Z79.633", cat.title("Z79.633"), 0.5))
    assert "C18.0" in {p.code for p in reconcile(preds, cat, notes=[note])}


def test_an_anaemia_of_chronic_disease_tied_to_a_cancer_is_the_anaemia_in_neoplastic_disease(
    cat: IcdCatalogue,
) -> None:
    note = "Metastatic prostate cancer on ADT. Anaemia of chronic disease in malignancy."
    start = note.index("Anaemia")
    anaemia = CodePrediction(
        "D63", cat.title("D63"), 0.9, evidence=(Evidence("note", "", 0, start, start + 7),)
    )
    cancer = CodePrediction("C61", cat.title("C61"), 0.9)
    assert {p.code for p in reconcile([cancer, anaemia], cat, notes=[note])} >= {"C61", "D63.0"}


def test_a_previous_caesarean_and_a_treated_gestational_diabetes_in_a_pregnancy(cat: IcdCatalogue) -> None:
    note = "Previous LSCS 2021. 30+2 weeks.\nGDM - start METFORMIN 500mg od."
    scar = CodePrediction(
        "Z87.59", cat.title("Z87.59"), 0.8, evidence=(Evidence("note", "Previous LSCS", 0, 0, 13),)
    )
    preds = [scar, *_preds(cat, ("O24.419", 0.7), ("Z3A.30", 0.9))]
    assert {p.code for p in reconcile(preds, cat, pregnant=True, notes=[note])} == {
        "O34.211",
        "O24.415",
        "Z3A.30",
    }
    # a diet-controlled one stays so, whatever is said of metformin
    diet = "GDM - diet controlled. Start metformin if fasting >5.3."
    preds = _preds(cat, ("O24.410", 0.7), ("Z3A.30", 0.9))
    assert "O24.410" in {p.code for p in reconcile(preds, cat, pregnant=True, notes=[diet])}


def test_signs_fold_into_a_burn_a_sickle_crisis_a_fissure_a_cancer_iga_vasculitis_pcos_and_long_covid(
    cat: IcdCatalogue,
) -> None:
    for disease, signs in (
        ("T23.062A", ("T30.0", "L53.9")),
        ("D57.00", ("M79.659",)),
        ("K60.1", ("L91.8",)),
        ("C25.0", ("C49.6",)),
        # IgA vasculitis's purpura and pains, polycystic ovaries' sparse periods, the infection before
        # a post-COVID condition
        ("D69.0", ("D69.2", "M25.50", "R10.9")),
        ("E28.2", ("N91.3",)),
        ("U09.9", ("U07.1",)),
        # a reflux disease's heartburn, a fibroadenoma's lump, an obstructive cardiomyopathy's murmur, a
        # neurogenic claudication's leg pain; unspecified malaria, osteomyelitis, caesarean scar and skin
        # cancer beside the one said
        ("K21.9", ("R12",)),
        ("D24.2", ("N63.20",)),
        ("I42.1", ("R01.1",)),
        ("M48.062", ("M79.605",)),
        ("S83.511A", ("M25.461",)),
        ("B50.8", ("B54",)),
        ("M46.26", ("M86.9",)),
        ("C09.9", ("C44.92",)),
        # one side of a condition coded on both sides
        ("M17.0", ("M17.12",)),
        ("H25.13", ("H25.11",)),
    ):
        preds = _preds(cat, (disease, 0.9), *((sign, 0.7) for sign in signs))
        assert [p.code for p in reconcile(preds, cat)] == [disease]


def test_infections_and_fetal_growth_in_a_pregnancy_take_their_chapter_15_codes(cat: IcdCatalogue) -> None:
    syphilis = _preds(cat, ("A53.0", 0.9), ("Z3A.16", 0.9))
    assert {"O98.112", "A53.0"} <= {p.code for p in reconcile(syphilis, cat, pregnant=True)}
    growth = _preds(cat, ("O36.5990", 0.9), ("Z3A.30", 0.9))
    assert "O36.5930" in {p.code for p in reconcile(growth, cat, pregnant=True)}


def test_a_diverticular_disease_beside_its_bleeding_is_the_disease_with_bleeding(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("K57.30", 0.9), ("K62.5", 0.8))
    assert [p.code for p in reconcile(preds, cat)] == ["K57.31"]


def test_an_injury_in_pregnancy_takes_its_chapter_15_code(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("S39.91XA", 0.9), ("Z3A.22", 0.9))
    assert {"O9A.212", "S39.91XA"} <= {p.code for p in reconcile(preds, cat, pregnant=True)}


def test_a_dementia_whose_sentence_names_agitation_is_the_dementia_with_agitation(cat: IcdCatalogue) -> None:
    for note, start, expected in (
        ("Imp: agitation with personal care in moderate Alzheimer's dementia.", 37, "F02.B11"),
        ("Imp: moderate Alzheimer's dementia, no agitation.", 5, "F02.B0"),
    ):
        said = (Evidence("note", "moderate Alzheimer's dementia", 0, start, start + 29),)
        preds = [
            CodePrediction("G30.1", cat.title("G30.1"), 0.9),
            CodePrediction("F02.B0", "", 0.8, evidence=said),
        ]
        assert expected in {p.code for p in reconcile(preds, cat, notes=[note])}


def test_one_side_stays_beside_another_conditions_both_sides(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("M17.0", 0.9), ("M17.32", 0.7))
    assert {p.code for p in reconcile(preds, cat)} == {"M17.0", "M17.32"}


def test_an_enlarged_prostate_with_urinary_symptoms_is_n40_1(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("N40.0", 0.9), ("R35.1", 0.7))
    assert {p.code for p in reconcile(preds, cat)} == {"N40.1", "R35.1"}


def test_a_pregnancy_ending_in_miscarriage_takes_no_weeks_of_gestation(cat: IcdCatalogue) -> None:
    preds = _preds(cat, ("O02.1", 0.9), ("Z3A.09", 0.7))
    assert [p.code for p in reconcile(preds, cat, pregnant=True)] == ["O02.1"]
    scars = _preds(cat, ("O34.211", 0.9), ("O34.219", 0.8), ("Z3A.34", 0.7))
    assert [p.code for p in reconcile(scars, cat, pregnant=True)] == ["O34.211", "Z3A.34"]

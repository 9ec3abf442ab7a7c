"""Long-term drug therapy status codes (Z79) from a record's medications, allergy status codes (Z88,
Z91.0) from its allergies."""

from __future__ import annotations

import pytest

from garmle.catalogue import IcdCatalogue
from garmle.coding import default_predictor
from garmle.coding.drug_therapy import DRUG_THERAPY_SCORE, DrugTherapyCoder
from garmle.types import Medication, Patient


@pytest.fixture(scope="module")
def coder() -> DrugTherapyCoder:
    return DrugTherapyCoder(IcdCatalogue())


def _codes(coder: DrugTherapyCoder, note: str, **fields: object) -> list[str]:
    return sorted(p.code for p in coder.predict(Patient("p", notes=(note,), **fields)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("DH: apixaban, donepezil 10mg, paracetamol PRN.", ["Z79.01"]),
        ("Paroxysmal AF - anticoagulated with warfarin (INR 2.4 today).", ["Z79.01"]),
        (
            "Currently on prednisolone 5mg OD, tapering slowly. On alendronic acid 70mg weekly.",
            ["Z79.52", "Z79.83"],
        ),
        ("DH: Trelegy Ellipta 1 puff OD long-term, salbutamol PRN.", ["Z79.51"]),
        ("DH: azathioprine 125mg OD (since 2022), ferrous sulfate stopped due to GI upset.", ["Z79.624"]),
        ("Currently on letrozole 2.5mg OD since Dec 2024.", ["Z79.811"]),
        ("DH: metformin 500mg BD, empagliflozin 10mg OD, ramipril 5mg OD.", ["Z79.84"]),
        ("DH: COCP. NKDA.", ["Z79.3"]),
        # started months ago; a course planned over a year or more
        ("Current tx: Prednisolone 10mg OD (started 30mg 09/2025, tapering).", ["Z79.52"]),
        ("Plan: Pred 15mg OD, then slow taper over 12-18/12; steroid card given.", ["Z79.52"]),
        ("Mechanical mitral valve 2009 -> lifelong warfarin, INR 3.4 today.", ["Z79.01"]),
        ("DH: pyridostigmine 60mg QDS; prednisolone - weaned off Sept 2024.", []),
        ("PMR 2019-21, off prednisolone since 2021; no immunosuppressants.", []),
        # a short course, a drug started today, one stopped, an allergy, a relative's drug
        ("Plan: Apixaban 10mg BD x 7 days then 5mg BD for at least 3 months.", []),
        ("Tx: prednisolone 30mg PO. Home with prednisolone 30mg OD x 2 more days.", []),
        ("Aspirin 300 mg given in the ED.", []),
        ("DH: warfarin. Warfarin stopped after the bleed.", []),
        # an allergy is no drug taken, but an allergy status
        ("Allergies: aspirin (bronchospasm).", ["Z88.6"]),
        ("Mother on sertraline and warfarin.", []),
        ("Overnight oxycodone 5 mg x4 in 24 h.", []),
        # insulin is part of type 1 diabetes; insulin resistance is no insulin
        ("T1DM on insulin pump (insulin aspart).", []),
        ("T2DM on insulin glargine 20 units nocte.", ["Z79.4"]),
        ("DH: nil. Features of insulin resistance.", []),
        # taken now, said in the history; a topical steroid is no systemic one
        ("PMH: permanent AF on apixaban 2.5 mg bd; type 2 diabetes.", ["Z79.01"]),
        ("PMH: previously on warfarin.", []),
        ("DH: hydrocortisone 1% cream to flares.", []),
        ("DH: fluticasone nasal spray OD.", []),
        ("DH: aspirin 75 mg OD (HbA1c 7.5%).", ["Z79.82"]),
    ],
)
def test_drugs_taken_long_term_from_a_note(coder: DrugTherapyCoder, note: str, expected: list[str]) -> None:
    assert _codes(coder, note) == expected


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("Allergy: PENICILLIN - widespread urticarial rash (2015).", ["Z88.0"]),
        ("Allergies: co-amoxiclav (rash), codeine (vomiting).", ["Z88.0", "Z88.5"]),
        ("Drug allergies: sulpha drugs.", ["Z88.2"]),
        ("She is allergic to erythromycin and to peanuts.", ["Z88.1", "Z91.010"]),
        ("PMH: asthma. PCN allergy.", ["Z88.0"]),
        ("DH: nil regular. NKDA.", []),
        ("Allergies: none known.", []),
        # a relative's allergy, a conditional one, an allergy taken off the record
        ("Her son has a peanut allergy and carries an adrenaline pen.", []),
        ("If penicillin allergic, give clarithromycin.", []),
        ("Penicillin allergy de-labelled after an oral challenge in 2024.", []),
        # a drug named in the history, not as an allergy
        ("Treated with amoxicillin for otitis media last year.", []),
    ],
)
def test_allergy_status(coder: DrugTherapyCoder, note: str, expected: list[str]) -> None:
    assert _codes(coder, note) == expected


def test_the_structured_allergy_list(coder: DrugTherapyCoder) -> None:
    assert _codes(coder, "", allergies=("Penicillin (anaphylaxis)", "Latex")) == ["Z88.0", "Z91.040"]
    # named as read from the allergies, not from the drugs taken
    patient = Patient("p", allergies=("Penicillin (anaphylaxis)",))
    assert [(p.source, p.evidence[0].kind) for p in coder.predict(patient)] == [("allergy", "allergy")]
    assert _codes(coder, "", allergies=("No known drug allergies",)) == []


def test_the_structured_medication_list(coder: DrugTherapyCoder) -> None:
    meds = (
        Medication("Clopidogrel 75 MG Oral Tablet"),
        Medication("Insulin glargine 14 units at night"),
        Medication("Warfarin 5 MG Oral Tablet", status="stopped"),
        Medication("Hydrocortisone 10 MG/ML Topical Cream"),
    )
    preds = coder.predict(Patient("p", medications=meds))
    assert sorted(p.code for p in preds) == ["Z79.02", "Z79.4"]
    assert all(p.score == DRUG_THERAPY_SCORE and p.evidence[0].kind == "medication" for p in preds)


def test_listed_after_the_diagnoses() -> None:
    catalogue = IcdCatalogue()
    note = "Permanent AF. DH: apixaban 5mg BD, bisoprolol 2.5mg OD."
    codes = [p.code for p in default_predictor(None, catalogue).predict(Patient("p", notes=(note,)))]
    assert codes.index("I48.21") < codes.index("Z79.01")

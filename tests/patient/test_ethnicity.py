"""A stated race or ethnicity: read from notes, the JSON form and FHIR, and searched as a patient fact."""

from __future__ import annotations

from typing import Any

import pytest

from garmle.errors import PatientError
from garmle.patient import load_fhir, load_json_form, parse_note
from garmle.patient.ethnicity import ethnicity_in_fhir, ethnicity_in_text, normalise_ethnicity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("41 yo M, African American, f/u of raised BP.", "black"),
        ("62 year old black woman with palpitations.", "black"),
        ("Black man, 55, here for a BP check.", "black"),
        ("Afro-Caribbean lady with knee pain.", "black"),
        ("54F of South Asian origin, mother has type 2 diabetes.", "south asian"),
        ("Patient of Pakistani heritage.", "south asian"),
        ("47 year old Asian-born man.", "asian"),
        ("35-year-old Hispanic man.", "hispanic"),
        ("Caucasian male, 70.", "white"),
        # a colour, not a person: stools, a herb, an eye
        ("Black stools for 2 days, no haematemesis.", None),
        ("Tried black cohosh for hot flushes.", None),
        ("Fell and has a black eye.", None),
        ("White blood cell count 11.2.", None),
        ("No history of asthma.", None),
        # somebody else's
        ("68F, lives with her African American husband.", None),
        ("Hispanic partner attends; patient is a 40 yo black man.", "black"),
    ],
)
def test_ethnicity_stated_in_a_note(text: str, expected: str | None) -> None:
    assert ethnicity_in_text(text) == expected
    assert parse_note(text).ethnicity == expected


def test_ethnicity_of_the_json_form() -> None:
    assert load_json_form({"age": 50, "ethnicity": "Black or African American"}).ethnicity == "black"
    assert load_json_form({"age": 50, "ethnicity": "south asian"}).ethnicity == "south asian"
    assert load_json_form({"age": 50, "notes": ["58M, African American."]}).ethnicity == "black"
    unknown = load_json_form({"age": 50, "ethnicity": "Martian"})
    assert unknown.ethnicity is None and any("ethnicity" in w for w in unknown.warnings)
    with pytest.raises(PatientError, match="'ethnicity' must be text"):
        load_json_form({"ethnicity": 3})
    assert normalise_ethnicity("Hispanic or Latino") == "hispanic"


def _us_core(kind: str, code: str, display: str) -> dict[str, Any]:
    return {
        "url": f"http://hl7.org/fhir/us/core/StructureDefinition/us-core-{kind}",
        "extension": [
            {
                "url": "ombCategory",
                "valueCoding": {
                    "system": "urn:oid:2.16.840.1.113883.6.238",
                    "code": code,
                    "display": display,
                },
            },
            {"url": "text", "valueString": display},
        ],
    }


def test_ethnicity_of_a_fhir_patient_from_the_us_core_extensions() -> None:
    race = _us_core("race", "2054-5", "Black or African American")
    not_hispanic = _us_core("ethnicity", "2186-5", "Not Hispanic or Latino")
    hispanic = _us_core("ethnicity", "2135-2", "Hispanic or Latino")
    patient = {"resourceType": "Patient", "id": "p1", "gender": "male", "extension": [race, not_hispanic]}
    assert ethnicity_in_fhir(patient) == "black"
    assert load_fhir(patient).ethnicity == "black"
    assert ethnicity_in_fhir({**patient, "extension": [race, hispanic]}) == "hispanic"
    assert ethnicity_in_fhir({"resourceType": "Patient", "id": "p1"}) is None


def test_ethnicity_is_a_patient_fact_of_every_query() -> None:
    from garmle.query import patient_facts
    from garmle.types import Patient

    facts = patient_facts(Patient("p", age=41, sex="male", ethnicity="black"), "I10", [])
    fact = next(f for f in facts if f.text.startswith("ethnicity"))
    assert fact.text == "ethnicity: black" and "african american" in fact.terms
    # a stated white ethnicity is kept but names no group a guideline addresses
    white = patient_facts(Patient("p", age=41, sex="male", ethnicity="white"), "I10", [])
    assert not any(f.text.startswith("ethnicity") for f in white)

"""FHIR R4 input: every supported resource shape, written by hand."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from garmle.errors import PatientError
from garmle.patient import load_fhir, load_patient
from garmle.patient.measurements import MAX_PER_NAME

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def concept(system: str, code: str, display: str = "") -> dict[str, Any]:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return {"coding": [coding], "text": display or code}


def quantity(value: object, unit: str = "", ucum: str | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "system": "http://unitsofmeasure.org"}
    if unit:
        q.update(unit=unit, code=unit if ucum is None else ucum)
    return q


def obs(code: str, value: object, unit: str, when: str, **extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": concept(LOINC, code),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "valueQuantity": quantity(value, unit),
    }
    res.update(extra)
    return res


def bp_panel(
    code: str, systolic: object, diastolic: object, when: str, unit: str = "mm[Hg]"
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": concept(LOINC, code, "Blood pressure"),
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": when,
        "component": [
            {"code": concept(LOINC, "8480-6"), "valueQuantity": quantity(systolic, unit)},
            {"code": concept(LOINC, "8462-4"), "valueQuantity": quantity(diastolic, unit)},
        ],
    }


def condition(
    system: str, code: str, display: str, status: str | None = "active", **extra: Any
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "code": concept(system, code, display),
        "subject": {"reference": "Patient/p1"},
    }
    if status is not None:
        res["clinicalStatus"] = concept("http://terminology.hl7.org/CodeSystem/condition-clinical", status)
    res.update(extra)
    return res


def patient(**extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1955-07-01"}
    res.update(extra)
    return res


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:r{i}", "resource": r} for i, r in enumerate(resources)],
    }


# --------------------------------------------------------------------------- demographics


def test_patient_age_is_taken_at_the_latest_record_date() -> None:
    p = load_fhir(bundle(patient(), obs("39156-5", 31.0, "kg/m2", "2020-06-30T10:00:00Z")))
    assert p.patient_id == "p1"
    assert p.sex == "male"
    assert p.birth_date == dt.date(1955, 7, 1)
    assert p.age == 64  # one day before the 65th birthday


def test_patient_without_records_is_aged_today() -> None:
    p = load_fhir(patient(birthDate="2000-01-01", gender="female"))
    today = dt.date.today()
    assert p.age == today.year - 2000 - ((today.month, today.day) < (1, 1))
    assert p.sex == "female"


def test_deceased_patient_is_aged_at_death() -> None:
    p = load_fhir(bundle(patient(deceasedDateTime="2001-07-02T00:00:00Z")))
    assert p.age == 46


def test_unknown_gender_gives_no_sex() -> None:
    assert load_fhir(patient(gender="unknown")).sex is None


def test_birth_date_in_the_future_is_warned_and_ignored() -> None:
    p = load_fhir(bundle(patient(birthDate="2990-01-01")))
    assert p.age is None
    assert any("age" in w for w in p.warnings)


# --------------------------------------------------------------------------- blood pressure


def test_blood_pressure_in_every_usual_shape() -> None:
    p = load_fhir(
        bundle(
            patient(),
            bp_panel("55284-4", 150, 95, "2020-01-10T09:00:00Z"),
            bp_panel("85354-9", 145, 92, "2020-02-10T09:00:00Z"),
            obs("8480-6", 140, "mm[Hg]", "2020-03-10T09:00:00Z"),
            obs("8462-4", 88, "mm[Hg]", "2020-03-10T09:00:00Z"),
            obs("8462-4", 84, "mmHg", "2020-04-11T08:00:00Z"),
            obs("8480-6", 136, "mmHg", "2020-04-11T08:05:00Z"),
        )
    )
    readings = [(r.systolic, r.diastolic, r.date) for r in p.blood_pressures]
    assert readings == [
        (150, 95, dt.date(2020, 1, 10)),
        (145, 92, dt.date(2020, 2, 10)),
        (140, 88, dt.date(2020, 3, 10)),
        (136, 84, dt.date(2020, 4, 11)),  # paired by day when the times differ
    ]
    assert p.latest_bp is not None and p.latest_bp.systolic == 136


def test_standalone_readings_pair_by_exact_time_first() -> None:
    p = load_fhir(
        bundle(
            patient(),
            obs("8480-6", 160, "mmHg", "2020-05-01T08:00:00Z"),
            obs("8480-6", 130, "mmHg", "2020-05-01T17:00:00Z"),
            obs("8462-4", 80, "mmHg", "2020-05-01T17:00:00Z"),
            obs("8462-4", 100, "mmHg", "2020-05-01T08:00:00Z"),
        )
    )
    assert sorted((r.systolic, r.diastolic) for r in p.blood_pressures) == [(130, 80), (160, 100)]


def test_unpaired_standalone_reading_is_not_a_blood_pressure() -> None:
    p = load_fhir(bundle(patient(), obs("8480-6", 150, "mmHg", "2020-05-01")))
    assert p.blood_pressures == ()


def test_panel_without_components_is_skipped() -> None:
    panel = bp_panel("85354-9", 1, 1, "2020-05-01")
    del panel["component"]
    panel["hasMember"] = [{"reference": "Observation/s1"}]
    assert load_fhir(bundle(patient(), panel)).blood_pressures == ()


def test_impossible_and_foreign_unit_pressures_are_warned_and_skipped() -> None:
    p = load_fhir(
        bundle(
            patient(),
            bp_panel("55284-4", 400, 20, "2020-01-01"),
            bp_panel("55284-4", 80, 120, "2020-01-02"),
            bp_panel("55284-4", 18, 12, "2020-01-03", unit="kPa"),
            bp_panel("55284-4", 128, 78, "2020-01-04"),
        )
    )
    assert [(r.systolic, r.diastolic) for r in p.blood_pressures] == [(128, 78)]
    assert any("systolic 400" in w for w in p.warnings)
    assert any("diastolic 120 not below systolic 80" in w for w in p.warnings)
    assert any("'kPa'" in w for w in p.warnings)


def test_duplicate_readings_count_once() -> None:
    p = load_fhir(
        bundle(
            patient(),
            bp_panel("85354-9", 150, 90, "2020-01-01T08:00:00Z"),
            obs("8480-6", 150, "mmHg", "2020-01-01T08:00:00Z"),
            obs("8462-4", 90, "mmHg", "2020-01-01T08:00:00Z"),
        )
    )
    assert len(p.blood_pressures) == 1


# --------------------------------------------------------------------------- labs and vitals


@pytest.mark.parametrize(
    ("code", "value", "unit", "name", "expected"),
    [
        ("33914-3", 42, "mL/min/{1.73_m2}", "egfr", 42),
        ("62238-1", 55, "mL/min/{1.73_m2}", "egfr", 55),
        ("48642-3", 61, "mL/min/{1.73_m2}", "egfr", 61),
        ("48643-1", 39, "mL/min/{1.73_m2}", "egfr", 39),
        ("98979-8", 47, "mL/min/{1.73_m2}", "egfr", 47),
        ("2160-0", 1.4, "mg/dL", "creatinine", 1.4),
        ("38483-4", 123.788, "umol/L", "creatinine", 1.4),
        ("2823-3", 5.2, "mmol/L", "potassium", 5.2),
        ("6298-4", 4.1, "meq/L", "potassium", 4.1),
        ("4548-4", 8.1, "%", "hba1c", 8.1),
        ("17856-6", 64, "mmol/mol", "hba1c", 8.0067),
        ("2339-0", 7.0, "mmol/L", "glucose", 126.112),
        ("2345-7", 99, "mg/dL", "glucose", 99),
        ("2093-3", 5.0, "mmol/L", "total_cholesterol", 193.35),
        ("18262-6", 160, "mg/dL", "ldl", 160),
        ("2085-9", 45, "mg/dL", "hdl", 45),
        ("2571-8", 150, "mg/dL", "triglycerides", 150),
        ("9318-7", 30, "mg/g", "uacr", 30),
        ("14959-1", 3.0, "mg/mmol", "uacr", 26.52),
        ("39156-5", 31.2, "kg/m2", "bmi", 31.2),
        ("8867-4", 88, "/min", "heart_rate", 88),
        ("29463-7", 176.37, "[lb_av]", "weight", 80.0),
        ("8302-2", 1.75, "m", "height", 175),
    ],
)
def test_loinc_observation_is_read_in_canonical_units(
    code: str, value: float, unit: str, name: str, expected: float
) -> None:
    p = load_fhir(bundle(patient(), obs(code, value, unit, "2021-03-04")))
    found = p.lab(name)
    assert found is not None
    assert found.value == pytest.approx(expected, abs=0.01)
    assert found.code == code
    assert found.date == dt.date(2021, 3, 4)
    assert (found in p.vitals) == (name in {"bmi", "heart_rate", "weight", "height"})


def test_printed_unit_is_used_when_the_ucum_code_is_foreign() -> None:
    res = obs("2339-0", 0, "", "2021-03-04")
    res["valueQuantity"] = {"value": 6.0, "unit": "mmol/L", "code": "mmol/L-local"}
    assert load_fhir(bundle(patient(), res)).lab("glucose").value == pytest.approx(108.1, abs=0.1)  # type: ignore[union-attr]


def test_latest_values_are_kept_per_measure() -> None:
    readings = [obs("33914-3", 60 - i, "mL/min/{1.73_m2}", f"20{10 + i}-01-01") for i in range(8)]
    p = load_fhir(bundle(patient(), *reversed(readings)))
    egfr = [o for o in p.labs if o.name == "egfr"]
    assert len(egfr) == MAX_PER_NAME
    assert [o.value for o in egfr] == [55, 54, 53]
    assert p.lab("egfr").value == 53  # type: ignore[union-attr]


def test_impossible_values_and_unknown_units_are_warned_and_skipped() -> None:
    p = load_fhir(
        bundle(
            patient(),
            obs("4548-4", -2.0, "%", "2021-01-01"),
            obs("4548-4", 7.4, "%", "2020-01-01"),
            obs("2823-3", 4.5, "furlongs", "2021-01-01"),
            obs("39156-5", 900, "kg/m2", "2021-01-01"),
        )
    )
    assert [o.value for o in p.labs if o.name == "hba1c"] == [7.4]
    assert p.lab("potassium") is None
    assert p.lab("bmi") is None
    assert any("hba1c -2" in w and "negative" in w for w in p.warnings)
    assert any("furlongs" in w for w in p.warnings)
    assert any("bmi 900" in w for w in p.warnings)


def test_entered_in_error_observation_is_ignored() -> None:
    p = load_fhir(bundle(patient(), obs("4548-4", 9.9, "%", "2021-01-01", status="entered-in-error")))
    assert p.lab("hba1c") is None


def test_invalid_resource_inside_a_bundle_is_skipped_with_a_warning() -> None:
    bad = obs("4548-4", "eight", "%", "2021-01-01")
    p = load_fhir(bundle(patient(), bad, obs("4548-4", 7.1, "%", "2020-01-01")))
    assert [o.value for o in p.labs] == [7.1]
    assert any("not valid R4" in w and "valueQuantity.value" in w for w in p.warnings)


# --------------------------------------------------------------------------- conditions


def test_conditions_keep_active_only_and_map_to_icd10() -> None:
    p = load_fhir(
        bundle(
            patient(),
            condition(SNOMED, "38341003", "Hypertension"),
            condition(SNOMED, "44054006", "Diabetes mellitus type 2 (disorder)", status="recurrence"),
            condition(ICD10CM, "n1831", "CKD stage 3a"),
            condition(SNOMED, "999999999", "Rare thing"),
            condition(SNOMED, "195967001", "Asthma", status="resolved"),
            condition(SNOMED, "40055000", "Chronic sinusitis", status="inactive"),
            condition(SNOMED, "13645005", "COPD", status="remission"),
            condition(SNOMED, "90560007", "Gout", status=None, abatementDateTime="2019-01-01"),
            condition(SNOMED, "40930008", "Hypothyroidism", status=None),
            condition(
                SNOMED,
                "49436004",
                "Atrial fibrillation",
                verificationStatus=concept(
                    "http://terminology.hl7.org/CodeSystem/condition-ver-status", "entered-in-error"
                ),
            ),
        )
    )
    found = {(c.display, c.icd10) for c in p.problems}
    assert found == {
        ("Hypertension", "I10"),
        ("Diabetes mellitus type 2", "E11.9"),
        ("CKD stage 3a", "N18.31"),
        ("Rare thing", None),
        ("Hypothyroidism", "E03.9"),
    }
    rare = next(c for c in p.problems if c.display == "Rare thing")
    assert (rare.code, rare.system) == ("999999999", SNOMED)


def test_icd10_coding_wins_over_snomed_and_repeats_merge() -> None:
    both = condition(SNOMED, "38341003", "Hypertension")
    both["code"]["coding"].append({"system": ICD10CM, "code": "I11.9"})
    p = load_fhir(
        bundle(
            patient(),
            both,
            condition(SNOMED, "40055000", "Chronic sinusitis", onsetDateTime="2010-01-01"),
            condition(SNOMED, "40055000", "Chronic sinusitis", onsetDateTime="2018-01-01"),
        )
    )
    assert sorted(c.icd10 for c in p.problems if c.icd10) == ["I11.9", "J32.9"]
    sinusitis = [c for c in p.problems if c.icd10 == "J32.9"]
    assert len(sinusitis) == 1 and sinusitis[0].onset == dt.date(2018, 1, 1)


def test_malformed_icd10_code_is_dropped_with_a_warning() -> None:
    p = load_fhir(bundle(patient(), condition(ICD10CM, "hypertension", "Hypertension")))
    assert [(c.display, c.icd10) for c in p.problems] == [("Hypertension", None)]
    assert any("malformed ICD-10-CM code" in w for w in p.warnings)


def test_pregnancy_from_an_active_condition() -> None:
    p = load_fhir(bundle(patient(gender="female"), condition(SNOMED, "72892002", "Normal pregnancy")))
    assert p.pregnant is True
    ended = load_fhir(
        bundle(patient(gender="female"), condition(SNOMED, "72892002", "Pregnancy", "resolved"))
    )
    assert ended.pregnant is None
    icd = load_fhir(bundle(patient(gender="female"), condition(ICD10CM, "O13.3", "Gestational hypertension")))
    assert icd.pregnant is True
    miscarriage = load_fhir(bundle(patient(gender="female"), condition(SNOMED, "19169002", "Miscarriage")))
    assert miscarriage.pregnant is None


def delivery(
    when: str,
    system: str = SNOMED,
    code: str = "236973005",
    display: str = "Delivery procedure",
    status: str = "completed",
) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "status": status,
        "code": concept(system, code, display),
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": when,
    }


def test_postpartum_from_a_delivery_in_the_last_six_weeks() -> None:
    woman = patient(gender="female", birthDate="1994-03-01")
    visit = obs("8302-2", 165, "cm", "2026-03-20")
    assert load_fhir(bundle(woman, delivery("2026-03-01"), visit)).postpartum is True
    # a caesarean named only in words, 41 days before the latest record
    caesarean = delivery(
        "2026-02-07", system="http://example.org/proc", code="X1", display="Caesarean section"
    )
    assert load_fhir(bundle(woman, caesarean, visit)).postpartum is True
    # a birth years before the latest record, or a procedure that was not done, is no puerperium
    assert load_fhir(bundle(woman, delivery("2019-05-01"), visit)).postpartum is None
    assert load_fhir(bundle(woman, delivery("2026-03-01", status="not-done"), visit)).postpartum is None
    # other procedures are not read at all
    other = delivery("2026-03-01", code="80146002", display="Appendectomy")
    assert load_fhir(bundle(woman, other, visit)).postpartum is None


def test_postpartum_from_a_delivery_code_or_a_condition_of_the_puerperium() -> None:
    woman = patient(gender="female", birthDate="1994-03-01")
    visit = obs("8302-2", 165, "cm", "2026-03-20")
    outcome = condition(ICD10CM, "Z37.0", "Single live birth", onsetDateTime="2026-03-10")
    p = load_fhir(bundle(woman, outcome, visit))
    assert p.postpartum is True
    assert p.problems == ()  # the birth is an event of the record, not a problem to search guidelines for
    pph = condition(ICD10CM, "O72.1", "Other immediate postpartum hemorrhage")
    assert load_fhir(bundle(woman, pph)).postpartum is True
    state = condition(SNOMED, "86569001", "Postpartum state")
    assert load_fhir(bundle(woman, state)).postpartum is True
    thyroiditis = condition(ICD10CM, "O90.5", "Postpartum thyroiditis")
    assert load_fhir(bundle(woman, thyroiditis)).postpartum is True
    past = condition(ICD10CM, "O90.5", "Postpartum thyroiditis", "resolved")
    assert load_fhir(bundle(woman, past)).postpartum is None


def test_postpartum_from_a_note_but_not_in_a_new_pregnancy() -> None:
    woman = patient(gender="female", birthDate="1994-03-01")
    note = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(b"Seen 10 days postpartum, breastfeeding.").decode(),
                }
            }
        ],
    }
    assert load_fhir(bundle(woman, note)).postpartum is True
    history = dict(
        note,
        content=[
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(b"History of postnatal depression in 2015.").decode(),
                }
            }
        ],
    )
    assert load_fhir(bundle(woman, history)).postpartum is None
    pregnant = condition(SNOMED, "72892002", "Normal pregnancy")
    both = load_fhir(bundle(woman, note, delivery("2026-03-01"), pregnant))
    assert both.pregnant is True
    assert both.postpartum is None


def test_pregnancy_from_the_latest_status_observation() -> None:
    def status(code: str, when: str) -> dict[str, Any]:
        res = obs("82810-3", 0, "", when)
        del res["valueQuantity"]
        res["valueCodeableConcept"] = concept(SNOMED, code)
        return res

    assert load_fhir(
        bundle(patient(), status("60001007", "2020-01-01"), status("77386006", "2021-01-01"))
    ).pregnant
    assert (
        load_fhir(
            bundle(patient(), status("77386006", "2020-01-01"), status("60001007", "2021-01-01"))
        ).pregnant
        is False
    )


# --------------------------------------------------------------------------- medications, allergies, notes


def test_active_medications_only() -> None:
    def request(code: str, display: str, status: str) -> dict[str, Any]:
        return {
            "resourceType": "MedicationRequest",
            "status": status,
            "intent": "order",
            "medicationCodeableConcept": concept(RXNORM, code, display),
            "subject": {"reference": "Patient/p1"},
            "authoredOn": "2020-01-01",
        }

    statement = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "medicationCodeableConcept": {"text": "Aspirin 81 mg"},
        "subject": {"reference": "Patient/p1"},
    }
    stopped_statement = dict(statement, status="completed", medicationCodeableConcept={"text": "Old drug"})
    p = load_fhir(
        bundle(
            patient(),
            request("316049", "Hydrochlorothiazide 25 MG", "active"),
            request("313782", "Acetaminophen 325 MG", "stopped"),
            statement,
            stopped_statement,
        )
    )
    assert sorted((m.display, m.code) for m in p.medications) == [
        ("Aspirin 81 mg", ""),
        ("Hydrochlorothiazide 25 MG", "316049"),
    ]
    hctz = next(m for m in p.medications if m.code == "316049")
    assert hctz.system == RXNORM and hctz.authored == dt.date(2020, 1, 1)


def test_medication_reference_is_resolved_in_the_bundle() -> None:
    medication = {
        "resourceType": "Medication",
        "id": "m1",
        "code": concept(RXNORM, "197361", "Amlodipine 5 MG"),
    }
    request = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "Medication/m1"},
        "subject": {"reference": "Patient/p1"},
    }
    p = load_fhir(bundle(patient(), medication, request))
    assert [(m.display, m.code) for m in p.medications] == [("Amlodipine 5 MG", "197361")]


def test_allergies_keep_active_ones() -> None:
    def allergy(display: str, status: str) -> dict[str, Any]:
        return {
            "resourceType": "AllergyIntolerance",
            "patient": {"reference": "Patient/p1"},
            "clinicalStatus": concept(
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", status
            ),
            "code": concept(SNOMED, "91936005", display),
        }

    p = load_fhir(
        bundle(patient(), allergy("Penicillin (substance)", "active"), allergy("Latex", "resolved"))
    )
    assert p.allergies == ("Penicillin (substance)",)


def test_note_text_from_documents_and_compositions() -> None:
    text = "Follow-up visit. Home readings around 150/90."
    html_text = "<html><body><p>Second note</p><p>Feels well &amp; active.</p></body></html>"
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "date": "2021-01-01T00:00:00Z",
        "content": [
            {"attachment": {"contentType": "text/plain", "data": base64.b64encode(text.encode()).decode()}},
            {"attachment": {"contentType": "application/pdf", "data": base64.b64encode(b"%PDF").decode()}},
        ],
    }
    report = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "code": {"text": "Progress note"},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2022-01-01",
        "presentedForm": [
            {"contentType": "text/html", "data": base64.b64encode(html_text.encode()).decode()}
        ],
    }
    composition = {
        "resourceType": "Composition",
        "status": "final",
        "type": {"text": "Discharge summary"},
        "date": "2023-01-01",
        "author": [{"display": "Clinic"}],
        "title": "Discharge summary",
        "subject": {"reference": "Patient/p1"},
        "section": [
            {
                "title": "Hospital course",
                "text": {
                    "status": "generated",
                    "div": '<div xmlns="http://www.w3.org/1999/xhtml">Treated.</div>',
                },
            }
        ],
    }
    p = load_fhir(bundle(patient(), composition, document, report))
    assert p.notes == (
        text,
        "Second note\nFeels well & active.",
        "Discharge summary\nHospital course\nTreated.",
    )
    assert any("application/pdf" in w for w in p.warnings)


def test_bad_base64_attachment_is_warned() -> None:
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"contentType": "text/plain", "data": "@@@not base64@@@"}}],
    }
    p = load_fhir(bundle(patient(), document))
    assert p.notes == ()
    assert any("base64" in w for w in p.warnings)


# --------------------------------------------------------------------------- single resources and errors


def test_single_resources_are_read() -> None:
    only = load_fhir(condition(SNOMED, "38341003", "Hypertension"))
    assert [c.icd10 for c in only.problems] == ["I10"]
    assert only.patient_id == "p1"  # from the subject reference
    reading = load_patient(bp_panel("85354-9", 138, 86, "2020-02-02"))
    assert reading.latest_bp is not None and reading.latest_bp.systolic == 138


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bundle(obs("4548-4", 7, "%", "2020-01-01")), "no Patient resource"),
        ({"resourceType": "Bundle", "type": "collection"}, "no Patient resource"),
        (bundle(patient(), patient(id="p2")), "2 Patient resources"),
        ({"resourceType": "Bundle", "entry": {"resource": {}}}, "'entry' is not a list"),
        ({"resourceType": "Bundle", "entry": [{"fullUrl": "x"}]}, "entry 0 holds no resource"),
        ({"resourceType": "Claim", "status": "active"}, "FHIR Claim resource holds no patient data"),
        ({"resourceType": ""}, "no resourceType"),
        (obs("4548-4", "eight", "%", "2021-01-01"), "FHIR Observation is not valid R4"),
        (bundle(patient(gender=7)), "FHIR Patient is not valid R4"),
    ],
)
def test_unusable_fhir_raises_one_clear_line(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PatientError, match=message) as info:
        load_fhir(data)
    assert "\n" not in str(info.value)


def test_a_dxa_t_score_keeps_its_sign() -> None:
    import json

    dxa = {
        "resourceType": "Observation",
        "status": "final",
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "38267-8", "display": "DXA Lumbar spine [T-score]"}
            ]
        },
        "valueQuantity": {"value": -2.8, "unit": "{T-score}"},
        "effectiveDateTime": "2024-01-01",
    }
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Patient", "id": "x"}}, {"resource": dxa}],
    }
    patient = load_patient(json.dumps(bundle))
    assert [(o.name, o.value) for o in patient.labs] == [("t_score", -2.8)] and patient.warnings == ()

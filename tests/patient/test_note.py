"""Plain-text notes: only plainly stated facts are extracted."""

from __future__ import annotations

import pytest

from garmle.patient import parse_note


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("64-year-old man with chest pain", 64),
        ("A 64 year old presents", 64),
        ("64 yo with cough", 64),
        ("Pt 64 y/o, fever", 64),
        ("Age: 64. Smoker.", 64),
        ("aged 64, retired", 64),
        ("64M presenting with dyspnoea", 64),
        ("S: 27F, migraine with aura 2-3x/month.", 27),  # after a SOAP header
        ("Elderly gentleman, 84, new diagnosis of hypothyroidism.", 84),  # after the person, in commas
        ("Clinic letter. Mrs P, 61, has 4 months of ptosis.", 61),
        ("Mrs T. Begum, 26, G2P1, 18+3 weeks.", 26),  # an initial and a surname
        ("Ambulatory care - Mr J Hughes, 66.", 66),
        ("Re: Ms A. Kowalski, 34y\nDx: Graves' disease.", 34),  # "34y" at a line's end
        ("Adult female, 30 years, bruising for a week.", 30),
        # a letter's subject line; initials run together
        ("Re: Thomas B., 29\n\nDiagnoses: ileal Crohn's disease.", 29),
        ("Mr D.K., 38. Care coordinator present.", 38),
        ("Re: BP, 140/90 at home.", None),
        ("Woman, 3 children, lives alone.", None),  # a count that is no age
        ("Asthma review 38M. Uses salbutamol most days.", 38),  # an age and sex letter in the opening
        ("COPD review. 72F, ex-smoker.", 72),
        ("Temp 101F, cough for 3 days.", None),  # a temperature in Fahrenheit
        ("Foley 16F catheter inserted yesterday.", None),  # a catheter's French size
        ("Breathless after 50m on the flat.", None),  # a distance
        ("20-month-old boy brought by mum", 1),
        ("6 weeks old, feeding well", 0),
        ("Neonatal unit: baby girl born at 30+2 weeks gestation, on CPAP.", 0),
        ("Postnatal check, 2 weeks postpartum: breastfeeding her newborn.", None),  # the mother's note
        ("No age stated. BP 120/80.", None),
    ],
)
def test_age(text: str, age: int | None) -> None:
    assert parse_note(text).age == age


@pytest.mark.parametrize(
    ("text", "sex"),
    [
        ("58-year-old woman", "female"),
        ("Elderly man, BP 150/90", "male"),
        ("Female patient, 40", "female"),
        ("A male smoker", "male"),
        ("64 yo F with cough", "female"),
        ("71M with palpitations", "male"),
        ("Human presents with rash", None),
        ("Temperature 101 F this morning", None),
        # the patient's title in a heading, not a letter's addressee
        ("Urology Outpatients\nDear Dr Hughes,\nRe: Mr ---, aged 71", "male"),
        ("Mrs T. Begum, 26, G2P1", "female"),
        ("Dear Mr Shah, thank you for seeing this patient.", None),
        # an obstetric formula before the baby she had
        ("31-year-old G2P1 at 37+4 weeks. Obstetric history: 2021 SVD, boy 3.5 kg.", "female"),
    ],
)
def test_sex(text: str, sex: str | None) -> None:
    assert parse_note(text).sex == sex


def test_blood_pressure_readings_in_text_order() -> None:
    p = parse_note(
        "BP 150/95 today. Earlier blood pressure of 162/98 mmHg and 158/96 on repeat. "
        "Home readings 145/90 mmHg. Seen 12/05/2023. Ratio 3/4."
    )
    assert [(r.systolic, r.diastolic) for r in p.blood_pressures] == [
        (150, 95),
        (162, 98),
        (158, 96),
        (145, 90),
    ]
    assert all(r.date is None for r in p.blood_pressures)


def test_impossible_blood_pressure_is_warned() -> None:
    p = parse_note("BP 400/20 recorded in error, repeat BP 140/85.")
    assert [(r.systolic, r.diastolic) for r in p.blood_pressures] == [(140, 85)]
    assert any("systolic 400" in w for w in p.warnings)


@pytest.mark.parametrize(
    ("text", "name", "value", "unit"),
    [
        ("HbA1c 8.1%", "hba1c", 8.1, "%"),
        ("A1c was 64 mmol/mol", "hba1c", 8.0067, "%"),
        ("eGFR 42", "egfr", 42, "mL/min/{1.73_m2}"),
        ("eGFR of 38 mL/min/1.73 m2", "egfr", 38, "mL/min/{1.73_m2}"),
        ("LDL 160 mg/dL", "ldl", 160, "mg/dL"),
        ("LDL-C: 4.2 mmol/L", "ldl", 162.41, "mg/dL"),
        ("potassium 5.2", "potassium", 5.2, "mmol/L"),
        ("K+ 5.9 mmol/L", "potassium", 5.9, "mmol/L"),
        ("creatinine 1.4 mg/dL", "creatinine", 1.4, "mg/dL"),
        ("creatinine 124 umol/L", "creatinine", 1.4024, "mg/dL"),
        ("Fasting glucose 7.2 mmol/L", "glucose", 129.72, "mg/dL"),
        ("total cholesterol 240", "total_cholesterol", 240, "mg/dL"),
        ("HDL 38", "hdl", 38, "mg/dL"),
        ("triglycerides 212 mg/dL", "triglycerides", 212, "mg/dL"),
        ("urine albumin/creatinine ratio 45 mg/g", "uacr", 45, "mg/g"),
        ("BMI 31.2 kg/m2", "bmi", 31.2, "kg/m2"),
        ("heart rate 118 bpm", "heart_rate", 118, "/min"),
        ("weight 198 lb", "weight", 89.8113, "kg"),
        ("haemoglobin 11.2 g/dL", "hemoglobin", 11.2, "g/dL"),
        ("sats 89% on air", "spo2", 89, "%"),
        ("RR 24", "respiratory_rate", 24, "/min"),
        ("temp 101.3 F", "temperature", 38.5, "Cel"),
        ("HbA1c has risen to 8.4%", "hba1c", 8.4, "%"),
        # a result without its unit in the unit its size says
        ("Total cholesterol 5.4. HDL 1.2.", "total_cholesterol", 208.818, "mg/dL"),
        ("creatinine 238 (baseline 90 in 2024)", "creatinine", 2.6917, "mg/dL"),
        ("On arrival: CBG 2.9 mmol/L, sweaty.", "glucose", 52.2464, "mg/dL"),
        # a DXA scan's lowest T-score, its sign read
        ("DEXA: T-score -2.7 at lumbar spine, -1.9 at hip.", "t_score", -2.7, "{T-score}"),
        ("T score of minus 1.2 at the femoral neck, Z-score -2.0", "t_score", -1.2, "{T-score}"),
        ("PSA of 9.2 ng/mL on routine testing", "psa", 9.2, "ng/mL"),
        ("prostate-specific antigen 5.1 ug/L", "psa", 5.1, "ng/mL"),
    ],
)
def test_labs_and_vitals_with_values(text: str, name: str, value: float, unit: str) -> None:
    found = parse_note(text).lab(name)
    assert found is not None
    assert found.value == pytest.approx(value, abs=0.01)
    assert found.unit == unit


@pytest.mark.parametrize(
    "text",
    [
        "Target HbA1c of 7% agreed.",
        "Goal LDL below 70 mg/dL.",
        "eGFR < 60 would prompt referral.",
        "Check HbA1c next visit.",
        "PSA 6-monthly for 2 years, then annually.",
    ],
)
def test_targets_and_mentions_are_not_results(text: str) -> None:
    p = parse_note(text)
    assert p.labs == () and p.vitals == ()


def test_lab_in_a_foreign_unit_is_warned() -> None:
    p = parse_note("Haemoglobin 7.1 mmol/mol")
    assert p.lab("hemoglobin") is None
    assert any("unknown unit" in w for w in p.warnings)


@pytest.mark.parametrize(
    ("text", "pregnant"),
    [
        ("31-year-old, pregnant, BP 150/100", True),
        ("G2P1 at 24 weeks with headache", True),
        ("26 y/o primigravida at 34 weeks, BP 158/104", True),
        ("33 yo G1 at 8 weeks, hypothyroid", True),
        ("CKD G4 since 12 weeks", None),
        ("Now 28 weeks gestation", True),
        ("She is 30+2 weeks pregnant", True),
        ("Gestational age 33 weeks", True),
        ("EDD 28/07. Gestation today: 36+3 weeks", True),
        ("Not pregnant. Pregnancy test negative.", False),
        ("Non-pregnant woman with hypertension", False),
        ("G2P2, last delivery 2019", None),
        # a baby's gestation at birth and a delivery's are no pregnancy now
        ("Baby girl born at 30+2 weeks gestation, day 3.", None),
        ("G2P1, delivered at 38 weeks 3 days ago.", None),
        # a pregnancy still to come
        ("Planning pregnancy; aspirin from 12 weeks once pregnant.", None),
        ("Stop ramipril if she becomes pregnant.", None),
        ("Let us know as soon as she is pregnant; review sooner if pregnant.", None),
        # weeks since a birth
        ("31F, G1P1, seen 5 weeks postpartum. Low mood.", None),
        ("G2P2, 6 weeks after delivery, breastfeeding.", None),
        # other people
        ("67F, shingles. Avoid pregnant women and neonates until the rash has crusted.", None),
        ("71F, shingles. Avoid contact with pregnant granddaughter until crusted.", None),
        # a man's note names somebody else's pregnancy
        ("76M, shingles. Wife is pregnant? No - his daughter is, due in May.", None),
        ("History of hypertension", None),
        # weeks and days over 40 are a gestation; weeks over 40 alone may be an acuity
        ("Maternity Day Assessment Unit\n34+1/40, G2P1.", True),
        ("VA 6/9 right, 20/40 left.", None),
    ],
)
def test_pregnancy(text: str, pregnant: bool | None) -> None:
    assert parse_note(text).pregnant is pregnant


def test_pregnancy_implies_female_when_sex_is_not_stated() -> None:
    assert parse_note("Pregnant, 24 weeks, BP 150/100").sex == "female"


@pytest.mark.parametrize(
    ("text", "postpartum"),
    [
        ("30F, 3 days postpartum, heavy bleeding.", True),
        ("Postnatal check, 6 weeks after delivery.", True),
        ("Delivered 10 days ago by caesarean; low mood.", True),
        ("28F, history of postnatal depression, now well.", None),
        ("32F G2P1 at 20 weeks, previous postpartum haemorrhage.", None),  # pregnant now
    ],
)
def test_the_weeks_after_a_birth(text: str, postpartum: bool | None) -> None:
    patient = parse_note(text)
    assert patient.postpartum is postpartum
    assert patient.sex == "female"


def test_note_is_kept_whole_and_diagnoses_are_not_extracted() -> None:
    text = "Known hypertension and type 2 diabetes. BP 150/95."
    p = parse_note(text)
    assert p.notes == (text,)
    assert p.problems == () and p.medications == ()
    assert p.patient_id.startswith("note-") and p.patient_id == parse_note(text).patient_id


@pytest.mark.parametrize(
    ("text", "weeks"),
    [
        ("26F at 24 weeks gestation.", 24.0),
        ("34F G2P1 at 12+3 weeks, booking.", 12.0),
        ("Pregnant, 16/40, well.", 16.0),
        ("Multigravida at 28+2 weeks.", 28.0),
        ("Pregnant. Gestational age: 30.", 30.0),
        ("Pregnant. Visual acuity 20/40.", None),
        # weeks and days: "Antenatal Clinic (Consultant) - 34+1 weeks"
        ("Antenatal Clinic (Consultant) - 34+1 weeks\n28 y/o G2P1.", 34.0),
        ("Not pregnant. 20/40 vision.", None),
    ],
)
def test_gestational_age_of_a_pregnant_patient(text: str, weeks: float | None) -> None:
    found = [o.value for o in parse_note(text).vitals if o.name == "gestational_age"]
    assert found == ([weeks] if weeks is not None else [])


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("Baby boy, day 2 of life. Maternal: 30yo, G1P1.", 0),
        ("7/12 old boy. 3 days coryza and cough.", 0),
        ("6/52 old girl with reflux.", 0),
    ],
)
def test_an_infants_age_as_clinicians_write_it(text: str, age: int) -> None:
    assert parse_note(text).age == age


def test_a_relatives_pregnancy_is_not_the_patients() -> None:
    child = parse_note("Patient: 4 y/o girl with chickenpox. Mum is 20 weeks pregnant and not immune.")
    assert child.pregnant is None and not any(o.name == "gestational_age" for o in child.vitals)
    assert parse_note("32F. Her sister is pregnant. Asthma review.").pregnant is None
    assert parse_note("32F, 20 weeks pregnant, partner well.").pregnant is True


def test_a_mothers_own_birth_says_she_is_a_woman() -> None:
    note = "POSTNATAL HOME VISIT\nDay 12 post SVD. Baby boy, exclusively breastfed.\nImp: puerperal mastitis."
    assert parse_note(note).sex == "female"

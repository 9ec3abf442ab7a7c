"""Sentence splitting and mention context (negation, uncertainty, history, family)."""

from __future__ import annotations

import pytest

from garmle.coding.context import assertion_of, split_sentences


def _assertion(text: str, target: str) -> str:
    start = text.index(target)
    sentence = next(s for s in split_sentences(text) if s.start <= start < s.end)
    return assertion_of(sentence, start, start + len(target))


def test_sentences_point_into_the_note_exactly() -> None:
    note = "HbA1c 6.5% today.  Denies chest pain!\nPlan: metformin; recheck"
    sents = split_sentences(note, 2)
    assert [s.text for s in sents] == [
        "HbA1c 6.5% today.",
        "Denies chest pain!",
        "Plan: metformin;",
        "recheck",
    ]
    for s in sents:
        assert note[s.start : s.end] == s.text and s.note_index == 2
        for tok in s.tokens:
            assert note[tok.start : tok.end] == tok.raw


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("Patient denies chest pain.", "chest pain", "negated"),
        ("No evidence of pulmonary embolism on CT.", "pulmonary embolism", "negated"),
        ("Negative for deep vein thrombosis.", "deep vein thrombosis", "negated"),
        ("Myocardial infarction was ruled out.", "Myocardial infarction", "negated"),
        ("Ruled out MI.", "MI", "negated"),
        ("HBsAg negative, HIV negative.", "HIV", "negated"),
        # the test's name may stand between the finding and its result
        ("Hepatitis A IgG negative; HIV antibody not detected.", "Hepatitis A", "negated"),
        ("Hepatitis A IgG negative; HIV antibody not detected.", "HIV", "negated"),
        ("Hepatitis A IgG negative.", "Hepatitis", "negated"),
        ("Hepatitis A IgG positive (immune).", "Hepatitis A", "present"),
        ("HIV test tomorrow; HCV negative.", "HIV", "hypothetical"),  # a test to come, not negated
        # tests sent or listed for testing name no infection; a result named after the test does
        ("Coeliac serology sent.", "Coeliac", "hypothetical"),
        ("Coeliac serology positive.", "Coeliac", "present"),
        ("STI screen including chlamydia, gonorrhoea and syphilis.", "syphilis", "hypothetical"),
        ("Secondary causes screened negative: HBV, HCV, HIV.", "HIV", "negated"),
        ("COVID autumn booster due.", "COVID", "hypothetical"),
        ("Emergency supply of amoxicillin at home for fever.", "fever", "hypothetical"),
        ("She had measles pneumonia as a child.", "measles", "historical"),
        ("T2DM, asthma as a child.", "T2DM", "present"),
        ("GP thought gout (urate 0.38).", "gout", "uncertain"),
        ("Admitted in 2023 with pneumonia.", "pneumonia", "historical"),
        # a finding that carries its own result is not the next test's
        ("Blood group O RhD negative, antibody screen negative at booking.", "RhD negative", "present"),
        ("Diabetic ketoacidosis 2019 with gastroenteritis.", "Diabetic", "historical"),
        ("Hypertension since 2019.", "Hypertension", "present"),
        ("Since the fall in 2024 she has had back pain.", "back pain", "present"),
        ("Dizzy spells in 2019 were diagnosed as BPPV.", "BPPV", "historical"),
        ("Investigations for anaemia sent.", "anaemia", "present"),
        ("Treatment for a cancer that might never have harmed him.", "cancer", "hypothetical"),
        ("Type 2 diabetes that may need insulin soon.", "Type 2 diabetes", "present"),
        ("Diabetes not shown on fasting glucose or HbA1c.", "Diabetes", "negated"),
        # a checklist item answered no; an answer that goes on still says the condition
        ("Diabetes: none. Smoker 10/day.", "Diabetes", "negated"),
        ("Never smoker. Childhood eczema.", "smoker", "negated"),
        ("Smoker, never tried to quit.", "Smoker", "present"),
        ("Has never been a smoker.", "smoker", "negated"),
        ("He has never been admitted for his asthma.", "asthma", "present"),
        ("Stroke/TIA - no, MI - no.", "TIA", "negated"),
        ("Smoking: never", "Smoking", "negated"),
        # a question answered after its mark
        ("Known COPD? No - spirometry normal.", "COPD", "negated"),
        ("Chest pain? no. Palpitations? yes.", "Chest pain", "negated"),
        ("Chest pain? no. Palpitations? yes.", "Palpitations", "present"),
        ("Asthma: no attacks this month.", "Asthma", "present"),
        ("Diabetes: type 2, no retinopathy.", "Diabetes", "present"),
        ("Anti-HCV nonreactive; HBV DNA not detected.", "HCV", "negated"),
        ("Anti-HCV nonreactive; HBV DNA not detected.", "HBV DNA", "negated"),
        ("No fever, chills or cough.", "cough", "negated"),
        # a structure found normal, a test for an infection that came back negative
        ("Tympanic membrane intact, canal swollen.", "Tympanic membrane", "negated"),
        ("C. difficile toxin negative.", "C. difficile", "negated"),
        # the reason for a finished course; a cancer watched for, not a condition watched
        ("Recently completed co-amoxiclav for pneumonia.", "pneumonia", "historical"),
        ("Plan: hepatocellular carcinoma surveillance.", "hepatocellular carcinoma", "hypothetical"),
        ("Barrett's oesophagus surveillance endoscopy due.", "Barrett's oesophagus", "present"),
        ("Possible pneumonia.", "pneumonia", "uncertain"),
        ("Admit to rule out MI.", "MI", "uncertain"),
        ("History of MI in 2015.", "MI", "historical"),
        ("Known established CVD: MI 2020.", "MI", "historical"),
        ("Hypertension since 2015, on ramipril.", "Hypertension", "present"),
        ("Former smoker.", "smoker", "historical"),
        ("Family history of breast cancer.", "breast cancer", "family"),
        ("Mother has type 2 diabetes.", "type 2 diabetes", "family"),
        ("Hypertension, not well controlled.", "Hypertension", "present"),
        ("Denies chest pain but reports dyspnea.", "dyspnea", "present"),
        ("Stroke with no residual deficits, hypertension and gout.", "hypertension", "present"),
        ("Migraine without aura.", "Migraine", "present"),
        ("Mild COPD not diagnosed; spirometry normal.", "COPD", "negated"),
        ("No family history of diabetes.", "diabetes", "negated"),
        ("Old records show hypertension.", "hypertension", "present"),
        ("Old MI on ECG.", "MI", "historical"),
        # an age is no old condition
        ("67-year-old woman with COPD.", "COPD", "present"),
        ("15-year-old girl with type 1 diabetes since age 9.", "type 1 diabetes", "present"),
        # a wider "... ago" places an event in the past, not the start of what goes on
        ("Wrist fracture after a fall from standing 6 months ago.", "fracture", "historical"),
        ("Back pain that started 3 months ago.", "Back pain", "present"),
        ("He had a heart attack last year.", "heart attack", "historical"),
        ("Coeliac disease not confirmed on biopsy.", "Coeliac disease", "uncertain"),
        # a query mark before a wording is a question, not the end of a sentence
        ("Plaque psoriasis, ?psoriatic arthritis.", "psoriatic arthritis", "uncertain"),
        ("Chest pain (? angina), hypertension.", "angina", "uncertain"),
        ("Plaque psoriasis, ?psoriatic arthritis.", "Plaque psoriasis", "present"),
        # "after" or "post" right before a condition places it in the past, unless time is counted
        ("Secondary prevention after MI.", "MI", "historical"),
        ("Day 3 after STEMI.", "STEMI", "present"),
        ("Chest pain after exercise.", "Chest pain", "present"),
        # a condition of the patient's childhood
        ("Eczema as an infant.", "Eczema", "historical"),
        ("Parents smoke outside.", "smoke", "family"),
        # a relative who is the sentence's subject; one who only tells the history
        (
            "His brother, who lives with him, was diagnosed 3 weeks ago with pulmonary TB.",
            "pulmonary TB",
            "family",
        ),
        (
            "Mother says he has had a barking cough for two days and since last night stridor.",
            "stridor",
            "present",
        ),
        ("Mum reports 3 days of cough and fever.", "cough", "present"),
        ("Mum has asthma and is worried he will get it too.", "asthma", "family"),
        ("PCOS was queried at referral - hormone profile normal, not pursuing.", "PCOS", "uncertain"),
        ("Hyperthyroidism r/o pending TSH.", "Hyperthyroidism", "uncertain"),
        ("Proper trials for asthma, rhinitis and reflux have all failed.", "rhinitis", "uncertain"),
        ("Looks like cough hypersensitivity.", "cough hypersensitivity", "uncertain"),
        ("Malaria several times as a child in Nigeria.", "Malaria", "historical"),
        (
            "Had postnatal depression after 2nd child (1999), fully recovered.",
            "postnatal depression",
            "historical",
        ),
        (
            "Sore throat and a rash 2 weeks ago after a new partner, settled after 5 days.",
            "Sore throat",
            "historical",
        ),
        ("Consent discussed: bleeding, infection, retinal detachment.", "retinal detachment", "hypothetical"),
        ("INFECTIOUS DISEASES - DISCHARGE SUMMARY", "INFECTIOUS DISEASES", "hypothetical"),
        ("Annual TB symptom review negative.", "TB", "negated"),
        ("Impression: refractory chronic cough - work-up negative.", "refractory chronic cough", "present"),
        ("Bowel screening clinic: hypertension noted.", "hypertension", "present"),
    ],
)
def test_assertions(text: str, target: str, expected: str) -> None:
    assert _assertion(text, target) == expected


def test_a_header_that_excludes_negates_its_list() -> None:
    note = (
        "Differentials considered and excluded:\n- Scarlet fever: throat swab negative\n"
        "- Sepsis: cultures no growth"
    )
    for target in ("Scarlet fever", "Sepsis"):
        sentence = next(s for s in split_sentences(note) if target in s.text)
        start = note.index(target)
        assert assertion_of(sentence, start, start + len(target)) == "negated"


def test_family_history_section_covers_following_lines_until_a_blank_line() -> None:
    note = "Family history:\nDiabetes in father.\n\nAssessment: diabetes."
    assert _assertion(note, "Diabetes in") == "family"
    assert _assertion(note, "diabetes.") == "present"
    # a condition no relative has is no family history
    assert _assertion("Family history:\nNo heart disease.", "heart disease") == "negated"


def test_headers_in_a_list_name_their_sections() -> None:
    note = "- PMH: AF, T2DM\n- Imp: orthostatic hypotension\n- Plan: stop doxazosin"
    assert [s.section for s in split_sentences(note)] == ["pmh", "imp", "plan"]


def test_soap_headers_name_their_sections() -> None:
    note = "S: itchy plaques.\nO: BSA 8%.\nT: 37.2\nA: plaque psoriasis\nP: topical steroid"
    assert [s.section for s in split_sentences(note)] == [
        "subjective",
        "objective",
        "objective",
        "assessment",
        "plan",
    ]


def test_a_question_ends_its_sentence_but_a_query_mark_and_an_answered_one_do_not() -> None:
    note = "Any chest pain? Not today. Hypertension, ?angina. Any palpitations? No."
    texts = [s.text for s in split_sentences(note)]
    assert texts == ["Any chest pain?", "Not today.", "Hypertension, ?angina.", "Any palpitations? No."]


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("Influenza and pneumococcal vaccines up to date.", "Influenza", "hypothetical"),
        ("FRAX 10-year major osteoporotic fracture risk 21%.", "fracture", "hypothetical"),
        ("Discussed her risk of stroke.", "stroke", "hypothetical"),
        ("Screening for diabetes today.", "diabetes", "hypothetical"),
        # what a pain or an illness is like is not what it is; a complication watched for is not had
        ("Electric shock-like pain in the left cheek.", "Electric shock", "hypothetical"),
        ("Flu-like illness for 3 days.", "Flu", "hypothetical"),
        ("IV morphine, monitor for acute chest syndrome.", "acute chest syndrome", "hypothetical"),
        # a test's purpose, an operation still to come (but not the condition it is for)
        ("MRI spine to exclude cord compression.", "cord compression", "hypothetical"),
        ("Echocardiogram for coronary artery aneurysms.", "coronary artery aneurysms", "hypothetical"),
        ("Pre-op: for elective total hip replacement.", "hip replacement", "hypothetical"),
        ("Listed for knee replacement for osteoarthritis.", "osteoarthritis", "present"),
        # a finding after a comma takes a negation after it; an adverb does not
        ("Imp: stable angina, ACS ruled out.", "stable angina", "present"),
        ("Imp: stable angina, ACS ruled out.", "ACS", "negated"),
        ("Arm weakness yesterday, fully resolved.", "weakness", "negated"),
        ("Anti-HCV, anti-HDV and HIV negative.", "HCV", "negated"),
        ("No personal history of diabetes, heart disease or cancer.", "cancer", "negated"),
        ("Review: no coronary disease, stroke, PAD or diabetes.", "diabetes", "negated"),
        ("Review: no coronary disease, stroke, PAD or diabetes.", "stroke", "negated"),
        ("With no residual deficits, hypertension is the main issue.", "hypertension", "present"),
        ("Influenza A confirmed by PCR.", "Influenza", "present"),
        # a list of single findings carries the negation to its end
        ("Denies fever, weight loss, night sweats, thrush, diarrhoea.", "thrush", "negated"),
        ("No chest pain, hypertension on treatment.", "hypertension", "present"),
        ("Hypothyroidism excluded (TSH 2.3).", "Hypothyroidism", "negated"),
        ("Took clarithromycin for pneumonia 5 years ago.", "pneumonia", "historical"),
        # a condition to watch for, or a worry, is no diagnosis
        ("Advised to return if chest pain develops.", "chest pain", "hypothetical"),
        ("Safety-netting advice given about sepsis.", "sepsis", "hypothetical"),
        ("He is worried he might have diabetes.", "diabetes", "hypothetical"),
        ("Hypertension, if BP remains high add amlodipine.", "Hypertension", "present"),
        # a prevention or a protection right after the disease; a risk after a comma is another's
        ("Tetanus booster given today.", "Tetanus", "hypothetical"),
        ("Rubella immune, varicella non-immune.", "Rubella", "hypothetical"),
        ("Plan: start HIV PrEP.", "HIV", "hypothetical"),
        ("Fatty liver disease (MASLD), fibrosis risk indeterminate.", "Fatty liver disease", "present"),
        ("Aspirin (risk factors for pre-eclampsia).", "pre-eclampsia", "hypothetical"),
        ("Risk factors for stroke: hypertension, AF.", "hypertension", "present"),
        # a finding a screening made; a long test name in a negative list; the informant; a clinic
        ("Hyperlipidaemia found on screening.", "Hyperlipidaemia", "present"),
        ("HIV and hepatitis C negative.", "HIV", "negated"),
        ("Loud snoring, witnessed apnoeas per wife, daytime sleepiness.", "daytime sleepiness", "present"),
        ("Stroke clinic. Imp: TIA.", "Stroke", "hypothetical"),
        ("Cardiology Arrhythmia Clinic. Dx: atrial flutter.", "Arrhythmia", "hypothetical"),
        # a quoted referral's query; a query after the mention; its answer after a dash
        ('Referred by GP as "?ACS - central CP at rest".', "ACS", "uncertain"),
        ("PMHx: HTN, OSA?, asthma.", "OSA", "uncertain"),
        ("PMHx: BPH, hypothyroid? - no, TFTs normal.", "hypothyroid", "negated"),
        ("Bloods: HIV -ve, syphilis +ve.", "HIV", "negated"),
        ("Bloods: HIV -ve, syphilis +ve.", "syphilis", "present"),
        # a suspicion weighed and set aside
        ("Asthma/COPD not supported by spirometry.", "COPD", "negated"),
        ("ACS not suspected.", "ACS", "negated"),
        ("Migraine and trigeminal neuralgia do not fit the pattern.", "Migraine", "negated"),
        ("No loin pain; sepsis criteria not met.", "sepsis", "negated"),
        ("Treated for H. pylori 2019, eradicated.", "H. pylori", "negated"),
        # a question asked, what to report or seek help for, a specialist's title, a surveillance test
        (
            "She asked whether the palpitations could be atrial fibrillation.",
            "atrial fibrillation",
            "hypothetical",
        ),
        (
            "Advised to report any postmenopausal bleeding promptly.",
            "postmenopausal bleeding",
            "hypothetical",
        ),
        ("She knows to seek urgent help with syncope.", "syncope", "hypothetical"),
        ("Counselled on retrograde ejaculation.", "retrograde ejaculation", "hypothetical"),
        ("Consultant in Infectious Diseases", "Infectious Diseases", "hypothetical"),
        ("Surveillance colonoscopy for colorectal cancer due 2027.", "colorectal cancer", "hypothetical"),
        ("Reye syndrome precautions discussed.", "Reye syndrome", "hypothetical"),
        ("Bleeding (endometrial cancer would need excluding).", "endometrial cancer", "hypothetical"),
        # a diagnosis to weigh, but not the condition a drug to weigh is for
        ("Heavy periods, consider von Willebrand disease.", "von Willebrand disease", "uncertain"),
        ("Plan: consider metformin for T2DM.", "T2DM", "present"),
        # a label never proven; a trigger may open with the "but" that ends others' scope
        ("Labelled asthma in her 30s but never confirmed.", "asthma", "uncertain"),
        ("Asthma since childhood but well controlled.", "Asthma", "present"),
        # a year after a diagnosed condition dates its diagnosis
        ("Dx HTN 2015, on amlodipine.", "HTN", "present"),
        ("MI 2015, stented.", "MI", "historical"),
        # a suspicion set aside; a drug's harms the patient was told of; what to come back for
        ("GCA not a consideration (ESR 12).", "GCA", "negated"),
        ("Torsion of appendix testis considered - less likely.", "Torsion of appendix testis", "negated"),
        ("Warned re rash, drowsiness, hyponatraemia.", "hyponatraemia", "hypothetical"),
        ("Return precautions (pain, dizziness, shoulder tip pain).", "shoulder tip pain", "hypothetical"),
        ("Specifically asked re GCA sx: no headache.", "GCA", "hypothetical"),
        ("Consented (risks incl. cataract R, re-detachment).", "cataract", "hypothetical"),
        ("The home had a scabies outbreak on the other unit.", "scabies", "hypothetical"),
        # a spouse's illness is no family history; a cousin's is
        ("Husband (d. 2019) had vascular dementia.", "vascular dementia", "hypothetical"),
        ("FHx: a cousin has coeliac disease.", "coeliac disease", "family"),
        # the patient's words for a pain, not an injury
        ('Sudden "electric shock" pain in the cheek.', "electric shock", "hypothetical"),
        # episodes over
        ("She had grommets as a child for glue ear.", "glue ear", "historical"),
        ("Pilonidal abscess drained (I&D) Jan 2024 - resolved.", "Pilonidal abscess", "historical"),
        ("The 4 mm ureteric stone has since passed.", "ureteric stone", "historical"),
        ("Childhood asthma, none since age 12.", "asthma", "historical"),
    ],
)
def test_hypothetical_mentions_and_negated_lists(text: str, target: str, expected: str) -> None:
    sentence = split_sentences(text)[0]
    start = text.index(target)
    assert assertion_of(sentence, start, start + len(target)) == expected

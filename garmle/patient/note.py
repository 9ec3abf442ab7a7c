"""A plain-text clinical note -> :class:`~garmle.types.Patient`.

The note is kept whole in ``patient.notes`` for code prediction. Only what
the text states plainly is extracted into structured fields:

* age: ``64-year-old``, ``64 yo``, ``64 y/o``, ``age 64``, ``aged 64``, ``64M`` at the start of a line;
* sex: man/woman/male/female (and boy/girl/gentleman/lady), ``M``/``F`` after an age;
* blood pressure: ``BP 150/95``, ``blood pressure of 162/98 mmHg``, ``BP 150/95 and 148/92``,
  or any ``NNN/NN mmHg``; readings keep the order of the text (notes carry no dates);
* labs and vital signs with a value: ``HbA1c 8.1%``, ``eGFR 42``, ``LDL 160 mg/dL``,
  ``potassium 5.2``, ``BMI 31``, ``HR 88`` (values behind ``target``/``goal`` and
  comparisons such as ``eGFR < 60`` are not read as results);
* pregnancy: ``pregnant``, ``24 weeks gestation``, ``G2P1 at 24 weeks``; ``not pregnant`` sets False.
* the puerperium: ``3 days postpartum``, ``postnatal``, ``2 weeks after delivery``, ``delivered 10 days
  ago`` (not ``history of postpartum depression``) set ``postpartum`` when the note says no pregnancy;
* ethnicity: ``African American``, ``41 yo black M``, ``of South Asian origin``, ``Hispanic``
  (:mod:`garmle.patient.ethnicity`; ``black stools`` says nothing).

Diagnoses are not extracted here: code prediction reads the note.

Example:
    >>> p = parse_note("64-year-old man, BP 150/95 mmHg, HbA1c 8.1%, eGFR 42.")
    >>> p.age, p.sex, p.latest_bp.systolic, p.lab("hba1c").value, p.lab("egfr").value
    (64, 'male', 150.0, 8.1, 42.0)
"""

from __future__ import annotations

import hashlib
import logging
import re

from garmle.patient.ethnicity import ethnicity_in_text
from garmle.patient.measurements import (
    age_problem,
    make_blood_pressure,
    make_observation,
    normalise_sex,
    split_observations,
)
from garmle.types import BloodPressure, Observation, Patient

__all__ = ["at_birth", "parse_note", "states_postpartum"]

logger = logging.getLogger(__name__)

_I = re.IGNORECASE

_AGE_PATTERNS = (
    re.compile(r"\b(\d{1,3})\s*-?\s*(?:years?|yrs?|y)\s*-?\s*old\b", _I),
    re.compile(r"\b(\d{1,3})\s*(?:yo|y/o|y\.o\.?)(?![a-z])", _I),
    re.compile(r"\baged?\s*[:=]?\s*(\d{1,3})\b", _I),
    # "64M ...", and after a short header: "S: 27F, migraine", "Pt: 45M"
    re.compile(r"^\s*(?:[A-Za-z]{1,10}\s*:\s*)?(\d{1,3})\s?[MF]\b", re.MULTILINE),
    # "Elderly gentleman, 84, new diagnosis ...", "Mrs P, 61, has ...", "Mr J Hughes, 66.", "Adult female,
    # 30 years, ...", "Re: Ms A. Kowalski, 34y"
    re.compile(
        r"\b(?:(?i:man|woman|gentleman|lady|male|female)|M(?:r|rs|s|iss)\.?(?:\s+[A-Z][\w'-]*\.?(?:[A-Z]\.?)*){1,3})"
        r"\s*,\s*(\d{1,3})\s*(?:years?|yrs?|y)?\s*(?:[,.;)\n]|$)"
    ),
    # a letter's subject line: "Re: Thomas B., 29", "Re: Mr K.P., 33"
    re.compile(
        r"\bRe:\s*(?:(?:M(?:r|rs|s|iss)|Dr)\.?\s+)?(?:[A-Z][\w'-]*\.?(?:[A-Z]\.?)*\s*){1,3},\s*(\d{1,3})\s*"
        r"(?:years?|yrs?|y)?\s*(?:[,.;)\n]|$)"
    ),
)
_OPENING = 60  # characters: a note's header line
# capitals only: "walks 50m" is a distance
_OPENING_AGE = re.compile(
    r"(?<![\d.])\b(\d{1,3})\s?([MF])\b(?![-/])(?!\s*(?i:catheter|cath|foley|fr\b|french))"
)
_TEMPERATURE = re.compile(r"\b(?:temp\w*|T|fever|febrile|pyrexi\w*)\b", _I)
# An infant's or toddler's age in months, weeks or days ("20-month-old", "6 weeks old"): whole years.
_AGE_UNDER_YEARS = (
    (re.compile(r"\b(\d{1,3})\s*-?\s*(?:months?|mos?)\s*-?\s*old\b", _I), 12),
    (re.compile(r"\b(\d{1,3})\s*-?\s*(?:weeks?|wks?)\s*-?\s*old\b", _I), 52),
    (re.compile(r"\b(\d{1,3})\s*-?\s*days?\s*-?\s*old\b", _I), 365),
    # "Baby boy, day 2 of life"; "7/12 old boy", "6/52 old": months and weeks as a clinician writes them
    (re.compile(r"\bday\s+(\d{1,2})\s+of\s+life\b", _I), 365),
    (re.compile(r"(?<![\d/])(\d{1,2})/12\s*(?:old|months?\b)", _I), 12),
    (re.compile(r"(?<![\d/])(\d{1,2})/52\s*(?:old|weeks?\b)", _I), 52),
)
# a note about a newborn whose age in days it does not give: "Neonatal unit: baby born at 30 weeks"
_NEWBORN = re.compile(
    r"\b(?:new-?born|neonate|neonatal (?:unit|intensive care)|NICU|SCBU|special care baby unit|"
    r"day \d{1,2} of life)\b",
    _I,
)
_SEX_WORD = re.compile(r"\b(man|woman|male|female|gentleman|lady|boy|girl)\b", _I)
_SEX_LETTER = re.compile(
    r"(?:\b\d{1,3}\s*(?:yo|y/o|y\.o\.?|years?\s*-?\s*old|year-old)\s*|^\s*(?:[A-Za-z]{1,10}\s*:\s*)?\d{1,3}\s?)"
    r"([MF])\b",
    re.MULTILINE,
)

# the patient's title in a note's heading ("Re: Mr ---, aged 71", "Mrs T. Begum, 26"), not a letter's
# addressee ("Dear Mr Shah") nor a surgeon named further on
_SEX_TITLE = re.compile(r"(?<!Dear )(?<!Dr )\b(Mr|Mrs|Ms|Miss)\b\.?\s+(?=[A-Z]|-{2,}|\*{2,}|X\b)")
_TITLE_SEX = {"Mr": "male", "Mrs": "female", "Ms": "female", "Miss": "female"}
# an obstetric formula or a pregnancy's own words say the patient is a woman ("31-year-old G2P1 at 37+4
# weeks ... 2021 SVD, boy 3.5 kg": the boy is her son)
_OBSTETRIC_SEX = re.compile(
    r"\b(?:G\d{1,2}\s*P\d{1,2}|gravida|primigravida|multigravida|primiparous|multiparous|primip|multip)\b"
    # a mother's own birth: "Day 12 post SVD ... Baby boy", "puerperal", "lactating"
    r"|\bpost[- ]?(?:SVD|NVD|LSCS|c-?section|caesarean|cesarean|delivery)\b|\bpuerper\w*|\blactating\b",
    _I,
)
_TITLE_REACH = 120

_BP_KEYWORD = re.compile(r"\b(?:bp|b/p|blood\s+pressures?)\b", _I)
_BP_VALUE = re.compile(r"(?<![\d/.])(\d{2,3})\s*/\s*(\d{2,3})(?![\d/])")
_BP_WITH_UNIT = re.compile(r"(?<![\d/.])(\d{2,3})\s*/\s*(\d{2,3})\s*mm\s*hg\b", _I)
_BP_WINDOW = 80

# Longer, more specific names first: at one position the first alternative that matches wins.
_MEASURE_WORDS = (
    ("uacr", r"u?acr|(?:urine\s+)?albumin\s*(?:-|/|to)?\s*creatinine\s+ratio"),
    ("hba1c", r"hb\s?a1c|a1c|ha?emoglobin\s+a1c|glycated\s+ha?emoglobin"),
    ("egfr", r"e?gfr"),
    ("creatinine", r"(?:serum\s+)?creatinine|s?cr"),
    ("potassium", r"potassium|k\+?"),
    ("sodium", r"sodium|na\+?"),
    ("ldl", r"ldl(?:\s*-?\s*c\b)?(?:\s+cholesterol)?"),
    ("hdl", r"hdl(?:\s*-?\s*c\b)?(?:\s+cholesterol)?"),
    ("total_cholesterol", r"(?:total\s+)?cholesterol"),
    ("triglycerides", r"triglycerides?|tg"),
    (
        "glucose",
        r"(?:fasting\s+|random\s+|blood\s+|plasma\s+|capillary\s+(?:blood\s+)?|finger-?stick\s+)?glucose|"
        r"blood\s+sugar|fbg|fpg|cbg|fsbg",
    ),
    ("bmi", r"bmi|body\s+mass\s+index"),
    ("heart_rate", r"hr|heart\s+rate|pulse(?:\s+rate)?"),
    ("respiratory_rate", r"rr|resp(?:iratory)?\s+rate"),
    ("spo2", r"sp\s?o2|sa\s?o2|(?:oxygen|o2)\s+sat(?:uration)?s?|sats"),
    ("temperature", r"temp(?:erature)?"),
    ("weight", r"weight|wt"),
    ("height", r"height|ht"),
    ("hemoglobin", r"ha?emoglobin|hgb|hb"),
    ("psa", r"(?:total\s+)?psa|prostate[\s-]+specific\s+antigen"),
)
_FILLER = (
    r"(?:\s*(?:[:=,]|is|was|were|of|at|now|today|levels?|values?|results?|measured|reading|"
    r"came\s+back|returned|remains|remained|has\s+been|has|had|(?:risen|rose|increased|decreased|fallen|fell|"
    r"dropped|improved|worsened)\s+to)\s*)*\s*"
)
_UNIT = (
    r"%|mmol/mol|mg/dl|mmol/l|meq/l|[µu]mol/l|ml/min(?:/1\.73\s*m(?:2|²|\^2))?|mg/g|mg/mmol|g/dl|g/l|"
    r"kg/m(?:2|²|\^2)|ng/ml|[µu]g/l|bpm|beats/min|breaths/min|/min|kg|lbs?|cm|°?[cf]"
)
# "PSA 6-monthly", "HbA1c 3 months after starting": how often or how long, no value
_INTERVAL = r"(?:hourly|daily|weekly|monthly|yearly|(?:hour|day|week|month|year|wk|mth)s?\b|times\b|x\b)"
_MEASURE = re.compile(
    r"\b(?:" + "|".join(f"(?P<{name}>{words})" for name, words in _MEASURE_WORDS) + r")(?![\w/])"
    rf"{_FILLER}(?P<value>\d+(?:\.\d+)?)(?!\s*/\s*\d)(?!\s*-?\s*(?:{_INTERVAL}))\s*(?P<unit>(?:{_UNIT})(?![a-z]))?",
    _I,
)
_TARGET_BEFORE = re.compile(r"\b(target|goal|aim)\b[^.;\n]*$", _I)

# Weeks of gestation: "24 weeks gestation", "16/40", "G2P1 at 24 weeks", "G1 at 8 weeks",
# "primigravida at 34 weeks", "gestational age 24", "12+3 weeks".
_GESTATION = (
    re.compile(r"\b(\d{1,2})(?:\+\d)?\s*(?:weeks?|wks?)['’]?\s*(?:of\s+)?(?:gestation|pregnan)", _I),
    re.compile(
        r"(?<!CKD )(?<!stage )\bG\d{1,2}(?:\s*P\d{1,2}\S*)?(?![a-z\d])[^.\n]{0,20}?\b(\d{1,2})(?:\+\d)?\s*"
        r"(?:weeks?|wks?|/\s*40)\b"
    ),
    re.compile(
        r"\b(?:primi|multi)?gravida\b[^.\n]{0,20}?\b(\d{1,2})(?:\+\d)?\s*(?:weeks?|wks?|/\s*40)\b", _I
    ),
    re.compile(r"\bgestational\s+age\s*(?:of\s*|[:=]\s*)?(\d{1,2})", _I),
    # "Antenatal clinic - 34+1 weeks": weeks and days are a gestation's
    re.compile(
        r"(?<![\d/.+])(\d{1,2})\+[0-6]\s*(?:weeks?|wks?)\b(?!\s*(?:ago|old|postpartum|post-?natal))", _I
    ),
    # "Gestation today: 36+3 weeks", "Gestation: 32 wks"
    re.compile(r"\bgestation\s*(?:today|now)?\s*[:=]\s*(\d{1,2})(?:\+\d)?\s*(?:weeks?|wks?)\b", _I),
    re.compile(r"(?<![\d/.])(\d{1,2})(?:\+\d)?\s*/\s*40(?![\d/])"),
)
# every wording of the weeks but "16/40", which a visual acuity writes too
# "34+1/40" in days too is a gestation, whatever else the note says ("20/40" alone may be an acuity)
_PREGNANT = (
    re.compile(r"\bpregnant\b", _I),
    *_GESTATION[:-1],
    re.compile(r"(?<![\d/.])\d{1,2}\+[0-6]\s*/\s*40(?![\d/])"),
)
# The weeks after a birth: "3 days postpartum", "postnatal check", "2 weeks after delivery", "delivered
# 10 days ago". A past birth is not ("history of postpartum depression", "previous post-natal psychosis").
_POSTPARTUM = re.compile(
    r"\b(?:post-?partum|post-?natal|puerper\w*|(?:\d{1,2}|one|two|three|four|five|six)\s+(?:days?|weeks?)\s+"
    r"(?:after|since)\s+(?:delivery|giving\s+birth|(?:the\s+)?birth|childbirth|caesarean|c-?section)|"
    r"delivered\s+(?:\d{1,2}|one|two|three|four|five|six)\s+(?:days?|weeks?)\s+ago)\b",
    _I,
)
_PAST_BIRTH = re.compile(r"\b(?:history\s+of|h/o|previous|prior|past|after\s+(?:her|each)\s+\w+)\s+$", _I)
# a baby's gestation at birth: "born at 30+2 weeks gestation", "delivered at 34 weeks", "ex-28 weeker"
_AT_BIRTH = re.compile(r"\b(?:born|birth|delivered|delivery|ex)\b[^.;\n]{0,12}$", _I)
# a pregnancy still to come: "aspirin from 12 weeks once pregnant", "advice if she becomes pregnant"
_NOT_YET = re.compile(
    r"\b(?:once|when|if|whether|until|before|becomes?|becoming|get|gets|getting|to\s+be|planning|trying|"
    r"as\s+soon\s+as)\s+(?:(?:she|he|you|they|is|are|was)\s+){0,2}$",
    _I,
)
_BIRTH_WORD = re.compile(r"\b(?:born|delivered|delivery)\b", _I)
# weeks counted since a birth or another past event: "G1P1, seen 5 weeks postpartum", "8 weeks ago"
_SINCE_BIRTH = re.compile(
    r"\s*(?:post-?partum|post-?natal|after\s+(?:the\s+)?(?:delivery|birth|giving\s+birth|childbirth|"
    r"caesarean|c-?section)|since\s+(?:the\s+)?(?:delivery|birth)|ago)\b",
    _I,
)
# other people: "avoid pregnant women and neonates", "pregnant contacts should see their midwife"
_OTHERS_AFTER = re.compile(
    r"\s+(?:women|ladies|people|persons|individuals|patients|contacts|mothers?|colleagues?|staff|friends?|"
    # "avoid contact with pregnant granddaughter": somebody else's pregnancy
    r"(?:grand)?daughters?|wife|wives|partners?|sisters?|mum|girlfriend|relatives?|"
    r"visitors?|neighbou?rs?|household|family|carers?)\b",
    _I,
)
# another person said to be pregnant: "Mum is 20 weeks pregnant", "his wife, who is pregnant"
_OTHERS_BEFORE = re.compile(
    r"\b(?:mum|mom|mother|wife|partner|sister|girlfriend|daughter|friend|aunt|cousin|colleague)\b"
    r"(?:['’]s)?[^.;\n]{0,30}$",
    _I,
)
_ACUITY = re.compile(r"\b(?:vision|visual|acuity|va|snellen)\b[^.\n]{0,15}$", _I)
_NEGATED = re.compile(r"\b(?:not|non|no\s+longer|never|denies(?:\s+being)?|isn't)\s*-?\s*$", _I)
_NOT_PREGNANT = re.compile(
    r"\b(?:not|non)\s*-?\s*pregnant\b|\bdenies\s+(?:being\s+)?pregnan|\bpregnancy\s+test\s+(?:is\s+)?negative"
    r"|\bnegative\s+pregnancy\s+test",
    _I,
)


def parse_note(text: str) -> Patient:
    """Read a plain-text note: keep it whole and extract plainly stated facts.

    Args:
        text: the note.

    Returns:
        A patient with ``notes=(text,)`` and the age, sex, readings, labs and
        pregnancy the text states.
    """
    warnings: list[str] = []
    age = _age(text, warnings)
    stated_sex = _sex(text)
    # a man's or a child's note names somebody else's pregnancy ("Mum is 20 weeks pregnant")
    pregnant = _pregnancy(text) if stated_sex != "male" and (age is None or age >= 10) else None
    postpartum = not pregnant and stated_sex != "male" and states_postpartum(text)
    sex = stated_sex or ("female" if pregnant or postpartum else None)
    measures = _measures(text, warnings) + _t_scores(text, warnings)
    if pregnant:
        measures += _gestation(text, warnings)
    vitals, labs = split_observations(measures)
    patient = Patient(
        patient_id="note-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10],
        age=age,
        sex=sex,
        blood_pressures=tuple(_blood_pressures(text, warnings)),
        vitals=vitals,
        labs=labs,
        notes=(text,),
        pregnant=pregnant,
        warnings=tuple(dict.fromkeys(warnings)),
        postpartum=True if postpartum else None,
        ethnicity=ethnicity_in_text(text),
    )
    logger.debug(
        "note read: %d characters, %d readings, %d labs, %d vitals, %d warnings",
        len(text),
        len(patient.blood_pressures),
        len(patient.labs),
        len(patient.vitals),
        len(patient.warnings),
    )
    return patient


def _age(text: str, warnings: list[str]) -> int | None:
    found = [(m, 1) for pattern in _AGE_PATTERNS for m in pattern.finditer(text)]
    found += [(m, per_year) for pattern, per_year in _AGE_UNDER_YEARS for m in pattern.finditer(text)]
    # "Asthma review 38M.", "COPD review. 72F, ex-smoker": an age and sex letter in the note's opening
    found += [(m, 1) for m in _opening_ages(text)]
    if not found:
        # a mother's postnatal note speaks of her newborn too
        return 0 if _NEWBORN.search(text) and not states_postpartum(text) else None
    first, per_year = min(found, key=lambda f: f[0].start())
    age = int(first.group(1)) // per_year
    problem = age_problem(age)
    if problem:
        warnings.append(f"note: {problem}; age ignored")
        return None
    return age


def _opening_ages(text: str) -> list[re.Match[str]]:
    """An age and sex letter in the note's opening ("Asthma review 38M.", "COPD review. 72F, ..."), not
    a temperature in Fahrenheit nor a catheter's French size."""
    return [
        m for m in _OPENING_AGE.finditer(text, 0, _OPENING) if not _TEMPERATURE.search(text, 0, m.start())
    ]


def _sex(text: str) -> str | None:
    found = [(m.start(), m.group(1)) for pattern in (_SEX_WORD, _SEX_LETTER) for m in pattern.finditer(text)]
    found += [(m.start(), m.group(2)) for m in _opening_ages(text)]
    found += [(m.start(), _TITLE_SEX[m.group(1)]) for m in _SEX_TITLE.finditer(text[:_TITLE_REACH])]
    found += [(m.start(), "female") for m in _OBSTETRIC_SEX.finditer(text)]
    return normalise_sex(min(found)[1]) if found else None


def _blood_pressures(text: str, warnings: list[str]) -> list[BloodPressure]:
    spans: dict[int, tuple[str, str]] = {}
    for keyword in _BP_KEYWORD.finditer(text):
        window = text[keyword.end() : keyword.end() + _BP_WINDOW]
        window = re.split(r"[;\n]|\.(?!\d)", window, maxsplit=1)[0]
        for match in _BP_VALUE.finditer(window):
            spans[keyword.end() + match.start()] = (match.group(1), match.group(2))
    for match in _BP_WITH_UNIT.finditer(text):
        spans[match.start()] = (match.group(1), match.group(2))
    readings = []
    for _, (systolic, diastolic) in sorted(spans.items()):
        reading = make_blood_pressure(float(systolic), float(diastolic), warnings=warnings, where="note")
        if reading is not None:
            readings.append(reading)
    return readings


def _measures(text: str, warnings: list[str]) -> list[Observation]:
    observations = []
    for match in _MEASURE.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _TARGET_BEFORE.search(text[max(line_start, match.start() - 30) : match.start()]):
            continue
        name = next(n for n, _ in _MEASURE_WORDS if match.group(n) is not None)
        value = float(match.group("value"))
        obs = make_observation(
            name, value, match.group("unit") or implied_unit(name, value), warnings=warnings, where="note"
        )
        if obs is not None:
            observations.append(obs)
    return observations


# A result written without its unit is in the unit its size says: "total cholesterol 5.4" and "glucose
# 6.1" are mmol/L, "creatinine 238" is umol/L. (An HbA1c without its unit is not guessed: "HbA1c 41" is
# normal to the clinician who wrote it in mmol/mol, prediabetes by the 5.7% threshold.)
# (name, limit, unit when above the limit, unit when below)
_IMPLIED_UNITS = {
    "glucose": (35.0, None, "mmol/L"),
    "total_cholesterol": (15.0, None, "mmol/L"),
    "ldl": (15.0, None, "mmol/L"),
    "hdl": (15.0, None, "mmol/L"),
    "triglycerides": (15.0, None, "mmol/L"),
    "creatinine": (30.0, "umol/L", None),
}


def implied_unit(name: str, value: float) -> str | None:
    """The unit a result written without one is in, judged by its size; None for the canonical unit.

    Example:
        >>> implied_unit("total_cholesterol", 5.4), implied_unit("ldl", 160), implied_unit("hba1c", 54)
        ('mmol/L', None, None)
        >>> implied_unit("creatinine", 238), implied_unit("creatinine", 1.1), implied_unit("potassium", 4.1)
        ('umol/L', None, None)
    """
    if name not in _IMPLIED_UNITS:
        return None
    limit, above, below = _IMPLIED_UNITS[name]
    return above if value > limit else below


# A DXA scan's T-scores: "T-score -2.7 at lumbar spine, -1.9 at the hip", "T score of minus 2.6".
_T_SCORE = re.compile(r"\bT[- ]?scores?\b(?P<said>(?:(?![ZT][- ]?score)[^.;\n]|\.(?=\d)){0,80})", _I)
_SIGNED = re.compile(r"(?<![\w.])(?P<sign>[-−–]\s?|minus\s+|\+\s?)?(?P<value>\d(?:\.\d+)?)(?![\d.%/])", _I)


def _t_scores(text: str, warnings: list[str]) -> list[Observation]:
    """The lowest T-score each "T-score" of the text names, the worst site being what osteoporosis is
    read from.

    Example:
        >>> [o.value for o in _t_scores("DEXA: T-score -2.7 at lumbar spine, -1.9 at hip.", [])]
        [-2.7]
        >>> [o.value for o in _t_scores("T score of Minus 1.2 (osteopenia)", [])]
        [-1.2]
    """
    observations = []
    for match in _T_SCORE.finditer(text):
        values = [
            -float(m.group("value"))
            if (m.group("sign") or "").strip().lower() in ("-", "−", "–", "minus")
            else float(m.group("value"))
            for m in _SIGNED.finditer(match.group("said"))
        ]
        if values:
            obs = make_observation("t_score", min(values), None, warnings=warnings, where="note")
            if obs is not None:
                observations.append(obs)
    return observations


def _gestation(text: str, warnings: list[str]) -> list[Observation]:
    """The first stated gestational age of a pregnant patient, in weeks ("16/40" is 16 weeks).

    Example:
        >>> [o.value for o in _gestation("G2P1, 16/40, booking visit.", [])]
        [16.0]
        >>> _gestation("Visual acuity 20/40 both eyes.", [])
        []
    """
    for pattern in _GESTATION:
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 30) : match.start()]
            if (
                _ACUITY.search(before)
                or at_birth(before, match.group(0))
                or _SINCE_BIRTH.match(text, match.end())
            ):
                continue
            obs = make_observation(
                "gestational_age", float(match.group(1)), "wk", warnings=warnings, where="note"
            )
            return [obs] if obs is not None else []
    return []


def states_postpartum(text: str) -> bool:
    """True when the text is about the weeks after a birth (and not a past birth).

    Example:
        >>> states_postpartum("3 days postpartum."), states_postpartum("History of postnatal depression.")
        (True, False)
    """
    return any(
        not _PAST_BIRTH.search(text[max(0, m.start() - 25) : m.start()]) for m in _POSTPARTUM.finditer(text)
    )


def at_birth(before: str, said: str = "") -> bool:
    """True when weeks of gestation are a baby's at birth: "born at 30+2 weeks gestation", "G2P1,
    delivered at 38 weeks".

    Example:
        >>> at_birth("Baby girl born at ", "30+2 weeks gestation"), at_birth("", "G2P1 at 24 weeks")
        (True, False)
    """
    return bool(_AT_BIRTH.search(before) or _BIRTH_WORD.search(said))


def _pregnancy(text: str) -> bool | None:
    for pattern in _PREGNANT:
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 25) : match.start()]
            if (
                _NEGATED.search(before)
                or _NOT_YET.search(before)
                or at_birth(before, match.group(0))
                or _OTHERS_AFTER.match(text, match.end())
                or _OTHERS_BEFORE.search(text[max(0, match.start() - 40) : match.start()])
                or _SINCE_BIRTH.match(text, match.end())
            ):
                continue
            return True
    return False if _NOT_PREGNANT.search(text) else None

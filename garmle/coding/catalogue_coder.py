"""Zero-shot coding of clinical notes against the ICD-10-CM catalogue.

Each note is split into sentences; a lexical index over every code's title,
inclusion terms and a small table of clinical synonyms and abbreviations
(``garmle/data/code_synonyms.tsv``) finds the codes whose words a sentence
contains close together. Competing candidates for the same words are
re-ranked by dense similarity between the note span and the code title
(embeddings cached per coder). The context of each mention decides what it
means: negated and uncertain mentions are dropped or down-weighted, a
history of an acute event becomes its personal-history code (``history of
MI`` -> ``I25.2``) and a relative's disease becomes a family-history code
(``Z8x``).

Words in parentheses in ICD-10-CM titles are nonessential modifiers and
words after "without" describe what is absent, so neither is required for a
match.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> from garmle.embedding import HashEmbedder
    >>> from garmle.types import Patient
    >>> coder = CatalogueCoder(IcdCatalogue(), HashEmbedder(64))  # doctest: +SKIP
    >>> coder.predict(Patient("p", notes=("Known HTN.",)))[0].code  # doctest: +SKIP
    'I10'
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from garmle import spelling as _spelling_module
from garmle.cache import read_cache, write_cache
from garmle.catalogue import IcdCatalogue
from garmle.catalogue.icd10cm import catalogue_release, lay_wordings
from garmle.coding import context as _context_module
from garmle.coding.base import rank, recorded_code
from garmle.coding.context import (
    EPISODE_OVER_TAIL,
    HISTORY_SECTIONS,
    SECTION_HEADER,
    WORD,
    Sentence,
    Token,
    assertion_of,
    normalise_token,
    split_sentences,
)
from garmle.config import cache_dir
from garmle.embedding import Embedder
from garmle.errors import CatalogueError, ConfigError
from garmle.patient.note import at_birth, states_postpartum
from garmle.types import CodePrediction, Evidence, Patient

__all__ = [
    "DIABETES_CATEGORIES",
    "FAMILY_HISTORY_CODES",
    "PERSONAL_HISTORY_CODES",
    "UNSPECIFIED",
    "WITH_FEATURE",
    "CatalogueCoder",
    "Mention",
    "assessed_symptom",
    "assessment_spans",
    "bundled_pairs",
    "contradicts",
    "load_synonyms",
    "personal_history_code",
    "presenting_first",
    "sentence_spans",
]

_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "due",
        "with",
        "nos",
        "other",
        "unspecified",
        "specified",
        "elsewhere",
        "classified",
        "site",
        "part",
        "initial",
        "encounter",
        "subsequent",
        "sequela",
        "not",
    ]
)
_PAREN = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
# "without ..." names what is absent, up to a qualifier that still applies ("... in remission")
_NO_FOREIGN_BODY = re.compile(r"\bwithout foreign body\b,?", re.I)
_WITHOUT = re.compile(r"\bwithout\b.*?(?=\bin remission\b|$)", re.IGNORECASE)
_EXTERNAL_CAUSES = frozenset("VWXY")
_TEXT_VECTORS = 4096  # note wordings whose vectors the coder keeps between requests
_POISONING = ("T36", "T65")  # poisoning by, adverse effect of and underdosing of drugs; toxic effects
# Words inside a wording that do not part it: "OA of both knees" is knee OA, "osteoarthritis in the
# right hip" hip osteoarthritis, "thrombus L femoral vein" a thrombosis of the left femoral vein.
_FILLERS = frozenset(
    {"of", "the", "in", "both", "left", "right", "l", "r", "lt", "rt", "bilateral", "her", "his", "their"}
)
# Words naming what kind of condition a wording is. Each is in thousands of titles, so its weight is low
# and a partial match could leave it out; a wording that has one matches only where it is said.
_NATURE = frozenset(
    normalise_token(w)
    for w in (
        "fracture",
        "dislocation",
        "sprain",
        "strain",
        "laceration",
        "contusion",
        "burn",
        # "ear drums normal" is no corrosion of the ear drum
        "corrosion",
        "corrosions",
        "poisoning",
        "injury",
        "deficiency",
        # "partial thickness skin loss" of a pressure ulcer is no frostbite
        "frostbite",
        # "splenic flexure" in a colonoscopy report is no cancer of it ("carcinoma" reads as cancer)
        "cancer",
        # a congenital malformation is a child's condition the note names as such: "aortic stenosis,
        # valve area 0.8 cm2" in a man of 79 is no congenital stenosis of the aortic valve
        "congenital",
    )
)
# "Unspecified disorder of tympanic membrane", "Disease of pericardium, unspecified", "Cranial nerve
# disorder, unspecified": what the title names is a site, and its disorder is the condition
_SITE_DISORDER = re.compile(
    r"(?:unspecified )?(?:disorders?|diseases?) of\b|[\w' -]+ (?:disorders?|diseases?), unspecified$", re.I
)
_MONTHS = frozenset(
    normalise_token(m)
    for m in (
        "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
        "november", "december",
    )
)  # fmt: skip
_BEFORE_A_DATE = frozenset(
    {"in", "since", "from", "until", "till", "by", "last", "early", "late", "mid", "of", "on", "during"}
)
# "non-" words that qualify the condition named after them rather than deny it: "non-cardiac chest
# pain" is chest pain, "non-visible haematuria" haematuria
_NON_QUALIFIERS = frozenset(
    {
        "cardiac", "productive", "visible", "healing", "specific", "obstructive", "ischaemic",
        "ischemic", "pitting", "infective", "infectious", "traumatic", "epileptic", "diabetic",
        "alcoholic", "malignant", "allergic", "erosive", "bloody", "purulent", "severe", "urgent",
    }
)  # fmt: skip


def _non_qualifies(raw: str) -> bool:
    """Whether a "non-" word qualifies the word after it: a cause named by its abbreviation
    ("non-CF", "non-IgE") or a trait of :data:`_NON_QUALIFIERS`.

    Example:
        >>> _non_qualifies("non-CF"), _non_qualifies("non-productive"), _non_qualifies("non-blanching")
        (True, True, False)
    """
    rest = raw.split("-", 1)[1]
    return sum(c.isupper() for c in rest) >= 2 or rest.lower() in _NON_QUALIFIERS


# Words right after these name something absent ("migraine without aura", "non-smoker").
_ABSENCE = frozenset({"without", "no", "non", "not", "denie", "negative", "free"})
# A substance named on its own is no use disorder ("caffeine limited to one coffee", "alcohol 2 units/week");
# "smoker", "alcoholism", "opioid use disorder" still are.
_SUBSTANCE_USE = tuple(f"F1{d}" for d in range(10))
_SUBSTANCES = frozenset(
    {
        "alcohol", "caffeine", "coffee", "cannabis", "marijuana", "cocaine", "nicotine", "tobacco",
        "opioid", "opioids", "opiate", "opiates", "heroin", "amphetamine", "amphetamines",
        "methamphetamine", "benzodiazepine", "benzodiazepines", "sedative", "sedatives", "stimulant",
        "stimulants", "hallucinogen", "hallucinogens", "inhalant", "inhalants", "ketamine",
    }
)  # fmt: skip
_PROPHYLAXIS_AFTER = re.compile(
    r"\s*[:\-–]?\s*(?:LMWH|enoxaparin|dalteparin|tinzaparin|heparin|stockings|TEDs?|mechanical|"
    r"pharmacological|risk assessment)\b",
    re.I,
)
# who smokes: "she does smoke", "they both smoke", "used to smoke"
_SMOKER_BEFORE = re.compile(
    r"\b(?:i|he|she|they|we|you|does|do|did|to|still|both|also|patient|pt|parents?|mum|mom|mother|dad|"
    r"father|brothers?|sisters?|siblings?|partner|husband|wife|family|carers?|grand\w+|household)\s+"
    r"(?:\w+\s+)?$",
    re.I,
)
_OTHER_SMOKE = re.compile(r"\s+(?:cannabis|weed|marijuana|skunk|crack|heroin|spice|meth)\b", re.I)
# "GAD-7 4", "PHQ-9: 5": a rating scale named by a condition's abbreviation, followed by its score
_SCALE_SCORE = re.compile(r"-\d+\s*(?:score\b|[:=]?\s*\d)", re.I)


def _says(raw: str, exact_case: frozenset[str], any_case: bool = False) -> bool:
    """True when a note's word is one of a wording's upper-case abbreviations, or its plural ("UTIs").
    In a note written all in lower case (``any_case``) an abbreviation of three letters or more is read
    in lower case too, unless it is an everyday word ("cap", "fit", "pad", "aids").

    Example:
        >>> _says("UTIs", frozenset({"UTI"})), _says("Uti", frozenset({"UTI"}))
        (True, False)
        >>> _says("htn", frozenset({"HTN"}), any_case=True), _says("pad", frozenset({"PAD"}), any_case=True)
        (True, False)
    """
    if raw in exact_case or (raw.endswith("s") and raw[:-1] in exact_case):
        return True
    if not any_case:
        return False
    word, caseless = raw.upper(), _caseless(exact_case)
    return word in caseless or (word.endswith("S") and word[:-1] in caseless)


@lru_cache(maxsize=1024)
def _caseless(exact_case: frozenset[str]) -> frozenset[str]:
    """The abbreviations of a wording that a note in lower case may say: three letters or more, no
    everyday word."""
    return frozenset(w for w in exact_case if sum(c.isalpha() for c in w) >= 3 and w.lower() not in _EVERYDAY)


# mixed-case abbreviations that are words in lower case: "PrEP" is no "bowel prep"
_MIXED_CASE = frozenset({"PrEP"})
# abbreviations that are everyday words in a note written in lower case
_EVERYDAY = frozenset({"cap", "fit", "pad", "gad", "hap", "sob", "aids", "nof", "cin", "ili", "ica"})


def _note_of(mention: Mention, notes: Sequence[str]) -> str | None:
    """The note a mention was found in (None for a problem-list entry, which has no note)."""
    if mention.note_index is None or not 0 <= mention.note_index < len(notes):
        return None
    return notes[mention.note_index]


def _followed_by(mention: Mention, notes: Sequence[str], pattern: re.Pattern[str]) -> bool:
    """True when ``pattern`` matches the mention's note right after the mention."""
    note = _note_of(mention, notes)
    return note is not None and pattern.match(note, mention.char_end) is not None


def _preceded_by(mention: Mention, notes: Sequence[str], pattern: re.Pattern[str], reach: int = 40) -> bool:
    """True when ``pattern`` is found in the ``reach`` characters of the mention's note right before it."""
    note = _note_of(mention, notes)
    return note is not None and pattern.search(_said_before(note, mention, reach)) is not None


def _said_before(note: str, mention: Mention, reach: int = 40) -> str:
    """The ``reach`` characters of ``note`` right before the mention."""
    return note[max(0, mention.char_start - reach) : mention.char_start]


def _names_a_scale(mention: Mention, notes: Sequence[str]) -> bool:
    """True when an abbreviation mention is the name of a rating scale followed by its score."""
    return mention.text.isupper() and _followed_by(mention, notes, _SCALE_SCORE)


# "SpO2 93% RA", "sats 95% on RA": room air, not rheumatoid arthritis
_ROOM_AIR_BEFORE = re.compile(
    r"(?:\d\s*%|\b(?:on|in|sats?|spo2|sao2|o2|saturation|saturating))\W{0,3}$", re.I
)


def _names_room_air(mention: Mention, notes: Sequence[str]) -> bool:
    """True when "RA" follows an oxygen saturation or "on": room air.

    Example:
        >>> m = Mention("M06.9", 0, 9, 11, "RA", "present", 1.0, "", frozenset())
        >>> _names_room_air(m, ["SpO2 93% RA"]), _names_room_air(m, ["Known RA."])
        (True, False)
    """
    return mention.text.upper() == "RA" and _preceded_by(mention, notes, _ROOM_AIR_BEFORE, 20)


# Abbreviations that name something else in their context (what comes before, what comes after):
# "RA mildly dilated" (the right atrium), "SLE: quiet AC" (the slit-lamp examination), "CT CAP" (chest,
# abdomen and pelvis), "Islet autoantibodies (GAD, IA-2)" (glutamic acid decarboxylase)
_OTHER_SENSES: dict[str, tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = {
    # ... and a receptor agonist: "TPO-RA", "GLP-1 RA"
    "RA": (
        re.compile(
            r"\b(?:LA|RV|LV|TR|atria?l?)\s*(?:[/,&]|and)?\s*$|\b(?:TPO|GLP-?1|GnRH|IL-?1|receptor)\s*-?\s*$",
            re.I,
        ),
        re.compile(
            r"\s*(?:/\s*RV|(?:and|,)\s*RV\b|(?:is\s+|was\s+)?(?:not\s+)?(?:(?:mildly|moderately|severely|mild|moderate|"
            r"severe)(?:ly)?\s+)?(?:dilated|enlarged|dilatation|enlargement|size|pressure|volume|normal)\b)",
            re.I,
        ),
    ),
    "SLE": (
        None,
        re.compile(
            r"\s*[:-]\s*(?:[^\n.]{0,20}\b)?(?:quiet|AC|cornea\w*|lens\w*|lids?|conj\w*|iris|"
            r"clear|cells?|flare|NAD|normal)\b",
            re.I,
        ),
    ),
    # "visual fields stable on GPA": the fields' guided progression analysis
    "GPA": (
        re.compile(r"\b(?:on|by|per|fields?|HVF)\s*$", re.I),
        re.compile(r"\s*(?:progression|analysis|printout|event)", re.I),
    ),
    "CAP": (re.compile(r"\b(?:CT|PET(?:[-/]CT)?|MRI|scan)\s*$", re.I), None),
    # "L PVD, no retinal break", "complete PVD (Weiss ring)": a posterior vitreous detachment
    "PVD": (
        re.compile(r"\b(?:L|R|left|right|bilat\w*|complete|partial|acute|symptomatic|eye)\s*$", re.I),
        re.compile(
            r"\s*(?:\(?\s*Weiss|[,;-]?\s*(?:no|with|without)\s+(?:retinal\s+)?(?:tears?|breaks?|holes?))",
            re.I,
        ),
    ),
    "GAD": (
        re.compile(r"(?:antibod\w*|anti-?)\W{0,3}(?:\w+\W{1,3}){0,2}$", re.I),
        re.compile(r"\s*(?:-?65\b|antibod\w*|ab\b|abs\b|positive|negative|\+|titre)", re.I),
    ),
}


def _names_another_sense(mention: Mention, notes: Sequence[str]) -> bool:
    """True when an abbreviation means something else where it stands (:data:`_OTHER_SENSES`).

    Example:
        >>> m = Mention("M06.9", 0, 5, 7, "RA", "present", 1.0, "", frozenset())
        >>> _names_another_sense(m, ["Echo RA mildly dilated."]), _names_another_sense(m, ["Echo RA flare."])
        (True, False)
        >>> m = Mention("J18.9", 0, 3, 6, "CAP", "present", 1.0, "", frozenset())
        >>> _names_another_sense(m, ["CT CAP: bone metastases."]), _names_another_sense(m, ["Dx CAP."])
        (True, False)
    """
    patterns = _OTHER_SENSES.get(mention.text.upper()) if mention.text.isupper() else None
    if patterns is None:
        return False
    before, after = patterns
    return (before is not None and _preceded_by(mention, notes, before, 30)) or (
        after is not None and _followed_by(mention, notes, after)
    )


# "PE: chest clear, BP 130/80" (the physical examination), "CPT/PE", "prolonged exposure (PE)" (a
# trauma-focused therapy): not a pulmonary embolism
_EXAMINATION_AFTER = re.compile(
    r"\s*[:-]\s*(?:[^.\n]{0,40}?\b)?(?:vitals?|v/s|bp|hr|pulse|temp\w*|general|gen|nad|afebrile|alert|"
    r"well|heent|chest|lungs?|heart|hs|abd\w*|cvs?|resp\w*|rr|neuro\w*|skin|exam\w*|clear|normal|"
    r"unremarkable|wnl|obese|thin|pleasant|comfortable|a&o\w*|ao\w*|o/e|ht|wt|weight|height|bmi|"
    r"spo2|sats?|t\s*\d+)\b",
    re.I,
)
_THERAPY_BESIDE = re.compile(r"\b(?:CPT|EMDR|CBT|DBT|ERP)\s*/\s*$|\bexposure\s*(?:therapy\s*)?\(\s*$")
_THERAPY_AFTER = re.compile(r"\s*/\s*(?:CPT|EMDR|CBT|DBT)\b|\s+(?:therapy|sessions?)\b", re.I)
# "school PE paused", "PE lessons": physical education
_EDUCATION_BEFORE = re.compile(r"\bschool\s*$", re.I)
_EDUCATION_AFTER = re.compile(r"\s*(?:paused|lessons?|kit|class(?:es)?|teacher|at school)\b", re.I)


def _names_an_examination(mention: Mention, notes: Sequence[str]) -> bool:
    """True when "PE" is the physical examination ("PE: chest clear") or prolonged exposure therapy
    ("CPT/PE", "prolonged exposure (PE)"), not a pulmonary embolism.

    Example:
        >>> m = Mention("I26.99", 0, 0, 2, "PE", "present", 1.0, "", frozenset())
        >>> _names_an_examination(m, ["PE: BP 128/76, chest clear."])
        True
        >>> _names_an_examination(m, ["PE: bilateral segmental, on apixaban."])
        False
        >>> m = Mention("I26.99", 0, 16, 18, "PE", "present", 1.0, "", frozenset())
        >>> _names_an_examination(m, ["Refer for (CPT/ PE) sessions."])
        True
        >>> _names_an_examination(m, ["Admitted 2019 with PE."])
        False
        >>> m = Mention("I26.99", 0, 7, 9, "PE", "present", 1.0, "", frozenset())
        >>> _names_an_examination(m, ["School PE paused."])
        True
    """
    note = _note_of(mention, notes)
    if note is None or mention.text.upper() != "PE":
        return False
    return (
        _followed_by(mention, notes, _EXAMINATION_AFTER)
        or _followed_by(mention, notes, _THERAPY_AFTER)
        or _THERAPY_BESIDE.search(_said_before(note, mention, 30)) is not None
        or _EDUCATION_BEFORE.search(_said_before(note, mention, 10)) is not None
        or _followed_by(mention, notes, _EDUCATION_AFTER)
    )


# "hepatitis serology done", "HIV test negative", "chlamydia screen": the name of a test, unless its
# result follows ("hepatitis B serology positive")
# ... unless a positive result follows within the clause
_NO_POSITIVE_RESULT = r"(?![^.;\n]{0,30}\b(?:positive|reactive|detected|confirmed)\b)"
_TEST_AFTER = re.compile(
    r"\s+(?:serology|serologies|screen|tests?|testing|titres?|titers?|PCR|swab|panel|bloods|histology|"
    r"cultures?|biops(?:y|ies)|stool\s+antigen|breath\s+test|"
    r"(?:surface\s+|core\s+|e\s+)?antigen|antibod(?:y|ies)|viral\s+load|IGRA|quantiferon|T-?spot|mantoux|"
    r"interferon[- ]gamma\s+release\s+assay)\b" + _NO_POSITIVE_RESULT,
    re.I,
)


# "hepatitis C and HIV testing", "chlamydia and gonorrhoea screen": an infection named first in a list of
# the tests' names
_LISTED_TESTS_AFTER = re.compile(
    r"(?:\s*(?:,|/|\band\b|\bor\b)\s*(?:hepatitis(?:\s+[A-E]\b)?|[A-E]\b|syphilis|chlamydia|gonorrh\w+|"
    r"rubella|trichomonas|[A-Za-z]{2,5}\b)){1,4}" + _TEST_AFTER.pattern,
    re.I,
)


# "STI kit (chlamydia/gonorrhoea) given", "swabs for chlamydia, gonorrhoea", "Bloods today: HIV/syphilis":
# an infection in the list of a test's or a kit's contents
_TESTS_BEFORE = re.compile(
    r"\b(?:kits?|screen(?:ing)?|swabs?|NAAT|PCR|serology|tests?|testing|bloods?(?:\s+today)?|"
    r"(?:biops(?:y|ies)|samples?|specimens?)\s+(?:sent|taken))\s*"
    r"(?:for\s+)?[(:]?\s*"
    r"(?:[\w-]+\s*(?:/|,|\band\b|\bor\b)\s*){0,4}$",
    re.I,
)


# the disease a residual class's manifestations belong to: "Other neurologic disorders in Lyme disease"
_IN_DISEASE = re.compile(r"\bin ((?!diseases classified elsewhere)[A-Z]?[\w' -]+ disease)$")

_COMMON_WORDS = frozenset({"acute", "chronic", "pregnancy", "disease", "syndrome", "infection", "disorder"})


def _ruled_out_later(mention: Mention, notes: Sequence[str]) -> bool:
    """True when the note goes on to rule out what a mention suspects: "?cellulitis vs DVT -> venous
    duplex: no DVT", "?PE. CTPA: no PE", "... PE was excluded", "Septic arthritis - unlikely".

    Example:
        >>> m = Mention("I82.409", 0, 15, 18, "DVT", "uncertain", 1.0, "", frozenset())
        >>> _ruled_out_later(m, ["?cellulitis vs DVT -> duplex: no DVT."])
        True
        >>> _ruled_out_later(m, ["?cellulitis vs DVT -> duplex booked."])
        False
        >>> _ruled_out_later(m, ["?cellulitis vs DVT - excluded on duplex."])
        True
        >>> m = Mention("C34.90", 0, 1, 12, "Lung cancer", "uncertain", 1.0, "", frozenset())
        >>> _ruled_out_later(m, ["?Lung cancer 2021 - CT nodule, benign."])
        True
        >>> _ruled_out_later(m, ["?Lung cancer vs benign nodule - CT booked."])
        False
        >>> _ruled_out_later(m, ["Concern re lung cancer - CT thorax: no mass or lymphadenopathy."])
        True
    """
    note = _note_of(mention, notes)
    if note is None:
        return False
    if _SET_ASIDE_AFTER.match(note, mention.char_end):
        return True  # "?SAH - excluded on CT/history", "(?Crohn's - no evidence)"
    if _NOT_MADE.match(note, mention.char_end):
        return True  # "?Polymyalgia rheumatica 2023 - ESR/CRP normal ...; diagnosis not made"
    if mention.code.startswith("C") and _FOUND_BENIGN.match(note, mention.char_end):
        return True  # "?Lung cancer 2021 - CT nodule, surveillance completed, benign, discharged"
    for codes, absent in _SIGN_ABSENT:
        if mention.code.startswith(codes) and absent.match(note, mention.char_end):
            return True  # "CXR (? pneumonia vs pneumothorax) - hyperinflation only, no consolidation"
    # the mention's words, or one of its distinctive words ("?ectopic pregnancy ... ectopic excluded")
    words = [w for w in re.findall(r"[A-Za-z]{5,}", mention.text) if w.lower() not in _COMMON_WORDS]
    said = "(?:" + "|".join([re.escape(mention.text), *(re.escape(w) for w in words)]) + ")"
    ruled = re.compile(
        rf"\b(?:no|not|without|negative for|excluded|ruled out)\s+(?:[\w-]+(?:\s+|\s*/\s*)){{0,2}}{said}\b"
        rf"|\b{said}\s*(?:[-–:]\s*)?(?:(?:was|has been|is|felt)\s+)?"
        r"(?:ruled out|excluded|negative|not seen|unlikely|not supported|not suspected)\b",
        re.I,
    )
    return ruled.search(note, mention.char_end) is not None


# a suspicion answered right after it: "?SAH - excluded on CT", "(?Crohn's - no evidence)"
_SET_ASIDE_AFTER = re.compile(
    r"\s*\??\s*(?:(?:was\s+)?considered\s*)?[-–:]\s*(?:(?:was|has been|is|felt)\s+)?"
    r"(?:ruled out|excluded|negative|not seen|unlikely|not supported|not suspected|no evidence|not found|"
    r"no\s+(?:clinical\s+)?(?:features|signs))\b",
    re.I,
)
# a suspicion its line goes on to set aside
_NOT_MADE = re.compile(
    r"[^\n]{0,150}?\bdiagnosis (?:was |has been )?(?:not made|not confirmed|refuted)\b"
    # "Initial concern for UTI - MSU no growth"
    r"|[^.\n]{0,20}?[-–:]\s*(?:MSU|CSU|urine culture|blood cultures?|cultures?)\s*"
    r"(?:showed\s+|:\s*)?no growth\b",
    re.I,
)
# the sign whose absence rules a suspicion out further on: a pneumonia's consolidation, a cancer's mass
_SIGN_ABSENT = (
    (
        ("J12", "J13", "J14", "J15", "J16", "J17", "J18"),
        re.compile(r"[^\n]{0,120}?\bno (?:focal )?consolidation\b", re.I),
    ),
    (("C",), re.compile(r"[^\n]{0,120}?\bno (?:\w+ )?(?:mass|malignancy|tumou?r)\b", re.I)),
)
# a suspected cancer found benign further on its line
_FOUND_BENIGN = re.compile(r"[^\n.;?]{0,80}?(?<!\bvs )(?<!\bor )(?<!\bversus )\bbenign\b", re.I)


# Words that alone name no condition a code can say: a bare "injury" ("discharged 2014 after a knee
# injury"), "observation" (an option of care), "illness" ("a coryzal illness last week")
_BARE_WORDS = (
    ("T14.9", frozenset({"injury", "injuries"})),
    ("Z04", frozenset({"observation", "observations"})),
    ("R69", frozenset({"illness", "illnesses"})),
    # an ECG's "normal axis" is no fracture of the second cervical vertebra
    ("S12.1", frozenset({"axis"})),
)


def _bare_word(mention: Mention) -> bool:
    """Whether a mention is a bare word that names no condition (:data:`_BARE_WORDS`).

    Example:
        >>> _bare_word(Mention("R69", 0, 0, 7, "illness", "present", 1.0, "", frozenset()))
        True
        >>> _bare_word(Mention("S82.62XA", 0, 0, 6, "injury", "present", 1.0, "", frozenset()))
        False
    """
    text = mention.text.lower()
    return any(mention.code.startswith(code) and text in words for code, words in _BARE_WORDS)


def _negated_codes(mentions: Sequence[Mention]) -> set[tuple[int | None, str]]:
    """The (note, code) pairs a negated mention names: a suspicion of the code in that note is ruled
    out."""
    return {(m.note_index, m.code) for m in mentions if m.assertion == "negated"}


def _names_a_test(mention: Mention, notes: Sequence[str]) -> bool:
    """True when a mention names a test ("hepatitis serology done", "HIV test negative") rather than a
    diagnosis; a positive result keeps it. An infection may head a list of tests ("hepatitis C and HIV
    testing").

    Example:
        >>> m = Mention("B15.9", 0, 0, 9, "hepatitis", "present", 1.0, "", frozenset())
        >>> _names_a_test(m, ["hepatitis serology done, awaited."])
        True
        >>> _names_a_test(m, ["hepatitis serology positive for HBsAg."])
        False
        >>> m = Mention("A74.9", 0, 6, 15, "chlamydia", "present", 1.0, "", frozenset())
        >>> _names_a_test(m, ["Plan: chlamydia and gonorrhoea screen."])
        True
        >>> m = Mention("A54.9", 0, 19, 29, "gonorrhoea", "present", 1.0, "", frozenset())
        >>> _names_a_test(m, ["STI kit (chlamydia/gonorrhoea) given."])
        True
        >>> m = Mention("J45.909", 0, 6, 12, "asthma", "present", 1.0, "", frozenset())
        >>> _names_a_test(m, ["Known asthma, HIV testing offered."])
        False
    """
    return _followed_by(mention, notes, _TEST_AFTER) or (
        # an infection, or "hepatitis" of no stated cause (K75.9): "TB, hepatitis and VZV serology"
        (mention.code[0] in "AB" or mention.text.lower().startswith("hepatitis"))
        and (_followed_by(mention, notes, _LISTED_TESTS_AFTER) or _preceded_by(mention, notes, _TESTS_BEFORE))
    )


# "vaccinations (influenza, pneumococcal)", "immunisations: MMR": a vaccine's disease, not the patient's
_VACCINES_BEFORE = re.compile(
    r"\b(?:vaccin\w*|immuni[sz]ations?|boosters?|jabs?)\s*[(:][^()\n.;:]{0,60}$"
    # "Immunisations up to date including tetanus"
    r"|\b(?:vaccin\w*|immuni[sz]ations?|jabs?)\s+(?:are\s+|all\s+)*(?:up[ -]to[ -]date|utd|complete)\s*,?\s*"
    r"(?:including|incl\.?|inc\.?)\s+(?:[\w-]+\s*(?:,|and|/)\s*){0,4}$",
    re.I,
)


# "tetanus status unknown", "Tetanus: Td/IPV booster given": an infection's immunisation, not the infection
# ("Hepatitis B status: HBsAg positive" is the infection)
_VACCINE_AFTER = re.compile(
    r"\s+(?:immuni[sz]ation\s+|vaccination\s+)?status\b"
    + _NO_POSITIVE_RESULT
    + r"|\s+(?:(?:booster\s+)?last\s+(?:booster\s+)?(?:in\s+)?\d{4}\b|up[- ]to[- ]date|UTD|covered)"
    # "Tetanus: fully immunised, booster 2021"
    r"|\s*[:-]\s*(?:(?:fully|not|partially|all)\s+)?(?:Td|IPV|DTaP|Tdap|boosters?|toxoid|vaccin\w*|immuni[sz]\w*|jabs?)\b"
    # "Tetanus: last dose at school", "Tetanus booster (Revaxis) given"
    r"|\s*[:-]?\s*(?:last\s+(?:dose|jab|injection)|(?:booster|vaccine|jab|toxoid|immunoglobulin)\b)",
    re.I,
)


def _names_a_vaccine(mention: Mention, notes: Sequence[str]) -> bool:
    """True when a mention stands in a list of vaccines, or names an infection's immunisation.

    Example:
        >>> m = Mention("J11.1", 0, 20, 29, "influenza", "present", 1.0, "", frozenset())
        >>> _names_a_vaccine(m, ["Plan: vaccinations (influenza, pneumococcal)."])
        True
        >>> _names_a_vaccine(m, ["Vaccinated in 2020. Has influenza."])
        False
        >>> m = Mention("A35", 0, 0, 7, "Tetanus", "present", 1.0, "", frozenset())
        >>> _names_a_vaccine(m, ["Tetanus: Td/IPV booster given today."])
        True
        >>> _names_a_vaccine(m, ["Tetanus status unknown."])
        True
        >>> _names_a_vaccine(m, ["Tetanus up to date."])
        True
        >>> m = Mention("B18.1", 0, 0, 11, "Hepatitis B", "present", 1.0, "", frozenset())
        >>> _names_a_vaccine(m, ["Hepatitis B status: HBsAg positive."])
        False
    """
    return _preceded_by(mention, notes, _VACCINES_BEFORE, 80) or (
        mention.code[0] in "AB" and _followed_by(mention, notes, _VACCINE_AFTER)
    )


# "discuss bariatric surgery criteria", "refer for hip replacement": an operation still to come, not the
# status after one
_PROCEDURE_TO_COME = re.compile(
    r"\b(?:discuss\w*|consider\w*|refer\w*|candidate|eligib\w*|offer\w*|awaiting|wait(?:ing)?[- ]list\w*)"
    r"\b[^.;:\n]{0,25}$",
    re.I,
)


def _names_a_procedure_to_come(mention: Mention, notes: Sequence[str]) -> bool:
    """True when a status after a procedure (Z9x: "Bariatric surgery status") is an operation still being
    discussed or referred for.

    Example:
        >>> m = Mention("Z98.84", 0, 16, 33, "bariatric surgery", "present", 1.0, "", frozenset())
        >>> _names_a_procedure_to_come(m, ["Plan: discuss a bariatric surgery referral."])
        True
        >>> _names_a_procedure_to_come(m, ["Past history: bariatric surgery 2019."])
        False
    """
    return mention.code.startswith("Z9") and _preceded_by(mention, notes, _PROCEDURE_TO_COME)


# "ST depression", "PR depression" (ECG), "respiratory depression": no low mood
_NOT_A_MOOD_BEFORE = re.compile(
    r"\b(?:ST|PR|ST[- ]segment|J[- ]point|respiratory|ventilatory|CNS|marrow)\s*$", re.I
)


# "CVA tenderness", "L CVA tender": the costovertebral angle examined, no stroke
_ANGLE_AFTER = re.compile(r"\s*(?:tender\w*|angle|pain|punch|percussion)\b", re.I)


def _names_a_sign(mention: Mention, notes: Sequence[str]) -> bool:
    """True when "depression" is an ECG or a respiratory sign, not a depressive disorder, or "CVA" the
    costovertebral angle's tenderness, not a stroke.

    Example:
        >>> m = Mention("F32.A", 0, 16, 26, "depression", "present", 1.0, "", frozenset())
        >>> _names_a_sign(m, ["ST elevation, PR depression."]), _names_a_sign(m, ["Low mood, depression."])
        (True, False)
        >>> m = Mention("I63.9", 0, 2, 5, "CVA", "present", 1.0, "", frozenset())
        >>> _names_a_sign(m, ["L CVA tenderness."]), _names_a_sign(m, ["L CVA 2019, residual weakness."])
        (True, False)
        >>> m = Mention("L53.9", 0, 13, 21, "erythema", "present", 1.0, "", frozenset())
        >>> _names_a_sign(m, ["Throat: mild erythema."]), _names_a_sign(m, ["Skin: mild erythema."])
        (True, False)
        >>> m = Mention("R05.9", 0, 20, 25, "cough", "present", 1.0, "", frozenset())
        >>> _names_a_sign(m, ["Reducible R hernia, cough impulse."]), _names_a_sign(m, ["Hernia R, cough."])
        (True, False)
    """
    if mention.text.upper() == "CVA":
        return _followed_by(mention, notes, _ANGLE_AFTER)
    if mention.code.startswith("L53"):
        return _preceded_by(mention, notes, _MUCOSA_BEFORE, 30)
    if mention.code.startswith("R05"):
        return _followed_by(mention, notes, _IMPULSE_AFTER)  # a hernia's "cough impulse"
    return mention.code.startswith(("F32", "F33")) and _preceded_by(mention, notes, _NOT_A_MOOD_BEFORE, 20)


_IMPULSE_AFTER = re.compile(r"\s*(?:impulse|test)\b", re.I)
# "Throat: mild erythema", "TM erythematous": a mucosa's or an ear drum's redness, a sign of the
# infection there, not a skin disorder
_MUCOSA_BEFORE = re.compile(
    r"\b(?:throat|pharynx|pharyngeal|oropharynx|tonsils?|tonsillar|fauces|TMs?|tympanic\s+membranes?|drums?|"
    r"ear\s+canals?|EAC|conjunctiva[el]?|gums?|gingiva[el]?|mucosa[l]?|cervix|vulva[l]?|urethral\s+meatus)"
    r"\b[^.;\n]{0,20}$",
    re.I,
)
# a hypoglycaemia's codes, and the self-management taught for one ("hypo management", "hypo kit")
_HYPOGLYCAEMIA = re.compile(r"E16\.[0-2]|E(?:08|09|10|11|13)\.64")
_TAUGHT_AFTER = re.compile(
    r"\s+(?:management|treatment|recognition|education|advice|plan|protocol|rules|kit|box|pack|"
    r"awareness\s+(?:training|education|teaching))\b",
    re.I,
)
# the abnormal findings and results of chapter R (R83-R94, "Abnormal brain scan"), which a test's name
# alone does not give
_ABNORMAL_RESULT = re.compile(r"R8[3-9]|R9[0-4]")
# "Cervical screening 2023: HPV negative", "Retinal screening (Aug): no diabetic retinopathy": a past
# screening's result, not an encounter for screening
_SCREENING_RESULT_AFTER = re.compile(
    r"\s*(?:\([^()\n]{1,20}\)|(?:in\s+)?(?:\w+\s+)?(?:19|20)\d\d)?\s*[:=]|\s+(?:was\s+|is\s+)?(?:normal|negative|clear)\b"
    # "Cervical screening not yet due", "bowel screening up to date": no screening at this visit
    r"|\s+(?:is\s+)?(?:not\s+(?:yet\s+)?due|next\s+due|up\s+to\s+date|UTD)\b",
    re.I,
)
_NEVER_DONE_BEFORE = re.compile(
    r"\bnever\s+(?:(?:done|had|been\s+for|attended|taken\s+up)\s+)(?:an?\s+|any\s+)?$", re.I
)
# "Picked up by the bowel screening programme (positive FIT)": the screening that found a disease
_FOUND_BY_BEFORE = re.compile(
    r"\b(?:picked\s+up|detected|found|diagnosed|identified)\s+(?:by|through|via|at|on|in)\s+"
    r"(?:(?:the|a|routine|national|nhs)\s+)*$",
    re.I,
)
_AT_AN_EXAM_BEFORE = re.compile(
    r"\b(?:at|during|from|after|following|since)\s+(?:an?|the|his|her|their)\b[^.;\n]{0,15}$", re.I
)
# a suicide attempt, an intentional self-poisoning (sixth character 2) or self-harm
_SELF_HARM = re.compile(r"T14\.91|T(?:3[6-9]|4\d|50|5[1-9]|6[0-5])\.\w{2}2")
# a knee or hip replacement ("R TKA", "left total hip replacement")
_JOINT_REPLACED = re.compile(
    r"\b(?:TKA|TKR|TKJR|THA|THR|THJR|(?:knee|hip)\s+(?:replacement|arthroplasty|prosthesis))\b", re.I
)
# the arthritis a joint replacement was for: "right cemented TKA for OA 19 days ago"
_REPLACED_FOR_BEFORE = re.compile(
    r"\b(?:TKA|TKR|TKJR|THA|THR|THJR|replacement|arthroplasty)\s+for\s+(?:\w+\s+){0,2}$", re.I
)
# a general health examination by age: a newborn's (under 29 days), a child's, an adult's
_HEALTH_EXAM_AGES = (("Z00.11", 0.0, 28 / 365), ("Z00.12", 0.0, 18.0), ("Z00.0", 18.0, 200.0))
# a wound beside an ulcer is the ulcer ("sacral wound" of a pressure ulcer), no injury
_ULCERS = ("L89", "L97", "L98.4", "I83.0", "I83.2", "E11.621", "E10.621")
_ABNORMAL_WORD = re.compile(
    r"\b(?:abnormal\w*|abn|raised|elevated|high|low|positive|deranged|impaired|reduced|increased|"
    r"decreased|irregular|changes?|finding\w*|lesions?|nodules?|mass(?:es)?|opacit\w*)\b",
    re.I,
)
_LIVING_BEFORE = re.compile(r"\b(?:living|deceased|cadaveric|live)[- ]$", re.I)
_HEALED_BEFORE = re.compile(
    r"\b(?:well[- ]healed|healed|healing|surgical|operation|excision|biopsy)\s+$", re.I
)
_PREGNANCY_TEST = re.compile(r"pregnan|\b(?:b-?)?hcg\b|\bupt\b", re.I)
# a past condition an operation or a treatment did away with: "cataract R - removed 2019", "L inguinal
# hernia repair 2014", "tongue tie divided at 2 weeks", "carpal tunnel release 2018", "gallstones - had lap
# chole 2021", "pyloric stenosis at 5 weeks old - no ongoing issues"
_DONE_AWAY_AFTER = re.compile(
    r"\s+(?:release|repair)\b"
    r"|\s*(?:(?:R|L|right|left|bilateral)\b)?\s*[-–,(:]?\s*"
    r"(?:(?:was|were|had|has been|been|successfully)\s+){0,2}"
    r"(?:removed|excised|divided|repaired|resected|released|corrected|cured|eradicated|banded|ligated)\b"
    # "Treated for H. pylori in 2019 - eradication confirmed on breath test"
    r"|[^.;\n]{0,25}?[-–,(:]\s*(?:successful\s+)?eradication\b"
    # "Latent TB infection (IGRA +ve 2015) - completed 3 months rifampicin/isoniazid"
    r"|[^.;\n]{0,40}?[-–,]\s*(?:completed|finished)\b"
    r"|\s*[-–,(:]?\s*(?:had|s/p|post)\s+(?:an?\s+)?(?:lap\w*\s+)?(?:chole\b|\w+(?:ectomy|otomy)\b)"
    r"|[^.;\n]{0,40}\bno\s+(?:ongoing|current|further|residual)\s+(?:issues|problems|sx|symptoms)\b",
    re.I,
)
# a past condition that is over: "Bell's palsy 2015 - fully recovered", "Anxiety about needles as a
# teenager - resolved", "Renal colic 2015, no recurrence"; one with a personal-history code keeps it
_OVER_AFTER = re.compile(
    # (no other comma before it: "T2DM, HTN, asthma as a child - resolved" resolved the asthma alone)
    r"[^.;\n,]{0,40}?(?:,\s*(?:treated|managed)\b[^.;\n,]{0,30})?[-–,(:;]\s*"
    r"(?:(?:(?:fully|completely|now|since|all)\s+)?(?:resolved|recovered|cured)\b"
    r"|(?:made\s+an?\s+)?(?:full|complete)\s+recovery\b"
    r"|no\s+(?:recurrences?|further\s+(?:episodes|attacks))\b|adequately\s+treated\b"
    # outgrown: "Childhood asthma, none since age 12", "asthma - no inhalers or sx since age 9"
    r"|(?:(?:none|nil)\s+|no\s+(?:[\w/]+\s+){0,3}?)since\s+(?:the\s+)?age[d]?\s*(?:of\s+)?\d+"
    # "Febrile convulsion at 18 months of age, none since", "Migraine ..., none for over 15 years"
    r"|(?:none|nil|no\s+(?:further\s+)?(?:trouble|problems?|issues|episodes))\s+since\b"
    r"|(?:none|nil|no\s+(?:[\w/]+\s+){0,3}?(?:symptoms|sx|episodes|attacks|problems|"
    r"inhalers|treatment|medication|fits|seizures|recurrence)\s+)"
    r"for\s+(?:over\s+|more\s+than\s+|>\s*)?\d+\+?\s*(?:years?|yrs?|y)\b"
    r"|(?:grown|grew)\s+out\s+of\s+it\b|outgrew\s+it\b)",
    re.I,
)
# a closed span of years: "Polymyalgia rheumatica 2019-2021", "PMR (2019-21)"
_YEARS_ENDED_AFTER = re.compile(
    r"\s*[(,:]?\s*(?:19|20)\d\d\s*(?:-|–|to)\s*(?:(?:19|20)\d\d|\d\d)\b(?!\s*(?:-|–|/|present|now|ongoing|current))",
    re.I,
)
# "Weight gain along the 75th centile", "steroid-sparing agent"
_ON_CENTILE_AFTER = re.compile(
    r"\s*(?:along|on|following|tracking)\s+(?:the\s+)?\d{1,2}(?:st|nd|rd|th)\b", re.I
)
_SPARING_AFTER = re.compile(r"\s*-?\s*sparing\b", re.I)
# "appendicectomy for appendicitis", "Liver transplant 2016 for primary sclerosing cholangitis": the
# operation took the diseased part away
_OPERATED_IN_YEAR = re.compile(
    r"\s+(?:repair|release|excision|removal|surgery|operation|op|banded|banding|ligated|ligation)\s*"
    r"(?:in\s+|[-–(]\s*)?(?:19|20)\d\d\b",
    re.I,
)
_DONE_AWAY_BEFORE = re.compile(
    r"\b(?:\w+(?:ectomy|otomy)|transplant(?:ed|ation)?(?:\s+(?:in\s+)?(?:19|20)\d\d)?)\s+(?:for|of)\s+$"
    # "Cholecystectomy 2019 (pigment gallstones)"
    r"|\b\w+(?:ectomy|otomy)\b[^.;\n()]{0,15}\(\s*(?:[\w-]+\s+){0,2}$",
    re.I,
)


_GIVEN_AFTER = re.compile(
    r"\s*(?:(?:were|was|all)\s+)?(?:given|received|done|up[- ]to[- ]date|UTD|complete)\b", re.I
)
# the chapters of one sex (ICD-10-CM sex edits): male genital organs; female pelvic and genital organs,
# pregnancy
_MALE_ONLY = (
    "N40", "N41", "N42", "N43", "N44", "N45", "N46", "N47", "N48", "N49", "N50", "N51", "N52", "N53", "C60",
    "C61", "C62", "C63", "Q53", "Q54", "Q55", "D40.1",
)  # fmt: skip
_FEMALE_ONLY = (
    "N7", "N8", "N90", "N91", "N92", "N93", "N94", "N95", "N96", "N97", "N98", "C51", "C52", "C53", "C54",
    "C55", "C56", "C57", "C58", "Q50", "Q51", "Q52", "D25", "D26", "D27", "D28", "O", "R87",
)  # fmt: skip


def _of_the_other_sex(code: str, sex: str | None) -> bool:
    """True when a code is of the other sex's organs: a woman's "clitoral hood phimosis" is no N47.1.

    Example:
        >>> _of_the_other_sex("N47.1", "female"), _of_the_other_sex("N47.1", "male")
        (True, False)
        >>> _of_the_other_sex("N80.1", "male"), _of_the_other_sex("N80.1", None)
        (True, False)
    """
    if sex == "female":
        return code.startswith(_MALE_ONLY)
    if sex == "male":
        return code.startswith(_FEMALE_ONLY)
    return False


def _exam_of_another_age(code: str, age: float | None) -> bool:
    """True when a general health examination's code is for another age than the patient's.

    Example:
        >>> _exam_of_another_age("Z00.111", 11), _exam_of_another_age("Z00.129", 11)
        (True, False)
        >>> _exam_of_another_age("Z00.00", 52), _exam_of_another_age("Z00.00", None)
        (False, False)
    """
    if age is None:
        return False
    return any(code.startswith(head) and not low <= age < high for head, low, high in _HEALTH_EXAM_AGES)


# the age a condition was had at, right after it: "at 6 months", "aged 18 months", "at age 9", "in her
# twenties", "in his 20s" (groups: number and unit, a bare number after "age", an empty group, the teens,
# a decade's word, a decade's digit)
_AT_AGE_AFTER = re.compile(
    r"[^.;\n,]{0,15}?\b(?:at|aged?)\s+(?:age\s+)?(\d{1,2})\s*(months?|mo|mths?|years?|yrs?|y)\b(?![+/])"
    r"|[^.;\n,]{0,15}?\b(?:at\s+age|aged?)\s+(?:of\s+)?(\d{1,2})\b(?![+./]?\d)(?!\s*(?:weeks?|wks?|/52|days?)\b)()"
    r"|[^.;\n,]{0,15}?\bin\s+(?:his|her|their)\s+(?:(teens)|(twenties|thirties|forties|fifties|sixties)|(\d)0'?s)\b",
    re.I,
)
_ONSET = re.compile(r"\b(?:since|from|start\w*|began|begun|onset|diagnosed|dx|first)\b", re.I)
_DECADES = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60}


# a manic episode of a bipolar disorder is the bipolar disorder's current episode (F30 Excludes1
# "bipolar disorder (F31.-)"); a Parkinson's disease with fluctuations ("wearing off", "on-off") or
# dyskinesia is G20.A2, G20.B1 or G20.B2
_BIPOLAR = re.compile(r"\bbipolar\b", re.I)
_MANIC_IN_BIPOLAR = {
    "F30.10": "F31.10", "F30.11": "F31.11", "F30.12": "F31.12", "F30.13": "F31.13", "F30.2": "F31.2",
    "F30.9": "F31.10",
}  # fmt: skip
_FLUCTUATIONS = re.compile(
    r"\b(?:fluctuations?|fluctuating|wearing[- ]off|wears off|on[- ]off|off[- ]periods?)\b", re.I
)
_DYSKINESIA = re.compile(r"\bdyskinesias?\b", re.I)
_DENIED_BEFORE = re.compile(r"\b(?:no|not|nor|without|denies|absent)\b[^,;()]*$", re.I)


# a mother's note's lines about her baby: "Baby: mild jaundice day 4"
_BABY_SECTIONS = frozenset({"baby", "infant", "newborn", "neonate", "baby check"})
# a smoker no more: "Ex-smoker: stopped when pregnant (had smoked 10/day)"
_EX_SMOKER = re.compile(
    r"\b(?:ex-?\s?smoker|former\s+smoker|stopped\s+smoking|quit\s+smoking\s+(?:in|\d)|gave\s+up\s+smoking)\b"
    # "Smoked 10 a day until 8 weeks, stopped"
    r"|\bsmoked\b[^.;\n]{0,30}\b(?:until|till|stopped|quit)\b",
    re.I,
)


def _course_said(code: str, mention: Mention, notes: Sequence[str], titles: Mapping[str, str]) -> str:
    """The code that a mention's sentence says of the course of its disease: "Bipolar affective
    disorder, current episode MANIC, severe" is F31.13, not the manic episode F30.13; "Parkinson's
    disease with motor fluctuations (end-of-dose wearing off), no dyskinesia" is G20.A2.

    Example:
        >>> m = Mention("F30.13", 0, 33, 54, "episode MANIC, severe", "present", 1.0, "", frozenset())
        >>> note = "Imp: Bipolar affective disorder, current episode MANIC, severe."
        >>> _course_said("F30.13", m, [note], {"F31.13": ""})
        'F31.13'
        >>> m = Mention("G20.A1", 0, 3, 22, "Parkinson's disease", "present", 1.0, "", frozenset())
        >>> note = "1. Parkinson's disease with motor fluctuations (end-of-dose wearing off), no dyskinesia"
        >>> _course_said("G20.A1", m, [note], {"G20.A2": ""})
        'G20.A2'
        >>> note = "1. Parkinson's disease, no fluctuations or dyskinesia"
        >>> _course_said("G20.A1", m, [note], {"G20.A2": ""})
        'G20.A1'
    """
    if code not in _MANIC_IN_BIPOLAR and code != "G20.A1":
        return code
    sentence = _sentence_around(mention, notes)
    if code in _MANIC_IN_BIPOLAR:
        bipolar = _MANIC_IN_BIPOLAR[code]
        return bipolar if bipolar in titles and _BIPOLAR.search(sentence) else code

    def affirmed(pattern: re.Pattern[str]) -> bool:
        return any(
            _DENIED_BEFORE.search(sentence[max(0, m.start() - 30) : m.start()]) is None
            for m in pattern.finditer(sentence)
        )

    # the Parkinson's disease of no fluctuations and no dyskinesia said (G20.A1)
    fluctuating, dyskinetic = affirmed(_FLUCTUATIONS), affirmed(_DYSKINESIA)
    new = {(True, False): "G20.A2", (False, True): "G20.B1", (True, True): "G20.B2"}.get(
        (fluctuating, dyskinetic), code
    )
    return new if new in titles else code


def _at_an_earlier_age(mention: Mention, notes: Sequence[str], age: float | None) -> bool:
    """True when the words right after a mention place it at an age the patient is well past:
    "Febrile convulsion at 18 months of age" for a man of 24, "Migraine ... in her twenties" for a
    woman of 49.

    Example:
        >>> m = Mention("J21.9", 0, 0, 13, "Bronchiolitis", "present", 1.0, "", frozenset())
        >>> _at_an_earlier_age(m, ["Bronchiolitis at 6 months, managed at home"], 3)
        True
        >>> _at_an_earlier_age(m, ["Bronchiolitis at 6 months, managed at home"], 0.6)
        False
        >>> _at_an_earlier_age(m, ["Bronchiolitis at home"], 3)
        False
        >>> _at_an_earlier_age(m, ["Bronchiolitis since age 1"], 3)
        False
        >>> m = Mention("O30.009", 0, 0, 15, "Twin pregnancy", "present", 1.0, "", frozenset())
        >>> _at_an_earlier_age(m, ["Twin pregnancy at 11+5 weeks"], 33)
        False
    """
    note = _note_of(mention, notes)
    if age is None or note is None:
        return False
    found = _AT_AGE_AFTER.match(note, mention.char_end)
    if found is None or _ONSET.search(found.group(0)):
        return False  # "smoker since age 16", "diagnosed at 40": when it began, not when it was
    number, unit, bare, _, teens, decade, digit = found.groups()
    number = number or bare
    if number is not None:
        then = int(number) / 12 if unit and unit.lower().startswith("m") else int(number)
    elif teens:
        then = 19
    else:
        then = (_DECADES[decade.lower()] if decade else int(digit) * 10) + 9
    return then <= age - 2


def _done_away_with(mention: Mention, notes: Sequence[str]) -> bool:
    """True when a past condition was operated or treated away; a past cancer keeps its history code.

    Example:
        >>> m = Mention("H26.9", 0, 6, 14, "cataract", "historical", 1.0, "", frozenset())
        >>> _done_away_with(m, ["PMHx: cataract R - removed 2019."])
        True
        >>> _done_away_with(m, ["PMHx: cataract R, awaiting surgery."])
        False
        >>> m = Mention("H26.9", 0, 20, 28, "cataract", "historical", 1.0, "", frozenset())
        >>> _done_away_with(m, ["PMH: HTN; bilateral cataract surgery."])
        True
        >>> m = Mention("K31.1", 0, 32, 48, "pyloric stenosis", "historical", 1.0, "", frozenset())
        >>> _done_away_with(m, ["Past history: pyloromyotomy for pyloric stenosis."])
        True
        >>> m = Mention("J45.909", 0, 5, 21, "Childhood asthma", "historical", 1.0, "", frozenset())
        >>> _done_away_with(m, ["PMH: Childhood asthma, none since age 12."])
        True
    """
    if mention.code.startswith(("C", "D0", "D3", "D4")):
        return False
    if mention.assertion != "historical":
        # "inguinal hernia repair 2010" outside a history section: the repair's year dates it
        return mention.assertion == "present" and _followed_by(mention, notes, _OPERATED_IN_YEAR)
    return (
        _followed_by(mention, notes, _DONE_AWAY_AFTER)
        or (
            personal_history_code(mention.code) is None
            and (
                _followed_by(mention, notes, _OVER_AFTER)
                or _followed_by(mention, notes, _YEARS_ENDED_AFTER)
                or _followed_by(mention, notes, EPISODE_OVER_TAIL)
            )
        )
        or _preceded_by(mention, notes, _DONE_AWAY_BEFORE)
        # "bilateral cataract surgery", "inguinal hernia operation 2015": what the operation removes
        or (
            mention.code.startswith(_OPERATED_AWAY)
            # "bunion surgery L foot" read whole
            and (
                _followed_by(mention, notes, _OPERATION_AFTER)
                or _OPERATION_AFTER.search(mention.text) is not None
            )
        )
    )


# conditions their operation ends: a cataract, a hernia, gallstones, an appendicitis
_OPERATED_AWAY = (
    *("H25", "H26", "H28", "K40", "K41", "K42", "K43", "K44", "K45", "K46", "K80", "K35"),
    # a bunion, a carpal tunnel, a Dupuytren's, a trigger finger, haemorrhoids, a fissure, a fistula, a
    # pilonidal sinus, varicose veins, a hydrocele, an undescended testis
    *("M20.1", "M21.6", "G56.0", "M72.0", "M65.3", "K64", "K60", "L05", "I83", "N43", "Q53"),
)
_OPERATION_AFTER = re.compile(
    r"\s+(?:surgery|operation|op|extraction|extracted|repair|release|correction|ligation|stripping)\b", re.I
)


# "wounds clean and dry", "wound site healing", "surgical wound", "port-site wound": an operation's wound
# examined, no injury
_WOUND_STATE_AFTER = re.compile(
    r"\s*(?:(?:is|are|look\w*|remains?)\s+)?(?:clean|dry|healing|healed|intact|site|sites|check|care|"
    r"review|dressings?|edges?|closed|ooz\w*|C/D/I|OK)\b",
    re.I,
)
_OPERATION_BEFORE = re.compile(
    r"\b(?:surgical|operative|post-?op\w*|incision\w*|laparoscop\w*|port[- ]site|scar|sternotomy|"
    r"laparotomy|abdominal|caesarean|c-section)\s*$",
    re.I,
)


# "pressure area care", "pressure areas intact", "pressure area checks": the skin's care, no ulcer
_SKIN_CARE_AFTER = re.compile(
    r"\s*(?:[:-]\s*)?(?:care|checks?|checked|intact|relie\w*|assess\w*|monitor\w*|risk|ok|fine|clear|"
    r"healthy|satisfactory)\b",
    re.I,
)


def _names_skin_care(mention: Mention, notes: Sequence[str]) -> bool:
    """True when a mention names the skin cared for, no injury or ulcer: a bare "wound" (an injury of no
    stated region) that is an operation's wound examined, or "pressure area(s)", an inclusion term of
    the pressure ulcer, looked after.

    Example:
        >>> m = Mention("T14.8XXA", 0, 11, 17, "wounds", "present", 1.0, "", frozenset())
        >>> _names_skin_care(m, ["Abdo soft, wounds clean and dry."])
        True
        >>> _names_skin_care(m, ["Dog bite - wounds to the forearm."])
        False
        >>> m = Mention("L89", 0, 6, 19, "pressure area", "present", 1.0, "", frozenset())
        >>> _names_skin_care(m, ["Plan: pressure area care, mattress."])
        True
        >>> _names_skin_care(m, ["Plan: pressure area on the sacrum dressed."])
        False
    """
    text = mention.text.lower()
    if mention.code.startswith("T14") and text in ("wound", "wounds"):
        return _followed_by(mention, notes, _WOUND_STATE_AFTER) or _preceded_by(
            mention, notes, _OPERATION_BEFORE, 25
        )
    return text in ("pressure area", "pressure areas") and _followed_by(mention, notes, _SKIN_CARE_AFTER)


# "HIV and hepatitis B/C status never tested", "HIV status unknown": an infection no test has looked for
_STATUS_UNKNOWN_AFTER = re.compile(
    r"[^.;\n]{0,25}?\bstatus(?:es)?\s*(?:is\s+|was\s+|:\s*)?(?:unknown|not known|untested|checked|requested|"
    r"sent|awaited|pending|"
    r"never (?:been )?(?:tested|checked)|not (?:yet )?(?:been )?(?:tested|checked|known)|"
    r"to be (?:checked|tested))\b",
    re.I,
)
# "electric-shock pains", "electric shock-like sensations": a pain's kind, no injury
_PAIN_KIND_AFTER = re.compile(
    r"\s*(?:-?\s*like\s+)?(?:type\s+)?(?:pains?|sensations?|feelings?|jolts?)\b", re.I
)
# "an adverse effect of sertraline": the drug's own adverse effect code, not "adverse effect NEC"
_OF_A_DRUG_AFTER = re.compile(r"\s+(?:of|from|to)\s+(?!unspecified)[a-z]", re.I)
# "eczema as a toddler", "asthma in childhood (outgrown)": a condition of the patient's childhood
_IN_CHILDHOOD_AFTER = re.compile(
    r"\s*,?\s*(?:as an? (?:child|infant|baby|toddler|teenager|teen)|as infant|"
    r"in (?:early )?(?:childhood|infancy))\b",
    re.I,
)


def _not_the_patients_now(mention: Mention, notes: Sequence[str]) -> bool:
    """True when a mention names no condition the patient has now: an infection whose status is
    unknown (never tested), a pain's kind ("electric-shock pains"), an adverse effect named by its
    drug further on (coded by the drug), or a condition of the patient's childhood long over.

    Example:
        >>> m = Mention("B20", 0, 0, 3, "HIV", "present", 1.0, "", frozenset())
        >>> _not_the_patients_now(m, ["HIV and hepatitis B/C status never tested."])
        True
        >>> _not_the_patients_now(m, ["HIV status: on ART, undetectable."])
        False
        >>> m = Mention("T75.4XXA", 0, 9, 23, "electric-shock", "present", 1.0, "", frozenset())
        >>> _not_the_patients_now(m, ["Burning, electric-shock pains in both feet."])
        True
        >>> m = Mention("L30.9", 0, 5, 11, "eczema", "historical", 1.0, "", frozenset())
        >>> _not_the_patients_now(m, ["PMH: eczema as a toddler, otherwise well."])
        True
    """
    if _followed_by(mention, notes, _STATUS_UNKNOWN_AFTER):
        return True
    if mention.code.startswith("T75.4") and _followed_by(mention, notes, _PAIN_KIND_AFTER):
        return True
    if mention.code.startswith("T78") and mention.text.lower().startswith("adverse effect"):
        return _followed_by(mention, notes, _OF_A_DRUG_AFTER)
    return mention.assertion == "historical" and _followed_by(mention, notes, _IN_CHILDHOOD_AFTER)


# "Baby's oral thrush was treated", "her son's asthma": a child's condition in a parent's note
_CHILDS_BEFORE = re.compile(
    r"\b(?:baby|babies|infant|newborn|child|children|son|daughter|toddler|kids?)['’]s?\s+(?:[\w-]+\s+){0,2}$",
    re.I,
)


def _a_childs(mention: Mention, notes: Sequence[str], age: float | None) -> bool:
    """True when an adult's note names the condition of a child of theirs ("baby's oral thrush").

    Example:
        >>> m = Mention("B37.0", 0, 7, 19, "oral thrush", "present", 1.0, "", frozenset())
        >>> note = ["Baby's oral thrush treated."]
        >>> _a_childs(m, note, 31), _a_childs(m, note, 0.5)
        (True, False)
    """
    return age is not None and age >= 12 and _preceded_by(mention, notes, _CHILDS_BEFORE)


# the last subject or reflexive pronoun of the mention's sentence before it
_PRONOUN_BEFORE = re.compile(
    r"\b(he|she|himself|herself)\b(?![^.;!?\n]*\b(?:he|she|himself|herself)\b)[^.;!?\n]*$", re.I
)
# a clinician's judgement about the patient ("Dr A saw him; she thinks pneumonia")
_JUDGING_AFTER = re.compile(
    r"\s+(?:also\s+)?(?:thinks?|thought|feels?|felt|suspects?|suspected|diagnosed|confirmed|noted|found|"
    r"examined|reviewed|treated|started|prescribed|suggests?|suggested|agrees?|agreed|documented|wrote|recorded|"
    r"queried|excluded|ruled)\b",
    re.I,
)


def _about_the_other_sex(mention: Mention, notes: Sequence[str], sex: str | None) -> bool:
    """True when the mention's sentence is about a person of the other sex up to it: in a man's note,
    "Attends with his daughter. She mentioned she has herself been signed off with depression"; in a
    woman's, "Her husband is her carer. He had a stroke himself last year". A clinician's judgement
    ("she thinks pneumonia") stays the patient's.

    Example:
        >>> m = Mention("I63.9", 0, 9, 15, "stroke", "present", 1.0, "", frozenset())
        >>> note = ["He had a stroke himself last year."]
        >>> _about_the_other_sex(m, note, "female"), _about_the_other_sex(m, note, "male")
        (True, False)
        >>> m = Mention("F32.A", 0, 28, 38, "depression", "present", 1.0, "", frozenset())
        >>> _about_the_other_sex(m, ["She says he is low, ?early depression."], "male")
        False
    """
    note = _note_of(mention, notes)
    if note is None or sex not in ("male", "female"):
        return False
    found = _PRONOUN_BEFORE.search(_said_before(note, mention, 200))
    if found is None or _JUDGING_AFTER.match(note, found.end(1) + max(0, mention.char_start - 200)):
        return False
    return found.group(1).lower() in (("she", "herself") if sex == "male" else ("he", "himself"))


_OBSTETRIC = re.compile(
    r"gestation|eclampsia|hyperemesis|gravid|pregnan|obstetric|antenatal|prenatal|placent|puerper|"
    r"post-?partum|post-?natal|\bHELLP\b|\bGDM\b|miscarriage|abortion|ectopic|lactation|"
    r"rupture of (?:the )?membranes|\bP-?PROM\b",
    re.I,
)
"""Wordings that name a condition of pregnancy or the puerperium, so need no other mention of it."""

_EARLIER_PREGNANCY = re.compile(
    r"(?:\b(?:19|20)\d\d\b[^.;\n]{0,6}|\b(?:previous|prior|last|earlier|past|other)\s+pregnanc\w*[^.;\n]{0,25})$",
    re.I,
)


def _of_an_earlier_pregnancy(mention: Mention, notes: Sequence[str]) -> bool:
    """True when a chapter 15 mention belongs to an earlier pregnancy ("First pregnancy 2021:
    preeclampsia at 35 weeks", "in her last pregnancy, gestational diabetes").

    Example:
        >>> m = Mention("O14.90", 0, 22, 34, "preeclampsia", "present", 1.0, "", frozenset())
        >>> _of_an_earlier_pregnancy(m, ["First pregnancy 2021: preeclampsia at 35 weeks."])
        True
        >>> _of_an_earlier_pregnancy(m, ["Now 34 weeks, new onset preeclampsia."])
        False
    """
    note = _note_of(mention, notes)
    if note is None or not mention.code.startswith("O"):
        return False
    before = _said_before(note, mention)
    if mention.text.lower().startswith("pregnan"):  # the wording holds the word: "last [pregnancy, GDM]"
        before += "pregnancy "
    return bool(_EARLIER_PREGNANCY.search(before))


_RADIATING = re.compile(r"\b(?:radiat\w*|spread\w*|shoot\w*)\b", re.I)
_PERIARTICULAR = re.compile(r"\b(?:peri-?articular|juxta-?articular)\s*$", re.I)


# a joint's effusion or fistula names its joint: "R knee effusion", "effusion of the left ankle joint"; the
# "bilateral small effusions" of a chest X-ray are the pleura's, an "ileosigmoid fistula" the bowel's
_JOINT_WORDS = re.compile(
    r"\b(?:joints?|knees?|hips?|ankles?|elbows?|shoulders?|wrists?|fingers?|thumbs?|toes?|hands?|feet|foot|"
    r"MCPJ?s?|MTPJ?s?|PIPJ?s?|DIPJ?s?|synovi\w*|arthr\w*|suprapatellar|patell\w*|bursa\w*)\b",
    re.I,
)


def _joint_code_of_no_joint(mention: Mention, notes: Sequence[str]) -> bool:
    """True for a joint's effusion or fistula of no stated joint (M25.40, M25.48, M25.10, M25.18) read
    from a sentence that names no joint.

    Example:
        >>> m = Mention("M25.48", 0, 27, 36, "effusions", "present", 1.0, "", frozenset())
        >>> _joint_code_of_no_joint(m, ["CXR: bilateral small effusions, upper lobe diversion."])
        True
        >>> m = Mention("M25.48", 0, 11, 19, "effusion", "present", 1.0, "", frozenset())
        >>> _joint_code_of_no_joint(m, ["Swollen R knee, effusion, warm."])
        False
    """
    unsited = mention.code in ("M25.40", "M25.48", "M25.10", "M25.18")
    return unsited and _JOINT_WORDS.search(_sentence_around(mention, notes)) is None


def _periarticular(mention: Mention, notes: Sequence[str]) -> bool:
    """True for the periarticular osteopenia of an X-ray, a sign of an inflammatory arthritis and no
    bone density disorder (M85.8).

    Example:
        >>> m = Mention("M85.849", 0, 27, 37, "osteopenia", "present", 1.0, "", frozenset())
        >>> _periarticular(m, ["Hand X-rays: periarticular osteopenia, no erosions."])
        True
    """
    return mention.code.startswith("M85.8") and _preceded_by(mention, notes, _PERIARTICULAR)


def _weeks_at_birth(mention: Mention, notes: Sequence[str]) -> bool:
    """True when weeks of gestation (Z3A) are those a baby was born at, not a pregnancy's.

    Example:
        >>> m = Mention("Z3A.30", 0, 24, 45, "30+2 weeks gestation", "present", 1.0, "", frozenset())
        >>> _weeks_at_birth(m, ["Baby girl born at 30+2 weeks gestation, day 3."])
        True
    """
    note = _note_of(mention, notes)
    return note is not None and mention.code.startswith("Z3A") and at_birth(_said_before(note, mention))


_NOT_A_PREGNANCY_BEFORE = re.compile(
    r"\b(?:plan\w*|consider\w*|contemplat\w*|trying|try|wish\w*|want\w*|desir\w*|hop\w*|intend\w*|"
    r"future|next|before|pre|preconception|avoid\w*|prevent\w*|in|during|for|of|unplanned|unintended)"
    r"\W+(?:(?:a|an|another|her|further|any|the|for|of|in|future|next|first|second|third|1st|2nd|3rd)\W+){0,2}$",
    re.I,
)
_NOT_A_PREGNANCY_AFTER = re.compile(
    r"^\W*(?:plan\w*|intentions?|wish\w*|prevention|test\w*|risks?|advice|counsel\w*|category|safety)\b", re.I
)


def _names_no_pregnancy(mention: Mention, notes: Sequence[str], pregnant: bool | None) -> bool:
    """True when "pregnancy" is a plan, a risk or a test, not the patient's state: "planning pregnancy
    next year", "risks of lithium in pregnancy", "pregnancy test sent". Only for a patient the record
    does not state pregnant.

    Example:
        >>> m = Mention("Z33.1", 0, 9, 18, "pregnancy", "present", 1.0, "", frozenset())
        >>> _names_no_pregnancy(m, ["Planning pregnancy next year."], None)
        True
        >>> _names_no_pregnancy(m, ["Planning pregnancy next year."], True)
        False
        >>> m = Mention("Z33.1", 0, 11, 20, "pregnancy", "present", 1.0, "", frozenset())
        >>> _names_no_pregnancy(m, ["Confirmed: pregnancy, dating scan booked."], None)
        False
    """
    note = _note_of(mention, notes)
    if note is None or pregnant or not mention.code.startswith("Z3") or "pregnan" not in mention.text.lower():
        return False
    if pregnant is False:
        return True  # the record says she is not pregnant
    before = _said_before(note, mention)
    after = note[mention.char_end :]
    return bool(_NOT_A_PREGNANCY_BEFORE.search(before) or _NOT_A_PREGNANCY_AFTER.search(after))


# measures that fall: "falling grades", "Hb falling"
_MEASURES = (
    r"grades?|marks|scores?|h(?:a)?emoglobin|hb|platelets?|egfr|sodium|potassium|levels?|counts?|sats|"
    r"saturations?|weight|blood pressure|bp"
)
# asleep, or a measure after it ("falling grades", "falling oxygen", "hair falling out"); "falling
# and staying asleep", "falling or remaining asleep"
_ASLEEP = re.compile(
    r"(?:\s*(?:and|or|/)\s*(?:staying|remaining|keeping))?"
    rf"\W{{0,3}}(?:back\s+)?(?:asleep|to sleep)\b|\s+(?:{_MEASURES}|oxygen|income|out|behind)\b",
    re.I,
)
# the measure said before it: "his grades are falling", "Hb falling", "hair falling out"
_MEASURE_BEFORE = re.compile(
    rf"\b(?:{_MEASURES}|hair)\s+(?:(?:is|are|was|were|has been|have been|keeps?|kept)\s+)?$",
    re.I,
)


def _names_falling_asleep(mention: Mention, notes: Sequence[str]) -> bool:
    """True when a mention of falling is sleep onset ("difficulty falling asleep") or a measure that
    falls ("falling grades", "Hb falling", "hair falling out"), not a fall.

    Example:
        >>> m = Mention("R29.6", 0, 11, 18, "falling", "present", 1.0, "", frozenset())
        >>> _names_falling_asleep(m, ["Difficulty falling asleep."])
        True
        >>> _names_falling_asleep(m, ["Difficulty falling and staying asleep."])
        True
        >>> _names_falling_asleep(m, ["Recurrent falling."])
        False
        >>> m = Mention("R29.6", 0, 4, 11, "falling", "present", 1.0, "", frozenset())
        >>> _names_falling_asleep(m, ["Has falling grades."])
        True
        >>> _names_falling_asleep(m, ["Was falling at home."])
        False
    """
    if not mention.text.lower().startswith("fall"):
        return False
    note = _note_of(mention, notes)
    before = _said_before(note, mention) if note is not None else ""
    return _followed_by(mention, notes, _ASLEEP) or _MEASURE_BEFORE.search(before) is not None


_UP_TO_DATE = re.compile(
    r"\s*(?:\([^)]*\)\s*)?[:-]?\s*(?:are|is|were)?\s*(?:all\s+)?"
    r"(?:up[ -]to[ -]date|utd|complete[d]?|current|in date)\b",
    re.I,
)


def _names_a_status(mention: Mention, notes: Sequence[str]) -> bool:
    """True when an immunization or a screening is a status ("immunisations up to date", "cervical
    screening up to date"), not a vaccine given or a screening done now.

    Z23 is the encounter *for* a vaccination, Z11-Z13 for a screening; a record that they are complete
    is no such encounter.

    Example:
        >>> m = Mention("Z23", 0, 0, 13, "Immunisations", "present", 1.0, "", frozenset())
        >>> _names_a_status(m, ["Immunisations up to date."]), _names_a_status(m, ["Immunisations today."])
        (True, False)
    """
    return mention.code.startswith(("Z23", "Z11", "Z12", "Z13")) and _followed_by(mention, notes, _UP_TO_DATE)


# section headers that name the assessment, as whole words: "Dx:" but not "DXA:" (a bone density scan)
_ASSESSMENT_SECTION = re.compile(
    r"^(?:assessment(?: and plan)?|impressions?|imp|diagnos[ie]s|dx|a p|a/p|problems?(?: list)?|"
    r"(?:discharge|final|working|principal|primary) diagnos[ie]s|clinical impression)\b"
)
# Sections that say why the patient is seen: their sentences open the note whatever header they follow.
_COMPLAINT_SECTIONS = (
    "reason for visit",
    "reason for referral",
    "reason for admission",
    "presenting complaint",
    "chief complaint",
    "cc",
    "pc",
    "hpi",
    "hpc",
    "history of present illness",
    "history of presenting complaint",
    "discharge summary",
    "subjective",
)


_Spans = set[tuple[int, int, int]]


def _reread_for_its_code(mention: Mention, notes: Sequence[str]) -> Mention:
    """The mention with the assertion its code gives the words around it: palliative care the patient
    receives beside the family ("caring at home with the hospice at home team"), and a screening never
    done, which is one due ("has never done bowel screening"), are present.

    Example:
        >>> m = Mention("Z12.11", 0, 15, 31, "bowel screening", "negated", 1.0, "", frozenset())
        >>> _reread_for_its_code(m, ["Has never done bowel screening."]).assertion
        'present'
    """
    if (mention.assertion == "family" and mention.code == "Z51.5") or (
        mention.assertion == "negated"
        and mention.code.startswith(("Z11", "Z12", "Z13"))
        and _preceded_by(mention, notes, _NEVER_DONE_BEFORE, 30)
    ):
        return replace(mention, assertion="present")
    return mention


# the characters of a note's opening, where its reason for the visit is said
_OPENING_REACH = 200


def _opens_the_note(mention: Mention) -> bool:
    """True when the mention is in its note's opening or in the section saying why the patient is seen.

    Example:
        >>> _opens_the_note(Mention("Z32.00", 0, 12, 26, "pregnancy test", "present", 1.0, "", frozenset()))
        True
        >>> m = Mention("Z32.00", 0, 900, 914, "pregnancy test", "present", 1.0, "plan", frozenset())
        >>> _opens_the_note(m)
        False
    """
    return mention.char_start < _OPENING_REACH or mention.section in _COMPLAINT_SECTIONS


def assessment_spans(notes: Sequence[str]) -> _Spans:
    """The (note index, start, end) spans of the sentences in each note's assessment (impression,
    diagnosis) section, each note split once.

    Example:
        >>> sorted(assessment_spans(["PMH: T2DM.\\nImp: community-acquired pneumonia."]))
        [(0, 11, 45)]
    """
    return _note_spans(notes)[0]


def assessed_symptom(predictions: Sequence[CodePrediction], patient: Patient) -> str | None:
    """The symptom code (chapter R) that the notes' assessment names as its only condition or first, if
    any: "Assessment: ACE inhibitor induced cough" is what the patient is seen for, beside a
    hypertension from the history.

    Example:
        >>> note = "PMH: HTN.\\nAssessment: ACE inhibitor induced cough."
        >>> htn = CodePrediction("I10", "Hypertension", 0.9, evidence=(Evidence("note", "", 0, 5, 8),))
        >>> cough = CodePrediction("R05.9", "Cough", 0.8, evidence=(Evidence("note", "", 0, 44, 49),))
        >>> assessed_symptom([htn, cough], Patient("p", notes=(note,)))
        'R05.9'
        >>> note = "Imp: persistent hoarseness, in a heavy smoker."
        >>> smoker = CodePrediction("F17.210", "Nicotine", 0.9, evidence=(Evidence("note", "", 0, 38, 44),))
        >>> hoarse = CodePrediction("R49.0", "Dysphonia", 0.8, evidence=(Evidence("note", "", 0, 16, 26),))
        >>> assessed_symptom([smoker, hoarse], Patient("p", notes=(note,)))
        'R49.0'
    """
    spans = assessment_spans(patient.notes)
    assessed = [p for p in predictions if any(_in_spans(e, spans) for e in p.evidence)]
    if len(assessed) == 1:
        return assessed[0].code if assessed[0].code.startswith("R") else None

    # several: the one the assessment names first, when a symptom ("Imp: persistent hoarseness, in a
    # heavy smoker", "Imp: solitary pulmonary nodule in a former smoker")
    def first_said(p: CodePrediction) -> tuple[int, int]:
        return min((e.note_index or 0, e.char_start or 0) for e in p.evidence if _in_spans(e, spans))

    first = min(assessed, key=first_said, default=None)
    return first.code if first is not None and first.code.startswith("R") else None


def _note_spans(notes: Sequence[str]) -> tuple[_Spans, _Spans, _Spans]:
    """The spans of :func:`assessment_spans`, those of the first note's opening (its sentences before
    any section header or under a complaint header: "HPI:", "Reason for visit:", "Discharge summary:"),
    and those of history sections ("PMH:", "History:"), each note split once."""
    assessment: _Spans = set()
    opening: _Spans = set()
    history: _Spans = set()
    for index, note in enumerate(notes):
        for number, sentence in enumerate(split_sentences(note, index)):
            span = (index, sentence.start, sentence.end)
            if _ASSESSMENT_SECTION.match(sentence.section):
                assessment.add(span)
            elif sentence.section in HISTORY_SECTIONS:
                history.add(span)
            elif index == 0 and (not sentence.section or sentence.section in _COMPLAINT_SECTIONS):
                opening.add(span)
            elif index == 0 and number == 0:
                # a note headed by its complaint opens with it: "Gout flare: 58M, ..." (but not "District
                # nurse review: 91F, bedbound after stroke, with a pressure ulcer")
                header = SECTION_HEADER.match(sentence.text)
                if header:
                    opening.add((index, sentence.start, sentence.start + header.end()))
    return assessment, opening, history


def _in_spans(evidence: Evidence, spans: _Spans) -> bool:
    index, start = evidence.note_index, evidence.char_start
    if evidence.kind != "note" or index is None or start is None:
        return False
    return any(i == index and a <= start < b for i, a, b in spans)


# diabetes combination codes (their digits after the dot) coded beside the complication's own code
_COMBINED_COMPANIONS = (("43", "K31.84"), ("22", "N18"), ("621", "L97"))


def presenting_first(predictions: Sequence[CodePrediction], patient: Patient) -> list[CodePrediction]:
    """The codes of the condition the patient is seen for first, then the others, in the given order.

    A code's score says how sure the coder is that the patient has the condition: a diabetes that the
    record states, a drug and a lab confirm is surer than the pneumonia the note is about. The condition
    the note's assessment (impression, diagnosis) names is why the patient is seen, and its guidance comes
    first; when it names several, in the order it lists them. Without one, a problem list written in order
    (no onset dates, as in the JSON patient form) puts its first problem first; a record's dated problems
    are in no such order.
    A note with neither puts first the condition it opens with, before any section header (the
    complaint: "2 yrs of urine leakage with coughing ..." before "BMI 32.4"). After these, a condition
    the notes name only in a history section ("PMH: hypothyroidism") comes after the others: it is a
    comorbidity, while a finding of this visit ("CTPA: acute segmental PE") is why the patient is seen.

    Example:
        >>> note = "PMH: T2DM on metformin.\\nImp: community-acquired pneumonia."
        >>> dm = CodePrediction("E11.9", "Type 2 diabetes", 0.95, evidence=(Evidence("note", "", 0, 5, 9),))
        >>> cap = CodePrediction("J18.9", "Pneumonia", 0.87, evidence=(Evidence("note", "", 0, 48, 57),))
        >>> [p.code for p in presenting_first([dm, cap], Patient("p", notes=(note,)))]
        ['J18.9', 'E11.9']
    """
    spans, opening, history = _note_spans(patient.notes)
    named = [p for p in predictions if any(_in_spans(e, spans) for e in p.evidence)]
    # in the order the assessment lists them ("1. HFrEF ... 2. Hyperkalaemia ... 3. AF"), not by score
    named.sort(
        key=lambda p: min((e.note_index or 0, e.char_start or 0) for e in p.evidence if _in_spans(e, spans))
    )
    # "Imp: diabetic gastroparesis": the gastroparesis is what the visit is about, and the diabetes's
    # combination code that keeps it beside it (E11.43, E11.22 beside the CKD stage, E11.621 beside the
    # ulcer) comes after it
    diabetes = [p for p in named if p.code[:3] in DIABETES_CATEGORIES]
    for combined, companion in _COMBINED_COMPANIONS:
        beside = next((p for p in named if p.code.startswith(companion)), None)
        if beside is None or not any(p.code[4:] == combined for p in diabetes):
            continue
        place = min(named.index(p) for p in diabetes)
        if place < named.index(beside):
            named.remove(beside)
            named.insert(place, beside)
    active = [problem for problem in patient.problems if problem.active]
    listed_first = False
    if not named and active and all(problem.onset is None for problem in active):
        first = active[0].display  # the first problem listed

        def lists_first(pred: CodePrediction) -> bool:
            return any(e.kind == "problem" and e.text.startswith(first) for e in pred.evidence)

        named = [p for p in predictions if lists_first(p)][:1]
        # a first problem that gave no code ("Rectal gonorrhoea 6 weeks ago, test of cure negative")
        # leaves the note's opening to say why the patient is seen
        listed_first = bool(named) or any(
            e.kind == "problem" and e.text.startswith(first) for p in predictions for e in p.evidence
        )
    if not named and patient.notes and not (active and listed_first):
        named = _opening_first(predictions, opening, patient.notes)
    rest = [p for p in predictions if p not in named]
    # a condition the notes name only in a history section is a comorbidity, not why the patient is
    # seen: "PMH: hypothyroidism" comes after the "CTPA: acute segmental PE" the note goes on to
    in_history = [p for p in rest if _only_in(p, history)]
    return named + [p for p in rest if p not in in_history] + in_history


def _only_in(prediction: CodePrediction, spans: _Spans) -> bool:
    """Whether the prediction's note evidence lies in ``spans`` only (False without note evidence)."""
    notes = [e for e in prediction.evidence if e.kind == "note"]
    return bool(notes) and all(_in_spans(e, spans) for e in notes)


def _opening_first(
    predictions: Sequence[CodePrediction], opening: _Spans, notes: Sequence[str] = ()
) -> list[CodePrediction]:
    """The code the first note names first in its ``opening`` spans, before any section header: the
    complaint a note without an assessment opens with ("2 yrs of urine leakage with coughing ...").
    A circumstance (Z55-Z65: "55M, homeless, ...") is no complaint, nor is the background the opening
    gives ("72M with known COPD presents with ...": :func:`_in_background`)."""
    first: dict[int, CodePrediction] = {}
    for pred in predictions:
        if _AMBIGUOUS_ALONE.match(pred.code):
            continue
        starts = [
            e.char_start
            for e in pred.evidence
            if _in_spans(e, opening) and e.char_start is not None and not _in_background(e, notes)
        ]
        if starts:
            first.setdefault(min(starts), pred)
    return [first[min(first)]] if first else []


# what the opening says of the patient's background rather than the complaint: "72M with known COPD
# presents with ...", "Lives with her daughter, walks with a stick; mild vascular dementia"
_BACKGROUND_BEFORE = re.compile(
    r"\b(?:known|background|b/g|hx|history|pmh|lives|walks with|baseline|usually|normally|on treatment for|"
    r"under follow-up for)\b[^.\n]{0,60}$",
    re.I,
)


def _in_background(evidence: Evidence, notes: Sequence[str]) -> bool:
    """Whether an opening's mention is said as the patient's background (:data:`_BACKGROUND_BEFORE`)."""
    if evidence.note_index is None or evidence.char_start is None or evidence.note_index >= len(notes):
        return False
    before = notes[evidence.note_index][max(0, evidence.char_start - 70) : evidence.char_start]
    return _BACKGROUND_BEFORE.search(before) is not None


PERSONAL_HISTORY_CODES: tuple[tuple[str, str], ...] = (
    ("I21", "I25.2"),
    ("I22", "I25.2"),
    ("I63", "Z86.73"),
    ("G45", "Z86.73"),
    ("I26", "Z86.711"),
    ("I82", "Z86.718"),
    ("I46", "Z86.74"),
    ("C50", "Z85.3"),
    # a past cancer by its site
    ("C15", "Z85.01"),
    ("C16", "Z85.028"),
    ("C18", "Z85.038"),
    ("C19", "Z85.048"),
    ("C20", "Z85.048"),
    ("C21", "Z85.048"),
    ("C22", "Z85.05"),
    ("C25", "Z85.07"),
    ("C34", "Z85.118"),
    ("C43", "Z85.820"),
    ("C44", "Z85.828"),
    ("C53", "Z85.41"),
    ("C54", "Z85.42"),
    ("C56", "Z85.43"),
    ("C61", "Z85.46"),
    ("C64", "Z85.528"),
    ("C67", "Z85.51"),
    ("C71", "Z85.841"),
    ("C73", "Z85.850"),
    ("C81", "Z85.71"),
    ("C91", "Z85.6"),
    ("C92", "Z85.6"),
    ("C", "Z85.9"),
    ("N39.0", "Z87.440"),
    ("N20", "Z87.442"),
    ("K25", "Z87.11"),
    ("K26", "Z87.11"),
    ("K27", "Z87.11"),
    ("J18", "Z87.01"),
    ("F17", "Z87.891"),
    ("F10.1", "F10.11"),  # alcohol or drug use stopped: the use disorder in remission
    ("F10.2", "F10.21"),
    ("F11.1", "F11.11"),
    ("F11.2", "F11.21"),
    ("F12.1", "F12.11"),
    ("F12.2", "F12.21"),
    ("F14.1", "F14.11"),
    ("F14.2", "F14.21"),
    ("O24.4", "Z86.32"),
    ("O", "Z87.59"),  # any other past complication of pregnancy, childbirth or the puerperium
    ("R29.6", "Z91.81"),  # falls in the past: a history of falling
    ("E16.0", "Z86.39"),  # a past hypoglycaemia: other endocrine and metabolic disease
    ("E16.1", "Z86.39"),
    ("E16.2", "Z86.39"),
)
"""Acute conditions whose "history of" is a personal-history code (longest prefix wins)."""

_MALIGNANT = re.compile(r"^Malignant neoplasm of ", re.I)
_SECONDARY_NEOPLASMS = ("C77", "C78", "C79")
_PRIMARY_SITE = re.compile(r"\b([a-z]+)\s+(?:cancer|carcinoma|ca|tumou?r|neoplasm|malignancy)\b", re.I)

# a note about a newborn: a neonatal unit, a baby days old
_NEWBORN = re.compile(
    r"\b(?:new-?borns?|neonates?|neonatal (?:unit|intensive care)|NICU|SCBU|special care baby unit|"
    r"day \d{1,2} of life|\d{1,2}\s*-?\s*days?\s*-?\s*old)\b",
    re.I,
)
# a baby past the newborn weeks: "Isla, 7 months.", "a 4-month-old", "aged 10 months", "5/52 old",
# "a 6-week-old"
_INFANT_MONTHS = re.compile(
    r"\b(?:[1-9]|1\d|2[0-3])\s*-?\s*(?:months?|mo|mths?)\b(?:\s+(?:and\s+)?\d\s*(?:weeks?|wks?))?"
    r"(?:\s*-?\s*old\b|(?=\s*[,.;]))"
    r"|\b(?:[5-9]|[1-4]\d|5[0-2])\s*(?:/52|-?\s*weeks?)\s*-?\s*old\b",
    re.I,
)
_NEWBORN_ITEM = re.compile(r"\b(?:new-?born|neonatal|perinatal)\b", re.I)
_NEWBORN_WORDS = frozenset({"newborn", "neonatal", "perinatal", "new", "born", "fetus"})
# skin cancer codes that name the cancer but not its site (C44.9-, C43.9, D04.9), and the site digit of
# the words that name one (C44.3- "skin of other and unspecified parts of face", C43.6- "upper limb")
_SKIN_CANCERS = ("C43", "C44", "D03", "D04")
_SKIN_SITES: tuple[tuple[str, frozenset[str]], ...] = (
    ("1", frozenset({"eyelid", "canthus"})),
    ("0", frozenset({"lip"})),
    ("2", frozenset({"ear", "pinna", "auricle", "helix", "helical", "antihelix", "tragus"})),
    (
        "3",
        frozenset(
            {"face", "facial", "cheek", "nose", "nasal", "forehead", "temple", "chin", "malar", "brow"}
        ),
    ),
    ("4", frozenset({"scalp", "neck"})),
    ("5", frozenset({"back", "chest", "trunk", "abdomen", "abdominal", "flank", "buttock", "torso", "loin"})),
    ("6", frozenset({"arm", "forearm", "hand", "finger", "wrist", "elbow", "shoulder", "thumb"})),
    ("7", frozenset({"leg", "thigh", "calf", "shin", "foot", "ankle", "knee", "hip", "toe", "heel"})),
)
_PERINATAL_REF = re.compile(r"\((P\d\d(?:\.\w{1,4})?)\.?-?\)")

# acute infections whose past episode is over and has no personal-history code: upper and lower
# respiratory, ear ("L otitis externa 2 years ago, treated"), eye, bladder, kidney, skin and bowel
# infections ("sinusitis", read as chronic by the index, when its mention does not say chronic), and an
# appendicitis; a childhood infection, a sexually transmitted infection treated, a pelvic inflammatory
# disease, a renal colic, a Bell's palsy, an optic neuritis, a febrile convulsion, a breast lump examined
# ("Glandular fever age 16", "Syphilis 2021 treated with benzathine penicillin", "PID 2019, treated with
# antibiotics", "Breast lump 2015 - benign fibroadenoma"), and an immunisation given before this visit
_EPISODE_OVER = (
    "A74", "J00", "J01", "J02", "J03", "J04", "J05", "J06", "J20", "J21", "J22", "H60", "H65", "H66", "H10.0",
    "H10.3", "N10", "N30", "N39.0", "L03", "A08", "A09", "B34", "K35", "B01", "B05", "B06", "B26", "B27",
    "A37", "A38", "A51", "A52", "A53", "A54", "A56", "A59", "N70", "N71", "N73", "N23", "G51.0", "H46",
    "R56.0", "Z23", "N63",
)  # fmt: skip

# a sickle-cell disorder's past crisis is over: the code of the disorder without crisis
_CRISIS_OVER = (
    ("D57.0", "D57.1"),
    ("D57.21", "D57.20"),
    ("D57.41", "D57.40"),
    ("D57.43", "D57.42"),
    ("D57.45", "D57.44"),
    ("D57.81", "D57.80"),
)

FAMILY_HISTORY_CODES: tuple[tuple[str, str], ...] = (
    ("F17", "Z77.22"),  # a relative's smoking: the patient's exposure to tobacco smoke
    ("E10", "Z83.3"),
    ("E11", "Z83.3"),
    ("E13", "Z83.3"),
    ("E", "Z83.49"),
    ("I6", "Z82.3"),
    ("I", "Z82.49"),
    ("C50", "Z80.3"),
    ("C1", "Z80.0"),
    ("C2", "Z80.0"),
    ("C34", "Z80.1"),
    ("C61", "Z80.42"),
    ("C56", "Z80.41"),
    ("C9", "Z80.6"),
    ("C", "Z80.9"),
    ("J4", "Z82.5"),
    ("G", "Z82.0"),
    # a relative's congenital malformation or deformation: "Mother was treated for hip dysplasia"
    ("Q", "Z82.79"),
    ("F", "Z81.8"),
)
"""Conditions of a relative -> family-history code (longest prefix wins)."""

# Multipliers applied to a mention's quality by its assertion.
_ASSERTION_WEIGHT = {"present": 1.0, "historical": 0.9, "uncertain": 0.55, "family": 0.6, "hypothetical": 0.0}
"""How much a mention counts by its assertion (negated and hypothetical mentions never count)."""


def _lookup_prefix(table: tuple[tuple[str, str], ...], code: str) -> str | None:
    best = max((p for p, _ in table if code.startswith(p)), key=len, default=None)
    return dict(table)[best] if best is not None else None


def personal_history_code(code: str) -> str | None:
    """The personal-history code of :data:`PERSONAL_HISTORY_CODES` for a past ``code``, if it has one.

    Example:
        >>> personal_history_code("I21.9"), personal_history_code("I10")
        ('I25.2', None)
    """
    return _lookup_prefix(PERSONAL_HISTORY_CODES, code)


@lru_cache(maxsize=1)
def load_synonyms() -> tuple[tuple[str, str], ...]:
    """The bundled ``(phrase, code)`` synonym table (read once per process)."""
    return bundled_pairs("code_synonyms.tsv")


def bundled_pairs(name: str) -> tuple[tuple[str, str], ...]:
    """The ``(phrase, code)`` rows of a bundled tab-separated table in ``garmle/data`` (lines starting
    with "#" are comments)."""
    text = resources.files("garmle").joinpath("data", name).read_text(encoding="utf-8")
    rows: list[tuple[str, str]] = []
    for row in csv.reader(io.StringIO(text), delimiter="\t"):
        if not row or row[0].startswith("#") or len(row) < 2:
            continue
        rows.append((row[0].strip(), row[1].strip()))
    return tuple(rows)


@dataclass(frozen=True)
class _CodeText:
    """One indexed wording of a code: its required words and the raw-case words it insists on."""

    code: str
    text: str
    required: tuple[str, ...]
    exact_case: frozenset[str]
    synonym: bool


@dataclass(frozen=True)
class Mention:
    """A span of a note that names a code, with its assertion and match quality."""

    code: str
    note_index: int | None  # None: an uncoded problem-list entry, not a note
    char_start: int
    char_end: int
    text: str
    assertion: str
    quality: float
    section: str
    matched: frozenset[int]
    curated: bool = False
    complete: bool = True  # every required word of the wording was found
    words_at: frozenset[int] = frozenset()  # note offsets of the matched words
    sided: frozenset[int] = frozenset()  # the matched words that only name a side ("right")
    side: str | None = None  # the side the mention names, in its words or next to them


@lru_cache(maxsize=1 << 14)
def _with_clause(wording: str) -> frozenset[str]:
    """The words of a wording's "with ..." clause, the feature that sets it apart from its siblings.

    Example:
        >>> sorted(_with_clause("Varicose veins of right lower extremity with ulcer of ankle"))
        ['ankle', 'ulcer']
    """
    found = re.search(r"\bwith\b(.*)", _WITHOUT.sub("", _PAREN.sub(" ", wording)), re.I)
    return frozenset(_required_words(found.group(1))) if found else frozenset()


# "Acute embolism and thrombosis of femoral vein": the ICD-10-CM index reaches it from either word
# ("Thrombosis, vein, femoral I82.41-"; "Embolism, vein, femoral"), with "acute" the default reading
# ("chronic" has codes of its own)
_EMBOLISM_AND_THROMBOSIS = re.compile(r"^(?:(acute) |(chronic) )?embolism and thrombosis of ", re.I)


def _index_wordings(wordings: Sequence[str]) -> list[str]:
    """The wordings, each followed by the ones the ICD-10-CM index gives it: a title's "embolism and
    thrombosis" is said as either word, and "acute" is implied.

    Example:
        >>> _index_wordings(["Acute embolism and thrombosis of femoral vein", "Gout"])[1:]
        ['thrombosis of femoral vein', 'embolism of femoral vein', 'Gout']
        >>> _index_wordings(["Chronic embolism and thrombosis of femoral vein"])[1]
        'chronic thrombosis of femoral vein'
    """
    out = []
    for wording in wordings:
        out.append(wording)
        found = _EMBOLISM_AND_THROMBOSIS.match(wording)
        if found:
            chronic = "chronic " if found.group(2) else ""
            rest = wording[found.end() :]
            out += [f"{chronic}thrombosis of {rest}", f"{chronic}embolism of {rest}"]
        if wording.startswith("Pressure ulcer of "):
            out += _pressure_ulcer_wordings(wording)
        born = _PRETERM_WEEKS.match(wording)
        if born:
            out.append(f"born at {born.group(1)} weeks")  # "born at 30+2 weeks gestation"
    return out


# "Preterm newborn, gestational age 30 completed weeks": a baby born at 30 weeks
_PRETERM_WEEKS = re.compile(
    r"^(?:Preterm|Extreme immaturity of) newborn, gestational age (\d\d) completed weeks$"
)


_ULCER_STAGE = re.compile(r"\bstage (\d)\b")


def _pressure_ulcer_wordings(wording: str) -> list[str]:
    """A pressure ulcer's other wordings: its stage said as the international classification's
    category or as a grade, and its sacral region as the sacrum.

    Example:
        >>> for wording in _pressure_ulcer_wordings("Pressure ulcer of sacral region, stage 3"):
        ...     print(wording)
        Pressure ulcer of sacral region, category 3
        Pressure ulcer of sacral region, grade 3
        Pressure ulcer of sacrum, stage 3
        Pressure ulcer of sacrum, category 3
        Pressure ulcer of sacrum, grade 3
    """
    sites = [wording] + ([wording.replace("sacral region", "sacrum")] if "sacral region" in wording else [])
    out = []
    for i, site in enumerate(sites):
        if i:
            out.append(site)
        if _ULCER_STAGE.search(site):
            out += [_ULCER_STAGE.sub(rf"{word} \1", site) for word in ("category", "grade")]
    return out


@lru_cache(maxsize=1 << 14)
def _said_absent(wording: str) -> frozenset[str]:
    """The words a wording names as absent, in its first "without ..." clause.

    Example:
        >>> sorted(_said_absent("Migraine without aura")), _said_absent("Gout")
        (['aura'], frozenset())
    """
    found = _WITHOUT.search(_PAREN.sub(" ", wording))
    return frozenset(_required_words(found.group(0)[len("without") :])) if found else frozenset()


def _required_words(text: str) -> tuple[str, ...]:
    """The words a wording must be said with: all but stop words, bracketed asides and its "without"
    clause; an injury's site after "without foreign body" stays ("... of left hand").

    Example:
        >>> _required_words("Puncture wound without foreign body of left hand")
        ('puncture', 'wound', 'left', 'hand')
    """
    core = _WITHOUT.sub("", _NO_FOREIGN_BODY.sub(" ", _PAREN.sub(" ", text)))
    words = [normalise_token(w) for w in WORD.findall(core)]
    return tuple(dict.fromkeys(w for w in words if w not in _STOP))


# Codes whose one-word wordings mean something else in a clinical note: the social circumstances of
# Z55-Z65, where "Arrest" (Z65.3, legal circumstances) is a cardiac or respiratory arrest
_AMBIGUOUS_ALONE = re.compile(r"^(?:Z5[5-9]|Z6[0-5])")
_SEPSIS_WORD = re.compile(r"seps|septic", re.I)


def _generic_wording(entry_title: str, wording: str, required: tuple[str, ...]) -> bool:
    """One everyday word standing for a residual class, a lay term or a phrase whose meaning sat in its
    "without" clause, never a diagnosis on its own: "Pain, not elsewhere classified", "'growth' NOS",
    "Attacks without alteration of consciousness" (an inclusion term of focal epilepsy)."""
    if len(required) != 1:
        return False
    if wording == entry_title:
        return "not elsewhere classified" in wording.lower()
    return wording.lstrip().startswith(("'", '"')) or bool(_WITHOUT.search(wording))


class CatalogueCoder:
    """Predict ICD-10-CM codes from a patient's notes without training data.

    Args:
        catalogue: the ICD-10-CM catalogue to code against.
        embedder: re-ranks competing candidates by dense similarity; ``None``
            ranks by lexical match alone.
        min_score: predictions scoring below this are dropped.
        max_codes: at most this many predictions per patient.
        dense_weight: share of the dense similarity in a mention's quality.
        code_range: restrict coding to a range such as ``"A00-Z99"`` (all by default).

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> coder = CatalogueCoder(IcdCatalogue(), None)  # doctest: +SKIP
        >>> patient = Patient("p", notes=("Denies chest pain. T2DM.",))
        >>> [p.code for p in coder.predict(patient)]  # doctest: +SKIP
        ['E11.9']
    """

    name = "catalogue"

    def __init__(
        self,
        catalogue: IcdCatalogue,
        embedder: Embedder | None = None,
        *,
        min_score: float = 0.3,
        max_codes: int = 30,
        dense_weight: float = 0.25,
        code_range: str = "",
        synonyms: Sequence[tuple[str, str]] | None = None,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"min_score must be between 0 and 1, got {min_score}")
        if max_codes < 1:
            raise ConfigError(f"max_codes must be >= 1, got {max_codes}")
        if not 0.0 <= dense_weight <= 1.0:
            raise ConfigError(f"dense_weight must be between 0 and 1, got {dense_weight}")
        self.catalogue = catalogue
        self.embedder = embedder
        self.min_score = min_score
        self.max_codes = max_codes
        self.dense_weight = dense_weight if embedder is not None else 0.0
        self._vectors: dict[str, np.ndarray] = {}  # catalogue titles
        self._text_vectors: dict[str, np.ndarray] = {}  # note wordings, bounded
        self._default_child: dict[str, str] = {}
        self._billable: list[str] | None = None  # every billable code, sorted (_billable_below)
        self._build(code_range, load_synonyms() if synonyms is None else synonyms)

    # ------------------------------------------------------------------ index

    _STATE = (
        "_titles",
        "_texts",
        "_children",
        "_idf",
        "_postings",
        "_mass",
        "_sizes",
        "_named_defaults",
        "_injury_sites",
    )

    def _build(self, code_range: str, synonyms: Sequence[tuple[str, str]]) -> None:
        """Index the catalogue's wordings, or load that index from the cache (see ``cache_dir``).

        The cache key covers the code range, the synonyms, the catalogue package's version and the
        source of this module, of the tokenizer and of its spelling rules, so a change to any of them
        rebuilds it.
        """
        digest = hashlib.sha256()
        digest.update(code_range.encode())
        digest.update(repr(list(synonyms)).encode())
        digest.update(catalogue_release().encode())
        for module in (__file__, _context_module.__file__, _spelling_module.__file__):
            digest.update(Path(str(module)).read_bytes())
        path = cache_dir() / f"catalogue-coder-{digest.hexdigest()[:24]}.pkl"
        state = read_cache(path)
        if isinstance(state, dict) and set(state) == set(self._STATE):
            self.__dict__.update(state)
            return
        self._build_fresh(code_range, synonyms)
        write_cache(path, {k: getattr(self, k) for k in self._STATE})

    def _build_fresh(self, code_range: str, synonyms: Sequence[tuple[str, str]]) -> None:
        texts: list[_CodeText] = []
        self._titles: dict[str, str] = {}
        children: dict[str, list[str]] = defaultdict(list)
        # a condition's wording -> the code the tabular list names for it: "Parkinson's disease NOS"
        # under G20.A1, or a child that lists its parent's title ("Varicose veins of lower extremities")
        self._named_defaults: dict[str, str] = {}
        for entry in self.catalogue.codes(code_range):
            self._titles[entry.code] = entry.title
            for term in entry.inclusion_terms:
                if term.endswith(" NOS"):
                    self._named_defaults[_title_key(term[:-4])] = entry.code
                    # "Postpartum hemorrhage (atonic) NOS" names O72's default, O72.1
                    plain = re.sub(r"\s*\([^)]*\)", "", term[:-4])
                    self._named_defaults.setdefault(_title_key(plain), entry.code)
                else:
                    self._named_defaults.setdefault(_title_key(term), entry.code)
            if entry.code[0] in _EXTERNAL_CAUSES or _POISONING[0] <= entry.code[:3] <= _POISONING[1]:
                # how an injury happened is not a diagnosis a note coder should offer; a drug named in a
                # note is not a poisoning (the titles name the drug, and "poisoning" is a weak word there)
                continue
            if entry.code[0] in "ST" and len(entry.code) == 8 and not entry.code.endswith("A"):
                # an injury's later encounters and sequelae need the encounter context a mention lacks;
                # the initial-encounter code stands for a mention
                continue
            if entry.parent:
                children[entry.parent].append(entry.code)
            # "Other X" and "X of other sites" titles are residual classes, never the reading of a plain
            # mention of X ("pulmonary tuberculosis" is no "Tuberculosis of other sites")
            residual = entry.title.startswith("Other ") or entry.title.endswith(" of other sites")
            title = () if residual else (entry.title,)
            terms = entry.inclusion_terms
            if entry.title.startswith("Sepsis due to"):
                # "Pseudomonas aeruginosa" under "Sepsis due to Pseudomonas" names the organism of a sepsis;
                # a sputum culture that grows it is no sepsis
                terms = tuple(t for t in terms if _SEPSIS_WORD.search(t))
            if residual and (disease := _IN_DISEASE.search(entry.title)):
                # "Polyneuropathy" under "Other neurologic disorders in Lyme disease" is Lyme's
                terms = tuple(
                    t if disease.group(1).lower() in t.lower() else f"{t} in {disease.group(1)}"
                    for t in terms
                )
            wordings = lay_wordings((*title, *terms, *entry.includes))
            # "adenocarcinoma of caecum", "cancer of the cecum": a site's malignant neoplasm in a note's words
            wordings += [_MALIGNANT.sub("Cancer of ", w) for w in wordings if _MALIGNANT.match(w)]
            for wording in _index_wordings(wordings):
                req = _required_words(wording)
                # a lone short token ("HR+" -> "hr") is an abbreviation with many readings ("HR 76" is a
                # heart rate); only the curated synonyms map abbreviations
                if (
                    req
                    and not (len(req) == 1 and len(req[0]) <= 3)
                    and not _generic_wording(entry.title, wording, req)
                    and not (len(req) == 1 and _AMBIGUOUS_ALONE.match(entry.code))
                ):
                    texts.append(_CodeText(entry.code, wording, req, frozenset(), False))
        for phrase, code in synonyms:
            norm = self.catalogue.validate(code)
            if norm not in self._titles:
                continue
            words = WORD.findall(phrase)
            exact = frozenset(
                w for w in words if (w.isupper() and sum(c.isalpha() for c in w) >= 2) or w in _MIXED_CASE
            )
            # what a wording says is absent is no word to find ("pre-eclampsia without severe features"):
            # said after the rest, it joins the match as a title's does
            req = tuple(dict.fromkeys(normalise_token(w) for w in WORD.findall(_WITHOUT.sub("", phrase))))
            texts.append(_CodeText(norm, phrase, req, exact, True))
        # Plain tuples: the cache then loads in half the time of one object per wording.
        self._texts = [(t.code, t.text, t.required, t.exact_case, t.synonym) for t in texts]
        self._children = dict(children)
        # the body sites injuries are named by: the words after the last "of" of an injury title
        # ("Puncture wound without foreign body of left hand")
        self._injury_sites = frozenset(
            w
            for code, title in self._titles.items()
            if code[0] == "S" and " of " in title
            for w in _required_words(title.rsplit(" of ", 1)[1])
            if w not in _SIDE_WORDS
        )
        df: dict[str, int] = defaultdict(int)
        for t in texts:
            for w in t.required:
                df[w] += 1
        n = len(texts)
        self._idf = {w: math.log(1.0 + n / c) for w, c in df.items()}
        postings: dict[str, list[int]] = defaultdict(list)
        for i, t in enumerate(texts):
            for w in t.required:
                postings[w].append(i)
        self._postings = {w: np.asarray(ids, dtype=np.int32) for w, ids in postings.items()}
        self._mass = np.asarray([sum(self._idf[w] for w in t.required) for t in texts], dtype=np.float32)
        self._sizes = np.asarray([len(t.required) for t in texts], dtype=np.int32)

    def billable_default(self, code: str) -> str:
        """The default billable code below ``code`` ("unspecified" / "without complications" child)."""
        if code in self._default_child:
            return self._default_child[code]
        # the tabular list names a condition's default where it lists "<condition> NOS": G20 "Parkinson's
        # disease" is G20.A1 ("Parkinson's disease NOS"), not G20.C "Parkinsonism, unspecified"
        named = self._named_defaults.get(_title_key(self._titles[code]))
        current = named if named is not None and named.startswith(code) else code
        for _ in range(4):
            kids = self._children.get(current)
            if not kids:
                break

            # the plainest title wins; ICD-10-CM puts the unspecified code last, so then the highest code.
            # A child stating a feature a sibling says is absent ("Unspecified dementia, mild, with
            # anxiety" beside "..., without ... anxiety") is never the default, whatever its wording.
            def asserts(kid: str, kids: list[str] = kids) -> bool:
                return any(contradicts(self._titles[k], self._titles[kid]) for k in kids if k != kid)

            pick = min(
                sorted(kids, reverse=True),
                key=lambda k: (asserts(k), *_plainness(self._titles[k])),
            )
            if _default_rank(self._titles[pick]) >= len(_DEFAULT_TITLES) or asserts(pick):
                break
            current = pick
        # a code whose children are its encounter characters (T68 -> T68.XXXA, ...D, ...S): a
        # mention is the initial encounter, as for injuries
        initial = [k for k in self._children.get(current, ()) if len(k) == 8 and k.endswith("A")]
        if len(initial) == 1 and initial[0].startswith(current):
            current = initial[0]
        self._default_child[code] = current
        return current

    def _of_sex(self, code: str, sex: str | None, side: str | None) -> str:
        """A code with no billable default whose children are split by sex (C50.4 "... upper-outer
        quadrant of breast": female C50.41-, male C50.42-): the child of the patient's sex, with its
        default and side; ``code`` itself when the sex is unknown or no child names it."""
        kids = self._children.get(code)
        if not kids or sex not in ("male", "female"):
            return code
        word = re.compile(rf"\b{sex}\b", re.I)
        own = [k for k in kids if word.search(self._titles[k])]
        if len(own) != 1:
            return code
        found = self.billable_default(own[0])
        return self._sided(found, side) if side else found

    def _sided(self, code: str, side: str) -> str:
        """The sibling of an unspecified-side default that names ``side``, else ``code`` itself.

        "Primary osteoarthritis of the right hip" reads as M16.1, whose default is M16.10 "...,
        unspecified hip"; the note named the side, so M16.11 "..., right hip". Both sides of a
        "Unilateral ..." code are the category's "Bilateral ..." code.
        """
        title = self._titles[code]
        if side == "bilateral" and "unilateral" in title.lower():
            # "Primary osteoarthritis of both knees": M17.0 "Bilateral primary osteoarthritis of knee",
            # the category's bilateral code, not M17.10 "Unilateral ..., unspecified knee"
            said = _title_words(title) - {"unilateral"}
            for other in self._billable_below(code[:3]):
                other_title = self._titles[other]
                if other_title.lower().startswith("bilateral") and said <= _title_words(other_title):
                    return other
        # any one "unspecified" may be the side's: "Sprain of unspecified ligament of unspecified ankle"
        wanted = {
            _title_key(title[: m.start()] + side + title[m.end() :]) for m in UNSPECIFIED.finditer(title)
        }
        if side == "bilateral":
            # "Otitis media, unspecified, unspecified ear" is "..., bilateral", not "..., bilateral ear"
            # ("Primary open-angle glaucoma, unspecified eye, moderate stage": "..., bilateral, moderate ...")
            wanted |= {
                _title_key(title[: m.start()] + side + title[m.end() :])
                for m in _UNSPECIFIED_ORGAN.finditer(title)
            }
        # "..., unspecified extremity" of an atherosclerosis has its sides as legs ("..., left leg")
        if "unspecified extremity" in title:
            legs = "bilateral legs" if side == "bilateral" else f"{side} leg"
            wanted.add(_title_key(title.replace("unspecified extremity", legs)))
        node: str | None = code
        for _ in range(2):  # L89.601 "... unspecified heel, stage 1" has its right heel in L89.61-
            node = self.catalogue.lookup(node).parent if node else None
            kids = list(self._children.get(node, ())) if node else []
            for near in kids + [k for kid in kids for k in self._children.get(kid, ())]:
                if _title_key(self._titles[near]) in wanted:
                    return near
        # "Deep endometriosis of ovary, unspecified ovary" has its left ovary in "Deep endometriosis of
        # left ovary": the sibling that says the side where the title said "unspecified"
        own = _title_words(title) - {"unspecified"}
        parent = self.catalogue.lookup(code).parent
        for sibling in self._children.get(parent, ()) if parent else ():
            words = _title_words(self._titles[sibling])
            if sibling != code and own <= words and words - own == {side}:
                return self.billable_default(sibling)  # "Lump L breast": N63.2 -> N63.20
        if code == self.billable_default(code[:3]):
            # "Osteoarthritis of the right knee": M17.9 "Osteoarthritis of knee, unspecified" has no side;
            # the category's unilateral default does (M17.10 "Unilateral primary osteoarthritis,
            # unspecified knee" -> M17.11), primary being the default kind of osteoarthritis
            own = _title_words(title) - {"unspecified"}
            for other in self._billable_below(code[:3]):
                words = _title_words(self._titles[other])
                added = words - own
                if other != code and own <= words and "unilateral" in added and added <= _UNILATERAL_DEFAULT:
                    sided = self._sided(other, side)
                    return sided if sided != other else code
        return code

    # ------------------------------------------------------------------ matching

    def mentions(self, note: str, note_index: int = 0) -> list[Mention]:
        """Every code mention found in ``note`` with its assertion (negated ones included)."""
        out: list[Mention] = []
        any_case = note == note.lower()  # "pt w/ htn, t2dm": abbreviations typed in lower case
        for sentence in split_sentences(note, note_index):
            out.extend(self._sentence_mentions(sentence, any_case))
        return out

    def _sentence_mentions(self, sentence: Sentence, any_case: bool = False) -> list[Mention]:
        toks: Sequence[Token] = sentence.tokens
        if not toks:
            return []
        absent = _absent_after([t.norm for t in toks], 2)
        # "non-blanching erythema" names no erythema, but "non-pressure ulcer" is a catalogue name, and
        # "non-CF bronchiectasis" or "non-productive cough" names its condition by a cause or a trait it
        # lacks
        absent |= {
            j
            for i, t in enumerate(toks)
            if "-" in t.raw and t.norm.startswith("non") and t.norm not in self._postings
            for j in ((i,) if _non_qualifies(t.raw) else (i, i + 1))
        }
        # a month that dates something names no condition: "a wrist fracture in March" is no march
        # (stress) fracture
        absent |= {
            i
            for i, t in enumerate(toks)
            if t.norm in _MONTHS
            and (
                (i > 0 and toks[i - 1].norm in _BEFORE_A_DATE)
                or (i + 1 < len(toks) and toks[i + 1].raw.isdigit())
            )
        }
        original = toks
        toks = [t if i not in absent else Token("", t.start, t.end, t.raw) for i, t in enumerate(toks)]
        acc = np.zeros(len(self._texts), dtype=np.float32)
        hits = np.zeros(len(self._texts), dtype=np.int32)
        present = {t.norm for t in toks if t.norm}
        for word in present:
            ids = self._postings.get(word)
            if ids is not None:
                acc[ids] += self._idf[word]
                hits[ids] += 1
        coverage = acc / np.maximum(self._mass, 1e-6)
        # Short wordings must match completely; longer ones may miss one word.
        ok = (hits == self._sizes) | ((self._sizes >= 3) & (hits >= self._sizes - 1) & (coverage >= 0.75))
        candidates = np.nonzero(ok & (hits > 0))[0]
        found: list[Mention] = []
        for idx in candidates:
            text = _CodeText(*self._texts[int(idx)])
            if text.synonym and hits[idx] < self._sizes[idx]:
                continue  # a curated wording is said whole: "type 2 diabetes" is not "... in pregnancy"
            if not _NATURE.intersection(text.required) <= present:
                continue  # "medial malleolus" (an ulcer's site) is not a fracture of it
            if hits[idx] < self._sizes[idx] and _SITE_DISORDER.match(text.text):
                continue  # "red tympanic membrane" names a site: its unspecified disorder must be said
            if hits[idx] < self._sizes[idx] and text.code[0] == "S" and self._unsaid_site(text, present):
                continue  # "puncture wounds over the hand" is no puncture wound of the thigh
            mention = self._locate(sentence, toks, text, float(coverage[idx]), original, any_case)
            if mention is not None and not _names_a_rate(mention, sentence):
                found.append(mention)
        return _most_specific(found)

    def _locate(
        self,
        sentence: Sentence,
        toks: Sequence[Token],
        text: _CodeText,
        coverage: float,
        original: Sequence[Token] = (),
        any_case: bool = False,
    ) -> Mention | None:
        wanted = set(text.required)
        exact = text.exact_case
        positions = [
            i
            for i, t in enumerate(toks)
            if t.norm in wanted
            and (not exact or t.norm not in _lowered(exact) or _says(t.raw, exact, any_case))
        ]
        if len({toks[i].norm for i in positions}) < min(len(wanted), max(1, len(wanted) - 1)):
            return None
        if exact and not any(_says(toks[i].raw, exact, any_case) for i in positions):
            return None
        said = {toks[i].norm for i in positions}
        if len(said) < len(wanted) and _with_clause(text.text) & (wanted - said):
            return None  # the feature after "with" is what sets the code apart: it must be said
        window = _smallest_window(toks, positions, wanted)
        if window is None:
            return None
        lo, hi, matched = window
        if not _numbers_after_nouns(toks, matched, text.required):
            return None
        absent_words = _said_absent(text.text)
        joined = False
        if absent_words and original:
            # "migraine without aura" names the code whose wording says the aura is absent, not the
            # unspecified migraine: the absent words, said just after, join the match
            reach = range(hi + 1, min(len(toks), hi + 2 + 2 * len(absent_words)))
            absent_at = [i for i in reach if not toks[i].norm and original[i].norm in absent_words]
            joined = {original[i].norm for i in absent_at} == absent_words
            if joined:
                matched, hi = sorted({*matched, *absent_at}), max(hi, *absent_at)
        if absent_words and text.synonym and not joined:
            return None  # a curated wording is said whole, its "without ..." too
        between = set(range(lo, hi + 1)) - set(matched)
        extra = sum(1 for i in between if toks[i].norm not in _FILLERS)
        limit = 1 if text.synonym or len(wanted) <= 2 else 2
        if extra > limit:
            return None
        spanned = sentence.text[toks[lo].start - sentence.start : toks[hi].end - sentence.start]
        if text.synonym and extra and "," in spanned:
            return None  # "oral contraceptive, lifestyle advice" is a list of two, not "contraceptive advice"
        quality = coverage * (0.93**extra) * (1.0 if text.synonym else 0.97)
        if self._titles[text.code].startswith("Other "):
            quality *= 0.97  # "other specified" codes are never the default reading
        start, end = toks[lo].start, toks[hi].end
        text_ = sentence.text[start - sentence.start : end - sentence.start]
        # the side may stand just outside the wording: "carpal tunnel syndrome, right", "R heel ulcer"
        after = hi + 1  # "... of the right ear"
        while after < len(toks) - 1 and toks[after].norm in ("of", "the", "in"):
            after += 1
        before = lo - 1
        # "L-sided sciatica", "R posterior canal BPPV": the side before a part of the organ
        while before > 0 and toks[before].norm in _SIDE_PARTS:
            before -= 1
        beside = (_side_of(toks[i].raw) for i in (after, before) if 0 <= i < len(toks))
        side = _side_of(text_) or next((s for s in beside if s), None)
        if side is None and _TITLE_SIDE.search(text.text):
            return None  # "Pain on moving the leg" says no side: not "Pain in left leg"
        return Mention(
            code=text.code,
            note_index=sentence.note_index,
            char_start=start,
            char_end=end,
            text=text_,
            assertion=assertion_of(sentence, start, end),
            quality=quality,
            section=sentence.section,
            matched=frozenset(matched),
            words_at=frozenset(toks[i].start for i in matched),
            sided=frozenset(
                i
                for i in matched
                if toks[i].norm in _SIDE_WORDS
                or (toks[i].norm in _SIDED_ORGANS and i > 0 and toks[i - 1].norm in _SIDE_WORDS)
            ),
            side=side,
            curated=text.synonym,
            complete=len({toks[i].norm for i in positions}) == len(wanted),
        )

    # ------------------------------------------------------------------ dense

    def _embed_cached(self, titles: Sequence[str], texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of catalogue ``titles`` (all kept) and of note ``texts`` (the latest
        :data:`_TEXT_VECTORS` kept, so a long-running service does not keep every note's wording)."""
        assert self.embedder is not None
        wanted = list(dict.fromkeys([*titles, *texts]))
        vectors = {t: v for t in wanted if (v := self._vectors.get(t, self._text_vectors.get(t))) is not None}
        missing = [t for t in wanted if t not in vectors]
        if missing:
            if len(self._text_vectors) + len(missing) > _TEXT_VECTORS:
                self._text_vectors.clear()
            titled = set(titles)
            for t, v in zip(missing, self.embedder.embed(missing), strict=True):
                vectors[t] = v
                (self._vectors if t in titled else self._text_vectors)[t] = v
        return vectors

    def _rerank(self, mentions: list[Mention]) -> list[tuple[Mention, float]]:
        if not mentions or self.embedder is None or self.dense_weight == 0.0:
            return [(m, m.quality) for m in mentions]
        titles = [self._titles[m.code] for m in mentions]
        vectors = self._embed_cached(titles, [m.text for m in mentions])
        out = []
        for m, title in zip(mentions, titles, strict=True):
            cos = float(np.clip(vectors[title] @ vectors[m.text], 0.0, 1.0))
            out.append((m, (1 - self.dense_weight) * m.quality + self.dense_weight * cos))
        return out

    # ------------------------------------------------------------------ predict

    def predict(self, patient: Patient) -> list[CodePrediction]:
        """Codes named or described in the notes and in uncoded problem-list entries, best first.

        A note mention's evidence is its note span; a problem-list entry that
        carries no valid ICD-10-CM code is read as a positive assessment-section
        statement and cited as ``problem`` evidence.
        """
        # an uncoded problem is read as a note line of its own, and cited as the problem once kept
        problems = list(self._uncoded_problems(patient))
        notes = (*patient.notes, *(f"Problem list: {problem}" for problem in problems))
        mentions = [m for i, note in enumerate(notes) for m in self.mentions(note, i)]
        # a baby of months is past the newborn's examination: "4 months 2 weeks old girl ... weight check"
        exam_age: float | None = patient.age
        if exam_age == 0 and any(_INFANT_MONTHS.search(note) for note in patient.notes):
            exam_age = 0.25
            mentions = [replace(m, code="Z00.129") if m.code.startswith("Z00.11") else m for m in mentions]
        # "Bronchiolitis at 6 months" in a 3-year-old's record was then, not now
        mentions = [
            replace(m, assertion="historical")
            if m.assertion == "present" and _at_an_earlier_age(m, notes, patient.age)
            else m
            for m in mentions
        ]
        mentions = [_reread_for_its_code(m, notes) for m in mentions]
        # chapter 15 covers pregnancy, childbirth and the puerperium
        postnatal = bool(patient.postpartum) or any(states_postpartum(note) for note in patient.notes)
        pregnant = patient.pregnant or postnatal or any("pregnan" in note.lower() for note in patient.notes)
        negated = _negated_codes(mentions)
        kept = [
            m
            for m in mentions
            if m.assertion not in ("negated", "hypothetical")
            and not (m.assertion == "uncertain" and _ruled_out_later(m, notes))
            # "?PE ... Imp: panic disorder. PE and ACS excluded": a negated mention in the same note rules
            # it out, before it or after ("?epididymo-orchitis - unlikely ... differentials
            # epididymo-orchitis / torsion of appendix testis")
            and not (m.assertion == "uncertain" and (m.note_index, m.code) in negated)
            and (pregnant or not m.code.startswith("O") or _OBSTETRIC.search(m.text) is not None)
            # "HIV test result: positive" is no pregnancy test: the test's name must be said
            and (not m.code.startswith("Z32") or _PREGNANCY_TEST.search(m.text) is not None)
            # a pregnancy test is a visit's reason only where the note opens with it: not a known
            # pregnancy's, nor the monthly one of a pregnancy prevention programme or a plan's
            and not (m.code.startswith("Z32.0") and (bool(patient.pregnant) or not _opens_the_note(m)))
            and not _names_a_scale(m, notes)
            and not _names_room_air(m, notes)
            and not _names_another_sense(m, notes)
            and not _names_an_examination(m, notes)
            and not _names_a_test(m, notes)
            and not _names_a_vaccine(m, notes)
            and not _names_a_sign(m, notes)
            and not _names_skin_care(m, notes)
            and not _a_childs(m, notes, patient.age)
            and not _about_the_other_sex(m, notes, patient.sex)
            and not _not_the_patients_now(m, notes)
            and not _done_away_with(m, notes)
            and not _names_a_procedure_to_come(m, notes)
            and not _names_a_status(m, notes)
            and not _names_falling_asleep(m, notes)
            and not _of_an_earlier_pregnancy(m, notes)
            and not _weeks_at_birth(m, notes)
            and not _periarticular(m, notes)
            and not _joint_code_of_no_joint(m, notes)
            # "pain radiating below the knee" is a sciatica's, not the knee's
            and not (m.code.startswith(("M25.5", "M79.6")) and _RADIATING.search(m.text))
            and not _names_no_pregnancy(m, notes, patient.pregnant)
            and not (m.code.startswith(_SUBSTANCE_USE) and m.text.strip().lower() in _SUBSTANCES)
            # a young child's note names the family's smoking or drinking, never the child's
            and not (m.code.startswith(_SUBSTANCE_USE) and patient.age is not None and patient.age < 10)
            # "confident with CBG monitoring and hypo management": what the family was taught
            and not (_HYPOGLYCAEMIA.match(m.code) is not None and _followed_by(m, notes, _TAUGHT_AFTER))
            # "asks for an EEG and a brain scan": a test, not its abnormal result (R83-R94 "Abnormal ..."); a
            # curated wording names the result ("ASC-US")
            and not (
                _ABNORMAL_RESULT.match(m.code) is not None
                and not m.curated
                and _ABNORMAL_WORD.search(m.text) is None
            )
            # "living-donor graft": the donor is someone else; "well-healed scar" of an excision
            and not (m.code.startswith("Z52") and _preceded_by(m, notes, _LIVING_BEFORE, 12))
            and not (m.code.startswith("L90.5") and _preceded_by(m, notes, _HEALED_BEFORE, 25))
            # "VTE: LMWH + stockings" is a plan's prophylaxis
            and not (m.text.upper() == "VTE" and _followed_by(m, notes, _PROPHYLAXIS_AFTER))
            # "smokes cannabis now and then" is no tobacco smoking
            and not (m.code.startswith("F17") and _followed_by(m, notes, _OTHER_SMOKE))
            # "can't smell smoke", "fit smoke alarms": the noun, not someone who smokes
            and not (
                m.code.startswith("F17")
                and m.text.strip().lower() == "smoke"
                and not _preceded_by(m, notes, _SMOKER_BEFORE, 25)
            )
            # pregnancy is never a man's or a child's: a newborn's note speaks of its mother's diabetes
            and not (
                m.code.startswith("O")
                and (patient.sex == "male" or (patient.age is not None and patient.age < 9))
            )
            # "Baby: mild jaundice day 4" in a mother's note is her baby's
            and not (m.section in _BABY_SECTIONS and (pregnant if patient.age is None else patient.age >= 12))
            # "her sisters are twins, born at 35 weeks": an adult's record names others' prematurity
            and not (
                m.code.startswith(("P05", "P07", "P08")) and patient.age is not None and patient.age >= 18
            )
            # "screening" alone says nothing of what is screened for; "place of death" is no cause of one
            and m.code not in ("Z13.9", "R99")
            and not (
                m.code.startswith(("Z11", "Z12", "Z13"))
                and (
                    _followed_by(m, notes, _SCREENING_RESULT_AFTER)
                    or _preceded_by(m, notes, _FOUND_BY_BEFORE)
                )
            )
            and not _exam_of_another_age(m.code, exam_age)
            and not (
                m.code.startswith(("M15", "M16", "M17", "M19"))
                and _preceded_by(m, notes, _REPLACED_FOR_BEFORE)
            )
            # "8-week immunisations given 6 days ago", "immunisations up to date": no visit for one
            and not (m.code == "Z23" and _followed_by(m, notes, _GIVEN_AFTER))
            and not _bare_word(m)
            # "Weight gain along the 75th centile": a baby growing as expected
            and not (m.code == "R63.5" and _followed_by(m, notes, _ON_CENTILE_AFTER))
            # "pressure areas" name no pressure ulcer
            and not (m.code.startswith("L89") and "area" in m.text.lower())
            # "steroid-sparing agent": a drug's purpose, no steroid taken
            and not _followed_by(m, notes, _SPARING_AFTER)
            # "raised BP found at a work health check": an examination before this visit
            and not (m.code.startswith("Z00") and _preceded_by(m, notes, _AT_AN_EXAM_BEFORE, 30))
        ]
        # "BASAL CELL CARCINOMA, left cheek" is a skin cancer of the cheek (C44.319), not a cancer of the
        # ill-defined "head, face and neck" (C76.0) read from "CARCINOMA, left cheek"
        skin = {(m.note_index, _sentence_around(m, notes)) for m in kept if m.code.startswith(_SKIN_CANCERS)}
        kept = [
            m
            for m in kept
            if not (m.code.startswith("C76") and (m.note_index, _sentence_around(m, notes)) in skin)
        ]
        if any(m.code.startswith(_ULCERS) for m in kept):
            kept = [m for m in kept if not (m.code.startswith("T14") and "wound" in m.text.lower())]
        first_problem = len(patient.notes)
        kept = [
            replace(m, note_index=None, text=problems[m.note_index - first_problem])
            if m.note_index is not None and m.note_index >= first_problem
            else m
            for m in kept
        ]
        scored: dict[str, list[tuple[Mention, float]]] = defaultdict(list)
        # a newborn's note, not a mother's postnatal note about her newborn
        newborn = patient.age in (None, 0) and not postnatal
        newborn = newborn and any(_NEWBORN.search(note) for note in patient.notes)
        newborn = newborn and not any(_INFANT_MONTHS.search(note) for note in patient.notes)
        for mention, quality in self._rerank(kept):
            code = self._resolve(mention)
            if code is None:
                continue
            if newborn:
                code = self._in_newborn(code)
            code = self._of_sex(code, patient.sex, mention.side)
            if code.startswith("N97") and patient.sex == "male" and "N46.9" in self._titles:
                code = "N46.9"  # "primary infertility" in a man's record
            if code == "B20" and _hiv_asymptomatic(mention, patient.notes) and "Z21" in self._titles:
                code = "Z21"  # ICD-10-CM I.C.1.a.2.d: HIV infection without symptoms is the status code
            code = _with_hyperglycemia(code, mention, patient.notes, self._titles)
            code = _as_use_disorder(code, mention, patient.notes, self._titles)
            code = self._narrower(code, mention, patient.notes)
            code = self._skin_site(code, mention, patient.notes)
            code = _course_said(code, mention, patient.notes, self._titles)
            if code.startswith("F17.2") and _EX_SMOKER.search(_sentence_around(mention, patient.notes)):
                code = "Z87.891"  # "Ex-smoker: stopped when pregnant (had smoked 10/day)"
            code = self._prosthesis_joint(code, mention, patient.notes)
            if _of_the_other_sex(code, patient.sex):
                continue  # a woman's "clitoral hood phimosis"
            weight = _ASSERTION_WEIGHT[mention.assertion]
            if _ASSESSMENT_SECTION.match(mention.section):
                weight *= 1.1
            if code.startswith("R"):
                weight *= 0.8  # symptoms rank below the diagnoses that explain them
            scored[code].append((mention, min(1.0, quality * weight)))
        preds = []
        best_of: dict[str, Mention] = {}
        for code, items in scored.items():
            best_of[code], best = max(items, key=lambda x: x[1])
            spans = {(m.note_index, m.char_start, m.text) for m, _ in items}
            score = min(0.99, best * 0.9 + 0.05 * min(len(spans) - 1, 2))
            if score < self.min_score:
                continue
            evidence = tuple(
                dict.fromkeys(
                    Evidence("note", m.text, m.note_index, m.char_start, m.char_end)
                    if m.note_index is not None
                    else Evidence("problem", m.text)
                    for m, _ in sorted(items, key=lambda x: -x[1])
                )
            )
            preds.append(
                CodePrediction(code, self._titles[code], round(score, 4), self.name, True, evidence[:5])
            )
        # One mention is one diagnosis: codes of one category read from mostly the same words ("lumbar
        # spondylosis" matched five site codes; "24 weeks gestation, smoker 10" Z3A.24 and Z3A.10)
        # leave only the best, the category default on a tie. Sharing a head word is no such overlap:
        # "stage 2 sacral pressure ulcer, stage 1 pressure injury R heel" names two ulcers.
        preds_before = preds
        taken_words: dict[tuple[str, object], list[tuple[int, int, frozenset[int], str]]] = defaultdict(list)
        unique: list[CodePrediction] = []
        held: set[str] = set()  # codes read from words that a longer reading of their category holds
        for p in sorted(preds, key=lambda q: (-q.score, not is_default_title(q.title), q.code)):
            read = best_of[p.code]
            # a problem-list entry's offsets are those of its own text
            place = read.note_index if read.note_index is not None else f"problem: {read.text}"
            start, end, words = read.char_start, read.char_end, read.words_at
            taken = taken_words[(self._block_of(p.code), place)]
            holds = [
                code
                for a, b, w, code in taken
                if start <= a and b <= end and (a, b) != (start, end) and 2 * len(words & w) >= len(w)
            ]
            if any(
                2 * len(words & w) >= len(words)
                and not w < words
                and not (start <= a and b <= end and (a, b) != (start, end))
                for a, b, w, _ in taken
            ):
                continue  # the words of a code already read; a wording that holds them and more stays
            # ... and the shorter reading goes: "Primary osteoarthritis of the right hip" is M16.11 alone,
            # not M16.11 and M16.9 "Osteoarthritis of hip, unspecified" read from its last four words
            held.update(holds)
            taken.append((start, end, words, p.code))
            unique.append(p)
        preds = []
        for p in unique:
            if p.code not in held:
                p = _sided(p, preds_before, unique, best_of)
                if all(q.code != p.code for q in preds):
                    preds.append(p)
        out = rank(preds)[: self.max_codes]
        return [p if self.catalogue.lookup(p.code).billable else _as_parent(p) for p in out]

    def _uncoded_problems(self, patient: Patient) -> list[str]:
        """Active problem-list entries that carry no valid ICD-10-CM code of their own."""
        out = []
        for problem in patient.problems:
            if problem.active and problem.display.strip() and recorded_code(problem, self.catalogue) is None:
                out.append(problem.display.strip())
        return list(dict.fromkeys(out))

    def _narrower(self, code: str, mention: Mention, notes: Sequence[str]) -> str:
        """For an unspecified code (:func:`is_default_title`), a billable code of the same subcategory
        whose title adds one or two words (and a side) that are all said next to the mention (within 40
        characters, in its sentence or problem-list entry, none right after "no" or "without") and
        drops none that are: the one adding the most, none on a tie. "DVT of the left
        femoral vein" is I82.412, acute thrombosis of the left femoral vein, not the DVT default
        I82.409."""
        if len(code) < 5 or code[3] != "." or not is_default_title(self._titles[code]):
            return code
        around = _sentence_around(mention, notes, reach=40)
        said = _affirmed_words(around)
        if code.startswith(_SECONDARY_NEOPLASMS):
            # "metastatic breast cancer" spreads from the breast: the site of its primary is not a
            # secondary's
            said -= {normalise_token(site) for site in _PRIMARY_SITE.findall(around)}
        own = _title_words(self._titles[code])
        # what the default leaves unspecified ("..., unspecified control") may be said ("good control")
        unsaid = frozenset().union(*(_title_words(w) for w in _UNSPECIFIED_WHAT.findall(self._titles[code])))
        best, most, tie = code, 0, False
        # the subcategory (I82.4 for I82.409), or the category for a code right below it (J44 for J44.9)
        category = _title_words(self._titles.get(code[:3], ""))
        for other in self._billable_below(code[:5] if len(code) > 5 else code[:3]):
            words = _title_words(self._titles[other])
            added = words - own
            if self._titles[other].startswith("Other ") and added <= category:
                # a residual class adding only the category's name: "depressive episode" is no "Other
                # specified depressive episodes" (but "seasonal" makes "Other seasonal allergic rhinitis")
                continue
            # a sibling that trades a word said next to the mention ("stage 2" for "stage 1") is no narrower;
            # a side alone is the side rule's (_sided)
            # numbers ("class 4", "stage 2") are left to the wordings that say them next to their noun
            if not 0 < len(added - _SIDE_WORDS) <= 2 or not all(w.isalpha() for w in added):
                continue
            if not added <= said or (own - words - unsaid) & said:
                continue
            if len(added) > most:
                best, most, tie = other, len(added), False
            elif len(added) == most:
                tie = True
        return code if tie else best

    def _skin_site(self, code: str, mention: Mention, notes: Sequence[str]) -> str:
        """A skin cancer of no stated site (C44.9-, C43.9, D04.9) whose sentence names one: "basal cell
        carcinoma, left cheek" is C44.319 (other parts of face), "melanoma R forearm" C43.61; the side,
        and the nose among the face's parts, pick the code below the site's."""
        morphology = {"C44.90": "0", "C44.91": "1", "C44.92": "2", "C44.99": "9"}
        if code not in (*morphology, "C43.9", "D04.9"):
            return code
        said = set(WORD.findall(_sentence_around(mention, notes, reach=60).lower()))
        site = next((digit for digit, words in _SKIN_SITES if said & words), None)
        if site is None:
            return code
        head = f"C44.{site}{morphology[code]}" if code.startswith("C44") else f"{code[:4]}{site}"
        below = self._billable_below(head)
        if not below:
            return code
        side = mention.side or next(
            (
                full
                for full, short in (("right", {"right", "r", "rt"}), ("left", {"left", "l", "lt"}))
                if said & short
            ),
            None,
        )

        def fits(other: str) -> int:
            title = self._titles[other].lower()
            return (
                2 * (side is not None and side in title)
                + 2 * ("nose" in said and "nose" in title)
                + ("other part" in title and "nose" not in said)
                + ("unspecified" in title and side is None)
            )

        return max(below, key=lambda other: (fits(other), other == below[0]))

    def _prosthesis_joint(self, code: str, mention: Mention, notes: Sequence[str]) -> str:
        """An infected joint prosthesis of no stated joint (T84.50-) whose sentence names a knee or hip
        replacement and its side: "prosthetic joint infection R TKA" is T84.53XA, the right knee's."""
        if not code.startswith("T84.50"):
            return code
        around = _sentence_around(mention, notes, reach=60)
        joint = _JOINT_REPLACED.search(around)
        side = mention.side or _side_of(around)
        if joint is None or side not in ("right", "left"):
            return code
        knee = joint.group(0).lower().startswith(("knee", "tk"))
        sited = f"T84.5{(3 if side == 'right' else 4) if knee else (1 if side == 'right' else 2)}{code[6:]}"
        return sited if sited in self._titles else code

    def _unsaid_site(self, text: _CodeText, present: set[str]) -> bool:
        """True when the word an injury's wording misses is one of the body sites injuries are named by."""
        return any(w in self._injury_sites for w in text.required if w not in present)

    def _block_of(self, code: str) -> str:
        """The catalogue block of a disease code ("A50-A64"); the category of an injury, a health-status
        code (a Z block gathers unrelated statuses: long-term drug therapy, oxygen dependence) or a code
        in no block."""
        if code[0] in "STZ":
            return code[:3]
        return self.catalogue.lookup(code).block or code[:3]

    def _billable_below(self, head: str) -> list[str]:
        """The billable codes whose code starts with ``head``, found by bisection in the sorted list of
        every billable code (built at the first call)."""
        if self._billable is None:
            self._billable = sorted(c for c in self._titles if not self._children.get(c))
        start = bisect_left(self._billable, head)
        end = bisect_left(self._billable, head + "\uffff", start)
        return self._billable[start:end]

    def _in_newborn(self, code: str) -> str:
        """The perinatal code (chapter 16) that the code's Excludes1 note names for a newborn with the
        same condition: "respiratory distress syndrome" in a neonatal unit is P22.0, not ARDS (J80);
        sepsis is P36.9. Left as it is when the note names a narrower condition than the code ("neonatal
        aspiration pneumonia" under J18.9) or several ("newborn vomiting" and "neonatal hematemesis")."""
        try:
            chain = [code, *self.catalogue.ancestors(code)]
        except CatalogueError:
            return code
        titles = [self._titles[c] for c in chain if c in self._titles]
        said = {w for title in titles for w in _required_words(title)}
        found: list[str] = []
        for node in chain:
            if node not in self._titles:
                continue
            for item in self.catalogue.lookup(node).excludes1:
                words = set(_required_words(_PAREN.sub(" ", item))) - _NEWBORN_WORDS
                if not _NEWBORN_ITEM.search(item) or not words <= said:
                    continue
                refs = _PERINATAL_REF.findall(item)
                if len(refs) == 1:
                    found.append(refs[0])
                elif titled := self._titled(_PAREN.sub(" ", item).strip()):
                    # "neonatal jaundice (P55, P57-P59)": P59.9 "Neonatal jaundice, unspecified"
                    found.append(titled)
        if len(set(found)) != 1:
            return code
        target = found[0]
        return self.billable_default(target) if target in self._titles else code

    def _titled(self, name: str) -> str:
        """The perinatal code whose default title is ``name`` ("Neonatal jaundice, unspecified" for
        "neonatal jaundice"), or ""."""
        key = name.lower()
        return next(
            (
                code
                for code, title in self._titles.items()
                if code.startswith("P") and title.lower().startswith(key + ",") and is_default_title(title)
            ),
            "",
        )

    def _resolve(self, mention: Mention) -> str | None:
        """The code a mention stands for once its assertion is taken into account."""
        code = self.billable_default(mention.code)
        if mention.side:
            code = self._sided(code, mention.side)
            other = {"right": "left", "left": "right"}.get(mention.side)
            # the title's own words, also after a "without" ("..., without rupture of ear drum, right ear")
            words = set(re.findall(r"[a-z]+", self._titles.get(code, "").lower()))
            if other in words and mention.side not in words:
                return None  # "Cellulitis L lower leg" is no cellulitis of the right lower limb
        if mention.assertion == "historical":
            if code[0] in "ST":
                # a past injury is no initial encounter ("after a back injury in 2021"); a past fracture
                # is a healed one ("a wrist fracture in March")
                healed = "Z87.81" if "fracture" in self._titles.get(code, "").lower() else None
                if _SELF_HARM.match(code):
                    healed = "Z91.51"  # "Admitted after an intentional overdose": a history of self-harm
                return healed if healed in self._titles else None
            if code.startswith(DIABETES_CATEGORIES) and (code[4:5] in ("0", "1") or code[4:6] == "64"):
                # a past ketoacidosis, hyperosmolar state or hypoglycaemia ("one DKA admission in
                # March") is an episode over; the diabetes stays
                return code[:3] + ".9"
            over = _lookup_prefix(_CRISIS_OVER, code)
            if over is not None:
                return over  # "acute chest syndrome 8 months ago": the sickle-cell disease stays
            if code.startswith(("Z11", "Z12", "Z13")):
                return None  # "Cervical screening 2024 HPV negative": a past screening, no visit for one
            if code.startswith(_EPISODE_OVER) or (
                code.startswith("J32") and "chronic" not in mention.text.lower()
            ):
                return None  # "recently finished amoxicillin for sinusitis": an infection treated and over
            mapped = personal_history_code(code)
            return mapped if mapped in self._titles else code
        if mention.assertion == "family":
            mapped = _lookup_prefix(FAMILY_HISTORY_CODES, code)
            return mapped if mapped in self._titles else None
        return code


_UNSPECIFIED_WHAT = re.compile(r"\bunspecified ([a-z]+)\b", re.I)
_ASYMPTOMATIC = re.compile(r"\basymptomatic\b", re.I)


def _sentence_around(mention: Mention, notes: Sequence[str], reach: int | None = None) -> str:
    """The sentence of a mention (its problem-list entry for one), or only the part of it within
    ``reach`` characters either side of the mention."""
    note = _note_of(mention, notes)
    if note is None:
        return mention.text
    for start, end in sentence_spans(note):
        if start <= mention.char_start < end:
            if reach is None:
                return note[start:end]
            return note[max(start, mention.char_start - reach) : min(end, mention.char_end + reach)]
    return mention.text


@lru_cache(maxsize=256)
def sentence_spans(note: str) -> tuple[tuple[int, int], ...]:
    """Where a note's sentences start and end (:func:`split_sentences`), read once for all its mentions."""
    return tuple((sentence.start, sentence.end) for sentence in split_sentences(note))


def _says_asymptomatic(mention: Mention, notes: Sequence[str]) -> bool:
    """True when the sentence (or problem-list entry) of a mention calls the condition asymptomatic:
    "HIV-1 infection, newly diagnosed, asymptomatic" is, "HIV-1 infection with oral thrush.
    Asymptomatic bacteriuria." is not."""
    return _ASYMPTOMATIC.search(_sentence_around(mention, notes)) is not None


_HIV_SYMPTOMS_NONE = re.compile(
    r"\bHIV\b[^.\n]*\basymptomatic\b(?!\s+bacteriuria)|\basymptomatic\s+HIV\b"
    r"|\bno\s+(?:AIDS-defining illness(?:es)?\s+or\s+)?HIV-related symptoms\b"
    # "Never had an AIDS-defining or HIV-related illness, no OIs"
    r"|\bnever had an?\s+(?:AIDS-defining|HIV-related)\b",
    re.I,
)


def _hiv_asymptomatic(mention: Mention, notes: Sequence[str]) -> bool:
    """True when the mention's sentence calls the HIV infection asymptomatic, or another sentence of its
    note does: "He has never had an AIDS-defining illness or any HIV-related opportunistic infection and
    has remained asymptomatic".

    Example:
        >>> m = Mention("B20", 0, 0, 3, "HIV", "present", 1.0, "", frozenset())
        >>> _hiv_asymptomatic(m, ["HIV review. No HIV-related infection; remained asymptomatic."])
        True
        >>> _hiv_asymptomatic(m, ["HIV review. Asymptomatic bacteriuria."])
        False
    """
    note = _note_of(mention, notes)
    return _says_asymptomatic(mention, notes) or (
        note is not None and _HIV_SYMPTOMS_NONE.search(note) is not None
    )


@lru_cache(maxsize=1 << 14)
def _title_words(title: str) -> frozenset[str]:
    """A title's words that say what it is: not its nonessential (parenthesized) modifiers, nor what
    it says is absent ("without esophagitis")."""
    return frozenset(_required_words(title))


def _absent_after(words: Sequence[str], reach: int) -> set[int]:
    """The positions of the ``reach`` words after each word of absence ("no", "without", "denies")."""
    return {j for i, word in enumerate(words) if word in _ABSENCE for j in range(i + 1, i + 1 + reach)}


def _affirmed_words(text: str) -> frozenset[str]:
    """The words of ``text`` but the words of absence and the three words after each, and a counted
    episode: "2 exacerbations last year" says no exacerbation now.

    Example:
        >>> sorted(_affirmed_words("COPD, 2 exacerbations last year"))
        ['2', 'copd', 'last', 'year']
        >>> "exacerbation" in _affirmed_words("COPD with acute exacerbation")
        True
    """
    raws = WORD.findall(text)
    words = [normalise_token(raw) for raw in raws]
    absent = _absent_after(words, 3)
    counted = {
        i
        for i in range(1, len(words))
        if words[i - 1] in _COUNTS or (words[i - 1].isdigit() and raws[i].lower().endswith("s"))
    }
    return frozenset(
        w for i, w in enumerate(words) if i not in absent and i not in counted and w not in _ABSENCE
    )


_COUNTS = frozenset(
    {"one", "two", "three", "four", "five", "six", "several", "multiple", "frequent", "recurrent", "previous"}
)


_POOR_CONTROL = re.compile(
    r"\b(?:poorly|inadequately|sub-?optimally|not well|badly)[ -]controlled\b|\buncontrolled\b|"
    r"\bout of control\b",
    re.I,
)
DIABETES_CATEGORIES = ("E08", "E09", "E10", "E11", "E13")
"""The ICD-10-CM categories of diabetes mellitus, by type."""


def _with_hyperglycemia(code: str, mention: Mention, notes: Sequence[str], titles: Mapping[str, str]) -> str:
    """A diabetes code without complications read as its "with hyperglycemia" code (E11.9 -> E11.65)
    when the words next to the mention say the diabetes is poorly, inadequately or not controlled:
    the ICD-10-CM index codes "Diabetes, inadequately controlled / out of control / poorly
    controlled" to "Diabetes, by type, with hyperglycemia"."""
    if not code.startswith(DIABETES_CATEGORIES) or not code.endswith(".9"):
        return code
    controlled = f"{code[:3]}.65"
    if controlled in titles and _POOR_CONTROL.search(_sentence_around(mention, notes, reach=40)):
        return controlled
    return code


_USE_DISORDER = re.compile(r"\buse disorders?\b", re.I)
_MILD = re.compile(r"\bmild\b", re.I)


def _as_use_disorder(code: str, mention: Mention, notes: Sequence[str], titles: Mapping[str, str]) -> str:
    """A substance "use, unspecified" code (F1x.9-) read from a "use disorder" as the disorder's code:
    dependence (F1x.2-, a moderate or severe use disorder), or abuse (F1x.1-) for a mild one said next
    to it. "Opioid use disorder with withdrawal" is F11.23 "Opioid dependence with withdrawal", not
    F11.93 "Opioid use, unspecified with withdrawal": the use codes are for use that is no disorder
    (ICD-10-CM I.C.5.b.3); the catalogue lists "Opioid use disorder, mild" under F11.10 and
    "..., moderate" and "..., severe" under F11.20."""
    if not re.match(r"F1\d\.9", code) or not _USE_DISORDER.search(mention.text):
        return code
    mild = _MILD.search(_sentence_around(mention, notes, reach=40)) is not None
    kind, word = ("1", "abuse") if mild else ("2", "dependence")
    disorder = f"{code[:4]}{kind}{code[5:]}"
    return disorder if word in titles.get(disorder, "").lower() else code


UNSPECIFIED = re.compile(r"\bunspecified\b", re.I)
"""The word "unspecified" in a catalogue title."""

_DEFAULT_TITLES = (
    re.compile(r"without complications|uncomplicated", re.I),
    re.compile(r"(, unspecified|unspecified [a-z ]*)$|^unspecified", re.I),
    UNSPECIFIED,
    # "without ..." and, where intractability is not said, "not intractable" (ICD-10-CM I.C.6.b.2)
    re.compile(r"\bwithout\b|\bnot intractable\b", re.I),
)


def is_default_title(title: str) -> bool:
    """True for a "without complications" or "..., unspecified" title: the default code of its category.

    Example:
        >>> is_default_title("Type 2 diabetes mellitus without complications"), is_default_title("Gout")
        (True, False)
    """
    return any(pattern.search(title) for pattern in _DEFAULT_TITLES[:2])


# a with/without clause runs to the next comma, or over a list to its last item ("without behavioral
# disturbance, psychotic disturbance, mood disturbance, and anxiety")
_WITH_CLAUSE = re.compile(
    r"\bwith(?:out)?\b(?:[^,]*(?:,[^,]*)*?,\s*(?:and|or)\s+.*?|.*?)(?=,|\bwith(?:out)?\b|$)", re.I
)
_WITHOUT_TAIL = re.compile(r"\bwithout\s+(.+?)\s*(?=\bwith(?:out)?\b|$)", re.I)
_LIST_SEPARATOR = re.compile(r"\s*(?:,\s*and\s+|,\s*or\s+|,\s*|\s+and\s+|\s+or\s+)\s*", re.I)


def _condition_stem(title: str) -> str:
    """The title without its with/without clauses, "unspecified", punctuation and case."""
    words = re.sub(r"[^\w\s]", " ", _WITH_CLAUSE.sub(" ", title)).lower().split()
    return " ".join(w for w in words if w != "unspecified")


def contradicts(without: str, with_: str) -> bool:
    """Whether title ``with_`` states a feature that title ``without`` says is absent, same condition.

    Example:
        >>> contradicts("Benign prostatic hyperplasia without lower urinary tract symptoms",
        ...             "Benign prostatic hyperplasia with lower urinary tract symptoms")
        True
        >>> contradicts("Unspecified dementia, mild, without behavioral disturbance, psychotic disturbance, "
        ...             "mood disturbance, and anxiety", "Unspecified dementia, mild, with anxiety")
        True
        >>> contradicts("Diverticulosis of large intestine without perforation or abscess without bleeding",
        ...             "Diverticulitis of large intestine without perforation or abscess with bleeding")
        False
    """
    if _condition_stem(without) != _condition_stem(with_):
        return False
    absent = [
        item
        for m in _WITHOUT_TAIL.finditer(without)
        for item in _LIST_SEPARATOR.split(m.group(1).strip(" ,"))
        if item and not item.lower().startswith(("not ", "unspecified"))
    ]
    return any(
        re.search(rf"\bwith\s+(?:\(?\w+\)?\s+){{0,2}}{re.escape(item)}\b", with_, re.I) for item in absent
    )


def _default_rank(title: str) -> int:
    """How well a child title reads as its parent's default code (lower is better)."""
    if re.search(r"with unspecified complications", title, re.I):
        return len(_DEFAULT_TITLES)
    return next((i for i, pat in enumerate(_DEFAULT_TITLES) if pat.search(title)), len(_DEFAULT_TITLES))


def _plainness(title: str) -> tuple[bool, bool, int, int, int]:
    """How plainly a child title reads as its parent's default (lower is plainer): a default wording
    at all, then no complication stated ("Chronic or unspecified duodenal ulcer with hemorrhage" is
    not plain, nor is "..., intractable"), the kind of default wording, more "unspecified" ("...
    unspecified ligament of unspecified ankle", not the shorter "... of left ankle"), then the shorter
    title."""
    rank = _default_rank(title)
    return (
        rank >= len(_DEFAULT_TITLES),
        WITH_FEATURE.search(title) is not None or _INTRACTABLE.search(title) is not None,
        rank,
        -len(UNSPECIFIED.findall(title)),
        len(title),
    )


def _sided(
    kept: CodePrediction,
    preds: Sequence[CodePrediction],
    unique: Sequence[CodePrediction],
    best_of: Mapping[str, Mention],
) -> CodePrediction:
    """A code of no stated side whose words overlap a reading of its sided sibling that was set aside
    gives way to it: "R frozen shoulder (adhesive capsulitis)" read as M75.00 from "shoulder (adhesive
    capsulitis" and as M75.01 from "R frozen shoulder" is M75.01."""
    if "unspecified" not in kept.title.lower() or len(kept.code) < 6:
        return kept
    read = best_of[kept.code]
    for other in preds:
        if (
            other.code[:-1] == kept.code[:-1]
            and other.code != kept.code
            and other not in unique
            and _SIDED_TITLE.search(other.title) is not None
        ):
            theirs = best_of[other.code]
            if (
                theirs.note_index == read.note_index
                and theirs.char_start < read.char_end
                and read.char_start < theirs.char_end
            ):
                return replace(
                    other, score=max(other.score, kept.score), evidence=(*other.evidence, *kept.evidence)[:5]
                )
    return kept


_SIDED_TITLE = re.compile(r"\b(?:right|left|bilateral)\b", re.I)


def _as_parent(pred: CodePrediction) -> CodePrediction:
    return replace(pred, billable=False)


_INTRACTABLE = re.compile(r"(?<!not )\bintractable\b", re.I)  # a stated feature, like "with ..."
WITH_FEATURE = re.compile(r"\bwith\b(?! unspecified)", re.I)
"""A title's "with" that states a feature ("with hemorrhage"; not "with unspecified ...")."""
_SIDE_WORDS = frozenset({"right", "left", "bilateral", "r", "l", "rt", "lt"})
# a catalogue title that names a side: "Pain in left leg", "..., right ear"
_TITLE_SIDE = re.compile(r"\b(?:right|left|bilateral)\b", re.I)
# ("Left ovarian endometrioma": the side of the organ an adjective names)
_SIDE_PARTS = frozenset(
    {"sided", "posterior", "anterior", "horizontal", "superior", "lateral", "canal", "ovarian", "tubal",
     "adnexal", "testicular", "renal", "ureteric"}
)  # fmt: skip
# the organ of a side in a catalogue title ("..., left ear", "..., right eye"): with its side, no feature
_SIDED_ORGANS = frozenset({"ear", "eye"})
_UNILATERAL_DEFAULT = frozenset({"unilateral", "primary"})
_UNSPECIFIED_ORGAN = re.compile(r"\bunspecified (?:ear|eye)\b", re.I)
_SIDES = (
    (re.compile(r"\b(?:[Bb]ilateral|BILATERAL|[Bb]oth)\b"), "bilateral"),
    (re.compile(r"\b(?:[Rr]ight|RIGHT|[Rr]t|R)\b"), "right"),
    (re.compile(r"\b(?:[Ll]eft|LEFT|[Ll]t|L)\b"), "left"),
)


def _side_of(text: str) -> str | None:
    """The one side a mention names ("right", "left", "bilateral"), None for none or both.

    Example:
        >>> _side_of("osteoarthritis of the right hip"), _side_of("R heel"), _side_of("left and right knee")
        ('right', 'right', None)
    """
    sides = {side for pattern, side in _SIDES if pattern.search(text)}
    return sides.pop() if len(sides) == 1 else None


def _title_key(title: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


_COUNTED = frozenset({"stage", "category", "grade", "type", "class"})


def _numbers_after_nouns(toks: Sequence[Token], matched: Sequence[int], required: Sequence[str]) -> bool:
    """True unless a number the wording says after its noun ("stage 4", "type 2", "class 3") is read
    from a number said elsewhere while the sentence says such a noun: "category 3 pressure ulcer on the
    sacrum 4 x 3 cm" is no stage 4 ulcer ("CKD 5 on haemodialysis", saying none, is stage 5)."""
    if not any(t.norm in _COUNTED for t in toks):
        return True
    for i in matched:
        word = toks[i].norm
        k = required.index(word) if word in required else -1
        counted = k > 0 and word.isdigit() and required[k - 1] in _COUNTED
        if counted and (i == 0 or toks[i - 1].norm not in _COUNTED):
            return False
    return True


def _lowered(words: frozenset[str]) -> set[str]:
    return {normalise_token(w) for w in words}


def _smallest_window(
    toks: Sequence[Token], positions: list[int], wanted: set[str]
) -> tuple[int, int, list[int]] | None:
    """Smallest token window holding one occurrence of every distinct matched word."""
    need = {toks[i].norm for i in positions}
    best: tuple[int, int, list[int]] | None = None
    for a, i in enumerate(positions):
        seen: dict[str, int] = {}
        for j in positions[a:]:
            seen.setdefault(toks[j].norm, j)
            if len(seen) == len(need):
                if best is None or j - i < best[1] - best[0]:
                    best = (i, j, sorted(seen.values()))
                break
    return best


def _side_beyond(m: Mention, o: Mention) -> bool:
    """True when ``m``, a catalogue wording short of a word, reaches beyond the curated wording ``o``
    said in full by a side alone: "Acute otitis media, left ear" is acute otitis media on the left, not
    H65.02 "Acute serous otitis media, left ear" without its "serous"."""
    return (
        not m.complete
        and o.complete
        and o.curated
        and o.matched < m.matched
        and m.matched - o.matched <= m.sided
    )


_RATE_AFTER = re.compile(r"\s*(?:rate|response)\b", re.I)


def _names_a_rate(mention: Mention, sentence: Sentence) -> bool:
    """True when a two-word wording read across a comma ends in a rate's name: "fibrillation,
    ventricular" in "Atrial fibrillation, ventricular rate 118" is the atrial fibrillation's rate, not
    ventricular fibrillation."""
    return (
        "," in mention.text
        and len(mention.words_at) == 2
        and _RATE_AFTER.match(sentence.text, mention.char_end - sentence.start) is not None
    )


def _most_specific(mentions: list[Mention]) -> list[Mention]:
    """Drop mentions covered by another in the same sentence.

    A mention goes when its matched words are a strict subset of another's,
    or the same words as a curated synonym's or as a wording matched in full
    ("type 2 diabetes mellitus" is E11.9, not "... with other specified
    complications" short of one word).
    """
    out = []
    for m in mentions:
        if any(
            (m.matched < o.matched and not _side_beyond(o, m))
            or _side_beyond(m, o)
            or (m.matched == o.matched and o.curated and not m.curated)
            or (m.matched == o.matched and o.complete and not m.complete)
            # its words but a side are fewer than a curated wording's: "bilateral otitis media with
            # effusion" is no "Otitis media, unspecified, bilateral"
            or (o.curated and o.complete and m.sided and (m.matched - m.sided) < o.matched)
            # short of a word and beyond a full reading by a side alone: "primary osteoarthritis of the
            # right hip" is no "primary osteoarthritis, right hand" without its "hand"
            or (not m.complete and o.complete and m.matched - o.matched <= m.sided and o.matched - m.matched)
            for o in mentions
        ):
            continue
        out.append(m)
    return out

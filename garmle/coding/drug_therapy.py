"""Long-term (current) drug therapy status codes (Z79) from the medications a record lists, and allergy
status codes (Z88, Z91.0) from the allergies it records.

A coder adds Z79.01 for a patient kept on warfarin, Z79.84 for one on metformin, Z79.51 for an inhaled
corticosteroid: status codes a guideline does not answer, but part of the coded picture (they are
listed, not searched). :class:`DrugTherapyCoder` reads them from the structured medication list and
from a note's drug history: a drug under a medication heading ("DH:", "Medications:") or said to be
taken now ("on apixaban 2.5mg BD", "currently on prednisolone", "anticoagulated with warfarin",
"continue letrozole"). A drug only started today or given as a short course ("prednisolone 30mg OD x
2 more days", "apixaban 10mg BD x 7 days then 5mg BD"), one stopped, declined or not tolerated, a
relative's, an allergy, and a drug taken "as needed" give no code; nor does insulin in type 1 diabetes,
where it is part of the disease (ICD-10-CM I.C.4.a.3).

An allergy status code (Z88.0 for penicillin, Z91.010 for peanuts) comes from the structured allergy
list and from a note's allergy line ("Allergies: PENICILLIN (rash)", "allergic to codeine", "PCN
allergy"); "NKDA", a relative's allergy and a conditional one ("if penicillin allergic, ...") give none.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> from garmle.types import Patient
    >>> coder = DrugTherapyCoder(IcdCatalogue())
    >>> note = "DH: metformin 500mg BD, ramipril 5mg OD. Plan: prednisolone 30mg OD x 5 days."
    >>> [p.code for p in coder.predict(Patient("p", notes=(note,)))]
    ['Z79.84']
    >>> note = "Allergy: PENICILLIN - urticaria. Her son has a peanut allergy."
    >>> [p.code for p in coder.predict(Patient("p", notes=(note,)))]
    ['Z88.0']
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from garmle.catalogue import IcdCatalogue
from garmle.coding.catalogue_coder import bundled_pairs
from garmle.coding.context import ALLERGY_SECTIONS, HISTORY_SECTIONS, assertion_of, split_sentences
from garmle.types import CodePrediction, Evidence, Patient

__all__ = ["DRUG_THERAPY_SCORE", "DrugTherapyCoder", "allergens", "long_term_drugs"]

DRUG_THERAPY_SCORE = 0.5
"""The score of a status code of long-term drug therapy: below any diagnosis the record states."""

# the headings of a note's drug history
_MEDICATION_SECTIONS = frozenset(
    {
        "dh",
        "dhx",
        "drug history",
        "drug hx",
        "medications",
        "medication",
        "meds",
        "current medications",
        "current medication",
        "current meds",
        "regular medications",
        "regular medication",
        "regular meds",
        "repeat medications",
        "usual medications",
        "medication history",
        "drugs",
        "rx",
        "current tx",
        "current treatment",
        "current therapy",
    }
)
# a drug taken now, said in running text
_TAKEN_BEFORE = re.compile(
    r"\b(?:on|taking|takes|uses|using|continue|continues|continuing|remains on|maintained on|"
    r"anticoagulated with|treated with long-term|long-term|lifelong)\s+(?:[\w/-]+\s+){0,3}$",
    re.I,
)
_LONG_TERM_AFTER = re.compile(
    r"[^.;\n]{0,60}?\b(?:long[- ]term|lifelong|indefinitely|since\s+(?:19|20)\d\d|for\s+\d+\s+years"
    # a course of six months or more: "then slow taper over 12-18/12", "for at least 12 months"
    r"|(?:over|for|at\s+least)\s+(?:[6-9]|[1-9]\d)\s*(?:-\s*\d+\s*)?(?:/12|months)"
    r"|(?:over|for|at\s+least)\s+\d+\s*(?:-\s*\d+\s*)?years)\b",
    re.I,
)
# a regular dose said right after the drug: "T2DM - metformin 1g bd", "levothyroxine 75 micrograms daily"
_REGIMEN_AFTER = re.compile(
    r"\s*\d+(?:\.\d+)?\s*(?:mg|g|mcg|micrograms?|units?|iu)\s*(?:(?:once|twice|three times)\s+)?"
    r"(?:od|bd|bid|tds|tid|qds|qid|om|on|daily|a day|nocte|mane|at night|weekly|every \d+ weeks)\b",
    re.I,
)
# a drug given for days or once, started now, taken as needed
_SHORT = re.compile(
    r"\b(?:x|for)\s*\d+\s*(?:more\s+)?(?:days?|d|weeks?|wks?)\b|\b\d+[- ]days?\b|\bcourse\b|\bstat\b|"
    # doses counted: "oxycodone 5 mg x4 in 24 h"
    r"\bx\s*\d+\s+(?:in|per|over|doses?)\b|\bin\s+(?:the\s+)?(?:last\s+|past\s+)?24\s*h|\bgiven\b|"
    r"\b(?:single|loading|one-off)\s+dose\b|\bPRN\b|\bas (?:needed|required)\b|"
    # started now, not "started 30mg 09/2025" nor "started 2 years ago"
    r"\bstart(?:ed|ing)?\b(?![^.;\n]{0,25}?(?:\b(?:19|20)\d\d\b|\bago\b))|"
    r"\bcommenc\w*|\binitiat\w*|\bnew(?:ly)?\s+(?:started|prescribed)\b",
    re.I,
)
# a drug stopped, declined or not tolerated (in the clause around it): none of the record's mentions of
# it counts then; one held for an operation is still taken
_STOPPED = re.compile(
    r"\b(?:stop|stopped|stopping|discontinu\w*|ceased|withdrawn|weaned|declined|refused|intoleran\w*|allerg\w*|"
    r"not tolerated|switched from|instead of|avoid\w*|contraindicat\w*)\b",
    re.I,
)
# "off prednisolone since 2021", "now off all steroids"
_OFF_BEFORE = re.compile(r"\boff\s+(?:all\s+|the\s+|his\s+|her\s+)?$", re.I)
_CLAUSE = 60  # characters either side of a drug's name read for its stop or its short course
_ITEM_END = re.compile(r"[,;+]|\band\b")
# a steroid on the skin, in the nose or in the bowel, neither inhaled nor systemic: "hydrocortisone 1% cream"
_TOPICAL = re.compile(
    r"\b(?:cream|ointment|topical|lotion|gel|enema|foam|suppositor\w*|eye drops|ear drops|nasal)\b|%", re.I
)
_STEROIDS = ("Z79.51", "Z79.52")
_FORMERLY = re.compile(r"\b(?:previously|formerly|prior|past|used to|was on|had been)\b", re.I)
_TYPE_1 = re.compile(r"\b(?:type\s*(?:1|I|one)\s+diabet\w*|T1DM|T1D|IDDM)\b", re.I)
# an allergy said in running text, around the allergen: "allergic to codeine", "PCN allergy",
# "penicillin-allergic"
_ALLERGY_WORDS = re.compile(r"\ballerg\w*|\banaphyla\w*|\bhypersensitiv\w*", re.I)
_ALLERGY_CODES = ("Z88", "Z91.0")
_ALLERGY_REACH = 40  # characters either side of an allergen read for an allergy word in running text
# a condition, not a fact: "If penicillin allergic, give clarithromycin"
_CONDITIONAL = re.compile(r"\b(?:if|unless|in case|whether|otherwise)\b|\?", re.I)
# an allergy said not to be there, or taken off the record
_NO_ALLERGY = re.compile(
    r"\b(?:no known|nkda|nka|not allergic|no allerg\w*|de-?labell?ed|tolerate[sd]?|removed)\b", re.I
)
_INSULIN_OTHER = re.compile(
    r"\s*(?:resistance|sensitivity|resistant|secretion|levels?|tolerance|stress)\b", re.I
)


def _not_long_term(code: str, text: str) -> bool:
    """Whether a drug's wording (a medication's display, a note's clause) says a short course, a start
    or a use as needed, or, for a steroid, a form on the skin, in the nose or in the bowel."""
    return _SHORT.search(text) is not None or (code in _STEROIDS and _TOPICAL.search(text) is not None)


def _clause(note: str, first: int, last: int, start: int, end: int) -> str:
    """The list item or clause of a drug's name (``start:end``) within its sentence (``first:last``):
    "DH: apixaban, donepezil 10mg, paracetamol PRN" takes apixaban as no drug as needed.

    Example:
        >>> note = "DH: apixaban, paracetamol PRN."
        >>> _clause(note, 0, len(note), 4, 12)
        'DH: apixaban'
    """
    before = note[max(first, start - _CLAUSE) : start]
    cut = [m.end() for m in _ITEM_END.finditer(before)]
    head = start - len(before) + (cut[-1] if cut else 0)
    after = note[end : min(last, end + _CLAUSE)]
    stop = _ITEM_END.search(after)
    tail = end + (stop.start() if stop else len(after))
    return note[head:tail].strip()


@lru_cache(maxsize=1)
def long_term_drugs() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The bundled drug names (``long_term_drugs.tsv``), each as a pattern with its Z79 code.

    Example:
        >>> dict((p.pattern, c) for p, c in long_term_drugs())[r"\\bwarfarin\\b"]
        'Z79.01'
    """
    return tuple(
        (re.compile(r"\b" + re.escape(name).replace(r"\ ", r"\s+") + r"\b", re.I), code)
        for name, code in bundled_pairs("long_term_drugs.tsv")
    )


@lru_cache(maxsize=1)
def allergens() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The bundled allergen names (``allergy_status.tsv``), each as a pattern with its allergy status
    code; an ALL-CAPS abbreviation ("PCN") matches in capitals only.

    Example:
        >>> dict((p.pattern, c) for p, c in allergens())[r"\\bpenicillin\\b"]
        'Z88.0'
    """
    return tuple(
        (
            re.compile(r"\b" + re.escape(name).replace(r"\ ", r"\s+") + r"\b", 0 if name.isupper() else re.I),
            code,
        )
        for name, code in bundled_pairs("allergy_status.tsv")
    )


@lru_cache(maxsize=1)
def _any_drug() -> re.Pattern[str]:
    """One pattern for every drug name: a sentence naming none is skipped."""
    return re.compile("|".join(pattern.pattern for pattern, _ in long_term_drugs()), re.I)


class DrugTherapyCoder:
    """Predict long-term drug therapy codes (Z79) from a record's medications and notes.

    Args:
        catalogue: the ICD-10-CM catalogue (titles, and which codes exist).
    """

    name = "medication"

    def __init__(self, catalogue: IcdCatalogue) -> None:
        self.catalogue = catalogue

    def predict(self, patient: Patient) -> list[CodePrediction]:
        found: dict[str, list[Evidence]] = {}
        for code, evidence in self._listed(patient):
            found.setdefault(code, []).append(evidence)
        for code, evidence in self._noted(patient):
            found.setdefault(code, []).append(evidence)
        for code, evidence in self._allergies(patient):
            found.setdefault(code, []).append(evidence)
        if "Z79.4" in found and self._type_1(patient):
            del found["Z79.4"]
        return [
            CodePrediction(
                code,
                self.catalogue.title(code),
                DRUG_THERAPY_SCORE,
                # an allergy status is read from the allergies recorded, not from the drugs taken
                source="allergy" if code.startswith(_ALLERGY_CODES) else self.name,
                evidence=tuple(dict.fromkeys(evidence)),
            )
            for code, evidence in found.items()
            if self.catalogue.is_valid(code)
        ]

    @staticmethod
    def _type_1(patient: Patient) -> bool:
        return any(p.code.startswith("E10") for p in patient.problems) or any(
            _TYPE_1.search(text) for text in (*patient.notes, *(p.display for p in patient.problems))
        )

    @staticmethod
    def _listed(patient: Patient) -> Iterator[tuple[str, Evidence]]:
        """The structured medication list's active drugs."""
        for med in patient.medications:
            if med.status not in ("active", "on-hold", ""):
                continue
            for pattern, code in long_term_drugs():
                if pattern.search(med.display) and not _not_long_term(code, med.display):
                    yield code, Evidence("medication", med.display)

    @staticmethod
    def _allergies(patient: Patient) -> Iterator[tuple[str, Evidence]]:
        """Allergens of the structured allergy list and of a note's allergy lines or phrases."""
        for item in patient.allergies:
            if not _NO_ALLERGY.search(item):
                for pattern, code in allergens():
                    if pattern.search(item):
                        yield code, Evidence("allergy", item)
        for index, note in enumerate(patient.notes):
            if not _ALLERGY_WORDS.search(note):  # every allergy header holds an allergy word too
                continue
            for sentence in split_sentences(note, index):
                listed = sentence.section in ALLERGY_SECTIONS
                if not listed and not _ALLERGY_WORDS.search(sentence.text):
                    continue
                for pattern, code in allergens():
                    for match in pattern.finditer(sentence.text):
                        start, end = sentence.start + match.start(), sentence.start + match.end()
                        clause = _clause(note, sentence.start, sentence.end, start, end)
                        if _NO_ALLERGY.search(clause):
                            continue
                        assertion = assertion_of(sentence, start, end)
                        if assertion in ("negated", "family", "uncertain"):
                            continue
                        # in running text an allergy word stands close by, and no condition before it
                        near = note[max(sentence.start, start - _ALLERGY_REACH) : end + _ALLERGY_REACH]
                        if not listed and (
                            not _ALLERGY_WORDS.search(near)
                            or _CONDITIONAL.search(note, sentence.start, start) is not None
                        ):
                            continue
                        yield code, Evidence("note", note[start:end], index, start, end)

    @staticmethod
    def _noted(patient: Patient) -> Iterator[tuple[str, Evidence]]:
        """Drugs a note says the patient takes; a drug also said stopped anywhere gives none."""
        taken: dict[str, list[Evidence]] = {}
        refused: set[str] = set()
        anything = _any_drug()
        for index, note in enumerate(patient.notes):
            if not anything.search(note):
                continue
            for sentence in split_sentences(note, index):
                if not anything.search(sentence.text):
                    continue
                section = sentence.section  # a header line's own sentence is already in its section
                for pattern, code in long_term_drugs():
                    for match in pattern.finditer(sentence.text):
                        start, end = sentence.start + match.start(), sentence.start + match.end()
                        if code == "Z79.4" and _INSULIN_OTHER.match(note, end):
                            continue  # "insulin resistance"
                        clause = _clause(note, sentence.start, sentence.end, start, end)
                        if _STOPPED.search(clause) or _OFF_BEFORE.search(note, max(0, start - 20), start):
                            refused.add(code)
                            continue
                        if _not_long_term(code, clause):
                            continue
                        assertion = assertion_of(sentence, start, end)
                        # "PMH: permanent AF on apixaban 2.5 mg bd" is taken now; "previously on" is not
                        in_history = section in HISTORY_SECTIONS and not _FORMERLY.search(clause)
                        if assertion != "present" and not (assertion == "historical" and in_history):
                            continue
                        listed = section in _MEDICATION_SECTIONS
                        said = _TAKEN_BEFORE.search(note, max(sentence.start, start - 60), start) is not None
                        regular = _REGIMEN_AFTER.match(note, end) is not None
                        if listed or said or regular or _LONG_TERM_AFTER.match(note, end):
                            said_at = Evidence("note", note[start:end], index, start, end)
                            taken.setdefault(code, []).append(said_at)
        for code, items in taken.items():
            if code not in refused:
                for item in items:
                    yield code, item

"""A patient's stated race or ethnicity, where guidelines recommend differently by it.

Some recommendations name an ethnic group: a thiazide-type diuretic or a calcium channel blocker as
the first drug for hypertension in black patients, diabetes screening at a lower BMI in people of
Asian and South Asian origin, hepatitis B screening for people born in regions of high prevalence.
The record's statement is kept in one of a few words guidelines use (:data:`ETHNICITY_TERMS`) and
becomes a patient fact of every query, so passages written for the patient's group rank higher.
Nothing is inferred: only what the record states (a note's wording, the JSON form's ``ethnicity``,
the US Core race and ethnicity extensions of a FHIR Patient).

Example:
    >>> ethnicity_in_text("41 yo M, African American, f/u of raised BP.")
    'black'
    >>> ethnicity_in_text("Black stools for 2 days.") is None
    True
    >>> normalise_ethnicity("South Asian")
    'south asian'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "ETHNICITY_TERMS",
    "ethnicity_in_fhir",
    "ethnicity_in_notes",
    "ethnicity_in_text",
    "normalise_ethnicity",
]

ETHNICITY_TERMS: Mapping[str, tuple[str, ...]] = {
    "black": (
        "black",
        "african american",
        "african-american",
        "afro-caribbean",
        "african-caribbean",
        "african descent",
        "african ancestry",
        "african origin",
    ),
    "south asian": ("south asian", "asian", "indian", "pakistani", "bangladeshi"),
    "asian": ("asian",),
    "hispanic": ("hispanic", "latino", "latina", "latinx"),
    "indigenous": (
        "american indian",
        "alaska native",
        "native american",
        "aboriginal",
        "indigenous",
        "first nations",
        "torres strait",
    ),
    "pacific islander": ("pacific islander", "native hawaiian", "maori"),
    "white": (),  # stated and kept, but guidelines name no recommendation by it
}
"""Each ethnicity this reader keeps, with the words a guideline passage addressed to it uses."""

_BLACK = r"(?:black|african[- ]american|afro[- ]caribbean|african[- ]caribbean|black[- ]british)"
_PERSON = r"(?:man|woman|male|female|patient|person|gentleman|lady|boy|girl|child|adult|m|f)"
_AGE = r"(?:yo|y/o|y\.o\.|year[- ]old|yr[- ]old|years? old)"
# "black" alone is also a colour ("black stools", "black cohosh"): it counts beside a person or an age
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "black",
        re.compile(
            rf"\b(?:african[- ]american|afro[- ]caribbean|african[- ]caribbean|"
            rf"of (?:black )?african (?:descent|ancestry|origin|heritage)|"
            rf"{_BLACK},?\s+{_PERSON}\b|{_AGE},?\s+{_BLACK}\b)",
            re.I,
        ),
    ),
    (
        "south asian",
        re.compile(
            r"\bsouth[- ]asian\b|\b(?:indian|pakistani|bangladeshi|sri lankan)\s+"
            r"(?:origin|descent|ancestry|heritage)\b",
            re.I,
        ),
    ),
    (
        "asian",
        re.compile(
            r"\basian(?:[- ](?:born|american))?\b|\b(?:chinese|vietnamese|korean|filipino|"
            r"japanese)\s+(?:origin|descent|ancestry|heritage)\b",
            re.I,
        ),
    ),
    ("hispanic", re.compile(r"\b(?:hispanic|latin[oax])\b", re.I)),
    (
        "indigenous",
        re.compile(
            r"\b(?:american indian|alaska native|native american|aboriginal|"
            r"torres strait islander|first nations)\b",
            re.I,
        ),
    ),
    ("pacific islander", re.compile(r"\b(?:pacific islander|native hawaiian|m[aā]ori)\b", re.I)),
    ("white", re.compile(rf"\b(?:caucasian|(?:white),?\s+{_PERSON}\b|{_AGE},?\s+white\b)", re.I)),
)

# US Core race (OMB categories) and ethnicity codes, urn:oid:2.16.840.1.113883.6.238
_OMB = {
    "2054-5": "black",
    "2028-9": "asian",
    "1002-5": "indigenous",
    "2076-8": "pacific islander",
    "2106-3": "white",
    "2135-2": "hispanic",
}
_US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-"


def normalise_ethnicity(value: str) -> str | None:
    """One of the keys of :data:`ETHNICITY_TERMS` for a stated value, or None when it names none."""
    text = value.strip().lower()
    if text in ETHNICITY_TERMS:
        return text
    for name, pattern in _PATTERNS:
        if pattern.search(text) or (name != "white" and text in ETHNICITY_TERMS[name]):
            return name
    return None


# somebody else's: "her African American husband", "his Hispanic partner", "Afro-Caribbean carer"
_SOMEONE_ELSE_BEFORE = re.compile(r"\b(?:her|his|their|whose)\s+$", re.I)
_SOMEONE_ELSE_AFTER = re.compile(
    r"^,?\s*(?:husband|wife|partner|spouse|boyfriend|girlfriend|mother|father|parents?|son|daughter|"
    r"brother|sister|friend|family|neighbou?r|carer|caregiver|colleague|nurse|doctor)s?\b",
    re.I,
)


def ethnicity_in_text(text: str) -> str | None:
    """The ethnicity a note states about its patient, or None. A group named before another wins;
    one stated about somebody else ("her African American husband") does not count.

    Example:
        >>> ethnicity_in_text("68F, lives with her African American husband.") is None
        True
    """
    found = [
        (m.start(), name)
        for name, pattern in _PATTERNS
        for m in pattern.finditer(text)
        if not _SOMEONE_ELSE_BEFORE.search(text[max(0, m.start() - 12) : m.start()])
        and not _SOMEONE_ELSE_AFTER.match(text[m.end() : m.end() + 30])
    ]
    return min(found)[1] if found else None


def ethnicity_in_notes(notes: Iterable[str]) -> str | None:
    """The ethnicity the first note that states one gives (:func:`ethnicity_in_text`), or None."""
    return next(filter(None, map(ethnicity_in_text, notes)), None)


def ethnicity_in_fhir(patient: Mapping[str, Any]) -> str | None:
    """The ethnicity a FHIR Patient's US Core extensions state: Hispanic or Latino first (it is the
    ethnicity; race is a separate extension), then the first race category."""
    stated: dict[str, str] = {}
    for extension in patient.get("extension") or ():
        if not isinstance(extension, Mapping) or not str(extension.get("url", "")).startswith(_US_CORE):
            continue
        kind = str(extension["url"]).removeprefix(_US_CORE)
        for part in extension.get("extension") or ():
            coding = part.get("valueCoding") if isinstance(part, Mapping) else None
            if isinstance(coding, Mapping) and part.get("url") == "ombCategory":
                name = _OMB.get(str(coding.get("code")))
                if name is not None and (kind == "race") != (name == "hispanic"):
                    stated.setdefault(kind, name)
    return stated.get("ethnicity") or stated.get("race")

"""Screening a record qualifies for by published eligibility criteria, added to the predicted codes.

A smoker's record rarely says "lung cancer screening", yet the USPSTF (2021) recommends annual
low-dose CT for adults aged 50 to 80 years with a smoking history of at least 20 pack-years who
smoke now or quit within the past 15 years. :class:`ScreeningCoder` wraps another predictor: when
the record states the pack-years, the patient's age is in range and the predicted codes say the
patient smokes (F17.2-, Z72.0) or smoked (Z87.891, with the year they quit or how long ago), it adds
Z12.2 (encounter for screening for malignant neoplasm of respiratory organs), whose evidence gives
the criteria and the facts that met them, so the lung cancer screening guidelines are searched. A
record of lung cancer (C34, Z85.11-) or of a quit date too long ago adds nothing; neither does a
record with no stated pack-years, since the criteria cannot be checked.

Example:
    >>> from garmle.types import CodePrediction, Patient
    >>> class Smoker:
    ...     name = "fixed"
    ...     def predict(self, patient):
    ...         return [CodePrediction("F17.210", "Nicotine dependence, cigarettes, uncomplicated", 0.9)]
    >>> note = "Smokes 20 a day, 45 pack-years."
    >>> [p.code for p in ScreeningCoder(Smoker()).predict(Patient("p", age=63, notes=(note,)))]
    ['F17.210', 'Z12.2']
    >>> [p.code for p in ScreeningCoder(Smoker()).predict(Patient("p", age=45, notes=(note,)))]
    ['F17.210']
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from garmle.coding.base import Predictor
from garmle.coding.context import is_a_stop
from garmle.types import CodePrediction, Evidence, Patient

__all__ = [
    "LUNG_SCREENING_CODE",
    "SCREENING_SOURCE",
    "ScreeningCoder",
    "lung_screening_evidence",
    "pack_years",
    "years_since_quit",
]

LUNG_SCREENING_CODE = "Z12.2"
SCREENING_SOURCE = "screening"
"""The ``source`` of the codes :class:`ScreeningCoder` adds."""
_LUNG_SCREENING_TITLE = "Encounter for screening for malignant neoplasm of respiratory organs"
_CURRENT = ("F17.2", "Z72.0")
_FORMER = ("Z87.891",)
_LUNG_CANCER = ("C34", "Z85.11")
_MIN_AGE, _MAX_AGE, _MIN_PACK_YEARS, _MAX_YEARS_QUIT = 50, 80, 20.0, 15

_PACK_YEARS = re.compile(r"\b(\d{1,3}(?:\.\d)?)\s*-?\s*(?:pack[- ]?(?:years?|yrs?)|pk[- ]?yrs?|PYH?)\b", re.I)
_QUIT = r"\b(?P<verb>quit|stopped|gave up|ceased|ex-?smoker|former smoker|stopped smoking)\b"
_QUIT_YEAR = re.compile(_QUIT + r"[^.;\n]{0,30}?\b(?P<when>(?:19|20)\d\d)\b", re.I)
_QUIT_AGO = re.compile(_QUIT + r"[^.;\n]{0,30}?\b(?P<when>\d{1,2})\s*(?:years?|yrs?|y)\s+ago\b", re.I)
# between the stop and its date: a try or a plan, not the stop ("former smoker, quit attempts 2019")
_NO_STOP = re.compile(r"\b(?:attempts?|plan\w*|date|wants?|trying|tried)\b", re.I)


def pack_years(notes: Sequence[str]) -> tuple[float, Evidence] | None:
    """The largest smoking history in pack-years the notes state, with where they state it.

    Example:
        >>> found = pack_years(["Ex-smoker (quit 2015, 20 pack-years)."])
        >>> found[0], found[1].text
        (20.0, '20 pack-years')
        >>> pack_years(["Never smoked."]) is None
        True
    """
    best: tuple[float, Evidence] | None = None
    for index, note in enumerate(notes):
        for found in _PACK_YEARS.finditer(note):
            value = float(found.group(1))
            if best is None or value > best[0]:
                best = (value, Evidence("note", found.group(0), index, found.start(), found.end()))
    return best


def years_since_quit(notes: Sequence[str], today: dt.date | None = None) -> int | None:
    """How many years ago a former smoker quit ("quit 2015", "stopped 8 years ago"), if stated.

    Example:
        >>> years_since_quit(["Ex-smoker (quit 2015, 20 pack-years)."], dt.date(2026, 12, 3))
        11
        >>> years_since_quit(["Stopped smoking 20 years ago."]), years_since_quit(["Smokes daily."])
        (20, None)
        >>> years_since_quit(["Former smoker, quit attempts 2019 and 2021, quit 2008."], dt.date(2026, 1, 1))
        18
    """
    year = (today or dt.date.today()).year
    for note in notes:
        for found in _QUIT_YEAR.finditer(note):
            if _stopped(note, found) and int(found.group("when")) <= year:
                return year - int(found.group("when"))
        for found in _QUIT_AGO.finditer(note):
            if _stopped(note, found):
                return int(found.group("when"))
    return None


def _stopped(note: str, found: re.Match[str]) -> bool:
    """A quit the note reports, not a wish or a try ("wants to quit 2027", "quit attempts 2019")."""
    if _NO_STOP.search(note, found.end("verb"), found.start("when")):
        return False
    before = re.findall(r"[\w-]+", note[max(0, found.start() - 30) : found.start()])
    after = re.findall(r"[\w-]+", note[found.end("verb") : found.end("verb") + 30])
    return is_a_stop(before[-1] if before else "", after[0] if after else "")


def lung_screening_evidence(
    patient: Patient, codes: Sequence[str], today: dt.date | None = None
) -> tuple[Evidence, ...]:
    """Why the record meets the USPSTF 2021 lung cancer screening criteria; () when it does not
    (or cannot be checked).

    Example:
        >>> p = Patient("p", age=58, notes=("Ex-smoker, quit 2015, 20 pack-years.",))
        >>> lung_screening_evidence(p, ["Z87.891"], dt.date(2026, 12, 3))[0].text[:50]
        'age 58, 20 pack-years, quit 11 years ago: USPSTF 2'
        >>> lung_screening_evidence(p, ["Z87.891"], dt.date(2032, 1, 1))
        ()
    """
    age = patient.age
    if age is None or not _MIN_AGE <= age <= _MAX_AGE or any(c.startswith(_LUNG_CANCER) for c in codes):
        return ()
    history = pack_years(patient.notes)
    if history is None or history[0] < _MIN_PACK_YEARS:
        return ()
    if any(c.startswith(_CURRENT) for c in codes):
        status = "smokes now"
    elif any(c.startswith(_FORMER) for c in codes):
        quit = years_since_quit(patient.notes, today)
        if quit is None or quit > _MAX_YEARS_QUIT:
            return ()
        status = f"quit {quit} years ago"
    else:
        return ()
    why = (
        f"age {age}, {history[0]:g} pack-years, {status}: USPSTF 2021 lung cancer screening criteria "
        f"({_MIN_AGE}-{_MAX_AGE} years, at least {_MIN_PACK_YEARS:g} pack-years, smoking now or quit "
        f"within {_MAX_YEARS_QUIT} years)"
    )
    return (Evidence("rule", why), history[1])


class ScreeningCoder:
    """Another predictor's codes plus the screening the record qualifies for (module docstring).

    Args:
        predictor: the predictor whose codes tell the patient's conditions and habits.
        score: the confidence given to an added screening code (the criteria are met; the
            recommender still lists the screening after the record's own conditions).
    """

    def __init__(self, predictor: Predictor, score: float = 0.8) -> None:
        self.predictor = predictor
        self.score = score
        self.name = f"{predictor.name}+screening"

    def predict(self, patient: Patient) -> list[CodePrediction]:
        """The wrapped predictions, then any screening code they and the record qualify for."""
        predictions = list(self.predictor.predict(patient))
        codes = [p.code for p in predictions]
        if LUNG_SCREENING_CODE not in codes:
            evidence = lung_screening_evidence(patient, codes)
            if evidence:
                predictions.append(
                    CodePrediction(
                        LUNG_SCREENING_CODE,
                        _LUNG_SCREENING_TITLE,
                        self.score,
                        source=SCREENING_SOURCE,
                        evidence=evidence,
                    )
                )
        return predictions

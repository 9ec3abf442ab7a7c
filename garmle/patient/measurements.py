"""Canonical measurement names, LOINC codes, unit conversion and plausibility checks.

Every loader (FHIR, JSON form, text note) turns raw values into
:class:`~garmle.types.Observation` and :class:`~garmle.types.BloodPressure`
records through this module, so a value means the same thing whatever its
source.

Example:
    >>> spec = MEASURES["glucose"]
    >>> round(spec.to_canonical(5.5, "mmol/L"), 1)
    99.1
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from garmle.types import BloodPressure, Observation

__all__ = [
    "BP_DIASTOLIC_CODES",
    "BP_PANEL_CODES",
    "BP_SYSTOLIC_CODES",
    "LAB_NAMES",
    "LOINC_SYSTEM",
    "LOINC_TO_NAME",
    "MAX_BLOOD_PRESSURES",
    "MAX_PER_NAME",
    "MEASURES",
    "VITAL_NAMES",
    "MeasureSpec",
    "UnknownUnitError",
    "age_on",
    "age_problem",
    "blood_pressure_problem",
    "canonical_measure",
    "is_bp_unit",
    "keep_latest",
    "make_blood_pressure",
    "make_observation",
    "normalise_sex",
    "normalise_unit",
    "parse_date",
    "record_age",
    "sort_blood_pressures",
    "split_observations",
]

LOINC_SYSTEM = "http://loinc.org"

BP_PANEL_CODES = frozenset({"55284-4", "85354-9", "35094-2"})
BP_SYSTOLIC_CODES = frozenset({"8480-6"})
BP_DIASTOLIC_CODES = frozenset({"8462-4"})

MAX_PER_NAME = 3
"""Latest values kept per lab or vital sign name."""

MAX_BLOOD_PRESSURES = 50
"""Latest blood pressure readings kept (a whole life history can hold hundreds)."""

SYSTOLIC_RANGE = (50.0, 300.0)
DIASTOLIC_RANGE = (20.0, 200.0)


class UnknownUnitError(ValueError):
    """A value came with a unit the measure cannot be converted from."""


def normalise_unit(unit: str) -> str:
    """Reduce a UCUM or free-text unit to a comparable key.

    Example:
        >>> normalise_unit("mL/min/{1.73_m2}") == normalise_unit("ml/min/1.73 m2")
        True
    """
    key = unit.strip().lower()
    key = re.sub(r"[\s{}\[\]_]", "", key)
    return key.replace("^", "").replace("²", "2").replace("µ", "u").replace("μ", "u")


@dataclass(frozen=True)
class MeasureSpec:
    """How one canonical measure is coded, which units it accepts and its plausible range.

    ``factors`` maps a normalised unit to a function turning a value in that
    unit into the canonical unit. The empty unit is accepted as canonical.
    """

    name: str
    unit: str
    loinc: tuple[str, ...]
    display: str
    kind: str  # "lab" or "vital"
    minimum: float = 0.0
    maximum: float = float("inf")
    factors: Mapping[str, Callable[[float], float]] = field(default_factory=dict)

    def to_canonical(self, value: float, unit: str | None) -> float:
        """Return ``value`` in :attr:`unit`; raise :class:`UnknownUnitError` for a foreign unit."""
        key = normalise_unit(unit or "")
        if key in ("", normalise_unit(self.unit)):
            return value
        convert = self.factors.get(key)
        if convert is None:
            raise UnknownUnitError(f"unknown unit {unit!r} for {self.name} (expected {self.unit})")
        return convert(value)

    def accepts(self, unit: str | None) -> bool:
        """Whether a value in ``unit`` can be converted to :attr:`unit`."""
        key = normalise_unit(unit or "")
        return key in ("", normalise_unit(self.unit)) or key in self.factors

    def plausible(self, value: float) -> bool:
        """Whether ``value`` (in the canonical unit) lies in the plausible range."""
        return self.minimum <= value <= self.maximum


def _same(value: float) -> float:
    return value


def _scale(factor: float) -> Callable[[float], float]:
    def convert(value: float) -> float:
        return value * factor

    return convert


def _units(
    pairs: Iterable[tuple[Iterable[str], Callable[[float], float]]],
) -> dict[str, Callable[[float], float]]:
    table: dict[str, Callable[[float], float]] = {}
    for names, convert in pairs:
        for name in names:
            table[normalise_unit(name)] = convert
    return table


def _fahrenheit_to_celsius(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


def _ifcc_to_ngsp(value: float) -> float:
    return value * 0.09148 + 2.152


_MMOL = ("mmol/L", "mmol/l")
_EQ = (("mEq/L", "meq/l", "mmol/L"), _same)

_SPECS = (
    MeasureSpec(
        "heart_rate",
        "/min",
        ("8867-4",),
        "Heart rate",
        "vital",
        1,
        350,
        _units([(("{beats}/min", "beats/min", "bpm", "beat/min", "1/min", "min-1"), _same)]),
    ),
    MeasureSpec(
        "respiratory_rate",
        "/min",
        ("9279-1",),
        "Respiratory rate",
        "vital",
        1,
        100,
        _units([(("breaths/min",), _same)]),
    ),
    MeasureSpec("spo2", "%", ("59408-5", "2708-6"), "Oxygen saturation", "vital", 30, 100),
    MeasureSpec(
        "temperature",
        "Cel",
        ("8310-5", "8331-1"),
        "Body temperature",
        "vital",
        25,
        45,
        _units([(("C", "°C", "degC"), _same), (("[degF]", "F", "°F", "degF"), _fahrenheit_to_celsius)]),
    ),
    MeasureSpec("bmi", "kg/m2", ("39156-5",), "Body mass index", "vital", 5, 150),
    # the lowest bone density T-score of a DXA scan (lumbar spine, hip, femoral neck)
    MeasureSpec(
        "t_score",
        "{T-score}",
        ("38267-8", "38263-7", "46278-8", "80948-3", "38266-0"),
        "Bone density T-score",
        "lab",
        -10,
        10,
        _units([(("SD", "{SD}", "{T-score}", "{Tscore}"), _same)]),
    ),
    MeasureSpec(
        "gestational_age",
        "wk",
        ("49051-6", "18185-9", "11884-4", "11885-1"),
        "Gestational age",
        "vital",
        1,
        45,
        _units([(("wk", "weeks", "week", "w"), _same), (("d", "days", "day"), _scale(1 / 7))]),
    ),
    MeasureSpec(
        "weight",
        "kg",
        ("29463-7",),
        "Body weight",
        "vital",
        0.2,
        700,
        _units([(("g",), _scale(0.001)), (("[lb_av]", "lb", "lbs"), _scale(0.45359237))]),
    ),
    MeasureSpec(
        "height",
        "cm",
        ("8302-2",),
        "Body height",
        "vital",
        20,
        300,
        _units([(("m",), _scale(100.0)), (("[in_i]", "in", "inch"), _scale(2.54))]),
    ),
    MeasureSpec(
        "egfr",
        "mL/min/{1.73_m2}",
        ("33914-3", "48642-3", "48643-1", "62238-1", "98979-8", "69405-9"),
        "eGFR",
        "lab",
        0,
        250,
        _units([(("mL/min", "mL/min/1.73m2", "mL/min/1.73 m2", "ml/min/1.73m^2"), _same)]),
    ),
    MeasureSpec(
        "creatinine",
        "mg/dL",
        ("2160-0", "38483-4"),
        "Creatinine",
        "lab",
        0,
        40,
        _units([(("umol/L", "µmol/L"), _scale(1 / 88.42))]),
    ),
    MeasureSpec("potassium", "mmol/L", ("2823-3", "6298-4"), "Potassium", "lab", 1, 15, _units([_EQ])),
    MeasureSpec("sodium", "mmol/L", ("2951-2", "2947-0"), "Sodium", "lab", 80, 250, _units([_EQ])),
    MeasureSpec(
        "hba1c",
        "%",
        ("4548-4", "17856-6"),
        "HbA1c",
        "lab",
        2,
        25,
        _units([(("mmol/mol",), _ifcc_to_ngsp), (("% of total Hgb", "%{Hb}"), _same)]),
    ),
    MeasureSpec(
        "glucose", "mg/dL", ("2339-0", "2345-7"), "Glucose", "lab", 0, 3000, _units([(_MMOL, _scale(18.016))])
    ),
    MeasureSpec(
        "total_cholesterol",
        "mg/dL",
        ("2093-3",),
        "Total cholesterol",
        "lab",
        0,
        2000,
        _units([(_MMOL, _scale(38.67))]),
    ),
    MeasureSpec(
        "ldl",
        "mg/dL",
        ("18262-6", "13457-7"),
        "LDL cholesterol",
        "lab",
        0,
        2000,
        _units([(_MMOL, _scale(38.67))]),
    ),
    MeasureSpec(
        "hdl", "mg/dL", ("2085-9",), "HDL cholesterol", "lab", 0, 500, _units([(_MMOL, _scale(38.67))])
    ),
    MeasureSpec(
        "triglycerides",
        "mg/dL",
        ("2571-8",),
        "Triglycerides",
        "lab",
        0,
        20000,
        _units([(_MMOL, _scale(88.57))]),
    ),
    MeasureSpec(
        "uacr",
        "mg/g",
        ("9318-7", "14959-1"),
        "Urine albumin/creatinine ratio",
        "lab",
        0,
        100000,
        _units(
            [(("mg/g{creat}", "mg/g creat", "ug/mg"), _same), (("mg/mmol", "mg/mmol{creat}"), _scale(8.84))]
        ),
    ),
    MeasureSpec(
        "hemoglobin",
        "g/dL",
        ("718-7",),
        "Hemoglobin",
        "lab",
        0,
        30,
        _units([(("g/L",), _scale(0.1)), (("mmol/L",), _scale(1.611))]),
    ),
    MeasureSpec(
        "psa",
        "ng/mL",
        ("2857-1", "83112-3"),
        "Prostate specific antigen",
        "lab",
        0,
        100000,
        _units([(("ug/L", "µg/L", "ng/ml"), _same)]),
    ),
)

MEASURES: Mapping[str, MeasureSpec] = {spec.name: spec for spec in _SPECS}
"""Every canonical measure by name."""

LOINC_TO_NAME: Mapping[str, str] = {code: spec.name for spec in _SPECS for code in spec.loinc}
"""LOINC code -> canonical measure name."""

LAB_NAMES = frozenset(spec.name for spec in _SPECS if spec.kind == "lab")
VITAL_NAMES = frozenset(spec.name for spec in _SPECS if spec.kind == "vital")

_ALIASES = {
    "heart_rate": ("hr", "pulse", "heart rate", "heartrate"),
    "bmi": ("body mass index",),
    "gestational_age": ("gestation", "gestational age", "weeks of gestation"),
    "t_score": ("t-score", "t score", "tscore", "bone density t-score"),
    "respiratory_rate": ("rr", "resp rate", "respiratory rate"),
    "spo2": ("oxygen saturation", "o2 sat", "sats", "sao2"),
    "temperature": ("temp", "body temperature"),
    "weight": ("body weight", "wt"),
    "height": ("body height", "ht"),
    "egfr": ("gfr", "estimated gfr"),
    "creatinine": ("cr", "scr", "serum creatinine", "creat"),
    "potassium": ("k",),
    "sodium": ("na",),
    "hba1c": ("a1c", "hb a1c", "hemoglobin a1c", "haemoglobin a1c", "glycated hemoglobin", "glycohemoglobin"),
    "glucose": ("blood glucose", "fasting glucose", "blood sugar", "fbg", "fpg"),
    "total_cholesterol": ("cholesterol", "tc", "total cholesterol"),
    "ldl": ("ldl-c", "ldl c", "ldl cholesterol"),
    "hdl": ("hdl-c", "hdl c", "hdl cholesterol"),
    "triglycerides": ("tg", "trigs", "triglyceride"),
    "uacr": ("acr", "albumin/creatinine ratio", "albumin creatinine ratio", "urine albumin/creatinine"),
    "hemoglobin": ("haemoglobin", "hb", "hgb"),
    "psa": ("prostate specific antigen", "prostate-specific antigen", "total psa"),
}


def _alias_key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().lower())


_ALIAS_TO_NAME: Mapping[str, str] = {
    **{_alias_key(alias): name for name, aliases in _ALIASES.items() for alias in aliases},
    **{_alias_key(name): name for name in MEASURES},
}


def canonical_measure(name: str) -> str | None:
    """Return the canonical measure name for a name or common alias, or None when unknown.

    Example:
        >>> canonical_measure("HbA1c"), canonical_measure("LDL-C"), canonical_measure("K")
        ('hba1c', 'ldl', 'potassium')
        >>> canonical_measure("troponin") is None
        True
    """
    return _ALIAS_TO_NAME.get(_alias_key(name))


_SEX_WORDS = {
    "male": ("male", "m", "man", "boy", "gentleman"),
    "female": ("female", "f", "woman", "girl", "lady"),
    "other": ("other", "intersex", "non-binary", "nonbinary"),
}
_SEX_LOOKUP = {word: sex for sex, words in _SEX_WORDS.items() for word in words}


def normalise_sex(value: str) -> str | None:
    """Map a sex or gender word to ``male``, ``female`` or ``other``; None for unknown or unrecognised.

    Example:
        >>> normalise_sex("F"), normalise_sex("Male"), normalise_sex("unknown")
        ('female', 'male', None)
    """
    return _SEX_LOOKUP.get(value.strip().lower())


def blood_pressure_problem(systolic: float, diastolic: float) -> str | None:
    """Return why a reading is impossible, or None when it is plausible.

    Example:
        >>> blood_pressure_problem(120, 80) is None
        True
        >>> blood_pressure_problem(80, 120)
        'diastolic 120 not below systolic 80'
    """
    if not SYSTOLIC_RANGE[0] <= systolic <= SYSTOLIC_RANGE[1]:
        return f"systolic {systolic:g} outside {SYSTOLIC_RANGE[0]:g}-{SYSTOLIC_RANGE[1]:g} mmHg"
    if not DIASTOLIC_RANGE[0] <= diastolic <= DIASTOLIC_RANGE[1]:
        return f"diastolic {diastolic:g} outside {DIASTOLIC_RANGE[0]:g}-{DIASTOLIC_RANGE[1]:g} mmHg"
    if diastolic >= systolic:
        return f"diastolic {diastolic:g} not below systolic {systolic:g}"
    return None


_BP_UNITS = frozenset(normalise_unit(u) for u in ("", "mmHg", "mm[Hg]", "mm Hg"))


def is_bp_unit(unit: str | None) -> bool:
    """Whether ``unit`` is millimetres of mercury (or missing).

    Example:
        >>> is_bp_unit("mm[Hg]"), is_bp_unit("kPa")
        (True, False)
    """
    return normalise_unit(unit or "") in _BP_UNITS


def parse_date(value: object) -> dt.date | None:
    """Parse the date part of a FHIR date/dateTime/instant or ISO string; None if absent or bad.

    Example:
        >>> parse_date("2019-05-02T10:00:00+00:00")
        datetime.date(2019, 5, 2)
        >>> parse_date("2019-05")
        datetime.date(2019, 5, 1)
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    match = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", value.strip())
    if not match:
        return None
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _date_key(date: dt.date | None) -> dt.date:
    return date or dt.date.min


def keep_latest(observations: Iterable[Observation], per_name: int = MAX_PER_NAME) -> tuple[Observation, ...]:
    """Keep the latest ``per_name`` observations of each name, sorted by date (oldest first).

    Observations are grouped by name; names keep their first-seen order.

    Example:
        >>> obs = [Observation("egfr", v, date=dt.date(2020, 1, d)) for v, d in [(50, 3), (60, 1), (55, 2)]]
        >>> [o.value for o in keep_latest(obs, per_name=2)]
        [55, 50]
    """
    groups: dict[str, list[Observation]] = {}
    for obs in observations:
        groups.setdefault(obs.name, []).append(obs)
    kept: list[Observation] = []
    for group in groups.values():
        group.sort(key=lambda o: _date_key(o.date))
        kept.extend(group[-per_name:])
    return tuple(kept)


def sort_blood_pressures(
    readings: Iterable[BloodPressure], limit: int = MAX_BLOOD_PRESSURES
) -> tuple[BloodPressure, ...]:
    """Sort readings oldest first and keep the latest ``limit``."""
    ordered = sorted(readings, key=lambda r: _date_key(r.date))
    return tuple(ordered[-limit:])


def make_observation(
    name: str,
    value: object,
    unit: str | None,
    *,
    date: dt.date | None = None,
    code: str = "",
    system: str = "",
    display: str = "",
    warnings: list[str],
    where: str = "",
) -> Observation | None:
    """Build a canonical observation, or add a warning and return None when the value is unusable.

    Known names are converted to their canonical unit and range-checked; other
    names keep their unit and only need a finite, non-negative number.
    """
    label = f"{where}: " if where else ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        warnings.append(f"{label}{name} value is not a number; ignored")
        return None
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        warnings.append(f"{label}{name} value is not a finite number; ignored")
        return None
    spec = MEASURES.get(name)
    if spec is None:
        if number < 0:
            warnings.append(f"{label}{name} {number:g} is negative; ignored")
            return None
        return Observation(
            name=name, value=number, unit=unit or "", code=code, system=system, date=date, display=display
        )
    if number < 0 and spec.minimum >= 0:
        warnings.append(f"{label}{name} {number:g} is negative; ignored")
        return None
    try:
        canonical = spec.to_canonical(number, unit)
    except UnknownUnitError as exc:
        warnings.append(f"{label}{exc}; ignored")
        return None
    if not spec.plausible(canonical):
        warnings.append(
            f"{label}{name} {canonical:g} {spec.unit} outside plausible range "
            f"{spec.minimum:g}-{spec.maximum:g}; ignored"
        )
        return None
    return Observation(
        name=name,
        value=round(canonical, 4),
        unit=spec.unit,
        code=code or spec.loinc[0],
        system=system or LOINC_SYSTEM,
        date=date,
        display=display or spec.display,
    )


def make_blood_pressure(
    systolic: object,
    diastolic: object,
    *,
    date: dt.date | None = None,
    warnings: list[str],
    where: str = "",
) -> BloodPressure | None:
    """Build a reading, or add a warning and return None when it is impossible."""
    label = f"{where}: " if where else ""
    numbers = []
    for part in (systolic, diastolic):
        if isinstance(part, bool) or not isinstance(part, int | float):
            warnings.append(f"{label}blood pressure value is not a number; ignored")
            return None
        numbers.append(float(part))
    problem = blood_pressure_problem(numbers[0], numbers[1])
    if problem:
        warnings.append(f"{label}impossible blood pressure ({problem}); ignored")
        return None
    return BloodPressure(systolic=numbers[0], diastolic=numbers[1], date=date)


def split_observations(
    observations: Iterable[Observation],
) -> tuple[tuple[Observation, ...], tuple[Observation, ...]]:
    """Split observations into (vitals, labs) by their canonical kind; unknown names count as labs."""
    vitals: list[Observation] = []
    labs: list[Observation] = []
    for obs in observations:
        (vitals if obs.name in VITAL_NAMES else labs).append(obs)
    return keep_latest(vitals), keep_latest(labs)


def age_on(birth: dt.date, when: dt.date) -> int:
    """Whole years between ``birth`` and ``when``.

    Example:
        >>> age_on(dt.date(1960, 6, 1), dt.date(2024, 5, 31))
        63
    """
    return when.year - birth.year - ((when.month, when.day) < (birth.month, birth.day))


def record_age(birth: dt.date, record_dates: Iterable[dt.date | None], today: dt.date | None = None) -> int:
    """Age at the latest record date, or at ``today`` when there are no dated records.

    A life history ends at its last record, so guideline age thresholds apply
    to the patient as last seen, not as of the day the file is read.

    Example:
        >>> record_age(dt.date(1950, 3, 1), [dt.date(2010, 1, 1), dt.date(2019, 6, 1)])
        69
    """
    dates = [d for d in record_dates if d is not None and d >= birth]
    return age_on(birth, max(dates) if dates else (today or dt.date.today()))


def age_problem(age: float) -> str | None:
    """Return why an age is impossible, or None."""
    if age < 0 or age > 130:
        return f"age {age:g} outside 0-130"
    return None

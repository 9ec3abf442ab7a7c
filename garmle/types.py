"""Frozen data objects shared by every pipeline stage.

Data flows one way::

    files -> Document -> Chunk -> (vectors in the store)
    patient files -> Patient -> CodePrediction -> Query -> Snippet -> Recommendation -> Report

Every object is immutable and converts to and from plain dicts
(``to_dict`` / ``from_dict``) so it can be written as JSON.

Example:
    >>> chunk = Chunk(chunk_id="d1:0", doc_id="d1", text="Treat.", char_start=0, char_end=6)
    >>> Chunk.from_dict(chunk.to_dict()) == chunk
    True
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar, cast, get_type_hints

__all__ = [
    "ACTIVE_STATUSES",
    "BloodPressure",
    "Chunk",
    "CodePrediction",
    "Document",
    "Evidence",
    "Medication",
    "Observation",
    "PageSpan",
    "Patient",
    "Problem",
    "Query",
    "Recommendation",
    "Report",
    "Section",
    "Snippet",
    "VerbatimCheck",
]

T = TypeVar("T", bound="_Record")


def _plain(value: Any) -> Any:
    """Convert nested records, tuples, mappings and dates into JSON-ready values."""
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _Record:
    """Mixin giving frozen dataclasses a dict round trip."""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of this record."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
        """Rebuild a record from :meth:`to_dict` output (unknown keys are ignored)."""
        hints = _hints(cast(Any, cls))
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in data:
                continue
            kwargs[f.name] = _revive(hints[f.name], data[f.name])
        return cls(**kwargs)


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return get_type_hints(cls)


def _revive(hint: Any, value: Any) -> Any:
    """Turn a plain JSON value back into the type named by ``hint``."""
    if value is None:
        return None
    origin = getattr(hint, "__origin__", None)
    args = getattr(hint, "__args__", ()) or ()
    if origin is tuple:
        item = args[0] if args else Any
        return tuple(_revive(item, v) for v in value)
    if args and type(None) in args:  # Optional[X]
        inner = [a for a in args if a is not type(None)]
        return _revive(inner[0], value) if len(inner) == 1 else value
    if isinstance(hint, type) and issubclass(hint, _Record) and isinstance(value, Mapping):
        return hint.from_dict(value)
    if hint is dt.date and isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if (origin is not None and origin in (dict, Mapping)) or hint in (dict, Mapping):
        return dict(value)
    return value


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class PageSpan(_Record):
    """Where one source page lies in a document's canonical text."""

    page: int
    char_start: int
    char_end: int


@dataclass(frozen=True)
class Section(_Record):
    """A titled part of a document's canonical text.

    ``path`` is the heading trail, e.g. ``("Major Recommendations", "Treatment")``.
    """

    path: tuple[str, ...]
    char_start: int
    char_end: int


@dataclass(frozen=True)
class Document(_Record):
    """A guideline (or catalogue) document with its canonical text.

    ``text`` is the exact text every chunk of this document points into.

    Example:
        >>> doc = Document(doc_id="abc", title="Hypertension", text="Treat to <140/90.")
        >>> doc.text[0:5]
        'Treat'
    """

    doc_id: str
    title: str
    text: str
    source: str = "local"
    source_path: str = ""
    publisher: str = ""
    year: int | None = None
    licence: str = ""
    url: str = ""
    fmt: str = "txt"
    sections: tuple[Section, ...] = ()
    pages: tuple[PageSpan, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)

    def page_at(self, offset: int) -> int | None:
        """Return the page number holding ``offset``, or None for unpaged documents."""
        for span in self.pages:
            if span.char_start <= offset < span.char_end:
                return span.page
        return self.pages[-1].page if self.pages and offset >= self.pages[-1].char_end else None

    def section_at(self, offset: int) -> tuple[str, ...]:
        """Return the innermost section path holding ``offset`` (empty if none)."""
        best: tuple[str, ...] = ()
        for sec in self.sections:
            if sec.char_start <= offset < sec.char_end and len(sec.path) >= len(best):
                best = sec.path
        return best


@dataclass(frozen=True)
class Chunk(_Record):
    """A span of a document's canonical text: ``doc.text[char_start:char_end] == text``."""

    chunk_id: str
    doc_id: str
    text: str
    char_start: int
    char_end: int
    page: int | None = None
    section: tuple[str, ...] = ()
    ordinal: int = 0
    metadata: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- patients


@dataclass(frozen=True)
class Observation(_Record):
    """One coded measurement (vital sign or lab) with its date.

    ``name`` is a short canonical key such as ``"egfr"``, ``"hba1c"``, ``"bmi"``.
    """

    name: str
    value: float
    unit: str = ""
    code: str = ""
    system: str = ""
    date: dt.date | None = None
    display: str = ""


@dataclass(frozen=True)
class BloodPressure(_Record):
    """A blood pressure reading in mmHg."""

    systolic: float
    diastolic: float
    date: dt.date | None = None


ACTIVE_STATUSES = frozenset({"active", "recurrence", "relapse"})
"""Problem (FHIR Condition clinicalStatus) values that mean the condition is present now."""


@dataclass(frozen=True)
class Problem(_Record):
    """An active problem (condition) with its original coding and ICD-10-CM mapping."""

    display: str
    code: str = ""
    system: str = ""
    icd10: str | None = None
    onset: dt.date | None = None
    status: str = "active"

    @property
    def active(self) -> bool:
        """True for the statuses that mean the patient has the problem now."""
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class Medication(_Record):
    """An active medication."""

    display: str
    code: str = ""
    system: str = ""
    status: str = "active"
    authored: dt.date | None = None


@dataclass(frozen=True)
class Patient(_Record):
    """What garmle knows about one patient.

    ``warnings`` lists values that were flagged and ignored (impossible values,
    unknown units) so the user can see them.

    Example:
        >>> p = Patient(patient_id="p1", age=64, sex="male", notes=("Hypertension.",))
        >>> p.latest_bp is None
        True
    """

    patient_id: str
    age: int | None = None
    sex: str | None = None
    birth_date: dt.date | None = None
    blood_pressures: tuple[BloodPressure, ...] = ()
    vitals: tuple[Observation, ...] = ()
    labs: tuple[Observation, ...] = ()
    problems: tuple[Problem, ...] = ()
    medications: tuple[Medication, ...] = ()
    allergies: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    pregnant: bool | None = None
    warnings: tuple[str, ...] = ()
    postpartum: bool | None = None
    ethnicity: str | None = None

    @property
    def latest_bp(self) -> BloodPressure | None:
        """The most recent blood pressure reading, if any."""
        return self.blood_pressures[-1] if self.blood_pressures else None

    def lab(self, name: str) -> Observation | None:
        """The latest lab or vital sign called ``name``, if any."""
        found = [o for o in (*self.labs, *self.vitals) if o.name == name]
        return found[-1] if found else None


# --------------------------------------------------------------------------- coding


@dataclass(frozen=True)
class Evidence(_Record):
    """Why a code was predicted: a span of a note or a structured fact.

    ``kind`` is one of ``note``, ``observation``, ``medication``, ``allergy``, ``problem``, ``rule``,
    ``external``. For notes, ``note_index``/``char_start``/``char_end`` locate
    ``text`` in ``patient.notes[note_index]``.
    """

    kind: str
    text: str
    note_index: int | None = None
    char_start: int | None = None
    char_end: int | None = None


@dataclass(frozen=True)
class CodePrediction(_Record):
    """One predicted ICD-10-CM code.

    Example:
        >>> CodePrediction(code="I10", title="Essential (primary) hypertension", score=0.9).code
        'I10'
    """

    code: str
    title: str
    score: float
    source: str = ""
    billable: bool = True
    evidence: tuple[Evidence, ...] = ()

    @property
    def medication_only(self) -> bool:
        """True when the code rests on medications alone (no stated diagnosis, reading or result).

        Example:
            >>> ev = (Evidence("medication", "Furosemide 20 mg daily"),)
            >>> CodePrediction("I50.9", "Heart failure, unspecified", 0.45, evidence=ev).medication_only
            True
        """
        return bool(self.evidence) and all(e.kind == "medication" for e in self.evidence)


# --------------------------------------------------------------------------- retrieval


@dataclass(frozen=True)
class Query(_Record):
    """A retrieval query built for one predicted code and one aspect of care."""

    code: str
    aspect: str
    text: str
    facts: tuple[str, ...] = ()
    template_id: str = ""
    dense_text: str = ""  # the text the dense retriever embedded, when it differs from ``text``


@dataclass(frozen=True)
class Snippet(_Record):
    """A verbatim span of a source document with its full citation."""

    text: str
    doc_id: str
    chunk_id: str
    title: str
    char_start: int
    char_end: int
    score: float
    publisher: str = ""
    year: int | None = None
    page: int | None = None
    section: tuple[str, ...] = ()
    source: str = ""
    strength: str = ""
    matched_facts: tuple[str, ...] = ()
    aspect: str = ""


@dataclass(frozen=True)
class Recommendation(_Record):
    """Guideline evidence fused for one predicted code."""

    code: str
    title: str
    score: float
    snippets: tuple[Snippet, ...] = ()
    catalogue: tuple[Snippet, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class VerbatimCheck(_Record):
    """Result of checking every snippet against its source span."""

    checked: int = 0
    failed: int = 0
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report(_Record):
    """The full output of one ``recommend`` call."""

    patient: Patient
    predictions: tuple[CodePrediction, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    queries: tuple[Query, ...] = ()
    verbatim_check: VerbatimCheck = field(default_factory=VerbatimCheck)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    messages: tuple[str, ...] = ()

    def leading(self, k: int = 10) -> tuple[tuple[str, Snippet], ...]:
        """The ``k`` leading guideline snippets across codes, each with its code: the presenting
        condition's guidance takes three places for each one of every other code
        (:func:`garmle.fusion.leading_snippets`)."""
        from garmle.fusion import leading_snippets

        return tuple(leading_snippets(self.recommendations, k))

    def to_json(self, *, include_patient: bool = True, indent: int | None = 2) -> str:
        """The report as JSON text."""
        from garmle.render import report_json

        return report_json(self, include_patient=include_patient, indent=indent)

    def to_html(self, *, standalone: bool = False) -> str:
        """The report as HTML (a full page with ``standalone``)."""
        from garmle.render import report_html

        return report_html(self, standalone=standalone)

    def _repr_html_(self) -> str:
        return self.to_html()

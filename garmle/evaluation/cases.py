"""Evaluation cases: a patient, gold codes, relevance judgements and the key recommendations expected.

A case file is JSON Lines, one case per line (blank lines and lines starting with ``#`` are skipped);
``docs/evaluation.md`` documents every field. In short::

    {"id": "af-new-72f",
     "patient": {"note": "72-year-old woman ... ECG: atrial fibrillation ..."},
     "codes": [],                                  # optional: given codes (else they are predicted)
     "gold_codes": ["I48.91", "I10"],
     "relevance": [{"field": "conditions", "terms": ["atrial fibrillation"], "grade": 2},
                   {"field": "conditions", "terms": ["hypertension"], "grade": 1}],
     "key_recommendations": [
        {"id": "anticoagulation", "description": "Oral anticoagulation when CHA2DS2-VASc >= 2",
         "pattern": "CHA2DS2-VASc[^.]{0,250}anticoagula"}]}

``patient`` is ``{"path": "{mirror}/synthea-r4/patient-....json"}`` (``{mirror}`` is replaced by the
mirror directory; a relative path is read beside the case file), ``{"note": "..."}`` or ``{"form":
{...}}`` (the JSON patient form). A relevance judgement is either a rule (``field`` + ``terms``: the
document is relevant when one of the regular expressions ``terms`` matches, at a word start and
ignoring case, its metadata field such as the NGC ``conditions`` (Disease/Condition(s)) or
``ngc_id``) or explicit ``doc_ids`` / ``chunk_ids``. A key recommendation is a regular expression over
snippet text (``pattern``) or a list of ``chunk_ids``.

Example:
    >>> case = EvalCase.from_dict({"id": "c1", "patient": {"note": "HTN. BP 150/95."},
    ...     "gold_codes": ["I10"], "relevance": [{"field": "conditions", "terms": ["hypertension"]}],
    ...     "key_recommendations": [{"id": "target", "pattern": "<\\\\s*140/90"}]})
    >>> case.key_recommendations[0].matches("Treat to a goal of < 140/90 mmHg.")
    True
    >>> case.relevance[0].matches_document({"conditions": "Essential hypertension"})
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from garmle.errors import ConfigError
from garmle.types import Patient

__all__ = [
    "EvalCase",
    "KeyRecommendation",
    "PatientSpec",
    "RelevanceRule",
    "load_cases",
]

MIRROR_PLACEHOLDER = "{mirror}"
_CASE_KEYS = frozenset(
    {"id", "patient", "codes", "gold_codes", "relevance", "key_recommendations", "rationale", "conditions"}
)


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE | re.DOTALL)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regular expression {pattern!r} ({exc})") from None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a string or a list of strings, got {type(value).__name__}")


@dataclass(frozen=True)
class PatientSpec:
    """Where a case's patient comes from: a file path, a note or the JSON patient form.

    Example:
        >>> PatientSpec(note="64-year-old man with hypertension.").load().age
        64
    """

    path: str = ""
    note: str = ""
    form: Mapping[str, Any] | None = None

    @classmethod
    def from_value(cls, value: Any, where: str) -> PatientSpec:
        """Parse the ``patient`` field of a case."""
        if not isinstance(value, Mapping) or len(value) != 1:
            raise ConfigError(
                f'{where}: "patient" must be one of {{"path": ...}}, {{"note": ...}}, {{"form": ...}}'
            )
        kind, content = next(iter(value.items()))
        if kind == "path" and isinstance(content, str) and content.strip():
            return cls(path=content)
        if kind == "note" and isinstance(content, str) and content.strip():
            return cls(note=content)
        if kind == "form" and isinstance(content, Mapping):
            return cls(form=dict(content))
        raise ConfigError(f'{where}: "patient" has an empty or unknown entry {kind!r}')

    def resolve(self, mirror: Path | None, base: Path | None) -> PatientSpec:
        """Replace ``{mirror}``; a relative path is taken relative to ``base`` (the case file's folder)."""
        if not self.path:
            return self
        text = self.path
        if MIRROR_PLACEHOLDER in text:
            if mirror is None:
                raise ConfigError(f"patient path {text!r} needs a mirror directory (--mirror)")
            text = text.replace(MIRROR_PLACEHOLDER, str(mirror))
        path = Path(text)
        if not path.is_absolute() and base is not None:
            path = base / path
        return PatientSpec(path=str(path))

    def load(self) -> Patient:
        """Read the patient (raises :class:`~garmle.errors.PatientError` on bad input)."""
        from garmle.patient import load_patient

        if self.path:
            return load_patient(Path(self.path))
        if self.form is not None:
            return load_patient(self.form)
        return load_patient(self.note)

    def raw_text(self) -> str:
        """The patient as a clinician wrote it: the note, or the JSON text (what a naive RAG embeds)."""
        if self.note:
            return self.note
        if self.form is not None:
            return json.dumps(self.form, ensure_ascii=False)
        return ""

    def to_dict(self) -> dict[str, Any]:
        """The ``patient`` field as written in a case file."""
        if self.path:
            return {"path": self.path}
        if self.form is not None:
            return {"form": dict(self.form)}
        return {"note": self.note}


@dataclass(frozen=True)
class RelevanceRule:
    """A relevance judgement: by a metadata rule, or explicit document or chunk ids, with a grade.

    Example:
        >>> rule = RelevanceRule(field="conditions", terms=("diabet",), grade=2)
        >>> rule.matches_document({"conditions": "Type 2 diabetes mellitus"})
        True
    """

    field: str = ""
    terms: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    chunk_ids: tuple[str, ...] = ()
    grade: int = 1

    @classmethod
    def from_value(cls, value: Any, where: str) -> RelevanceRule:
        """Parse one entry of a case's ``relevance`` list."""
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: a relevance judgement must be an object")
        unknown = set(value) - {"field", "terms", "doc_ids", "chunk_ids", "grade"}
        if unknown:
            raise ConfigError(f"{where}: unknown relevance keys {sorted(unknown)}")
        grade = value.get("grade", 1)
        if not isinstance(grade, int) or isinstance(grade, bool) or grade < 1:
            raise ConfigError(f"{where}: grade must be a positive integer, got {grade!r}")
        rule = cls(
            field=str(value.get("field", "")),
            terms=_strings(value.get("terms"), where),
            doc_ids=_strings(value.get("doc_ids"), where),
            chunk_ids=_strings(value.get("chunk_ids"), where),
            grade=grade,
        )
        if bool(rule.field) != bool(rule.terms):
            raise ConfigError(f'{where}: a rule needs both "field" and "terms"')
        if not (rule.terms or rule.doc_ids or rule.chunk_ids):
            raise ConfigError(f'{where}: a judgement needs "field"+"terms", "doc_ids" or "chunk_ids"')
        for term in rule.terms:
            _compile(term, where)
        return rule

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.terms:
            return None
        return _compile(r"\b(?:" + "|".join(f"(?:{t})" for t in self.terms) + ")", "relevance")

    def matches_document(self, metadata: Mapping[str, str], doc_id: str = "") -> bool:
        """True when the document (its metadata and id) is judged relevant by this rule."""
        if doc_id and doc_id in self.doc_ids:
            return True
        pattern = self._pattern
        return pattern is not None and bool(pattern.search(str(metadata.get(self.field, ""))))


@dataclass(frozen=True)
class KeyRecommendation:
    """A guideline statement a clinician expects to see for the case.

    Example:
        >>> key = KeyRecommendation("metformin", pattern="metformin[^.]{0,80}first")
        >>> key.matches("Metformin is first-line.")
        True
    """

    id: str
    description: str = ""
    pattern: str = ""
    chunk_ids: tuple[str, ...] = ()

    @classmethod
    def from_value(cls, value: Any, where: str) -> KeyRecommendation:
        """Parse one entry of a case's ``key_recommendations`` list."""
        if not isinstance(value, Mapping) or not isinstance(value.get("id"), str) or not value["id"]:
            raise ConfigError(f'{where}: a key recommendation must be an object with an "id"')
        key = cls(
            id=value["id"],
            description=str(value.get("description", "")),
            pattern=str(value.get("pattern", "")),
            chunk_ids=_strings(value.get("chunk_ids"), where),
        )
        if not (key.pattern or key.chunk_ids):
            raise ConfigError(f'{where}: key recommendation {key.id!r} needs a "pattern" or "chunk_ids"')
        if key.pattern:
            _compile(key.pattern, where)
        return key

    @cached_property
    def _regex(self) -> re.Pattern[str] | None:
        return _compile(self.pattern, self.id) if self.pattern else None

    def matches(self, text: str, chunk_id: str = "") -> bool:
        """True when a snippet (its text and chunk id) states this recommendation."""
        if chunk_id and chunk_id in self.chunk_ids:
            return True
        regex = self._regex
        return regex is not None and bool(regex.search(text))


@dataclass(frozen=True)
class EvalCase:
    """One evaluation case (see the module docstring for the file format).

    Example:
        >>> EvalCase.from_dict({"id": "x", "patient": {"note": "COPD."}}).gold_codes
        ()
    """

    case_id: str
    patient: PatientSpec
    codes: tuple[str, ...] = ()
    gold_codes: tuple[str, ...] = ()
    relevance: tuple[RelevanceRule, ...] = ()
    key_recommendations: tuple[KeyRecommendation, ...] = ()
    rationale: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "case") -> EvalCase:
        """Parse and validate one case object."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: a case must be a JSON object")
        case_id = data.get("id")
        if not isinstance(case_id, str) or not case_id.strip():
            raise ConfigError(f'{where}: missing "id"')
        where = f"{where} ({case_id})"
        unknown = set(data) - _CASE_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        if "patient" not in data:
            raise ConfigError(f'{where}: missing "patient"')
        relevance = [RelevanceRule.from_value(v, where) for v in data.get("relevance") or ()]
        # "conditions": [...] is shorthand for a grade-1 rule on the conditions field.
        conditions = _strings(data.get("conditions"), where)
        if conditions:
            relevance.append(RelevanceRule(field="conditions", terms=conditions))
        keys = tuple(KeyRecommendation.from_value(v, where) for v in data.get("key_recommendations") or ())
        if len({k.id for k in keys}) != len(keys):
            raise ConfigError(f"{where}: key recommendation ids must be unique")
        return cls(
            case_id=case_id,
            patient=PatientSpec.from_value(data["patient"], where),
            codes=_strings(data.get("codes"), where),
            gold_codes=_strings(data.get("gold_codes"), where),
            relevance=tuple(relevance),
            key_recommendations=keys,
            rationale=str(data.get("rationale", "")),
        )

    def relevance_grade(self, metadata: Mapping[str, str], doc_id: str = "", chunk_id: str = "") -> int:
        """The highest grade any judgement gives this document or chunk (0: not relevant)."""
        grade = 0
        for rule in self.relevance:
            if (chunk_id and chunk_id in rule.chunk_ids) or rule.matches_document(metadata, doc_id):
                grade = max(grade, rule.grade)
        return grade


def load_cases(path: Path | str, *, mirror: Path | str | None = None) -> list[EvalCase]:
    """Read a JSONL case file; ``{mirror}`` in patient paths becomes ``mirror``.

    Raises:
        ConfigError: the file is missing, a line is not JSON, a case is malformed or ids repeat.
    """
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"case file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read case file {file}: {exc.strerror or exc}") from None
    # a relative mirror is the caller's (the working directory's), not the case file's
    mirror_dir = Path(mirror).absolute() if mirror is not None else None
    cases: list[EvalCase] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{file.name}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg})") from None
        case = EvalCase.from_dict(data, where)
        if case.case_id in seen:
            raise ConfigError(f"{where}: case id {case.case_id!r} repeats")
        seen.add(case.case_id)
        resolved = case.patient.resolve(mirror_dir, file.parent)
        cases.append(replace(case, patient=resolved))
    if not cases:
        raise ConfigError(f"case file {file} holds no cases")
    return cases

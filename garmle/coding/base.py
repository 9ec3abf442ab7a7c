"""The predictor interface, prediction checking and externally given codes.

Every predictor turns a :class:`~garmle.types.Patient` into a ranked list of
:class:`~garmle.types.CodePrediction`. Whatever produced them, predictions pass
through :func:`validate_predictions` before use: malformed or unknown codes
are rejected with a reason, titles are replaced by the catalogue title
verbatim and duplicates are merged.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> cat = IcdCatalogue()
    >>> preds = predictions_from_codes("i10, E11.9", cat)
    >>> [(p.code, p.title) for p in preds][:1]
    [('I10', 'Essential (primary) hypertension')]
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from garmle.catalogue import IcdCatalogue
from garmle.errors import CatalogueError, PredictionError
from garmle.types import CodePrediction, Evidence, Patient, Problem

__all__ = [
    "Predictor",
    "merge_evidence",
    "predictions_from_codes",
    "rank",
    "validate_predictions",
]


@runtime_checkable
class Predictor(Protocol):
    """Anything that predicts ICD-10-CM codes for a patient.

    Example:
        >>> class Fixed:
        ...     name = "fixed"
        ...     def predict(self, patient):
        ...         return []
        >>> isinstance(Fixed(), Predictor)
        True
    """

    name: str

    def predict(self, patient: Patient) -> list[CodePrediction]:
        """Return predictions for ``patient``, best first."""
        ...


def recorded_code(problem: Problem, catalogue: IcdCatalogue) -> str | None:
    """The problem's own ICD-10-CM code, normalised, when it has a valid one (None otherwise)."""
    if not problem.icd10:
        return None
    try:
        return catalogue.validate(problem.icd10)
    except CatalogueError:
        return None


def merge_evidence(*groups: Iterable[Evidence]) -> tuple[Evidence, ...]:
    """Union of evidence items, first occurrence order, duplicates dropped."""
    seen: dict[Evidence, None] = {}
    for group in groups:
        for item in group:
            seen.setdefault(item, None)
    return tuple(seen)


def rank(predictions: Iterable[CodePrediction]) -> list[CodePrediction]:
    """Sort predictions best first (ties broken by code so the order is stable)."""
    return sorted(predictions, key=lambda p: (-p.score, p.code))


def validate_predictions(
    predictions: Iterable[CodePrediction], catalogue: IcdCatalogue
) -> tuple[list[CodePrediction], list[tuple[str, str]]]:
    """Check predictions against the catalogue.

    Returns ``(kept, rejected)``: ``kept`` holds one prediction per code, best
    first, with the normalised code, the catalogue title verbatim, the
    catalogue's billable flag (non-billable parents are kept, marked
    ``billable=False``), the best score and the union of the evidence of its
    duplicates; ``rejected`` holds ``(code, reason)`` pairs.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> kept, rejected = validate_predictions(
        ...     [CodePrediction("e11", "x", 0.5), CodePrediction("XYZ", "x", 0.9)], IcdCatalogue())
        >>> kept[0].code, kept[0].billable, rejected[0][0]
        ('E11', False, 'XYZ')
    """
    best: dict[str, CodePrediction] = {}
    rejected: list[tuple[str, str]] = []
    for pred in predictions:
        raw = pred.code if isinstance(pred.code, str) else repr(pred.code)
        if not isinstance(pred.code, str):
            rejected.append((raw, "code is not text"))
            continue
        score = pred.score
        if not isinstance(score, int | float) or isinstance(score, bool) or not math.isfinite(score):
            rejected.append((raw, f"score {score!r} is not a finite number"))
            continue
        try:
            code = catalogue.normalize(pred.code)
        except CatalogueError:
            rejected.append((raw, "malformed ICD-10-CM code"))
            continue
        if not catalogue.is_valid(code):
            rejected.append((raw, "not in the ICD-10-CM 2026 tabular list"))
            continue
        entry = catalogue.lookup(code)
        fixed = replace(pred, code=code, title=entry.title, billable=entry.billable, score=float(score))
        old = best.get(code)
        if old is None:
            best[code] = fixed
            continue
        top, other = (fixed, old) if fixed.score > old.score else (old, fixed)
        sources = [s for s in dict.fromkeys([*top.source.split("+"), *other.source.split("+")]) if s]
        best[code] = replace(
            top, source="+".join(sources), evidence=merge_evidence(top.evidence, other.evidence)
        )
    return rank(best.values()), rejected


def _parse_codes(codes: Sequence[Any] | str) -> list[tuple[str, float]]:
    """Read ``"I10,E11.9"``, a JSON list of codes or of ``{"code", "score"}`` objects, or a sequence."""
    items: Any = codes
    if isinstance(codes, str):
        text = codes.strip()
        if text.startswith(("[", "{")):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as exc:
                raise PredictionError(f"codes are not valid JSON: {exc.msg} at char {exc.pos}") from exc
            if isinstance(items, Mapping):
                items = [items]
        else:
            items = [part for part in text.replace(";", ",").replace("\n", ",").split(",")]
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise PredictionError("codes must be a list of ICD-10-CM codes or of {code, score} objects")
    out: list[tuple[str, float]] = []
    for item in items:
        if isinstance(item, str):
            if item.strip():
                out.append((item.strip(), 1.0))
            continue
        if isinstance(item, Mapping) and isinstance(item.get("code"), str):
            score = item.get("score", 1.0)
            if isinstance(score, bool) or not isinstance(score, int | float) or not 0.0 <= score <= 1.0:
                raise PredictionError(
                    f"score of code {item['code']!r} must be a number from 0 to 1, got {score!r}"
                )
            out.append((item["code"].strip(), float(score)))
            continue
        raise PredictionError(f"cannot read code entry {item!r}: expected a code or a {{code, score}} object")
    if not out:
        raise PredictionError("no ICD-10-CM codes given")
    return out


def predictions_from_codes(
    codes: Sequence[Any] | str, catalogue: IcdCatalogue, source: str = "external"
) -> list[CodePrediction]:
    """Turn codes given by a user or another system into predictions.

    Accepts ``"I10,E11.9"``, JSON text (``'["I10"]'`` or
    ``'[{"code": "I10", "score": 0.8}]'``) or a list of either kind. Scores
    default to 1.0. An unknown or malformed code is the user's mistake and
    raises :class:`~garmle.errors.CatalogueError` naming it.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> predictions_from_codes('[{"code": "I10", "score": 0.7}]', IcdCatalogue())[0].score
        0.7
    """
    preds: list[CodePrediction] = []
    for code, score in _parse_codes(codes):
        norm = catalogue.validate(code)
        preds.append(
            CodePrediction(
                code=norm,
                title=catalogue.title(norm),
                score=score,
                source=source,
                evidence=(Evidence(kind="external", text=f"{norm} given as input"),),
            )
        )
    kept, _ = validate_predictions(preds, catalogue)
    # Best score first; equal scores keep the order the codes were given in.
    order = {p.code: i for i, p in reversed(list(enumerate(preds)))}
    kept.sort(key=lambda p: (-p.score, order.get(p.code, len(order))))
    return kept

"""Merging several predictors into one ranked list.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> from garmle.coding.ehr import EhrCoder
    >>> from garmle.types import Medication, Patient
    >>> both = CombinedPredictor([EhrCoder(IcdCatalogue())])
    >>> both.predict(Patient("p", medications=(Medication("levothyroxine 50 mcg"),)))[0].code
    'E03.9'
"""

from __future__ import annotations

from collections.abc import Sequence

from garmle.catalogue import IcdCatalogue
from garmle.coding.base import Predictor, merge_evidence, rank
from garmle.embedding import Embedder
from garmle.errors import ConfigError
from garmle.types import CodePrediction, Patient

__all__ = ["CombinedPredictor", "default_predictor"]

_MODES = ("noisy_or", "max", "weighted_sum")


class CombinedPredictor:
    """Run several predictors and merge their predictions by code.

    Args:
        predictors: the predictors to run, in order.
        weights: one weight in ``[0, 1]`` per predictor (all 1.0 by default);
            each prediction's score is multiplied by its predictor's weight.
        mode: ``noisy_or`` (agreeing predictors raise the score:
            ``1 - prod(1 - w*s)``), ``max`` (best weighted score) or
            ``weighted_sum`` (sum of weighted scores over the sum of weights).

        catalogue: when given, the merged list follows the ICD-10-CM coding
            conventions of :func:`garmle.coding.reconcile.reconcile` (specific
            codes absorb their unspecified siblings; hypertension combination codes).

    The merged prediction keeps the union of the evidence and joins the
    sources with ``+``.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> from garmle.coding.ehr import EhrCoder
        >>> CombinedPredictor([EhrCoder(IcdCatalogue())], weights=[0.5]).name
        'ehr'
    """

    def __init__(
        self,
        predictors: Sequence[Predictor],
        weights: Sequence[float] | None = None,
        *,
        mode: str = "noisy_or",
        catalogue: IcdCatalogue | None = None,
    ) -> None:
        if not predictors:
            raise ConfigError("CombinedPredictor needs at least one predictor")
        weights = list(weights) if weights is not None else [1.0] * len(predictors)
        if len(weights) != len(predictors):
            raise ConfigError(f"got {len(weights)} weights for {len(predictors)} predictors")
        if any(not 0.0 <= w <= 1.0 for w in weights):
            raise ConfigError(f"weights must lie in [0, 1], got {weights}")
        if mode not in _MODES:
            raise ConfigError(f"combination mode {mode!r} is not one of {', '.join(_MODES)}")
        self.predictors = list(predictors)
        self.weights = weights
        self.mode = mode
        self.catalogue = catalogue
        self.name = "+".join(p.name for p in self.predictors)

    def predict(self, patient: Patient) -> list[CodePrediction]:
        """Predictions of every predictor merged by code, best first."""
        by_code: dict[str, list[tuple[float, CodePrediction]]] = {}
        for predictor, weight in zip(self.predictors, self.weights, strict=True):
            for pred in predictor.predict(patient):
                by_code.setdefault(pred.code, []).append((weight, pred))
        merged = []
        total = sum(self.weights) or 1.0
        for code, items in by_code.items():
            scores = [w * p.score for w, p in items]
            if self.mode == "max":
                score = max(scores)
            elif self.mode == "weighted_sum":
                score = sum(scores) / total
            else:
                miss = 1.0
                for s in scores:
                    miss *= 1.0 - min(1.0, s)
                score = 1.0 - miss
            first = max(items, key=lambda x: x[0] * x[1].score)[1]
            sources = [s for s in dict.fromkeys(p.source for _, p in items) if s]
            merged.append(
                CodePrediction(
                    code=code,
                    title=first.title,
                    score=round(min(score, 0.999), 4),
                    source="+".join(sources),
                    billable=first.billable,
                    evidence=merge_evidence(*(p.evidence for _, p in items)),
                )
            )
        if self.catalogue is not None:
            from garmle.coding.reconcile import reconcile

            return reconcile(merged, self.catalogue, pregnant=bool(patient.pregnant), notes=patient.notes)
        return rank(merged)


def default_predictor(
    embedder: Embedder | None, catalogue: IcdCatalogue, *, use_recorded_problems: bool = True
) -> Predictor:
    """The standard predictor: zero-shot note coding plus the structured-record rules and the
    long-term drug therapy the record lists (:mod:`garmle.coding.drug_therapy`), then the screening
    the record qualifies for (:mod:`garmle.coding.screening`).

    Args:
        embedder: re-ranks note matches (``None``: lexical matching alone).
        catalogue: the ICD-10-CM catalogue.
        use_recorded_problems: pass problems coded in the record through; turn
            off to score a predictor against those very problems.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> default_predictor(None, IcdCatalogue()).name  # doctest: +SKIP
        'catalogue+ehr+medication+screening'
    """
    from garmle.coding.catalogue_coder import CatalogueCoder
    from garmle.coding.drug_therapy import DrugTherapyCoder
    from garmle.coding.ehr import EhrCoder
    from garmle.coding.screening import ScreeningCoder

    return ScreeningCoder(
        CombinedPredictor(
            [
                CatalogueCoder(catalogue, embedder),
                EhrCoder(catalogue, use_recorded_problems=use_recorded_problems),
                DrugTherapyCoder(catalogue),
            ],
            weights=[1.0, 1.0, 1.0],
            catalogue=catalogue,
        )
    )

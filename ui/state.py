"""Cached resources and per-session state of the dashboard.

The embedding model and the :class:`~garmle.Recommender` are shared by every browser
session (``st.cache_resource``); the patient, the codes under review and the report live
only in that session's ``st.session_state`` and are never written to disk.

Example:
    >>> review = Review(patient=Patient("p1"), label="sample")
    >>> review.chosen_codes()
    []
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from garmle.config import Settings
from garmle.types import CodePrediction, Patient, Report

if TYPE_CHECKING:
    from garmle.embedding import Embedder
    from garmle.recommender import Recommender

__all__ = [
    "Review",
    "current_review",
    "dashboard_collection",
    "dashboard_settings",
    "open_embedder",
    "open_recommender",
    "recommender_for",
    "set_review",
]

REVIEW_KEY = "garmle_review"
ENV_COLLECTION = "GARMLE_COLLECTION"


@dataclass
class Review:
    """One patient under review in one browser session.

    Attributes:
        patient: the loaded patient.
        label: where the patient came from (sample name, file name, "typed note").
        predicted: codes the predictor proposed for this patient (with evidence).
        added: codes the clinician added (validated against the catalogue).
        removed: codes the clinician set aside.
        report: the latest report, or None before the first run.
        report_codes: the codes the latest report was made for.

    Example:
        >>> r = Review(Patient("p1"), "note", predicted=[CodePrediction("I10", "Hypertension", 0.9)])
        >>> r.removed.add("I10"); r.chosen_codes()
        []
    """

    patient: Patient
    label: str
    predicted: list[CodePrediction] = field(default_factory=list)
    added: list[CodePrediction] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    report: Report | None = None
    report_codes: tuple[str, ...] = ()

    def candidates(self) -> list[CodePrediction]:
        """Predicted then added codes, each code once."""
        seen: dict[str, CodePrediction] = {}
        for pred in (*self.predicted, *self.added):
            seen.setdefault(pred.code, pred)
        return list(seen.values())

    def chosen(self) -> list[CodePrediction]:
        """The codes the clinician keeps, in display order."""
        return [p for p in self.candidates() if p.code not in self.removed]

    def chosen_codes(self) -> list[str]:
        """The kept codes."""
        return [p.code for p in self.chosen()]

    def is_stale(self) -> bool:
        """True when the kept codes differ from those of the shown report (order aside)."""
        return self.report is not None and set(self.chosen_codes()) != set(self.report_codes)

    def take_report(self, report: Report, codes: Sequence[str]) -> None:
        """Keep ``report`` as the current one, showing each code's original prediction and evidence.

        A re-run with edited codes passes them to the recommender as given codes; the
        predictions shown stay those the clinician reviewed, not their "given" copies.
        """
        known = {p.code: p for p in self.candidates()}
        predictions = tuple(known.get(p.code, p) for p in report.predictions)
        self.report = dataclasses.replace(report, predictions=predictions)
        self.report_codes = tuple(codes)


def current_review() -> Review | None:
    """The review of this browser session, if a patient is loaded."""
    review = st.session_state.get(REVIEW_KEY)
    return review if isinstance(review, Review) else None


def set_review(review: Review | None) -> None:
    """Replace (or with None clear) this session's review."""
    if review is None:
        st.session_state.pop(REVIEW_KEY, None)
    else:
        st.session_state[REVIEW_KEY] = review


def dashboard_settings() -> Settings:
    """Settings from ``GARMLE_INDEX``, ``GARMLE_CHROMA_URL``, ``GARMLE_MODEL`` and ``GARMLE_DEVICE``."""
    return Settings.from_env()


@st.cache_resource(show_spinner="Loading the embedding model…")
def open_embedder(model: str | None, device: str | None) -> Embedder:
    """The embedding model, loaded once per process for every session."""
    from garmle.embedding import make_embedder

    return make_embedder(Settings(model_dir=_path(model), device=device))


@st.cache_resource(show_spinner="Opening the guideline index…")
def open_recommender(
    index_dir: str, chroma_url: str | None, model: str | None, device: str | None, collection: str
) -> Recommender:
    """The recommender on one index, opened once per process (a failure is not cached)."""
    from garmle.recommender import Recommender

    settings = Settings(
        index_dir=Path(index_dir), chroma_url=chroma_url, model_dir=_path(model), device=device
    )
    return Recommender.open(settings=settings, embedder=open_embedder(model, device), collection=collection)


def dashboard_collection() -> str:
    """The collection name prefix inside the store (``GARMLE_COLLECTION``, as for the CLI)."""
    return os.environ.get(ENV_COLLECTION) or "garmle"


def recommender_for(settings: Settings, collection: str | None = None) -> Recommender:
    """The cached recommender for ``settings`` (and ``collection``, by default from the environment).

    Raises:
        GarmleError: no index, an unreachable server or a model other than the index's.
    """
    return open_recommender(*_key(settings), collection or dashboard_collection())


def _key(settings: Settings) -> tuple[str, str | None, str | None, str | None]:
    model = str(settings.model_dir) if settings.model_dir is not None else None
    return str(settings.index_dir), settings.chroma_url, model, settings.device


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None

"""garmle clinician dashboard: guideline evidence for one patient, verbatim and cited.

Start it with ``garmle ui`` or ``streamlit run ui/app.py``. The index, the model and the
Chroma server come from ``GARMLE_INDEX``, ``GARMLE_MODEL``, ``GARMLE_CHROMA_URL`` (and
``GARMLE_DEVICE``). Every step goes through :class:`garmle.Recommender`; the page only shows
what it returns. The patient stays in this browser session's memory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# `streamlit run ui/app.py` puts only ui/ on the import path; the sections import as `ui.*`.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st  # noqa: E402

from garmle.config import offline_environment  # noqa: E402
from garmle.errors import GarmleError  # noqa: E402
from garmle.ingest.ngc import POPULATION_GROUPS  # noqa: E402
from garmle.retrieval import SearchFilter  # noqa: E402
from ui import state  # noqa: E402
from ui.markup import escape_markdown  # noqa: E402
from ui.theme import STYLE  # noqa: E402

if TYPE_CHECKING:
    from garmle.config import Settings
    from garmle.embedding import Embedder
    from garmle.recommender import Recommender
    from garmle.store import ChromaStore

PATIENT_PAGE = "Patient review"
INDEX_PAGE = "Guideline index"


def main() -> None:
    """Lay out the sidebar and the chosen page."""
    offline_environment()
    st.set_page_config(page_title="garmle · guideline evidence", page_icon=":material/clinical_notes:",
                       layout="wide")  # fmt: skip
    st.html(STYLE)
    with st.sidebar:
        st.markdown("## :material/clinical_notes: garmle")
        st.caption(
            "Guideline recommendations for the patient in front of you: verbatim passages, every one cited."
        )
        page = st.radio("Page", [PATIENT_PAGE, INDEX_PAGE], key="page", label_visibility="collapsed")
    try:
        settings = state.dashboard_settings()
    except GarmleError as exc:
        st.error(f"The dashboard settings are not usable: {exc}")
        return
    recommender, problem = _recommender(settings)
    # Streamlit forgets the state of widgets a run does not draw; keep the report options
    # while the index page is shown.
    for key in ("top_k", "max_codes", "populations", "publisher", "min_year"):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
    with st.sidebar:
        _index_status(recommender, problem)
        if page == PATIENT_PAGE:
            st.divider()
            st.markdown("**Report options**")
            st.slider(
                "Guideline passages per code",
                1,
                10,
                3,
                key="top_k",
                help="Applies to the next run: load a patient or update the recommendations.",
            )
            st.slider("Predicted codes to keep", 1, 10, 5, key="max_codes")  # fmt: skip
            with st.expander("Which guidelines", icon=":material/filter_alt:"):
                st.multiselect(
                    "Target population",
                    POPULATION_GROUPS,
                    key="populations",
                    help="Only guidelines whose stated target population includes one of these groups; "
                    "guidelines that state none are kept.",
                )
                st.text_input("Publisher contains", key="publisher")
                st.number_input(
                    "Published in or after",
                    min_value=1950,
                    max_value=2100,
                    value=None,
                    step=1,
                    key="min_year",
                )
    if page == INDEX_PAGE:
        _index_page(settings, recommender)
    else:
        _patient_page(recommender, problem)


def _recommender(settings: Settings) -> tuple[Recommender | None, str | None]:
    try:
        return state.recommender_for(settings), None
    except GarmleError as exc:
        return None, str(exc)


def _index_status(recommender: Recommender | None, problem: str | None) -> None:
    if recommender is None:
        st.error(f"No guideline index: {problem}", icon=":material/database_off:")
        return
    stats = recommender.store.stats()
    st.caption(
        f":material/database: {stats['documents']} documents · {stats['chunks']} passages  \n"
        f"model `{Path(str(stats['embedding_model'])).name}`"
    )


def _patient_page(recommender: Recommender | None, problem: str | None) -> None:
    from ui.codes import render_codes
    from ui.patient_input import render_patient_input
    from ui.report_view import render_export, render_recommendations, render_verbatim_check
    from ui.summary import render_notes, render_summary

    st.title("Patient review")
    if recommender is None:
        st.error(
            "Recommendations need a guideline index, and none could be opened. "
            f"{problem}. Informatics staff can build one on the Guideline index page "
            "or with `garmle index add`.",
            icon=":material/database_off:",
        )
        return
    review = state.current_review()
    # A new label makes a new expander, so it folds away once a patient is loaded.
    title = "Load a patient" if review is None else "Load another patient"
    with st.expander(title, expanded=review is None, icon=":material/person_add:"):
        loaded = render_patient_input(recommender.load_patient)
    if loaded is not None:
        patient, label = loaded
        review = state.Review(patient=patient, label=label)
        _clear_code_boxes()
        state.set_review(review)
        if _run(recommender, review, given=False):
            st.rerun()
    if review is None:
        st.info(
            "Load a patient to begin: pick a sample, upload a FHIR R4 bundle, patient JSON or note, "
            "or type a note with a few vitals. The record stays in this browser session only.",
            icon=":material/person_search:",
        )
        return

    head = st.columns([5, 1], vertical_alignment="center")
    head[0].subheader(f"Patient `{review.patient.patient_id}`", anchor=False)
    head[0].caption(escape_markdown(review.label))
    if head[1].button("Close patient", icon=":material/close:", key="close_patient"):
        state.set_review(None)
        _clear_code_boxes()
        # A new uploader key also drops the uploaded record from the session.
        st.session_state["upload_generation"] = st.session_state.get("upload_generation", 0) + 1
        st.rerun()

    st.subheader("Summary")
    render_summary(review.patient)

    st.subheader("ICD-10-CM codes")
    if render_codes(review, recommender.catalogue) and _run(recommender, review, given=True):
        st.rerun()  # redraw the code list against the new report
    if review.patient.notes:
        with st.expander("Clinical notes with the evidence for each code", icon=":material/description:"):
            render_notes(review.patient, review.candidates())

    st.subheader("Guideline recommendations")
    if review.report is None:
        st.info("No recommendations yet: keep or add a code and press Update recommendations.")
        return
    render_verbatim_check(review.report)
    render_recommendations(review.report, recommender.document)

    st.subheader("Export")
    render_export(review.report)


def _run(recommender: Recommender, review: state.Review, *, given: bool) -> bool:
    """Predict (first run) or use the kept codes (re-run), then fetch the recommendations."""
    top_k = int(st.session_state.get("top_k", 3))
    max_codes = int(st.session_state.get("max_codes", 5))
    # Kept codes go in as JSON so each keeps the confidence the clinician saw.
    codes = json.dumps([{"code": p.code, "score": p.score} for p in review.chosen()]) if given else None
    try:
        with st.spinner("Finding guideline evidence for this patient…"):
            report = recommender.recommend(
                review.patient, codes, top_k=top_k, max_codes=max_codes, search_filter=_search_filter()
            )
    except GarmleError as exc:
        st.error(f"Recommendations could not be made: {exc}")
        return False
    if not given:
        review.predicted = list(report.predictions)
    review.take_report(report, [p.code for p in report.predictions])
    return True


def _search_filter() -> SearchFilter | None:
    """The sidebar's guideline filters (None when none is set)."""
    populations = tuple(st.session_state.get("populations") or ())
    publisher = str(st.session_state.get("publisher") or "").strip()
    year = st.session_state.get("min_year")
    if not (populations or publisher or year):
        return None
    return SearchFilter(
        publishers=(publisher,) if publisher else (),
        min_year=int(year) if year else None,
        populations=populations,
    )


def _clear_code_boxes() -> None:
    for key in [k for k in st.session_state if str(k).startswith(("keep:", "src:"))]:
        del st.session_state[key]


def _index_page(settings: Settings, recommender: Recommender | None) -> None:
    from ui.index_page import render_index_page

    store = recommender.store if recommender is not None else _existing_store(settings)
    model = str(settings.model_dir) if settings.model_dir is not None else None

    def embedder() -> Embedder:
        if recommender is not None:
            return recommender.embedder
        return state.open_embedder(model, settings.device)

    if render_index_page(settings, store, embedder):
        st.rerun()


def _existing_store(settings: Settings) -> ChromaStore | None:
    from garmle.store import ChromaStore

    try:
        return ChromaStore.open(
            settings.index_dir, url=settings.chroma_url, collection=state.dashboard_collection()
        )
    except GarmleError:
        return None


main()

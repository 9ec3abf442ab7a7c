"""The guideline index page for informatics staff: list, upload and index, remove.

Uploaded guideline files are written to a temporary folder only while they are parsed
(the parsers read files), then deleted; the index keeps their canonical text.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from garmle.config import Settings
from garmle.errors import GarmleError

if TYPE_CHECKING:
    from garmle.indexing import IndexReport
    from garmle.store import ChromaStore

__all__ = ["GUIDELINE_TYPES", "index_uploads", "render_index_page", "upload_outcome", "upload_path"]

GUIDELINE_TYPES = ["pdf", "html", "htm", "md", "markdown", "txt"]
UPLOAD_SOURCE = "local"
FLASH_KEY = "garmle_index_flash"


def render_index_page(settings: Settings, store: ChromaStore | None, embedder_for: Any) -> bool:
    """Show the index contents and the upload and remove tools.

    Args:
        settings: where the index is.
        store: the open store, or None when no index exists yet.
        embedder_for: returns the embedding model (loaded on first use).

    Returns:
        True when the index changed (the caller reruns the page to show it; the outcome
        message is kept in session state until then).
    """
    st.header("Guideline index")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        kind, text = flash
        (st.success if kind == "success" else st.warning)(text)
    location = settings.chroma_url or str(settings.index_dir)
    if store is None:
        st.info(
            f"There is no guideline index at `{location}` yet. Upload guideline files below to create "
            "it, or build one from the command line: `garmle --index "
            f"{settings.index_dir} index add demo icd10cm:I00-I99`."
        )
        records = []
    else:
        stats = store.stats()
        cols = st.columns(4)
        cols[0].metric("Guidelines and catalogue documents", stats["documents"])
        cols[1].metric("Indexed passages", stats["chunks"])
        cols[2].metric("Sources", len(stats["sources"]))
        cols[3].metric("Embedding model", Path(str(stats["embedding_model"] or "none")).name)
        st.caption(f"Index: `{location}` · created {stats['created'] or 'unknown'}")
        records = store.list_documents()
        _document_table(records)
    changed = _upload_section(settings, store, embedder_for)
    if records:
        changed = _remove_section(store, records, embedder_for) or changed
    return changed


def _document_table(records: Sequence[Any]) -> None:
    st.subheader("Indexed documents")
    if not records:
        st.info("The index exists but holds no documents yet.")
        return
    sources = sorted({r.source for r in records})
    cols = st.columns([3, 2])
    query = cols[0].text_input("Filter by title", key="index_filter", placeholder="e.g. hypertension")
    picked = cols[1].multiselect("Sources", sources, default=sources, key="index_sources")
    shown = [r for r in records if r.source in picked and (not query or query.lower() in r.title.lower())]
    st.dataframe(
        [
            {
                "Title": r.title,
                "Source": r.source,
                "Publisher": r.publisher,
                "Year": str(r.year or ""),
                "Passages": r.n_chunks,
                "Added": r.added[:10],
                "Id": r.doc_id,
            }
            for r in shown
        ],
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * max(1, len(shown))),
        column_config={
            "Title": st.column_config.TextColumn(width="large"),
            "Publisher": st.column_config.TextColumn(width="medium"),
            "Year": st.column_config.TextColumn(width="small"),
            "Passages": st.column_config.NumberColumn(width="small"),
            "Added": st.column_config.TextColumn(width="small"),
            "Id": st.column_config.TextColumn(width="small"),
        },
    )
    st.caption(f"{len(shown)} of {len(records)} documents shown")


def _upload_section(settings: Settings, store: ChromaStore | None, embedder_for: Any) -> bool:
    st.subheader("Add guidelines")
    files = st.file_uploader(
        "Guideline files (PDF, HTML, Markdown or text)",
        type=GUIDELINE_TYPES,
        accept_multiple_files=True,
        key="guideline_upload",
    )
    cols = st.columns(2)
    publisher = cols[0].text_input("Publisher (used when the file does not say)", key="upload_publisher")
    year = cols[1].number_input("Year (used when the file does not say)", 1950, 2100, value=None, step=1)
    if not st.button("Index uploaded files", type="primary", disabled=not files, key="index_uploads"):
        return False
    meta = {"publisher": publisher.strip()} if publisher.strip() else {}
    if year is not None:
        meta["year"] = str(int(year))
    try:
        if store is None:
            from garmle.store import ChromaStore
            from ui.state import dashboard_collection

            store = ChromaStore.open(
                settings.index_dir, url=settings.chroma_url, collection=dashboard_collection(), create=True
            )
        with st.spinner("Loading the embedding model…"):
            embedder = embedder_for()
        bar = st.progress(0.0, text="Starting…")

        def progress(done: int, total: int | None, name: str) -> None:
            share = done / total if total else 0.0
            bar.progress(min(share, 1.0), text=f"Indexing {done} of {total or '?'}: {name}")

        report = index_uploads(store, embedder, [(f.name, f.getvalue()) for f in files or []], meta, progress)
    except GarmleError as exc:
        st.error(f"Indexing failed: {exc}")
        return False
    bar.progress(1.0, text="Done")
    st.session_state[FLASH_KEY] = upload_outcome(report)
    return True


def upload_outcome(report: IndexReport) -> tuple[str, str]:
    """``(kind, message)`` saying what an upload did; kind is ``success`` or ``warning``."""
    summary = report.to_dict()
    text = (
        f"Added {summary['added']} documents ({summary['chunks']} passages), "
        f"replaced {summary['replaced']}, unchanged {summary['unchanged']}."
    )
    if not report.failed:
        return "success", text
    reasons = "; ".join(
        f"{Path(source).name}: {error.replace(source, Path(source).name)}" for source, error in report.failed
    )
    return "warning", f"{text} {len(report.failed)} files could not be indexed — {reasons}"


def upload_path(folder: Path, name: str) -> Path:
    """A safe path in ``folder`` for an uploaded file called ``name`` (no directories, no odd characters).

    Example:
        >>> upload_path(Path("/tmp/x"), "../../etc/Hypertension guideline (2017).pdf").name
        'Hypertension_guideline_2017.pdf'
    """
    base = Path(name).name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(base).stem).strip("._") or "guideline"
    suffix = re.sub(r"[^A-Za-z0-9.]", "", Path(base).suffix.lower())
    return folder / f"{stem}{suffix}"


def index_uploads(
    store: ChromaStore,
    embedder: Any,
    files: Sequence[tuple[str, bytes]],
    meta: dict[str, str],
    progress: Any = None,
) -> IndexReport:
    """Index uploaded files (name, content) with the project's indexer.

    Each file is parsed from a fixed per-name path, so uploading a changed version of a file
    replaces the version indexed before.
    """
    from garmle.indexing import Indexer

    folder = Path(tempfile.gettempdir()) / "garmle-guideline-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    try:
        for name, content in files:
            path = upload_path(folder, name)
            path.write_bytes(content)
            paths.append(path)
        with Indexer(store, embedder) as indexer:
            return indexer.add_files([(p, UPLOAD_SOURCE, dict(meta)) for p in paths], progress=progress)
    finally:
        for path in paths:
            path.unlink(missing_ok=True)


def _remove_section(store: ChromaStore | None, records: Sequence[Any], embedder_for: Any) -> bool:
    if store is None:
        return False
    st.subheader("Remove guidelines")
    titles = {r.doc_id: f"{r.title[:90]} ({r.source}, {r.doc_id})" for r in records}
    chosen = st.multiselect(
        "Documents to remove", list(titles), format_func=titles.__getitem__, key="remove_choice"
    )
    confirm = st.checkbox(
        "I understand the removed guidelines will no longer be cited in any report.",
        key="remove_confirm",
    )
    if not st.button("Remove from index", disabled=not (chosen and confirm), key="remove_docs"):
        return False
    from garmle.indexing import Indexer

    try:
        with st.spinner("Removing…"), Indexer(store, embedder_for()) as indexer:
            removed = indexer.remove(chosen)
    except GarmleError as exc:
        st.error(f"Removing failed: {exc}")
        return False
    st.session_state[FLASH_KEY] = ("success", f"Removed {len(chosen)} documents ({removed} passages).")
    st.session_state.pop("remove_choice", None)
    return True

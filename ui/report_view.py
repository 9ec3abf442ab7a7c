"""Recommendations per code: verbatim snippets, their citations, the source text, and the export."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from garmle.errors import GarmleError
from garmle.render import citation, leading_shown
from garmle.types import Document, Recommendation, Report, Snippet
from ui.markup import badge, escape_markdown, highlight_terms, source_view

__all__ = ["render_export", "render_recommendations", "render_verbatim_check", "snippet_card"]

FactTerms = Mapping[str, Sequence[str]]


def render_verbatim_check(report: Report) -> None:
    """Say whether every shown snippet matched its source text exactly."""
    check = report.verbatim_check
    if check.checked == 0:
        return
    if check.failed == 0:
        st.success(
            f"Verbatim check passed: all {check.checked} passages shown match their source documents "
            "character for character.",
            icon=":material/verified:",
        )
    else:
        st.error(
            f"Verbatim check: {check.failed} of {check.checked} passages did not match their source "
            "and were removed from this report.",
            icon=":material/error:",
        )
        with st.expander("Passages removed by the verbatim check"):
            for item in check.dropped:
                st.markdown(f"- {escape_markdown(item)}")


def render_recommendations(report: Report, open_document: Callable[[str], Document]) -> None:
    """One bordered block per code with its catalogue entry and its guideline passages."""
    from garmle.query import fact_terms

    for message in report.messages:
        st.caption(f":material/info: {escape_markdown(message)}")
    if not report.recommendations:
        st.info("No codes were kept, so there are no recommendations. Keep or add a code above.")
        return
    leading = leading_shown(report)
    if leading:
        with st.expander("Leading evidence across codes (the presenting condition first)"):
            st.markdown(
                "\n".join(
                    f"{rank}. `{code}` {escape_markdown(citation(snip))}"
                    for rank, (code, snip) in enumerate(leading, start=1)
                )
            )
    for number, rec in enumerate(report.recommendations):
        terms = fact_terms(report.patient, rec.code, list(report.predictions))
        with st.container(border=True):
            _recommendation(rec, number, terms, open_document)


def _recommendation(
    rec: Recommendation,
    number: int,
    terms: FactTerms,
    open_document: Callable[[str], Document],
) -> None:
    count = len(rec.snippets)
    st.markdown(
        f"#### `{rec.code}` {escape_markdown(rec.title)}\n"
        f"{count} guideline passage{'s' if count != 1 else ''}"
    )
    for snip in rec.catalogue:
        with st.expander("ICD-10-CM tabular entry (notes, inclusion and exclusion terms)"):
            st.html(f'<div class="garmle-catalogue">{html.escape(snip.text)}</div>')
    if not rec.snippets:
        st.warning(
            (rec.note or "No guideline evidence found for this code.").capitalize()
            + ". The index may hold no guideline on this condition; informatics staff can add one on "
            "the Guideline index page.",
            icon=":material/search_off:",
        )
        return
    for rank, snip in enumerate(rec.snippets, start=1):
        matched = {fact: terms.get(fact, ()) for fact in snip.matched_facts}
        st.html(snippet_card(snip, rank, matched))
        key = f"src:{number}:{rank}:{snip.chunk_id}:{snip.char_start}"
        if st.toggle("Show in source document", key=key):
            _source(snip, open_document)


def snippet_card(snippet: Snippet, rank: int, matched: FactTerms) -> str:
    """HTML of one verbatim passage with matched patient facts marked, and its citation below.

    Example:
        >>> s = Snippet(text="Check eGFR.", doc_id="d", chunk_id="d:0", title="CKD", char_start=0,
        ...             char_end=11, score=0.5, publisher="KDIGO", year=2012)
        >>> "<mark" in snippet_card(s, 1, {"eGFR 48": ["egfr"]})
        True
    """
    labels = [badge(f"{rank}", "info")]
    if snippet.strength:
        labels.append(badge(f"Strength: {snippet.strength}", "good"))
    if snippet.aspect:
        labels.append(badge(snippet.aspect.replace("_", " ")))
    who = ", ".join(str(p) for p in (snippet.publisher, snippet.year) if p)
    where = []
    if snippet.section:
        where.append(" › ".join(snippet.section))
    if snippet.page is not None:
        where.append(f"page {snippet.page}")
    where.append(f"characters {snippet.char_start}–{snippet.char_end}")
    text = highlight_terms(snippet.text, dict(matched), css_class="garmle-fact")
    facts = (
        '<div class="garmle-facts">Matches this patient: '
        + " ".join(badge(fact, "warn") for fact in matched)
        + "</div>"
        if matched
        else ""
    )
    return (
        '<div class="garmle-snippet">'
        f'<div class="garmle-labels">{" ".join(labels)}</div>'
        f'<blockquote class="garmle-verbatim">{text}</blockquote>{facts}'
        f'<div class="garmle-cite"><strong>{html.escape(snippet.title or snippet.doc_id)}</strong>'
        + (f" — {html.escape(who)}" if who else "")
        + f'<br><span class="garmle-where">{html.escape(" · ".join(where))} · '
        f"document {html.escape(snippet.doc_id)}</span></div>"
        "</div>"
    )


def _source(snip: Snippet, open_document: Callable[[str], Document]) -> None:
    try:
        doc = open_document(snip.doc_id)
    except GarmleError as exc:
        st.error(f"The source document could not be opened: {exc}")
        return
    view = source_view(doc, snip.char_start, snip.char_end)
    where = " › ".join(view.section) if view.section else "no section heading"
    page = f" · page {view.page}" if view.page is not None else ""
    meta = ", ".join(str(p) for p in (doc.publisher, doc.year) if p)
    st.caption(
        escape_markdown(f"{doc.title}{' — ' + meta if meta else ''} · {where}{page}")
        + (f" · [original]({doc.url})" if doc.url.startswith(("http://", "https://")) else "")
    )
    before = "… " if view.truncated_before else ""
    after = " …" if view.truncated_after else ""
    st.html(f'<div class="garmle-source">{before}{view.markup}{after}</div>')


def render_export(report: Report) -> None:
    """Download buttons for the report as JSON and as a printable HTML page."""
    st.caption(
        "Exports include the patient summary. They are created in your browser's download folder "
        "only; the dashboard keeps no copy. Print the HTML page from the browser to get a PDF."
    )
    cols = st.columns(2)
    cols[0].download_button(
        "Download report (JSON)",
        data=report.to_json(),
        file_name="garmle-report.json",
        mime="application/json",
        icon=":material/data_object:",
        key="export_json",
        on_click="ignore",
    )
    cols[1].download_button(
        "Download printable report (HTML)",
        data=report.to_html(standalone=True),
        file_name="garmle-report.html",
        mime="text/html",
        icon=":material/print:",
        key="export_html",
        on_click="ignore",
    )

"""A :class:`~garmle.types.Report` -> CDS Hooks 2.0 cards, with no generated text.

One card per (code, guideline) pair, in the order of the report's leading list
(:meth:`~garmle.types.Report.leading`: the presenting condition's guidance three places per turn, each
other code's one), a pair's card where its first snippet is listed:

* ``summary``: the code's catalogue title and the guideline's title, cut to
  the 140 characters CDS Hooks allows.
* ``detail``: the guideline's snippets for that code, verbatim, as Markdown
  block quotes (Markdown characters escaped, so the rendered text is exactly
  the snippet) each followed by its citation (title, publisher, year,
  section, page, document id and character span).
* ``source``: the publisher (or title) and the guideline's URL when it has one;
  ``links`` repeats that URL as an absolute link.

Example:
    >>> from garmle.types import Patient, Recommendation, Report, Snippet
    >>> s = Snippet(text="Start a thiazide.", doc_id="d1", chunk_id="d1:0", title="Hypertension",
    ...             char_start=0, char_end=17, score=1.0, publisher="VA/DoD", year=2014)
    >>> report = Report(patient=Patient("p1"), recommendations=(
    ...     Recommendation(code="I10", title="Essential (primary) hypertension", score=1.0, snippets=(s,)),))
    >>> card = report_cards(report, {"d1": {"url": "https://example.org/htn"}})[0]
    >>> card["summary"]
    'I10 Essential (primary) hypertension: Hypertension'
    >>> card["source"]["url"]
    'https://example.org/htn'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from garmle.render import citation
from garmle.types import Report, Snippet

__all__ = ["MAX_SUMMARY", "escape_markdown", "fit_summary", "report_cards", "summary_line"]

MAX_SUMMARY = 140
"""CDS Hooks 2.0: a card summary is shorter than 140 characters."""

_INLINE = re.compile(r"([\\`*_\[\]<>|~&#!{}])")
_LIST_MARKER = re.compile(r"^([-+=])", re.MULTILINE)
_ORDERED_MARKER = re.compile(r"^(\d+)([.)])", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """Backslash-escape Markdown syntax so the rendered text is ``text`` itself.

    Leading whitespace is dropped from each line (indentation would start a code block;
    Markdown collapses whitespace anyway).

    Example:
        >>> print(escape_markdown("1. Use *low* dose <5 mg"))
        1\\. Use \\*low\\* dose \\<5 mg
    """
    text = "\n".join(line.lstrip() for line in text.split("\n"))
    text = _INLINE.sub(r"\\\1", text)
    text = _LIST_MARKER.sub(r"\\\1", text)
    return _ORDERED_MARKER.sub(r"\1\\\2", text)


def fit_summary(text: str) -> str:
    """``text`` on one line, cut at a word (with an ellipsis) to stay under :data:`MAX_SUMMARY`.

    Example:
        >>> len(fit_summary("word " * 60)) < MAX_SUMMARY
        True
    """
    line = " ".join(text.split())
    if len(line) < MAX_SUMMARY:
        return line
    cut = line[: MAX_SUMMARY - 2]
    if " " in cut[MAX_SUMMARY // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" :,;") + "…"


def summary_line(code: str, code_title: str, guideline_title: str) -> str:
    """``"<code> <code title>: <guideline title>"``, fitted by :func:`fit_summary`.

    Example:
        >>> summary_line("I10", "Essential (primary) hypertension", "JNC 8")
        'I10 Essential (primary) hypertension: JNC 8'
    """
    head = f"{code} {code_title}".strip()
    return fit_summary(f"{head}: {guideline_title}" if guideline_title else head)


def _quote(snippet: Snippet) -> str:
    lines = snippet.text.strip("\n").split("\n")
    quoted = "\n".join("> " + escape_markdown(line) if line.strip() else ">" for line in lines)
    return f"{quoted}\n\n— {escape_markdown(citation(snippet))}"


def report_cards(
    report: Report,
    documents: Mapping[str, Mapping[str, str]] | None = None,
    *,
    max_cards: int = 10,
) -> list[dict[str, Any]]:
    """CDS Hooks cards for ``report``.

    Args:
        report: the recommender's report.
        documents: document metadata by id (``url``, ``publisher``, ``title``), as
            :meth:`garmle.store.ChromaStore.document_metadata` gives it.
        max_cards: at most this many cards (the best-ranked ones).

    Returns:
        Card objects ready for JSON (``uuid``, ``summary``, ``indicator``, ``detail``,
        ``source``, and ``links`` when the guideline has a URL).
    """
    documents = documents or {}
    titles = {rec.code: rec.title for rec in report.recommendations}
    # each code's snippets per guideline, in the code's rank order
    groups: dict[tuple[str, str], list[Snippet]] = {}
    for rec in report.recommendations:
        for snippet in rec.snippets:
            groups.setdefault((rec.code, snippet.doc_id), []).append(snippet)
    # the cards in the order of the report's leading list: a pair's card comes where its first
    # snippet is listed (the presenting condition two turns in three, each other code one)
    total = sum(len(rec.snippets) for rec in report.recommendations)
    order = dict.fromkeys((code, s.doc_id) for code, s in report.leading(total))
    cards: list[dict[str, Any]] = []
    for code, doc_id in [*order, *(key for key in groups if key not in order)][:max_cards]:
        snippets = groups[(code, doc_id)]
        meta = documents.get(doc_id, {})
        title = snippets[0].title or meta.get("title", "") or doc_id
        url = meta.get("url", "") or ""
        source: dict[str, Any] = {"label": snippets[0].publisher or meta.get("publisher", "") or title}
        card: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "summary": summary_line(code, titles[code], title),
            "indicator": "info",
            "detail": "\n\n".join(_quote(s) for s in snippets),
            "source": source,
        }
        if url.startswith(("http://", "https://")):
            source["url"] = url
            card["links"] = [{"label": fit_summary(title), "url": url, "type": "absolute"}]
        cards.append(card)
    return cards

"""Text -> HTML for the dashboard: highlighted spans that never change the text they mark.

Every function escapes the text and wraps spans in ``<mark>``; removing the tags and
unescaping gives back the exact input, so a highlighted guideline snippet stays verbatim.

Example:
    >>> highlight_spans("BP 152/96 mmHg today", [(0, 14, "I10")])
    '<mark title="I10">BP 152/96 mmHg</mark> today'
    >>> term_spans("Lower blood pressure; check Blood Pressure.", ["blood pressure"])
    [(6, 20, 'blood pressure'), (28, 42, 'blood pressure')]
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from garmle.types import Document

__all__ = [
    "SourceView",
    "badge",
    "escape_markdown",
    "highlight_spans",
    "highlight_terms",
    "plain_text",
    "source_view",
    "term_spans",
]

Span = tuple[int, int, str]
"""``(char_start, char_end, label)``; the label becomes the mark's tooltip."""

_TAG = re.compile(r"<[^>]+>")
_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|<>~$:")


def highlight_spans(text: str, spans: Iterable[Span], *, css_class: str = "") -> str:
    """Escape ``text`` and mark the given character spans.

    Overlapping spans merge into one mark whose tooltip lists every label; spans
    outside the text are clipped, empty ones ignored.

    Args:
        text: the text to show.
        spans: ``(start, end, label)`` character offsets into ``text``.
        css_class: class given to each ``<mark>`` (for colour).
    """
    clipped = [(max(0, s), min(len(text), e), label) for s, e, label in spans]
    clipped = [(s, e, label) for s, e, label in clipped if s < e]
    if not clipped:
        return html.escape(text)
    bounds = sorted({0, len(text), *(s for s, _, _ in clipped), *(e for _, e, _ in clipped)})
    cls = f' class="{html.escape(css_class)}"' if css_class else ""
    out: list[str] = []
    open_labels: tuple[str, ...] | None = None
    for start, end in itertools.pairwise(bounds):
        labels = tuple(dict.fromkeys(label for s, e, label in clipped if s <= start and end <= e))
        if labels != open_labels:
            if open_labels:
                out.append("</mark>")
            if labels:
                out.append(f'<mark{cls} title="{html.escape("; ".join(labels))}">')
            open_labels = labels
        out.append(html.escape(text[start:end]))
    if open_labels:
        out.append("</mark>")
    return "".join(out)


def term_spans(text: str, terms: Iterable[str]) -> list[Span]:
    """Case-insensitive occurrences of each term in ``text``, as spans labelled by the term.

    Matching is by substring, the same rule that decides which patient facts a snippet matches.
    """
    spans: list[Span] = []
    for term in dict.fromkeys(t for t in terms if t and t.strip()):
        spans.extend((m.start(), m.end(), term) for m in re.finditer(re.escape(term), text, re.IGNORECASE))
    return sorted(spans)


def highlight_terms(text: str, terms_by_label: dict[str, Sequence[str]], *, css_class: str = "") -> str:
    """Escape ``text`` and mark where the terms of each label occur; the tooltip names the label.

    Example:
        >>> highlight_terms("Check eGFR yearly.", {"eGFR 48 mL/min": ["egfr"]})
        'Check <mark title="eGFR 48 mL/min">eGFR</mark> yearly.'
    """
    spans = [
        (start, end, label)
        for label, terms in terms_by_label.items()
        for start, end, _ in term_spans(text, terms)
    ]
    return highlight_spans(text, spans, css_class=css_class)


def plain_text(markup: str) -> str:
    """The text of markup made by this module (tags removed, entities unescaped)."""
    return html.unescape(_TAG.sub("", markup))


def escape_markdown(text: str) -> str:
    """Escape Markdown control characters so record or guideline text shows exactly as written.

    Example:
        >>> print(escape_markdown("BMI 32.4 kg/m2 *high*"))
        BMI 32\\.4 kg/m2 \\*high\\*
    """
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in str(text))


def badge(text: str, kind: str = "neutral") -> str:
    """A small inline label (``kind`` picks the colour: neutral, good, warn, info)."""
    return f'<span class="garmle-badge garmle-badge-{html.escape(kind)}">{html.escape(text)}</span>'


@dataclass(frozen=True)
class SourceView:
    """A window of a document's canonical text around a snippet, ready to show.

    Attributes:
        section: heading trail of the section holding the snippet.
        page: page of the snippet's start (None for unpaged documents).
        char_start: where the window starts in the canonical text.
        char_end: where the window ends.
        markup: the window as HTML with the snippet marked.
        truncated_before: text precedes the window in the document.
        truncated_after: text follows the window in the document.
    """

    section: tuple[str, ...]
    page: int | None
    char_start: int
    char_end: int
    markup: str
    truncated_before: bool
    truncated_after: bool


def source_view(doc: Document, char_start: int, char_end: int, *, max_chars: int = 4000) -> SourceView:
    """The section of ``doc`` that holds ``[char_start, char_end)`` with that span marked.

    The window is the innermost section holding the span when it fits in ``max_chars``;
    otherwise it is ``max_chars`` of text centred on the span (cut at whitespace).

    Example:
        >>> from garmle.types import Section
        >>> doc = Document(doc_id="d", title="T", text="Intro. Treat to 140/90. End.",
        ...                sections=(Section(("Recs",), 7, 23),))
        >>> view = source_view(doc, 7, 23)
        >>> view.section, view.markup
        (('Recs',), '<mark title="snippet">Treat to 140/90.</mark>')
    """
    text = doc.text
    char_start = max(0, min(char_start, len(text)))
    char_end = max(char_start, min(char_end, len(text)))
    holding = [
        s for s in doc.sections if s.char_start <= char_start and char_end <= s.char_end and s.char_end > 0
    ]
    inner = min(holding, key=lambda s: s.char_end - s.char_start, default=None)
    if inner is not None and inner.char_end - inner.char_start <= max_chars:
        lo, hi = inner.char_start, inner.char_end
    else:
        spare = max(0, max_chars - (char_end - char_start)) // 2
        lo = _cut_at_space(text, max(0, char_start - spare), forward=True, limit=char_start)
        hi = _cut_at_space(text, min(len(text), char_end + spare), forward=False, limit=char_end)
    markup = highlight_spans(text[lo:hi], [(char_start - lo, char_end - lo, "snippet")])
    return SourceView(
        section=doc.section_at(char_start),
        page=doc.page_at(char_start),
        char_start=lo,
        char_end=hi,
        markup=markup,
        truncated_before=lo > 0,
        truncated_after=hi < len(text),
    )


def _cut_at_space(text: str, pos: int, *, forward: bool, limit: int) -> int:
    """Move ``pos`` to a word boundary without crossing ``limit`` (the snippet's edge)."""
    if pos <= 0 or pos >= len(text):
        return pos
    if forward:
        found = text.find(" ", pos, limit)
        return found + 1 if found != -1 else pos
    found = text.rfind(" ", limit, pos)
    return found if found != -1 else pos

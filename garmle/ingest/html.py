"""HTML -> canonical text with headings as sections (standard-library parser only).

Headings ``h1``-``h6`` open sections. A paragraph whose whole text is bold
(or underlined) is a heading too, ranked below ``h6``, because guideline
summaries mark their sub-headings that way. List items become lines starting
with ``-`` (``1.``, ``a.`` ... for ordered lists), table rows become lines of
cells joined by `` | ``; ``script``, ``style`` and ``nav`` are dropped.

Example:
    >>> text, sections, title = parse_html(
    ...     "<h1>Hypertension</h1><p><strong>Screening</strong></p><ul><li>Screen yearly.</li></ul>"
    ... )
    >>> print(text)
    Hypertension
    <BLANKLINE>
    Screening
    <BLANKLINE>
    - Screen yearly.
    >>> sections[-1].path
    ('Hypertension', 'Screening')
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from garmle.ingest.text import TextBuilder, clean_inline, fix_mojibake
from garmle.types import Section

__all__ = ["HtmlRenderer", "html_to_text", "parse_html", "render_html"]

_SKIP = frozenset({"script", "style", "nav", "noscript", "template", "svg", "head", "iframe", "object"})
_BLOCK = frozenset(
    {
        "p",
        "div",
        "section",
        "article",
        "main",
        "aside",
        "header",
        "footer",
        "blockquote",
        "pre",
        "dd",
        "dt",
        "dl",
        "figure",
        "figcaption",
        "caption",
        "hr",
        "address",
        "center",
        "form",
        "fieldset",
    }
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BOLD = frozenset({"strong", "b"})
_UNDERLINE_STYLE = re.compile(r"text-decoration\s*:\s*underline", re.IGNORECASE)
_VOID = frozenset({"br", "img", "hr", "input", "meta", "link", "col", "area", "base", "wbr", "source"})

RANK_UNDERLINED_BOLD = 7
RANK_BOLD = 8
RANK_UNDERLINED = 9


def _roman(number: int) -> str:
    values: tuple[tuple[int, str], ...] = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"))
    values += ((90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))
    out = []
    for value, letters in values:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def _alpha(number: int) -> str:
    out = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        out = chr(ord("a") + rest) + out
    return out or "a"


class _ListState:
    def __init__(self, ordered: bool, start: int, style: str) -> None:
        self.ordered = ordered
        self.number = start
        self.style = style

    def next_marker(self) -> str:
        if not self.ordered:
            return "-"
        number = self.number
        self.number += 1
        if self.style in ("lower-alpha", "lower-latin", "a"):
            return f"{_alpha(number)}."
        if self.style in ("upper-alpha", "upper-latin", "A"):
            return f"{_alpha(number).upper()}."
        if self.style in ("lower-roman", "i"):
            return f"{_roman(number)}."
        if self.style in ("upper-roman", "I"):
            return f"{_roman(number).upper()}."
        return f"{number}."


def _list_style(attrs: dict[str, str]) -> str:
    style = attrs.get("style", "")
    match = re.search(r"list-style-type\s*:\s*([a-z-]+)", style, re.IGNORECASE)
    if match:
        return match.group(1).lower()
    return attrs.get("type", "decimal")


class HtmlRenderer(HTMLParser):
    """Stream HTML into a :class:`TextBuilder`; heading ranks are offset by ``rank_base``."""

    def __init__(self, builder: TextBuilder, rank_base: int = 0, *, detect_headings: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = builder
        self.rank_base = rank_base
        self.detect_headings = detect_headings
        self.title = ""
        self.first_heading = ""
        self._pieces: list[tuple[str, bool, bool]] = []  # (text, bold, underlined)
        self._skip_depth = 0
        self._bold_depth = 0
        self._open_tags: list[tuple[str, bool]] = []  # (tag, underlines its content)
        self._heading_level = 0
        self._in_title = False
        self._lists: list[_ListState] = []
        self._item_markers: list[str | None] = []  # pending marker per open <li>
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    # ------------------------------------------------------------------ events

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_depth:
            if tag in _SKIP:
                self._skip_depth += 1
            return
        if tag in _SKIP:
            self._skip_depth = 1
            self._in_title = False
            return
        if tag == "title":
            self._in_title = True
            return
        values = {k: v or "" for k, v in attrs}
        if tag in _BOLD:
            self._bold_depth += 1
        elif tag not in _VOID:
            underline = tag == "u" or bool(_UNDERLINE_STYLE.search(values.get("style", "")))
            self._open_tags.append((tag, underline))
        if tag == "br":
            if self._cell is not None:
                self._pieces.append((" ", self._bold_depth > 0, self._underlined))
            else:
                self._flush()
        elif tag in _HEADINGS:
            self._flush()
            self._heading_level = _HEADINGS[tag]
        elif tag in ("ul", "ol", "menu"):
            self._flush()
            start = values.get("start", "1")
            self._lists.append(
                _ListState(tag == "ol", int(start) if start.isdigit() else 1, _list_style(values))
            )
        elif tag == "li":
            self._flush()
            state = self._lists[-1] if self._lists else _ListState(False, 1, "disc")
            self._item_markers.append(state.next_marker())
        elif tag == "tr":
            self._flush()
            self._end_row()
            self._row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self._row is None:
                self._row = []
            self._flush()
            self._cell = []
        elif tag == "table" or tag in _BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            if tag in _SKIP:
                self._skip_depth -= 1
            return
        if tag == "title":
            self._in_title = False
            return
        if tag in _BOLD:
            self._bold_depth = max(0, self._bold_depth - 1)
            return
        if tag in _VOID:
            return
        for index in range(len(self._open_tags) - 1, -1, -1):
            if self._open_tags[index][0] == tag:
                del self._open_tags[index:]
                break
        if tag in _HEADINGS:
            self._flush()
            self._heading_level = 0
        elif tag in ("ul", "ol", "menu"):
            self._flush()
            if self._lists:
                self._lists.pop()
        elif tag == "li":
            self._flush()
            if self._item_markers:
                self._item_markers.pop()
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr" or tag == "table":
            self._end_row()
        elif tag in _BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._in_title:
            self.title += data
            return
        self._pieces.append((data, self._bold_depth > 0, self._underlined))

    def close(self) -> None:
        super().close()
        self._flush()
        self._end_row()

    # ------------------------------------------------------------------ helpers

    @property
    def _underlined(self) -> bool:
        return any(underline for _, underline in self._open_tags)

    def _take(self) -> tuple[str, bool, bool]:
        pieces, self._pieces = self._pieces, []
        text = clean_inline(fix_mojibake("".join(p[0] for p in pieces)))
        marked = [p for p in pieces if p[0].strip()]
        bold = bool(marked) and all(p[1] for p in marked)
        underlined = bool(marked) and all(p[2] for p in marked)
        return text, bold, underlined

    def _flush(self) -> None:
        if self._cell is not None:
            text, _, _ = self._take()
            if text:
                self._cell.append(text)
            return
        text, bold, underlined = self._take()
        if not text:
            return
        if self._heading_level:
            self._heading(text, self.rank_base + self._heading_level)
        elif self._item_markers:
            marker = self._item_markers[-1]
            indent = max(0, len(self._lists) - 1)
            if marker is None:
                self.builder.list_item(text, marker="", indent=indent + 1)
            else:
                self.builder.list_item(text, marker=marker, indent=indent)
                self._item_markers[-1] = None
        elif self.detect_headings and (bold or underlined) and self._heading_like(text):
            rank = RANK_UNDERLINED_BOLD if bold and underlined else RANK_BOLD if bold else RANK_UNDERLINED
            self._heading(text, self.rank_base + rank)
        else:
            self.builder.paragraph(text)

    def _heading(self, text: str, rank: int) -> None:
        self.first_heading = self.first_heading or text
        self.builder.heading(text, rank=rank)

    @staticmethod
    def _heading_like(text: str) -> bool:
        return len(text) <= 160 and len(text.split()) <= 20 and not text.endswith((".", ";", ","))

    def _end_cell(self) -> None:
        if self._cell is None:
            return
        self._flush()
        cell = " ".join(self._cell)
        self._cell = None
        if self._row is not None and cell:
            self._row.append(cell)

    def _end_row(self) -> None:
        self._end_cell()
        if self._row:
            self.builder.list_item(" | ".join(self._row), marker="")
        self._row = None


def render_html(html: str, builder: TextBuilder, rank_base: int = 0, *, detect_headings: bool = True) -> str:
    """Write ``html`` into ``builder``; return the document title (``<title>`` or first heading)."""
    renderer = HtmlRenderer(builder, rank_base, detect_headings=detect_headings)
    renderer.feed(html)
    renderer.close()
    return clean_inline(renderer.title) or renderer.first_heading


def parse_html(html: str) -> tuple[str, tuple[Section, ...], str]:
    """Convert an HTML page to canonical text, sections and a title."""
    builder = TextBuilder()
    title = render_html(html, builder)
    text, sections = builder.build()
    return text, sections, title


def html_to_text(html: str, separator: str = "\n") -> str:
    """Convert an HTML fragment to plain text, one block per ``separator``-joined line."""
    builder = TextBuilder()
    render_html(html, builder, detect_headings=False)
    text, _ = builder.build()
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    return separator.join(lines)

"""PDF -> canonical text, page by page, with pypdf.

Every page's text becomes paragraphs, list items and headings in the
canonical text, and a :class:`~garmle.types.PageSpan` records where each page
lies in it, so a chunk can cite its page. Along the way:

* words broken across lines (``"hyper-\\ntension"``) are joined again; the
  hyphen stays when the document spells the same word with a hyphen elsewhere
  (``"evidence-\\nbased"`` -> ``"evidence-based"``);
* running headers and footers (lines repeated at the top or bottom of most
  pages, with page numbers ignored) and bare page numbers are dropped;
* encrypted, corrupt, empty and image-only PDFs raise
  :class:`~garmle.errors.IngestError` with one line saying which.

Example:
    >>> fields = load_pdf(Path("guideline.pdf"))  # doctest: +SKIP
    >>> fields["pages"][0].page  # doctest: +SKIP
    1
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from garmle.errors import IngestError
from garmle.ingest.text import TextBuilder, clean_inline, looks_like_heading
from garmle.types import PageSpan

__all__ = ["load_pdf", "pdf_page_lines", "remove_running_lines"]

log = logging.getLogger(__name__)

# How many lines at the top and at the bottom of a page may hold a running header or footer.
_EDGE_LINES = 3
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–]?\s*\d{1,4}\s*[-–]?(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
_BROKEN_WORD = re.compile(r"([A-Za-z]+)-$")
_NEXT_WORD = re.compile(r"^([a-z][A-Za-z]*)(\S*)\s*(.*)$")
_LIST_START = re.compile(r"^(?:[-*•◦▪●○■□–]|\d{1,3}[.)]|\(?[a-zA-Z][.)]|\(\d{1,3}\))\s+")
_SENTENCE_END = re.compile(r"[.!?:;)\]\"”]$")


def _edge_key(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.lower().split()))


def remove_running_lines(pages: Sequence[list[str]]) -> list[list[str]]:
    """Drop running headers/footers and bare page numbers from each page's lines.

    A line is a running header or footer when, with digits ignored, it appears
    among the first or last lines of at least half of the pages (and of two
    pages at least).

    Example:
        >>> pages = [["Journal of Care", text, f"Page {n}"] for n, text in enumerate(["Screen.", "Treat."])]
        >>> remove_running_lines(pages)
        [['Screen.'], ['Treat.']]
    """
    counts: Counter[str] = Counter()
    for lines in pages:
        edges = lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]
        counts.update({_edge_key(line) for line in edges})
    needed = max(2, math.ceil(len(pages) / 2))
    running = {key for key, count in counts.items() if count >= needed} if len(pages) >= 2 else set()
    cleaned: list[list[str]] = []
    for lines in pages:
        keep: list[str] = []
        last = len(lines) - 1
        for index, line in enumerate(lines):
            at_edge = index < _EDGE_LINES or index > last - _EDGE_LINES
            if at_edge and (_edge_key(line) in running or _PAGE_NUMBER.match(line)):
                continue
            keep.append(line)
        cleaned.append(keep)
    return cleaned


def _open(path: Path) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise IngestError(f"{path}: not a readable PDF ({_short(exc)})") from exc
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except Exception as exc:  # a missing crypto backend or a broken encryption dictionary
            raise IngestError(f"{path}: encrypted PDF that cannot be opened ({_short(exc)})") from exc
        if not opened:
            raise IngestError(f"{path}: encrypted PDF (a password is needed to read it)")
    return reader


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def pdf_page_lines(path: Path) -> tuple[list[list[str]], str]:
    """Return the stripped, non-empty text lines of every page and the PDF's own title."""
    reader = _open(path)
    try:
        pages = list(reader.pages)
    except Exception as exc:  # pypdf raises many types on a broken page tree
        raise IngestError(f"{path}: not a readable PDF ({_short(exc)})") from exc
    if not pages:
        raise IngestError(f"{path}: PDF has no pages")
    result: list[list[str]] = []
    for number, page in enumerate(pages, start=1):
        try:
            raw = page.extract_text() or ""
        except Exception as exc:
            raise IngestError(f"{path}: cannot extract text from page {number} ({_short(exc)})") from exc
        result.append([line.strip() for line in raw.splitlines() if line.strip()])
    title = ""
    try:
        info = reader.metadata
        title = clean_inline(str(info.title)) if info is not None and info.title else ""
    except Exception:  # a broken info dictionary only loses the title
        title = ""
    return result, title


def _join_broken_words(lines: list[str], hyphenated: set[str]) -> list[str]:
    """Join words split by a hyphen at a line end with the rest of the word on the next line."""
    out: list[str] = []
    carry = ""
    for index, line in enumerate(lines):
        line = carry + line
        carry = ""
        following = lines[index + 1] if index + 1 < len(lines) else ""
        broken = _BROKEN_WORD.search(line)
        rest = _NEXT_WORD.match(following) if broken and following else None
        if broken and rest and not _LIST_START.match(following):
            head, tail = broken.group(1), rest.group(1)
            keep_hyphen = f"{head}-{tail}".lower() in hyphenated
            carry = line[: broken.start()] + head + ("-" if keep_hyphen else "") + tail + rest.group(2)
            lines[index + 1] = rest.group(3)
            if not lines[index + 1]:
                # the whole next line was the word's tail: it now ends this line
                continue
            out.append(carry)
            carry = ""
            continue
        if line:
            out.append(line)
    if carry:
        out.append(carry)
    return out


def _blocks(lines: list[str]) -> list[tuple[str, str]]:
    """Group a page's lines into ``(kind, text)`` blocks: heading, item or paragraph."""
    if not lines:
        return []
    widths = sorted(len(line) for line in lines)
    full = widths[int(len(widths) * 0.8)] if widths else 0
    blocks: list[tuple[str, str]] = []
    current: list[str] = []
    kind = "para"

    def flush() -> None:
        nonlocal current, kind
        if current:
            blocks.append((kind, " ".join(current)))
        current, kind = [], "para"

    for line in lines:
        if _LIST_START.match(line):
            flush()
            current, kind = [line], "item"
        elif not current and looks_like_heading(line) and len(line) < 0.8 * max(full, 1):
            blocks.append(("heading", line))
        else:
            current.append(line)
        # a short line ending a sentence closes its paragraph
        if current and _SENTENCE_END.search(line) and len(line) < 0.75 * full:
            flush()
    flush()
    return blocks


def load_pdf(path: Path, *, source: str = "local", meta: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse a PDF into the keyword arguments of a :class:`~garmle.types.Document` (no id yet).

    ``meta`` defaults are applied by :func:`garmle.ingest.load_file`, like for every format.

    Raises:
        IngestError: the PDF is encrypted, corrupt, has no pages or no extractable text.
    """
    raw_pages, pdf_title = pdf_page_lines(path)
    if not any(raw_pages):
        raise IngestError(f"{path}: PDF has no extractable text (image-only or scanned pages need OCR)")
    pages = remove_running_lines(raw_pages)
    hyphenated = {
        word.lower() for lines in pages for line in lines for word in re.findall(r"[A-Za-z]+-[a-z]+", line)
    }
    builder = TextBuilder()
    spans: list[PageSpan] = []
    title = ""
    for number, lines in enumerate(pages, start=1):
        start: int | None = None
        for kind, text in _blocks(_join_broken_words(list(lines), hyphenated)):
            before = builder.length
            if kind == "heading":
                title = title or clean_inline(text)
                builder.heading(text, rank=1)
            elif kind == "item":
                builder.list_item(text, marker="")
            else:
                title = title or clean_inline(text)[:200]
                builder.paragraph(text)
            if start is None and builder.length > before and builder.last_start is not None:
                start = builder.last_start
        if start is not None and builder.length > start:
            spans.append(PageSpan(page=number, char_start=start, char_end=builder.length))
    text, sections = builder.build()
    return {
        "title": pdf_title or title or path.stem,
        "text": text,
        "source": source,
        "source_path": str(path),
        "fmt": "pdf",
        "sections": sections,
        "pages": tuple(spans),
        "metadata": {"n_pages": str(len(raw_pages))},
    }

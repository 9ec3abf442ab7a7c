"""Plain-text documents and the canonical-text builder every format uses.

Each loader turns its format into a stream of blocks (headings, paragraphs,
list items) and hands them to :class:`TextBuilder`, which writes the canonical
text and records the exact character span of every section.

Canonical text layout:

* blocks are separated by a blank line;
* consecutive list items are separated by a single newline;
* a heading is a line of its own that opens a section running until the next
  heading of the same or a higher rank.

Example:
    >>> b = TextBuilder()
    >>> b.heading("Treatment", rank=1)
    >>> b.paragraph("Treat   to\\n<140/90.")
    >>> b.list_item("Use a thiazide.")
    >>> text, sections = b.build()
    >>> text
    'Treatment\\n\\nTreat to <140/90.\\n\\n- Use a thiazide.'
    >>> sections[0].path, sections[0].char_end == len(text)
    (('Treatment',), True)
"""

from __future__ import annotations

import re
from pathlib import Path

from garmle.errors import IngestError
from garmle.types import Section

__all__ = [
    "TextBuilder",
    "clean_inline",
    "decode_text",
    "fix_mojibake",
    "looks_like_heading",
    "parse_text",
    "read_text_file",
]

_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_MOJIBAKE = re.compile(r"[\u00c2-\u00f4][\u0080-\u00bf]{1,3}")


def _repair(match: re.Match[str]) -> str:
    raw = match.group(0)
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 text that was decoded as Latin-1 (``"â\\x80\\x99"`` -> ``"’"``)."""
    return _MOJIBAKE.sub(_repair, text) if _MOJIBAKE.search(text) else text


def clean_inline(text: str) -> str:
    """Collapse every run of whitespace to one space and drop invisible characters."""
    return _SPACE.sub(" ", _INVISIBLE.sub("", text)).strip()


class TextBuilder:
    """Write canonical text block by block and record section spans.

    Sections nest by ``rank``: a heading closes every open heading of the same
    or a larger rank. ``base`` is prepended to every section path.
    """

    def __init__(self, base: tuple[str, ...] = ()) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._last_kind = ""
        self._base = base
        self._open: list[tuple[int, str, int]] = []  # (rank, title, char_start)
        self._sections: list[Section] = []
        self.last_start: int | None = None

    @property
    def length(self) -> int:
        """Characters written so far."""
        return self._length

    def _append(self, text: str, kind: str) -> int:
        if self._length:
            sep = "\n" if kind == "item" and self._last_kind == "item" else "\n\n"
            self._parts.append(sep)
            self._length += len(sep)
        start = self._length
        self._parts.append(text)
        self._length += len(text)
        self._last_kind = kind
        self.last_start = start
        return start

    def _close(self, rank: int) -> None:
        while self._open and self._open[-1][0] >= rank:
            self._pop()

    def _pop(self) -> None:
        _, _, start = self._open[-1]
        path = self._base + tuple(title for _, title, _ in self._open)
        self._open.pop()
        if self._length > start:
            self._sections.append(Section(path=path, char_start=start, char_end=self._length))

    def heading(self, title: str, rank: int = 1) -> None:
        """Open a section titled ``title``; its heading line is part of the section."""
        title = clean_inline(title)
        if not title:
            return
        self._close(rank)
        start = self._append(title, "heading")
        self._open.append((rank, title.rstrip(":").strip() or title, start))

    def paragraph(self, text: str, *, keep_lines: bool = False) -> None:
        """Add a paragraph; whitespace is collapsed (line breaks kept when ``keep_lines``)."""
        if keep_lines:
            lines = [clean_inline(line) for line in text.split("\n")]
            cleaned = "\n".join(line for line in lines if line)
        else:
            cleaned = clean_inline(text)
        if cleaned:
            self._append(cleaned, "para")

    def list_item(self, text: str, marker: str = "-", indent: int = 0) -> None:
        """Add one list item as a line starting with ``marker``."""
        cleaned = clean_inline(text)
        if cleaned:
            prefix = f"{marker} " if marker else ""
            self._append(f"{'  ' * indent}{prefix}{cleaned}", "item")

    def build(self) -> tuple[str, tuple[Section, ...]]:
        """Close every open section and return the text and its sections (in text order)."""
        while self._open:
            self._pop()
        sections = sorted(self._sections, key=lambda s: (s.char_start, len(s.path)))
        return "".join(self._parts), tuple(sections)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def decode_text(raw: bytes, name: str) -> str:
    """Decode file bytes as UTF-8 (BOM aware), UTF-16 with a BOM, or Windows-1252.

    Raises:
        IngestError: the bytes are binary or no encoding gives readable text.

    Example:
        >>> decode_text("Café".encode("cp1252"), "note.txt")
        'Café'
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise IngestError(f"{name}: not decodable as UTF-16 text ({exc.reason})") from exc
    if b"\x00" in raw:
        raise IngestError(f"{name}: binary content, not a text file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    if len(_CONTROL.findall(text)) > max(2, len(text) // 100):
        raise IngestError(
            f"{name}: not decodable as text (control characters; neither UTF-8 nor Windows-1252)"
        )
    return text


def read_text_file(path: Path) -> str:
    """Read a text file (see :func:`decode_text`) with a clear one-line error."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise IngestError(f"{path}: empty file")
    text = decode_text(raw, str(path))
    if not text.strip():
        raise IngestError(f"{path}: empty file")
    return text


_LIST_LINE = re.compile(r"^\s*(?:[-*+•◦▪]|\d{1,3}[.)]|[a-zA-Z][.)])\s+")
_TERMINAL = re.compile(r"[.,;:?!)\]]$")


def looks_like_heading(line: str) -> bool:
    """Whether a one-line paragraph reads like a heading (short, title-cased, no final stop)."""
    words = line.split()
    if not words or len(words) > 10 or len(line) > 90 or _TERMINAL.search(line):
        return False
    letters = [ch for ch in line if ch.isalpha()]
    if not letters:
        return False
    if line.isupper():
        return True
    capitalised = sum(1 for w in words if w[0].isupper() or not w[0].isalpha())
    return words[0][0].isupper() and capitalised / len(words) >= 0.6 and len(words) <= 8


def parse_text(raw: str) -> tuple[str, tuple[Section, ...], str]:
    """Turn plain text into canonical text, sections and a title.

    Paragraphs are separated by blank lines; wrapped lines are joined; lines
    that start with a list marker stay lines of their own; short title-like
    one-line paragraphs become headings.
    """
    builder = TextBuilder()
    title = ""
    for block in re.split(r"\n\s*\n", raw.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if len(lines) == 1 and looks_like_heading(lines[0]):
            title = title or clean_inline(lines[0])
            builder.heading(lines[0], rank=1)
            continue
        pieces: list[list[str]] = []
        for line in lines:
            if _LIST_LINE.match(line) or not pieces:
                pieces.append([line])
            else:
                pieces[-1].append(line)
        for piece in pieces:
            joined = " ".join(piece)
            if _LIST_LINE.match(joined):
                builder.list_item(joined, marker="")
            else:
                builder.paragraph(joined)
        title = title or clean_inline(lines[0])[:200]
    text, sections = builder.build()
    return text, sections, title

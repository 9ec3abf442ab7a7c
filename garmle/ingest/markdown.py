"""Markdown -> canonical text with headings as section paths.

ATX (``## Treatment``) and setext (underlined) headings open sections nested by
level; list items keep their markers (``-``, ``1.``) and nesting; table rows
become lines of cells joined by `` | ``; fenced code keeps its lines. Inline
markup is removed (``**strong**`` -> ``strong``, ``[text](url)`` -> ``text``) so
the canonical text reads as the rendered page does. A YAML front matter block
is skipped, except for its ``title``.

Example:
    >>> text, sections, title = parse_markdown("# Hypertension\\n\\n## Screening\\n\\n- Screen **yearly**.")
    >>> print(text)
    Hypertension
    <BLANKLINE>
    Screening
    <BLANKLINE>
    - Screen yearly.
    >>> sections[-1].path, title
    (('Hypertension', 'Screening'), 'Hypertension')
"""

from __future__ import annotations

import re

from garmle.ingest.text import TextBuilder, clean_inline
from garmle.types import Section

__all__ = ["parse_markdown", "strip_inline_markup"]

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_ITEM = re.compile(r"^([ \t]*)([-*+]|\d{1,9}[.)])[ \t]+(.*)$")
_FENCE = re.compile(r"^ {0,3}(```+|~~~+)")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_TABLE_DIVIDER = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_CODE = re.compile(r"`+([^`]+)`+")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1(?![A-Za-z0-9])")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def strip_inline_markup(text: str) -> str:
    """Remove Markdown inline markup, keeping the words a reader sees.

    Example:
        >>> strip_inline_markup("See the **[AHA](https://aha.org) table** and `code`.")
        'See the AHA table and code.'
    """
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _CODE.sub(r"\1", text)
    text = _TAG.sub("", text)
    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(r"\2", text)
    return text


def _front_matter(lines: list[str]) -> tuple[int, str]:
    """Return the number of front-matter lines to skip and the front matter's title."""
    if not lines or lines[0].strip() != "---":
        return 0, ""
    for index in range(1, min(len(lines), 200)):
        if lines[index].strip() in ("---", "..."):
            title = ""
            for line in lines[1:index]:
                match = re.match(r"^title\s*:\s*(.+)$", line.strip())
                if match:
                    title = match.group(1).strip().strip("\"'")
            return index + 1, title
    return 0, ""


def parse_markdown(raw: str) -> tuple[str, tuple[Section, ...], str]:
    """Convert Markdown to canonical text, sections and a title."""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    skip, title = _front_matter(lines)
    builder = TextBuilder()
    first_heading = ""
    paragraph: list[str] = []
    item: tuple[str, int, list[str]] | None = None  # marker, indent, lines
    index = skip

    def flush() -> None:
        nonlocal paragraph, item
        if paragraph:
            builder.paragraph(strip_inline_markup(" ".join(paragraph)))
        if item is not None:
            builder.list_item(strip_inline_markup(" ".join(item[2])), marker=item[0], indent=item[1])
        paragraph, item = [], None

    def heading(text: str, level: int) -> None:
        nonlocal first_heading
        flush()
        text = clean_inline(strip_inline_markup(text))
        if text:
            first_heading = first_heading or text
            builder.heading(text, rank=level)

    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        following = lines[index + 1] if index + 1 < len(lines) else ""
        fence = _FENCE.match(line)
        atx = _ATX.match(line)
        listed = _ITEM.match(line)
        if fence:
            flush()
            closing = fence.group(1)[0] * 3
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(closing):
                body.append(lines[index])
                index += 1
            builder.paragraph("\n".join(body), keep_lines=True)
        elif not stripped:
            flush()
        elif atx:
            heading(atx.group(2) or "", len(atx.group(1)))
        elif item is None and not listed and _SETEXT.match(following):
            paragraph.append(stripped)
            text = " ".join(paragraph)
            paragraph = []
            heading(text, 1 if following.strip().startswith("=") else 2)
            index += 1
        elif _RULE.match(line):
            flush()
        elif stripped.startswith("|") or (_TABLE_DIVIDER.match(following) and "|" in stripped):
            flush()
            if not _TABLE_DIVIDER.match(stripped):
                cells = [strip_inline_markup(c).strip() for c in stripped.strip("|").split("|")]
                builder.list_item(" | ".join(c for c in cells if c), marker="")
        elif stripped.startswith(">"):
            paragraph.append(stripped.lstrip("> ").strip())
        elif listed:
            flush()
            indent = len(listed.group(1).expandtabs(4)) // 2
            item = (listed.group(2), indent, [listed.group(3)])
        elif item is not None:
            item[2].append(stripped)
        else:
            paragraph.append(stripped)
        index += 1
    flush()
    text, sections = builder.build()
    title = title or first_heading or (clean_inline(text.split("\n", 1)[0])[:200] if text else "")
    return text, sections, title

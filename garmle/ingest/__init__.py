"""Source files -> :class:`~garmle.types.Document` with canonical text.

Formats (picked by content first, then by file extension):

==========  ===============================  =====================================
format      extensions                       loader
==========  ===============================  =====================================
``pdf``     ``.pdf`` (or ``%PDF-`` header)   :func:`garmle.ingest.pdf.load_pdf`
``html``    ``.html``, ``.htm``              :func:`garmle.ingest.html.parse_html`
``md``      ``.md``, ``.markdown``           :func:`garmle.ingest.markdown.parse_markdown`
``txt``     ``.txt`` (and unknown text)      :func:`garmle.ingest.text.parse_text`
``ngc``     ``.xml`` NGC summaries           :func:`garmle.ingest.ngc.load_ngc`
``uspstf``  ``.json`` USPSTF dump            :func:`garmle.ingest.uspstf.load_uspstf`
==========  ===============================  =====================================

Example:
    >>> from pathlib import Path
    >>> docs, failures = load_documents([Path("guidelines/htn.md"), Path("broken.pdf")])  # doctest: +SKIP
    >>> failures  # doctest: +SKIP
    [(PosixPath('broken.pdf'), 'broken.pdf: not a readable PDF (...)')]
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from garmle.errors import IngestError
from garmle.ingest.sources import SourceItem
from garmle.types import Document

__all__ = [
    "SUPPORTED_SUFFIXES",
    "SourceItem",
    "detect_format",
    "document_id",
    "iter_source_files",
    "load_document",
    "load_documents",
    "load_file",
]

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: Mapping[str, str] = {
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".md": "md",
    ".markdown": "md",
    ".txt": "txt",
    ".text": "txt",
    ".xml": "ngc",
    ".json": "uspstf",
}


def document_id(text: str, source: str) -> str:
    """Stable id of a document: the same source and canonical text always give the same id.

    Example:
        >>> document_id("Treat to <140/90.", "local") == document_id("Treat to <140/90.", "local")
        True
        >>> len(document_id("x", "ngc"))
        16
    """
    digest = hashlib.sha256(f"{source}\n{text}".encode())
    return digest.hexdigest()[:16]


_HTML_START = re.compile(
    rb"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.S
)
_MD_HEADING = re.compile(rb"^#{1,6}[ \t]+\S", re.M)


def detect_format(path: Path) -> str:
    """Name the format of ``path`` from its first bytes, falling back to its extension.

    Raises:
        IngestError: the file cannot be read or holds binary data of an unsupported type.

    Example:
        >>> detect_format(Path("ngc-10598.xml"))  # doctest: +SKIP
        'ngc'
    """
    from garmle.ingest.ngc import is_ngc_xml
    from garmle.ingest.uspstf import is_uspstf_json

    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    suffix = path.suffix.lower()
    if stripped.startswith(b"%PDF-") or suffix == ".pdf":
        return "pdf"
    if is_ngc_xml(stripped):
        return "ngc"
    if is_uspstf_json(head) or suffix == ".json":
        return "uspstf"
    if _HTML_START.match(stripped.lower()) or suffix in (".html", ".htm", ".xhtml"):
        return "html"
    if suffix in SUPPORTED_SUFFIXES and suffix not in (".txt", ".text"):
        return SUPPORTED_SUFFIXES[suffix]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{path}: unsupported binary file type '{suffix or '(no extension)'}'")
    if suffix not in (".txt", ".text") and _MD_HEADING.search(stripped):
        return "md"
    return "txt"


# ``meta`` keys that fill Document fields rather than metadata.
_DOCUMENT_DEFAULTS = frozenset({"publisher", "licence", "url", "year"})


def _finish(fields: dict[str, Any], source: str, meta: Mapping[str, str] | None) -> Document:
    """Apply the caller's defaults (``publisher``, ``licence``, ``url``, ``year``) and give the id."""
    text = fields["text"]
    if not text.strip():
        raise IngestError(f"{fields.get('source_path', '?')}: no text found")
    defaults = {str(k): str(v) for k, v in (meta or {}).items()}
    for key in ("publisher", "licence", "url"):
        if not fields.get(key) and defaults.get(key):
            fields[key] = defaults[key]
    if fields.get("year") is None and defaults.get("year", "").isdigit():
        fields["year"] = int(defaults["year"])
    metadata = dict(fields.get("metadata") or {})
    for key, value in defaults.items():
        if key not in _DOCUMENT_DEFAULTS:
            metadata.setdefault(key, value)
    fields["metadata"] = metadata
    return Document(doc_id=document_id(text, source), **fields)


def _simple(path: Path, fmt: str, source: str) -> dict[str, Any]:
    from garmle.ingest.text import read_text_file

    raw = read_text_file(path)
    if fmt == "html":
        from garmle.ingest.html import parse_html

        text, sections, title = parse_html(raw)
    elif fmt == "md":
        from garmle.ingest.markdown import parse_markdown

        text, sections, title = parse_markdown(raw)
    else:
        from garmle.ingest.text import parse_text

        text, sections, title = parse_text(raw)
    if not text.strip():
        raise IngestError(f"{path}: no text found")
    return {
        "title": title or path.stem,
        "text": text,
        "source": source,
        "source_path": str(path),
        "fmt": fmt,
        "sections": sections,
    }


def load_file(path: Path, *, source: str = "local", meta: Mapping[str, str] | None = None) -> list[Document]:
    """Load every document a file holds (one, except for multi-document files such as USPSTF JSON).

    Raises:
        IngestError: the file is missing, empty, corrupt, encrypted or of an unsupported type.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise IngestError(f"{path}: empty file")
    fmt = detect_format(path)
    if fmt == "uspstf":
        from garmle.ingest.uspstf import load_uspstf

        return [_finish(fields, source, meta) for fields in load_uspstf(path, source=source, meta=meta)]
    if fmt == "pdf":
        from garmle.ingest.pdf import load_pdf

        fields = load_pdf(path, source=source, meta=meta)
    elif fmt == "ngc":
        from garmle.ingest.ngc import load_ngc

        fields = load_ngc(path, source=source, meta=meta)
    else:
        fields = _simple(path, fmt, source)
    return [_finish(fields, source, meta)]


def load_document(path: Path, *, source: str = "local", meta: Mapping[str, str] | None = None) -> Document:
    """Load one document from a PDF, HTML, Markdown, text or NGC XML file.

    Raises:
        IngestError: the file cannot be turned into exactly one document (one line naming
            the file and the reason).

    Example:
        >>> doc = load_document(Path("ngc-10598.xml"), source="ngc")  # doctest: +SKIP
        >>> doc.sections[0].path  # doctest: +SKIP
        ('Major Recommendations',)
    """
    docs = load_file(path, source=source, meta=meta)
    if len(docs) != 1:
        raise IngestError(f"{path}: holds {len(docs)} documents; use load_file() or load_documents()")
    return docs[0]


def load_documents(
    paths: Iterable[Path | SourceItem], *, source: str = "local", meta: Mapping[str, str] | None = None
) -> tuple[list[Document], list[tuple[Path, str]]]:
    """Load many files; a bad file is logged and skipped, the batch goes on.

    Args:
        paths: files, or :class:`~garmle.ingest.sources.SourceItem` objects whose own source
            name and metadata defaults are used (``meta`` entries override them).
        source: the source name of plain paths.
        meta: metadata defaults for every document (see :func:`load_file`).

    Returns:
        The documents, and ``(path, one-line reason)`` for every file that failed.
    """
    documents: list[Document] = []
    failures: list[tuple[Path, str]] = []
    for entry in paths:
        if isinstance(entry, SourceItem):
            path, name, defaults = entry.path, entry.source, {**entry.meta, **(meta or {})}
        else:
            path, name, defaults = Path(entry), source, dict(meta or {})
        try:
            documents.extend(load_file(path, source=name, meta=defaults))
        except IngestError as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("skipping %s", reason)
            failures.append((path, reason))
        except Exception as exc:  # a parser bug must not abort the whole batch
            detail = str(exc).splitlines()[0] if str(exc) else ""
            reason = f"{path}: unexpected {type(exc).__name__}" + (f": {detail}" if detail else "")
            log.warning("skipping %s", reason)
            failures.append((path, reason))
    return documents, failures


def iter_source_files(directory: Path, *, recursive: bool = True) -> Iterator[Path]:
    """Yield the supported files under ``directory`` in sorted order (hidden files skipped)."""
    directory = Path(directory)
    if directory.is_file():
        yield directory
        return
    if not directory.is_dir():
        raise IngestError(f"{directory}: no such directory")
    pattern = "**/*" if recursive else "*"
    for path in sorted(directory.glob(pattern)):
        relative = path.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield path

"""HTML, Markdown and plain-text ingestion, format detection and batch loading."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from garmle.errors import IngestError
from garmle.ingest import SourceItem, detect_format, document_id, load_document, load_documents, load_file
from garmle.ingest.markdown import parse_markdown, strip_inline_markup
from garmle.ingest.text import decode_text, parse_text

HTML = """<!DOCTYPE html><html><head><title>Diabetes care</title><style>p {color: red}</style>
<script>var tracking = 1;</script></head><body><nav>Home | About</nav>
<h1>Diabetes care</h1><p>Intro   paragraph with&nbsp;spaces.</p>
<h2>Glycaemic targets</h2><p><strong>Older adults</strong></p>
<ul><li>Aim for HbA1c below 8%.</li><li>Review every 3 months.</li></ul>
<ol type="a"><li>First</li><li>Second</li></ol>
<table><tr><th>Drug</th><th>Dose</th></tr><tr><td>Metformin</td><td>500 mg</td></tr></table>
<h2>Monitoring</h2><p>Check feet yearly.</p></body></html>"""

MARKDOWN = """---
title: Asthma in adults
author: Example
---

Intro line before headings.

# Asthma

## Diagnosis

Use **spirometry** and see the [BTS table](https://example.org/table).
This line continues the paragraph.

- Offer an inhaled corticosteroid. [A]
  wrapped item text
  - nested item

Treatment
---------

1. Step one
2. Step two

| Drug | Dose |
|------|------|
| ICS  | low  |

```
code   keeps
its lines
```
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_html_headings_lists_tables_and_dropped_parts(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "dm.html", HTML))
    assert doc.fmt == "html" and doc.title == "Diabetes care"
    assert "tracking" not in doc.text and "color" not in doc.text and "Home | About" not in doc.text
    assert "Intro paragraph with spaces." in doc.text
    assert "- Aim for HbA1c below 8%.\n- Review every 3 months." in doc.text
    assert "a. First\nb. Second" in doc.text
    assert "Drug | Dose\nMetformin | 500 mg" in doc.text
    at_target = doc.text.index("Aim for HbA1c")
    assert doc.section_at(at_target) == ("Diabetes care", "Glycaemic targets", "Older adults")
    assert doc.section_at(doc.text.index("Check feet")) == ("Diabetes care", "Monitoring")


def test_markdown_headings_become_section_paths(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "asthma.md", MARKDOWN))
    assert doc.fmt == "md" and doc.title == "Asthma in adults"
    assert "author" not in doc.text
    assert "Use spirometry and see the BTS table. This line continues the paragraph." in doc.text
    assert "- Offer an inhaled corticosteroid. [A] wrapped item text\n  - nested item" in doc.text
    assert "1. Step one\n2. Step two" in doc.text
    assert "Drug | Dose\nICS | low" in doc.text and "---" not in doc.text
    assert doc.text.endswith("code keeps\nits lines")
    assert doc.section_at(doc.text.index("spirometry")) == ("Asthma", "Diagnosis")
    assert doc.section_at(doc.text.index("Step one")) == ("Asthma", "Treatment")
    assert doc.section_at(doc.text.index("Intro line")) == ()


def test_markdown_inline_markup() -> None:
    assert strip_inline_markup("**Bold** and _it_ and ![img](x.png) <b>tag</b>") == "Bold and it and img tag"
    assert strip_inline_markup("snake_case_name stays") == "snake_case_name stays"
    text, sections, title = parse_markdown("Title\n=====\n\nBody.")
    assert (text, title) == ("Title\n\nBody.", "Title")
    assert sections[0].path == ("Title",)


def test_plain_text_paragraphs_headings_and_items(tmp_path: Path) -> None:
    raw = "KIDNEY DISEASE\n\nCheck eGFR and\nurine albumin yearly.\n1. Treat BP.\n2. Use an ACE inhibitor.\n"
    doc = load_document(write(tmp_path / "ckd.txt", raw))
    assert doc.fmt == "txt" and doc.title == "KIDNEY DISEASE"
    assert (
        doc.text
        == "KIDNEY DISEASE\n\nCheck eGFR and urine albumin yearly.\n\n1. Treat BP.\n2. Use an ACE inhibitor."
    )
    assert doc.section_at(doc.text.index("eGFR")) == ("KIDNEY DISEASE",)
    text, _, _ = parse_text("one\r\ntwo\r\n\r\nthree")
    assert text == "one two\n\nthree"


def test_encodings(tmp_path: Path) -> None:
    assert "Café" in load_document(write(tmp_path / "cp.txt", "Café au lait. Naïve.", "cp1252")).text
    assert "Café" in load_document(write(tmp_path / "u16.txt", "\ufeffCafé au lait.", "utf-16-le")).text
    assert decode_text("\ufeffBOM text".encode(), "x") == "BOM text"
    with pytest.raises(IngestError, match="binary content"):
        decode_text(b"abc\x00def", "x")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\t\n", "empty file"),
        ("blank.html", b"<html><body><script>x()</script></body></html>", "no text found"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "unsupported binary file type '.png'"),
        ("noise.txt", bytes(range(1, 32)) * 40, "not decodable as text"),
        ("data.xml", b"<root><item>1</item></root>", "not an NGC summary"),
        ("broken.xml", b"<Version><Field Name='x'>", "not well-formed NGC XML"),
    ],
)
def test_bad_files_raise_one_line_errors(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message) as info:
        load_file(path)
    assert "\n" not in str(info.value) and name in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file"):
        load_file(tmp_path / "absent.pdf")


def test_format_is_detected_by_content_first(tmp_path: Path) -> None:
    assert detect_format(write(tmp_path / "page.txt", "<!DOCTYPE html><html><p>x</p></html>")) == "html"
    assert detect_format(write(tmp_path / "notes", "# Heading\n\nText")) == "md"
    assert detect_format(write(tmp_path / "notes.txt", "# not a heading in a .txt file")) == "txt"
    assert detect_format(write(tmp_path / "summary.dat", "<Version><Field Name='a'/></Version>")) == "ngc"
    assert detect_format(write(tmp_path / "dump.txt", '{"specificRecommendations": []}')) == "uspstf"


def test_document_ids_are_content_hashes(tmp_path: Path) -> None:
    first = load_document(write(tmp_path / "a.txt", "Treat to target."))
    again = load_document(write(tmp_path / "b.txt", "Treat to target."))
    other = load_document(write(tmp_path / "c.txt", "Treat to target."), source="other")
    assert first.doc_id == again.doc_id == document_id(first.text, "local")
    assert other.doc_id != first.doc_id
    assert load_document(write(tmp_path / "d.txt", "Treat to goal.")).doc_id != first.doc_id


def test_meta_fills_missing_fields_only(tmp_path: Path) -> None:
    meta = {"publisher": "Example Society", "licence": "CC BY 4.0", "year": "2021", "topic": "renal"}
    doc = load_document(write(tmp_path / "a.md", "# Title\n\nText."), meta=meta)
    assert (doc.publisher, doc.licence, doc.year) == ("Example Society", "CC BY 4.0", 2021)
    assert doc.metadata == {"topic": "renal"}


def test_load_documents_skips_and_reports_bad_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = write(tmp_path / "good.md", "# Gout\n\nTreat flares early.")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    item = SourceItem(write(tmp_path / "item.txt", "Item text."), "mine", {"publisher": "P"})
    with caplog.at_level(logging.WARNING, logger="garmle.ingest"):
        docs, failures = load_documents([good, bad, tmp_path / "missing.txt", item])
    assert [d.title for d in docs] == ["Gout", "Item text."]
    assert (docs[1].source, docs[1].publisher) == ("mine", "P")
    assert [path.name for path, _ in failures] == ["bad.pdf", "missing.txt"]
    assert all("\n" not in reason for _, reason in failures)
    assert "bad.pdf" in caplog.text

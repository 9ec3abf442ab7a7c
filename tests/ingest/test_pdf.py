"""PDF ingestion on PDFs the tests draw with reportlab."""

from __future__ import annotations

from pathlib import Path

import pytest

from garmle.errors import IngestError
from garmle.ingest import load_document, load_file
from garmle.ingest.pdf import remove_running_lines

HEADER = "Hypertension Guideline 2024 - Example Society"

PAGES = [
    [
        "Screening",
        "Adults aged 18 years or older should be screened for high blood pres-",
        "sure at every visit. This is an evidence-based recommendation",
        "and the screening uses a validated device. (Strength of",
        "Recommendation: A)",
    ],
    [
        "Treatment",
        "Start a thiazide diuretic or a calcium channel blocker in most pa-",
        "tients. Evidence-",
        "based therapy lowers stroke risk.",
        "- Recheck in one month.",
    ],
    [
        "Follow-up",
        "Review adherence to antihypertensive medi-",
        "cation at each visit.",
    ],
]


def draw_pdf(path: Path, pages: list[list[str]], *, header: bool = True, title: str = "") -> Path:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=letter)
    if title:
        pdf.setTitle(title)
    for number, lines in enumerate(pages, start=1):
        if header:
            pdf.setFont("Helvetica", 9)
            pdf.drawString(72, 750, HEADER)
            pdf.drawString(300, 40, f"Page {number} of {len(pages)}")
        pdf.setFont("Helvetica", 11)
        y = 700
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 14
        pdf.showPage()
    pdf.save()
    return path


@pytest.fixture()
def guideline_pdf(tmp_path: Path) -> Path:
    return draw_pdf(tmp_path / "htn.pdf", PAGES, title="Hypertension Guideline")


def test_pages_are_cited_and_running_lines_dropped(guideline_pdf: Path) -> None:
    doc = load_document(guideline_pdf, source="local")
    assert doc.fmt == "pdf"
    assert doc.title == "Hypertension Guideline"
    assert HEADER not in doc.text
    assert "Page 1 of 3" not in doc.text and "Page" not in doc.text
    assert [span.page for span in doc.pages] == [1, 2, 3]
    for span, first_words in zip(doc.pages, ("Screening", "Treatment", "Follow-up"), strict=True):
        page_text = doc.text[span.char_start : span.char_end]
        assert page_text.startswith(first_words)
        assert page_text == page_text.strip()
    assert doc.page_at(doc.text.index("thiazide")) == 2
    assert doc.page_at(doc.text.index("adherence")) == 3
    assert doc.metadata["n_pages"] == "3"


def test_words_broken_across_lines_are_joined(guideline_pdf: Path) -> None:
    text = load_document(guideline_pdf).text
    assert "high blood pressure at every visit" in text
    assert "in most patients. Evidence-based therapy" in text  # hyphen kept: spelled so on page 1
    assert "antihypertensive medication at each visit." in text
    assert "pres-" not in text and "medi-" not in text


def test_headings_become_sections_and_items_stay_lines(guideline_pdf: Path) -> None:
    doc = load_document(guideline_pdf)
    assert [s.path for s in doc.sections] == [("Screening",), ("Treatment",), ("Follow-up",)]
    assert doc.section_at(doc.text.index("thiazide")) == ("Treatment",)
    assert "\n- Recheck in one month." in doc.text
    assert "(Strength of Recommendation: A)" in doc.text


def encrypted_copy(source: Path, target: Path, user_password: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(source).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def test_encrypted_pdf_is_refused(guideline_pdf: Path, tmp_path: Path) -> None:
    locked = encrypted_copy(guideline_pdf, tmp_path / "locked.pdf", "secret")
    with pytest.raises(IngestError, match="encrypted PDF") as info:
        load_document(locked)
    assert "\n" not in str(info.value)


def test_pdf_with_empty_user_password_is_read(guideline_pdf: Path, tmp_path: Path) -> None:
    restricted = encrypted_copy(guideline_pdf, tmp_path / "restricted.pdf", "")
    assert "thiazide diuretic" in load_document(restricted).text


def test_truncated_pdf_is_refused(guideline_pdf: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(guideline_pdf.read_bytes()[:300])
    with pytest.raises(IngestError, match=r"truncated\.pdf") as info:
        load_document(truncated)
    assert "\n" not in str(info.value)


def test_garbage_with_pdf_extension_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"this is not a pdf at all \x00\x01\x02" * 20)
    with pytest.raises(IngestError, match="not a readable PDF"):
        load_document(garbage)


def test_empty_pdf_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty file"):
        load_document(empty)


def test_image_only_pdf_is_refused(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path), pagesize=letter)
    pdf.rect(100, 100, 300, 300, fill=1)
    pdf.showPage()
    pdf.save()
    with pytest.raises(IngestError, match="no extractable text"):
        load_document(path)


def test_pdf_without_pages_is_refused(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    path = tmp_path / "nopages.pdf"
    with path.open("wb") as handle:
        PdfWriter().write(handle)
    with pytest.raises(IngestError, match="no pages"):
        load_document(path)


def test_pdf_is_recognised_by_content_not_extension(guideline_pdf: Path, tmp_path: Path) -> None:
    renamed = tmp_path / "guideline.txt"
    renamed.write_bytes(guideline_pdf.read_bytes())
    [doc] = load_file(renamed)
    assert doc.fmt == "pdf" and doc.pages


def test_running_lines_need_most_pages() -> None:
    pages = [["Intro line", "Body one."], ["Other start", "Body two."], ["Intro line", "Body three."]]
    assert remove_running_lines(pages) == [["Body one."], ["Other start", "Body two."], ["Body three."]]
    single = [["Only page", "Text."]]
    assert remove_running_lines(single) == single

"""Structure-aware chunking: exact spans, sections, ratings kept with statements, the corpus invariant."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from garmle.chunking import chunk_document, chunk_documents, detect_strength, is_rating_only
from garmle.errors import ConfigError
from garmle.ingest import load_file
from garmle.ingest.text import TextBuilder
from garmle.types import Chunk, Document, PageSpan, Section


def build(blocks: list[tuple[str, str, int]], doc_id: str = "doc") -> Document:
    """A document from ``(kind, text, rank)`` blocks: kind is heading, para or item."""
    builder = TextBuilder()
    for kind, text, rank in blocks:
        if kind == "heading":
            builder.heading(text, rank=rank)
        elif kind == "item":
            builder.list_item(text, marker="")
        else:
            builder.paragraph(text)
    text, sections = builder.build()
    return Document(doc_id=doc_id, title="Test", text=text, sections=sections)


def sentence(number: int, words: int = 12) -> str:
    return f"Sentence {number} " + " ".join(f"w{number}x{i}" for i in range(words - 3)) + " ends."


def check_invariants(doc: Document, chunks: list[Chunk], max_words: int = 150) -> None:
    """The chunking contract every document must meet."""
    reached = 0  # chunks come in text order; everything between them must be whitespace
    for ordinal, chunk in enumerate(chunks):
        assert doc.text[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.text and chunk.text == chunk.text.strip()
        assert chunk.chunk_id == f"{doc.doc_id}:{ordinal}" and chunk.ordinal == ordinal
        assert chunk.doc_id == doc.doc_id
        assert chunk.page == doc.page_at(chunk.char_start)
        assert chunk.section == doc.section_at(chunk.char_start)
        words = chunk.text.split()
        assert len(words) <= max_words * 1.5 or len(words) == 1, (doc.doc_id, len(words))
        gap = doc.text[reached : chunk.char_start]
        assert not gap.strip(), (doc.doc_id, gap.strip()[:40])
        reached = max(reached, chunk.char_end)
    assert not doc.text[reached:].strip(), (doc.doc_id, doc.text[reached:].strip()[:40])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Screen adults. (Strength of Recommendation: A)", ["Strength of Recommendation: A"]),
        ("Level of Evidence: B", ["Level of Evidence: B"]),
        ("Offer metformin first. [A]", ["A"]),
        ("USPSTF Grade B", ["Grade B"]),
        (
            "Use statins (Strong recommendation, moderate-quality evidence).",
            ["Strong recommendation, moderate-quality evidence"],
        ),
        ("Anticoagulate (Class I, Level A).", ["Class I, Level A"]),
        ("Do it (Grade 1C) and this (LE=1, GR=C).", ["Grade 1C", "LE=1, GR=C"]),
        ("Offer yoga. (Weak for)", ["Weak for"]),
        ("Assess frailty (Expert Opinion)", ["Expert Opinion"]),
        ("Quality of evidence: low", ["Quality of evidence: low"]),
    ],
)
def test_detect_strength_forms(text: str, expected: list[str]) -> None:
    assert detect_strength(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Stage 2 hypertension is a grade of disease (see Table 3).",
        "Patients with NYHA class III heart failure and level 1 trauma centres.",
        "Part (B) of the algorithm covers grade 3 hypertension.",
        "The strength of recommendation grading (Strong for, Weak for) is defined below.",
        "Strength of Recommendation\nI. Recommendation text on the next line.",
    ],
)
def test_no_strength_in_ordinary_prose(text: str) -> None:
    assert detect_strength(text) == []


def test_rating_only_lines() -> None:
    assert is_rating_only("Level of Evidence: B")
    assert is_rating_only("(Grade A; BEL 1)")
    assert is_rating_only("Quality of evidence: low; Strength of recommendation: strong")
    assert not is_rating_only("Offer statins. Level of Evidence: B")
    assert not is_rating_only("Screening")


def test_sections_split_and_headings_stay_with_their_text() -> None:
    doc = build(
        [
            ("heading", "Screening", 1),
            ("para", "Screen adults for high blood pressure every year.", 0),
            ("heading", "Treatment", 1),
            ("heading", "Drugs", 2),
            ("item", "1. Start a thiazide. (Strength of Recommendation: A)", 0),
            ("item", "2. Add a calcium channel blocker when needed.", 0),
        ]
    )
    chunks = chunk_document(doc)
    check_invariants(doc, chunks)
    assert [c.text.split("\n")[0] for c in chunks] == ["Screening", "Treatment"]
    assert chunks[0].section == ("Screening",)
    assert chunks[1].text.startswith("Treatment\n\nDrugs\n\n1. Start a thiazide.")
    assert chunks[1].metadata["strength"] == "Strength of Recommendation: A"
    assert "strength" not in chunks[0].metadata


def test_rating_line_stays_with_its_statement() -> None:
    statements = []
    for number in range(8):
        statements.append(("para", sentence(number, 30), 0))
        statements.append(("para", f"Level of Evidence: {'ABC'[number % 3]}", 0))
    doc = build([("heading", "Recommendations", 1), *statements])
    chunks = chunk_document(doc, max_words=70, overlap_words=10)
    check_invariants(doc, chunks, max_words=70)
    assert len(chunks) > 2
    for chunk in chunks:
        assert not chunk.text.startswith("Level of Evidence")
        assert chunk.text.endswith(("Level of Evidence: A", "Level of Evidence: B", "Level of Evidence: C"))
        assert chunk.metadata["strength"].startswith("Level of Evidence")


def test_rating_before_a_statement_goes_with_the_next_one() -> None:
    doc = build(
        [
            ("heading", "Recommendations", 1),
            ("para", sentence(1, 40) + " (Grade A)", 0),
            ("para", "Grade B", 0),
            ("para", sentence(2, 40), 0),
        ]
    )
    chunks = chunk_document(doc, max_words=50, overlap_words=0)
    check_invariants(doc, chunks, max_words=50)
    assert [c.metadata.get("strength") for c in chunks] == ["Grade A", "Grade B"]
    assert chunks[1].text.startswith("Grade B\n\nSentence 2")


def test_long_paragraph_splits_between_sentences_with_overlap() -> None:
    paragraph = " ".join(sentence(n) for n in range(30))  # 360 words in one block
    doc = build([("heading", "Background", 1), ("para", paragraph, 0)])
    chunks = chunk_document(doc, max_words=100, overlap_words=20)
    check_invariants(doc, chunks, max_words=100)
    assert len(chunks) in (4, 5)
    assert all(len(c.text.split()) <= 100 for c in chunks)
    for chunk in chunks[1:]:
        assert chunk.text.startswith("Sentence ") and chunk.text.endswith("ends.")
    for previous, following in itertools.pairwise(chunks):
        overlap = previous.char_end - following.char_start
        assert overlap > 0 and len(doc.text[following.char_start : previous.char_end].split()) <= 20
    sizes = [len(c.text.split()) for c in chunks]
    assert max(sizes) - min(sizes) <= 40  # balanced, not 100 + 100 + 100 + 60


def test_section_just_over_the_limit_is_balanced() -> None:
    items = [("item", f"- {sentence(n, 16)}", 0) for n in range(10)]  # 160 words
    doc = build([("heading", "Items", 1), *items])
    sizes = [len(c.text.split()) for c in chunk_document(doc, max_words=150, overlap_words=20)]
    assert len(sizes) == 2 and min(sizes) >= 60


def test_run_on_sentence_falls_back_to_word_windows() -> None:
    run_on = " | ".join(f"cell{i}" for i in range(400))  # one 799-word line without sentence ends
    doc = build([("heading", "Table", 1), ("para", run_on, 0), ("para", "After the table.", 0)])
    chunks = chunk_document(doc, max_words=100, overlap_words=10)
    check_invariants(doc, chunks, max_words=100)
    windows = [c for c in chunks if "cell" in c.text]
    assert all(len(c.text.split()) <= 101 for c in windows)
    assert windows[1].text.split()[0] in windows[0].text.split()  # windows overlap
    assert chunks[-1].text.endswith("After the table.")


def test_short_title_line_opens_the_next_section_chunk() -> None:
    doc = build(
        [
            ("para", "A guideline title", 0),
            ("heading", "Benefits", 1),
            ("para", sentence(1, 40), 0),
            ("heading", "Clinical Algorithm(s)", 1),
            ("para", "None provided.", 0),
        ]
    )
    chunks = chunk_document(doc)
    check_invariants(doc, chunks)
    assert [c.text.split("\n")[0] for c in chunks] == ["A guideline title", "Clinical Algorithm(s)"]
    assert [c.section for c in chunks] == [(), ("Clinical Algorithm(s)",)]


def test_pages_are_cited() -> None:
    one, two = sentence(1, 20), sentence(2, 20)
    text = f"{one}\n\n{two}"
    doc = Document(
        doc_id="p",
        title="Paged",
        text=text,
        pages=(PageSpan(1, 0, len(one)), PageSpan(2, len(one) + 2, len(text))),
        sections=(Section(("One",), 0, len(one)), Section(("Two",), len(one) + 2, len(text))),
    )
    chunks = chunk_document(doc)
    assert [(c.page, c.section) for c in chunks] == [(1, ("One",)), (2, ("Two",))]


def test_empty_document_and_bad_settings() -> None:
    empty = Document(doc_id="e", title="Empty", text="  \n ")
    assert chunk_document(empty) == []
    doc = build([("para", "Text.", 0)])
    for kwargs in ({"max_words": 0}, {"max_words": 10, "overlap_words": 10}, {"overlap_words": -1}):
        with pytest.raises(ConfigError):
            chunk_document(doc, **kwargs)  # type: ignore[arg-type]
    assert [c.chunk_id for c in chunk_documents([doc, build([("para", "Other.", 0)], "d2")])] == [
        "doc:0",
        "d2:0",
    ]


def test_real_guideline_keeps_recommendations_with_grades(ngc_dir: Path) -> None:
    [doc] = load_file(ngc_dir / "ngc-10598.xml", source="ngc")
    chunks = chunk_document(doc)
    check_invariants(doc, chunks)
    statement = next(c for c in chunks if "screening adults for elevated blood pressure" in c.text)
    # the bare parent heading opens the chunk, so the chunk's section is the parent's
    assert statement.section == (
        "Major Recommendations",
        "Screening, Diagnosis and Measurement of Hypertension (HTN)",
    )
    assert "Measurement of Hypertension (HTN)\n\nScreening\n\n1. The Work Group recommends" in statement.text
    assert "Strong for" in statement.metadata["strength"]
    graded = [c for c in chunks if c.section[:1] == ("Major Recommendations",) and c.metadata.get("strength")]
    assert len(graded) >= 15


@pytest.mark.slow
def test_invariant_on_the_whole_ngc_corpus(ngc_corpus: tuple[list[Document], list[object]]) -> None:
    docs, _ = ngc_corpus
    started = time.perf_counter()
    chunked = [(doc, chunk_document(doc)) for doc in docs]
    seconds = time.perf_counter() - started
    for doc, chunks in chunked:
        check_invariants(doc, chunks)
    total = sum(len(chunks) for _, chunks in chunked)
    assert 30_000 < total < 80_000
    assert sum(1 for _, chunks in chunked for c in chunks if c.metadata.get("strength")) > 5_000
    print(f"chunking the NGC corpus took {seconds:.0f} s")


@pytest.mark.slow
def test_invariant_on_uspstf_and_catalogue(shared_data: Path) -> None:
    from garmle.catalogue import catalogue_documents

    uspstf = load_file(shared_data / "uspstf" / "uspstf-recommendations.json", source="uspstf")
    for doc in uspstf:
        chunks = chunk_document(doc)
        check_invariants(doc, chunks)
        grade = f"Grade: {doc.metadata['grade']}"
        [graded] = [c for c in chunks if grade in c.text]
        assert graded.metadata["strength"] == grade
        assert graded.section in ((), ("Recommendation",))  # () when the title line opens it
    for doc in catalogue_documents():
        check_invariants(doc, chunk_document(doc))


def test_demo_subset_fits_the_embedding_budget(shared_data: Path) -> None:
    from garmle.ingest import load_documents
    from garmle.ingest.sources import resolve_source

    docs, failures = load_documents(resolve_source("demo", mirror=shared_data, verify=False))
    assert failures == []
    total = sum(len(chunk_document(doc)) for doc in docs)
    assert 1_000 < total < 2_500

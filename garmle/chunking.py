"""Documents -> Chunks: structure-aware spans of a document's canonical text.

Every chunk is an exact span: ``doc.text[c.char_start:c.char_end] == c.text``.
The splitter follows the document's structure before it falls back to size:

1. **Sections.** A chunk never crosses a section boundary, except that a
   section holding one short line (a bare heading, a short title) opens the
   next section's first chunk rather than being a chunk of its own.
2. **Blocks.** Inside a section the text is cut between lines (paragraphs,
   list items, recommendation statements). A heading line stays with the
   block after it; a strength-of-recommendation or level-of-evidence line
   stays with the statement it rates.
3. **Sentences.** A block longer than ``max_words`` is cut between sentences;
   consecutive chunks cut from one block overlap by up to ``overlap_words``
   words of whole sentences.
4. **Words.** A single sentence longer than ``1.5 * max_words`` (tables,
   run-on lists) is cut into overlapping windows of ``max_words`` words.

Chunks in one section are balanced (a 160-word section gives two chunks of
about 80 words, not 150 + 10). A chunk that holds a rating such as
``(Strength of Recommendation: A)``, ``Level of Evidence: B``, ``[A]``,
``Grade B``, ``(Strong recommendation, moderate-quality evidence)`` or
``Class I, Level A`` records it in ``chunk.metadata["strength"]``.

Example:
    >>> from garmle.types import Document, Section
    >>> text = "Screening\\n\\nScreen adults yearly. (Strength of Recommendation: A)"
    >>> doc = Document(doc_id="d1", title="HTN", text=text, sections=(Section(("Screening",), 0, len(text)),))
    >>> [c] = chunk_document(doc)
    >>> c.chunk_id, c.section, c.metadata["strength"]
    ('d1:0', ('Screening',), 'Strength of Recommendation: A')
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from garmle.errors import ConfigError
from garmle.types import Chunk, Document

__all__ = ["chunk_document", "chunk_documents", "detect_strength", "is_rating_only"]

# A grade, class or level code: A-D, 1-5 with optional letter/sign, roman I-V with optional suffix.
_CODE = (
    r"(?-i:[A-D][+-]?(?![A-Za-z0-9])|[1-5][a-d+-]{0,2}[A-D]?(?![A-Za-z0-9])"
    r"|(?:I{1,3}|IV|V)(?:-?[1-3])?[abAB]?(?![A-Za-z0-9])|U(?![A-Za-z0-9]))"
)
_WORD_CODE = (
    r"(?:very low|strong|weak|conditional|moderate|high|low|insufficient|good|fair|poor|expert opinion"
    r"|consensus|limited|optional)\b"
)
_OPEN, _CLOSE = r"[\(\[]\s*", r"\s*[\)\]]"
_RATING_PATTERNS = (
    # "Strength of Recommendation: A", "Level of Evidence = V", "Quality of evidence: low", "LE=1", "BEL 2"
    r"\b(?:strength of (?:the )?(?:recommendation|evidence)|(?:level|quality|grade|certainty) of (?:the )?"
    r"(?:evidence|recommendation)|evidence (?:level|grade|quality)|recommendation (?:grade|strength|level)"
    rf"|SOR|LOE|LOR|GR|LE|BEL)s?(?:[ \t]*[:=\-–][ \t]*|[ \t]+)(?:{_CODE}|{_WORD_CODE})",
    # "Class I, Level A", "Class IIa; Level of Evidence: B"
    r"\bClass[ \t]+(?:I{1,3}|IV)[ab]?\b[ \t]*[,;]?[ \t]*Level(?: of Evidence)?[ \t]*[:=]?[ \t]*(?-i:[A-C])\b",
    # "Strong recommendation, moderate-quality evidence", "Conditional recommendation; low quality evidence"
    r"\b(?:strong|weak|conditional|discretionary)\s+recommendation\b[^.()\[\]\n]{0,45}?\bevidence\b",
    # "(Grade 1C)", "(Level B)", "[Level II-2]", "(Class I)", "(Grade A, BEL 1)"
    rf"{_OPEN}(?:grade|level|class|category)\s*[:=\-–]?\s*{_CODE}[^()\[\]\n]{{0,40}}{_CLOSE}",
    # bare codes in brackets at the end of a statement: "[A]", "(B)", "(1C)", "[IA]", "(II-2A)", "(1|++OO)"
    r"[\(\[](?-i:[A-D]|[1-4][A-D]|[1-4][+-]{1,2}|I{1,3}[ab]?|IV|I{1,3}-[1-3][A-C]?|(?:I{1,3}|IV)-?[A-C]"
    r"|[1-4]\s*\|\s*[+O⊕○]{4}|(?:I{1,3}|IV|V)\s*,\s*[A-D])[\)\]](?=[ \t]*[.;]?[ \t]*(?:\n|$))",
    # VA/DoD "(Strong for)", "(Weak against)", "(strong, low)", "(Strong)"
    rf"{_OPEN}(?:strong|weak|conditional)(?:\s+(?:for|against|recommendation))?(?:\s*[,;]\s*(?:very low|low"
    rf"|moderate|high)(?:[- ]quality)?(?: evidence)?)?{_CLOSE}",
    # labels without a code: "(Expert Opinion)", "[GPP]", "(Practice Point)", "[Low Quality Evidence]"
    rf"{_OPEN}(?:expert opinion|(?:good )?practice point|GPP|clinical principle|consensus[^()\[\]\n]{{0,40}}"
    rf"|EO|not graded|(?:very )?(?:high|moderate|low)[- ]quality evidence|insufficient evidence){_CLOSE}",
    # "Grade B", "Grade: A", "Level A recommendation"
    r"\bGrade(?:[ \t]*:?[ \t]*(?-i:[A-D])|:[ \t]*(?-i:I))(?![A-Za-z0-9-])",
    r"(?-i:\bLevel [A-C])(?![A-Za-z0-9-])",
)
_RATING = re.compile("|".join(f"(?:{p})" for p in _RATING_PATTERNS), re.IGNORECASE | re.MULTILINE)
# Every rating starts with a bracket or one of these words; trying the pattern only there is faster.
_RATING_WORDS = (
    *("strength", "level", "quality", "grade", "class", "evidence", "recommendation", "certainty"),
    *("strong", "weak", "conditional", "discretionary"),
)
_RATING_START = re.compile(
    r"[(\[]|(?<![A-Za-z])(?:SOR|LOE|LOR|GR|LE|BEL|"
    + "|".join(f"[{w[0].upper()}{w[0]}]{w[1:]}|{w.upper()}" for w in _RATING_WORDS)
    + ")"
)
_RATING_FILLER = re.compile(r"[\s()\[\].,;:\-–]+|\b(?:and|recommendation|evidence|rating|grade)\b", re.I)
_SENTENCE_BREAK = re.compile(r"[.!?][\"'”’)\]]*(\s+)(?=[\(\[\"“‘]?[A-Z0-9])")
_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"\S+")
# Pieces with more words than this are never rating-only, so they skip the rating test.
_RATING_MAX_WORDS = 14


def _bracketed(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a match to the brackets around it (``LE=1`` -> ``(LE=1, GR=C)``) when there are any."""
    if text[start : start + 1] in "([" and text[end - 1 : end] in ")]":
        return start + 1, end - 1
    left = max(text.rfind("(", max(0, start - 60), start), text.rfind("[", max(0, start - 60), start))
    if left < 0 or any(ch in text[left + 1 : start] for ch in ")]\n"):
        return start, end
    closing = [i for i in (text.find(")", end, end + 60), text.find("]", end, end + 60)) if i >= 0]
    if not closing or any(ch in text[end : min(closing)] for ch in "([\n"):
        return start, end
    return left + 1, min(closing)


def _rating_matches(text: str) -> Iterator[re.Match[str]]:
    """Like ``_RATING.finditer(text)``, trying the pattern only where a rating can start."""
    position = 0
    for candidate in _RATING_START.finditer(text):
        if candidate.start() < position:
            continue
        match = _RATING.match(text, candidate.start())
        if match:
            position = match.end()
            yield match


def detect_strength(text: str) -> list[str]:
    """Return the strength-of-recommendation / level-of-evidence ratings found in ``text``.

    Example:
        >>> detect_strength("Offer statins (Class I, Level A). Check lipids. Level of Evidence: B")
        ['Class I, Level A', 'Level of Evidence: B']
    """
    found: list[str] = []
    for match in _rating_matches(text):
        start, end = _bracketed(text, match.start(), match.end())
        rating = " ".join(text[start:end].strip("()[] \t").split())
        if rating and rating not in found:
            found.append(rating)
    return found


def is_rating_only(text: str) -> bool:
    """Whether ``text`` holds nothing but ratings (a line such as ``Level of Evidence: B``).

    Example:
        >>> is_rating_only("(Strength of Recommendation: A)"), is_rating_only("Screen adults. [A]")
        (True, False)
    """
    stripped = _RATING.sub(" ", text)
    if stripped == text:
        return False
    return not _RATING_FILLER.sub("", stripped).strip()


@dataclass
class _Atom:
    """A span that must not be cut further by the packer (except by word windows)."""

    start: int
    end: int
    words: int
    block_start: bool
    glue_next: bool = False


def _validate(max_words: int, overlap_words: int) -> None:
    if not isinstance(max_words, int) or max_words < 1:
        raise ConfigError(f"max_words must be a positive integer, got {max_words!r}")
    if not isinstance(overlap_words, int) or not 0 <= overlap_words < max_words:
        raise ConfigError(f"overlap_words must be between 0 and max_words - 1, got {overlap_words!r}")


def _regions(doc: Document) -> list[tuple[int, int]]:
    """Spans between consecutive section boundaries, trimmed of whitespace, empty ones dropped."""
    text = doc.text
    cuts = {0, len(text)}
    for sec in doc.sections:
        cuts.add(min(max(sec.char_start, 0), len(text)))
        cuts.add(min(max(sec.char_end, 0), len(text)))
    ordered = sorted(cuts)
    regions = []
    for start, end in itertools.pairwise(ordered):
        segment = text[start:end]
        left = len(segment) - len(segment.lstrip())
        right = len(segment.rstrip())
        if right > left:
            regions.append((start + left, start + right))
    return regions


class _Chunker:
    def __init__(self, doc: Document, max_words: int, overlap_words: int) -> None:
        self.text = doc.text
        self.max_words = max_words
        self.overlap_words = overlap_words
        self.limit = int(max_words * 1.5)
        self.min_words = max(1, max_words // 10)
        self.heading_starts = {sec.char_start for sec in doc.sections}
        self.spans: list[tuple[int, int, int]] = []  # (start, end, start of text new to this chunk)

    # ------------------------------------------------------------------ pieces and atoms

    def _pieces(self, start: int, end: int) -> Iterable[tuple[int, int, int, bool]]:
        """Yield ``(start, end, words, starts_block)`` for each line or, in long lines, each sentence."""
        text = self.text
        for line in _LINE.finditer(text, start, end):
            raw = line.group()
            left = len(raw) - len(raw.lstrip())
            right = len(raw.rstrip())
            if right <= left:
                continue
            a, b = line.start() + left, line.start() + right
            words = len(text[a:b].split())
            if words <= self.max_words:
                yield a, b, words, True
                continue
            first = True
            begin = a
            for brk in _SENTENCE_BREAK.finditer(text, a, b):
                cut = brk.start(1)
                yield begin, cut, len(text[begin:cut].split()), first
                first = False
                begin = brk.end(1)
            yield begin, b, len(text[begin:b].split()), first

    def _atoms(self, start: int, end: int) -> list[_Atom]:
        atoms: list[_Atom] = []
        text = self.text
        for a, b, words, block_start in self._pieces(start, end):
            heading = block_start and a in self.heading_starts
            rating = words <= _RATING_MAX_WORDS and not heading and is_rating_only(text[a:b])
            last = atoms[-1] if atoms else None
            if last is not None and last.glue_next:
                # a heading (or a rating that opens a statement) joins what follows it
                last.end, last.words, last.glue_next = b, last.words + words, heading or rating
                continue
            if last is not None and rating and not detect_strength(text[last.start : last.end]):
                # a rating line closes the statement before it
                last.end, last.words = b, last.words + words
                continue
            # a rating after an already rated statement rates the next one
            atoms.append(_Atom(a, b, words, block_start, glue_next=heading or rating))
        return atoms

    # ------------------------------------------------------------------ packing

    def _emit(self, atoms: list[_Atom], fresh: int | None) -> None:
        self.spans.append((atoms[0].start, atoms[-1].end, atoms[0].start if fresh is None else fresh))

    def _windows(self, atom: _Atom) -> None:
        words = list(_WORD.finditer(self.text, atom.start, atom.end))
        step = self.max_words - self.overlap_words
        begin = 0
        while True:
            stop = min(begin + self.max_words, len(words))
            fresh = (
                words[begin + (self.overlap_words if begin else 0)].start() if stop > begin else atom.start
            )
            self.spans.append((words[begin].start(), words[stop - 1].end(), fresh))
            if stop >= len(words):
                return
            begin += step

    def pack(self, atoms: list[_Atom]) -> None:
        """Cut one region's atoms into balanced chunks of at most ``max_words`` words."""
        total = sum(atom.words for atom in atoms)
        # cuts inside a paragraph repeat up to overlap_words words; count them when sizing the chunks
        overlap = self.overlap_words if any(not atom.block_start for atom in atoms) else 0
        count = max(1, math.ceil((total - overlap) / (self.max_words - overlap)))
        target = (total + (count - 1) * overlap) / count
        block_rest = [0] * len(atoms)
        rest = 0
        for index in range(len(atoms) - 1, -1, -1):
            rest += atoms[index].words
            block_rest[index] = rest
            if atoms[index].block_start:
                rest = 0
        current: list[_Atom] = []
        words = 0
        fresh: int | None = None
        for index, atom in enumerate(atoms):
            if atom.words > self.limit:
                if current:
                    self._emit(current, fresh)
                current, words, fresh = [], 0, None
                self._windows(atom)
                continue
            if current:
                over = words + atom.words > self.max_words
                at_block = (
                    atom.block_start and words >= 0.5 * target and words + block_rest[index] > self.max_words
                )
                # close where the chunk comes nearest to the target size
                nearer = words + atom.words - target > target - words
                if over or at_block or words >= target or nearer:
                    self._emit(current, fresh)
                    current, fresh = self._overlap(current, atom), None
                    words = sum(a.words for a in current)
            if fresh is None:
                fresh = atom.start
            current.append(atom)
            words += atom.words
        if current:
            self._emit(current, fresh)

    def _overlap(self, previous: list[_Atom], following: _Atom) -> list[_Atom]:
        """Whole trailing sentences of the previous chunk that share the next atom's block."""
        if following.block_start or not self.overlap_words:
            return []
        kept: list[_Atom] = []
        words = 0
        for atom in reversed(previous):
            if words + atom.words > self.overlap_words:
                break
            kept.insert(0, atom)
            words += atom.words
            if atom.block_start:
                break
        if len(kept) == len(previous) or words + following.words > self.max_words:
            return []
        return kept

    # ------------------------------------------------------------------ document

    def run(self, doc: Document) -> None:
        carry: list[_Atom] = []
        for start, end in _regions(doc):
            atoms = self._atoms(start, end)
            if not atoms:
                continue
            if carry:
                carried = sum(a.words for a in carry)
                if carried + atoms[0].words <= self.limit:
                    first = atoms[0]
                    atoms[0] = _Atom(carry[0].start, first.end, carried + first.words, True, first.glue_next)
                else:
                    atoms = carry + atoms
                carry = []
            if sum(a.words for a in atoms) < self.min_words and "\n" not in self.text[start:end]:
                carry = atoms  # a bare heading or short title line opens the next section's chunk
                continue
            self.pack(atoms)
        if carry:
            self.pack(carry)


def chunk_document(doc: Document, *, max_words: int = 150, overlap_words: int = 20) -> list[Chunk]:
    """Cut a document's canonical text into cited chunks.

    Args:
        doc: the document; chunks index into ``doc.text``.
        max_words: the size chunks are packed to; a chunk exceeds it only to keep a heading or a
            rating with its statement, and never exceeds ``1.5 * max_words``.
        overlap_words: at most this many words of whole sentences are repeated when a long
            paragraph is cut in two.

    Returns:
        Chunks in text order with ids ``f"{doc.doc_id}:{ordinal}"``.

    Raises:
        ConfigError: ``max_words`` or ``overlap_words`` is out of range.
    """
    _validate(max_words, overlap_words)
    chunker = _Chunker(doc, max_words, overlap_words)
    chunker.run(doc)
    chunks: list[Chunk] = []
    for ordinal, (start, end, fresh) in enumerate(chunker.spans):
        strengths = detect_strength(doc.text[fresh:end])
        chunks.append(
            Chunk(
                chunk_id=f"{doc.doc_id}:{ordinal}",
                doc_id=doc.doc_id,
                text=doc.text[start:end],
                char_start=start,
                char_end=end,
                page=doc.page_at(start),
                section=doc.section_at(start),
                ordinal=ordinal,
                metadata={"strength": "; ".join(strengths)} if strengths else {},
            )
        )
    return chunks


def chunk_documents(
    docs: Iterable[Document], *, max_words: int = 150, overlap_words: int = 20
) -> list[Chunk]:
    """Chunk many documents (see :func:`chunk_document`).

    Example:
        >>> chunk_documents([])
        []
    """
    return [c for doc in docs for c in chunk_document(doc, max_words=max_words, overlap_words=overlap_words)]

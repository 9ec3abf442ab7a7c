"""USPSTF Prevention TaskForce JSON dump -> one document per recommendation.

The dump is ``{"specificRecommendations": [...]}``; each item has a title
(``"Topic: Service -- Population"``), a grade (A, B, C, D or I), the sex and
age range it applies to, the recommendation text (HTML) and optional service
frequency and risk-assessment text (HTML).

Each document's canonical text is the title, then a ``Recommendation``
section (the text followed by its ``Grade: X`` line, so the grade stays with
the statement), a ``Population`` section, and ``Service Frequency`` and
``Risk Assessment`` sections when present. Metadata carries the grade, sex,
age range and population for filtering.

Example:
    >>> items = load_uspstf(Path("../shared/data/uspstf/uspstf-recommendations.json"))  # doctest: +SKIP
    >>> items[0]["metadata"]["grade"]  # doctest: +SKIP
    'A'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from garmle.errors import IngestError
from garmle.ingest.html import render_html
from garmle.ingest.text import TextBuilder, clean_inline, decode_text

__all__ = ["USPSTF_LICENCE", "USPSTF_PUBLISHER", "USPSTF_URL", "is_uspstf_json", "load_uspstf"]

USPSTF_PUBLISHER = "U.S. Preventive Services Task Force"
USPSTF_LICENCE = "Public domain (U.S. government work)"
USPSTF_URL = "https://www.uspreventiveservicestaskforce.org/uspstf/recommendation-topics"

_GRADE_MEANING = {
    "A": "recommended; high certainty of substantial net benefit",
    "B": "recommended; net benefit moderate to substantial",
    "C": "selective offering based on individual circumstances; small net benefit",
    "D": "recommended against; no net benefit or harms outweigh benefits",
    "I": "insufficient evidence to assess the balance of benefits and harms",
}


def is_uspstf_json(head: bytes) -> bool:
    """Whether the first bytes of a file look like a USPSTF dump."""
    return b"specificRecommendations" in head


def _items(path: Path) -> list[Mapping[str, Any]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    try:
        data = json.loads(decode_text(raw, str(path)))
    except json.JSONDecodeError as exc:
        raise IngestError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    items = data.get("specificRecommendations") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) and "title" in i for i in items):
        raise IngestError(f"{path}: JSON is not a USPSTF dump (expected a 'specificRecommendations' list)")
    if not items:
        raise IngestError(f"{path}: USPSTF dump holds no recommendations")
    return items


def _ages(item: Mapping[str, Any]) -> tuple[int | None, int | None]:
    ages = item.get("ageRange")
    if isinstance(ages, list) and len(ages) == 2 and all(isinstance(a, int | float) for a in ages):
        return int(ages[0]), int(ages[1])
    return None, None


def _age_text(low: int | None, high: int | None) -> str:
    if low is None or high is None:
        return ""
    if high >= 100:
        return f"{low} years and older"
    return f"{low} to {high} years"


def _add_html(builder: TextBuilder, value: Any) -> None:
    if isinstance(value, str) and value.strip():
        render_html(value, builder, rank_base=1, detect_headings=False)


def _record(item: Mapping[str, Any], path: Path, source: str) -> dict[str, Any]:
    full_title = clean_inline(str(item.get("title", "")))
    if not full_title:
        raise IngestError(f"{path}: USPSTF recommendation {item.get('id', '?')} has no title")
    topic, _, population = (part.strip() for part in full_title.partition(" -- "))
    grade = clean_inline(str(item.get("grade") or ""))
    sex = clean_inline(str(item.get("sex") or item.get("gender") or ""))
    low, high = _ages(item)

    builder = TextBuilder()
    builder.paragraph(full_title)
    builder.heading("Recommendation", rank=1)
    _add_html(builder, item.get("text"))
    if grade:
        builder.paragraph(f"Grade: {grade}")
    builder.heading("Population", rank=1)
    described = [f"Sex: {sex}." if sex else "", f"Age: {_age_text(low, high)}." if low is not None else ""]
    if population:
        described.insert(0, f"{population}.")
    builder.paragraph(" ".join(d for d in described if d))
    if item.get("servFreq"):
        builder.heading("Service Frequency", rank=1)
        _add_html(builder, item.get("servFreq"))
    if item.get("riskText"):
        builder.heading("Risk Assessment", rank=1)
        _add_html(builder, item.get("riskText"))
    text, sections = builder.build()

    metadata: dict[str, str] = {"uspstf_id": str(item.get("id", "")), "conditions": topic.split(":")[0]}
    if population:
        metadata["population"] = population
    if grade:
        metadata["grade"] = grade
        metadata["grade_meaning"] = _GRADE_MEANING.get(grade.upper(), "")
    if sex:
        metadata["sex"] = sex
    if low is not None and high is not None:
        metadata["age_min"], metadata["age_max"] = str(low), str(high)
    risk = clean_inline(str(item.get("riskName") or ""))
    if risk and risk != "None":
        metadata["risk"] = risk
    if risk == "Pregnant" or "pregnan" in population.lower():
        metadata["pregnancy"] = "true"
    return {
        "title": full_title,
        "text": text,
        "source": source,
        "source_path": f"{path}#{item.get('id', '')}",
        "publisher": USPSTF_PUBLISHER,
        "licence": USPSTF_LICENCE,
        "url": USPSTF_URL,
        "fmt": "uspstf",
        "sections": sections,
        "metadata": {k: v for k, v in metadata.items() if v},
    }


def load_uspstf(
    path: Path, *, source: str = "uspstf", meta: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """Parse a USPSTF dump into the keyword arguments of one document per recommendation.

    ``meta`` defaults are applied by :func:`garmle.ingest.load_file`, like for every format.

    Raises:
        IngestError: the file is not valid JSON or not shaped like the USPSTF dump.
    """
    return [_record(item, path, source) for item in _items(path)]

"""National Guideline Clearinghouse (NGC) guideline summary XML -> Document.

An NGC summary is a ``<Version>`` element holding ``<Section>``/``<Field
Name="...">`` elements; each ``<FieldValue Value="...">`` attribute holds
escaped HTML (narrative fields) or a plain value (pick lists, organisations).

The canonical text is the guideline title, then the narrative fields in
:data:`NARRATIVE_FIELDS` order (``Major Recommendations`` first), each a
section whose path starts with the field name; bold or underlined
sub-headings inside a field become deeper section paths.

Example:
    >>> from pathlib import Path
    >>> doc = load_ngc(Path("../shared/data/ngc-summaries/ngc-10598.xml"))  # doctest: +SKIP
    >>> doc.metadata["ngc_id"]  # doctest: +SKIP
    '10598'
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from garmle.errors import IngestError
from garmle.ingest.html import html_to_text, render_html
from garmle.ingest.text import TextBuilder, clean_inline, fix_mojibake

__all__ = [
    "NARRATIVE_FIELDS",
    "NgcSummary",
    "includes_pregnancy_alongside",
    "is_ngc_xml",
    "load_ngc",
    "ngc_id",
    "population_groups",
    "read_ngc_fields",
]

NARRATIVE_FIELDS: tuple[str, ...] = (
    "Major Recommendations",
    "Clinical Algorithm(s)",
    "Rating Scheme for the Strength of the Recommendations",
    "Rating Scheme for the Strength of the Evidence",
    "Type of Evidence Supporting the Recommendations",
    "Potential Benefits",
    "Potential Harms",
    "Contraindications",
    "Qualifying Statements",
    "FDA Warning/Regulatory Alert",
    "Disease/Condition(s)",
    "Guideline Objective(s)",
    "Target Population",
    "Interventions and Practices Considered",
    "Major Outcomes Considered",
)

# metadata key -> NGC field name
_METADATA_FIELDS: Mapping[str, str] = {
    "conditions": "Disease/Condition(s)",
    "other_conditions": "Other Disease/Condition(s) Addressed",
    "population": "Target Population",
    "category": "Guideline Category",
    "clinical_specialty": "Clinical Specialty",
    "intended_users": "Intended Users",
    "interventions": "Interventions and Practices Considered",
    "rating_scheme": "Rating Scheme for the Strength of the Recommendations",
    "date_released": "Date Released",
    "status": "Guideline Status",
    "bibliographic_source": "Bibliographic Source(s)",
}

_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
_ORG_KIND = re.compile(
    r"\s+-\s+[^-]*(?:Agency|Society|Association|Organization|Organisation|Center|Centre|"
    r"Institute|Foundation|Group|Hospital|Company|College|Academy|System|Council|"
    r"Government|Institution|Network|Authority|Commission|\])[^-]*$"
)

# Fields whose values are lists of names, joined with "; " in metadata.
_LIST_FIELDS = frozenset(
    {"conditions", "other_conditions", "category", "clinical_specialty", "intended_users"}
)

# Population groups named in a "Target Population" text, in a fixed order.
_POPULATION_GROUPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("infants", re.compile(r"\b(?:infants?|newborns?|neonat\w*|preterm)\b", re.I)),
    (
        "children",
        re.compile(
            r"\b(?:child(?:ren)?|pediatric|paediatric|school-age\w*|toddlers?"
            r"|(?:less than|younger than|under) (?:1[0-8]|[1-9]) years)\b",
            re.I,
        ),
    ),
    ("adolescents", re.compile(r"\b(?:adolescen\w*|teen\w*|youths?)\b", re.I)),
    (
        "adults",
        re.compile(
            r"\b(?:adults?|(?:aged? )?(?:1[89]|[2-9]\d) (?:years )?(?:of age )?(?:or|and) (?:older|over))\b",
            re.I,
        ),
    ),
    (
        "older adults",
        re.compile(
            r"\b(?:older (?:adults|people|persons|patients)|elderly"
            r"|aged (?:6[05]|7\d) (?:years )?(?:and|or) (?:older|over))\b",
            re.I,
        ),
    ),
    (
        "pregnancy",
        re.compile(
            r"(?<!non-)(?<!non)\b(?:pregnan\w*|antenatal|prenatal|postpartum|peripartum|obstetric\w*)\b", re.I
        ),
    ),
    ("women", re.compile(r"\b(?:women|woman|females?)\b", re.I)),
    ("men", re.compile(r"\b(?:men|man|males?)\b", re.I)),
)

POPULATION_GROUPS: tuple[str, ...] = tuple(name for name, _ in _POPULATION_GROUPS)
"""The population groups a guideline's target population is read into (``population_groups``)."""

_EXCLUSION = re.compile(r"\bNote:|\b(?:not|exclud\w*|except)\b", re.I)

NgcSummary = dict[str, list[str]]


_PREGNANCY_INCLUDED = re.compile(r"\bincluding\s+(in\s+|during\s+)?pregnan\w*", re.I)


def includes_pregnancy_alongside(title: str) -> bool:
    """True when a title adds pregnancy to a wider population rather than being about it alone.

    Example:
        >>> includes_pregnancy_alongside("Tobacco smoking cessation in adults, including pregnant women")
        True
        >>> includes_pregnancy_alongside("Diabetes and pregnancy")
        False
    """
    return bool(_PREGNANCY_INCLUDED.search(title))


# a sex named as one of several subgroups of a guideline for all adults
_SEX_AS_SUBGROUP = re.compile(
    r"\b(?:such as|including|includes|e\.g\.|for example|especially|particularly)\b[^.;]{0,60}\b(?:wo)?men\b"
    # "The following special groups are considered: - People older than 75 - Women - ..."
    r"|\b(?:special|specific|sub)\s*-?groups?\b[^.;]{0,250}\b(?:wo)?men\b",
    re.I,
)


def names_sex_as_subgroup(population: str) -> bool:
    """True when a target population for adults names women or men as one subgroup among others
    rather than as the population itself.

    Example:
        >>> names_sex_as_subgroup("Adults with STEMI, and subgroups such as older adults, women and others")
        True
        >>> names_sex_as_subgroup("Adult women with stress urinary incontinence")
        False
    """
    return _SEX_AS_SUBGROUP.search(population) is not None


def population_groups(text: str) -> list[str]:
    """Name the population groups a free-text target population includes.

    Only the text before the first exclusion ("Note:", "not", "excluding") counts, because
    summaries name the groups a guideline leaves out after the ones it covers.

    Example:
        >>> population_groups("Pregnant women and their infants")
        ['infants', 'pregnancy', 'women']
        >>> population_groups("Adults 18 years or older. Note: This guideline does not cover children.")
        ['adults']
    """
    included = _EXCLUSION.split(text, maxsplit=1)[0]
    return [name for name, pattern in _POPULATION_GROUPS if pattern.search(included)]


def is_ngc_xml(head: bytes) -> bool:
    """Whether the first bytes of a file look like an NGC summary."""
    return b"<Version" in head[:2000] and b"<Field" in head


def read_ngc_fields(path: Path) -> NgcSummary:
    """Return ``{field name: [raw values]}`` of an NGC summary (first occurrence of each field)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise IngestError(f"{path}: not well-formed NGC XML ({exc})") from exc
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    if root.tag != "Version":
        raise IngestError(f"{path}: not an NGC summary (root element <{root.tag}>, expected <Version>)")
    fields: NgcSummary = {}
    for field in root.iter("Field"):
        name = (field.get("Name") or "").strip()
        if not name or name in fields:
            continue
        fields[name] = [fv.get("Value") or "" for fv in field.iter("FieldValue")]
    return fields


def _plain(values: list[str], separator: str = "; ") -> str:
    parts = [html_to_text(v, separator) if "<" in v else clean_inline(fix_mojibake(v)) for v in values]
    return separator.join(p for p in parts if p)


def _publisher(values: list[str]) -> str:
    names = [_ORG_KIND.sub("", clean_inline(fix_mojibake(v))) for v in values]
    return "; ".join(dict.fromkeys(n for n in names if n))


def _year(date_released: str, bibliographic: str) -> int | None:
    years = [int(y) for y in _YEAR.findall(date_released)]
    if years:
        return max(years)
    found = re.search(r";\s*(19[5-9]\d|20\d\d)\b", bibliographic) or _YEAR.search(bibliographic)
    return int(found.group(1)) if found else None


def _first_link(values: list[str]) -> str:
    for value in values:
        match = re.search(r"href\s*=\s*[\"'](https?://[^\"']+)", value)
        if match:
            return match.group(1)
    return ""


def ngc_id(path: Path) -> str:
    """The NGC summary number from a file name (``ngc-10598.xml`` -> ``"10598"``)."""
    match = re.fullmatch(r"ngc-?(\d+)", path.stem, re.IGNORECASE)
    return match.group(1) if match else path.stem


def load_ngc(path: Path, *, source: str = "ngc", meta: Mapping[str, str] | None = None) -> dict[str, object]:
    """Parse one NGC summary into the keyword arguments of a :class:`~garmle.types.Document`.

    The caller (:func:`garmle.ingest.load_document`) applies ``meta`` defaults and adds the id.
    """
    fields = read_ngc_fields(path)
    title = _plain(fields.get("Guideline Title", []), " ")
    if not title:
        raise IngestError(f"{path}: NGC summary has no 'Guideline Title' field")
    builder = TextBuilder()
    builder.paragraph(title)
    has_narrative = False
    for name in NARRATIVE_FIELDS:
        values = [v for v in fields.get(name, []) if v.strip()]
        if not values:
            continue
        builder.heading(name, rank=0)
        heading_end = builder.length
        for value in values:
            if "<" in value:
                render_html(value, builder, rank_base=0)
            else:
                builder.paragraph(fix_mojibake(value))
        has_narrative = has_narrative or builder.length > heading_end
    text, sections = builder.build()
    if not has_narrative:
        raise IngestError(f"{path}: NGC summary has no narrative fields (no 'Major Recommendations')")

    metadata: dict[str, str] = {"ngc_id": ngc_id(path)}
    for key, field_name in _METADATA_FIELDS.items():
        value = _plain(fields.get(field_name, []), "; " if key in _LIST_FIELDS else " ")
        if value:
            metadata[key] = value
    publisher = _publisher(fields.get("Guideline Developer(s)", []))
    if publisher:
        metadata["publisher"] = publisher
    year = _year(metadata.get("date_released", ""), metadata.get("bibliographic_source", ""))
    if year is not None:
        metadata["year"] = str(year)
    groups = population_groups(metadata.get("population", ""))
    if groups:
        metadata["population_groups"] = "; ".join(groups)
    licence = _plain(fields.get("Copyright Statement", []), " ")
    return {
        "title": title,
        "text": text,
        "source": source,
        "source_path": str(path),
        "publisher": publisher,
        "year": year,
        "licence": licence,
        "url": _first_link(fields.get("Guideline Availability", [])),
        "fmt": "ngc",
        "sections": sections,
        "metadata": metadata,
    }

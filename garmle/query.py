"""Patient + predicted codes -> retrieval queries (the generation-augmented step, without generation).

Each predicted code gives several queries, one per aspect of care (diagnosis, targets, treatment,
monitoring, patients like this one). A query is filled from a versioned template
(``garmle/data/query_templates.toml``) with the code's catalogue wording and the patient facts
relevant to that code, and it records which facts went in, so every query can be inspected.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> from garmle.types import BloodPressure, CodePrediction, Patient
    >>> p = Patient(patient_id="p", age=64, sex="male",
    ...             blood_pressures=(BloodPressure(152, 96), BloodPressure(158, 98)))
    >>> pred = CodePrediction("I10", "Essential (primary) hypertension", 0.9)
    >>> qs = build_queries(p, [pred], IcdCatalogue())
    >>> qs[0].aspect, "64-year-old man" in qs[0].text
    ('diagnosis', True)
"""

from __future__ import annotations

import re
import statistics
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from garmle.catalogue import IcdCatalogue
from garmle.catalogue.icd10cm import lay_wordings
from garmle.errors import ConfigError, GarmleError
from garmle.patient.ethnicity import ETHNICITY_TERMS
from garmle.types import CodePrediction, Patient, Query

__all__ = [
    "Aspect",
    "CodeGroup",
    "PatientFact",
    "TemplateSet",
    "build_queries",
    "clinical_synonyms",
    "clinical_title",
    "condition_names",
    "condition_phrase",
    "load_templates",
    "load_topic_names",
    "patient_dense_texts",
    "patient_facts",
    "population_phrase",
    "sibling_names",
]

LAB_LABELS: Mapping[str, tuple[str, str]] = {
    "egfr": ("eGFR", "mL/min/1.73m2"),
    "creatinine": ("creatinine", "mg/dL"),
    "potassium": ("potassium", "mmol/L"),
    "uacr": ("urine albumin-to-creatinine ratio", "mg/g"),
    "hba1c": ("HbA1c", "%"),
    "glucose": ("glucose", "mg/dL"),
    "ldl": ("LDL cholesterol", "mg/dL"),
    "hdl": ("HDL cholesterol", "mg/dL"),
    "total_cholesterol": ("total cholesterol", "mg/dL"),
    "triglycerides": ("triglycerides", "mg/dL"),
    "bmi": ("BMI", "kg/m2"),
    "hemoglobin": ("hemoglobin", "g/dL"),
}

# Match terms per lab: what a guideline sentence about this value tends to say.
LAB_TERMS: Mapping[str, tuple[str, ...]] = {
    "egfr": ("egfr", "glomerular filtration", "kidney function", "renal function"),
    "creatinine": ("creatinine",),
    "potassium": ("potassium", "hyperkalemia"),
    "uacr": ("albuminuria", "albumin", "microalbumin"),
    "hba1c": ("hba1c", "a1c", "glycated", "hemoglobin a1c"),
    "glucose": ("glucose",),
    "ldl": ("ldl", "cholesterol", "statin"),
    "hdl": ("hdl",),
    "total_cholesterol": ("cholesterol",),
    "triglycerides": ("triglyceride",),
    "bmi": ("bmi", "body mass index", "obese", "obesity"),
    "hemoglobin": ("hemoglobin", "anemia", "anaemia"),
}

_STOP = {
    "unspecified", "other", "without", "with", "and", "of", "the", "in", "due", "to", "type", "disease",
    "disorder", "primary", "essential", "mellitus", "complications", "stage", "specified", "chronic",
    "acute", "not", "elsewhere", "classified", "for", "or", "by", "on", "a", "an",
}  # fmt: skip


@dataclass(frozen=True)
class Aspect:
    """One aspect of care a query asks about."""

    id: str
    label: str
    template: str
    focus: str = ""
    needs: str = ""
    weight: float = 1.0
    dense_template: str = ""  # what the dense retriever embeds; the full template when empty
    cross_guideline: bool = False  # its evidence may come from guidelines about other conditions

    @property
    def dense_fields(self) -> frozenset[str]:
        """The placeholders the dense template fills."""
        return frozenset(re.findall(r"{(\w+)}", self.dense_template))

    @property
    def patient_independent_dense(self) -> bool:
        """True when the dense text names only the condition and the aspect, nothing of the patient."""
        return bool(self.dense_template) and self.dense_fields <= {"condition", "focus"}


@dataclass(frozen=True)
class CodeGroup:
    """Codes that share relevant facts and aspect wording (e.g. all hypertension codes)."""

    name: str
    prefixes: tuple[str, ...]
    labs: tuple[str, ...] = ()
    uses_bp: bool = False
    focus: Mapping[str, str] = field(default_factory=dict)

    def matches(self, code: str) -> bool:
        """True when ``code`` starts with one of the group's prefixes."""
        return code.startswith(self.prefixes)


@dataclass(frozen=True)
class TemplateSet:
    """The versioned query templates."""

    version: str
    aspects: tuple[Aspect, ...]
    groups: tuple[CodeGroup, ...]

    def aspect_weights(self) -> dict[str, float]:
        """Aspect id -> weight in the per-code fusion."""
        return {a.id: a.weight for a in self.aspects}

    def cross_guideline_aspects(self) -> frozenset[str]:
        """Aspects whose evidence may come from guidelines about other conditions."""
        return frozenset(a.id for a in self.aspects if a.cross_guideline)

    def group_for(self, code: str) -> CodeGroup | None:
        """The first code group matching ``code``, if any."""
        return next((g for g in self.groups if g.matches(code)), None)


@dataclass(frozen=True)
class PatientFact:
    """A patient fact as shown in a query and the words that show a snippet addresses it."""

    text: str
    terms: tuple[str, ...]


def load_templates(path: Path | None = None) -> TemplateSet:
    """Read query templates from ``path`` or the packaged ``query_templates.toml``."""
    try:
        if path is None:
            raw = resources.files("garmle.data").joinpath("query_templates.toml").read_text("utf-8")
        else:
            raw = Path(path).read_text("utf-8")
        data = tomllib.loads(raw)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"query templates {path or 'query_templates.toml'}: {exc}") from exc
    return _parse_templates(data)


@lru_cache(maxsize=1)
def _default_templates() -> TemplateSet:
    return load_templates()


def _parse_templates(data: Mapping[str, Any]) -> TemplateSet:
    try:
        aspects = tuple(
            Aspect(
                id=str(a["id"]),
                label=str(a.get("label", a["id"])),
                template=str(a["template"]),
                focus=str(a.get("focus", "")),
                needs=str(a.get("needs", "")),
                weight=float(a.get("weight", 1.0)),
                dense_template=str(a.get("dense_template", "")),
                cross_guideline=bool(a.get("cross_guideline", False)),
            )
            for a in data["aspect"]
        )
        aspect_ids = {a.id for a in aspects}
        groups = tuple(
            CodeGroup(
                name=str(g["name"]),
                prefixes=tuple(str(p) for p in g["prefixes"]),
                labs=tuple(str(x) for x in g.get("labs", ())),
                uses_bp=bool(g.get("uses_bp", False)),
                focus={k: str(v) for k, v in g.items() if k in aspect_ids},
            )
            for g in data.get("group", ())
        )
        version = str(data["version"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"query templates: missing or malformed field {exc}") from exc
    for aspect in aspects:
        unknown = set(re.findall(r"{(\w+)}", aspect.template + aspect.dense_template)) - {
            "condition", "population", "facts", "focus", "comorbidities", "presentation",
        }  # fmt: skip
        if unknown:
            raise ConfigError(f"query template {aspect.id!r} uses unknown placeholders {sorted(unknown)}")
    return TemplateSet(version=version, aspects=aspects, groups=groups)


# --------------------------------------------------------------------------- facts


def population_phrase(patient: Patient) -> str:
    """Age band, sex and pregnancy in words, e.g. ``"a 64-year-old man"`` or ``"adults"``."""
    sex = (patient.sex or "").lower()
    if patient.pregnant:
        noun = "pregnant woman"
    elif patient.age is not None and patient.age < 18:
        noun = {"male": "boy", "female": "girl"}.get(sex, "child")
    else:
        noun = {"male": "man", "female": "woman"}.get(sex, "adult")
    if patient.age is None:
        return {"pregnant woman": "pregnant women", "adult": "adults"}.get(noun, f"{noun}s")
    phrase = f"a {patient.age}-year-old {noun}"
    if patient.postpartum and not patient.pregnant:
        phrase += " (postpartum)"
    elif patient.age >= 65 and not patient.pregnant:
        phrase += " (older adult)"
    elif patient.age < 18:
        phrase += f" ({_child_band(patient.age)})"
    return phrase


def _child_band(age: int) -> str:
    """The age band paediatric guidelines write for a child of ``age`` whole years."""
    if age < 1:
        return "infant under 12 months"
    if age < 2:
        return "young child under 2 years"
    if age < 5:
        return "young child under 5 years"
    if age < 12:
        return "school-age child"
    return "adolescent"


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _bp_facts(patient: Patient) -> list[PatientFact]:
    readings = patient.blood_pressures[-3:]
    if not readings:
        return []
    sys_mean = statistics.fmean(r.systolic for r in readings)
    dia_mean = statistics.fmean(r.diastolic for r in readings)
    level = (
        "severe, 180/120 or higher" if sys_mean >= 180 or dia_mean >= 120 else
        "stage 2, 140/90 or higher" if sys_mean >= 140 or dia_mean >= 90 else
        "stage 1, 130-139/80-89" if sys_mean >= 130 or dia_mean >= 80 else
        "elevated" if sys_mean >= 120 else "normal"
    )  # fmt: skip
    text = f"blood pressure {_fmt(sys_mean)}/{_fmt(dia_mean)} mmHg"
    text += f" (mean of last {len(readings)} readings; {level})" if len(readings) > 1 else f" ({level})"
    facts = [PatientFact(text, ("blood pressure", "mmhg", "hypertension", "systolic", "diastolic"))]
    if len(patient.blood_pressures) >= 4:
        older = patient.blood_pressures[-6:-3]
        delta = sys_mean - statistics.fmean(r.systolic for r in older)
        if abs(delta) >= 5:
            trend = "rising" if delta > 0 else "falling"
            facts.append(
                PatientFact(f"systolic pressure {trend} by {abs(delta):.0f} mmHg", ("blood pressure",))
            )
    return facts


def _lab_fact(patient: Patient, name: str) -> PatientFact | None:
    obs = patient.lab(name)
    if obs is None:
        return None
    # Canonical units (values are converted on loading); source units such as UCUM "{1.73_m2}" read badly.
    label, unit = LAB_LABELS.get(name, (name, obs.unit))
    return PatientFact(f"{label} {_fmt(obs.value)} {unit}".strip(), LAB_TERMS.get(name, (name,)))


def _name_terms(title: str) -> tuple[str, ...]:
    """Distinctive words of a title, for matching snippets to a comorbidity or drug."""
    words = re.findall(r"[a-z][a-z0-9-]{3,}", title.lower())
    return tuple(dict.fromkeys(w for w in words if w not in _STOP))


def patient_facts(
    patient: Patient,
    code: str,
    others: Sequence[CodePrediction],
    templates: TemplateSet | None = None,
) -> list[PatientFact]:
    """The facts of ``patient`` relevant to ``code``: vital signs, labs, comorbidities, medications."""
    templates = templates or _default_templates()
    group = templates.group_for(code)
    facts: list[PatientFact] = []
    if group is None or group.uses_bp:
        facts.extend(_bp_facts(patient))
    for name in group.labs if group else ("egfr", "hba1c"):
        fact = _lab_fact(patient, name)
        if fact is not None:
            facts.append(fact)
    terms = ETHNICITY_TERMS.get(patient.ethnicity or "", ())
    if terms:
        # passages written for the patient's group ("in the general black population, ...")
        facts.append(PatientFact(f"ethnicity: {patient.ethnicity}", terms))
    if patient.pregnant:
        facts.append(PatientFact("pregnant", ("pregnan", "gestation")))
    elif patient.postpartum:
        facts.append(PatientFact("postpartum", ("postpartum", "postnatal", "puerper", "after delivery")))
    comorbid = [p.title for p in others if _comorbidity(p.code, code)][:4]
    if comorbid:
        terms = tuple(t for title in comorbid for t in _name_terms(title))
        facts.append(PatientFact("comorbidities: " + "; ".join(comorbid), terms))
    meds = [m.display for m in patient.medications][:6]
    if meds:
        terms = tuple(t for med in meds for t in _name_terms(med)[:1])
        facts.append(PatientFact("current medications: " + "; ".join(meds), terms))
    return facts


_QUALIFIERS = re.compile(
    r"\b(?:right|left|bilateral|unilateral|unspecified(?: side)?|not intractable|uncomplicated|"
    r"(?:initial|subsequent) encounter|sequela)\b|\((?:fe)?male\)|\bwithout\b[^,/]*",
    re.I,
)
"""Coding qualifiers that say nothing to a guideline: laterality, "unspecified", absent complications."""


# the catalogue's wording of a condition beside the one guidelines use: "atherosclerotic" alone draws the
# cholesterol guidelines' "atherosclerotic cardiovascular disease"
_CLINICAL_WORDING = ((re.compile(r"\bAtherosclerotic heart disease of native coronary artery\b", re.I),
                      "Coronary artery disease"),)  # fmt: skip


def clinical_title(title: str) -> str:
    """A catalogue title without its coding qualifiers (laterality, "unspecified", "without ..."), in
    the clinical wording of :data:`_CLINICAL_WORDING`.

    Example:
        >>> clinical_title("Migraine with aura, not intractable, without status migrainosus")
        'Migraine with aura'
        >>> clinical_title("Unilateral primary osteoarthritis, right hip")
        'primary osteoarthritis, hip'
        >>> clinical_title("Atherosclerotic heart disease of native coronary artery with angina pectoris")
        'Coronary artery disease with angina pectoris'
    """
    for pattern, wording in _CLINICAL_WORDING:
        title = pattern.sub(wording, title)
    cleaned = re.sub(r"\s+", " ", _QUALIFIERS.sub("", title))
    cleaned = re.sub(r"\s*,(?:\s*,)*", ",", cleaned).strip(" ,")
    return cleaned or title


_BRACKETED = re.compile(r"\[[^\[\]]*\]")
# the catalogue's parentheses hold nonessential modifiers: "Bronchiolitis (acute)" is bronchiolitis
_NONESSENTIAL = re.compile(r"\([^()]*\)")
# both, with the space before them: what a sibling's clinical name leaves out
_MODIFIERS = re.compile(rf"\s*(?:{_NONESSENTIAL.pattern}|{_BRACKETED.pattern})")


def _first_word(title: str) -> str:
    """A title's first word in lower case without its punctuation: "epilepsy" of "Epilepsy, unspecified"."""
    return title.lower().split()[0].strip(",;:")


def clinical_synonyms(code: str, catalogue: IcdCatalogue) -> tuple[str, ...]:
    """The bundled clinical names of a code: those listed for the code itself or its category, and those
    listed for the unspecified code of its subcategory or category ("deep vein thrombosis", listed for
    I82.409, also names I82.412; "asthma", listed for J45.909 "Unspecified asthma, uncomplicated", names
    J45.30). A specified sibling's names (diverticulitis for diverticulosis, asthma exacerbation for
    persistent asthma, systolic for diastolic heart failure) are not taken.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> "deep vein thrombosis" in clinical_synonyms("I82.412", IcdCatalogue())
        True
        >>> "epilepsy" in clinical_synonyms("G40.209", IcdCatalogue())  # listed for G40.909
        True
    """
    from garmle.coding.catalogue_coder import load_synonyms

    entry = catalogue.lookup(code)
    # "Other mental disorders complicating pregnancy" (O99.34-) names no other O99 code
    heads = {_first_word(entry.title), _first_word(catalogue.title(entry.category))} - {"other"}
    depth = 6 if len(code) > 6 else 5  # the subcategory: O99.33 for O99.332, not O99.3
    ranked: list[tuple[int, str]] = []  # closest first: the code, its subcategory, its category
    for phrase, target in load_synonyms():
        if target == code:
            ranked.append((0, phrase))
        elif code.startswith(target) and len(target) > 3:
            ranked.append((1, phrase))  # listed for a subcategory above the code
        elif target == entry.category:
            ranked.append((2, phrase))
        elif target[:3] == code[:3]:
            try:
                title = catalogue.title(target).lower()
            except GarmleError:
                continue
            # "... with hemorrhage" is a specified sibling; "... with unspecified severity" is not
            if "unspecified" not in title or re.search(r" with (?!unspecified)", title):
                continue
            if len(code) > 4 and target[:depth] == code[:depth]:
                ranked.append((1, phrase))
            elif title.startswith("unspecified") or _first_word(title) in heads:
                # the unspecified code of a specified subcategory names that subtype: "systolic heart
                # failure" (I50.20) is no name of diastolic heart failure, nor "diabetic retinopathy"
                # (E11.319) of type 2 diabetes with hyperglycemia; "Other and unspecified asthma" is none,
                # nor "... ulcer of unspecified part of lower leg"
                subcategory = target[:5]
                if (
                    len(target) > 5
                    and subcategory != code[:5]
                    and catalogue.is_valid(subcategory)  # "T68.X" of T68.XXXA is no code
                    and not re.search(r"^other\b|\bunspecified\b", catalogue.title(subcategory), re.I)
                ):
                    continue
                ranked.append((3, phrase))
    # the broader names a guideline uses ("peptic ulcer disease" for a duodenal ulcer)
    ranked += [(2, phrase) for phrase, target in load_topic_names() if code.startswith(target)]
    names = [phrase for _, phrase in sorted(ranked, key=lambda r: r[0])]
    return tuple(dict.fromkeys(names))


@lru_cache(maxsize=1)
def load_topic_names() -> tuple[tuple[str, str], ...]:
    """The bundled ``(phrase, code or code prefix)`` topic names: broader clinical names a guideline
    uses for a condition the catalogue splits ("peptic ulcer disease" for a gastric or duodenal ulcer,
    "acute otitis media" for acute suppurative otitis media). They name every code at or below their
    target; the note coder does not read them.

    Example:
        >>> ("peptic ulcer disease", "K26") in load_topic_names()
        True
    """
    from garmle.coding.catalogue_coder import bundled_pairs

    return bundled_pairs("topic_names.tsv")


# Conditions of other categories named by a qualifier and the whole name of a code's condition: a
# guideline on pulmonary or portal hypertension is not about the hypertension of I10-I16, nor one on
# ulcerative colitis about a gastroenteritis or colitis not otherwise specified.
_NAMESAKES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("I10", "I11", "I12", "I13", "I15", "I16", "I1A"),
        ("pulmonary hypertension", "portal hypertension", "intracranial hypertension", "ocular hypertension"),
    ),
    # a gastroenteritis or colitis "NOS" is none of the named colitides
    (
        ("K52.9",),
        (
            "ulcerative colitis",
            "Crohn's colitis",
            "microscopic colitis",
            "ischemic colitis",
            "pseudomembranous colitis",
        ),
    ),
    # a pleural effusion is no malignant one (J91.0), which has guidelines of its own
    (("J90",), ("malignant pleural effusion",)),
)


def sibling_names(code: str, catalogue: IcdCatalogue) -> tuple[str, ...]:
    """The clinical names, of two words or more, of the other subcategories of a code's category:
    "Interstitial cystitis" and "Irradiation cystitis" beside acute cystitis, "Systolic heart failure"
    beside diastolic. An unspecified code has none: every kind of its condition is its kind; yet a
    condition of another category named by a qualifier and the code's condition (pulmonary hypertension
    beside essential hypertension, :data:`_NAMESAKES`) is a sibling of every code it shares the name of.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> sibling_names("N30.00", IcdCatalogue())
        ('Interstitial cystitis', 'Irradiation cystitis')
        >>> sibling_names("N30.90", IcdCatalogue()), sibling_names("I10", IcdCatalogue())[:2]
        ((), ('pulmonary hypertension', 'portal hypertension'))
    """
    entry = catalogue.lookup(code)
    namesakes = next((names for prefix, names in _NAMESAKES if code.startswith(prefix)), ())
    if "unspecified" in entry.title.lower() or len(code) < 5:
        return namesakes
    own = entry.title.lower()
    out: list[str] = list(namesakes)
    for sibling in catalogue.codes(entry.category):
        residual = "unspecified" in sibling.title.lower() or sibling.title.startswith("Other ")
        if len(sibling.code) != 5 or sibling.code == code[:5] or residual:
            continue  # a residual class ("Other ...", "..., unspecified") names the category itself
        name = _MODIFIERS.sub("", clinical_title(sibling.title)).strip(" ,")
        if len(name.split()) >= 2 and "," not in name and name.lower() not in own and name not in out:
            out.append(name)
    return tuple(out)


def condition_names(code: str, catalogue: IcdCatalogue) -> tuple[str, ...]:
    """Every name of a code's condition: catalogue title, the titles above it up to its category, short
    inclusion terms and clinical synonyms (the topic feature asks a guideline to name one of them in full).

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> condition_names("I10", IcdCatalogue())[:3]
        ('Essential (primary) hypertension', 'HTN', 'hypertension')
    """
    entry = catalogue.lookup(code)
    # subcategory titles are often the clinical name ("Carpal tunnel syndrome" above G56.00)
    between = [a for a in catalogue.ancestors(code) if len(a) > 3 and "-" not in a]
    # a residual class above the code ("Other anxiety disorders" above generalized anxiety disorder,
    # "Other diseases of liver" above fatty liver) names the other conditions of its kind, not this one
    above = [catalogue.title(a) for a in (*between, entry.category)]
    names = [entry.title, *(title for title in above if not title.startswith("Other "))]
    names += [t for t in entry.inclusion_terms if len(t) <= 40]
    # and those of the subcategories above it ("Graves' disease" is listed under E05.0, not E05.00)
    names += [
        t
        for a in between
        for t in catalogue.lookup(a).inclusion_terms
        if len(t) <= 40 and not t.startswith("Conditions ")  # "Conditions in D50-D64" names no condition
    ]
    names += clinical_synonyms(code, catalogue)
    # an arthropathy of one joint is the condition a guideline for every joint covers: "Osteoarthritis
    # of hip" is osteoarthritis ("Osteoarthritis: care and management in adults")
    site = _AT_A_JOINT.fullmatch(catalogue.title(entry.category))
    if "M00" <= entry.category <= "M19" and site:
        names.append(site.group(1))
    if code.startswith(_RECURRENCE_HISTORY):
        # a past stroke's or thrombosis's guidelines name the condition itself ("stroke", not "personal
        # history of stroke NOS"): preventing its recurrence is what they recommend
        for name in (entry.title, *entry.inclusion_terms):
            if name.startswith(_HISTORY) and "classifiable" not in name:
                past = name.removeprefix(_HISTORY).split(", and ")
                names += [re.sub(r"\s+NOS\b", "", clinical_title(n)) for n in past]
    # "A with B" is A with a feature: "Rheumatoid arthritis with rheumatoid factor" is rheumatoid
    # arthritis, which a guideline names without the feature
    names += [name.split(" with ")[0].rstrip(" ,") for name in names if " with " in name]
    # and "A due to B" is A of a stated cause: "Allergic rhinitis due to pollen" is allergic rhinitis (a
    # name of one word, "Pneumonia" or "Enterocolitis", would be every cause's)
    caused = [
        name.split(" due to ")[0].rstrip(" ,") for name in names if " due to " in name and "NOS" not in name
    ]
    names += [name for name in caused if len(name.split()) >= 2]
    # and "A without B" is A without a feature, and "A [B]" is named by A alone too: "Gestational
    # [pregnancy-induced] hypertension without significant proteinuria" is gestational hypertension
    names += [name.split(" without ")[0].rstrip(" ,") for name in names if " without " in name]
    # "Age-related cataract" is the cataract a guideline names without the age ("Cataracts in adults")
    names += [name[len("Age-related ") :] for name in names if name.startswith("Age-related ")]
    names += [" ".join(_BRACKETED.sub(" ", name).split()) for name in names if "[" in name]
    bare = (" ".join(_NONESSENTIAL.sub(" ", name).split()).strip(" ,") for name in names if "(" in name)
    names += [name for name in bare if name]
    names += _sequela_names(names, entry.block, catalogue)
    # "Respiratory distress syndrome of newborn" is what a guideline calls neonatal respiratory distress
    # syndrome, or names alone in a passage for newborns
    for name in list(names):
        found = _OF_NEWBORN.fullmatch(name)
        if found and code.startswith("P"):
            condition = found.group(1)
            names += [f"neonatal {condition.lower()}"] + ([condition] if len(condition.split()) >= 3 else [])
    return tuple(dict.fromkeys(lay_wordings(names)))


_OF_NEWBORN = re.compile(r"(.+?) (?:of|in) (?:the )?newborn(?:, unspecified)?", re.I)


_SEQUELA = re.compile(r"^sequelae of (.+)$|\bfollowing (.+?)(?: affecting .*)?$", re.I)


def _sequela_names(names: Sequence[str], block: str, catalogue: IcdCatalogue) -> list[str]:
    """The clinical names of the condition a sequela follows, where its block lists it as a category:
    "Monoplegia of upper limb following cerebral infarction" (I69.331) is cared for in the stroke
    guidelines, named by I63 "Cerebral infarction" and its synonyms ("stroke")."""
    follows = {(m.group(1) or m.group(2)).lower() for n in names if (m := _SEQUELA.search(n))}
    if not follows or not block:
        return []
    return [
        name
        for entry in catalogue.codes(block)
        if len(entry.code) == 3 and entry.title.lower() in follows
        for name in (entry.title, *clinical_synonyms(entry.code, catalogue))
    ]


_AT_A_JOINT = re.compile(
    r"(.+?) of (?:the )?(?:hip|knee|hand|shoulder|elbow|wrist|ankle|foot|first carpometacarpal joint)"
)
_HISTORY = "Personal history of "
# Past conditions whose guidelines are about preventing a recurrence: endocrine and metabolic (gestational
# diabetes) and circulatory (stroke and TIA, venous thrombosis, cardiac arrest). A past pneumonia or a
# past habit (Z87) is not searched as the condition: its guidelines treat an episode the patient no
# longer has.
_RECURRENCE_HISTORY = ("Z86.3", "Z86.7")


_ENCOUNTER = "Encounter for "
_ENCOUNTER_CODES = tuple(f"Z{n:02d}" for n in range(14))  # Z00-Z13: examinations, screening


def _comorbidity(other: str, code: str) -> bool:
    """True when the patient's code ``other`` is a comorbidity for ``code``: another category, and
    a condition rather than the purpose of the visit (a screening encounter is no comorbidity).

    Example:
        >>> _comorbidity("E11.9", "I10"), _comorbidity("I10", "I10"), _comorbidity("Z12.2", "J44.9")
        (True, False, False)
    """
    return other[:3] != code[:3] and not other.startswith(_ENCOUNTER_CODES)


def condition_phrase(code: str, catalogue: IcdCatalogue) -> str:
    """The code's title without coding qualifiers, with its category title and first short inclusion term.

    Clinical synonyms are left out of the query: on the held-out cases they diluted it (key
    recommendation recall 0.43 -> 0.30); they serve the topic feature instead (:func:`condition_names`).

    An encounter code ("Encounter for ...") is named by its purpose and its first clinical synonym.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> condition_phrase("I82.412", IcdCatalogue())
        'Acute embolism and thrombosis of femoral vein / Other venous embolism and thrombosis'
        >>> condition_phrase("Z12.2", IcdCatalogue())
        'screening for malignant neoplasm of respiratory organs / lung cancer screening'
        >>> condition_phrase("Z86.73", IcdCatalogue())[:67]
        'history of transient ischemic attack (TIA) / cerebral infarction / '
    """
    entry = catalogue.lookup(code)
    parts = [clinical_title(entry.title)]
    if entry.title.startswith(_ENCOUNTER):
        # "Encounter for screening for malignant neoplasm of respiratory organs": the catalogue's
        # wording of a visit's purpose, which guidelines name clinically ("lung cancer screening")
        parts = [parts[0].removeprefix(_ENCOUNTER), *clinical_synonyms(code, catalogue)[:1]]
        return " / ".join(parts)
    if code.startswith(_RECURRENCE_HISTORY):
        # "Personal history of ... stroke NOS": the past condition by its names, and why it matters now
        past = [
            n for n in condition_names(code, catalogue)[1:] if not n.startswith(_HISTORY) and len(n) <= 40
        ]
        if past:
            return "history of " + " / ".join(past) + " (secondary prevention)"
    if entry.category != entry.code:
        category_title = catalogue.title(entry.category)
        if category_title.lower() not in entry.title.lower():
            parts.append(category_title)
    for term in entry.inclusion_terms[:2]:
        term = clinical_title(term)  # "Hb-SS disease without crisis": the qualifier is no topic
        if len(term) <= 40 and term.lower() not in " ".join(parts).lower():
            parts.append(term)
            break
    return " / ".join(parts)


def _fill(template: str, values: Mapping[str, str]) -> str:
    """A template with its placeholders filled, whitespace collapsed and empty parentheses dropped."""
    text = template.format(**values)
    return re.sub(r"\(\s*\)", "", re.sub(r"\s+", " ", text)).strip()


_PRESENTATION_WORDS = 120


_LEFT_PUNCTUATION = re.compile(r"\s*[,;.:](?:\s*[,;.])+")
# A denial runs to the end of its clause and on through a list of short findings ("denies fever,
# weight loss, night sweats"), not into a longer one ("without fever, worse at night").
_NEGATED_FINDING = re.compile(
    r"\b(?:no|denies|denied|without|negative for)\b[^.;,()]*"
    r"(?:,\s*(?!but\b|although\b)(?:and\s+|or\s+)?[\w-]+(?:\s+[\w-]+)?"
    r"(?:\s+(?:and|or)\s+[\w-]+(?:\s+[\w-]+)?)?(?=\s*[,.;)]|\s*$))*",
    re.I,
)


# a sentence that asks the question the visit is for: "She asks whether she can go home", "Parents ask
# for melatonin", "wants to know", "would like"
_QUESTION = re.compile(
    r"\b(?:asks?|asked|asking|wants? to know|would like|wonders?|wondering|requests?)\b", re.I
)
_OPENING_WORDS = 60


def _focused(patient: Patient, max_words: int) -> str:
    """A long record's text as its opening (the complaint), then its assessment and the questions it
    records, in note order: what the visit is about when the whole note does not fit."""
    from garmle.coding.catalogue_coder import assessment_spans
    from garmle.coding.context import split_sentences

    text = " ".join(patient.notes)
    if len(text.split()) <= max_words:
        return text
    spans = assessment_spans(patient.notes)
    picked: list[str] = []
    for index, note in enumerate(patient.notes):
        for sentence in split_sentences(note, index):
            if (index, sentence.start, sentence.end) in spans or _QUESTION.search(sentence.text):
                picked.append(sentence.text)
    opening = " ".join(text.split()[:_OPENING_WORDS])
    return " ".join([opening, *picked]) if picked else text


def presentation_text(patient: Patient, max_words: int = _PRESENTATION_WORDS) -> str:
    """The patient's notes, as the clinician wrote them, without the findings they deny ("no stroke,
    no priapism"), cut at ``max_words`` words; a longer record gives its opening, its assessment and
    the questions it records (:func:`_focused`), since what the visit is for sits at both ends of a
    note."""
    kept = _NEGATED_FINDING.sub(" ", _focused(patient, max_words))
    # the punctuation a denied finding leaves behind: "stroke, no priapism." -> "stroke."
    kept = _LEFT_PUNCTUATION.sub(lambda m: m.group(0).strip()[-1], kept)
    words = re.sub(r"\s+([,;.])", r"\1", re.sub(r"\(\s*\)", " ", kept)).split()
    return " ".join(words[:max_words]).lstrip(",;. ")


def patient_dense_texts(
    patient: Patient,
    templates: TemplateSet | None = None,
    *,
    aspects: Sequence[str] | None = None,
    use_facts: bool = True,
) -> list[str]:
    """The dense query texts :func:`build_queries` will give this patient whatever its codes: those
    of aspects whose dense template reads only the patient's notes (the presentation aspect), so
    they can be embedded while the codes are still being predicted.

    Example:
        >>> from garmle.types import Patient
        >>> patient_dense_texts(Patient(patient_id="p", notes=("Cough for 3 weeks.",)))
        ['Cough for 3 weeks.']
        >>> patient_dense_texts(Patient(patient_id="p"))
        []
    """
    templates = templates or _default_templates()
    presentation = presentation_text(patient) if use_facts else ""
    texts = []
    for aspect in templates.aspects:
        if aspects and aspect.id not in aspects:
            continue
        if aspect.dense_fields == {"presentation"} and presentation:
            texts.append(_fill(aspect.dense_template, {"presentation": presentation}))
    return list(dict.fromkeys(texts))


def build_queries(
    patient: Patient,
    predictions: Sequence[CodePrediction],
    catalogue: IcdCatalogue,
    templates: TemplateSet | None = None,
    *,
    aspects: Sequence[str] | None = None,
    use_facts: bool = True,
) -> list[Query]:
    """Queries for every predicted code and aspect, with the facts that went into each.

    Args:
        patient: the patient.
        predictions: the predicted (or given) codes, best first.
        catalogue: the ICD-10-CM catalogue (titles, inclusion terms).
        templates: query templates; the packaged set by default.
        aspects: restrict to these aspect ids.
        use_facts: False builds code-only queries (a baseline).
    """
    templates = templates or _default_templates()
    unknown = set(aspects or ()) - {a.id for a in templates.aspects}
    if unknown:
        raise GarmleError(
            f"unknown query aspects {sorted(unknown)}; known: {[a.id for a in templates.aspects]}"
        )
    population = population_phrase(patient) if use_facts else "adults"
    presentation = presentation_text(patient) if use_facts else ""
    queries: list[Query] = []
    for pred in predictions:
        condition = condition_phrase(pred.code, catalogue)
        group = templates.group_for(pred.code)
        facts = patient_facts(patient, pred.code, predictions, templates) if use_facts else []
        comorbid = [p.title for p in predictions if _comorbidity(p.code, pred.code)][:3]
        fact_text = "; ".join(f.text for f in facts)
        for aspect in templates.aspects:
            if aspects and aspect.id not in aspects:
                continue
            if aspect.needs == "comorbidities" and not (comorbid and use_facts):
                continue
            if aspect.needs == "presentation" and not presentation:  # no notes, or code-only queries
                continue
            values = {
                "condition": condition,
                "population": population,
                "facts": (fact_text[0].upper() + fact_text[1:] + ".") if fact_text else "",
                "focus": (group.focus.get(aspect.id) if group else None) or aspect.focus,
                "comorbidities": "; ".join(comorbid),
                "presentation": presentation,
            }
            text = _fill(aspect.template, values)
            # the dense query never carries the patient's facts (see the templates file)
            dense_text = (
                _fill(aspect.dense_template, {**values, "facts": ""}) if aspect.dense_template else ""
            )
            queries.append(
                Query(
                    code=pred.code,
                    aspect=aspect.id,
                    text=text,
                    dense_text=dense_text,
                    # what went into this query: the presentation aspect reads the notes, not the facts
                    facts=tuple(f.text for f in facts) if "{facts}" in aspect.template else (),
                    template_id=f"{templates.version}/{aspect.id}",
                )
            )
    return queries


def fact_terms(
    patient: Patient,
    code: str,
    others: Sequence[CodePrediction],
    templates: TemplateSet | None = None,
) -> dict[str, tuple[str, ...]]:
    """Map each fact text relevant to ``code`` to the words that show a snippet addresses it.

    ``templates`` decide which facts a code's group reads, as in :func:`build_queries`.
    """
    return {f.text: f.terms for f in patient_facts(patient, code, others, templates)}

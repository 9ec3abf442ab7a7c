"""ICD-10-CM coding conventions applied to a merged prediction list.

Two conventions of the ICD-10-CM Official Guidelines change what a list of
independently found codes should say:

* **Specific over unspecified.** When a category holds both a default code
  ("without complications", "..., unspecified") and a specific sibling
  (E11.9 and E11.22), or the default of a deeper subcategory (M54.9
  "Dorsalgia, unspecified" and M54.50 "Low back pain, unspecified"), the
  default code is folded into the specific one: its score and evidence move
  over and it leaves the list.
* **A block's residual category** (F29 "Unspecified psychosis ...", L30 "Other
  and unspecified dermatitis") is what the block's other categories leave
  open: its unspecified code folds into a code of those (eczema, L30.9,
  beside atopic dermatitis, L20.9).
* **Signs integral to a disease** (guideline I.B.5) are not coded beside it:
  a joint's pain, stiffness or osteophyte beside that joint's arthropathy,
  back pain beside a disorder of the spine at its level.
* **With or without, not both.** Two codes of one category that differ in
  whether a feature is present (N40.0 "Benign prostatic hyperplasia without
  lower urinary tract symptoms" and N40.1 "... with lower urinary tract
  symptoms", G43.009 migraine without aura and G43.109 with aura) contradict
  each other: the code stating the feature stays when it has at least the
  support a specific sibling needs to absorb a default code, the other
  otherwise, with the evidence of both.
* **Hypertension combinations** (guideline I.C.9.a). Hypertension with chronic
  kidney disease is coded I12.-, with heart failure I11.0, with both I13.-;
  the relationship is presumed. I10 is replaced by the combination code and
  the CKD stage and heart-failure codes stay beside it. A companion inferred
  from medications alone (a loop diuretic and an ACE inhibitor suggest heart
  failure but are given in kidney disease too) does not make a combination
  code, which would assert that diagnosis.
* **Diabetes combinations** (guideline I.A.15, "with"). Diabetes without
  complications beside chronic kidney disease is E1x.22 (the CKD stage stays
  beside it), beside polyneuropathy E1x.42, retinopathy E1x.319, peripheral
  angiopathy E1x.51, a foot ulcer E1x.621 (the ulcer's code stays),
  gastroparesis E1x.43 (K31.84 stays) and hypoglycaemia E1x.649, one code
  for each; the link is presumed. Diabetes
  with hyperglycaemia (E1x.65) keeps its code beside the combination codes. A
  companion inferred from medications alone makes no combination code.
* **Pregnancy first** (guideline I.C.15.a). In a pregnant patient a condition
  complicating the pregnancy takes a chapter 15 code, sequenced first, at the
  trimester the weeks of gestation (Z3A.-) give: iron deficiency anaemia at
  24 weeks is O99.012 beside D50.9, smoking O99.332 beside F17.210, type 2
  diabetes O24.11- beside E11.-. Pre-existing essential hypertension is
  O10.01- alone (the code includes it).
* **Excludes1** (guideline I.A.12.a): two codes where one's Excludes1 note (on
  the code or any category above it) names the other are never reported
  together, such as current nicotine dependence (F17.2-) and its history
  (Z87.891), or a single (F32) and a recurrent (F33) depressive episode. The
  better-supported code stays.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> from garmle.types import CodePrediction
    >>> cat = IcdCatalogue()
    >>> preds = [CodePrediction(c, cat.title(c), s) for c, s in
    ...          [("I10", 0.9), ("N18.31", 0.8), ("E11.9", 0.9), ("E11.22", 0.7)]]
    >>> [p.code for p in reconcile(preds, cat)]
    ['E11.22', 'I12.9', 'N18.31']
    >>> smoker = [CodePrediction("F17.210", cat.title("F17.210"), 0.9),
    ...           CodePrediction("Z87.891", cat.title("Z87.891"), 0.7)]
    >>> [p.code for p in reconcile(smoker, cat)]
    ['F17.210']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from garmle.catalogue import IcdCatalogue
from garmle.coding.base import merge_evidence, rank
from garmle.coding.catalogue_coder import (
    DIABETES_CATEGORIES,
    UNSPECIFIED,
    WITH_FEATURE,
    assessment_spans,
    contradicts,
    is_default_title,
    personal_history_code,
    sentence_spans,
)
from garmle.types import CodePrediction, Evidence

__all__ = ["PREGNANCY_CODES", "reconcile"]

_RESIDUAL = re.compile(r"\bother\b", re.I)
_SIDE_WORD = re.compile(r"\b(?:right|left|bilateral)\b", re.I)
# a block's closing category for what the block's other categories do not specify: F29 "Unspecified
# psychosis not due to a substance ..." after F20-F28, L30 "Other and unspecified dermatitis"
_BLOCK_RESIDUAL = re.compile(r"^(?:other (?:specified )?and )?unspecified\b", re.I)
# an unspecified kind with only its default qualifiers: G40.909 "Epilepsy, unspecified, not intractable,
# without status epilepticus", G43.909 "Migraine, unspecified, not intractable, without status migrainosus"
_QUALIFIED_DEFAULT = re.compile(r", unspecified(?:, (?:not intractable|without [^,]+))+$", re.I)
_SUPPORT = 0.75  # a specific sibling absorbs the default code only with at least this share of its score
_CKD_ESRD = ("N18.5", "N18.6")


def _fold_into(kept: CodePrediction, other: CodePrediction) -> CodePrediction:
    """``kept`` with the better score of the two and the evidence and sources of both."""
    return replace(
        kept,
        score=max(kept.score, other.score),
        evidence=merge_evidence(kept.evidence, other.evidence),
        source="+".join(dict.fromkeys(s for s in f"{kept.source}+{other.source}".split("+") if s)),
    )


_REMISSION = re.compile(r"\bin (?:early |sustained )?remission\b", re.I)
_LEFT_OPEN = frozenset({"part", "site", "type", "side", "severity", "organism", "stage", "trimester"})


def _fills_in(vague: str, specific: str) -> bool:
    """Whether ``specific`` is ``vague`` with each "unspecified X" said (X one word or none).

    Example:
        >>> heel = "Pressure ulcer of unspecified heel, stage 1"
        >>> _fills_in(heel, "Pressure ulcer of right heel, stage 1")
        True
        >>> _fills_in(heel, "Pressure ulcer of sacral region, stage 2")
        False
        >>> vague = "Diverticulitis of intestine, part unspecified, without perforation or abscess"
        >>> _fills_in(vague, "Diverticulitis of large intestine without perforation or abscess")
        True
        >>> _fills_in("Unspecified lump in the left breast, unspecified quadrant",
        ...           "Unspecified lump in the left breast, upper outer quadrant")
        True
        >>> _fills_in("Chronic kidney disease, stage 3 unspecified", "Chronic kidney disease, stage 3b")
        True
    """
    # the specific title may leave less unspecified: N63.21 "Unspecified lump in the left breast, upper
    # outer quadrant" fills in N63.20's "..., unspecified quadrant"
    if len(UNSPECIFIED.findall(specific)) >= len(UNSPECIFIED.findall(vague)):
        return False
    words = re.findall(r"[a-z0-9]+", vague.lower())
    kept = [
        w
        for i, w in enumerate(words)
        if w != "unspecified"
        and (i == 0 or words[i - 1] != "unspecified")
        # "..., part unspecified, ...": the part is what the specific code says
        and not (i + 1 < len(words) and words[i + 1] == "unspecified" and w in _LEFT_OPEN)
    ]
    said = set(re.findall(r"[a-z0-9]+", specific.lower()))
    # "stage 3 unspecified" is filled in by "stage 3b"
    return all(w in said or (w.isdigit() and any(s.startswith(w) for s in said)) for w in kept)


def _fold_each(
    preds: list[CodePrediction], hosts: Callable[[CodePrediction, CodePrediction], bool]
) -> list[CodePrediction]:
    """Fold each prediction into the best-scored other one that ``hosts(p, other)`` accepts, among those
    still in the list; the list keeps its order."""
    by_code = {p.code: p for p in preds}
    for p in preds:
        if p.code not in by_code:
            continue  # already folded into another
        targets = [o for o in preds if o.code != p.code and o.code in by_code and hosts(p, o)]
        if targets:
            target = max(targets, key=lambda o: o.score)
            by_code[target.code] = _fold_into(by_code[target.code], p)
            del by_code[p.code]
    return [by_code[p.code] for p in preds if p.code in by_code]


# a category whose subcategories are readings of one complaint: low back pain, sciatica and
# radiculopathy (M54) are one back pain, a joint's pain, stiffness and osteophyte (M25) one joint's
_ONE_COMPLAINT = ("M25", "M54")


def _named_subcategory(code: str, catalogue: IcdCatalogue) -> str | None:
    """The nearest subcategory above ``code`` that names a condition of its own, neither a residual
    ("Other and unspecified asthma") nor unspecified: L40.5 "Arthropathic psoriasis" above L40.50;
    none in a category of :data:`_ONE_COMPLAINT`.

    Example:
        >>> cat = IcdCatalogue()
        >>> [_named_subcategory(code, cat) for code in ("L40.50", "J45.909", "E11.9", "G47.00")]
        ['L40.5', None, None, 'G47.0']
    """
    subcategories = [a for a in catalogue.ancestors(code) if len(a) > 3 and "-" not in a]
    if code.startswith(_ONE_COMPLAINT) or not subcategories:
        return None
    title = catalogue.title(subcategories[-1])
    return None if UNSPECIFIED.search(title) or _RESIDUAL.search(title) else subcategories[-1]


def _fold_defaults(
    preds: list[CodePrediction],
    is_default: Callable[[str], bool] = is_default_title,
    catalogue: IcdCatalogue | None = None,
) -> list[CodePrediction]:
    """Fold each default code into a specific code of its category (the module's first convention).

    A default of a subcategory that names a condition of its own folds only within it: arthropathic
    psoriasis, unspecified (L40.50) is no default of psoriasis vulgaris (L40.0), nor insomnia,
    unspecified (G47.00) of obstructive sleep apnoea (G47.33).
    """
    within = {p.code: _named_subcategory(p.code, catalogue) for p in preds} if catalogue else {}

    def says_more(p: CodePrediction, o: CodePrediction) -> bool:
        # a residual "other ..." class or a weakly supported sibling does not make the default code wrong
        own = within.get(p.code)
        return (
            o.code[:3] == p.code[:3]
            and (
                (
                    (is_default(p.title) or _QUALIFIED_DEFAULT.search(p.title) is not None)
                    and (own is None or o.code.startswith(own))
                    and (
                        not is_default(o.title)
                        # a subcategory's own default ("Low back pain, unspecified", M54.50) is more
                        # specific than the category's ("Dorsalgia, unspecified", M54.9, a child of the
                        # category itself); code length alone says nothing (J45.909 "Unspecified
                        # asthma" is no more specific than J45.40)
                        or (len(p.code) == 5 and len(o.code) > len(p.code))
                        # both read "uncomplicated", but only one leaves its kind unspecified: F17.200
                        # "Nicotine dependence, unspecified, uncomplicated" beside F17.210 "...,
                        # cigarettes, uncomplicated"
                        or (UNSPECIFIED.search(p.title) is not None and not UNSPECIFIED.search(o.title))
                    )
                )
                # the same title with what it leaves unspecified filled in: F01.50 "Vascular dementia,
                # unspecified severity, without ..." beside F01.B0 "Vascular dementia, moderate, without ..."
                or _fills_in(p.title, o.title)
                # the same title with its side said: H65.93 "..., bilateral" beside H65.90 "..., unspecified
                # ear" (a glue ear said twice)
                or _side_said(p.title, o.title)
                # a code beside one of its own subdivisions: R56.0 "Febrile convulsions" beside R56.00
                # "Simple febrile convulsions"
                or (len(o.code) > len(p.code) and o.code.startswith(p.code))
                # a use disorder in remission, read from the history, beside the same disorder now:
                # "PMHx: alcohol dependence" beside "alcohol withdrawal (uncomplicated)"
                or (
                    o.code[:5] == p.code[:5]
                    and _REMISSION.search(p.title) is not None
                    and _REMISSION.search(o.title) is None
                )
                # a default with its side said, beside a specific code of that side: I83.91 "Asymptomatic
                # varicose veins of right lower extremity" beside I83.013 "Varicose veins of right lower
                # extremity with ulcer of ankle"
                or (
                    is_default(_SIDE_WORD.sub("unspecified", p.title))
                    and WITH_FEATURE.search(p.title) is None
                    and not is_default(o.title)
                    and set(_SIDE_WORD.findall(o.title)) <= set(_SIDE_WORD.findall(p.title))
                    and _SIDE_WORD.search(p.title) is not None
                )
            )
            and not _RESIDUAL.search(o.title)
            # ... and says no more than it
            and not _REMISSION.search(o.title)
            and o.score >= _SUPPORT * p.score
            and not _other_complication(p.code, o.code)
            # the table of codes naming one disease more exactly decides between them
            and not _same_disease(o.code, p.code)
        )

    return _fold_each(preds, says_more)


_SIDED_SITES = (
    "ear|eye|side|lower limb|upper limb|leg|arm|foot|hand|knee|hip|shoulder|elbow|wrist|ankle|kidney|lung|"
    "breast|ovary"
)
_SIDES_OF = re.compile(rf"\b(?:unspecified|right|left|bilateral)\b(?:\s+(?:{_SIDED_SITES})s?)?", re.I)
_UNSPECIFIED_SIDE = re.compile(rf",\s*unspecified (?:{_SIDED_SITES})$", re.I)


def _side_said(unsided: str, sided: str) -> bool:
    """Whether ``sided`` is the title ``unsided`` leaves the side of unspecified, with its side said.

    Example:
        >>> _side_said("Unspecified nonsuppurative otitis media, unspecified ear",
        ...            "Unspecified nonsuppurative otitis media, bilateral")
        True
        >>> _side_said("Acute otitis media, unspecified ear", "Chronic otitis media, left ear")
        False
    """
    if not _UNSPECIFIED_SIDE.search(unsided) or _UNSPECIFIED_SIDE.search(sided):
        return False

    def bare(title: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", _SIDES_OF.sub(" ", title)).lower().split())

    return bare(unsided) == bare(sided)


def _other_complication(code: str, other: str) -> bool:
    """Two diabetes codes of different complications: each is coded (ICD-10-CM I.A.15 asks for as
    many codes from E08-E13 as the complications), so an unspecified retinopathy (E11.319) does not
    fold into hyperglycemia (E11.65). The code "without complications" (E11.9) still folds.

    Example:
        >>> _other_complication("E11.319", "E11.65"), _other_complication("E11.9", "E11.65")
        (True, False)
        >>> _other_complication("E11.319", "E11.9")
        True
        >>> _other_complication("E11.319", "E11.3293"), _other_complication("J45.909", "J45.40")
        (False, False)
    """
    diabetes = code.startswith(DIABETES_CATEGORIES) and other.startswith(DIABETES_CATEGORIES)
    return diabetes and code[:5] != other[:5] and not code.endswith(".9")


def _block_of(code: str, catalogue: IcdCatalogue) -> str | None:
    """The block ("F20-F29") holding ``code``'s category, if it has more than one category."""
    return next((a for a in catalogue.ancestors(code) if "-" in a), None)


def _fold_block_residuals(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Fold the unspecified code of a block's residual category into a code of the block's others.

    "Eczema" (L30.9 "Dermatitis, unspecified") beside atopic dermatitis (L20.9), "psychosis" (F29)
    beside paranoid schizophrenia (F20.0): the specific category says what the residual one leaves
    open.

    Example:
        >>> cat = IcdCatalogue()
        >>> preds = [CodePrediction(c, cat.title(c), s) for c, s in [("L20.9", 0.9), ("L30.9", 0.8)]]
        >>> [(p.code, len(p.evidence)) for p in _fold_block_residuals(preds, cat)]
        [('L20.9', 0)]
    """
    blocks = {p.code: _block_of(p.code, catalogue) for p in preds}

    def residual(p: CodePrediction) -> bool:
        block, category = blocks[p.code], catalogue.category(p.code)
        return (
            block is not None
            and block.split("-")[1] == category
            and _BLOCK_RESIDUAL.search(catalogue.title(category)) is not None
            and UNSPECIFIED.search(p.title) is not None
        )

    residuals = {p.code for p in preds if residual(p)}
    return _fold_each(
        preds,
        lambda p, o: (
            p.code in residuals
            and blocks[o.code] == blocks[p.code]
            and catalogue.category(o.code) != catalogue.category(p.code)
            and not _RESIDUAL.search(o.title)
            and o.score >= _SUPPORT * p.score
        ),
    )


_JOINTS = frozenset({"shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle", "foot"})
_SIDE = frozenset({"right", "left"})
_SPINE = {
    "low back": "lumbar",
    "lumbar": "lumbar",
    "thoracic": "thoracic",
    "cervical": "cervical",
    "neck": "cervical",
}


def _integral_to(finding: str, finding_title: str, disease: str, disease_title: str) -> bool:
    """Whether ``finding`` (a joint's pain, osteophyte, stiffness; back pain) is part of ``disease``.

    Example:
        >>> hip_oa = "Unilateral primary osteoarthritis, right hip"
        >>> _integral_to("M25.751", "Osteophyte, right hip", "M16.11", hip_oa)
        True
        >>> _integral_to("M25.561", "Pain in right knee", "M16.11", hip_oa)
        False
        >>> _integral_to("M25.522", "Pain in left elbow", "M77.12", "Lateral epicondylitis, left elbow")
        True
        >>> _integral_to("M54.9", "Dorsalgia, unspecified", "M47.816", "Spondylosis without myelopathy or "
        ...              "radiculopathy, lumbar region")
        True
    """
    f_words = set(re.findall(r"[a-z]+", finding_title.lower()))
    d_words = set(re.findall(r"[a-z]+", disease_title.lower()))
    # a joint's sign beside its arthropathy, or beside a shoulder lesion or an enthesopathy (the pain of a
    # frozen shoulder, of a tennis elbow)
    if finding[:3] == "M25" and ("M00" <= disease[:3] <= "M19" or disease[:3] in ("M75", "M76", "M77")):
        joints = f_words & _JOINTS
        sides = f_words & _SIDE
        return (
            bool(joints)
            and joints <= d_words
            and not (sides and d_words & _SIDE and sides != d_words & _SIDE)
        )
    if finding[:3] == "M54" and "M40" <= disease[:3] <= "M53":  # back pain beside its spinal disorder
        regions = {r for w, r in _SPINE.items() if w in finding_title.lower()}
        return not regions or regions <= {r for w, r in _SPINE.items() if w in disease_title.lower()}
    return False


_DIABETES_TYPES = ("E08", "E09", "E10", "E11", "E13")
_VIRAL_DISEASES = (
    *("J21", "J09", "J10", "J11", "J12", "J20.3", "J20.4", "J20.5", "J20.6", "J20.7", "A87", "U07.1"),
    *("A08.0", "A08.1", "A08.2", "A08.3", "B0", "B15", "B16", "B17", "B18", "B19", "B25", "B26", "B27"),
    "B97",
)
# gastric, duodenal, peptic and gastrojejunal ulcers with haemorrhage (with or without perforation)
_BLEEDING_ULCERS = tuple(f"{ulcer}.{d}" for ulcer in ("K25", "K26", "K27", "K28") for d in (0, 2, 4, 6))
_SAME_DISEASE: tuple[tuple[str, tuple[str, ...]], ...] = (
    # "rheumatoid arthritis" beside "seropositive rheumatoid arthritis": one disease, two categories
    ("M06.9", ("M05",)),
    # "cancer" beside "pancreatic cancer": a primary malignant neoplasm of a stated site or tissue
    (
        "C80.1",
        ("C0", "C1", "C2", "C3", "C4", "C5", "C6", "C70", "C71", "C72", "C73", "C74", "C75", "C8", "C9"),
    ),
    # a squamous cell carcinoma "of skin" read from the words of one in the mouth, throat, larynx, lung,
    # gullet, cervix or anus: "squamous cell carcinoma of the right tonsil"
    (
        "C44.92",
        ("C0", "C10", "C11", "C12", "C13", "C14", "C15", "C21", "C32", "C34", "C51", "C52", "C53", "C60"),
    ),
    # a caesarean scar of no stated type beside the low transverse one
    ("O34.219", ("O34.21",)),
    # an osteomyelitis beside the vertebra's: "L3-L4 vertebral osteomyelitis"
    ("M86.9", ("M46.2",)),
    # "malaria" beside the species said: "severe falciparum malaria"
    ("B54", ("B50", "B51", "B52", "B53")),
    # "sickle cell anaemia" beside its "vaso-occlusive crisis": Hb-SS disease with crisis
    ("D57.1", ("D57.0",)),
    # "chronic lung disease (bronchopulmonary dysplasia)" of a baby born preterm
    ("J98.4", ("P27",)),
    # "renal colic" of a stone obstructing its kidney
    ("N23", ("N20", "N13.2")),
    # "anaemia" beside the anaemia said more exactly: of CKD, after blood loss, of iron deficiency
    (
        "D64.9",
        ("D50", "D51", "D52", "D53", "D55", "D56", "D57", "D58", "D59", "D60", "D61", "D62", "D63", "D64."),
    ),
    # "PAD" beside the atherosclerosis of the limb's arteries (I73.9 Excludes1 I70.2-I70.7)
    ("I73.9", ("I70.2", "I70.3", "I70.4", "I70.5", "I70.6", "I70.7")),
    # an "arrhythmia" beside the rhythm said
    ("I49.9", ("I47", "I48", "I49.0", "I49.1", "I49.2", "I49.3", "I49.4", "I49.5", "I49.8")),
    # "metastatic colon cancer, liver mets": the secondary's site is said
    ("C79.9", ("C77", "C78", *(f"C79.{d}" for d in range(9)))),
    # "internal haemorrhoids" (of no stated degree) beside their degree
    ("K64.8", ("K64.0", "K64.1", "K64.2", "K64.3")),
    # a polyneuropathy or a background retinopathy beside the diabetic one said
    ("G62.9", tuple(f"{dm}.42" for dm in _DIABETES_TYPES)),
    ("H35.00", tuple(f"{dm}.3{n}" for dm in _DIABETES_TYPES for n in range(1, 6))),
    # an ovarian cyst that is the endometrioma said
    *((cyst, ("N80.1",)) for cyst in ("N83.201", "N83.202", "N83.209")),
    # the low sodium of an SIADH; the hives of an anaphylaxis, and an anaphylaxis beside its cause
    ("E87.1", ("E22.2",)),
    ("L50.9", ("T78.0", "T78.2", "T88.6")),
    ("T78.2XXA", ("T78.0",)),
    # an influenza beside its pneumonia
    ("J10.1", ("J10.0",)),
    ("J11.1", ("J11.0",)),
    # the haematemesis or melaena of a bleeding peptic ulcer
    *((bleed, _BLEEDING_ULCERS) for bleed in ("K92.0", "K92.1", "K92.2")),
    # a depressive episode that is the postnatal depression said (F53.0)
    *((episode, ("F53.0",)) for episode in ("F32.0", "F32.1", "F32.2", "F32.9", "F32.A")),
    # "a viral infection" beside the viral disease said: RSV bronchiolitis, influenza, shingles
    ("B34.9", _VIRAL_DISEASES),
    # a hypothyroidism that followed radioiodine or thyroidectomy (E89.0) or is a Hashimoto's thyroiditis,
    # and the thyrotoxicosis it ended
    ("E03.9", ("E89.0", "E06.3")),
    *((toxic, ("E89.0",)) for toxic in ("E05.00", "E05.90", "E05.80")),
    # a fracture of the femoral neck, part unsaid, beside the part said (intracapsular, midcervical, base)
    *(
        (f"S72.00{side}{encounter}", ("S72.01", "S72.02", "S72.03", "S72.04"))
        for side in "129"
        for encounter in "ABCDEFGHJKMNPQRS"
    ),
    # the binge eating of a bulimia nervosa
    *((binge, ("F50.2",)) for binge in ("F50.810", "F50.811", "F50.812", "F50.813", "F50.814", "F50.819")),
    # a cataract beside the kind said ("age-related nuclear cataract, left eye")
    ("H26.9", ("H25", "H26.0", "H26.1", "H26.2", "H26.3", "H26.4", "H26.8", "H28")),
    # a pyelonephritis (N12, acute or chronic not said) beside the acute one said
    ("N12", ("N10",)),
    # a sepsis beside its organism's sepsis said: "Sepsis due to E. coli"
    ("A41.9", ("A40", "A41.0", "A41.1", "A41.2", "A41.3", "A41.4", "A41.5", "A41.8")),
)
"""An unspecified code and the codes of another category that name the same disease more exactly."""


def _same_disease(vague: str, specific: str) -> bool:
    """Whether ``specific`` names the disease of ``vague`` more exactly (:data:`_SAME_DISEASE`).

    Example:
        >>> _same_disease("M06.9", "M05.9"), _same_disease("M06.9", "M17.11")
        (True, False)
        >>> _same_disease("C80.1", "C25.9"), _same_disease("C80.1", "C80.1"), _same_disease("C80.1", "C79.9")
        (True, False, False)
    """
    return vague != specific and any(
        vague == code and specific.startswith(more) for code, more in _SAME_DISEASE
    )


_INFECTIONS = ("A", "B", "J0", "J1", "J20", "J21", "J22", "U07.1", "N10", "N12", "N30", "N39.0", "H65", "H66")
_LOWER_AIRWAY = ("J09", "J10", "J11", "J12", "J13", "J14", "J15", "J16", "J17", "J18", "J20", "J21", "J22")
_FLARES = ("J44.0", "J44.1", "J45.21", "J45.31", "J45.41", "J45.51", "J45.901", "U07.1")
_CHEST = ("I20", "I21", "I22", "I24", "I25", "I26", "I30", "M94.0", "J93", *_LOWER_AIRWAY)
_BELLY = (
    *("K25", "K26", "K27", "K28", "K29", "K35", "K50", "K51", "K56", "K57", "K58", "K80", "K81", "K85"),
    *("N10", "N12", "N13.2", "N20", "N23", "N70", "N73", "N80", "N83", "O00"),
)
_STONE_PAIN = ("N20", "N13.2", "N23", "N10", "N12")
# Signs routinely part of a disease coded beside them (guideline I.B.5): the cough, coryza and fever of a
# bronchiolitis, the chest pain of a costochondritis or a pulmonary embolism, the palpitations of an
# atrial fibrillation, the loin pain of a ureteric stone, the hip pain of a femoral neck fracture, the
# girdle pain of a polymyalgia, the fatigue of an anaemia, a glaucoma's field defects. A sign a code
# asks to be added (N40.1's nocturia) is not among them.
# what vomiting is part of: a belly's disease, a pyloric stenosis, an intussusception, a poisoning, a
# gastroenteritis
_VOMITING = (
    *_BELLY, "Q40.0", "K56.1", "T36", "T37", "T38", "T39", "T40", "T41", "T42", "T43", "T44", "T45",
    "A08", "A09", "G43", "H40.2", "T51", "T58",
)  # fmt: skip
_SIGNS_OF: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("R05", "R06.7", "R09.81", "J00"), (*_LOWER_AIRWAY, *_FLARES)),
    (("R06.0", "R06.2"), (*_LOWER_AIRWAY, *_FLARES, "I26", "I50", "I11.0", "I13", "J44", "J45", "J84")),
    (("R50.9",), (*_INFECTIONS, "M86", "M00", "M30.3")),
    (("R00.0", "R00.2"), ("I47", "I48", "I49", "I26", "E05")),
    (("R07",), _CHEST),
    (("R10",), _BELLY),
    (("R11",), _VOMITING),
    (("R30.0", "R35.0", "R39.15"), ("N30", "N39.0", "N10", "N12", "N34")),
    (("R31",), ("N20", "N13.2", "N23", "N30", "N39.0", "C67")),
    (("M54.5", "M54.9"), _STONE_PAIN),
    (("M25.55",), ("S72.0", "S72.1", "S72.2", "S32", "M35.3")),
    (("M25.51", "M79.1"), ("M35.3", "M31.5")),
    # the joint pain and "arthritis" of lupus or rheumatoid arthritis, the rash of lupus, a rash
    # infection or a skin disease, the nystagmus and dizziness of a vestibular disorder
    (("M25.5", "M79.6"), ("M05", "M06", "M32", "M45")),
    (("M19.9", "M13.0", "M13.8"), ("M32",)),
    (("R21",), ("B01", "B02", "B05", "B06", "B09", "A38", "A69.2", "L", "M30.3", "M32", "T78.4", "T88.7")),
    (("H55", "R42"), ("H81",)),
    # a withdrawal's tremor, sweating, nausea and anxiety
    (("R25.1", "R61", "R11", "F41.9", "R45.0"), ("F10.13", "F10.23", "F10.93", "F11.23", "F13.23")),
    # the itch, headache, spleen and platelets of polycythaemia vera; the cough, breathlessness and
    # nodes of sarcoidosis; the malaise of polymyalgia; the chest-wall pain of shingles
    (("L29", "R51", "R16.1", "D75.83"), ("D45",)),
    (("R05", "R06.0", "R59"), ("D86",)),
    (("R53.8",), ("M35.3", "M31.5", "D86", "E83.11")),
    (("R07",), ("B02",)),
    # the pain of a torsion, the limb pain and limp of osteomyelitis
    (("N50.81", "R10.2"), ("N44.0",)),
    # "severe penicillin allergy": the allergy status says it
    (("T78.40",), ("Z88", "Z91.0")),
    (("M79.6", "R26.89", "R29.6"), ("M86",)),
    # a cellulitis's limb pain and redness; an eating disorder's weight loss or gain and slow pulse
    (("M79.6", "L53.9"), ("L03",)),
    (("R63.0", "R63.4", "R63.5", "R63.6", "R00.1"), ("F50",)),
    # the hypertensive heart disease or kidney disease of a code that holds both (I13)
    (("I11", "I12"), ("I13",)),
    # "hypertrophic pyloric stenosis" of an infant is the congenital one
    (("K31.1",), ("Q40.0",)),
    (
        ("R53.83", "R53.1", "R53.81"),
        ("D50", "D51", "D52", "D53", "D55", "D56", "D57", "D58", "D59", "D6", "E03", "G35"),
    ),
    # an anaemia's breathlessness on exertion
    (("R06.0",), ("D50", "D51", "D52", "D53", "D55", "D56", "D57", "D58", "D59", "D64")),
    (("H53.4",), ("H40", "H47", "G35")),
    # the headache, eye pain and haloes of an acute angle closure; the cough and stridor of croup; the
    # itch of scabies, lice, eczema or urticaria; the diarrhoea of a gastroenteritis or colitis
    (("R51", "H57.1", "H53.1"), ("H40.2",)),
    (("R05", "R06.1"), ("J05", "J04", "J38.5")),
    (("L29",), ("B85", "B86", "L20", "L28", "L50")),
    (("R19.7",), ("A0", "K50", "K51", "K52", "K58.0", "K90.0")),
    # a burn of no stated region, and the redness of a superficial burn, beside a burn whose region is said;
    # the limb and back pain of a sickle-cell crisis; a cancer "of the back" read beside the patient's cancer
    (("T30.0", "L53.9"), ("T20", "T21", "T22", "T23", "T24", "T25", "T26", "T27", "T28")),
    (("M79.6", "M54", "R52"), ("D57.0", "D57.2", "D57.4", "D57.8")),
    (("C49", "C76"), tuple(f"C{n:02d}" for n in (*range(0, 49), *range(50, 76)))),
    # the redness and fever of a mastitis
    (("L53.9", "R50.9"), ("O91", "N61")),
    # the sentinel skin tag of an anal fissure or the tags of haemorrhoids
    (("L91.8",), ("K60", "K64")),
    # an aneurysm of no stated site beside the aneurysm whose site is said
    (("I72.9",), ("I71", "I72.0", "I72.1", "I72.2", "I72.3", "I72.4", "I72.5", "I72.6", "I72.8", "I67.1")),
    (("R51",), ("G43", "G44", "I60", "I61", "I62", "S06", "M31.5", "G03", "T58")),
    (("R41.0", "R41.82"), ("F05", "F01", "F02", "F03", "G30")),
    (("R45.2", "R45.3", "R45.84", "R45.89"), ("F32", "F33", "F34.1", "F43.2", "F53")),
    (("R60", "R63.5"), ("I50", "I11.0", "I13", "I87", "N04", "K70.3", "K74")),
    # the redness, swelling, effusion and wound of an infected joint prosthesis or operation wound
    (("L03", "L53.9", "L90.5", "M25.4", "M25.5", "T14.8", "R50.9"), ("T84.5", "T81.4")),
    # the purpura, joint pain, belly pain and haematuria of IgA vasculitis (Henoch-Schonlein purpura);
    # the sparse periods of polycystic ovaries; the infection a post-COVID condition followed
    (("D69.2", "R23.3", "M25.5", "R10", "R31", "R80"), ("D69.0",)),
    (("N91", "N92.5", "N92.6"), ("E28.2",)),
    (("U07.1",), ("U09",)),
    # the nephropathy of a diabetic kidney disease; the nails of a psoriatic arthritis
    (("N08", "N28.9"), ("E08.2", "E09.2", "E10.2", "E11.2", "E13.2")),
    (("L60.1", "L60.8"), ("L40.5",)),
    # the heartburn of a reflux disease; the breast lump a fibroadenoma, a cancer or a cyst is; the murmur
    # of an obstructive cardiomyopathy or a valve disease
    (("R12",), ("K21", "K20", "K22.7")),
    (("N63",), ("D24", "C50", "D05", "N60", "N61")),
    (("R01.1",), ("I42.1", "I34", "I35", "I36", "I37")),
    # the effusion of a knee ligament or meniscus injury
    (("M25.46",), ("S83",)),
    # the leg pain of a neurogenic claudication or a sciatica
    (("M79.6",), ("M48.06", "M48.07", "M51.1", "M54.1", "M54.3", "M54.4")),
    # "pain" alone, beside any disease or injury coded
    (("R52",), tuple("ABCDEFGHIJKLMNOPQST")),
)


def _sign_of(sign: str, disease: str) -> bool:
    """Whether ``sign`` is routinely part of ``disease`` (:data:`_SIGNS_OF`).

    Example:
        >>> _sign_of("R05.9", "J21.0"), _sign_of("R00.2", "I48.0"), _sign_of("R35.1", "N40.1")
        (True, True, False)
        >>> _sign_of("M54.50", "N13.2"), _sign_of("R52", "Z87.891")
        (True, False)
        >>> _sign_of("R21", "M32.9"), _sign_of("H55.00", "H81.11"), _sign_of("M19.90", "M06.9")
        (True, True, False)
    """
    return any(sign.startswith(signs) and disease.startswith(diseases) for signs, diseases in _SIGNS_OF)


def _fold_integral_findings(preds: list[CodePrediction]) -> list[CodePrediction]:
    """Fold a sign that is part of a coded disease into it (guideline I.B.5): "osteophytes" of the hip
    beside its osteoarthritis, back pain beside lumbar spondylosis; and an unspecified code into the
    same disease coded more exactly in another category (:func:`_same_disease`)."""
    return _fold_each(
        preds,
        lambda p, o: (
            _integral_to(p.code, p.title, o.code, o.title)
            or _sign_of(p.code, o.code)
            or _same_disease(p.code, o.code)
            or _acute_on(p.title, o.title)
            or _one_side_of(p, o)
        ),
    )


_SIDE_WORDS = frozenset({"bilateral", "unilateral", "right", "left", "of", "eye", "side"})


def _one_side_of(one: CodePrediction, both: CodePrediction) -> bool:
    """Whether ``one`` is a side of the condition that ``both`` codes on both sides: "left knee OA" beside
    "osteoarthritis of both knees", a right-eye cataract beside bilateral cataracts.

    Example:
        >>> def pred(code, title):
        ...     return CodePrediction(code, title, 0.9)
        >>> both = pred("M17.0", "Bilateral primary osteoarthritis of knee")
        >>> _one_side_of(pred("M17.12", "Unilateral primary osteoarthritis, left knee"), both)
        True
        >>> _one_side_of(pred("M17.32", "Unilateral post-traumatic osteoarthritis, left knee"), both)
        False
        >>> both = pred("H25.13", "Age-related nuclear cataract, bilateral")
        >>> _one_side_of(pred("H25.11", "Age-related nuclear cataract, right eye"), both)
        True
    """

    def words(title: str) -> frozenset[str]:
        return frozenset(re.findall(r"[\w-]+", title.lower())) - _SIDE_WORDS

    return (
        one.code[:3] == both.code[:3]
        and re.search(r"\bbilateral\b", both.title, re.I) is not None
        and re.search(r"\b(?:right|left|unilateral)\b", one.title, re.I) is not None
        and words(one.title) == words(both.title)
    )


_ACUTE_ON = ("acute on ", "acute and ")


def _acute_on(chronic: str, both: str) -> bool:
    """Whether ``both`` is the acute exacerbation of the chronic condition ``chronic`` ("HFrEF" beside
    "acute on chronic HFrEF").

    Example:
        >>> _acute_on("Chronic systolic (congestive) heart failure",
        ...           "Acute on chronic systolic (congestive) heart failure")
        True
        >>> chronic = "Chronic respiratory failure with hypoxia"
        >>> _acute_on(chronic, "Acute and chronic respiratory failure with hypoxia")
        True
        >>> _acute_on(chronic, "Acute and chronic respiratory failure with hypercapnia")
        False
    """
    chronic, both = chronic.lower(), both.lower()
    return chronic.startswith("chronic ") and any(both == prefix + chronic for prefix in _ACUTE_ON)


def _drop_contradictions(preds: list[CodePrediction]) -> list[CodePrediction]:
    by_code = {p.code: p for p in preds}
    for absent in preds:
        for present in preds:
            if (
                absent.code in by_code
                and present.code in by_code
                and absent.code != present.code
                and absent.code[:3] == present.code[:3]
                and contradicts(absent.title, present.title)
            ):
                a, b = by_code[absent.code], by_code[present.code]
                keep, drop = (b, a) if b.score >= _SUPPORT * a.score else (a, b)
                by_code[keep.code] = _fold_into(keep, drop)
                del by_code[drop.code]
    return [by_code[p.code] for p in preds if p.code in by_code]


_ABORTIVE = frozenset(f"O0{n}" for n in range(9))
# the lower urinary tract symptoms that make an enlarged prostate N40.1 (which asks for them to be coded)
_LUTS = ("R35", "R39.1", "R39.0", "R33", "R30.0", "R32", "N39.4")


def _bph_with_symptoms(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """An enlarged prostate beside its urinary symptoms is N40.1 ("BPH with nocturia"); the symptoms
    keep their codes.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> preds = [CodePrediction(c, cat.title(c), 0.9) for c in ("N40.0", "R35.1")]
        >>> [p.code for p in _bph_with_symptoms(preds, cat)]
        ['N40.1', 'R35.1']
    """
    symptoms = [p for p in preds if p.code.startswith(_LUTS)]
    if not symptoms or not any(p.code == "N40.0" for p in preds):
        return preds
    why = Evidence(
        "rule", f"N40.0 with {symptoms[0].code}: enlarged prostate with lower urinary tract symptoms"
    )
    return [_recoded(p, "N40.1", catalogue, why) if p.code == "N40.0" else p for p in preds]


def _recoded(
    pred: CodePrediction, code: str, catalogue: IcdCatalogue, why: Evidence, *more: Sequence[Evidence]
) -> CodePrediction:
    """``pred`` as the combination ``code``, with the rule that made it (and ``more``) as evidence."""
    return replace(
        pred,
        code=code,
        title=catalogue.title(code),
        billable=catalogue.lookup(code).billable,
        evidence=merge_evidence(pred.evidence, (why,), *more),
    )


_DEMENTING_DISEASES = ("G30", "G31.0", "G31.83", "G10", "G20", "A81.0")
"""Diseases of F02's "code first" note whose dementia is their own course: Alzheimer's, frontotemporal
(Pick's), Lewy body, Huntington's and Parkinson's disease, Creutzfeldt-Jakob disease. The note's other
conditions (hypothyroidism, epilepsy, a head injury, HIV) may cause a dementia but are no proof that they
caused this one."""


def _dementia_in_disease(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Dementia beside the disease that causes it is "dementia in other diseases" (F02), coded after
    that disease, with the same severity and behaviour: Alzheimer's disease with agitated dementia is
    G30.9 and F02.811, not the unspecified dementia F03.911 (which G30 excludes)."""
    if not any(p.code.startswith("F03") for p in preds):
        return preds
    cause = next((p for p in preds if p.code.startswith(_DEMENTING_DISEASES)), None)
    if cause is None:
        return preds
    out = []
    for pred in preds:
        if pred.code.startswith("F03"):
            code = (
                "F02" + pred.code[3:].replace(".9", ".8", 1)
                if pred.code.startswith("F03.9")
                else "F02" + pred.code[3:]
            )
            if catalogue.is_valid(code):
                why = Evidence("rule", f"dementia in {cause.title}: code first the disease (ICD-10-CM F02)")
                pred = _recoded(pred, code, catalogue, why)
        out.append(pred)
    return out


_STONES = ("N20.0", "N20.1", "N20.2", "N20.9")
# a polyneuropathy, which beside diabetes is its diabetic polyneuropathy (E1x.42)
_POLYNEUROPATHY = ("G62.9", "G60.9", "G62.8")
# cirrhosis and portal hypertension, which varices beside them are secondary to
_CIRRHOSIS = ("K70.3", "K70.4", "K74.6", "K76.6", "K74.3", "K74.4", "K74.5")
_URETHRA_BLADDER = ("N34.1", "N34.2", "N30.0", "N30.9")
_VULVA_VAGINA = ("N76.0", "N76.1", "N76.2", "N76.3", "N77.1")
# A condition coded without a complication beside the complication's own code: the condition's code
# "with" it (its Excludes1 names the combination), and whether the complication's code stays beside it
# (COPD with a lower respiratory infection: "use additional code to identify the infection").
_WITH_COMPLICATION: tuple[tuple[str, tuple[str, ...], str, bool], ...] = (
    # cholecystitis beside stones in the gallbladder without it is one calculus of the gallbladder with
    # cholecystitis (K81 Excludes1 "cholecystitis with cholelithiasis (K80.-)"), with the stones'
    # obstruction or without
    ("K81.0", ("K80.20",), "K80.00", False),
    ("K81.0", ("K80.21",), "K80.01", False),
    ("K81.1", ("K80.20",), "K80.10", False),
    ("K81.1", ("K80.21",), "K80.11", False),
    ("K81.2", ("K80.20",), "K80.12", False),
    ("K81.2", ("K80.21",), "K80.13", False),
    ("K70.30", ("R18",), "K70.31", False),
    ("K70.10", ("R18",), "K70.11", False),
    # a diabetic neuropathy beside the polyneuropathy said (E11.42, as diabetes beside it alone)
    ("E11.40", _POLYNEUROPATHY, "E11.42", False),
    ("E10.40", _POLYNEUROPATHY, "E10.42", False),
    ("K76.0", ("K70.0",), "K70.0", False),  # a fatty liver said elsewhere to be alcohol-related
    (
        "J44.9",
        ("J09.X1", "J10.0", "J11.0", "J12", "J13", "J14", "J15", "J16", "J18", "J20", "J21", "J22"),
        "J44.0",
        True,
    ),
    # a diabetic nephropathy beside the stage of its chronic kidney disease
    *((f"{dm}.21", ("N18",), f"{dm}.22", True) for dm in _DIABETES_TYPES),
    # a peptic ulcer beside the blood it lost ("Upper GI bleed from duodenal ulcer", melaena) is the
    # ulcer with haemorrhage: the bleeding is the ulcer's
    *(
        (f"{ulcer}.9", ("K92.0", "K92.1", "K92.2"), f"{ulcer}.4", False)
        for ulcer in ("K25", "K26", "K27", "K28")
    ),
    # the diverticulosis a diverticulitis of the colon is in
    ("K57.30", ("K57.32",), "K57.32", False),
    ("K57.90", ("K57.32",), "K57.32", False),
    ("K57.90", ("K57.92",), "K57.92", False),
    # a diverticular disease beside the blood it lost ("diverticular bleed", fresh PR bleeding)
    *(
        (plain, ("K92.1", "K92.2", "K62.5"), bleeding, False)
        for plain, bleeding in (
            ("K57.30", "K57.31"),
            ("K57.32", "K57.33"),
            ("K57.90", "K57.91"),
            ("K57.92", "K57.93"),
        )
    ),
    # low back pain with sciatica (M54.3 Excludes1 "sciatica with lumbago (M54.4-)"), on its side
    ("M54.50", ("M54.30",), "M54.40", False),
    ("M54.50", ("M54.31",), "M54.41", False),
    ("M54.50", ("M54.32",), "M54.42", False),
    # a stone beside the hydronephrosis or hydroureter it obstructs (N13.2; N20 Excludes1 "calculus with
    # hydronephrosis")
    *((stone, ("N13.30", "N13.39", "N13.4", "N13.1"), "N13.2", False) for stone in _STONES),
    # an infection named with the site it inflames: chlamydial urethritis or cystitis (A56.01), a
    # herpesviral vulvovaginitis (A60.04)
    *((chlamydia, _URETHRA_BLADDER, "A56.01", False) for chlamydia in ("A56.2", "A56.00")),
    *((herpes, _VULVA_VAGINA, "A60.04", False) for herpes in ("A60.9", "A60.00")),
    # hyperemesis with dehydration or an electrolyte imbalance is hyperemesis with metabolic disturbance
    ("O21.0", ("E86", "E87", "O99.28"), "O21.1", False),
    # coronary atherosclerosis with the angina it causes (I20 Excludes1 "angina with atherosclerotic heart
    # disease of native coronary arteries (I25.1-)")
    ("I25.10", ("I20.0",), "I25.110", False),
    ("I25.10", ("I20.1",), "I25.111", False),
    ("I25.10", ("I20.81",), "I25.112", False),
    ("I25.10", ("I20.89", "I20.8"), "I25.118", False),
    ("I25.10", ("I20.9",), "I25.119", False),
    # the fever of a neutropenia is a fever presenting with a condition classified elsewhere (R50.81)
    ("R50.9", ("D70",), "R50.81", True),
    # oesophageal varices in cirrhosis or portal hypertension are secondary varices (I85.1-), the liver
    # disease coded first
    ("I85.00", _CIRRHOSIS, "I85.10", True),
    ("I85.01", _CIRRHOSIS, "I85.11", True),
)


_CHEMOTHERAPY = re.compile(
    r"\bchemo\w*|\bcytotoxic"
    r"|\b(?:induction|consolidation|intensification|maintenance) (?:chemo\w*|therapy|phase|block)"
    r"|\bdelayed intensification\b|\b(?:vincristine|doxorubicin|cyclophosphamide|cytarabine|"
    r"carboplatin|cisplatin|oxaliplatin|paclitaxel|docetaxel|etoposide|ifosfamide|gemcitabine|"
    r"fluorouracil|capecitabine|FOLFOX|FEC|R-CHOP|ABVD|AC-T)\b",
    re.I,
)
_FEVER = re.compile(r"\b(?:febrile|fever)\b", re.I)


def _neutropenia_of_chemotherapy(
    preds: list[CodePrediction], catalogue: IcdCatalogue, notes: Sequence[str]
) -> list[CodePrediction]:
    """A neutropenia of no stated cause (D70.9) in a record that names cancer chemotherapy is the one
    chemotherapy causes (D70.1, the drug's adverse effect T45.1X5A beside it); a neutropenia said
    "febrile" or with "fever" has its fever coded (R50.81, a fever presenting with a condition
    classified elsewhere).

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> ev = (Evidence("note", "febrile neutropenia", 0, 40, 59),)
        >>> preds = [CodePrediction("D70.9", cat.title("D70.9"), 0.9, evidence=ev)]
        >>> notes = ["Last vincristine 9 days ago. Imp: febrile neutropenia."]
        >>> [p.code for p in _neutropenia_of_chemotherapy(preds, cat, notes)]
        ['D70.1', 'T45.1X5A', 'R50.81']
        >>> [p.code for p in _neutropenia_of_chemotherapy(preds, cat, ["Imp: febrile neutropenia."])]
        ['D70.9', 'R50.81']
    """
    found = next((p for p in preds if p.code.startswith("D70")), None)
    if found is None:
        return preds
    added: list[CodePrediction] = []
    score, source = round(found.score * 0.8, 4), found.source  # a little below the neutropenia

    def beside(code: str, *evidence: Evidence) -> CodePrediction:
        return CodePrediction(code, catalogue.title(code), score, source, evidence=evidence)

    if found.code == "D70.9" and any(_CHEMOTHERAPY.search(note) for note in notes):
        why = Evidence("rule", "neutropenia in a record of cancer chemotherapy: D70.1")
        recoded = _recoded(found, "D70.1", catalogue, why)
        preds = [recoded if p is found else p for p in preds]
        found = recoded
        if not any(p.code.startswith("T45.1X5") for p in preds) and catalogue.is_valid("T45.1X5A"):
            added.append(beside("T45.1X5A", why))
    if (
        any(_FEVER.search(e.text) for e in found.evidence)
        and not any(p.code == "R50.81" for p in preds)
        and catalogue.is_valid("R50.81")
    ):
        fever = Evidence("rule", "a fever with the neutropenia: R50.81")
        added.append(beside("R50.81", fever, *found.evidence[:1]))
    return [*preds, *added]


def _with_complication(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Alcoholic cirrhosis beside ascites is alcoholic cirrhosis with ascites (K70.31), acute
    cholecystitis beside gallstones acute calculous cholecystitis (K80.00); COPD beside a pneumonia is
    COPD with a lower respiratory infection (J44.0), the pneumonia coded beside it. A complication
    that the combination code says in full leaves it its score and its evidence.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> preds = [CodePrediction(c, cat.title(c), 0.8) for c in ("J44.9", "J18.9")]
        >>> [p.code for p in _with_complication(preds, cat)]
        ['J44.0', 'J18.9']
        >>> preds = [CodePrediction(c, cat.title(c), 0.8) for c in ("K81.0", "K80.20", "E66.9")]
        >>> [p.code for p in _with_complication(preds, cat)]
        ['K80.00', 'E66.9']
    """
    for plain, complications, code, stays in _WITH_COMPLICATION:
        base = next((p for p in preds if p.code == plain and not p.medication_only), None)
        found = [p for p in preds if p.code.startswith(complications) and p is not base]
        if base is None or not found or not catalogue.is_valid(code):
            continue
        why = Evidence("rule", f"{base.title} with {found[0].title}: combination code")
        combined = _recoded(base, code, catalogue, why, *(p.evidence for p in found))
        if not stays:
            combined = replace(combined, score=max(base.score, *(p.score for p in found)))
        preds = [combined if p is base else p for p in preds if stays or p not in found]
    return preds


_WITHOUT = re.compile(r"(?:,\s*|\s+)(?:without complications|unspecified)$", re.I)


def _site_with_complication(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """A disease of no stated site with a complication, beside the same disease of a stated site without
    one, is that site's disease with the complication: "ileocolonic Crohn's ... flare with rectal
    bleeding" is K50.811, not K50.80 and K50.911.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> preds = [CodePrediction(c, cat.title(c), 0.8) for c in ("K50.911", "K50.80", "F17.210")]
        >>> [p.code for p in _site_with_complication(preds, cat)]
        ['K50.811', 'F17.210']
    """
    for vague in preds:
        if "unspecified" not in vague.title.lower() or " with " not in vague.title:
            continue
        for sited in preds:
            stem = _WITHOUT.sub("", sited.title)
            # the sited code must say what the vague one leaves open: "Type 2 diabetes mellitus without
            # complications" says nothing "... with unspecified diabetic retinopathy" does not
            if (
                sited is vague
                or sited.code[:3] != vague.code[:3]
                or stem == sited.title
                or vague.title.startswith(stem)
            ):
                continue
            found = [
                e.code
                for e in catalogue.codes(sited.code[:3], billable_only=True)
                if e.title.startswith(stem + " ") and _fills_in(vague.title, e.title)
            ]
            if len(found) != 1 or any(p.code == found[0] for p in preds):
                continue
            code = found[0]
            why = Evidence("rule", f"{sited.title}, {vague.title}: one code of the site and complication")
            combined = replace(
                _recoded(sited, code, catalogue, why, vague.evidence), score=max(sited.score, vague.score)
            )
            return _site_with_complication(_replaced(preds, sited, [combined], [vague]), catalogue)
    return preds


# "late-onset Alzheimer's" is no late stage
_STAGE = re.compile(r"\b(mild|moderate|severe|advanced)\b|\b(early|late)[- ]stage\b", re.I)
_STAGE_GRADE = {"mild": "A", "early": "A", "moderate": "B", "severe": "C", "advanced": "C", "late": "C"}
_AGITATION = re.compile(r"(?<!no )\b(?:agitat\w*|aggressi\w*)", re.I)


def _evidence_sentences(pred: CodePrediction, notes: Sequence[str]) -> list[str]:
    """The sentences of ``notes`` that hold the start of each of a prediction's note evidence spans."""
    return [
        notes[ev.note_index][start:end]
        for ev in pred.evidence
        if ev.note_index is not None and ev.char_start is not None and 0 <= ev.note_index < len(notes)
        for start, end in sentence_spans(notes[ev.note_index])
        if start <= ev.char_start < end
    ]


def _alzheimer_dementia(
    preds: list[CodePrediction], catalogue: IcdCatalogue, notes: Sequence[str]
) -> list[CodePrediction]:
    """Alzheimer's disease coded alone takes its dementia beside it (the index's "Alzheimer's disease G30.9
    [F02.80]"; G30 "use additional code to identify dementia"), graded by the stage and the agitation its
    sentence names: "Alzheimer's disease, late onset - now moderate stage - with agitation" is G30.1 with
    F02.B11.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> note = "Dx: Alzheimer's disease, moderate stage, with agitation."
        >>> said = Evidence("note", "Alzheimer's disease", 0, 4, 23)
        >>> ad = CodePrediction("G30.9", cat.title("G30.9"), 0.9, evidence=(said,))
        >>> [p.code for p in _alzheimer_dementia([ad], cat, [note])]
        ['G30.9', 'F02.B11']
    """
    ad = next((p for p in preds if p.code.startswith("G30")), None)
    # a mild cognitive impairment due to it (G31.84) is no dementia yet
    if ad is None or any(p.code.startswith(("F01", "F02", "F03", "G31.84")) for p in preds):
        return preds
    text = " ".join(_evidence_sentences(ad, notes))
    stage = _STAGE.search(text)
    grade = _STAGE_GRADE[(stage.group(1) or stage.group(2)).lower()] if stage else "8"
    behaviour = "11" if _AGITATION.search(text) else "0"
    code = f"F02.{grade}{behaviour}" if grade != "8" or behaviour == "0" else "F02.811"
    if not catalogue.is_valid(code):
        return preds
    why = Evidence("rule", f"dementia of {ad.title}: use additional code (ICD-10-CM G30)")
    dementia = CodePrediction(
        code, catalogue.title(code), ad.score * 0.95, ad.source, catalogue.lookup(code).billable, (why,)
    )
    index = preds.index(ad)
    return [*preds[: index + 1], dementia, *preds[index + 1 :]]


def _dementia_grade(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """A dementia's severity and its behaviour, read from two mentions, are one code: "severe dementia"
    (F03.C0) and "agitation in dementia" (F03.911) are severe dementia with agitation (F03.C11).

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> preds = [CodePrediction(c, cat.title(c), 0.8) for c in ("K59.00", "F03.911", "F03.C0")]
        >>> [p.code for p in _dementia_grade(preds, cat)]
        ['K59.00', 'F03.C11']
    """
    for category in ("F01", "F02", "F03"):
        mine = [p for p in preds if p.code.startswith(category + ".") and len(p.code) >= 6]
        grades = {p.code[4] for p in mine if p.code[4] in "ABC"}
        behaviours = {p.code[5:] for p in mine if p.code[5:] != "0"}
        if len(mine) < 2 or len(grades) != 1 or len(behaviours) > 1:
            continue
        code = f"{category}.{grades.pop()}{next(iter(behaviours), '0')}"
        if not catalogue.is_valid(code):
            continue
        best = max(mine, key=lambda p: p.score)
        why = Evidence("rule", f"dementia's severity and behaviour said apart: {code}")
        combined = _recoded(best, code, catalogue, why, *(p.evidence for p in mine))
        preds = [combined if p is best else p for p in preds if p is best or p not in mine]
    return preds


def _dementia_behaviour(
    preds: list[CodePrediction], catalogue: IcdCatalogue, notes: Sequence[str]
) -> list[CodePrediction]:
    """A dementia coded without a behavioural disturbance whose own sentence names agitation is the
    dementia with agitation: "agitation with personal care in moderate Alzheimer's dementia" is F02.B11.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> note = "Imp: agitation with personal care in moderate Alzheimer's dementia."
        >>> said = Evidence("note", "moderate Alzheimer's dementia", 0, 37, 66)
        >>> dementia = CodePrediction("F02.B0", "", 0.8, evidence=(said,))
        >>> [p.code for p in _dementia_behaviour([dementia], cat, [note])]
        ['F02.B11']
    """
    out = []
    for p in preds:
        code = f"{p.code[:5]}11" if len(p.code) == 6 else ""
        if (
            p.code.startswith(("F01.", "F02.", "F03."))
            and p.code.endswith("0")
            and catalogue.is_valid(code)
            and any(_AGITATION.search(sentence) for sentence in _evidence_sentences(p, notes))
        ):
            p = _recoded(p, code, catalogue, Evidence("rule", f"{p.title}: agitation said beside it"))
        out.append(p)
    return out


def _combination(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    htn = next((p for p in preds if p.code == "I10"), None)
    if htn is None:
        return preds
    ckd = [p for p in preds if p.code.startswith("N18") and not p.medication_only]
    hf = [p for p in preds if p.code.startswith("I50") and not p.medication_only]
    if not ckd and not hf:
        return preds
    esrd = any(p.code.startswith(_CKD_ESRD) for p in ckd)
    if ckd and hf:
        code = "I13.2" if esrd else "I13.0"
    elif ckd:
        code = "I12.0" if esrd else "I12.9"
    else:
        code = "I11.0"
    companions = ", ".join(p.code for p in (*ckd, *hf))
    note = Evidence("rule", f"hypertension with {companions}: combination code (ICD-10-CM guideline I.C.9.a)")
    combined = _recoded(htn, code, catalogue, note)
    out = [combined if p is htn else p for p in preds if p.code != code or p is htn]
    return out


# Diabetes "with" a complication (ICD-10-CM guideline I.A.15: the link is presumed): the companion's
# code prefixes, the diabetes code's new final characters, and whether the companion's code stays
# beside it (the CKD stage and the ulcer's site do; the combination code says the rest).
_DIABETES_COMPLICATIONS: tuple[tuple[tuple[str, ...], str, bool], ...] = (
    (("N18",), "22", True),
    (_POLYNEUROPATHY, "42", False),
    (("H35.00", "H35.09"), "319", False),
    (("I73.9",), "51", False),
    (("L97",), "621", True),
    (("E16.2",), "649", False),
    # a gastroparesis (the index's "Diabetes, with, gastroparesis"), coded beside the autonomic neuropathy
    (("K31.84",), "43", True),
)


def _on_dialysis(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Chronic kidney disease of any stage beside dependence on dialysis (Z99.2) is end stage renal
    disease (N18.6): "CKD 5 on haemodialysis"."""
    ckd = [p for p in preds if p.code.startswith("N18")]
    if not ckd or not any(p.code == "Z99.2" for p in preds):
        return preds
    note = Evidence("rule", "chronic kidney disease on dialysis: end stage renal disease")
    return _replaced(preds, ckd[0], [_recoded(ckd[0], "N18.6", catalogue, note)], ckd[1:])


# Osteoarthritis of no stated site beside the pain of a joint that has a category of its own: "knee pain
# ... X-ray: tricompartmental OA" is osteoarthritis of the knee, on the pain's side.
_OA_SITE = (
    ("M25.561", "M17.11"),
    ("M25.562", "M17.12"),
    ("M25.569", "M17.9"),
    ("M25.551", "M16.11"),
    ("M25.552", "M16.12"),
    ("M25.559", "M16.9"),
)


def _osteoarthritis_site(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Unspecified osteoarthritis (M19.90, M19.91) beside one joint's pain becomes that joint's
    osteoarthritis; the pain then folds into it as its sign (:func:`_integral_to`)."""
    oa = next((p for p in preds if p.code in ("M19.90", "M19.91")), None)
    sites = {code for pain, code in _OA_SITE for p in preds if p.code == pain}
    if oa is None or len(sites) != 1:
        return preds
    (code,) = sites
    note = Evidence("rule", f"osteoarthritis beside the pain of one joint: {catalogue.title(code)}")
    return [_recoded(p, code, catalogue, note) if p is oa else p for p in preds]


# A past stroke with a deficit that remains (ICD-10-CM guideline I.C.9.d): the deficit's code "following
# cerebral infarction" replaces the history code (Z86.73 is "without residual deficits") and the symptom's.
_STROKE_SEQUELAE = (
    ("R47.01", "I69.320"),  # aphasia
    ("R47.02", "I69.321"),  # dysphasia
    ("R47.1", "I69.322"),  # dysarthria
    ("R13.1", "I69.391"),  # dysphagia
    ("R29.810", "I69.392"),  # facial weakness
    ("G81.9", "I69.359"),  # hemiplegia
    ("R53.1", "I69.398"),  # weakness
    ("R26", "I69.398"),  # abnormal gait
)
# what an anaemia of chronic disease is said to be of: "anaemia of chronic disease related to his cancer"
_ANAEMIA_OF = (
    (
        "D63.0",
        ("C",),
        re.compile(r"\b(?:malignan\w*|cancer|neoplas\w*|tumou?r|carcinoma|myeloma|lymphoma)\b", re.I),
    ),
    ("D63.1", ("N18",), re.compile(r"\b(?:CKD|renal|kidney)\b", re.I)),
)


def _anaemia_of(
    preds: list[CodePrediction], catalogue: IcdCatalogue, notes: Sequence[str]
) -> list[CodePrediction]:
    """An anaemia of chronic disease (D63, D63.8) whose sentence ties it to the patient's cancer or chronic
    kidney disease is the anaemia in that disease: "Anaemia of chronic disease in malignancy" beside
    prostate cancer is D63.0, "anaemia of CKD" D63.1.

    Example:
        >>> cat = IcdCatalogue()
        >>> note = "Prostate cancer on ADT. Anaemia of chronic disease in malignancy."
        >>> said = (Evidence("note", "", 0, 24, 51),)
        >>> anaemia = CodePrediction("D63", cat.title("D63"), 0.9, evidence=said)
        >>> cancer = CodePrediction("C61", cat.title("C61"), 0.9)
        >>> [p.code for p in _anaemia_of([cancer, anaemia], cat, [note])]
        ['C61', 'D63.0']
    """
    for pred in [p for p in preds if p.code in ("D63", "D63.8")]:
        said = " ".join(_evidence_sentences(pred, notes))
        for code, diseases, words in _ANAEMIA_OF:
            if any(p.code.startswith(diseases) for p in preds) and words.search(said):
                why = Evidence("rule", f"{pred.title}: the anaemia of the disease its sentence names")
                preds = [_recoded(pred, code, catalogue, why) if p is pred else p for p in preds]
                break
    return preds


# a cancer treated and gone: "No evidence of recurrence at 3 years", "remains disease-free", "NED"; not
# a staging that found no spread ("no evidence of metastatic disease")
_NO_DISEASE = re.compile(
    r"\bno\s+(?:evidence|signs?)\s+of\s+(?:(?:local|locoregional|distant|any)\s+|(?:or|and)\s+)*"
    r"(?:recurrence|relapse)\b|\bno\s+(?:evidence|signs?)\s+of\s+(?:(?:residual|active|recurrent)\s+)?disease\b|"
    r"\b(?:disease|cancer|tumou?r)[- ]free\b|\bremains?\s+(?:clear|well and clear)\b|\bno\s+recurrence\b|"
    r"\b(?:has|have|had)\s+not\s+recurred\b|"
    r"\bin\s+(?:complete\s+)?remission\b",
    re.I,
)
_NED = re.compile(r"\bNED\b")
# a follow-up of a treated cancer: "3-year routine surveillance", "oncology follow-up clinic"
_SURVEILLANCE = re.compile(r"\b(?:surveillance|follow[- ]?up)\b", re.I)
# what still treats a cancer: hormonal or antineoplastic drugs, chemotherapy, a secondary tumour
_STILL_TREATED = ("Z79.81", "Z79.63", "Z51.1", "Z51.0", "C77", "C78", "C79", "C7B", "C80.0")
# cancers of the blood and lymph keep their own codes "in remission"
_OWN_REMISSION = ("C81", "C82", "C83", "C84", "C85", "C86", "C88", "C90", "C91", "C92", "C93", "C94", "C95")


def _says_no_disease(text: str) -> bool:
    return _NO_DISEASE.search(text) is not None or _NED.search(text) is not None


def _cancer_gone(
    preds: list[CodePrediction], catalogue: IcdCatalogue, notes: Sequence[str]
) -> list[CodePrediction]:
    """A primary cancer excised or treated with no evidence of it left is a personal history (guideline
    I.C.2.d): "Adenocarcinoma of caecum ... hemicolectomy ... Impression: No evidence of recurrence at 3
    years" is Z85.038, beside Z08 for a surveillance visit. The no-disease statement must sit in the
    cancer's own sentence, or in the assessment when the notes name one primary cancer only; a cancer
    still treated (hormonal or antineoplastic drugs, a secondary tumour) stays a cancer.

    Example:
        >>> cat = IcdCatalogue()
        >>> note = "Dx: Adenocarcinoma of caecum, resected 2022.\\nImpression: No evidence of recurrence."
        >>> said = (Evidence("note", "", 0, 4, 28),)
        >>> crc = CodePrediction("C18.0", cat.title("C18.0"), 0.85, evidence=said)
        >>> [p.code for p in _cancer_gone([crc], cat, [note])]
        ['Z85.038']
        >>> [p.code for p in _cancer_gone([crc], cat, ["Dx: Adenocarcinoma of caecum. Plan: CAPOX."])]
        ['C18.0']
    """
    if any(p.code.startswith(_STILL_TREATED) for p in preds):
        return preds
    primaries = [p for p in preds if p.code.startswith("C") and not p.code.startswith(_OWN_REMISSION)]
    if not primaries:
        return preds
    assessed = any(
        _says_no_disease(notes[index][start:end])
        for index, start, end in assessment_spans(notes)
        if index < len(notes)
    )
    gone = [
        pred
        for pred in primaries
        if any(_says_no_disease(sentence) for sentence in _evidence_sentences(pred, notes))
        or (assessed and len(primaries) == 1)
    ]
    out = list(preds)
    for pred in gone:
        history = personal_history_code(pred.code)
        if history is None or not catalogue.is_valid(history):
            continue
        why = Evidence("rule", f"{pred.title}: treated, no evidence of disease: personal history")
        out = [_recoded(pred, history, catalogue, why) if p is pred else p for p in out]
    if gone and "Z08" not in {p.code for p in out} and any(_SURVEILLANCE.search(n) for n in notes):
        first = gone[0]
        why = Evidence("rule", "follow-up examination after completed treatment for malignant neoplasm")
        out.append(replace(_recoded(first, "Z08", catalogue, why), score=round(first.score * 0.95, 4)))
    merged: dict[str, CodePrediction] = {}
    for p in out:
        merged[p.code] = _fold_into(merged[p.code], p) if p.code in merged else p
    return list(merged.values())


_STROKE_SAID = re.compile(r"\b(?:stroke|cva|infarct\w*)\b", re.I)


def _stroke_sequelae(
    preds: list[CodePrediction], catalogue: IcdCatalogue, notes: Sequence[str]
) -> list[CodePrediction]:
    """A stroke's history code beside a deficit it left (dysphasia, weakness), said in the same sentence
    after it, becomes the deficit's sequela code: "CVA 2022 with residual right arm weakness and
    expressive dysphasia" is I69.321 and I69.398, not Z86.73 (without residual deficits) beside the
    symptoms."""
    history = next(
        (p for p in preds if p.code == "Z86.73" and any(_STROKE_SAID.search(e.text) for e in p.evidence)),
        None,
    )
    if history is None:
        return preds
    sequelae: dict[str, CodePrediction] = {}
    absorbed: list[CodePrediction] = []
    for deficit, code in _STROKE_SEQUELAE:
        found = next((p for p in preds if p.code.startswith(deficit)), None)
        if found is None or not catalogue.is_valid(code) or not _left_by(history, found, notes):
            continue
        note = Evidence("rule", f"past stroke with {found.code}: its sequela (ICD-10-CM guideline I.C.9.d)")
        if code not in sequelae:
            recoded = _recoded(history, code, catalogue, note, found.evidence)
            sequelae[code] = replace(recoded, score=max(history.score, found.score))
        absorbed.append(found)
    return _replaced(preds, history, list(sequelae.values()), absorbed)


def _replaced(
    preds: list[CodePrediction],
    old: CodePrediction,
    new: list[CodePrediction],
    absorbed: list[CodePrediction],
) -> list[CodePrediction]:
    """``preds`` with ``old`` replaced by ``new`` in its place and the ``absorbed`` codes gone; as it was
    when there is nothing new."""
    if not new:
        return preds
    out: list[CodePrediction] = []
    for p in preds:
        if p is old:
            out.extend(new)
        elif not any(p is a for a in absorbed):
            out.append(p)
    return out


def _left_by(stroke: CodePrediction, deficit: CodePrediction, notes: Sequence[str]) -> bool:
    """Whether a note says the deficit after the stroke in one sentence, with no "no residual" between:
    "CVA 2022 (left MCA infarct) with residual right arm weakness"."""
    for s in stroke.evidence:
        for d in deficit.evidence:
            if s.note_index is None or s.note_index != d.note_index or s.char_end is None:
                continue
            if d.char_start is None or not 0 <= s.char_end <= d.char_start < len(notes[s.note_index]):
                continue
            between = notes[s.note_index][s.char_end : d.char_start]
            if len(between) <= 120 and not _SENTENCE_BREAK.search(between):
                return True
    return False


_SENTENCE_BREAK = re.compile(r"[.;\n]\s|\b(?:no|without)\s+(?:residual|deficit)", re.I)


_DIABETES_DEFAULTS = ("E10.9", "E11.9", "E13.9")
_DIABETES_HYPERGLYCEMIA = ("E10.65", "E11.65", "E13.65")


# varicose veins and venous hypertension with an ulcer
_VENOUS_ULCERS = ("I83.0", "I83.2", "I87.31", "I87.33", "I87.011", "I87.013", "I87.031", "I87.033")


def _diabetes_combination(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    diabetes = next((p for p in preds if p.code in _DIABETES_DEFAULTS), None)
    # diabetes with hyperglycemia keeps its code beside the complication's (I.A.15 allows several)
    hyperglycemic = next((p for p in preds if p.code in _DIABETES_HYPERGLYCEMIA), None)
    diabetes = diabetes or hyperglycemic
    if diabetes is None:
        return preds
    combined: list[CodePrediction] = []  # one code per complication (guideline I.A.15 allows several)
    absorbed: list[CodePrediction] = []
    for prefixes, suffix, keep in _DIABETES_COMPLICATIONS:
        companion = next((p for p in preds if p.code.startswith(prefixes) and not p.medication_only), None)
        code = f"{diabetes.code[:3]}.{suffix}"
        if companion is None or not catalogue.is_valid(code) or any(p.code == code for p in preds):
            continue
        if suffix == "621" and any(p.code.startswith(_VENOUS_ULCERS) for p in preds):
            continue  # the leg ulcer is said to be venous: no link to the diabetes is presumed
        note = Evidence(
            "rule", f"diabetes with {companion.code}: combination code (ICD-10-CM guideline I.A.15)"
        )
        if keep:
            combined.append(_recoded(diabetes, code, catalogue, note))
        else:
            # the companion's code says no more than the combination code: its evidence moves over
            recoded = _recoded(diabetes, code, catalogue, note, companion.evidence)
            combined.append(replace(recoded, score=max(diabetes.score, companion.score)))
            absorbed.append(companion)
    if not combined:
        return preds
    return _replaced(
        preds, diabetes, [diabetes, *combined] if diabetes is hyperglycemic else combined, absorbed
    )


_REFERENCE = re.compile(r"\(([^()]*)\)")
_CODE_REF = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")


def _excluded_ranges(note: str) -> list[tuple[str, str]]:
    """Code ranges an Excludes1 note names: ``(F17.2-)`` -> ``F17.2``..``F17.2``, ``(O10-O11, O13-O16)``."""
    out = []
    for group in _REFERENCE.findall(note):
        for item in group.split(","):
            lo, _, hi = item.strip().partition("-")
            lo, hi = lo.rstrip("."), hi.rstrip("-").rstrip(".") or lo.rstrip(".")
            if _CODE_REF.fullmatch(lo) and _CODE_REF.fullmatch(hi):
                out.append((lo, hi))
    return out


def _in_range(code: str, lo: str, hi: str) -> bool:
    return code[: len(lo)] >= lo and code[: len(hi)] <= hi


def _excludes(a: str, b: str, catalogue: IcdCatalogue) -> bool:
    """True when an Excludes1 note of ``a`` or of a category above it names ``b``: its range holds ``b``
    and, for a range within one category, its words name ``b``'s condition. "Insufficiency of
    precerebral arteries (G45.-)" under carotid stenosis excludes that insufficiency, not the transient
    ischaemic attack the stenosis caused.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> _excludes("I65.21", "G45.9", cat), _excludes("G47.33", "R06.81", cat)
        (False, True)
    """
    for code in (a, *catalogue.ancestors(a)):
        if not catalogue.is_valid(code):
            continue  # blocks and chapters carry no code-level notes here
        for note in catalogue.lookup(code).excludes1:
            ranges = [(lo, hi) for lo, hi in _excluded_ranges(note) if _in_range(b, lo, hi)]
            # a range over several categories names a class ("specific movement disorders (G20-G26)");
            # one category's code names a condition its words must name
            if any(lo[:3] != hi[:3] for lo, hi in ranges) or (
                ranges and _names_condition_of(note, b, catalogue)
            ):
                return True
    return False


_NOTE_WORD = re.compile(r"[a-z]{4,}")
_NOTE_STOP = frozenset({"with", "without", "other", "unspecified", "classified", "elsewhere", "specified"})


def _names_condition_of(note: str, code: str, catalogue: IcdCatalogue) -> bool:
    """True when an Excludes1 note's words share a word stem (five letters) with the title of ``code``
    or of a code above it."""
    said = {w[:5] for w in _NOTE_WORD.findall(_REFERENCE.sub(" ", note).lower()) if w not in _NOTE_STOP}
    titles = " ".join(catalogue.title(c) for c in (code, *catalogue.ancestors(code)) if catalogue.is_valid(c))
    return bool(said & {w[:5] for w in _NOTE_WORD.findall(titles.lower()) if w not in _NOTE_STOP})


PREGNANCY_CODES: tuple[tuple[str, str, bool], ...] = (
    ("I10", "O10.01", False),
    ("I11", "O10.11", True),
    ("I12", "O10.21", True),
    ("I13", "O10.31", True),
    ("I15", "O10.41", True),
    # urinary infections in pregnancy: of the kidney, the bladder, the urethra, unspecified site
    ("N10", "O23.0", False),
    ("N12", "O23.0", False),
    ("N30", "O23.1", False),
    ("N34.1", "O23.2", False),
    ("N39.0", "O23.4", False),
    # group B streptococcus found in a pregnancy (urine, swab) is its carrier state
    ("B95.1", "O99.820", False),
    ("Z22.330", "O99.820", False),
    # infections complicating pregnancy: tuberculosis, syphilis, gonorrhoea, other sexually transmitted
    # infections, viral hepatitis, HIV (its disease and its asymptomatic status)
    ("A1", "O98.01", True),
    *((syphilis, "O98.11", True) for syphilis in ("A50", "A51", "A52", "A53")),
    ("A54", "O98.21", True),
    *((sti, "O98.31", True) for sti in ("A56", "A57", "A58", "A59", "A60", "A63", "A64")),
    *((hepatitis, "O98.41", True) for hepatitis in ("B15", "B16", "B17", "B18", "B19")),
    ("B20", "O98.71", True),
    ("Z21", "O98.71", True),
    ("E10", "O24.01", True),
    ("E11", "O24.11", True),
    ("E66", "O99.21", True),
    ("E", "O99.28", True),
    ("D5", "O99.01", True),
    ("D60", "O99.01", True),
    ("D61", "O99.01", True),
    ("D62", "O99.01", True),
    ("D63", "O99.01", True),
    ("D64", "O99.01", True),
    ("D", "O99.11", True),
    ("F10", "O99.31", True),
    ("F17", "O99.33", True),
    ("F1", "O99.32", True),
    ("F", "O99.34", True),
    ("G", "O99.35", True),
    ("I", "O99.41", True),
    ("J", "O99.51", True),
    ("K", "O99.61", True),
    ("L", "O99.71", True),
    # an injury in pregnancy ("minor blunt abdominal trauma at 22 weeks")
    ("S", "O9A.21", True),
)
"""A condition's chapter 15 code in pregnancy: code prefix -> the code's stem before the trimester
digit (or the whole code, for one of no trimester), and whether the condition's own code stays beside
it (longest prefix wins). D65-D89, E00-E89 and the others are the residual "other diseases ...
complicating pregnancy" codes."""


def _post_term(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """A pregnancy the weeks of gestation (Z3A.41 and later) make post-term (O48.0, beyond 40
    completed weeks) or prolonged (O48.1, beyond 42 completed weeks), when no O48 code is there.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> [p.code for p in _post_term([CodePrediction("Z3A.41", cat.title("Z3A.41"), 0.9)], cat)]
        ['Z3A.41', 'O48.0']
        >>> [p.code for p in _post_term([CodePrediction("Z3A.39", cat.title("Z3A.39"), 0.9)], cat)]
        ['Z3A.39']
    """
    best = _weeks_code(preds)
    if best is None or any(p.code.startswith("O48") for p in preds):
        return preds
    week = int(best.code[4:])
    code = "O48.1" if week >= 42 else "O48.0" if week == 41 else None
    if code is None or not catalogue.is_valid(code):
        return preds
    return [
        *preds,
        CodePrediction(code, catalogue.title(code), best.score, best.source, evidence=best.evidence),
    ]


def _weeks_code(preds: Sequence[CodePrediction]) -> CodePrediction | None:
    """The best weeks-of-gestation code (Z3A.nn) among ``preds``, if any."""
    weeks = [p for p in preds if p.code.startswith("Z3A.") and p.code[4:].isdigit()]
    return max(weeks, key=lambda p: p.score) if weeks else None


def _trimester(preds: Sequence[CodePrediction]) -> str:
    """The trimester digit the best weeks-of-gestation code gives ("9": unknown)."""
    best = _weeks_code(preds)
    week = int(best.code[4:]) if best is not None else 0
    if week == 0:
        return "9"
    return "1" if week < 14 else "2" if week < 28 else "3"


def _pregnancy_code(stem: str, trimester: str, catalogue: IcdCatalogue) -> str | None:
    if catalogue.is_valid(stem) and catalogue.lookup(stem).billable:
        return stem  # a code of no trimester: "Streptococcus B carrier state complicating pregnancy"
    for digit in (trimester, "9", "0"):
        code = stem + digit
        if catalogue.is_valid(code) and catalogue.lookup(code).billable:
            title = catalogue.title(code)
            if digit == trimester or "unspecified trimester" in title:
                return code
    return None


def _stated(prediction: CodePrediction) -> bool:
    """Whether a note or the problem list states the prediction, not readings alone."""
    return any(e.kind in ("note", "problem") for e in prediction.evidence)


# a previous caesarean birth ("Previous LSCS 2021"), the lower-segment (low transverse) scar named or not
_CAESAREAN = re.compile(r"\b(?:LSCS|caesarean|cesarean|c-section|CS)\b", re.I)
_LOWER_SEGMENT = re.compile(r"\b(?:LSCS|lower[- ]segment|low[- ]transverse)\b", re.I)
# what a gestational diabetes is controlled with: "GDM - start METFORMIN 500mg", "on insulin"
_TAKEN = r"\b(?:on|start|started|starts|commenced|taking|takes|continue|continues)\s+(?:\w+\s+){0,2}"
_ORAL_CONTROL = re.compile(_TAKEN + r"(?:metformin|glibenclamide|glyburide)\b", re.I)
_INSULIN_CONTROL = re.compile(_TAKEN + r"insulin\b", re.I)


def _obstetric_history(
    preds: list[CodePrediction], catalogue: IcdCatalogue, notes: Sequence[str]
) -> list[CodePrediction]:
    """In a pregnancy, a previous caesarean birth read as a past complication (Z87.59) is the care of its
    uterine scar (O34.211 for a lower-segment scar, else O34.219), and a gestational diabetes treated with
    metformin or insulin is the one controlled by them (O24.415, O24.414).

    Example:
        >>> cat = IcdCatalogue()
        >>> said = (Evidence("note", "Previous LSCS"),)
        >>> past = CodePrediction("Z87.59", cat.title("Z87.59"), 0.8, evidence=said)
        >>> gdm = CodePrediction("O24.419", cat.title("O24.419"), 0.7)
        >>> [p.code for p in _obstetric_history([past, gdm], cat, ["GDM - start METFORMIN 500mg od."])]
        ['O34.211', 'O24.415']
    """
    out: list[CodePrediction] = []
    text = "\n".join(notes)
    for p in preds:
        if p.code == "Z87.59":
            scar = [e for e in p.evidence if _CAESAREAN.search(e.text)]
            if scar:
                code = "O34.211" if any(_LOWER_SEGMENT.search(e.text) for e in scar) else "O34.219"
                why = Evidence("rule", "a previous caesarean birth in this pregnancy: care of its scar")
                out.append(
                    replace(_recoded(p, code, catalogue, why), evidence=merge_evidence(tuple(scar), (why,)))
                )
                rest = tuple(e for e in p.evidence if e not in scar)
                if any(e.kind != "rule" for e in rest):
                    out.append(replace(p, evidence=rest))
                continue
        if p.code == "O24.419":
            control = (
                "O24.415"
                if _ORAL_CONTROL.search(text)
                else "O24.414"
                if _INSULIN_CONTROL.search(text)
                else None
            )
            if control is not None:
                p = _recoded(
                    p, control, catalogue, Evidence("rule", "gestational diabetes and its treatment")
                )
        out.append(p)
    return out


def _pregnancy(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    trimester = _trimester(preds)
    if any(p.code.startswith(("O13", "O14", "O15")) for p in preds):
        # raised readings in a pregnancy with gestational hypertension or pre-eclampsia are that
        # condition's, no pre-existing hypertension (unless the record states one)
        preds = [p for p in preds if not (p.code == "I10" and not _stated(p))]
    if any(p.code.startswith("O24.4") for p in preds):
        # a diabetes of no stated type beside gestational diabetes is that diabetes ("Antenatal Diabetes
        # Clinic", "diabetes in pregnancy"), no pre-existing one
        preds = [p for p in preds if not (p.code.startswith("E11") and not _says_type_2(p))]
    out: list[CodePrediction] = []
    added: dict[str, CodePrediction] = {}
    for p in preds:
        if p.code.startswith("O") and trimester != "9" and p.title.endswith("trimester"):
            # a chapter 15 code read from the note takes the trimester the weeks give
            code = _pregnancy_code(p.code[:-1], trimester, catalogue)
            if code is not None and code != p.code:
                p = replace(p, code=code, title=catalogue.title(code))
        elif p.code.startswith("O") and trimester != "9" and len(p.code) == 8 and p.code[6] == "9":
            # ... and so does one whose seventh character names the fetus ("Maternal care for other known
            # or suspected poor fetal growth, unspecified trimester, not applicable or unspecified")
            code = p.code[:6] + trimester + p.code[7:]
            if "unspecified trimester" in p.title and catalogue.is_valid(code):
                p = replace(p, code=code, title=catalogue.title(code))
        match = max((row for row in PREGNANCY_CODES if p.code.startswith(row[0])), key=lambda r: len(r[0]),
                    default=None)  # fmt: skip
        if p.code.startswith(("O", "Z")) and match is None:
            out.append(p)
            continue
        code = _pregnancy_code(match[1], trimester, catalogue) if match else None
        if match is None or code is None:
            out.append(p)
            continue
        note = Evidence(
            "rule", f"{p.code} in pregnancy: chapter 15 code first (ICD-10-CM guideline I.C.15.a)"
        )
        score = min(0.999, p.score + 0.001)
        if code in added:
            added[code] = _absorb(added[code], replace(p, score=score))
        else:
            added[code] = replace(
                p, code=code, title=catalogue.title(code), score=score, billable=True,
                evidence=merge_evidence((note,), p.evidence),
            )  # fmt: skip
        if match[2]:
            out.append(p)
    known = {p.code: p for p in out}
    for code, p in added.items():
        known[code] = _absorb(known[code], p) if code in known else p
    return _superimposed(list(known.values()), catalogue)


def _superimposed(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Pre-eclampsia beside pre-existing hypertension (O10) is pre-existing hypertension with
    pre-eclampsia (O11, at the pre-eclampsia's trimester), the O10 code kept beside it."""
    if not any(p.code.startswith("O10") for p in preds):
        return preds
    out = []
    for p in preds:
        if p.code.startswith("O14"):
            code = "O11." + {"0": "9"}.get(p.code[-1], p.code[-1])
            if catalogue.is_valid(code):
                why = Evidence("rule", "pre-eclampsia with pre-existing hypertension: O11 (ICD-10-CM O11)")
                p = _recoded(p, code, catalogue, why)
        out.append(p)
    return out


def _absorb(kept: CodePrediction, other: CodePrediction) -> CodePrediction:
    """``kept`` with the better score of the two and the evidence of both."""
    return replace(
        kept, score=max(kept.score, other.score), evidence=merge_evidence(kept.evidence, other.evidence)
    )


def _unspecified_condition(title: str) -> bool:
    return title.lower().startswith("unspecified")


_OTHER_DIABETES = tuple(c for c in DIABETES_CATEGORIES if c != "E11")


def _stated_diabetes_type(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """A type 2 code the record's readings or drugs alone suggest (HbA1c 10.2% -> E11.65, insulin ->
    E11.9), or a wording that does not name the type ("diabetic ketoacidosis", read as type 2 by the
    catalogue's default), takes the diabetes type the notes state: a teenager's "type 1 diabetes" with
    an HbA1c of 10.2% is E10.65, and with DKA E10.10, not type 1 beside type 2.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> lab = CodePrediction("E11.65", cat.title("E11.65"), 0.8, source="ehr")
        >>> said = CodePrediction("E10.9", cat.title("E10.9"), 0.8, source="catalogue")
        >>> [p.code for p in _stated_diabetes_type([lab, said], cat)]
        ['E10.65', 'E10.9']
        >>> drug = CodePrediction("E11.9", cat.title("E11.9"), 0.7, source="ehr")
        >>> [(p.code, p.source) for p in _stated_diabetes_type([said, drug], cat)]
        [('E10.9', 'catalogue+ehr')]
    """
    stated = next((p.code[:3] for p in preds if p.code.startswith(_OTHER_DIABETES)), None)
    if stated is None:
        return preds
    out: dict[str, CodePrediction] = {}
    for p in preds:
        if p.code.startswith("E11") and (p.source == "ehr" or not _says_type_2(p)):
            code = stated + p.code[3:]
            if not catalogue.is_valid(code):
                continue
            p = replace(p, code=code, title=catalogue.title(code), billable=catalogue.lookup(code).billable)
        out[p.code] = _fold_into(out[p.code], p) if p.code in out else p
    return list(out.values())


_TYPE_2 = re.compile(r"\b(?:type\s*(?:2|ii|two)|t2\s*dm|t2d|t2|dm\s*2|niddm|adult[- ]onset)\b", re.I)


def _says_type_2(prediction: CodePrediction) -> bool:
    """True when a type 2 code's evidence names the type; "diabetic ketoacidosis" or "diabetic
    retinopathy" reads as type 2 only by the catalogue's default.

    Example:
        >>> from garmle.types import Evidence
        >>> dka = CodePrediction("E11.10", "", 0.9, evidence=(Evidence("note", "DKA", 0, 0, 3),))
        >>> t2 = CodePrediction("E11.9", "", 0.9, evidence=(Evidence("note", "T2DM", 0, 0, 4),))
        >>> _says_type_2(dka), _says_type_2(t2)
        (False, True)
    """
    return any(_TYPE_2.search(e.text) for e in prediction.evidence)


_UNSPECIFIED_TITLE = re.compile(r"^unspecified\b|, unspecified$|\bsite not specified\b", re.I)


def _gives_way(vague: CodePrediction, specific: CodePrediction) -> bool:
    """Whether an unspecified code gives way to a specific one of its chapter (when its own Excludes1
    note names that one): "cirrhosis" in the assessment (K74.60) to the "alcohol-related cirrhosis"
    of the history (K70.3-); but an acute pharyngitis, unspecified (J02.9) not to the coryza of a
    common cold (J00), whose note excludes the pharyngitis."""
    return (
        vague.code[0] == specific.code[0]
        and _UNSPECIFIED_TITLE.search(vague.title) is not None
        and _UNSPECIFIED_TITLE.search(specific.title) is None
    )


def _drop_excluded(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Of two codes one's Excludes1 note names, the better scored stays; a diagnosis beats a symptom
    whatever their scores ("apnea NOS (R06.81)" goes beside a suspected obstructive sleep apnoea), and
    an unspecified code the specific one of its chapter (:func:`_gives_way`).

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> preds = [CodePrediction("R06.81", "Apnea", 0.6), CodePrediction("G47.33", "OSA", 0.5)]
        >>> [p.code for p in _drop_excluded(preds, IcdCatalogue())]
        ['G47.33']
    """
    kept: list[CodePrediction] = []
    for p in sorted(preds, key=lambda q: (q.code.startswith("R"), -q.score)):
        clash = [
            k for k in kept if _excludes(p.code, k.code, catalogue) or _excludes(k.code, p.code, catalogue)
        ]
        if not clash:
            kept.append(p)
        elif all(_gives_way(k, p) and _excludes(k.code, p.code, catalogue) for k in clash):
            kept = [k for k in kept if k not in clash] + [p]
    return [p for p in preds if p in kept]


def _unsited_injury(preds: list[CodePrediction]) -> list[CodePrediction]:
    """An injury of an unspecified body region (T14) goes when the note names an injury by its site: the
    "wound" of "irrigate wound" is the dog bite to the hand. A suicide attempt (T14.91) goes beside the
    self-harm that says how (a poisoning's "intentional self-harm" code, T36-T65 with 2 as its sixth
    character).

    Example:
        >>> preds = [CodePrediction("S61.459A", "Open bite", 0.9), CodePrediction("T14.8XXA", "Injury", 0.8)]
        >>> [p.code for p in _unsited_injury(preds)]
        ['S61.459A']
        >>> preds = [CodePrediction("T39.1X2A", "Poisoning", 0.9), CodePrediction("T14.91XA", "Suicide", 0.8)]
        >>> [p.code for p in _unsited_injury(preds)]
        ['T39.1X2A']
    """
    if any(p.code.startswith("S") for p in preds):
        return [p for p in preds if not p.code.startswith("T14")]
    if any(_SELF_HARM.match(p.code) for p in preds):
        return [p for p in preds if not p.code.startswith("T14.91")]
    return preds


_SELF_HARM = re.compile(r"T(?:3[6-9]|[45]\d|6[0-5])\.\w{2}2")


def reconcile(
    predictions: Sequence[CodePrediction],
    catalogue: IcdCatalogue,
    *,
    pregnant: bool = False,
    notes: Sequence[str] = (),
) -> list[CodePrediction]:
    """Apply the coding conventions above (the pregnancy one for a pregnant patient); best first. The
    ``notes`` the codes were read from tie a past stroke to the deficits it left.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> cat = IcdCatalogue()
        >>> preds = [CodePrediction(c, cat.title(c), s) for c, s in [("I10", 0.9), ("Z3A.12", 0.8)]]
        >>> [p.code for p in reconcile(preds, cat, pregnant=True)]
        ['O10.011', 'Z3A.12']
    """
    preds = _site_with_complication(_with_complication(list(predictions), catalogue), catalogue)
    preds = _osteoarthritis_site(_stated_diabetes_type(preds, catalogue), catalogue)
    preds = _unsited_injury(_on_dialysis(preds, catalogue))
    preds = _fold_integral_findings(
        _fold_block_residuals(_fold_defaults(preds, catalogue=catalogue), catalogue)
    )
    # again after the combinations: "hypertensive heart disease" (I11.9) beside hypertension with heart
    # failure (I11.0)
    preds = _drop_contradictions(_combination(_drop_contradictions(preds), catalogue))
    preds = _diabetes_combination(preds, catalogue)
    # the hypertensive heart or kidney disease that a combination code made now holds (I13)
    preds = _fold_each(preds, lambda p, o: o.code.startswith("I13") and _sign_of(p.code, o.code))
    preds = _neutropenia_of_chemotherapy(preds, catalogue, notes)
    preds = _cancer_gone(_stroke_sequelae(preds, catalogue, notes), catalogue, notes)
    preds = _anaemia_of(preds, catalogue, notes)
    preds = _dementia_grade(_dementia_in_disease(preds, catalogue), catalogue)
    preds = _dementia_behaviour(_alzheimer_dementia(preds, catalogue, notes), catalogue, notes)
    if pregnant:
        # "Unspecified pre-existing hypertension ..." folds into the essential one; an "unspecified
        # trimester" code is no default of its category's other conditions
        preds = _fold_defaults(_pregnancy(preds, catalogue), _unspecified_condition)
        preds = _obstetric_history(preds, catalogue, notes)
        preds = _post_term(preds, catalogue)
        # no weeks of gestation for a pregnancy with an abortive outcome (O00-O08): "missed miscarriage at
        # 9+3 weeks"
        if any(p.code[:3] in _ABORTIVE for p in preds):
            preds = [p for p in preds if not p.code.startswith("Z3A")]
    preds = _bph_with_symptoms(preds, catalogue)
    if any(p.code.startswith("O") for p in preds):
        # "Pregnant state, incidental" excludes every complication of pregnancy: a chapter 15 code, read
        # from the note or a condition's in pregnancy, says the pregnancy is not incidental, however often
        # the note says "pregnancy"
        preds = [p for p in preds if p.code != "Z33.1"]
    preds = _exam_with_findings(preds, catalogue)
    return rank(_drop_excluded(preds, catalogue))


# a general examination's code "without abnormal findings" and its sibling "with"
_EXAMS_FOUND = {"Z00.00": "Z00.01", "Z00.129": "Z00.121"}
_FINDING_SCORE = 0.7


def _exam_with_findings(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """A health check that found a disease coded beside it ("Annual physical ... Assessment:
    hyperlipidemia") is the examination with abnormal findings (Z00.01, Z00.121).

    Example:
        >>> cat = IcdCatalogue()
        >>> preds = [CodePrediction(c, cat.title(c), s) for c, s in [("E78.5", 0.9), ("Z00.00", 0.8)]]
        >>> [p.code for p in _exam_with_findings(preds, cat)]
        ['E78.5', 'Z00.01']
    """
    found = any(p.code[0] not in "Z" and p.score >= _FINDING_SCORE for p in preds)
    if not found:
        return preds
    why = Evidence("rule", "a disease coded beside the examination: with abnormal findings (ICD-10-CM Z00)")
    return [_recoded(p, _EXAMS_FOUND[p.code], catalogue, why) if p.code in _EXAMS_FOUND else p for p in preds]

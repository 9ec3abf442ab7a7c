"""ICD-10-CM coding conventions applied to a merged prediction list.

Two conventions of the ICD-10-CM Official Guidelines change what a list of
independently found codes should say:

* **Specific over unspecified.** When a category holds both a default code
  ("without complications", "..., unspecified") and a specific sibling
  (E11.9 and E11.22), the default code is folded into the specific one: its
  score and evidence move over and it leaves the list.
* **Hypertension combinations** (guideline I.C.9.a). Hypertension with chronic
  kidney disease is coded I12.-, with heart failure I11.0, with both I13.-;
  the relationship is presumed. I10 is replaced by the combination code and
  the CKD stage and heart-failure codes stay beside it. A companion inferred
  from medications alone (a loop diuretic and an ACE inhibitor suggest heart
  failure but are given in kidney disease too) does not make a combination
  code, which would assert that diagnosis.
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
from collections.abc import Sequence
from dataclasses import replace

from garmle.catalogue import IcdCatalogue
from garmle.coding.base import merge_evidence, rank
from garmle.coding.catalogue_coder import is_default_title
from garmle.types import CodePrediction, Evidence

__all__ = ["reconcile"]

_RESIDUAL = re.compile(r"\bother\b", re.I)
_SUPPORT = 0.75  # a specific sibling absorbs the default code only with at least this share of its score
_CKD_ESRD = ("N18.5", "N18.6")


def _fold_defaults(preds: list[CodePrediction]) -> list[CodePrediction]:
    by_code = {p.code: p for p in preds}
    for p in preds:
        if not is_default_title(p.title):
            continue
        # a residual "other ..." class or a weakly supported sibling does not make the default code wrong
        siblings = [
            o
            for o in preds
            if o.code != p.code
            and o.code[:3] == p.code[:3]
            and not is_default_title(o.title)
            and not _RESIDUAL.search(o.title)
            and o.score >= _SUPPORT * p.score
        ]
        if not siblings or p.code not in by_code:
            continue
        target = max(siblings, key=lambda o: o.score)
        current = by_code[target.code]
        by_code[target.code] = replace(
            current,
            score=max(current.score, p.score),
            evidence=merge_evidence(current.evidence, p.evidence),
            source="+".join(dict.fromkeys(s for s in f"{current.source}+{p.source}".split("+") if s)),
        )
        del by_code[p.code]
    return [by_code[p.code] for p in preds if p.code in by_code]


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
    combined = replace(
        htn,
        code=code,
        title=catalogue.title(code),
        billable=catalogue.lookup(code).billable,
        evidence=merge_evidence(htn.evidence, (note,)),
    )
    out = [combined if p is htn else p for p in preds if p.code != code or p is htn]
    return out


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
    """True when an Excludes1 note of ``a`` or of a category above it names ``b``."""
    for code in (a, *catalogue.ancestors(a)):
        if not catalogue.is_valid(code):
            continue  # blocks and chapters carry no code-level notes here
        for note in catalogue.lookup(code).excludes1:
            if any(_in_range(b, lo, hi) for lo, hi in _excluded_ranges(note)):
                return True
    return False


def _drop_excluded(preds: list[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    kept: list[CodePrediction] = []
    for p in sorted(preds, key=lambda q: -q.score):
        clash = (_excludes(p.code, k.code, catalogue) or _excludes(k.code, p.code, catalogue) for k in kept)
        if not any(clash):
            kept.append(p)
    return [p for p in preds if p in kept]


def reconcile(predictions: Sequence[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Apply the coding conventions above; best first."""
    preds = _fold_defaults(list(predictions))
    return rank(_drop_excluded(_combination(preds, catalogue), catalogue))

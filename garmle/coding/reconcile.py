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
  the CKD stage and heart-failure codes stay beside it.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> from garmle.types import CodePrediction
    >>> cat = IcdCatalogue()
    >>> preds = [CodePrediction(c, cat.title(c), s) for c, s in
    ...          [("I10", 0.9), ("N18.31", 0.8), ("E11.9", 0.9), ("E11.22", 0.7)]]
    >>> [p.code for p in reconcile(preds, cat)]
    ['E11.22', 'I12.9', 'N18.31']
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
    ckd = [p for p in preds if p.code.startswith("N18")]
    hf = [p for p in preds if p.code.startswith("I50")]
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


def reconcile(predictions: Sequence[CodePrediction], catalogue: IcdCatalogue) -> list[CodePrediction]:
    """Apply the coding conventions above; best first."""
    preds = _fold_defaults(list(predictions))
    return rank(_combination(preds, catalogue))

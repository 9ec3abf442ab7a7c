"""British spellings read as the American spelling of the ICD-10-CM catalogue.

Guidelines and notes from the UK, Australia and elsewhere write "anaemia", "oesophageal" and
"apnoea"; the catalogue's titles, and so the condition names built from them, write "anemia",
"esophageal" and "apnea". The note coder and the topic feature both read words through
:func:`american_spelling`.
"""

from __future__ import annotations

import re

__all__ = ["american_spelling"]

# British spellings the stems and endings below do not reach
_BRITISH_WORDS = {
    "tumour": "tumor",
    "tumours": "tumors",
    "oedema": "edema",
    "fibre": "fiber",
    "coeliac": "celiac",
    "behaviour": "behavior",
    "behavioural": "behavioral",
    "praevia": "previa",
    "lymphoedema": "lymphedema",
    "leucopenia": "leukopenia",
    "leucocytosis": "leukocytosis",
}
# British spellings by stem and ending: haemoptysis, paediatric, oestrogen, foetal, hyperglycaemia, apnoea.
_BRITISH = (
    (re.compile(r"^(hyper|hypo|an)?haem"), r"\1hem"),
    (re.compile(r"^(ortho)?paed"), r"\1ped"),
    (re.compile(r"^oesoph"), "esoph"),
    (re.compile(r"^oestr"), "estr"),
    (re.compile(r"^foet"), "fet"),
    (re.compile(r"^gynaec"), "gynec"),
    (re.compile(r"^anaesth"), "anesth"),
    (re.compile(r"^faec"), "fec"),
    (re.compile(r"^oedem"), "edem"),
    (re.compile(r"aemi(a|c)$"), r"emi\1"),
    (re.compile(r"oea(l)?$"), r"ea\1"),  # apnoea, gonorrhoea, amenorrhoea, diarrhoeal
)


def american_spelling(word: str) -> str:
    """A lower-case word in American spelling, as the ICD-10-CM catalogue writes it.

    Example:
        >>> " ".join(map(american_spelling, "anaemia oesophageal tumour ischaemic diarrhoea coeliac".split()))
        'anemia esophageal tumor ischemic diarrhea celiac'
    """
    w = _BRITISH_WORDS.get(word, word)
    if "ae" in w or "oe" in w:
        for pattern, repl in _BRITISH:
            w = pattern.sub(repl, w)
    return w

"""Clinical note text -> sentences, tokens and the context of each mention.

A mention of a condition is only evidence that the patient has it when the
note asserts it. This module finds, for any span of a sentence, whether it
is negated ("denies chest pain", "no evidence of", "ruled out"), uncertain
("possible", "rule out"), hypothetical ("risk of stroke", "influenza
vaccine", "screening for diabetes"), historical ("history of") or about a relative
("family history of", "mother had"), in the manner of the ConText
algorithm: trigger phrases open a scope that runs to the end of the
sentence or to a terminator such as "but".

Example:
    >>> sents = split_sentences("No chest pain. History of MI.")
    >>> [s.text for s in sents]
    ['No chest pain.', 'History of MI.']
    >>> assertion_of(sents[0], 3, 13)
    'negated'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from garmle.spelling import american_spelling

__all__ = [
    "ALLERGY_SECTIONS",
    "ASSERTIONS",
    "EPISODE_OVER_TAIL",
    "SECTION_HEADER",
    "WORD",
    "Sentence",
    "Token",
    "assertion_of",
    "normalise_token",
    "split_sentences",
    "tokens_of",
]

ASSERTIONS = ("present", "negated", "uncertain", "hypothetical", "historical", "family")

# A word; "non-" joined to the word after it is one word ("non-pressure" reads "nonpressure"), as the
# catalogue writes most such compounds ("Nondisplaced", "Nontraumatic"): "Non-pressure chronic ulcer"
# is then a name, not an absent pressure, and a note's "non-smoker" names no smoking.
WORD = re.compile(r"\b(?i:non)-[A-Za-z]+|[A-Za-z0-9]+")
# A sentence ends at . ! ? ; or a line break; a dot between digits ("6.5") is not an end.
# A "?" before a word ("?psoriatic arthritis", "( ? PE)", a quoted referral's '"?ACS') marks a query, not
# an end, and so does one answered after it ("Known COPD? No - ...", "OSA? - no", read by _ANSWERED_NO);
# nor does the dot of a genus's initial ("H. pylori", "E. coli"), nor of "incl.", "approx.", "vs.",
# "e.g.", "i.e." and "(d. 2019)".
_SENT_END = re.compile(
    r"(?<!\d)(?<!\b[A-Z])(?<!\(d)(?<!\bincl)(?<!\bapprox)(?<!\bvs)(?<!\be\.g)(?<!\bi\.e)[.!](?!\d)(?!g\.|e\.)|(?<=\b[A-Z])[.!](?!\s*[a-z])"
    r"|(?<!\d)\?(?!\d)(?<![\s(,:/\"“'‘]\?)(?<!^\?)(?!\s*(?:[-–]\s*)?(?i:no|nil|none|negative|yes)\b)"
    r"|(?<=\d)\.(?=\s)|[;\n]"
)
# The query mark itself: the mention within three words after it ("?posterior circulation TIA/stroke"),
# with no comma between, is uncertain.
_QUERY_MARK = re.compile(r"(?:^|[\s(,:/\"“'‘])\?\s?(?:[A-Za-z][\w'-]*(?:\s+|\s*/\s*)){0,3}$")
# A query mark right after the mention ("PMHx: OSA?, HTN"), unless answered yes or no after it
_TRAILING_QUERY = re.compile(r"\s*\?(?![A-Za-z])(?!\s*(?:[-–]\s*)?(?i:yes|y|confirmed)\b)")
# "HIV -ve", "CT/GC: -ve": a negative result written as a sign
_MINUS_VE = re.compile(r"\s*(?:[:=]\s*)?[-–]\s?ve\b", re.I)
# a section header, also as a list item: "Imp: ...", "- PMH: ...", "* Plan: ..."
SECTION_HEADER = re.compile(r"^\s*(?:[-*•]\s*)?([A-Za-z][A-Za-z /&]{0,40}):")
# A SOAP note's one-letter headers; other single letters ("T: 37.2") head no section.
_SOAP = {"s": "subjective", "o": "objective", "a": "assessment", "p": "plan"}

_SPELLING = {
    "ii": "2",
    "iii": "3",
    "iv": "4",
    "deficient": "deficiency",
    "deficiencies": "deficiency",
    # "Thrombus - see Thrombosis" (ICD-10-CM index)
    "thrombus": "thrombosis",
    "thrombi": "thrombosis",
    # "BPH w LUTS", "T2DM w/ CKD", "(2nd degree) scald"
    "w": "with",
    "1st": "first",
    "2nd": "second",
    "3rd": "third",
    # "prostate adenocarcinoma", "carcinoma of the prostate": the catalogue's site cancer (no wording of
    # it names the morphology)
    "caecum": "cecum",
    "caecal": "cecal",
    "carcinoma": "cancer",
    "carcinomas": "cancer",
    "adenocarcinoma": "cancer",
    "adenocarcinomas": "cancer",
}
# -ise for -ize: generalised, localised, hospitalisation, immunised.
_ISE = re.compile(r"(?<=[a-z]{3})is(e|ed|es|ing|ation|ations)$")


def normalise_token(word: str) -> str:
    """Lower-case a word, unify British spelling and roman numerals, strip a plural ``s``.

    Example:
        >>> normalise_token("Kidneys"), normalise_token("II"), normalise_token("anaemia")
        ('kidney', '2', 'anemia')
        >>> normalise_token("haemoptysis"), normalise_token("hypoglycaemia"), normalise_token("Coeliac")
        ('hemoptysis', 'hypoglycemia', 'celiac')
        >>> normalise_token("apnoea"), normalise_token("gonorrhoea"), normalise_token("diarrhoeal")
        ('apnea', 'gonorrhea', 'diarrheal')
        >>> normalise_token("generalised"), normalise_token("hospitalisation"), normalise_token("crisis")
        ('generalized', 'hospitalization', 'crisis')
        >>> normalise_token("UTIs"), normalise_token("utis"), normalise_token("Non-pressure")
        ('uti', 'utis', 'nonpressure')
        >>> normalise_token("keratoses"), normalise_token("doses")
        ('keratosis', 'dose')
    """
    if len(word) > 2 and word.endswith("s") and word[:-1].isupper():
        word = word[:-1]  # the plural of an abbreviation: "UTIs", "MIs"
    w = word.lower().replace("-", "")
    w = american_spelling(_SPELLING.get(w, w))
    if "is" in w:
        w = _ISE.sub(r"iz\1", w)
    if len(w) > 6 and w.endswith("oses"):
        return w[:-2] + "is"  # "keratoses", "stenoses": the plural of "-osis"
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ous")) and not w[-2].isdigit():
        w = w[:-1]
    return w


@dataclass(frozen=True)
class Token:
    """A normalised word with its exact place in the note."""

    norm: str
    start: int
    end: int
    raw: str


@dataclass(frozen=True)
class Sentence:
    """A sentence of one note with its char span and the section header above it."""

    note_index: int
    start: int
    end: int
    text: str
    section: str = ""

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The sentence's words with note-level char offsets."""
        return tuple(tokens_of(self.text, self.start))


def tokens_of(text: str, offset: int = 0) -> Iterator[Token]:
    """Yield the normalised words of ``text`` with char offsets shifted by ``offset``."""
    for m in WORD.finditer(text):
        yield Token(normalise_token(m.group()), offset + m.start(), offset + m.end(), m.group())


def split_sentences(note: str, note_index: int = 0) -> list[Sentence]:
    """Split a note into sentences whose ``text`` is exactly ``note[start:end]``.

    A line such as ``Family history: ...`` sets the section of the sentences
    after it until the next header line.
    """
    out: list[Sentence] = []
    section = ""
    start = 0
    for m in _SENT_END.finditer(note + "\n"):
        end = min(m.end(), len(note))
        piece = note[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece.rstrip())
        if trail > lead:
            s, e = start + lead, start + trail
            gap = note[out[-1].end if out else 0 : s]
            if gap.count("\n") >= 2:
                section = ""  # a blank line ends the section
            header = SECTION_HEADER.match(note[s:e])
            if header and note[s] in _BULLETS and _EXCLUDED_SECTION.search(section):
                pass  # "- Measles: immunised, PCR negative" under "Differentials considered and excluded:"
            elif header:
                name = header.group(1).strip().lower()
                section = _SOAP.get(name, section) if len(name) == 1 else name
            elif _BARE_HEADER.fullmatch(note[s:e]) and _bare_header(note[s:e].lower()):
                section = note[s:e].lower()
            out.append(Sentence(note_index, s, e, note[s:e], section))
        start = end
    return out


_BULLETS = "-*•–"


def _bare_header(name: str) -> bool:
    """Whether a line of capitals alone names a section (:data:`_BARE_HEADER`).

    Example:
        >>> _bare_header("past / resolved"), _bare_header("family history"), _bare_header("copd")
        (True, True, False)
    """
    return name in _BARE_HEADERS or name in (*HISTORY_SECTIONS, *_FAMILY_SECTIONS, *ALLERGY_SECTIONS)


# --------------------------------------------------------------------------- triggers

_PRE_NEGATION = (
    "no",
    "not",
    "denies",
    "denied",
    "deny",
    "without",
    "negative for",
    # "secondary causes screened negative: HBV, HCV, HIV"
    "screened negative",
    "tested negative",
    "no evidence of",
    "no sign of",
    "no signs of",
    "no history of",
    "no known",
    "free of",
    "absence of",
    "absent",
    "ruled out",
    "rules out",
    "excluded",
    # a first impression since set aside: "GP initially thought gastroenteritis this am"
    "initially thought",
    "initially diagnosed as",
    # "felt to be a drug effect rather than SIADH"
    "rather than",
    "instead of",
    "never had",
    "resolved",
    "no further",
    "nor",
    "neither",
)
# Negates only what it is close to: "never smoker", "has never been a smoker", but not "never been
# admitted for his asthma" nor "never offered CBT for psychosis".
_NEAR_NEGATION = ("never",)
_POST_NEGATION = (
    "ruled out",
    "was ruled out",
    "has been ruled out",
    "is negative",
    "was negative",
    "were negative",
    "unlikely",
    "absent",
    "was excluded",
    "excluded",
    "has been excluded",
    "not seen",
    "not present",
    # "Diabetes not shown on fasting glucose or HbA1c"
    "not shown",
    "not demonstrated",
    "not diagnosed",
    "never diagnosed",
    "resolved",
    # a suspicion weighed and set aside: "asthma/COPD not supported", "ACS not suspected", "Meniere's
    # disease ... not suggested by the history", "migraine ... do not fit the pattern", "sepsis criteria
    # not met"
    "not supported",
    "not supportive",
    # "PE not thought likely", "ACS not felt likely"
    "not likely",
    "not thought likely",
    "not felt likely",
    "not considered likely",
    "not suspected",
    # "GCA not a consideration", "Ewing sarcoma not a concern radiologically"
    "not a consideration",
    # "SIADH was considered but Na corrected promptly ..."
    "was considered but",
    "considered but",
    "not a concern",
    "clinically not suspected",
    "less likely",
    "not clinically suspected",
    "not suggested",
    "do not fit",
    "does not fit",
    "criteria not met",
    # "Prostate cancer - low suspicion given PSA and benign DRE"
    "low suspicion",
    "low index of suspicion",
    # an infection cleared: "treated for H. pylori 2019, eradicated"
    "eradicated",
    # "a postnatal depression episode which resolved with CBT"
    "which resolved",
    "that resolved",
    "which has resolved",
)
# A result word right after the finding ("HIV negative", "HBsAg nonreactive") negates it, also after
# the name of the test ("hepatitis A IgG negative", "HIV antibody not detected").
# "tympanic membrane intact", "fundi unremarkable": the structure a disorder code is named by, found normal
_NEXT_NEGATION = (
    "negative",
    "neg",
    "nonreactive",
    "non reactive",
    "not detected",
    "undetectable",
    "intact",
    "unremarkable",
    # "Crohn's disease - terminal ileum ..., colon uninvolved"
    "uninvolved",
    "not involved",
    "spared",
)
_TEST_WORDS = frozenset(
    {
        "igg",
        "igm",
        "antibody",
        "antibodies",
        "ab",
        "antigen",
        "ag",
        "serology",
        "pcr",
        "rna",
        "dna",
        "test",
        "screen",
        "toxin",
        "culture",
    }
)
_PRE_UNCERTAIN = (
    # an opinion, another clinician's or an earlier one: "GP thought gout (urate 0.38)"
    "gp thought",
    # a treatment tried for a condition only suspected: "proper trials for asthma, rhinitis and reflux have
    # all failed"
    "trials for",
    "trial for",
    "thought to be",
    "was thought",
    "might have",
    "concerned about",
    "possible",
    "possibly",
    "probable",
    "suspected",
    "suspicion of",
    "rule out",
    "r o",
    "query",
    "questionable",
    "may have",
    "concern for",
    # "weight loss raised concern re lung cancer - CT thorax: no mass"
    "concern re",
    "concerns re",
    "concern regarding",
    "concern about",
    "cannot exclude",
    "differential",
    "differentials",
    "ddx",
    "versus",
    "vs",
)
# What the patient or a relative fears, believes or asks about: "She is worried she has PCOS too", "Mum
# thinks it was a seizure", "asks whether it could be epilepsy". Read apart from the other triggers: the
# relative who voices it ("Mum thinks") is a pseudo phrase that keeps the relative's word from making a
# family history, and would hide the trigger that starts inside it.
_BELIEFS = (
    "worried about",
    "worried that",
    "worried he",
    "worried she",
    "worried it",
    "worried this",
    "thinks it was",
    "thinks it is",
    "thinks this is",
    "thinks this was",
    "thinks he has",
    "thinks she has",
    "believes it",
    "convinced he has",
    "convinced she has",
    "convinced it",
    "wonders if",
    "wondered about",
    "wondered if",
    "wondered whether",
    "wonders about",
    "wondering if",
    "wonders whether",
    "wondering whether",
    "asks if",
    "asks whether",
    "asked if",
    "asked whether",
    # "she had stopped her metformin, as she thought this meant she had diabetes"
    "thought this meant",
    "thought it meant",
    "thinks this means",
    "thinks it means",
)
_PRE_HYPOTHETICAL = (
    # a condition to watch for: "return if chest pain develops", "seek help in case of sepsis"
    "if",
    "in case of",
    # (a safety net's advice, "safety net: ...", "safety-net re chest pain, fainting": _safety_net)
    "warning signs of",
    "red flags of",
    "other signs of",
    "any signs of",
    "red flags explained",
    "red flags discussed",
    "red flags given",
    # a drug's harms the patient was told of: "warned re rash, drowsiness, hyponatraemia"; what to
    # come back for: "Return precautions (pain, dizziness, shoulder tip pain, heavy bleeding)"
    "warned re",
    "warned about",
    "warned of",
    "warned regarding",
    "return precautions",
    # a question put to the patient: "Specifically asked re GCA sx: no headache, ..."
    "asked re",
    "asked about",
    "enquired about",
    # an operation's risks: "Consented (risks incl. cataract R, re-detachment)"
    "risks incl",
    "risks include",
    "risks including",
    "red flag symptoms explained",
    "red flag symptoms discussed",
    "risk of",
    "risks of",
    "risk for",
    "at risk for",
    "at risk of",
    "screening for",
    "screen for",
    # an exposure, not the disease: "household contact of pulmonary TB", "exposed to chickenpox"
    "contact of",
    "contact with",
    "exposed to",
    "exposure to",
    # a complication watched for ("monitor for acute chest syndrome", "observe for refeeding syndrome")
    "monitor for",
    "monitoring for",
    # a test's purpose ("MRI spine to exclude cord compression", "echocardiogram for coronary aneurysms")
    "to exclude",
    "exclude",
    "echocardiogram for",
    "echo for",
    "scan for",
    "imaging for",
    "ultrasound for",
    "x-ray for",
    "x ray for",
    "mri for",
    "ct for",
    "tested for",
    "test for",
    "testing for",
    "check for",
    "checked for",
    # "I checked again for any history of asthma or COPD before continuing timolol - there is none"
    "any history of",
    "look for",
    "watch for",
    "observe for",
    "look out for",
    # a treatment or a diagnosis still to be weighed ("assess for long-term oxygen therapy")
    "assess for",
    "assessed for",
    "evaluate for",
    "evaluated for",
    "candidate for",
    "eligible for",
    "suitability for",
    "prevent",
    "prevention of",
    "prevents",
    "vaccine for",
    "vaccination against",
    "vaccinated against",
    "immunization against",
    "prophylaxis against",
    # a question the patient asked, and what to report or seek help for ("asked whether her palpitations
    # could be atrial fibrillation", "advised to report any postmenopausal bleeding", "seek urgent help
    # with syncope", "counselled on retrograde ejaculation")
    "asked whether",
    "asked if",
    "asked about",
    "report any",
    "to report",
    "seek help with",
    "seek urgent help with",
    "help for any",
    "counsel on",
    "counselled on",
    "counseled on",
    "counselling on",
    "counseling on",
    # a specialist's title names a specialty ("Consultant in Infectious Diseases"), a surveillance test
    # what it looks for ("surveillance colonoscopy for colorectal cancer")
    "consultant in",
    "surveillance for",
    "colonoscopy for",
    # a drug's harms discussed: "GnRH analogues and their potential side effects (hot flushes, ...)"
    "side effects",
    "side effect",
    "adverse effects",
    # a care declined is not given: "Declined bowel cancer screening kit", "refused flu vaccine"
    "declined",
    "declines",
    "refused",
    "refuses",
    # an allergy's reaction is not a diagnosis ("allergic to penicillin (rash)")
    "allergic to",
    "allergy to",
    "allergies to",
    "reaction to",
)
# a condition the risk factors are of, right after them ("risk factors for pre-eclampsia"), not the
# patient's risk factors listed after it ("risk factors for stroke: hypertension, AF")
_NEAR_HYPOTHETICAL = (
    "risk factor for",
    "risk factors for",
    "risk factor of",
    "risk factors of",
    # advice: "avoiding alcohol excess", "avoid pregnancy while on isotretinoin"
    "avoid",
    "avoiding",
)
# an operation still to come ("for elective total hip replacement", "listed for knee replacement"), up to
# the reason it is for ("... for osteoarthritis")
_PRE_OPERATION = ("for elective", "awaiting", "scheduled for", "listed for", "booked for", "planned")
# words between a comma and a trigger after it that name no other finding ("..., fully resolved")
_SCOPE_WORDS = frozenset(
    {"fully", "completely", "now", "since", "then", "all", "both", "which", "was", "were", "is", "are", "has",
     "have", "had", "been", "and", "spontaneously", "largely", "mostly"}
)  # fmt: skip
_POST_HYPOTHETICAL = (
    # "treatment for a cancer that might never have harmed him"
    "that might never",
    "that may never",
    "which might never",
    "which may never",
    # "cauda equina red flags reviewed" ("dengue with warning signs" is a grade of dengue)
    "red flags",
    "red flag",
    # "cauda equina safety-netting given": what to come back for
    "safety netting",
    "safety-netting",
    "safety net",
    "safety-net",
    "safety netted",
    "safety-netted",
    "vaccine",
    "vaccines",
    "vaccination",
    "vaccinations",
    "vaccinated",
    "immunization",
    "immunisation",
    "immunizations",
    "shot",
    "jab",
    "risk",
    "prophylaxis",
    "ppx",
    "prevention",
    "screening",
    "precautions",
    # a drug's possible harm: "impulse control disorder discussed as a side effect of ropinirole"
    "as a side effect",
    "side effect of",
    "side effects",
    # a diagnosis a finding would call for: "(endometrial cancer would need excluding)"
    "would need excluding",
    "need excluding",
    "needs excluding",
    "would need to be excluded",
    "needs to be excluded",
)
# a drug's harms named after a list of them
_SIDE_EFFECTS = ("side effects", "side effect", "adverse effects", "possible side effects")
# right after the disease, a prevention of it or a protection from it: "tetanus booster", "rubella
# immune", "HIV PrEP"
_NEXT_HYPOTHETICAL = (
    "booster",
    "boosters",
    "toxoid",
    "immune",
    "non immune",
    "immunity",
    "prep",
    "pep",
    # a drug's warned-of harm: "agranulocytosis warning given"; a risk assessed: "VTE assessment"
    "warning",
    "warnings",
    # others' illness nearby: "the home had a scabies outbreak on the other unit"
    "outbreak",
    "outbreaks",
    "assessment",
    # other people: "avoid immunosuppressed people", "diabetic patients should ..."
    "people",
    "persons",
    "individuals",
    "contacts",
    "patients",
)
_VACCINE = (
    "booster",
    "boosters",
    "vaccine",
    "vaccines",
    "vaccination",
    "vaccinations",
    "immunisation",
    "immunization",
    "jab",
    "jabs",
)
_STANDBY_BEFORE = re.compile(
    r"\b(?:emergency\s+supply|rescue\s+(?:pack|course|supply|antibiotics?|steroids?)|stand-?by\s+"
    r"(?:pack|course|supply|antibiotics?|steroids?))\b[^.;:]{0,60}\b(?:for|if|in case of)\s+(?:\w+\s+)?$",
    re.I,
)
_REFERRAL = frozenset({"referral", "pathway"})
_CANCER_WORDS = frozenset(
    {"cancer", "carcinoma", "hcc", "malignancy", "neoplasm", "tumour", "tumor", "melanoma", "lymphoma"}
)
# a diagnosis to weigh, right after the word: "consider von Willebrand disease" (but not the disease a
# drug to weigh is for: "consider metformin for T2DM")
# (an impression: "Looks like cough hypersensitivity")
_NEAR_UNCERTAIN = ("consider", "considering", "looks like", "sounds like")
# the clinic a patient is seen in names what it treats, not what the patient has: "Stroke clinic.
# ... Imp: TIA", "Cardiology Arrhythmia Clinic"
_NEXT_CLINIC = (
    "clinic",
    "clinics",
    # a service or its staff: "Diabetes Specialist Nurse", "heart failure team", "COPD service"
    "specialist nurse",
    "nurse",
    "nurses",
    "team",
    "service",
    "services",
)
# ... also the first of the clinic's conditions: "TIA/stroke clinic"
_CLINIC_AFTER = re.compile(r"(?:\s*/\s*[\w'-]+){1,2}\s+clinics?\b", re.I)
_VISIT_WORDS = frozenset({"assessment", "check", "counselling", "counseling"})
_DEPARTMENT_AFTER = re.compile(
    r"\s*(?:[-–:|]\s*)?(?:discharge\s+summary|clinic|out-?patients?|in-?patients?|ward|unit|department|"
    r"consultation|referral|letter|service)\b",
    re.I,
)
_POST_UNCERTAIN = (
    # a label never proven: "labelled asthma in her 30s but never confirmed"
    "but never confirmed",
    "but not confirmed",
    "but never proven",
    "is suspected",
    "was suspected",
    "cannot be excluded",
    "cannot be ruled out",
    "to be excluded",
    "not confirmed",
    "not yet confirmed",
    # a diagnosis weighed: "'worst ever headache' so SAH considered - CT head normal"
    "considered",
    # "Hyperthyroidism r/o pending TSH", "PCOS was queried at referral"
    "r o",
    "was queried",
    "is queried",
    "has been queried",
)
# the reason for a finished course, further off than a history word reaches: "recently completed
# co-amoxiclav for pneumonia", "finished a 10-day course of clindamycin for L leg cellulitis"
_PRE_FINISHED = ("completed", "finished")
_PRE_HISTORY = (
    "former",
    "ex",
    "quit",
    "history of",
    "h o",
    "hx of",
    "prior",
    "previous",
    "previously",
    "past",
    "status post",
    "s p",
    # "She had grommets as a child for glue ear"
    "as a child",
)
# Says a condition was the patient's as a child: "eczema as an infant", "asthma in childhood".
_POST_HISTORY = (
    "as a child",
    "as an infant",
    "as infant",
    "as a baby",
    "as a toddler",
    "as a teenager",
    "as a teen",
    "in childhood",
    "in infancy",
    # "The 4 mm ureteric stone has since passed"
    "has since passed",
    "since passed",
    "has passed",
    "passed spontaneously",
)
# an episode over: "after L optic neuritis (fully recovered, VA 6/6)", "stroke 2019 - full recovery"
# an episode's end after a spaced dash: "Pilonidal abscess drained (I&D) Jan 2024 - resolved"
_RESOLVED_TAIL = re.compile(r"[^,;.\n]{0,50}?\s[-–]\s*(?:now\s+)?(?:resolved|healed|settled)\b", re.I)
# outgrown: "Childhood asthma, none since age 12", "asthma - no inhalers or sx since age 9"
_OUTGROWN = re.compile(
    r"[^.;\n]{0,30}?\b(?:none|nil|no\s+(?:[\w/]+\s+){0,3}?|symptom[- ]free|asymptomatic)\s*since\s+"
    r"(?:the\s+)?(?:age|aged)\s*(?:of\s+)?\d+",
    re.I,
)
# an episode over, said further on in its sentence: "?TIA 2010 - patient clarifies it was migraine aura,
# seen by neurology, MRI normal, no episodes since." (not "no attacks since starting allopurinol": a
# treatment holds it), "Rectal gonorrhoea 6 weeks ago (ceftriaxone, TOC negative)", "sore throat and a
# rash 2 weeks ago, settled after 5 days"
EPISODE_OVER_TAIL = re.compile(
    r"[^.;\n]{0,100}?\b(?:no\s+(?:further\s+|more\s+|other\s+)?(?:episodes|attacks|recurrences?)\s+since"
    r"\s*(?:then\b|[.;\n]|$)|(?:test\s+of\s+cure|TOC)\s+(?:was\s+)?(?:negative|clear)\b|"
    r"settled\s+(?:after|within|over)\s+\d+\s*(?:days?|weeks?)\b)",
    re.I,
)
_POST_RECOVERED = (
    "fully recovered",
    "recovered fully",
    "full recovery",
    "complete recovery",
    "now recovered",
)
_TIME_UNITS = frozenset(
    {"day", "days", "week", "weeks", "wk", "wks", "month", "months", "hour", "hours", "hrs", "h", "d"}
)
# Says a past condition only right before it: "old MI", "old infarct", not "old records show ...";
# "secondary prevention after MI", "post MI", not "pain after exercise" (no condition) or "after 2 weeks".
_NEAR_HISTORY = ("old", "after", "post")
_PRE_FAMILY = (
    "family history of",
    "family history",
    "fh of",
    "fhx of",
    "mother",
    "father",
    "brother",
    "sister",
    "sibling",
    "parent",
    "parents",
    "grandparents",
    "grandmother",
    "mum",
    "mom",
    "dad",
    "grandfather",
    "aunt",
    "uncle",
    "son",
    "daughter",
    "cousin",
    "niece",
    "nephew",
    "grandson",
    "granddaughter",
    "grandad",
    "granddad",
    "grandpa",
    "grandma",
    "granny",
    "nan",
    "nana",
    "twin",
)
_TERMINATORS = (
    "but",
    "however",
    "although",
    "though",
    "except",
    "apart from",
    "aside from",
    "which",
    "presenting",
)
_COMMA_AFTER = re.compile(r"[)\]]?,")
_SPACED_DASH = re.compile(r"\s+[-–—]+\s+")
# a denial carries through a list of findings of at most this many words each, to a word that breaks it
_SHORT_ITEM = 3
_LIST_BREAKS = frozenset({"but", "although", "though", "however", "except", "apart"})
# Phrases that contain a trigger word but do not negate or qualify what follows.
# the relatives who come with a patient or tell the history
_COMPANIONS = (
    "daughter",
    "son",
    "wife",
    "husband",
    "partner",
    "mother",
    "mum",
    "mom",
    "father",
    "dad",
    "parents",
    "family",
)
_PSEUDO = (
    # a risk class the condition meets, not a risk of it: "brief resolved unexplained event meeting
    # lower-risk criteria"
    "risk criteria",
    "risk features",
    # an adjective of what a condition follows, not a past event: "acute post-haemorrhagic anaemia of the
    # puerperium", "post-herpetic neuralgia", "post-traumatic stress disorder"
    "post haemorrhagic",
    "post hemorrhagic",
    "post herpetic",
    "post traumatic",
    "post infectious",
    "post viral",
    "post thrombotic",
    "post streptococcal",
    "post ictal",
    "post concussion",
    "post concussional",
    "post mastectomy",
    "post menopausal",
    "post partum",
    "post natal",
    "not well",
    "not controlled",
    "not adequately",
    "not at goal",
    "not adherent",
    "not taking",
    "not only",
    "not certain whether",
    "no longer",
    "no change",
    "no changes",
    "no increase",
    "without difficulty",
    # who tells or saw it, not whose it is: "witnessed apnoeas per wife", "seen by her husband"
    "per wife",
    "per husband",
    "per partner",
    "per mother",
    "per mum",
    "per mom",
    "per father",
    "per dad",
    "per parents",
    "per family",
    "by wife",
    "by his wife",
    "by husband",
    "by her husband",
    "by partner",
    "by his partner",
    "by her partner",
    "by mother",
    "by mum",
    "by parents",
    "by family",
    # who tells it, about the patient: "Mum reports 3 days of cough", "Mother says he has had stridor"
    *(
        f"{relative} {verb}"
        for relative in (*_COMPANIONS, "parent", "carer")
        for verb in (
            "reports",
            "reported",
            "says",
            "said",
            "states",
            "stated",
            "describes",
            "described",
            "noticed",
            "notes",
            "noted",
            "thinks",
            "feels",
            "explains",
            "tells",
            "told",
            "observed",
            "witnessed",
            "mentions",
            "is worried",
            "was worried",
            "concerned",
            "brought",
            "brings",
            "gives a history of",
            "gave a history of",
        )
    ),
    # who came with the patient or asked for the visit: "requested by daughter", "attends with her son",
    # "14-year-old boy with mum after fainting at school"
    *(
        f"{by} {whose}{relative}"
        for by in ("by", "attends with", "attended with", "came with", "comes with", "seen with")
        for whose in ("", "her ", "his ")
        for relative in _COMPANIONS
    ),
    *(
        f"with {whose}{relative} {why}"
        for whose in ("", "her ", "his ")
        for relative in _COMPANIONS
        for why in ("after", "following", "because", "for", "re", "regarding", "about", "with")
    ),
    # found by a screening, not screened for: "hyperlipidaemia found on screening"
    "on screening",
    "at screening",
    "by screening",
    "past week",
    "past month",
    "past year",
    "past few",
    "past two",
    "past three",
    "past several",
    "prior to",
    # an age: "67-year-old woman with COPD" is no old COPD
    "year old",
    "years old",
    "yr old",
    "yrs old",
    "month old",
    "months old",
    "week old",
    "weeks old",
    "day old",
    "days old",
)
# A checklist item answered no: "Diabetes: none", "Smoking: never", "Stroke/TIA - no.", "CKD - NO (eGFR
# 78)". The answer ends the item: "Asthma: no attacks this month" still says asthma.
_ANSWERED_NO = re.compile(
    # "Cough/coryza - none": the answer after a pair asked together
    r"(?:\s*/\s*[\w-]+)?"
    r"\s*(?::|=|\?\s*(?:[-–]\s*)?|\s[-–]\s)\s*(?:none|no|nil|never|negative|neg|denie[sd]|absent|not present)"
    r"(?:\s+(?:known|reported|documented))?\s*(?=[.,;)\n]|\s[-–]\s|\s\(|$)",
    re.I,
)
# a suspicion set aside with another after it: "Meniere's disease and vestibular migraine are not supported"
_COORDINATED_NEGATION = re.compile(
    r"(?:['’]s)?(?:\s+[\w'-]+)?\s+(?:and|or|&|/)\s+(?:[\w'-]+\s+){1,3}(?:are|were)\s+(?:not\s+supported|unlikely|excluded|ruled\s+out|"
    r"not\s+suspected|not\s+(?:thought\s+|felt\s+)?likely|less\s+likely)\b",
    re.I,
)
_QUERY_INSIDE = re.compile(r"[\s(,:/]\?\s?[A-Za-z]")
_FAMILY_SECTIONS = ("family history", "fh", "family hx")
HISTORY_SECTIONS = (
    "past medical history",
    "pmh",
    "pmhx",
    "history",
    "hx",
    "medical history",
    "past history",
    "previous medical history",
    # the rest of a history beside the diagnoses of a discharge: "Other PMH: ... hernia repair 2010"
    "other pmh",
    "other pmhx",
    "other history",
    "other medical history",
    "past surgical history",
    "surgical history",
    "psh",
    # a letter's list of the patient's other conditions: "Background: - SCC R hand excised 2019"
    "background",
    # what happened since the last visit: "Interval hx: ED visit 2/2025 for viral gastroenteritis"
    "interval hx",
    "interval history",
    # a problem list's past part: "PAST / RESOLVED", "Resolved problems:"
    "past / resolved",
    "past/resolved",
    "past and resolved",
    "past / inactive",
    "past/inactive",
    "inactive",
    "resolved problems",
    "past problems",
    "inactive problems",
)
# A line of capitals alone heads a section when it is a header's name ("PAST / RESOLVED", "FAMILY
# HISTORY"); other such lines ("COPD", "STEMI") are findings and leave the section as it was.
_BARE_HEADER = re.compile(r"[A-Z][A-Z /&]{2,40}")
_BARE_HEADERS = frozenset(
    {"active problems", "current problems", "problem list", "problems", "diagnoses", "assessment", "plan",
     "impression", "medications", "current medications", "examination", "investigations", "results"}
)  # fmt: skip
# a header that sets aside what it lists: "Differentials considered and excluded:", "Ruled out:"
_EXCLUDED_SECTION = re.compile(r"(?:^|\b(?:and|differentials?|ddx|diagnoses)\s+)(?:excluded|ruled out)$")
# ("All: PCN (hives)" in an emergency note)
ALLERGY_SECTIONS = ("allergies", "allergy", "drug allergies", "allergies and intolerances", "all")
# a sentence under one of these headers names what to come back for: "Safety net: fever -> ?septic arthritis"
_WATCH_HEADERS = frozenset(
    {"safety net", "safety netting", "safety netted", "red flags", "return precautions", "return if",
     "warning signs", "seek help if", "come back if", "review if", "red flags explained",
     "red flags discussed", "red flags given", "warning signs explained"}
)  # fmt: skip
# Under a history header, these still say the condition is the patient's now ("PMH: ... Smokes 10/day").
# A gerund does not ("PMH: smoking, quit 2010" is a past habit).
_PRE_CURRENT = ("current", "currently", "still", "ongoing", "active")
_PRESENT_VERBS = frozenset({"smokes", "vapes", "drinks", "chews"})


@lru_cache(maxsize=256)
def _phrase_starts(phrases: tuple[str, ...]) -> dict[str, list[tuple[int, list[str]]]]:
    """``phrases`` by their first word, each with its place in the tuple and its words."""
    starts: dict[str, list[tuple[int, list[str]]]] = {}
    for n, phrase in enumerate(phrases):
        parts = phrase.split()
        if parts:
            starts.setdefault(parts[0], []).append((n, parts))
    return starts


def _phrases(words: list[str], phrases: tuple[str, ...]) -> list[tuple[int, int]]:
    """Word-index spans where any of ``phrases`` occurs (phrases given as lower-case words), in the
    phrases' order, then the words'; one pass over the words, whatever the number of phrases.

    Example:
        >>> _phrases("no history of no fever".split(), ("no", "history of"))
        [(0, 1), (3, 4), (1, 3)]
    """
    starts = _phrase_starts(phrases)
    found: list[tuple[int, int, int]] = []
    for i, word in enumerate(words):
        for n, parts in starts.get(word, ()):
            if words[i : i + len(parts)] == parts:
                found.append((n, i, i + len(parts)))
    found.sort()
    return [(i, j) for _, i, j in found]


def assertion_of(sentence: Sentence, start: int, end: int) -> str:
    """Classify the mention at note offsets ``start:end`` of ``sentence``.

    Returns one of :data:`ASSERTIONS`. A relative's disease is never the
    patient's, and a negated one is no one's ("no family history of
    diabetes"); negation beats uncertainty, which beats history.
    """
    toks = sentence.tokens
    words = [t.raw.lower() for t in toks]
    first = next((i for i, t in enumerate(toks) if t.end > start), len(toks))
    last = max((i for i, t in enumerate(toks) if t.start < end), default=first)
    stops = sorted(i for i, _ in _phrases(words, _TERMINATORS))
    pseudo = _phrases(words, _PSEUDO)

    def real(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(i, j) for i, j in spans if not any(a <= i < b for a, b in pseudo)]

    # "(MASLD), fibrosis risk": a comma may follow a closing bracket
    commas = [i for i, t in enumerate(toks) if _COMMA_AFTER.match(sentence.text, t.end - sentence.start)]
    # "absent vibration sense to ankles - diabetic peripheral neuropathy": a spaced dash opens what the
    # findings before it add up to
    dashes = [i for i, t in enumerate(toks) if _SPACED_DASH.match(sentence.text, t.end - sentence.start)]

    def short_items(j: int) -> bool:
        """A list of two or more short findings runs from ``j`` to the mention's item: "denies saddle
        anaesthesia, bowel/bladder changes, fever, wt loss, hx cancer, IVDU"."""
        cuts = [c for c in commas if j <= c < first]
        bounds = [j - 1, *cuts]
        return (
            len(cuts) >= 2
            and first - cuts[-1] <= _SHORT_ITEM
            and all(
                b - a <= _SHORT_ITEM and _LIST_BREAKS.isdisjoint(words[a + 1 : b + 1])
                for a, b in pairwise(bounds)
            )
        )

    def before(phrases: tuple[str, ...], window: int, *, timed: bool = True, lists: bool = False) -> bool:
        for i, j in real(_phrases(words, phrases)):
            if not timed and i > 0 and (words[i - 1] in _TIME_UNITS or words[i - 1].isdigit()):
                continue  # "day 3 after STEMI", "2 weeks post MI": a count of time, not a past event
            if lists and j <= first and not any(j <= s < first for s in stops) and short_items(j):
                return True
            # a list of single findings ("denies fever, sweats, thrush, diarrhoea") carries the trigger
            # further than running text does
            first_comma = next((c for c in commas if c >= j), None)
            one_word_list = first_comma == j
            # a list ending in "or" carries the trigger to its last item ("no personal history of diabetes,
            # heart disease or cancer")
            ends_in_or = first_comma is not None and any(words[x] in ("or", "nor") for x in range(j, first))
            reach = window * 2 if one_word_list or ends_in_or else window
            if (
                j <= first
                and first - j <= reach
                and not any(j <= s < first for s in stops)
                # ("no evidence of malignancy - lupus nephritis" and "denies chest pain - palpitations"
                # are lists: a finding of one or two words before the dash)
                and not any(j + 2 <= d < first for d in dashes)
            ):
                # "with no residual deficits, hypertension": a comma after a 2+ word phrase ends the scope,
                # unless the commas build a list that ends in "or" ("no CAD, stroke, PAD or diabetes") or
                # the list starts with a single word
                listed = one_word_list or any(words[x] in ("or", "nor") for x in range(j, len(words)))
                if not listed and any(j + 1 <= c < first for c in commas):
                    continue
                return True
        return False

    def after(phrases: tuple[str, ...], window: int, *, own: bool = False) -> bool:
        """A trigger within ``window`` words after the mention; with ``own``, a comma and another
        finding end the mention's scope: "stable angina, ACS ruled out" rules out the ACS ("weakness
        yesterday, fully resolved" still resolved the weakness)."""
        for i, _ in real(_phrases(words, phrases)):
            # a trigger may open with a terminator ("but never confirmed"); one before it ends the scope
            if i > last and i - last <= window and not any(last < s < i for s in stops):
                cut = max((c for c in commas if last <= c < i - 1), default=None) if own else None
                if cut is not None and not set(words[cut + 1 : i]) <= _SCOPE_WORDS:
                    continue
                return True
        return False

    section = sentence.section
    # a finding that carries its own result ("RhD negative, antibody screen negative") is not the next
    # test's
    own_result = words[last] in _NEXT_NEGATION
    said_before = sentence.text[: max(0, start - sentence.start)]
    negated = (
        before(_PRE_NEGATION, 6, lists=True)
        or before(_NEAR_NEGATION, 2)
        or after(_POST_NEGATION, 4, own=True)
        or after(_NEXT_NEGATION, 1)
        or (not own_result and _tested_negative(words, last, after))
        or (not own_result and _listed_negative(words, last, after))
        or _ANSWERED_NO.match(sentence.text, end - sentence.start)
        or _COORDINATED_NEGATION.match(sentence.text, end - sentence.start)
        or _MINUS_VE.match(sentence.text, end - sentence.start)
        or _EXCLUDED_SECTION.search(section or "") is not None
    )
    if (
        section in _FAMILY_SECTIONS
        or before(_PRE_FAMILY, 8)
        or _relative_as_subject(words, first, stops, pseudo)
    ):
        # a relative's disease is never the patient's; "no family history of diabetes" is no one's
        return "negated" if negated else "family"
    if negated:
        return "negated"
    if (
        section in ALLERGY_SECTIONS
        # the sentence that opens with the header (its section's name), not the lines after it
        or (section in _WATCH_HEADERS and SECTION_HEADER.match(sentence.text) is not None)
        or _LIKENESS.match(sentence.text, end - sentence.start)
        or _quoted_likeness(sentence.text, start - sentence.start, end - sentence.start)
        or before(_PRE_HYPOTHETICAL, 4)
        or _voiced_belief(words, first, stops)
        or before(_OTHERS, 8)
        or _relative_as_subject(words, first, stops, pseudo, _OTHERS)
        or before(_NEAR_HYPOTHETICAL, 0)
        or _operation_to_come(words, first, before)
        or (not own_result and _test_ordered(words, last))
        or _listed_for_testing(
            said_before, sentence.text, sentence.text[len(said_before) : end - sentence.start]
        )
        or _safety_net(words, first, stops)
        or after(_POST_HYPOTHETICAL, 3, own=True)
        # "erectile dysfunction and reduced libido are possible side effects"
        or after(_SIDE_EFFECTS, 6, own=True)
        or after(_NEXT_HYPOTHETICAL, 1)
        # "COVID autumn booster due", "hepatitis B vaccination course"
        or after(_VACCINE, 2)
        # "emergency supply of amoxicillin at home for fever": a supply kept for what may come
        or _STANDBY_BEFORE.search(said_before) is not None
        # an operation's risks the patient consented to: "Consent discussed: PCR ~2%, endophthalmitis ~1 in
        # 1000, retinal detachment, CMO"
        or _CONSENT_BEFORE.search(said_before) is not None
        # (an assessment clinic heading the note is the visit itself: "Preoperative assessment clinic")
        or (after(_NEXT_CLINIC, 1) and not (sentence.start == 0 and words[last] in _VISIT_WORDS))
        or _CLINIC_AFTER.match(sentence.text, end - sentence.start)
        # a heading's service: "INFECTIOUS DISEASES - DISCHARGE SUMMARY"
        or (
            not said_before.strip()
            and sentence.text[start - sentence.start : end - sentence.start].isupper()
            and _DEPARTMENT_AFTER.match(sentence.text, end - sentence.start) is not None
        )
        # "hepatocellular carcinoma surveillance" watches for a cancer; "Barrett's surveillance" and
        # "renal cell carcinoma on surveillance" watch one
        or (after(("surveillance",), 1) and not _CANCER_WORDS.isdisjoint(words[first : last + 1]))
        # "urgent suspected cancer referral", "2-week-wait cancer pathway": a referral to find out
        or (
            not _CANCER_WORDS.isdisjoint(words[first : last + 1])
            and not _REFERRAL.isdisjoint(words[first : last + 1 if last in commas else last + 2])
        )
    ):
        return "hypothetical"
    if (
        before(_PRE_UNCERTAIN, 5)
        # a query mark inside a mention read across words: "ileum normal (?Crohn's"
        or _QUERY_INSIDE.search(sentence.text[max(0, start - sentence.start) : end - sentence.start])
        or after(_POST_UNCERTAIN, 4)
        or _TRAILING_QUERY.match(sentence.text, end - sentence.start)
        or before(_NEAR_UNCERTAIN, 0)
        or _QUERY_MARK.search(said_before)
    ):
        return "uncertain"
    # a date or an "ago" after the mention dates it only up to the next comma: "T2DM, hypoglycaemia in
    # 2023" dates the hypoglycaemia
    clause = words[: next((c for c in commas if c >= last), len(words) - 1) + 1]
    current = (
        before(_PRE_CURRENT, 3)
        # the mention's own first word ("current smoker" under "History:")
        or (first < len(words) and words[first] in (*_PRESENT_VERBS, *_PRE_CURRENT))
        or _rate_after(words, last)
    )
    if (
        before(_PRE_HISTORY, 6)
        or before(_PRE_FINISHED, 10)
        or before(_NEAR_HISTORY, 1, timed=False)
        # "measles pneumonia as a child"
        or after(_POST_HISTORY, 3, own=True)
        or after(_POST_RECOVERED, 3)
        # "postnatal depression after 2nd child (1999), fully recovered"
        or after(_POST_RECOVERED, 7, own=True)
        or EPISODE_OVER_TAIL.match(sentence.text, end - sentence.start)
        or _RESOLVED_TAIL.match(sentence.text, end - sentence.start)
        or _OUTGROWN.match(sentence.text, end - sentence.start)
        or (section in HISTORY_SECTIONS and not current)
        or (_dated_in_past(clause, last) and _DIAGNOSED.isdisjoint(words[max(0, first - 2) : first]))
        # dated before it: "Dizzy spells in 2019 were diagnosed as BPPV", "DKA once in 2019 with
        # gastroenteritis"
        or _dated_before(words, first, commas, stops)
        or _time_ago(clause, last)
        or _quit_after(words, last)
    ):
        return "historical"
    return "present"


_RETURN_WORDS = frozenset(
    {"return", "returns", "review", "recontact", "contact", "call", "ring", "phone", "seek", "attend", "999",
     "111", "911", "a", "e", "ed", "er", "back", "reattend", "reconsult"}
)  # fmt: skip


# Somebody else's disease, within a longer reach than a trigger's ("a colleague was recently diagnosed
# with occupational asthma"), or the sentence's subject ("Boyfriend in waiting room - he disclosed he has
# depression himself")
_OTHERS = (
    # a spouse shares no genes: "Husband (d. 2019) had vascular dementia" is no family history
    "husband",
    "wife",
    "partner",
    "spouse",
    "friend",
    "boyfriend",
    "girlfriend",
    "flatmate",
    "housemate",
    "roommate",
    "workmate",
    "coworker",
    "classmate",
    "colleague",
    "neighbour",
    "neighbor",
    "mate",
)
# what may stand before a relative who is a sentence's subject: "His brother, who lives with him, ..."
_POSSESSIVES = frozenset(
    {"his", "her", "their", "the", "pt", "patient", "s", "my", "our", "a", "an", "another"}
)


def _relative_as_subject(
    words: list[str],
    first: int,
    stops: list[int],
    pseudo: list[tuple[int, int]],
    people: tuple[str, ...] = _PRE_FAMILY,
) -> bool:
    """True when the sentence is about a relative, its subject, up to the mention: "His brother, who
    lives with him, was diagnosed 3 weeks ago with smear-positive pulmonary TB".

    Example:
        >>> words = "his brother who lives with him was diagnosed 3 weeks ago with pulmonary tb".split()
        >>> _relative_as_subject(words, 13, [], [])
        True
        >>> _relative_as_subject("seen with his brother today has asthma".split(), 6, [], [])
        False
    """
    for i, j in _phrases(words[: min(first, 3)], people):
        if all(w in _POSSESSIVES for w in words[:i]) and not any(a <= i < b for a, b in pseudo):
            return not any(j <= s < first for s in stops)
    return False


def _voiced_belief(words: list[str], first: int, stops: list[int]) -> bool:
    """A mention within four words after a fear, belief or question of the patient or a relative
    (:data:`_BELIEFS`), pseudo phrases or not.

    Example:
        >>> _voiced_belief("mum thinks it was a seizure".split(), 5, [])
        True
        >>> _voiced_belief("she is worried she has pcos too".split(), 5, [])
        True
        >>> _voiced_belief("known epilepsy on valproate".split(), 1, [])
        False
    """
    return any(
        j <= first and first - j <= 4 and not any(j <= s < first for s in stops)
        for _, j in _phrases(words[:first], _BELIEFS)
    )


def _safety_net(words: list[str], first: int, stops: list[int]) -> bool:
    """A mention after the "if" of safety-net advice: "Urgent review or 999 if fever, loin pain or
    confusion - possible kidney infection or sepsis", "return if any signs of sepsis".

    Example:
        >>> words = "urgent review or 999 if fever loin pain possible kidney infection or sepsis".split()
        >>> _safety_net(words, 11, []), _safety_net(["sepsis", "if", "lactate", "high"], 0, [])
        (True, False)
        >>> _safety_net("advised stop running safety-net re chest pain fainting".split(), 7, [])
        True
        >>> words = "attend triage with reduced fetal movements bleeding or abdominal pain".split()
        >>> _safety_net(words, 8, [])
        True
    """
    for i in range(first - 1, -1, -1):
        if any(i < s < first for s in stops):
            return False
        if words[i] == "if":
            return not _RETURN_WORDS.isdisjoint(words[max(0, i - 6) : i])
        # "Attend triage with reduced fetal movements, bleeding or abdominal pain"
        if words[i] == "with" and not _ATTEND_WORDS.isdisjoint(words[max(0, i - 3) : i]):
            return True
        # "safety-net re chest pain, fainting": what the advice lists, up to the sentence's end
        if words[i] in _NET_WORDS and (words[i].startswith("safety") or (i > 0 and words[i - 1] == "safety")):
            return True
    return False


_CONSENT_BEFORE = re.compile(
    r"\b(?:consent(?:ed)?(?:\s+(?:discussed|taken|obtained|signed|given))?|(?:risks|complications)\s+"
    r"(?:discussed|explained|explained\s+and\s+discussed))\s*[:(]",
    re.I,
)
_ATTEND_WORDS = frozenset({"attend", "reattend", "re-attend", "return", "represent", "re-present"})
_NET_WORDS = frozenset({"safety-net", "safety-netting", "safety-netted", "net", "netting", "netted"})


def _operation_to_come(words: list[str], first: int, before: Callable[..., bool]) -> bool:
    """``for elective total hip replacement``: an operation still to come, but not the condition it is
    for (``listed for knee replacement for osteoarthritis``)."""
    if not before(_PRE_OPERATION, 4):
        return False
    ends = sorted(j for i, j in _phrases(words, _PRE_OPERATION) if i < first)
    return bool(ends) and "for" not in words[ends[-1] : first]


# "electric shock-like pain", "flu-like illness": what the pain or illness is like, not what it is
_LIKENESS = re.compile(r"\s?-\s?like\b", re.I)
# '"electric shock" pain', "'burning' sensation": the patient's words for what a pain feels like
_QUOTED_KIND = re.compile(r"[\"”'’]\s*(?:pains?|sensations?|feelings?|type)\b", re.I)


def _quoted_likeness(text: str, start: int, end: int) -> bool:
    """Whether the mention at ``text[start:end]`` is quoted words for what a pain feels like.

    Example:
        >>> text = 'sudden "electric shock" pain in the cheek'
        >>> _quoted_likeness(text, 8, 22), _quoted_likeness("shingles pain", 0, 8)
        (True, False)
    """
    return 0 < start <= len(text) and text[start - 1] in "\"“'‘" and _QUOTED_KIND.match(text, end) is not None


def _tested_negative(words: list[str], last: int, after: Callable[[tuple[str, ...], int], bool]) -> bool:
    """``hepatitis A IgG negative``: a test's name within two words of the finding, then its result."""
    test = next((i for i in range(last + 1, min(last + 3, len(words))) if words[i] in _TEST_WORDS), None)
    # "TB symptom review negative"
    if test is None and words[last + 1 : last + 2] == ["symptom"] and last + 2 < len(words):
        test = last + 2 if words[last + 2] in _SYMPTOM_CHECKS else None
    return test is not None and after(_NEXT_NEGATION, test - last + 1)


def _listed_negative(words: list[str], last: int, after: Callable[[tuple[str, ...], int], bool]) -> bool:
    """``HBV/HCV/HIV negative``, ``HBV and HCV serology negative``: a finding among a run of tests'
    short names (five letters at most), joined by "and" or "or" and ending in a negative result.

    Example:
        >>> def after(phrases, window):
        ...     return any(w in phrases for w in words[last + 1 : last + 1 + window])
        >>> words, last = "hbv hcv hiv negative".split(), 0
        >>> _listed_negative(words, last, after)
        True
        >>> words, last = "hiv and hepatitis c negative".split(), 0
        >>> _listed_negative(words, last, after)
        True
        >>> words, last = "hbv dna 68 000 iu ml".split(), 0
        >>> _listed_negative(words, last, after)
        False
    """
    end = last + 1
    while end < len(words) and end - last <= _LIST_REACH and _listed_test(words[end]):
        end += 1
    return end > last + 1 and end < len(words) and after(_NEXT_NEGATION, end - last)


_LIST_REACH = 6
# a result after a test's name: "coeliac serology positive", "HBV DNA 68 000", "HIV antibody reactive"
_POSITIVE_RESULTS = frozenset(
    {"positive", "pos", "ve", "reactive", "detected", "raised", "elevated", "high", "weakly", "strongly"}
)


def _test_ordered(words: list[str], last: int) -> bool:
    """``coeliac serology sent``, ``Lyme serology awaited``: the finding names a test, with no result
    read after it (a number or a positive word); a negative one negates it before this is asked.

    Example:
        >>> _test_ordered("coeliac serology sent today".split(), 0)
        True
        >>> _test_ordered("coeliac serology positive".split(), 0), _test_ordered("hbv dna 68 000".split(), 0)
        (False, False)
    """
    test = next(
        (i for i in range(last + 1, min(last + 3, len(words))) if words[i] in _TEST_WORDS - {"ab", "ag"}),
        None,
    )
    if test is None:
        return False
    result = words[test + 1 : test + 4]
    return not any(w in _POSITIVE_RESULTS or w[:1].isdigit() for w in result)


# a list of tests sent: "pre-biologic screening sent (QuantiFERON, HBV, HCV, HIV", "STI screen including
# chlamydia, gonorrhoea", "Bloods sent: FBC, U&E, LFT, HIV"
_TEST_LIST_OPEN = re.compile(
    r"\b(?:screen(?:ing)?|serology|bloods|blood\s+tests|tests|investigations|work-?up|panel)\b"
    r"(?P<verb>(?:\s+[\w'-]+){0,3}?)\s*(?P<open>\(|:|\bincl(?:uding|\.)?\b)(?P<items>[^()]*)$",
    re.I,
)
_ORDERED = re.compile(
    r"\b(?:sent|send|requested|ordered|taken|pending|awaited|arranged|checked|check)\b", re.I
)


def _listed_for_testing(before: str, sentence: str, mention: str = "") -> bool:
    """Whether the text ``before`` a mention opens a list of tests it belongs to: short items with no
    results (no digits or positive words, in the items or the ``mention``); after a colon only where
    the sentence says the tests were sent or ordered.

    Example:
        >>> _listed_for_testing("Pre-biologic screening sent (QuantiFERON, HBV, ", "")
        True
        >>> _listed_for_testing("Foot screening: ", "Foot screening: ulcer L heel.")
        False
        >>> _listed_for_testing("bowel screening programme (", "", "positive FIT")
        False
        >>> _listed_for_testing("Bloods: Hb 98, ferritin 6, ", "Bloods: Hb 98, coeliac screen sent.")
        False
        >>> said = "Co-test taken at routine screening: "
        >>> _listed_for_testing(said, said + "ASC-US.")
        False
    """
    m = _TEST_LIST_OPEN.search(before)
    if (
        m is None
        or any(c.isdigit() for c in m["items"])
        or not _POSITIVE_RESULTS.isdisjoint(re.findall(r"[a-z]+", (m["items"] + " " + mention).lower()))
    ):
        return False
    # (sent after the list or in its opening words: "co-test taken at routine screening: ASC-US" gives a
    # result)
    if (
        m["open"] == ":"
        and _ORDERED.search(m["verb"]) is None
        and _ORDERED.search(sentence[len(before) :]) is None
    ):
        return False
    items = re.split(r",|/|\band\b|\bor\b", m["items"])
    return all(len(item.split()) <= 4 for item in items)


def _listed_test(word: str) -> bool:
    """A word that may stand between a test's name and its result in a list of tests."""
    return (
        word in ("and", "or", "anti")
        or word in _TEST_WORDS
        or word in _INFECTION_TESTS
        or (
            len(word) <= 5
            and word.isalnum()
            and not word.isdigit()
            and word not in _NEXT_NEGATION
            and word not in _NOT_A_TEST
        )
    )


# longer names in a list of infection tests: "HIV and hepatitis C negative"
_INFECTION_TESTS = frozenset(
    {
        "hepatitis",
        "syphilis",
        "chlamydia",
        "gonorrhoea",
        "gonorrhea",
        "rubella",
        "toxoplasma",
        "trichomonas",
        "influenza",
        "covid",
        "coronavirus",
        "mycoplasma",
        "legionella",
        "norovirus",
        "rotavirus",
    }
)
# short words that end a list of tests: "HIV on ART with VL undetectable" is no negative HIV test
_NOT_A_TEST = frozenset(
    {"on", "with", "is", "was", "the", "a", "an", "to", "of", "in", "at", "for", "by", "but", "off",
     "work", "up"}
)  # fmt: skip
# what a symptom enquiry is called when its result follows: "TB symptom review negative"
_SYMPTOM_CHECKS = frozenset({"review", "check", "enquiry"})


def _time_ago(words: list[str], last: int) -> bool:
    """``pneumonia 5 years ago``: an episode placed in the past by "... ago" right after its mention.

    Example:
        >>> _time_ago(["pneumonia", "5", "years", "ago"], 0), _time_ago(["pain", "for", "5", "days"], 0)
        (True, False)
        >>> _time_ago("wrist fracture after a fall from standing 6 months ago".split(), 1)
        True
        >>> _time_ago("back pain that started 3 months ago".split(), 1)
        False
        >>> _time_ago("had a heart attack last year".split(), 3)
        True
        >>> _time_ago("hypertension treated since last year".split(), 0)
        False
    """
    tail = words[last + 1 : last + 9]
    if _dates_the_diagnosis(tail):
        return False
    near = words[last + 1 : last + 5]
    if any(w == "last" and near[i + 1 : i + 2] == ["year"] for i, w in enumerate(near)):
        return not _ONGOING.intersection(near)  # "a heart attack last year", not "... since last year"
    if "ago" not in tail:
        return False
    tail = tail[: tail.index("ago") + 1]
    if len(tail) > 4 and _ONGOING.intersection(tail):
        return False  # "back pain that started 3 months ago" is still there
    return any(w in ("year", "years", "month", "months", "decade", "decades") for w in tail)


# Words that make a wider "... ago" the start of what goes on: "started", "since", "worse".
_ONGOING = frozenset(
    {
        "started",
        "start",
        "began",
        "begun",
        "since",
        "onset",
        "first",
        "worse",
        "worsening",
        "for",
        "which",
        "that",
    }
)


# "Parkinson's disease diagnosed 6 months ago", "type 2 diabetes diagnosed in 2019": the date is when the
# condition was found, which the patient still has
_DIAGNOSED = frozenset({"diagnosed", "dx", "detected", "identified", "confirmed"})


def _dates_the_diagnosis(tail: list[str]) -> bool:
    """True when the words after a mention date its diagnosis, not a past episode.

    Example:
        >>> _dates_the_diagnosis(["diagnosed", "6", "month", "ago"])
        True
        >>> _dates_the_diagnosis(["5", "years", "ago"])
        False
    """
    return bool(tail) and (tail[0] in _DIAGNOSED or (tail[0] == "first" and tail[1:2] == ["diagnosed"]))


_PER = frozenset({"day", "d", "daily", "ppd", "pd", "cpd", "week", "wk", "weekly"})


def _rate_after(words: list[str], last: int) -> bool:
    """``Smoker 10/day``, ``smokes 1 ppd``, ``drinks 30 units/week``: a habit given a current rate.

    Example:
        >>> _rate_after(["smoker", "10", "day"], 0), _rate_after(["smokes", "20", "a", "day"], 0)
        (True, True)
        >>> _rate_after(["smoker", "40", "pack", "year"], 0)
        False
    """
    tail = words[last + 1 : last + 6]
    return bool(tail) and tail[0].isdigit() and any(w in _PER for w in tail[1:4])


_STILL_SAID = frozenset(
    {"since", "has", "have", "now", "still", "ongoing", "currently", "continues", "persisting"}
)


def _past_year(word: str) -> bool:
    """A year before this one, as a word."""
    return _YEAR.fullmatch(word) is not None and int(word) < dt.date.today().year


def _dated_before(words: list[str], first: int, commas: list[int], stops: list[int]) -> bool:
    """What came with a past event ("DKA once in 2019 with gastroenteritis"), or ``in 2019`` or
    ``during 2019`` within eight words before the mention, in its clause: "Dizzy spells in 2019 were
    diagnosed as BPPV".

    Example:
        >>> _dated_before("dizzy spells in 2019 were diagnosed as bppv".split(), 7, [], [])
        True
        >>> _dated_before("since 2019 on treatment for bppv".split(), 5, [], [])
        False
    """
    if first >= 2 and words[first - 1] in ("with", "after", "following") and _past_year(words[first - 2]):
        return True
    if not _STILL_SAID.isdisjoint(words[max(0, first - 11) : first]):
        return False  # "since the fall in 2024 she has had back pain"
    return any(
        words[i] in ("in", "during")
        and _past_year(words[i + 1])
        and not any(i <= c < first for c in (*commas, *stops))
        for i in range(max(0, first - 8), first - 1)
    )


# words between a mention and a year that are not the rest of its name: "diabetes since 2019",
# "HTN and CKD 2019"
_NOT_A_NAME_WORD = frozenset(
    {"and", "or", "since", "from", "in", "during", "until", "till", "dx", "diagnosed", "onset", "on", "at"}
)


def _dated_in_past(words: list[str], last: int) -> bool:
    """``myocardial infarction in 2019``, ``MI 2020``, ``DKA admission in March``: an event dated by a
    year or a month right after its mention.

    ``since 2019`` names an onset of something still present, so only ``in``/``during`` or a bare
    year before this one count.

    Example:
        >>> _dated_in_past(["mi", "2020"], 0), _dated_in_past(["diabetes", "since", "2019"], 0)
        (True, False)
        >>> _dated_in_past(["diabetes", "diagnosed", "in", "2019"], 0)
        False
        >>> _dated_in_past("dka admission in march".split(), 0)
        True
        >>> _dated_in_past("miscarriage at 8 weeks in 2020".split(), 0)
        True
    """
    # ("one miscarriage at 8 weeks in 2020": a date a few words on)
    tail = words[last + 1 : last + 7]
    if _dates_the_diagnosis(tail[:3]):
        return False
    if tail and _past_year(tail[0]):
        return True
    # "early miscarriage at 8 weeks 2022"
    if len(tail) > 3 and tail[0] == "at" and tail[1].isdigit() and _past_year(tail[3]):
        return True
    # the rest of the name first: "Diabetic ketoacidosis 2019"
    if len(tail) > 1 and tail[0].isalpha() and tail[0] not in _NOT_A_NAME_WORD and _past_year(tail[1]):
        return True
    return any(
        w in ("in", "during")
        and i + 1 < len(tail)
        and (_YEAR.fullmatch(tail[i + 1]) is not None or tail[i + 1] in _MONTHS)
        for i, w in enumerate(tail)
    )


_YEAR = re.compile(r"(?:19|20)\d\d")
_MONTHS = frozenset(
    {
        *("january", "february", "march", "april", "may", "june", "july", "august"),
        *("september", "october", "november", "december"),
        *("jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"),
    }
)


_QUIT = frozenset({"quit", "stopped", "ceased", "abstinent", "sober"})
_WANTS = frozenset({"to", "not", "never", "will", "cannot", "failed", "trying", "wants", "planning"})


def _quit_after(words: list[str], last: int) -> bool:
    """``smoking, quit 2010``: a habit stopped, said right after its mention.

    A wish or a try is no stop: "smoker, wants to quit", "smokes, trying to quit", "2 quit attempts".

    Example:
        >>> _quit_after(["smoking", "quit", "2010"], 0), _quit_after(["smoker", "wants", "to", "quit"], 0)
        (True, False)
        >>> _quit_after(["smoker", "quit", "attempts", "x2"], 0), _quit_after(["alcohol", "gave", "up"], 0)
        (False, True)
        >>> _quit_after(["smoked", "20", "day", "until", "2005"], 0)
        True
    """
    tail = words[last + 1 : last + 4]
    # "Smoked 20/day until 2005": a habit kept up to a year gone by
    until = next((i for i, w in enumerate(words[last + 1 : last + 5]) if w == "until"), None)
    if until is not None and last + until + 2 < len(words) and _YEAR.fullmatch(words[last + until + 2]):
        return True
    for i, w in enumerate(tail):
        stop = w in _QUIT or (w == "gave" and i + 1 < len(tail) and tail[i + 1] == "up")
        if not stop:
            continue
        before = tail[i - 1] if i else ""
        after = tail[i + 1] if i + 1 < len(tail) else ""
        return is_a_stop(before, after)
    return False


def is_a_stop(before: str, after: str) -> bool:
    """Whether "quit" (or "stopped", "gave up") between these two words says the habit stopped.

    A wish, a try or a plan is no stop: "wants to quit", "trying to quit", "quit attempts", "quit date".

    Example:
        >>> is_a_stop("smoking", "2010"), is_a_stop("to", ""), is_a_stop("", "attempts")
        (True, False, False)
    """
    return before.lower() not in _WANTS and not after.lower().startswith(("attempt", "date", "line", "plan"))

"""Scored chunks -> recommendations per code: verbatim, cited, ranked, checked. No text is generated.

Ranking of a snippet for a predicted code (all features in [0, 1]):

    score = w_retrieval * retrieval + w_topic * topic + w_facts * facts + w_prediction * prediction
            + w_action * action

* ``retrieval``: the snippet's best rank over the code's aspect queries (each itself a reciprocal-rank
  fusion of dense and BM25 ranks), as ``weight_aspect / (aspect_rank_k + rank)`` and divided by the
  best value among the code's candidates. The best rank, not the sum over aspects, so the top passage
  of the treatment query beats a generic passage that every aspect ranks in the middle
  (``aspect_fusion="rrf"`` sums instead);
* ``topic``: how fully the guideline's title and Disease/Condition(s) field name the condition: the
  largest share of one of its names' distinctive words found there (:func:`topic_coverage`; names are
  the catalogue title, the category title, short inclusion terms and clinical synonyms), so a guideline
  *about* the condition outranks a passing mention, and a condition with many names is not penalised
  for them;
* ``facts``: share of the query's patient facts whose terms appear in the snippet (these matched facts
  are shown to the clinician);
* ``prediction``: the code's predicted confidence (it orders codes, and ties between codes' snippets);
* ``action``: 1 for a formal recommendation (a strength rating, "recommends", "Recommendation 3",
  "should be offered"), 0.5 for other action wording, 0 for passages that report evidence
  (:func:`action_strength`), so statements outrank background and evidence summaries.

Aspects count in the retrieval feature by their template ``weight`` (treatment and targets above
diagnosis), since at the point of care what to do matters most.

The sum is then scaled by a **section prior**: ``0.4 + 0.6 * prior`` where ``prior`` is 1 for
recommendation statements and for sections of unknown kind, and lower for the parts of a guideline
summary that describe methods, rating schemes or the scope rather than recommend
(:data:`SECTION_PRIORS`), so a rating-scheme table never outranks a recommendation; headings inside
a recommendations section that hold evidence summaries, background or rating definitions lower it
further (:data:`SUBSECTION_PRIORS`); the clearinghouse's editorial note that opens many summaries'
recommendations (:func:`is_editorial_note`) has it halved. For a diagnosis the patient carries (any
code outside the symptom and encounter chapters, :data:`WORKUP_CHAPTERS`), a passage about finding
the condition, under a heading such as "Home Sleep Apnea Testing for the Diagnosis of OSA" or from a
screening or diagnosis guideline (:func:`is_diagnostic`), has its score scaled by
``diagnostic_factor`` after the ``min_score`` check below: the diagnosis is made, and what to do now
matters more than how it was found, yet where a screening guideline is all the index has on a
condition its passages are still shown. So has a passage of a guideline about preventing the
condition (:func:`prevented_condition`: "Prevention of type 2 diabetes" for a patient with diabetes,
"Venous thromboembolism in adults admitted to hospital: reducing the risk" for one with a DVT).
A passage from a guideline that is not about the condition (no name of it in full) is scaled by
``off_topic_factor`` unless an aspect marked ``cross_guideline`` in the templates (cardiovascular
risk, patients like this one) retrieved
it *and* the guideline is about another of the patient's conditions or facts: statins for a patient
with diabetes and a raised LDL sit in the cholesterol guideline; first-line asthma treatment does
not sit in the COPD guideline, and an atrial fibrillation guideline says nothing to a patient
without atrial fibrillation. Names that differ from a sibling's by one letter or number
(:func:`designators`: hepatitis B and C, type 1 and 2 diabetes, vitamin D and B12) are told apart:
a guideline naming only a sibling is not about the condition, even where a broader name ("chronic
viral hepatitis") is there in full, and in a guideline not about the condition alone a passage naming
only a sibling counts as off topic (:func:`names_a_sibling`). Nor is a guideline about the condition
when it names a word of the condition's own title only negated ("Non-alcoholic fatty liver disease"
for alcoholic cirrhosis, though it names cirrhosis; :func:`names_only_negated`); "non-X" never names X.
A passage whose opening (its headings and first words), or whose guideline's title when the passage
does not name the patient's subtype, names the other subtype of the patient's condition counts as off
topic too (:func:`names_other_subtype`: heart failure with preserved ejection fraction for a patient
with reduced, hospital-acquired pneumonia for community-acquired; the code's title, or else the
notes, say which).

Guidelines written for another population than the patient's (children, pregnancy, one sex, the ages a
title names) are dropped before ranking (:func:`population_conflict`); in a guideline for several
populations, a passage addressed to another one than the patient's ("Treat all pregnant or postpartum
women ..." for a man, "In children aged 5-11 ..." for an adult; :func:`passage_population_conflict`), or
one under a heading for another one ("Interventions for Children and Young People";
:func:`heading_population`), is scaled by ``passage_population_factor``; so is every passage of a
guideline whose title writes it for people with a condition the patient does not have ("... in people
with chronic kidney disease", "... in patients with cancer" for a patient without it;
:func:`written_for_others`), and every passage under a heading or in a guideline for a cancer that has
spread when the patient's has not ("Metastatic Prostate Cancer > Treatment" for localised prostate
cancer; :func:`for_another_stage`), and every passage that opens addressed to asymptomatic patients
when the notes call the patient's condition symptomatic (:func:`says_symptomatic`). Dropped too are
passages for which neither the passage nor its guideline's title and conditions name the condition
(one of its names in full), passages that are the guideline's title alone (:func:`is_title_only`) or
headings and a placeholder ("Potential Harms Not stated", "Definitions:", "The evidence grades ...
are defined at the end of the field"; :func:`is_empty_passage`), and passages scoring below
``min_score``, since no evidence is better than evidence about something else.
Maximal marginal relevance then picks the final snippets: a passage close to one already shown counts
less, and past ``max_per_doc`` passages of one guideline a further one counts at ``over_cap_factor``
of its score, so one guideline does not fill every slot, yet its fifth statement still beats a far
weaker passage of another guideline (a traditional Chinese medicine list for migraine, organ donor
testing for hepatitis C). ``doc_decay`` (1.0, off, by default) can further scale each further passage of a
guideline already shown; on all three case sets (development and both held-out sets) a decay of 0.8
lowered both key recall and precision, since the best statements on a condition often sit in one
guideline. Before output every snippet is compared with its document's
canonical text at its char span (:func:`verify_snippets`); a mismatch is dropped and logged, and the
counts go into the report.

Example:
    >>> from garmle.types import Document, Snippet
    >>> doc = Document(doc_id="d", title="T", text="Treat to <140/90.")
    >>> s = Snippet(text="Treat", doc_id="d", chunk_id="d:0", title="T", char_start=0, char_end=5, score=1.0)
    >>> kept, check = verify_snippets([s], {"d": doc})
    >>> check.checked, check.failed
    (1, 0)
"""

from __future__ import annotations

import logging
import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from garmle.ingest.ngc import includes_pregnancy_alongside, names_sex_as_subgroup
from garmle.retrieval import Hit, mmr_select, rrf_fuse
from garmle.spelling import american_spelling
from garmle.types import Chunk, CodePrediction, Document, Patient, Recommendation, Snippet, VerbatimCheck

__all__ = [
    "ANYONE",
    "DIAGNOSTIC_HEADING",
    "READING_VERSION",
    "SECTION_PRIORS",
    "SUBSECTION_PRIORS",
    "WORKUP_CHAPTERS",
    "Designator",
    "FusionWeights",
    "PassagePopulation",
    "TopicIndex",
    "about_another",
    "action_strength",
    "addressed_conditions",
    "addressed_ethnicity",
    "addresses_older_people",
    "conditions_of",
    "covered_conditions",
    "designators",
    "drug_not_taken",
    "for_another_stage",
    "guideline_conditions",
    "heading_population",
    "is_about_finding",
    "is_diagnostic",
    "is_editorial_note",
    "is_empty_passage",
    "is_title_only",
    "match_facts",
    "names_a_sibling",
    "names_only_itself",
    "names_only_negated",
    "names_only_siblings",
    "passage_age_bounds",
    "passage_population",
    "passage_population_conflict",
    "passage_populations",
    "population_conflict",
    "prevented_condition",
    "rank_snippets",
    "says_symptomatic",
    "section_prior",
    "snippet_from_chunk",
    "topic_coverage",
    "topic_names",
    "verify_snippets",
    "written_for_others",
]

log = logging.getLogger(__name__)

_PEDIATRIC = re.compile(
    r"\b(child|children|childhood|pediatric|paediatric|infants?|neonat\w*|newborns?|adolescents?|"
    r"toddlers?|preterm|school-age|youth|boys|girls)\b",
    re.I,
)
_ADULT = re.compile(
    r"\b(adults?|older (adults|people|persons|patients)|elderly|women|men|"
    r"(aged |age )?(1[6-9]|[2-9]\d)( years)? (of age )?(and|or) (older|over)|over (1[6-9]|[2-9]\d)s)\b",
    re.I,
)
# In a passage, the adults it is addressed to, not those around a child: "involve a parent, carer or
# other adult known to the child" is still a passage for children
_ADULT_ADDRESSED = re.compile(r"(?<!other )(?<!another )" + _ADULT.pattern, re.I)
_PREGNANCY = re.compile(
    r"\b(pregnan\w*|antenatal|prenatal|antepartum|intrapartum|postpartum|obstetric\w*|gestation\w*|"
    r"labou?r and delivery|preeclampsia|pre-eclampsia|eclampsia|fetal|fetus)\b",
    re.I,
)
_ALONGSIDE = re.compile(r"\b(?:including|includ\w+)\b.*$|\bpregnant (?:women|woman)\b", re.I)
_TITLE_WOMEN = re.compile(r"\b(women|woman|female|females|girls)\b", re.I)  # "mothers and infants" is no sex
_WOMEN = re.compile(r"\b(women|woman|female|females|girls|mothers?)\b", re.I)
_MEN = re.compile(r"\b(men|man|male|males|boys)\b", re.I)
_ACTION = re.compile(
    r"\b(recommends?|recommended|should|suggests?|offer|initiate|start|consider|is indicated|"
    r"treat(ed)? with|goal|target)\b",
    re.I,
)
_STATEMENT = re.compile(
    r"\b(recommends?|recommendations? \d+|we recommend|is recommended|are recommended|key action statement|"
    r"strong(ly)? recommend\w*|should be (offered|prescribed|started|initiated|used|treated|considered))\b",
    re.I,
)
_EVIDENCE = re.compile(
    r"\b(studies|trials?|meta-analys[ie]s|systematic review|evidence (showed|shows|suggests)|"
    r"were (more|less) effective|was associated|were associated|randomi[sz]ed)\b",
    re.I,
)
_NON_PREGNANT = re.compile(r"\b(non-?pregnant|not pregnant|general population|all adults)\b", re.I)


SECTION_PRIORS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"^(major )?recommendations?\b|^key recommendations|^summary of recommendations", re.I), 1.0),
    (re.compile(r"clinical algorithm|contraindications|fda warning|regulatory alert", re.I), 0.6),
    (re.compile(r"potential (benefits|harms)|qualifying statements|implementation", re.I), 0.4),
    (
        re.compile(
            r"rating scheme|type of evidence|interventions and practices considered|"
            r"major outcomes considered|disease/condition|target population|guideline objective|"
            r"methods? used|description of (the )?method|cost analysis|bibliographic|"
            r"adaptation|date released|"
            r"funding|availability|copyright|references",
            re.I,
        ),
        0.0,
    ),
)
"""Section-title patterns of guideline summaries and how much they recommend (first match wins)."""

SUBSECTION_PRIORS: tuple[tuple[re.Pattern[str], float], ...] = (
    (
        re.compile(
            r"^(definitions?|abbreviations|footnotes?)\b|strength of (the )?recommendations?|"
            r"(levels?|quality|grad\w*|classification) of (the )?(evidence|certainty|recommendations?)|"
            r"levels? of certainty|rating (scheme|system)|grades? of recommendations?|criteria for "
            r"recommendation|rules for classification|assigning a level|relative radiation level|"
            r"(table of )?evidence levels|grading (table|system)|^target population|"
            r"^gaps in (knowledge|evidence)",
            re.I,
        ),
        0.0,
    ),
    (
        re.compile(
            r"summary of (the )?(literature|evidence)|literature review|^discussion\b|^overview\b|"
            r"^introduction|^background|clinical considerations?$|^assessment of risk|"
            r"^suggestions for practice|^other considerations|^useful resources|^additional approaches|"
            r"^research (needs|gaps)|^rationale\b|^(supporting )?evidence\b|"
            # what services and staff should do, not what to do for the patient
            r"^(system,? |policy,? )?organi[sz]ation(al requirements|,? and (system )?polic|"
            r"( and| of) (care|services|delivery))|^(policy|system),? organi[sz]ation|"
            r"^service organi[sz]ation|^education recommendations|"
            r"^(staff )?training( and (skills|education))?$|^health[- ]care policy|"
            r"^developing and establishing systems",
            re.I,
        ),
        0.5,
    ),
)
"""Headings *inside* a recommendations section that hold no statement: rating definitions (0) and
evidence summaries, background and practice considerations, and what services, educators and staff
should do ("Organization and Policy Recommendations", "Service Organisation": 0.5). In the 1,416 NGC
summaries the largest of these are "Summary of Literature Review" (about 6,000 chunks),
"Definitions", the imaging "Discussion of procedures by variant" and the USPSTF "Clinical
Considerations"; the lowest prior of any heading below the top one applies."""


def is_title_only(chunk: Chunk) -> bool:
    """True when a passage is nothing but its document's title: it retrieves well for the condition
    and tells the clinician nothing the citation does not.

    Example:
        >>> from garmle.types import Chunk
        >>> title = "Management of obstructive sleep apnea in adults."
        >>> is_title_only(Chunk("c:0", "c", title, 0, 48, metadata={"title": title}))
        True
        >>> is_title_only(Chunk("c:1", "c", "CPAP is first-line.", 49, 68, metadata={"title": title}))
        False
    """
    title = chunk.metadata.get("title", "")
    return bool(title) and _title_words(title).fullmatch(chunk.text.lower()) is not None


@lru_cache(maxsize=4096)
def _title_words(title: str) -> re.Pattern[str]:
    """A text whose words are the title's, in order, whatever lies between them (built once per
    guideline; a passage that is not the title fails at its first other word, not after a full scan)."""
    words = re.findall(r"\w+", title.lower())
    return re.compile(r"\W*" + r"\W+".join(map(re.escape, words)) + r"\W*")


_PLACEHOLDER = re.compile(
    r"(?:differences? of opinions?\s*)?(?:none(?: provided| available| stated| identified)?|"
    r"not (?:stated|provided|available|applicable)|n/?a|definitions?)",
    re.I,
)


# one sentence sending the reader elsewhere: "See Table 8 in the original guideline document for ..."
_POINTER = re.compile(
    r"(?:see|refer to)\b[^.]*\b(?:original guideline|full version|table|figure|appendix|annex|section|"
    r"field)\b[^.]*\.?",
    re.I,
)


# "The evidence grades (A-D, X) and ... are defined at the end of the "Major Recommendations" field."
_DEFINED_ELSEWHERE = re.compile(
    r"[^.]*\b(?:is|are)\s+(?:defined|described|explained|listed|provided|presented)\b[^.]*"
    r"\b(?:field|section|document|table|appendix)\b[^.]*\.?",
    re.I,
)
_TOP_HEADING = re.compile(r"^\s*(?:Major|Key)?\s*Recommendations\b", re.I)
# the names of the clinical algorithms of the original document, which the passage does not hold
_ALGORITHM_LIST = re.compile(
    r"\s*(?:Clinical Algorithm\(s\)\s*)?The following (?:clinical )?algorithms? (?:is|are) provided in the "
    r"original guideline document\b",
    re.I,
)


def is_empty_passage(chunk: Chunk) -> bool:
    """True when a passage holds nothing but its headings and a placeholder ("Clinical Algorithm(s)
    None provided", "Potential Harms Not stated", "Definitions:"), the names of the original document's
    clinical algorithms ("The following clinical algorithms are provided in the original guideline
    document: ..."), one sentence sending the reader
    elsewhere ("See Table 8 in the original guideline document for the stages of valvular AS."), or
    fewer than three words besides its headings ("Medical Therapy", "Disease/Condition(s)
    Hypertension"): 2,378 of the 54,822 NGC passages, which say nothing to a clinician that the
    citation does not.

    Example:
        >>> from garmle.types import Chunk
        >>> text = "Clinical Algorithm(s)\\n\\nNone provided"
        >>> is_empty_passage(Chunk("c:9", "c", text, 0, len(text), section=("Clinical Algorithm(s)",)))
        True
        >>> text = "Clinical Algorithm(s)\\n\\nThe following clinical algorithms are provided in the "
        >>> text += "original guideline document:\\n\\n- Management of ..."
        >>> is_empty_passage(Chunk("c:7", "c", text, 0, len(text)))
        True
        >>> text = "Tinnitus.\\n\\nMajor Recommendations\\n\\nThe evidence grades (A-D, X) are defined at "
        >>> text += 'the end of the "Major Recommendations" field.'
        >>> is_empty_passage(Chunk("c:0", "c", text, 0, len(text), metadata={"title": "Tinnitus."}))
        True
        >>> text = "Potential Harms\\n\\nHypoglycaemia with sulfonylureas"
        >>> is_empty_passage(Chunk("c:8", "c", text, 0, len(text), section=("Potential Harms",)))
        False
    """
    rest = chunk.text
    for heading in chunk.section:
        rest = rest.replace(heading, " ", 1)
    if _ALGORITHM_LIST.match(rest):
        return True
    if len(chunk.text) > 300:
        return False
    words = re.findall(r"[\w/]+", rest)
    # the guideline's title and top heading over a note on where its grades are defined
    bare = _TOP_HEADING.sub(" ", rest.replace(chunk.metadata.get("title", "") or "\0", " ", 1)).strip()
    return (
        len(words) < 3
        or _PLACEHOLDER.fullmatch(" ".join(words)) is not None
        or _POINTER.fullmatch(rest.strip()) is not None
        or (bool(bare) and _DEFINED_ELSEWHERE.fullmatch(bare) is not None)
    )


_EDITORIAL_FACTOR = 0.5  # the section prior's factor for an editorial note (is_editorial_note)
_EDITORIAL_NOTE = re.compile(r"\bNote from the National Guideline Clearinghouse\b")
# a footnote on a drug's licence ("2 At the time of publication (May 2013) phenelzine did not have a UK
# marketing authorisation for use in adults with social anxiety disorder. The prescriber should ...")
_LICENCE_NOTE = re.compile(r"\s*(?:\d{1,2}|[*†‡])?\s*At the time of publication\b")


def is_editorial_note(chunk: Chunk) -> bool:
    """True when a passage opens with the clearinghouse's note on the guideline (who developed it,
    how its wording reads: "the wording used in the recommendations (for example words such as
    'offer' and 'consider') ..."), which opens 265 of the 54,822 NGC passages and recommends
    nothing itself; or with a footnote on a drug's licence ("At the time of publication ..., X did
    not have a UK marketing authorisation for this indication"), which opens 39.

    Example:
        >>> from garmle.types import Chunk
        >>> text = "Major Recommendations Note from the National Guideline Clearinghouse (NGC): ..."
        >>> is_editorial_note(Chunk("c:0", "c", text, 0, len(text)))
        True
        >>> text = "3At the time of publication (November 2013), amitriptyline did not have a UK ..."
        >>> is_editorial_note(Chunk("c:0", "c", text, 0, len(text)))
        True
    """
    found = _EDITORIAL_NOTE.search(chunk.text, 0, 400)
    return (found is not None and found.start() < 250) or _LICENCE_NOTE.match(chunk.text) is not None


# the supporting profile an action statement comes with (the AAO-HNS and AAP style): "Action Statement
# Profile - Quality improvement opportunity: ...", "- Value judgments: ...", "- Risks, harms, costs: ..."
_STATEMENT_PROFILE = re.compile(
    r"\s*(?:Action Statement Profile\b|[-•]\s*(?:Aggregate evidence quality|Level of confidence in evidence|"
    r"Benefits?|Risks?, harms?, costs?|Harms?|Costs?|Benefit-harm assessment|Value judgments?|"
    r"Intentional vagueness|Role of patient preferences|Exclusions?|Policy level|Differences of opinion)"
    r"\s*:)"
)


def is_statement_profile(chunk: Chunk) -> bool:
    """True when a passage opens with the profile that supports an action statement (its evidence
    quality, benefits and harms, value judgments), not with the statement: 330 of the 54,822 NGC
    passages, in 18 guidelines, open so.

    Example:
        >>> from garmle.types import Chunk
        >>> text = "- Value judgments: The panel placed heavy value in the accuracy of the diagnosis."
        >>> is_statement_profile(Chunk("c:4", "c", text, 0, len(text)))
        True
        >>> text = "Statement 6: Clinicians should not routinely treat BPPV with vestibular suppressants."
        >>> is_statement_profile(Chunk("c:5", "c", text, 0, len(text)))
        False
    """
    return _STATEMENT_PROFILE.match(chunk.text) is not None


def action_strength(chunk: Chunk) -> float:
    """How plainly a passage tells the clinician what to do.

    1.0 for a formal recommendation (a strength rating, "recommends", "Recommendation 3", "key action
    statement", "should be offered"), 0.5 for other action wording ("consider", "target", "start") unless
    the passage reports evidence (studies, trials, "were more effective"), 0 otherwise.

    Example:
        >>> from garmle.types import Chunk
        >>> c = lambda t: Chunk("c:0", "c", t, 0, len(t))
        >>> action_strength(c("ACP recommends metformin.")), action_strength(c("Consider metformin."))
        (1.0, 0.5)
        >>> action_strength(c("Combination therapies were more effective; consider them."))
        0.0
    """
    if chunk.metadata.get("strength") or _STATEMENT.search(chunk.text):
        return 1.0
    if _ACTION.search(chunk.text) and not _EVIDENCE.search(chunk.text):
        return 0.5
    return 0.0


DIAGNOSTIC_HEADING = re.compile(r"diagnos|screening|case finding|detection|\bsuspected\b", re.I)
"""Words of a heading or title about finding a condition: diagnosis, screening, case finding,
detection, suspicion."""

_TREATMENT_HEADING = re.compile(r"treat|manag|therap", re.I)

WORKUP_CHAPTERS = ("R", "Z")
"""ICD-10-CM chapters whose codes are no diagnosis the patient carries: symptoms, signs and abnormal
findings (R), whose guidance on finding the cause is the point, and encounters, screening and status
(Z)."""


def is_about_finding(heading: str) -> bool:
    """Whether a heading or title is about finding a condition (:data:`DIAGNOSTIC_HEADING`) and not
    also about treating it ("Diagnosis and Management" is about both).

    Example:
        >>> is_about_finding("Home Sleep Apnea Testing for the Diagnosis of OSA")
        True
        >>> is_about_finding("Screening for hepatitis C virus infection in adults")
        True
        >>> is_about_finding("Diagnosis and management of asthma"), is_about_finding("Pharmacologic Therapy")
        (False, False)
    """
    return bool(DIAGNOSTIC_HEADING.search(heading)) and not _TREATMENT_HEADING.search(heading)


_TREATING_TITLE = re.compile(r"\b(?:treat\w*|manag\w*|therap\w*|secondary|recurren\w*|tertiary)\b", re.I)
_UNTIL = r"(?=\s+(?:in|among|for|with|and|after|during|by|through)\b|[:.;,(]|$)"
_PREVENTED = (
    # "Prevention of type 2 diabetes ...", "prophylaxis of venous thromboembolism in ..."
    re.compile(
        rf"\b(?:prevention|prophylaxis|preventing|reducing the risk) (?:of|against)\s+(.+?){_UNTIL}", re.I
    ),
    # "Preventing falls and reducing injury from falls"
    re.compile(rf"\bpreventing\s+(.+?){_UNTIL}", re.I),
    # "Skin cancer prevention: behavioral counseling"
    re.compile(r"((?:[\w'’-]+\s+){0,3}[\w'’-]+)\s+(?:prevention|prophylaxis)\b", re.I),
    # "Venous thromboembolism in adults admitted to hospital: reducing the risk"
    re.compile(r"^(.+?)(?:\s+in\s+[^:]+)?:\s+reducing the risk\b", re.I),
)


@lru_cache(maxsize=4096)
def prevented_condition(title: str) -> str | None:
    """What a guideline's title says it prevents, when it is about preventing something and not
    also about treating it, or a recurrence ("Prevention of type 2 diabetes", "Venous thromboembolism
    in adults admitted to hospital: reducing the risk"); of "exacerbations of COPD" only the
    exacerbations. None for any other title.

    Example:
        >>> prevented_condition("Prevention of type 2 diabetes evidence-based nutrition practice guideline.")
        'type 2 diabetes evidence-based nutrition practice guideline'
        >>> prevented_condition("Venous thromboembolism in adults admitted to hospital: reducing the risk.")
        'Venous thromboembolism'
        >>> prevented_condition("Prevention of acute exacerbations of COPD: ACCP and CTS guideline.")
        'acute exacerbations'
        >>> prevented_condition("Prophylaxis against infective endocarditis: antimicrobial prophylaxis.")
        'infective endocarditis'
        >>> prevented_condition("Rivaroxaban for treating PE and preventing recurrent VTE.") is None
        True
    """
    if _TREATING_TITLE.search(title):
        return None
    for pattern in _PREVENTED:
        found = pattern.search(title)
        if found:
            return found.group(1).split(" of ")[0]
    return None


def is_diagnostic(chunk: Chunk) -> bool:
    """Whether a passage is about finding its condition: its headings below the top one, or else its
    guideline's title (a screening or diagnosis guideline), are (:func:`is_about_finding`).

    Example:
        >>> from garmle.types import Chunk
        >>> under = lambda *section: Chunk("c:0", "c", "Use polysomnography.", 0, 20, section=section)
        >>> is_diagnostic(under("Major Recommendations", "Home Testing for the Diagnosis of OSA"))
        True
        >>> is_diagnostic(under("Diagnosis",))  # the top heading is the summary's own section
        False
    """
    headings = " / ".join(chunk.section[1:])
    return is_about_finding(headings) or (
        not _TREATMENT_HEADING.search(headings) and is_about_finding(chunk.metadata.get("title", ""))
    )


# a heading over the graded statements themselves, "Summary and Strength of Recommendations" (a plain
# "Strength of Recommendations" heading defines the grades). Headings that group statements by grade
# ("Strength of Recommendation: Strong", "Strength of Recommendations for the Management of ...") hold
# statements too, but reading them so found no further key of the evaluation sets and lost two.
_GRADED_STATEMENTS = re.compile(r"^summary and strength of", re.I)


def section_prior(section: Sequence[str]) -> float:
    """How much a section of a guideline recommends (1.0 for statements and unknown sections).

    The top heading decides first (:data:`SECTION_PRIORS`); a heading below it that holds evidence,
    background or rating definitions (:data:`SUBSECTION_PRIORS`) lowers the prior.

    Example:
        >>> section_prior(("Major Recommendations", "Treatment")), section_prior(("Rating Scheme",))
        (1.0, 0.0)
        >>> section_prior(("Major Recommendations", "Summary of Literature Review"))
        0.5
        >>> section_prior(("Major Recommendations", "Strength of Recommendations"))
        0.0
        >>> section_prior(("Major Recommendations", "Summary and Strength of Recommendations", "Management"))
        1.0
    """
    if not section:
        return 1.0
    prior = 1.0
    for pattern, value in SECTION_PRIORS:
        if pattern.search(section[0]):
            prior = value
            break
    for heading in section[1:]:
        if _GRADED_STATEMENTS.search(heading):
            continue
        for pattern, value in SUBSECTION_PRIORS:
            if pattern.search(heading.strip()):
                prior = min(prior, value)
                break
    return prior


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the ranking features and the selection settings (see the module docstring).

    Example:
        >>> FusionWeights().retrieval
        0.4
    """

    retrieval: float = 0.4
    topic: float = 0.2
    facts: float = 0.15
    prediction: float = 0.15
    action: float = 0.1
    section_floor: float = 0.4
    require_topic: bool = True
    mmr_lambda: float = 0.75
    max_per_doc: int = 4
    doc_decay: float = 1.0
    over_cap_factor: float = 0.75
    population_filter: bool = True
    aspect_fusion: str = "max"
    aspect_rank_k: int = 10
    min_score: float = 0.45
    off_topic_factor: float = 0.75
    topic_required: float = 1.0
    passage_population_factor: float = 0.5
    diagnostic_factor: float = 0.8


def population_conflict(
    population: str, title: str, patient: Patient, groups: Sequence[str] | None = None
) -> str | None:
    """Why a guideline's target population excludes ``patient``, or None when it fits.

    ``population`` is the guideline's target-population text (NGC "Target Population"); ``groups``
    are the population groups that text includes (``children``, ``adults``, ``pregnancy``, ``women``...,
    as the NGC reader records them), used when known; the title is checked too, since many
    guidelines name their population there ("... in children and adolescents").

    A woman in the weeks after a birth (``patient.postpartum``) is in the pregnancy guidelines'
    population: they cover the puerperium.

    Example:
        >>> from garmle.types import Patient
        >>> population_conflict("Children aged 2-18 years with asthma", "", Patient("p", age=50))
        'written for children'
        >>> population_conflict("Patients 10 to less than 18 years", "", Patient("p", age=50), ["children"])
        'written for children'
        >>> lbp = "People aged 16 or older. Note: Groups that will not be covered: - Adolescent scoliosis"
        >>> population_conflict(lbp, "Low back pain and sciatica in over 16s", Patient("p", age=45)) is None
        True
        >>> title = "Tobacco smoking cessation in adults, including pregnant women"
        >>> population_conflict("", title, Patient("p", age=47, sex="male"), ["adults", "pregnancy"]) is None
        True
        >>> stemi = "Adults having STEMI, and subgroups such as older adults, women and others"
        >>> groups = ["adults", "older adults", "women"]
        >>> man = Patient("p", age=63, sex="male")
        >>> population_conflict(stemi, "Myocardial infarction", man, groups) is None
        True
        >>> female = "Surgical treatment of female stress urinary incontinence"
        >>> population_conflict("", female, Patient("p", age=71, sex="male"), ["adults"])
        'written for women'
        >>> preterm = Patient("p", age=27, sex="female", pregnant=True)
        >>> groups = ["infants", "pregnancy", "women"]
        >>> population_conflict("", "Preterm labour and birth.", preterm, groups) is None
        True
        >>> recurrent = "Recurrent lower urinary tract infections in women."
        >>> population_conflict("", recurrent, Patient("p", age=0.8, sex="female"), ["women"])
        'written for adults'
        >>> over_40 = "Contraception for women aged over 40 years."
        >>> population_conflict("", over_40, Patient("p", age=17), ["women"])
        'written for another age group'
    """
    age = patient.age
    sex = (patient.sex or "").lower()
    title_pediatric = bool(_PEDIATRIC.search(title)) and not _ADULT.search(title)
    title_pregnancy = bool(_PREGNANCY.search(title)) and not (
        _NON_PREGNANT.search(title) or includes_pregnancy_alongside(title)
    )
    if groups:
        found = set(groups)
        pediatric = bool(found & {"infants", "children", "adolescents"}) or title_pediatric
        adult = bool(found & {"adults", "older adults"}) and not title_pediatric
        pregnancy = ("pregnancy" in found and "adults" not in found) or title_pregnancy
        # all adults, with women or men as a subgroup named in passing ("differences between specific
        # populations, such as older adults, women and people from ethnic minorities")
        subgroup = "adults" in found and names_sex_as_subgroup(population)
        women_only = (
            "women" in found and "men" not in found and not ("pregnancy" in found and adult) and not subgroup
        )
        men_only = "men" in found and "women" not in found and not subgroup
        older_only = "older adults" in found and "adults" not in found and not pediatric
    else:
        # what a note leaves out is no population of it ("Groups that will not be covered: ... People
        # aged under 16 years")
        excluded = _SCOPE_EXCLUSION.search(population)
        population = population[: excluded.start()] if excluded and excluded.start() > 0 else population
        text = f"{title}. {population}"
        pediatric = bool(_PEDIATRIC.search(text))
        adult = bool(_ADULT.search(text)) and not title_pediatric
        general = re.search(r"\b(adults?|general|men)\b", population, re.I)
        pregnancy = bool(_PREGNANCY.search(text)) and not _NON_PREGNANT.search(text)
        pregnancy = pregnancy and (not general or title_pregnancy)
        no_adults = not re.search(r"\badults?\b", text, re.I)
        women_only = bool(_WOMEN.search(text)) and not _MEN.search(text) and no_adults
        men_only = bool(_MEN.search(text)) and not _WOMEN.search(text) and no_adults
        older_only = False
    # "Pregnant women and their infants": a pregnancy guideline names the babies it also covers
    perinatal = pregnancy and bool(patient.pregnant or patient.postpartum)
    if age is not None and age >= 18 and pediatric and not adult and not perinatal:
        return "written for children"
    if age is not None and age < 18 and adult and not pediatric:
        return "written for adults"
    if pregnancy and not (patient.pregnant or patient.postpartum):
        return "written for pregnancy"
    # a title written for one sex: "Surgical treatment of female stress urinary incontinence" (not
    # "..., including pregnant women")
    said = _ALONGSIDE.sub("", title)
    women_only = women_only or (bool(_TITLE_WOMEN.search(said)) and not _MEN.search(said))
    men_only = men_only or (bool(_MEN.search(said)) and not _WOMEN.search(said))
    if sex == "male" and women_only:
        return "written for women"
    if sex == "female" and men_only:
        return "written for men"
    # "recurrent lower urinary tract infections in women" is no guideline for a girl of ten months
    if age is not None and age < _CHILD_AGE and (women_only or men_only) and not pediatric:
        return "written for adults"
    if older_only and age is not None and age < 55:
        return "written for older adults"
    # a title's least age: "Contraception for women aged over 40 years", "... adults aged 60 years or
    # older"; not an upper one alone ("Indications of DXA in women younger than 65 yr and men younger
    # than 70 yr" goes on to older people)
    if age is not None and _TITLE_AGE_CUE.search(title):
        ages = list(passage_age_bounds(title))
        if ages and all(low > 0 for low, _ in ages) and not any(low <= age < high for low, high in ages):
            return "written for another age group"
    return None


_TITLE_AGE_CUE = re.compile(r"\d")
# below this age a guideline for women (or men) alone is not the patient's
_CHILD_AGE = 12


_PASSAGE_PREGNANCY = re.compile(
    r"\b(pregnant (women|woman|patients|people|adolescents|individuals)|women who are pregnant|"
    r"during pregnancy|in pregnancy|pregnancy and (the )?postpartum|postpartum (women|period)|"
    r"antenatal|prenatal|(breastfeeding|lactating) women)\b",
    re.I,
)
_PASSAGE_ALL_PREGNANCY = re.compile(
    r"\b(non-?pregnant|not pregnant|includ\w+ (pregnant|women who are pregnant)|except\w*|exclud\w*|"
    r"other than|unless|avoid\w*|contraindicat\w*|should not|do not|planning|childbearing|"
    r"become pregnant|before pregnancy|pre-?conception)\b",
    re.I,
)


# under a pregnancy heading, a passage that speaks to everyone too ("including pregnant women"); one
# on what to avoid or do before a pregnancy still speaks to pregnancy, not to everyone
_EVERYONE_TOO = re.compile(
    r"\b(non-?pregnant|not pregnant|includ\w+ (pregnant|women who are pregnant)|all (adults|patients)|"
    r"general population)\b",
    re.I,
)
_HEADING_PREGNANCY = re.compile(
    r"^\s*(?:pregnancy|pregnant|antenatal|obstetric)\b|\b(?:in|during) pregnancy\b", re.I
)
_PRE_PREGNANCY = re.compile(r"\bpre-?pregnancy\b|\bpreconception", re.I)
_N = r"(\d{1,2})"
_TO = r"\s*(?:-|–|to)\s*"
_YRS = r"(?:years?|yrs?)"
_OLD = r"(?:of age|old)"
_PLUS = r"\s+(?:and|or)\s+(?:older|over|above)\b"
_SHORT = r"(?:months?|weeks?|days?)\b"
_AGE_BOUNDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.I), kind)
    for pattern, kind in (
        # "aged 6 to 23 months", "6-23 months of age"
        (rf"\baged?\s+{_N}{_TO}{_N}\s*months?\b", "months"),
        (rf"\b{_N}{_TO}{_N}\s*months?\s+{_OLD}\b", "months"),
        # "aged 50 to 75 years", "ages 18-64", "40 to 75 years of age"
        (
            rf"\b(?:aged?|ages)\s+(?:between\s+)?{_N}\s*(?:-|–|to|and)\s*{_N}\b(?!\s*{_SHORT})",
            "range",
        ),
        (rf"\b{_N}{_TO}{_N}\s*years?\s+{_OLD}\b", "range"),
        # "60 years and over", "aged 65 or older", "≥4 years old", "aged >= 18", "older than 75"
        (rf"\baged?\s+{_N}\s*{_YRS}?(?:\s+{_OLD})?{_PLUS}", "min"),
        (rf"\b{_N}\s*{_YRS}(?:\s+{_OLD})?{_PLUS}", "min"),
        (rf"(?:\baged?\s*|\bage\s+)(?:≥|>=|>|over\s+|above\s+){_N}\b", "min"),
        (rf"(?:≥|>=)\s*{_N}\s*{_YRS}\s+{_OLD}\b", "min"),
        (rf"\b(?:older than|over the age of|above the age of)\s+{_N}\b", "min"),
        # "younger than 60", "under the age of 2", "aged under 5", "less than 18 years of age", "<2 years old"
        (
            rf"\b(?:younger than|under the age of|below the age of|aged?\s+(?:under|<|less than))\s*{_N}\b",
            "max",
        ),
        (rf"(?:\bunder|\bless than|<)\s*{_N}\s*{_YRS}\s+{_OLD}\b", "max"),
    )
)
"""Age bounds a passage addresses, with how each pattern's numbers read."""
_IN_MONTHS = re.compile(r"\s*(?:months?|mo)\b", re.I)


_PHARMACOGENETIC = re.compile(r"\bpharmacogenetic", re.I)
_NOT_A_DRUG = frozenset(
    {"clinical", "pharmacogenetics", "pharmacogenetic", "implementation", "consortium", "guideline",
     "guidelines", "genotype", "genotypes", "dosing", "therapy", "prescribing", "update", "context",
     "deficiency", "guided", "based", "selective"}
)  # fmt: skip


def drug_not_taken(title: str, patient: Patient) -> str | None:
    """Why a pharmacogenetics guideline (genotype-guided dosing of a drug) does not fit a patient who
    is not on any drug its title names, or None.

    Example:
        >>> from garmle.types import Medication, Patient
        >>> cpic = "CPIC guidelines for CYP2C19 and voriconazole therapy (pharmacogenetics)."
        >>> drug_not_taken(cpic, Patient("p"))
        'written for patients on a drug this patient is not taking'
        >>> drug_not_taken(cpic, Patient("p", medications=(Medication("Voriconazole 200 mg"),))) is None
        True
    """
    if not _PHARMACOGENETIC.search(title):
        return None
    drugs = {w for w in re.findall(r"[a-z]{5,}", title.lower()) if w not in _NOT_A_DRUG}
    said = " ".join([*(m.display for m in patient.medications), *patient.notes]).lower()
    if any(drug in said for drug in drugs):
        return None
    return "written for patients on a drug this patient is not taking"


def passage_age_bounds(text: str) -> list[tuple[float, float]]:
    """The age ranges (in years, upper bound exclusive) a passage addresses.

    Example:
        >>> passage_age_bounds("For patients 60 years and over, treat to a systolic below 150.")
        [(60.0, 130.0)]
        >>> passage_age_bounds("Surgery for Children ≥4 Years Old; in children aged 6 to 23 months ...")
        [(0.5, 2.0), (4.0, 130.0)]
        >>> passage_age_bounds("Screen every 5 to 10 years; the 10-year risk; a titre of 32 or above.")
        []
        >>> passage_age_bounds("Antibiotics for bilateral AOM in children younger than 24 months.")
        [(0.0, 2.0)]
    """
    bounds: list[tuple[float, float]] = []
    for pattern, kind in _AGE_BOUNDS:
        for found in pattern.finditer(text):
            a = float(found.group(1))
            if kind in ("min", "max") and _IN_MONTHS.match(text, found.end()):
                a /= 12  # "younger than 24 months", "age >=12 months"
            if kind == "months":
                bounds.append((a / 12, (float(found.group(2)) + 1) / 12))
            elif kind == "range":
                bounds.append((a, float(found.group(2)) + 1))
            elif kind == "min":
                bounds.append((a, 130.0))
            else:
                bounds.append((0.0, a))
    return sorted(set(bounds))


# Conditions a passage can be addressed to ("For patients with diabetes, ..."): the words naming each
# in the addressed phrase, and the ICD-10-CM codes (prefixes) of a patient who has it.
_CONDITION_WORDS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("diabetes", (r"diabet\w*", "t[12]dm", "dm"), ("E08", "E09", "E10", "E11", "E13", "O24")),
    (
        "chronic kidney disease",
        ("ckd", "(?:chronic )?kidney disease", "(?:chronic )?renal (?:disease|impairment|insufficiency)",
         "nephropathy"),
        ("N18", "N03", "N04", "N05", "N08", "N11", "N19", "I12", "I13", "E08.2", "E09.2", "E10.2", "E11.2",
         "E13.2", "Z99.2", "Z94.0"),
    ),
    (
        "heart failure",
        ("heart failure", "hf(?:r|p|mr)?ef", "hf", "(?:left ventricular|lv|systolic) dysfunction",
         "reduced ejection fraction"),
        ("I50", "I11.0", "I13.0", "I13.2", "I42", "I43"),
    ),
    (
        "coronary heart disease",
        ("coronary (?:artery |heart )?disease", "cad", "chd", "ihd", "isch[a]?emic heart disease", "angina",
         "myocardial infarction", "acute coronary syndromes?", "acs"),
        ("I20", "I21", "I22", "I23", "I24", "I25", "Z95.1", "Z95.5", "Z98.61"),
    ),
    (
        "cardiovascular disease",
        ("ascvd", "atherosclerotic cardiovascular disease", "cardiovascular disease", "cvd"),
        ("I20", "I21", "I22", "I23", "I24", "I25", "I63", "I65", "I66", "I69.3", "I70", "I73.9", "I74", "G45",
         "Z86.73", "Z95.1", "Z95.5", "Z98.61"),
    ),
    (
        "stroke",
        ("(?:isch[a]?emic |lacunar |cryptogenic )?stroke", "tia", "transient isch[a]?emic attacks?",
         "cerebrovascular disease"),
        ("I60", "I61", "I62", "I63", "I64", "I69", "G45", "Z86.73"),
    ),
    (
        # any heart disease, not one the words before it name ("coronary heart disease")
        "heart disease",
        (r"(?<!coronary )(?<!ischemic )(?<!ischaemic )(?<!valvular )(?<!congenital )(?<!rheumatic )"
         r"(?<!hypertensive )(?<!structural )heart diseases?", "cardiac disease"),
        ("I0", "I11", "I13", "I2", "I3", "I4", "I5", "Q2", "Z95"),
    ),
    ("atrial fibrillation", ("atrial fibrillation", "atrial flutter", "af", "afib"), ("I48",)),
    (
        "copd",
        ("copd", "chronic obstructive pulmonary disease", "emphysema", "chronic bronchitis"),
        ("J41", "J42", "J43", "J44"),
    ),
    ("asthma", ("asthma",), ("J45",)),
    (
        "hypertension",
        ("hypertension",),
        ("I10", "I11", "I12", "I13", "I15", "I16", "O10", "O11", "O13", "O16"),
    ),
    ("obesity", ("obesity",), ("E66", "Z68.3", "Z68.4")),
    (
        "cancer",
        ("cancers?", "tumou?rs?", r"malignan\w*", "neoplasms?", "carcinomas?", "lymphomas?", "leuka?emias?",
         "myelomas?"),
        ("C", "D0", "D45", "D46", "D47", "Z51.0", "Z51.1", "Z85", "Z92.21", "Z92.3"),
    ),
    (
        # spread beyond its site: a secondary neoplasm coded ("metastatic prostate cancer")
        "metastatic cancer",
        (r"metastatic (?:\w+ ){0,2}(?:cancers?|carcinomas?|melanomas?|tumou?rs?|disease)",),
        ("C77", "C78", "C79", "C80.0"),
    ),
    ("hiv", ("hiv", "human immunodeficiency virus"), ("B20", "Z21", "O98.7")),
    (
        "hepatitis b",
        ("(?:chronic )?hepatitis b", "hbv", "chb"),
        ("B16", "B17.0", "B18.0", "B18.1", "B19.1", "Z22.51", "O98.41"),
    ),
    ("hepatitis c", ("(?:chronic )?hepatitis c", "hcv"), ("B17.1", "B18.2", "B19.2", "Z22.52", "O98.41")),
    ("infertility", (r"infertil\w*", r"subfertil\w*"), ("N97", "N46", "Z31")),
    ("homelessness", (r"homeless(?:ness)?",), ("Z59.0",)),
    (
        "immunocompromise",
        ("immunocompromised", "immunosuppressed", "immunodeficiency", "immunodeficiencies"),
        # asplenia, functional (sickle cell disease) or after a splenectomy, is an immunocompromise
        ("D80", "D81", "D82", "D83", "D84", "D70", "B20", "Z21", "O98.7", "Z94", "Z79.52", "Z79.6", "Z92.25",
         "D57", "D73.0", "Q89.01", "Z90.81",
         "Z51.1", "C81", "C82", "C83", "C84", "C85", "C86", "C88", "C90", "C91", "C92", "C93", "C94", "C95",
         "C96"),
    ),
)  # fmt: skip
_CONDITION_PATTERNS = tuple(
    (name, re.compile(r"(?<![\w-])(?<!non-)(?:" + "|".join(words) + r")\b", re.I), codes)
    for name, words, codes in _CONDITION_WORDS
)
_ADDRESSED = re.compile(
    r"\b(?:(?:[Ff]or|[Ii]n|[Aa]mong)\s+(?:(?:adult|older|elderly|all|most|hospitali[sz]ed)\s+)?"
    r"(?i:patients|persons|people|adults|individuals|those|women|men)"
    r"|(?<![A-Za-z] )(?:Patients|Adults|Individuals))"
    r"\s+(with|without)\s+([^,;:()]{2,80}?)"
    r"(?=[,;:()]|\.(?:\s|$)|\s+(?:who|whose|should|is|are|be|may|can|in|at|but|we|it|the|a|an)\b|$)"
)
_NUMBERING = re.compile(r"(?:^|\s)(?:\d{1,3}|[a-z]|[ivx]{1,4})[.)]\s")
_SENTENCE_END = re.compile(r"[.!?]\s")
_LIST_ITEM = re.compile(r"\s[-•–]\s")
_HEADING_WORDS = 6  # a heading before the statement is shorter


def addressed_conditions(text: str) -> tuple[str, ...]:
    """The conditions a passage's opening statement is addressed to ("For patients with diabetes
    (all age groups), ...", "In adults with CKD, ...", "Patients with heart failure should ..."), from
    the conditions garmle knows the codes of, and those it is addressed to patients without ("For
    patients without diabetes, ..." gives ``without diabetes``); () when it opens otherwise or names
    none of them.

    Example:
        >>> addressed_conditions("30. For patients with diabetes (all age groups), treat to <140/90.")
        ('diabetes',)
        >>> addressed_conditions("In adults with non-diabetic CKD and hypertension, offer an ACE inhibitor.")
        ('chronic kidney disease', 'hypertension')
        >>> addressed_conditions("Offer a thiazide. For patients with diabetes, add an ACE inhibitor.")
        ()
        >>> addressed_conditions("For patients with no contraindications, start aspirin.")
        ()
        >>> addressed_conditions("Primary Prevention in Individuals with Diabetes and LDL-C 70-189 1. ...")
        ('diabetes',)
        >>> addressed_conditions("Screening of Patients with AF: In patients with stroke, ...")
        ('stroke',)
        >>> addressed_conditions("Goals - For patients without diabetes, aim below 140/90 - In those with DM")
        ('without diabetes',)
        >>> addressed_conditions("Primary Prevention in Individuals without Diabetes and LDL-C 70-189 1. The")
        ('without diabetes',)
        >>> addressed_conditions("In patients with COPD or asthma, offer ...")
        ('copd', 'asthma')
    """
    phrases: list[tuple[str, str]] = []
    start = 0
    for found in _ADDRESSED.finditer(text):
        before = _NUMBERING.sub(" ", text[start : found.start()])
        items = _LIST_ITEM.split(before)
        # a sentence or a list item before it (a heading is shorter), or between two of them, ends
        # the opening statement
        if (
            _SENTENCE_END.search(before)
            or (phrases and len(items) > 1)
            or any(len(item.split()) >= _HEADING_WORDS for item in items)
        ):
            break
        phrases.append((found.group(1), found.group(2)))
        start = found.end()
    return tuple(
        name if kind == "with" else f"without {name}"
        for kind in ("with", "without")
        for name, pattern, _ in _CONDITION_PATTERNS
        if any(k == kind and pattern.search(phrase) for k, phrase in phrases)
    )


_CONDITION_ANY = "|".join(w for _, words, _ in _CONDITION_WORDS for w in words)
_WHO = (
    r"(?:patients|people|persons|adults|individuals|women|men|children|adolescents|survivors|recipients|"
    r"hosts?|(?:female |male )?population)"
)
_GUIDELINE_FOR = (
    # "in people with chronic kidney disease", "in adults infected with HIV", "in patients undergoing
    # treatment for solid tumours", "for pediatric patients with cancer"
    re.compile(
        rf"\b(?:in|for|among)\s+(?:[\w-]+\s+){{0,2}}?{_WHO}\s+(?:who\s+(?:have|are)\s+)?"
        r"(?:with|infected with|living with|(?:undergoing|receiving|having) treatment for|treated for)\s+"
        rf"(?:[\w-]+\s+){{0,3}}?(?:{_CONDITION_ANY})\b",
        re.I,
    ),
    # "in ambulatory cancer patients", "in HIV-infected adults", "vaccination of the immunocompromised host"
    re.compile(
        rf"\b(?:in|for|among|of the)\s+(?:[\w-]+\s+){{0,2}}?(?:{_CONDITION_ANY})(?:-infected|-positive)?"
        rf"\s+{_WHO}\b",
        re.I,
    ),
    # "for patients who are homeless with diabetes"
    re.compile(
        rf"\b(?:in|for|among)\s+(?:[\w-]+\s+){{0,2}}?{_WHO}\s+who\s+are\s+(?:{_CONDITION_ANY})\b", re.I
    ),
)


@lru_cache(maxsize=8192)
def guideline_conditions(title: str) -> tuple[str, ...]:
    """The conditions of :func:`addressed_conditions` a guideline's title writes it for ("Anaemia
    management in people with chronic kidney disease", "The management of depression in patients with
    cancer"); () when the title names no such population.

    Example:
        >>> guideline_conditions("Anaemia management in people with chronic kidney disease.")
        ('chronic kidney disease',)
        >>> guideline_conditions("Management of febrile neutropenia in adult cancer patients.")
        ('cancer',)
        >>> guideline_conditions("Venous thromboembolism in patients undergoing treatment for solid tumours.")
        ('cancer',)
        >>> guideline_conditions("Hepatitis viruses in adults infected with HIV 2013.")
        ('hiv',)
        >>> guideline_conditions("Acute respiratory illness in immunocompromised patients.")
        ('immunocompromise',)
        >>> guideline_conditions("Treatment of anemia in patients with heart disease.")
        ('heart disease',)
        >>> guideline_conditions("Management of adults with congenital heart disease.")
        ()
        >>> guideline_conditions("Management of type 2 diabetes in adults.")
        ()
        >>> guideline_conditions("Subclinical hypothyroidism in the infertile female population.")
        ('infertility',)
        >>> guideline_conditions("Guideline for vaccination of the immunocompromised host.")
        ('immunocompromise',)
        >>> guideline_conditions("Recommendations for patients who are homeless with diabetes mellitus.")
        ('homelessness',)
    """
    phrases = [found.group(0) for pattern in _GUIDELINE_FOR for found in pattern.finditer(title)]
    return tuple(
        name for name, pattern, _ in _CONDITION_PATTERNS if any(pattern.search(phrase) for phrase in phrases)
    )


def written_for_others(title: str, patient_conditions: Collection[str] | None) -> bool:
    """Whether a guideline's title writes it for people with a condition (:func:`guideline_conditions`)
    the patient does not have: anaemia guidance "in people with chronic kidney disease" for a patient
    without it, depression "in patients with cancer" for one without cancer. None (conditions unknown)
    is never a conflict.

    Example:
        >>> written_for_others("The management of depression in patients with cancer.", {"hypertension"})
        True
        >>> written_for_others("The management of depression in patients with cancer.", {"cancer"})
        False
        >>> written_for_others("Depression in adults.", set())
        False
        >>> written_for_others("Hepatitis in adults with HIV", None)  # conditions unknown
        False
    """
    if patient_conditions is None:
        return False
    written_for = guideline_conditions(title)
    return bool(written_for) and not any(name in patient_conditions for name in written_for)


# a heading over the care of a cancer that has spread ("Metastatic Prostate Cancer", "Advanced Disease",
# "Stage IV"), not a locally advanced one
_METASTATIC_HEADING = re.compile(
    r"\b(?:metastatic|metastases|stage iv|(?<!locally )advanced)\b(?:[^>]{0,40}\b"
    r"(?:cancers?|carcinomas?|melanomas?|disease|tumou?rs?|malignan\w*))?",
    re.I,
)
_METASTATIC_ONLY = re.compile(
    r"^\s*(?:metastatic|metastases|stage iv)\b|\b(?:metastatic|metastases|stage iv)\s*$", re.I
)


def for_another_stage(headings: Sequence[str], conditions: Collection[str]) -> bool:
    """Whether a passage's guideline title or one of its headings (``headings``, without the top
    section's) is for a cancer that has spread while the patient's has not (a cancer coded, no
    secondary neoplasm): "Metastatic Prostate Cancer > Treatment", or "Abiraterone for treating
    metastatic hormone-relapsed prostate cancer", is not for a man with low-risk localised prostate
    cancer.

    Example:
        >>> for_another_stage(("Metastatic Prostate Cancer", "Treatment"), {"cancer"})
        True
        >>> for_another_stage(("Localised and Locally Advanced Prostate Cancer",), {"cancer"})
        False
        >>> for_another_stage(("Metastatic Prostate Cancer",), {"cancer", "metastatic cancer"})
        False
        >>> for_another_stage(("Advance Care Planning", "Advanced Directives"), {"cancer"})
        False
    """
    if "cancer" not in conditions or "metastatic cancer" in conditions:
        return False
    for heading in headings:
        found = _METASTATIC_HEADING.search(heading)
        if found and (found.group(0) != found.group(0).split()[0] or _METASTATIC_ONLY.search(heading)):
            return True
    return False


_SYMPTOMATIC = re.compile(r"(?<![a-z])symptomatic\b", re.I)
_ASYMPTOMATIC = re.compile(r"\basymptomatic\b", re.I)
_FOR_ASYMPTOMATIC = re.compile(
    r"\basymptomatic (?:patients|adults|individuals|persons|people|women|men|children|older adults)\b", re.I
)
_OPENING_CHARS = 200


def says_symptomatic(notes: Sequence[str]) -> bool:
    """Whether the notes call the patient's condition symptomatic ("Severe symptomatic aortic
    stenosis") and nothing asymptomatic: a passage that opens addressed to asymptomatic patients
    (screening, "AVR is reasonable for asymptomatic patients with very severe AS") is then for
    another group.

    Example:
        >>> says_symptomatic(["Imp: severe symptomatic aortic stenosis."])
        True
        >>> says_symptomatic(["Asymptomatic bacteriuria."]), says_symptomatic(["Severe AS."])
        (False, False)
    """
    return any(_SYMPTOMATIC.search(note) for note in notes) and not any(
        _ASYMPTOMATIC.search(note) for note in notes
    )


def conditions_of(codes: Iterable[str]) -> frozenset[str]:
    """The conditions of :func:`addressed_conditions` that a patient with these ICD-10-CM codes has.

    Example:
        >>> sorted(conditions_of(["E11.22", "I10"]))
        ['chronic kidney disease', 'diabetes', 'hypertension']
    """
    plain = [code.upper() for code in codes]
    return frozenset(
        name for name, _, prefixes in _CONDITION_PATTERNS if any(c.startswith(prefixes) for c in plain)
    )


_PREGNANCY_CUES = ("pregnan", "postpartum", "natal", "women")
_CHILD_CUES = (
    "child", "pediatric", "paediatric", "infant", "neonat", "newborn", "adolescent", "toddler", "preterm",
    "school-age", "youth", "boys", "girls",
)  # fmt: skip
_AGE_CUES = ("age", "year", "yr", "month", "older than", "younger than")
# a passage that opens addressed to older people ("Elderly patients should ...", "In older adults, ..."),
# or under a heading that names them ("Management of Older People with Epilepsy ...")
_OLDER_OPENING = re.compile(
    r"\s*(?:(?:in|for|among)\s+)?(?:the\s+)?(?:frail\s+)?"
    r"(?:older\s+(?:adults|people|persons|patients)|elderly(?:\s+(?:patients|people|persons|adults))?)\b",
    re.I,
)
_OLDER_HEADING = re.compile(
    r"\b(?:Older (?:Adults|People|Persons|Patients)|Elderly (?:Patients|People|Persons)|the Elderly)\b"
)
_NOT_OLDER_ONLY = re.compile(r"\b(?:adolescents?|younger|all ages|children|adults,? and older)\b", re.I)
OLDER_AGES = (55.0, 130.0)
"""The ages a passage addressed to older people or the elderly, without a number, is read to address."""


def addresses_older_people(text: str) -> bool:
    """Whether a passage opens addressed to older people, naming no other age group in its first
    sentence.

    Example:
        >>> addresses_older_people("Management of Older People with Epilepsy Drug Treatment B - Lamotrigine")
        True
        >>> addresses_older_people("Elderly patients should be assessed for fitness.")
        True
        >>> addresses_older_people("Dehydration is a more prevalent condition in the elderly.")
        False
        >>> addresses_older_people("Screening adolescents, adults, and older adults for suicide risk.")
        False
    """
    first = _SENTENCE_END.split(text[:200], maxsplit=1)[0]
    if _NOT_OLDER_ONLY.search(first):
        return False
    return _OLDER_OPENING.match(text) is not None or _OLDER_HEADING.search(text, 0, 80) is not None


class PassagePopulation(NamedTuple):
    """Whom a passage speaks to, read from its text alone (:func:`passage_population`)."""

    pregnancy: bool
    """It is addressed to pregnant or postpartum women."""
    children: bool
    """It is addressed to children and names no adults."""
    ages: tuple[tuple[float, float], ...]
    """The age ranges it addresses (:func:`passage_age_bounds`)."""
    conditions: tuple[str, ...] = ()
    """The conditions its opening statement is addressed to (:func:`addressed_conditions`)."""
    ethnicity: str = ""
    """The ethnic group its opening statement is addressed to ("black", or "not black" for "the
    general nonblack population"; :func:`addressed_ethnicity`), "" for none."""


ANYONE = PassagePopulation(False, False, ())
"""The reading of a passage addressed to no particular population."""

READING_VERSION = 14
"""Changes whenever :func:`passage_population` reads passages differently, so readings an index
kept from an earlier version are read again."""


def passage_population(text: str, section: Sequence[str] = ()) -> PassagePopulation:
    """Whether a passage speaks to pregnancy, to children only, and its age ranges, read from its text
    and from the headings of its ``section`` (:func:`heading_population`).

    The reading depends on the passage alone, so an index keeps it per chunk
    (:func:`passage_populations`); a cache serves passages read at request time.

    Example:
        >>> passage_population("In children aged 5 to 11, use a low-dose ICS.")
        PassagePopulation(pregnancy=False, children=True, ages=((5.0, 12.0),), conditions=(), ethnicity='')
        >>> passage_population("Metformin is the first-line drug.") == ANYONE
        True
        >>> heads = ("Major Recommendations", "Interventions for Children and Young People")
        >>> passage_population("- Monitor treatment adherence.", heads).children
        True
        >>> passage_population("In adolescents and adults, monitor adherence.", heads).children
        False
        >>> passage_population("Involve a parent or other adult known to the child.", heads).children
        True
    """
    return _reading(text, tuple(section), _text_population)


@lru_cache(maxsize=8192)
def _text_population(text: str) -> PassagePopulation:
    # Each pattern's every match holds one of these words, so a passage without them skips it: the
    # age patterns alone cost about 0.2 ms a passage and two passages in three name no age.
    lower = text.lower()
    pregnancy = (
        any(cue in lower for cue in _PREGNANCY_CUES)
        and bool(_PASSAGE_PREGNANCY.search(text))
        and not _PASSAGE_ALL_PREGNANCY.search(text)
    )
    children = (
        any(cue in lower for cue in _CHILD_CUES)
        and bool(_PEDIATRIC.search(text))
        and not _ADULT_ADDRESSED.search(text)
    )
    ages = tuple(passage_age_bounds(text)) if any(cue in lower for cue in _AGE_CUES) else ()
    if not ages and ("older" in lower or "elderly" in lower) and addresses_older_people(text):
        ages = (OLDER_AGES,)
    conditions = addressed_conditions(text) if " with" in lower else ()
    ethnicity = addressed_ethnicity(text) if "black" in lower or "african" in lower else ""
    return PassagePopulation(pregnancy, children, ages, conditions, ethnicity)


@lru_cache(maxsize=4096)
def heading_population(section: tuple[str, ...]) -> PassagePopulation:
    """Whom the headings above a passage address: a passage under "Interventions for Children and
    Young People" or "Women Aged 50-69 Years" speaks to them even when its own words do not say so
    (a list item, a dosing detail). The headings are read as one text, so a path that names adults
    anywhere is not for children only; the conditions are those any one heading addresses
    ("Primary Prevention in Individuals with Diabetes").

    Example:
        >>> heading_population(("Major Recommendations", "Women Aged 50-69 Years")).ages
        ((50.0, 70.0),)
        >>> heading_population(("Children", "Transition to Adult Services")).children
        False
        >>> heading_population(("Treatment", "Patients with Stroke")).conditions
        ('stroke',)
        >>> heading_population(("Major Recommendations", "Pregnancy and VHD", "Class IIa")).pregnancy
        True
        >>> heading_population(("Major Recommendations", "Pre-pregnancy Counselling")).pregnancy
        False
    """
    joined = _text_population(". ".join(section))
    conditions = tuple(dict.fromkeys(c for head in section for c in _text_population(head).conditions))
    # a heading over the care of pregnancy ("Pregnancy and VHD", "Management in Pregnancy")
    pregnancy = joined.pregnancy or (
        any(_HEADING_PREGNANCY.search(head) for head in section)
        and not any(_PASSAGE_ALL_PREGNANCY.search(head) or _PRE_PREGNANCY.search(head) for head in section)
    )
    return joined._replace(conditions=conditions, pregnancy=pregnancy)


def _reading(
    text: str, section: tuple[str, ...], read_text: Callable[[str], PassagePopulation]
) -> PassagePopulation:
    """A passage's own reading (``read_text``: cached per request, or not for a whole index),
    completed by its headings' where its text says nothing of that kind; its text still decides when
    it speaks to everyone ("including pregnant women", "adults")."""
    reading = read_text(text)
    heads = heading_population(section) if section else ANYONE
    if heads == ANYONE:
        return reading
    return PassagePopulation(
        reading.pregnancy or (heads.pregnancy and not _EVERYONE_TOO.search(text)),
        reading.children or (heads.children and not _ADULT_ADDRESSED.search(text)),
        reading.ages or heads.ages,
        reading.conditions or heads.conditions,
        reading.ethnicity or heads.ethnicity,
    )


def passage_populations(
    passages: Iterable[tuple[str, str] | tuple[str, str, Sequence[str]]],
) -> dict[str, PassagePopulation]:
    """The reading of each ``(chunk id, text[, section])`` addressed to a population; the others are
    left out.

    Example:
        >>> passage_populations([("a:0", "Metformin first."), ("a:1", "Treat all pregnant women.")])
        {'a:1': PassagePopulation(pregnancy=True, children=False, ages=(), conditions=(), ethnicity='')}
    """
    found: dict[str, PassagePopulation] = {}
    for chunk_id, text, *section in passages:
        # the whole index: bypass the request cache
        reading = _reading(text, tuple(section[0]) if section else (), _text_population.__wrapped__)
        if reading != ANYONE:
            found[chunk_id] = reading
    return found


_ADDRESSED_ETHNICITY = re.compile(
    r"\b(?:in|for|among)\s+(?:the\s+)?(?:general\s+)?(non-?black|black|african[- ]americans?)"
    r"(?:\s+(?:population|patients|adults|persons|people|individuals|men|women))?\b",
    re.I,
)


def addressed_ethnicity(text: str) -> str:
    """The ethnic group a passage's first sentence is addressed to: "black" ("In the general black
    population, ...", "For African American patients ..."), "not black" ("In the general nonblack
    population, ..."), or "" for none.

    Example:
        >>> addressed_ethnicity("Recommendation 7  In the general black population, start a thiazide or CCB.")
        'black'
        >>> addressed_ethnicity("In the general nonblack population, including those with diabetes, ...")
        'not black'
        >>> addressed_ethnicity("Start a thiazide. In black patients a CCB is an alternative.")
        ''
    """
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    found = _ADDRESSED_ETHNICITY.search(first)
    if found is None:
        return ""
    return "not black" if found.group(1).lower().startswith("non") else "black"


def passage_population_conflict(
    text: str | PassagePopulation, patient: Patient, conditions: Collection[str] | None = None
) -> str | None:
    """Why a passage (its text, or its :func:`passage_population`) is addressed to another
    population than ``patient``'s, or None.

    A guideline for several populations speaks to each in turn ("Treat or refer all pregnant or
    postpartum women ...", "In children aged 5-11 ..."); such a passage is not for a man or an adult.
    A passage that names pregnancy in passing (contraindicated in pregnancy, women planning a
    pregnancy, non-pregnant adults, including pregnant women) and one that names adults beside
    children speak to everyone. A passage whose age ranges (:func:`passage_age_bounds`: "60 years and
    over", "aged 6 to 23 months", "younger than 60") all leave the patient's age out is for another
    age group; one range that admits the patient is enough. When the patient's ``conditions`` are known
    (:func:`conditions_of` their codes), a passage that opens by addressing patients with conditions
    the patient has none of ("For patients with diabetes, ..." for a patient without diabetes;
    :func:`addressed_conditions`), or patients without one the patient has, is for another group of
    patients. When the patient's ethnicity is stated, a passage opening "In the general nonblack
    population" is not for a black patient, nor "In the general black population" for another
    (:func:`addressed_ethnicity`).

    Example:
        >>> from garmle.types import Patient
        >>> man = Patient("m", age=63, sex="male")
        >>> passage_population_conflict("Treat all pregnant or postpartum women for tobacco use.", man)
        'addressed to pregnancy'
        >>> passage_population_conflict("ACE inhibitors are contraindicated in pregnancy.", man) is None
        True
        >>> passage_population_conflict("In children aged 5 to 11, use a low-dose ICS.", man)
        'addressed to children'
        >>> passage_population_conflict("Adults and children over 5: use a low-dose ICS.", man) is None
        True
        >>> young = Patient("y", age=40)
        >>> passage_population_conflict("For patients 60 years and over, treat to below 150.", young)
        'addressed to another age group'
        >>> passage_population_conflict("Aged 60 or older: below 150; younger than 60: below 140.", young)
        >>> diabetes = "For patients with diabetes, treat to a systolic below 140."
        >>> passage_population_conflict(diabetes, young, conditions_of(["I10"]))
        'addressed to patients with another condition'
        >>> passage_population_conflict(diabetes, young, conditions_of(["I10", "E11.9"])) is None
        True
        >>> no_diabetes = "For patients without diabetes, treat to below 140/90."
        >>> passage_population_conflict(no_diabetes, young, conditions_of(["I10", "E11.9"]))
        'addressed to patients with another condition'
        >>> passage_population_conflict(no_diabetes, young, conditions_of(["I10"])) is None
        True
        >>> nonblack = "In the general nonblack population, start a thiazide, CCB, ACEI or ARB."
        >>> passage_population_conflict(nonblack, Patient("b", age=41, ethnicity="black"))
        'addressed to another ethnic group'
        >>> passage_population_conflict(nonblack, young) is None  # ethnicity not stated
        True
    """
    pregnancy, children, bounds, addressed, ethnicity = (
        text if isinstance(text, tuple) else passage_population(text)
    )
    age = patient.age
    if pregnancy and not (patient.pregnant or patient.postpartum):
        return "addressed to pregnancy"
    if children and age is not None and age >= 18:
        return "addressed to children"
    # whole years: a 1-year-old is 12 to 23 months old
    if age is not None and bounds and not any(lo < age + 1 and age < hi for lo, hi in bounds):
        return "addressed to another age group"
    if conditions is not None and addressed:
        present = [c for c in addressed if not c.startswith("without ")]
        absent = [c.removeprefix("without ") for c in addressed if c.startswith("without ")]
        if (present and not any(c in conditions for c in present)) or any(c in conditions for c in absent):
            return "addressed to patients with another condition"
    if ethnicity and patient.ethnicity and (ethnicity == "black") != (patient.ethnicity == "black"):
        return "addressed to another ethnic group"
    return None


_TOPIC_STOP = frozenset(
    [
        "unspecified",
        "other",
        "without",
        "with",
        "and",
        "of",
        "the",
        "in",
        "due",
        "to",
        "type",
        "disease",
        "disorder",
        "disorders",
        "diseases",
        "condition",
        "conditions",
        "uncomplicated",
        "primary",
        "essential",
        "complications",
        "stage",
        "specified",
        "not",
        "elsewhere",
        "classified",
        "for",
        "or",
        "by",
        "on",
        "a",
        "an",
        "unsp",
        "nos",
        "chronic",
        "acute",
        "initial",
        "encounter",
        "subsequent",
        "sequela",
        "right",
        "left",
        "site",
        "mild",
        "moderate",
        "severe",
        "status",
        "intractable",
        "persistent",
        "recurrent",
        "single",
        "episode",
        "bilateral",
        "unilateral",
        "localized",
        "multiple",
        "sites",
        "secondary",
        "history",
        "personal",
        "family",
        "use",
        "long",
        "term",
        "current",
    ]
)


_SUFFIXES = ("ement", "ment", "ation", "ing", "ed", "ic", "ia", "al", "es", "cy", "e", "s", "y")


def _stem(word: str) -> str:
    """A word's stem for matching at word starts: one common suffix off, at most 8 letters, so that
    "prostatic" finds "prostate", "enlarged" finds "enlargement" and "pregnancy" finds "pregnant".

    A disease named by "-itis", "-osis" or "-pathy" keeps its suffix's first letters past the 8, so
    the name is not found in its organ's adjective or a sibling process: "pancreatitis" is not named
    by "pancreatic cancer", "myocarditis" by "myocardial infarction", "endometriosis" by "endometrial
    cancer", "encephalopathy" by "encephalitis".

    Example:
        >>> _stem("prostatic"), _stem("enlarged"), _stem("hypertension"), _stem("ulcer")
        ('prostat', 'enlarg', 'hyperten', 'ulcer')
        >>> _stem("pregnancy")
        'pregnan'
        >>> _stem("pancreatitis"), _stem("myocarditis"), _stem("endometriosis"), _stem("hepatitis")
        ('pancreatit', 'myocardit', 'endometrio', 'hepatiti')
        >>> _stem("encephalopathy"), _stem("encephalitis")
        ('encephalopat', 'encephalit')
    """
    if len(word) > 9 and word.endswith(("itis", "pathy")):
        return word[:-2]  # "encephalopath" is not "encephalitis"
    if len(word) > 9 and word.endswith("osis"):
        return word[: max(8, len(word) - 3)]  # "osteoporo" finds "osteoporotic" too
    if len(word) > 5:
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 5:
                word = word[: -len(suffix)]
                break
    return word[:8]


_SCOPE_EXCLUSION = re.compile(
    r"\b(?:does|do|will|shall) not\b|"
    r"\bnot (?:be )?(?:covered|addressed|included|considered|discussed|within)\b|\bexclud\w*|\bexcept\b",
    re.I,
)
_SCOPE_ASIDE = re.compile(r"\((?:excluding|except|other than|not)\b[^()]*\)", re.I)
# "Dysvascular complications from diabetes, arteriosclerosis, smoking": the condition is the
# complication; its causes name whom it is for, not what the guideline is about
_SCOPE_CAUSE = re.compile(r"\s+(?:from|caused by|due to|secondary to|resulting from)\s.*", re.I)


@lru_cache(maxsize=4096)
def covered_conditions(conditions: str) -> str:
    """A guideline's Disease/Condition(s) text without what its scope notes leave out.

    NGC lists a guideline's conditions, then often a note of what it does *not* cover ("Note: The
    guideline will not consider management of ... vascular headaches, and migraines"): the sinusitis
    guideline is not about migraine. Everything from the first exclusion (does not, not covered,
    excludes, except) is dropped, and so are asides such as "(excluding cutaneous T-cell lymphoma)".
    Cached: the same guidelines come back for request after request.

    Example:
        >>> covered_conditions("Acute rhinosinusitis; Note: The guideline will not consider migraines.")
        'Acute rhinosinusitis'
        >>> covered_conditions("T-cell neoplasms (excluding cutaneous T-cell lymphoma); - NK-cell neoplasms")
        'T-cell neoplasms; - NK-cell neoplasms'
        >>> covered_conditions("Stress fractures including sacrum, excluding other vertebrae")
        'Stress fractures including sacrum'
        >>> covered_conditions("Lower limb amputation; - Dysvascular complications from diabetes, smoking")
        'Lower limb amputation; - Dysvascular complications'
    """
    kept: list[str] = []
    for part in _SCOPE_ASIDE.sub("", conditions).split(";"):
        part = _SCOPE_CAUSE.sub("", part)
        found = _SCOPE_EXCLUSION.search(part)
        if found is None:
            kept.append(part.rstrip())
            continue
        before = part[: found.start()].rstrip(" ,")
        if not re.match(r"\s*(?:-\s*)?note\b", before, re.I):
            kept.append(before)  # "fractures including sacrum, excluding other vertebrae"
        break
    return ";".join(kept).strip(" ;")


def topic_names(*titles: str) -> tuple[tuple[str, ...], ...]:
    """Each name of a condition as its distinctive word stems (for the topic feature).

    A condition has several names (catalogue title, category title, inclusion terms, clinical
    synonyms); a guideline is about the condition when it names one of them in full, so the stems stay
    grouped by name instead of pooled (pooled, a guideline titled "Hypertension" would cover a fifth of
    "hypertension, HTN, high blood pressure").

    Two things keep a short name from shrinking to one common word: a two-letter abbreviation in
    capitals is kept beside other words ("hip OA" is not "hip", "permanent AF" not "permanent"), and
    where the qualifiers the topic test ignores (:data:`_KIND_WORDS`: chronic, acute, multiple,
    disease, disorder) would leave a single word, they stay ("Chronic kidney disease" is not
    "kidney", "Multiple sclerosis" not "sclerosis", "Sleep disorders" not "sleep").

    Example:
        >>> topic_names("Essential (primary) hypertension", "High blood pressure")
        (('hyperten',), ('high', 'blood', 'pressur'))
        >>> topic_names("hip OA", "Chronic kidney disease", "Multiple sclerosis", "PE")
        (('hip', 'oa'), ('chron', 'kidne', 'diseas'), ('multipl', 'sclerosi'))
        >>> topic_names("Nicotine dependence", "smoke", "smoking")
        (('nicotin', 'dependen'), ('smoking',))
    """
    names: list[tuple[str, ...]] = []
    for title in titles:
        words: list[tuple[str, str]] = []  # (stem, "word" | "kind" | "acronym" | "abbreviation"), in order
        for token in re.findall(r"[A-Za-z][A-Za-z0-9]*", _NON.sub(r"\1", title)):
            word = american_spelling(token.lower())
            if len(token) == 2 and token.isupper():
                words.append((word, "abbreviation"))  # "OA", "AF": a whole word (see _names)
            elif len(word) < 3 or (word in _TOPIC_STOP and word not in _KIND_WORDS):
                continue
            elif word in _TOPIC_STOP:
                words.append((_stem(word), "kind"))
            else:
                words.append((_stem(word), "acronym" if sum(c.isupper() for c in token) >= 2 else "word"))
        stems = list(dict.fromkeys(stem for stem, kind in words if kind in ("word", "acronym")))
        if len(stems) == 1:
            # one word alone: the qualifiers beside it stay ("chronic kidney disease"), but an acronym
            # ("HBV", "HFrEF") is a name on its own, whatever qualifies it; abbreviations stay either way
            qualified = (stems[0], "acronym") not in words
            stems = list(
                dict.fromkeys(
                    s for s, kind in words if kind != "abbreviation" and (qualified or kind != "kind")
                )
            )
            stems += [s for s, kind in words if kind == "abbreviation" and s not in stems]
        if stems and set(stems) not in (set(n) for n in names) and tuple(stems) not in _NOT_A_NAME:
            names.append(tuple(stems))
    return tuple(names)


_NOT_A_NAME = frozenset({("smoke",), ("smoked",), ("smokes",)})
"""One-word synonyms a note coder reads ("smokes 20/day") that name no guideline's topic: "smoke" alone is
surgical smoke or a fire's as much as tobacco's ("Guideline for surgical smoke safety" is not about
nicotine dependence)."""


_KIND_WORDS = frozenset({"chronic", "acute", "multiple", "disease", "diseases", "disorder", "disorders"})
"""Words the topic test ignores in a longer name ("Chronic obstructive pulmonary disease" is named by
"obstructive pulmonary") that a name of one other word needs: "chronic kidney disease" is not
"kidney"."""


def topic_coverage(names: Sequence[Sequence[str]], text: str) -> float:
    """The largest share of one name's stems that ``text`` names (1.0: some name is there in full).

    Example:
        >>> names = topic_names("Heart failure", "Congestive heart failure")
        >>> topic_coverage(names, "Heart failure in adults"), topic_coverage(names, "Heart disease")
        (1.0, 0.5)
    """
    best = 0.0
    for name in names:
        if name:
            best = max(best, sum(1 for stem in name if _names(stem, text)) / len(name))
            if best == 1.0:
                break
    return best


@lru_cache(maxsize=1 << 16)
def _coverage(names: tuple[tuple[str, ...], ...], text: str) -> float:
    """:func:`topic_coverage`, kept for the guidelines and passages that come back request after
    request (a service sees the same conditions' guidelines again and again)."""
    return topic_coverage(names, text)


def _names(stem: str, text: str) -> bool:
    """True when a word of ``text`` starts with ``stem`` (so "aura" is not found in "restaurant").

    Short stems (abbreviations such as "HTN", "fib", "hip") must be a whole word, plural allowed, so
    that "fib" does not name fibrosis.

    A one-word stem is looked up in the text's sorted words, read once per text, instead of searching
    the text again for each stem (a passage meets a dozen stems); other stems are searched.

    Example:
        >>> _names("aura", "Migraine with aura"), _names("aura", "restaurant"), _names("fib", "fibrosis")
        (True, False, False)
        >>> _names("hyperten", "Hypertensive disease"), _names("HTN", "HTNs in adults")
        (True, True)
    """
    key = stem.lower()
    if _WORD_STEM.fullmatch(key) is None:
        return _stem_pattern(stem).search(text) is not None
    words, ordered = _text_words(text)
    if len(key) <= 4:
        return any(form in words for form in _whole_word_forms(key))
    at = bisect_left(ordered, key)
    return at < len(ordered) and ordered[at].startswith(key)


_WORD_STEM = re.compile(r"\w+")


def _whole_word_forms(stem: str) -> tuple[str, str, str]:
    """The words a short stem (four letters or fewer) names: itself and its plurals."""
    return (stem, stem + "s", stem + "es")


class TopicIndex:
    """Which of many texts name a condition in full (:func:`topic_coverage` 1.0), found through an
    index of their words instead of a pass over every text: the guidelines about a code, among all
    of an index's guidelines, for each new code.

    Example:
        >>> index = TopicIndex({"a": "Hypertension in adults", "b": "Type 2 diabetes", "c": "HTN, diabetes"})
        >>> sorted(index.naming(topic_names("Essential hypertension", "HTN")))
        ['a', 'c']
    """

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts = dict(texts)
        docs: dict[str, set[str]] = {}
        for key, text in self._texts.items():
            for word in _text_words(text)[1]:
                docs.setdefault(word, set()).add(key)
        self._words = sorted(docs)
        self._docs = {word: frozenset(keys) for word, keys in docs.items()}

    def naming(self, names: Sequence[Sequence[str]]) -> frozenset[str]:
        """The keys of the texts that name one of ``names`` in full."""
        found: set[str] = set()
        for name in names:
            if not name:
                continue
            if any(_WORD_STEM.fullmatch(stem.lower()) is None for stem in name):
                found |= {k for k, t in self._texts.items() if topic_coverage([name], t) == 1.0}
                continue
            common: frozenset[str] | None = None
            for stem in name:
                having = self._having(stem.lower())
                common = having if common is None else common & having
                if not common:
                    break
            found |= common or set()
        return frozenset(found)

    def _having(self, stem: str) -> frozenset[str]:
        """The texts with a word :func:`_names` counts as ``stem``."""
        if len(stem) <= 4:
            return frozenset().union(*(self._docs.get(w, frozenset()) for w in _whole_word_forms(stem)))
        start = bisect_left(self._words, stem)
        end = bisect_left(self._words, stem + chr(sys.maxunicode), start)
        return frozenset().union(*(self._docs[w] for w in self._words[start:end]))


# "non-" joined to the word it negates, and "post-"/"pre-" to "term" ("post-term pregnancy" is no "post"
# and "pregnancy" apart)
_NON = re.compile(r"\b(non|post(?=[- ]term\b)|pre(?=[- ]term\b))[- ](?=[a-z])", re.I)


def _join_non(text: str) -> str:
    """``text`` lower-cased with "non-" joined to the word it negates: "non-alcoholic" reads as
    "nonalcoholic", so it names no "alcoholic" condition, nor "non-Hodgkin lymphoma" Hodgkin lymphoma.

    Example:
        >>> _join_non("Non-alcoholic fatty liver disease; non-Hodgkin lymphoma")
        'nonalcoholic fatty liver disease; nonhodgkin lymphoma'
        >>> _join_non("Post-term pregnancy, post-operative care")
        'postterm pregnancy, post-operative care'
    """
    return _NON.sub(r"\1", text.lower())


@lru_cache(maxsize=2048)
def _text_words(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The words of a text, lower-cased and with "non-" joined to its word (:func:`_join_non`), each
    British spelling also in American spelling, as the catalogue's names are written ("anaemia" names
    anemia, "oesophageal" esophageal): as a set and sorted (for a prefix's bisection).

    Example:
        >>> _text_words("Iron deficiency anaemia")[1]
        ('anaemia', 'anemia', 'deficiency', 'iron')
    """
    words = set(_WORD_STEM.findall(_join_non(text)))
    ordered = tuple(sorted(words | {american_spelling(word) for word in words}))
    return frozenset(ordered), ordered


def names_only_negated(names: Sequence[Sequence[str]], text: str) -> bool:
    """True when ``text`` names a word of the condition's own name (its first, the catalogue title)
    only negated: "Non-alcoholic fatty liver disease" for alcoholic cirrhosis of liver. Such a text is
    about the condition's counterpart, even where it names a broader name of it ("cirrhosis") in full.

    Example:
        >>> names = topic_names("Alcoholic cirrhosis of liver", "cirrhosis")
        >>> names_only_negated(names, "Non-alcoholic fatty liver disease; NASH; cirrhosis")
        True
        >>> names_only_negated(names, "Alcoholic and non-alcoholic liver disease")
        False
        >>> names_only_negated(names, "Cirrhosis in over 16s")
        False
    """
    if not names:
        return False
    joined = _join_non(text)
    return any(len(stem) >= 5 and "non" + stem in joined and not _names(stem, text) for stem in names[0])


@lru_cache(maxsize=4096)
def _stem_pattern(stem: str) -> re.Pattern[str]:
    if len(stem) <= 4:
        return re.compile(r"\b" + re.escape(stem) + r"(?:s|es)?\b", re.I)
    return re.compile(r"\b" + re.escape(stem), re.I)


# Condition names told apart from their siblings by a letter or number after a head word: type 1
# against type 2 diabetes, hepatitis B against hepatitis C, vitamin D against vitamin B12. "type" is
# a designator only together with the word after it in the code's name ("type 2 diabetes", not "type
# 1 error"); hepatitis letters also come as virus abbreviations (HBV, HCV).
_MARK = r"(?:[A-Z](?:\d{1,2})?|\d)\b"
_DESIGNATED = re.compile(
    rf"\b(type|hepatitis|vitamin|hemophilia|haemophilia|influenza)[\s-]+({_MARK}"
    rf"(?:(?:\s*(?:,|/|\band\b|\bor\b))+\s*(?:type\s+)?{_MARK})*)(?:[\s-]+([a-z]{{3,}}))?",
    re.I,
)
_DESIGNATOR_TAIL = frozenset({"type"})  # heads whose designator needs the next word too


class Designator(NamedTuple):
    """A letter or number that tells a condition from its siblings (``type 2`` of type 2 diabetes)."""

    head: str  # "type", "hepatitis", ...
    mark: str  # "2", "B", "D" (upper case; a vitamin's number is dropped: D3 is D)
    tail: str  # the stem of the next word when the head needs it ("diabet"), else ""


def _mark(head: str, mark: str) -> str:
    mark = mark.upper()
    if head == "vitamin":
        return mark.rstrip("0123456789") or mark
    return mark


def designators(*names: str) -> tuple[Designator, ...]:
    """The sibling-telling designators in a condition's names (:func:`names_a_sibling` uses them).

    Example:
        >>> designators("Chronic viral hepatitis B without delta-agent", "chronic HBV")
        (Designator(head='hepatitis', mark='B', tail=''),)
        >>> designators("Type 2 diabetes mellitus", "T2DM")
        (Designator(head='type', mark='2', tail='diabet'),)
    """
    out: list[Designator] = []
    for name in names:
        for d in _designated(name):
            if (d.tail or d.head not in _DESIGNATOR_TAIL) and d not in out:
                out.append(d)
    return tuple(out)


def _designated(text: str) -> list[Designator]:
    """Each designator a text names: "hepatitis B and C" names two, "type 1 or type 2 diabetes" two."""
    found = []
    for m in _DESIGNATED.finditer(text):
        head = m.group(1).lower().replace("haemo", "hemo")
        tail = _stem(m.group(3).lower()) if head in _DESIGNATOR_TAIL and m.group(3) else ""
        for mark in re.findall(r"\b" + _MARK, m.group(2), re.I):
            found.append(Designator(head, _mark(head, mark), tail))
    return found


_VIRUS = re.compile(r"\bH([A-E])V\b")
_DIABETES_TYPE = re.compile(r"\bT([12])D(?:M)?\b")


def _named_like(own: Sequence[Designator], text: str) -> set[Designator]:
    """The designators ``text`` names that share a head (and tail) with one of ``own``."""
    heads = {(d.head, d.tail) for d in own}
    found = set(_designated(text))
    found.update(Designator("hepatitis", letter.upper(), "") for letter in _VIRUS.findall(text))
    found.update(Designator("type", number, "diabet") for number in _DIABETES_TYPE.findall(text))
    return {d for d in found if (d.head, d.tail) in heads}


def names_only_itself(own: Sequence[Designator], text: str) -> bool:
    """True when ``text`` names the condition by its designator and no sibling: a guideline titled
    so speaks of the siblings for its own patients ("test for HCV co-infection").

    Example:
        >>> own = designators("hepatitis B")
        >>> names_only_itself(own, "Chronic hepatitis B"), names_only_itself(own, "Hepatitis B and C")
        (True, False)
    """
    named = _named_like(own, text)
    return bool(named) and named <= set(own)


_SUBTYPE_OPENING = 100  # characters of a passage whose headings and first words say which subtype it is on
_SUBTYPES: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (re.compile(one, re.I), re.compile(other, re.I))
    for one, other in (
        # heart failure with reduced or with preserved ejection fraction
        (
            r"\b(?:reduced (?:left ventricular )?ejection fraction|HFrEF"
            r"|systolic (?:\(congestive\) )?heart failure|systolic dysfunction)\b",
            r"\b(?:preserved (?:left ventricular )?ejection fraction|HFpEF"
            r"|diastolic (?:\(congestive\) )?heart failure|diastolic dysfunction)\b",
        ),
        # an infection caught in the community or in hospital
        (
            r"\b(?:community[- ]acquired|CAP)\b",
            r"\b(?:hospital[- ]acquired|ventilator[- ]associated|nosocomial|HAP|VAP)\b",
        ),
        # hypothyroidism of the thyroid itself (E03, E06.3) or of the pituitary (E23.0)
        (
            r"\b(?:primary (?:autoimmune )?hypothyroidism|Hashimoto'?s?|(?:chronic )?autoimmune thyroiditis"
            r"|Hypothyroidism, unspecified)\b",
            r"\b(?:(?:central|secondary|pituitary|hypothalamic) hypothyroidism|hypopituitarism)\b",
        ),
    )
)
"""Pairs of subtypes of one condition that guidelines treat apart: heart failure with reduced and with
preserved ejection fraction, community- and hospital-acquired infection, primary and central
hypothyroidism."""


def subtype_sides(text: str) -> frozenset[tuple[int, int]]:
    """The subtypes of :data:`_SUBTYPES` a text names, as ``(pair, side)``.

    Example:
        >>> sorted(subtype_sides("Chronic systolic (congestive) heart failure"))
        [(0, 0)]
        >>> sorted(subtype_sides("Hospital-Acquired Pneumonia Antibiotic Therapy"))
        [(1, 1)]
    """
    return frozenset(
        (pair, side)
        for pair, patterns in enumerate(_SUBTYPES)
        for side, pattern in enumerate(patterns)
        if pattern.search(text)
    )


def names_other_subtype(text: str, own: Collection[tuple[int, int]]) -> bool:
    """True when ``text`` names the other subtype of a pair whose one subtype is ``own``
    (:func:`subtype_sides`) and not ``own`` itself: a heading on heart failure with preserved ejection
    fraction for a patient with reduced ejection fraction.

    Example:
        >>> reduced = subtype_sides("heart failure with reduced ejection fraction")
        >>> names_other_subtype("Treatment of Heart Failure with Preserved Ejection Fraction", reduced)
        True
        >>> names_other_subtype("HFrEF and HFpEF: diuretics for congestion", reduced)
        False
    """
    named = subtype_sides(text)
    return any((pair, 1 - side) in named and (pair, side) not in named for pair, side in own)


def patient_subtypes(title: str, notes: Sequence[str] = ()) -> frozenset[tuple[int, int]]:
    """The subtypes a code's title, or else the patient's notes, name: only one side of each pair.

    Example:
        >>> notes = ["Community-acquired pneumonia, CURB-65 1."]
        >>> sorted(patient_subtypes("Pneumonia, unspecified organism", notes))
        [(1, 0)]
    """
    sides = subtype_sides(title) or subtype_sides(" ".join(notes))
    return frozenset((pair, side) for pair, side in sides if (pair, 1 - side) not in sides)


def names_a_sibling(own: Sequence[Designator], text: str) -> bool:
    """True when ``text`` names a sibling of the condition (hepatitis C for hepatitis B) and not the
    condition itself, by the designators of :func:`designators`.

    A text naming both ("hepatitis B and C co-infection"), or neither, is not a sibling's.

    Example:
        >>> own = designators("Chronic viral hepatitis B")
        >>> names_a_sibling(own, "Treatment of Chronic Hepatitis C"), names_a_sibling(own, "HBV and HCV")
        (True, False)
        >>> names_a_sibling(designators("Type 2 diabetes"), "Insulin pumps in type 1 diabetes")
        True
        >>> names_a_sibling(designators("Type 2 diabetes"), "Type 1 error; diabetes in adults")
        False
        >>> t2 = designators("Type 2 diabetes")
        >>> names_a_sibling(t2, "In T2DM, not type 1 diabetes"), names_a_sibling(t2, "type 1 or 2 diabetes")
        (False, False)
    """
    if not own:
        return False
    named = _named_like(own, text)
    return bool(named) and not named & set(own)


def about_another(
    names: Sequence[Sequence[str]],
    siblings: Sequence[Designator],
    text: str,
    sibling_names: Sequence[str] = (),
) -> bool:
    """True when a guideline's topic ``text`` is about another condition than the one of ``names``
    and ``siblings``, whatever broader name of it the text holds: it names only a sibling
    (:func:`names_a_sibling`, hepatitis C for B), names the condition only inside a sibling's name
    (:func:`names_only_siblings`, "interstitial cystitis" for acute cystitis), or names a word of the
    condition's own title only negated (:func:`names_only_negated`, "non-alcoholic" for alcoholic
    cirrhosis). Such a guideline has topic 0 in the ranking and is no guideline about the condition
    for its second pool.

    Example:
        >>> names = topic_names("Chronic viral hepatitis B", "Chronic viral hepatitis")
        >>> about_another(names, designators("Chronic viral hepatitis B"), "Management of hepatitis C")
        True
        >>> about_another(names, designators("Chronic viral hepatitis B"), "Hepatitis B (chronic)")
        False
    """
    return (
        names_a_sibling(siblings, text)
        or names_only_siblings(names, sibling_names, text)
        or names_only_negated(names, text)
    )


def names_only_siblings(names: Sequence[Sequence[str]], sibling_names: Sequence[str], text: str) -> bool:
    """True when ``text`` names the condition in full only inside the names of its siblings in the
    catalogue (:func:`garmle.query.sibling_names`): "Diagnosis and treatment of interstitial
    cystitis" names cystitis, yet is not about acute cystitis. A sibling's name that adds no word to
    the condition's own names ("primary osteoarthritis of knee" beside unilateral primary
    osteoarthritis of the knee) is the condition itself, and not taken away.

    Example:
        >>> names = topic_names("Acute cystitis", "Cystitis")
        >>> names_only_siblings(names, ["Interstitial cystitis"], "Interstitial cystitis/bladder pain")
        True
        >>> names_only_siblings(names, ["Interstitial cystitis"], "Cystitis and interstitial cystitis")
        False
    """
    own = tuple(tuple(name) for name in names)  # hashable, for the kept pattern and coverage
    pattern = _sibling_pattern(own, tuple(sibling_names))
    if pattern is None or _coverage(own, text) < 1.0:
        return False
    stripped = pattern.sub(" ", text)
    return stripped != text and topic_coverage(own, stripped) < 1.0


@lru_cache(maxsize=1024)
def _sibling_pattern(
    names: tuple[tuple[str, ...], ...], sibling_names: tuple[str, ...]
) -> re.Pattern[str] | None:
    """The siblings' names that add a word to the condition's own, as one pattern of word stems."""
    own = {stem for name in names for stem in name}
    phrases = []
    for sibling in sibling_names:
        words = [american_spelling(w.lower()) for w in re.findall(r"[A-Za-z0-9]+", sibling)]
        if {_stem(w) for w in words if w not in _TOPIC_STOP} - own:
            phrases.append(r"[\s-]+".join(re.escape(_stem(w)) + r"\w*" for w in words))
    return re.compile(r"\b(?:" + "|".join(phrases) + ")", re.I) if phrases else None


def match_facts(text: str, fact_terms: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The facts (keys) whose terms occur in ``text``, each at the start of a word ("black" is not in
    "nonblack", nor "asian" in "Caucasian"; "statin" is in "statins").

    Example:
        >>> match_facts("Keep blood pressure below 130/80 mmHg.", {"BP 150/95 mmHg": ("blood pressure",)})
        ('BP 150/95 mmHg',)
        >>> match_facts("In the general nonblack population, ...", {"ethnicity: black": ("black",)})
        ()
    """
    return tuple(fact for fact, terms in fact_terms.items() if _terms_pattern(tuple(terms)).search(text))


@lru_cache(maxsize=1024)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in terms if t) or r"(?!)"
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})", re.I)


def snippet_from_chunk(
    chunk: Chunk,
    score: float,
    *,
    matched_facts: Sequence[str] = (),
    aspect: str = "",
) -> Snippet:
    """A cited snippet for a stored chunk (its text is the chunk's verbatim span)."""
    meta = chunk.metadata
    year = meta.get("year", "")
    return Snippet(
        text=chunk.text,
        doc_id=chunk.doc_id,
        chunk_id=chunk.chunk_id,
        title=meta.get("title", ""),
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        score=round(float(score), 6),
        publisher=meta.get("publisher", ""),
        year=int(year) if str(year).isdigit() and int(year) > 0 else None,
        page=chunk.page,
        section=chunk.section,
        source=meta.get("source", ""),
        strength=meta.get("strength", ""),
        matched_facts=tuple(matched_facts),
        aspect=aspect,
    )


_TRAITS: dict[tuple[str, int, int], tuple[bool, float, float, bool]] = {}
_TRAITS_SIZE = 200_000


def _traits(chunk: Chunk) -> tuple[bool, float, float, bool]:
    """A passage's own traits, kept between requests (the same guidelines' passages come back for
    patient after patient): whether it is no snippet (:func:`is_title_only`, :func:`is_empty_passage`),
    its :func:`action_strength`, its section prior with the editorial note's factor, and whether it is
    about finding its condition (:func:`is_diagnostic`)."""
    key = (chunk.chunk_id, chunk.char_start, chunk.char_end)
    found = _TRAITS.get(key)
    if found is None:
        if len(_TRAITS) >= _TRAITS_SIZE:
            _TRAITS.clear()
        found = _TRAITS[key] = (
            is_title_only(chunk) or is_empty_passage(chunk),
            action_strength(chunk),
            section_prior(chunk.section)
            * (_EDITORIAL_FACTOR if is_editorial_note(chunk) or is_statement_profile(chunk) else 1.0),
            is_diagnostic(chunk),
        )
    return found


def rank_snippets(
    prediction: CodePrediction,
    hits_by_aspect: Mapping[str, Sequence[Hit]],
    *,
    fact_terms: Mapping[str, Sequence[str]],
    topic: Sequence[Sequence[str]],
    doc_topics: Mapping[str, str],
    vectors: Mapping[str, np.ndarray],
    excluded_docs: Mapping[str, str],
    top_k: int,
    weights: FusionWeights | None = None,
    aspect_weights: Mapping[str, float] | None = None,
    cross_aspects: Collection[str] = (),
    related_topics: Sequence[Sequence[Sequence[str]]] = (),
    patient: Patient | None = None,
    populations: Mapping[str, PassagePopulation] | None = None,
    patient_conditions: Collection[str] | None = None,
    siblings: Sequence[Designator] = (),
    sibling_names: Sequence[str] = (),
) -> tuple[list[Snippet], dict[str, int]]:
    """The ``top_k`` snippets for one code, and how many candidates each exclusion rule removed.

    Args:
        prediction: the code.
        hits_by_aspect: fused hits of each aspect query for this code.
        fact_terms: patient facts relevant to the code -> matching terms.
        topic: the condition's names as distinctive stems (:func:`topic_names`).
        doc_topics: doc id -> the guideline's title and conditions text.
        vectors: chunk id -> stored vector (for MMR; missing vectors disable redundancy for that chunk).
        excluded_docs: doc id -> why the guideline does not fit the patient.
        top_k: snippets to return.
        weights: feature weights.
        aspect_weights: how much each aspect's ranking counts (the templates' ``weight``).
        cross_aspects: aspects whose evidence may come from guidelines about other conditions.
        related_topics: the names (:func:`topic_names`) of each of the patient's other conditions. A
            passage from a guideline that is not about this condition (no name of it in full) keeps its
            score only when a cross aspect retrieved it and the guideline names another of the
            patient's conditions in full, or one of the patient's facts (the cholesterol
            guideline for a patient with diabetes and a raised LDL, not an atrial fibrillation
            guideline for a patient without it); otherwise it is scaled by ``off_topic_factor``.
        patient: the patient; a passage addressed to another population
            (:func:`passage_population_conflict`) is scaled by ``passage_population_factor``.
        populations: the index's readings of its passages (:func:`passage_populations`: chunk id ->
            reading, passages addressed to anyone left out); without it each passage is read here.
        patient_conditions: the patient's conditions (:func:`conditions_of` their codes); a passage
            addressed to patients with other conditions is scaled like one for another population.
            None (unknown) skips that check.
        siblings: the condition's designators (:func:`designators`). A guideline whose title and
            conditions name a sibling condition and not this one (hepatitis C for hepatitis B, type
            1 for type 2 diabetes) is not about it (topic 0, as above); in a guideline not about
            this condition alone, a passage that names only a sibling is scaled by
            ``off_topic_factor`` and counts as not naming the condition.
        sibling_names: the names of the condition's siblings in the catalogue
            (:func:`garmle.query.sibling_names`); a guideline naming the condition only inside them
            ("interstitial cystitis" for acute cystitis) is not about it either.
    """
    w = weights or FusionWeights()
    carried = not prediction.code.upper().startswith(WORKUP_CHAPTERS)
    names = tuple(tuple(n) for n in topic)  # hashable, for the kept coverages (_coverage)
    related_names = [tuple(tuple(n) for n in r) for r in related_topics]
    rankings = {aspect: [h.chunk.chunk_id for h in hits] for aspect, hits in hits_by_aspect.items()}
    combine = "max" if w.aspect_fusion == "max" else "sum"
    fused = rrf_fuse(rankings, k=w.aspect_rank_k, weights=aspect_weights, combine=combine)
    pool: dict[str, Hit] = {}
    best_aspect: dict[str, tuple[int, str]] = {}
    for aspect, hits in hits_by_aspect.items():
        for rank, hit in enumerate(hits, start=1):
            pool.setdefault(hit.chunk.chunk_id, hit)
            if hit.chunk.chunk_id not in best_aspect or rank < best_aspect[hit.chunk.chunk_id][0]:
                best_aspect[hit.chunk.chunk_id] = (rank, aspect)
    dropped = {"population": 0, "off_topic": 0, "weak": 0}
    doc_prevents: dict[str, bool] = {}  # the guideline is about preventing the patient's condition
    # the condition's subtype (reduced ejection fraction, community-acquired), whose other subtype's
    # guidelines and sections rank as off topic
    subtypes = patient_subtypes(prediction.title, patient.notes if patient is not None else ())
    doc_other_subtype: dict[str, bool] = {}  # the guideline's title names the other subtype
    crossing_ids = {cid for a in cross_aspects for cid in rankings.get(a, ())}
    symptomatic = patient is not None and says_symptomatic(patient.notes)
    fact_words = tuple(dict.fromkeys(t for terms in fact_terms.values() for t in terms if t))
    candidates: list[tuple[str, float, tuple[str, ...]]] = []
    top_fused = max(fused.values(), default=1.0)
    doc_share: dict[str, float] = {}  # per guideline, not per passage
    doc_own: dict[str, bool] = {}  # guideline names this condition's designators, no sibling's
    doc_related: dict[str, bool] = {}
    for cid, rrf in fused.items():
        chunk = pool[cid].chunk
        if w.population_filter and chunk.doc_id in excluded_docs:
            dropped["population"] += 1
            continue
        weak, action, prior, diagnostic = _traits(chunk)
        if weak:
            dropped["weak"] += 1
            continue
        doc_text = doc_topics.get(chunk.doc_id, chunk.metadata.get("title", ""))
        if chunk.doc_id not in doc_share:
            sibling_doc = about_another(names, siblings, doc_text, sibling_names)
            doc_share[chunk.doc_id] = _coverage(names, doc_text) if topic and not sibling_doc else 0.0
            doc_own[chunk.doc_id] = names_only_itself(siblings, doc_text)
            title = chunk.metadata.get("title", "")
            prevented = prevented_condition(title) if carried else None
            doc_prevents[chunk.doc_id] = prevented is not None and _coverage(names, prevented) == 1.0
            doc_other_subtype[chunk.doc_id] = bool(subtypes) and names_other_subtype(title, subtypes)
        topic_share = doc_share[chunk.doc_id]
        off_topic = bool(topic) and topic_share < w.topic_required
        sibling_passage = not doc_own[chunk.doc_id] and names_a_sibling(siblings, chunk.text)
        if (
            w.require_topic
            and off_topic
            and (sibling_passage or _coverage(names, chunk.text) < w.topic_required)
        ):
            # Neither the guideline nor the passage names the condition: no evidence beats unrelated evidence.
            dropped["off_topic"] += 1
            continue
        matched = match_facts(chunk.text, fact_terms)
        fact_share = len(matched) / len(fact_terms) if fact_terms else 0.0
        score = (
            w.retrieval * (rrf / top_fused)
            + w.topic * topic_share
            + w.facts * fact_share
            + w.prediction * max(0.0, min(1.0, prediction.score))
            + w.action * action
        ) * (w.section_floor + (1 - w.section_floor) * prior)
        if off_topic and chunk.doc_id not in doc_related:
            doc_related[chunk.doc_id] = any(
                _coverage(other, doc_text) == 1.0 for other in related_names
            ) or any(_names(t, doc_text) for t in fact_words)
        other_subtype = bool(subtypes) and (
            names_other_subtype(chunk.text[:_SUBTYPE_OPENING], subtypes)
            or (doc_other_subtype[chunk.doc_id] and not subtype_sides(chunk.text) & subtypes)
        )
        if (
            (off_topic and not (cid in crossing_ids and doc_related[chunk.doc_id]))
            or sibling_passage
            or other_subtype
        ):
            score *= w.off_topic_factor
        # the factor only lowers a score: passages already below the floor skip the check
        if (
            patient is not None
            and w.population_filter
            and score >= w.min_score
            and (
                written_for_others(chunk.metadata.get("title", ""), patient_conditions)
                or passage_population_conflict(
                    passage_population(chunk.text, chunk.section)
                    if populations is None
                    else populations.get(cid, ANYONE),
                    patient,
                    patient_conditions,
                )
            )
        ):
            score *= w.passage_population_factor
        if (
            symptomatic
            and w.population_filter
            and score >= w.min_score
            and _FOR_ASYMPTOMATIC.search(chunk.text, 0, _OPENING_CHARS) is not None
        ):
            # "AVR is reasonable for asymptomatic patients with very severe AS" for a patient whose
            # notes call the condition symptomatic
            score *= w.passage_population_factor
        if (
            patient_conditions is not None
            and w.population_filter
            and score >= w.min_score
            and for_another_stage((chunk.metadata.get("title", ""), *chunk.section[1:]), patient_conditions)
        ):
            score *= w.passage_population_factor
        if score < w.min_score:
            dropped["weak"] += 1
            continue
        if carried and (diagnostic or doc_prevents[chunk.doc_id]):
            # ranks below what to do now, yet stays evidence: a screening guideline may be all there is
            score *= w.diagnostic_factor
        candidates.append((cid, score, matched))
    candidates.sort(key=lambda c: -c[1])
    candidates = candidates[: max(top_k * 6, 30)]
    if not candidates:
        return [], dropped
    dim = next((len(v) for v in vectors.values()), 1)
    matrix = np.stack([vectors.get(cid, np.zeros(dim, dtype=np.float32)) for cid, _, _ in candidates])
    order = mmr_select(
        [c[1] for c in candidates],
        matrix,
        top_k,
        lambda_=w.mmr_lambda,
        groups=[pool[c[0]].chunk.doc_id for c in candidates],
        max_per_group=w.max_per_doc,
        group_decay=w.doc_decay,
        over_cap=w.over_cap_factor,
    )
    snippets = []
    for i in order:
        cid, score, matched = candidates[i]
        snippets.append(
            snippet_from_chunk(pool[cid].chunk, score, matched_facts=matched, aspect=best_aspect[cid][1])
        )
    return snippets, dropped


def verify_snippets(
    snippets: Sequence[Snippet], documents: Mapping[str, Document]
) -> tuple[list[Snippet], VerbatimCheck]:
    """Keep only snippets that equal their document's canonical text at their span.

    Example:
        >>> from garmle.types import Document, Snippet
        >>> doc = Document(doc_id="d", title="T", text="abc")
        >>> bad = Snippet("xyz", "d", "d:0", "T", char_start=0, char_end=3, score=1)
        >>> verify_snippets([bad], {"d": doc})[1].failed
        1
    """
    kept: list[Snippet] = []
    dropped: list[str] = []
    for snip in snippets:
        doc = documents.get(snip.doc_id)
        ok = (
            doc is not None
            and 0 <= snip.char_start < snip.char_end <= len(doc.text)
            and doc.text[snip.char_start : snip.char_end] == snip.text
        )
        if ok:
            kept.append(snip)
        else:
            dropped.append(snip.chunk_id)
            log.warning("dropped snippet %s: it does not match its source span", snip.chunk_id)
    return kept, VerbatimCheck(checked=len(snippets), failed=len(dropped), dropped=tuple(dropped))


PRESENTING_SHARE = 3
"""Places the presenting condition's guidance takes in the leading list for each place of any other
code's (:func:`leading_snippets`)."""


def leading_snippets(
    recommendations: Sequence[Recommendation], k: int, *, presenting_share: int = PRESENTING_SHARE
) -> list[tuple[str, Snippet]]:
    """The patient's ``k`` leading snippets across codes, each with its code, best first.

    The codes take turns in their report order, each giving its next snippet not already listed; the
    first code, the condition the patient is seen for (the one the note's assessment names first),
    gives ``presenting_share`` snippets per turn, every other code one. A comorbidity such as
    hypertension or prediabetes beside the presenting problem keeps a place near the top, but no
    longer halves the presenting problem's places: with five codes, round-robin would leave the
    reason for the visit two of ten. Snippet scores are not compared across codes, since each code's
    scores are scaled to its own best candidate.

    Example:
        >>> def rec(code):
        ...     snippets = tuple(Snippet(f"{code}{i}", "d", f"{code}{i}", "T", 0, 1, 1.0) for i in range(4))
        ...     return Recommendation(code.upper(), code, 0.9, snippets=snippets)
        >>> a, b = rec("a"), rec("b")
        >>> [f"{code}:{s.chunk_id}" for code, s in leading_snippets([a, b], 5)]
        ['A:a0', 'A:a1', 'A:a2', 'B:b0', 'A:a3']
    """
    # each code's snippets still to give, and how many it gives per turn
    pending = [
        (rec.code, iter(rec.snippets), max(1, presenting_share) if i == 0 else 1)
        for i, rec in enumerate(recommendations)
    ]
    out: list[tuple[str, Snippet]] = []
    seen: set[str] = set()
    while pending and len(out) < k:
        for turn in list(pending):
            code, snippets, share = turn
            for _ in range(share):
                snippet = next((s for s in snippets if s.chunk_id not in seen), None)
                if snippet is None:
                    pending.remove(turn)
                    break
                seen.add(snippet.chunk_id)
                out.append((code, snippet))
    return out[:k]

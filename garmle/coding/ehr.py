"""Codes from the structured record: vital signs, labs, medications and coded problems.

The rules are data (``garmle/data/ehr_rules.json``, versioned) so a reviewer
can read and change the thresholds without reading code. Three kinds exist:

* ``blood_pressure``: the mean of the latest ``recent`` readings (at least
  ``min_readings``) reaches ``systolic_min`` or ``diastolic_min``;
* ``lab``: at least ``min_count`` readings of ``name`` lie in
  ``[min, max)``, optionally ``min_days_apart`` days apart, and the latest
  reading lies in ``[latest_min, latest_max)``;
* ``medication``: an active medication contains one of the ``any`` words, or
  one word of each group in ``all``.

Any rule may hold to ages in ``[min_age, max_age)`` (a child's BMI is read
against other thresholds than an adult's). A rule may name codes it
``suppresses`` (HbA1c > 9% -> E11.65 replaces E11.9). Each prediction's
evidence lists the readings and medications that fired it, so the
structured record alone can carry a prediction. Problems
already coded in the record (``Problem.icd10``) pass through unless
``use_recorded_problems=False``.

Example:
    >>> from garmle.catalogue import IcdCatalogue
    >>> from garmle.types import BloodPressure, Patient
    >>> p = Patient("p", blood_pressures=(BloodPressure(150, 95), BloodPressure(146, 92)))
    >>> [x.code for x in EhrCoder(IcdCatalogue()).predict(p)]
    ['I10']
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from garmle.catalogue import IcdCatalogue
from garmle.coding.base import merge_evidence, rank, recorded_code
from garmle.coding.catalogue_coder import personal_history_code
from garmle.errors import CatalogueError, ConfigError
from garmle.types import CodePrediction, Evidence, Observation, Patient

__all__ = ["EhrCoder", "EhrRule", "load_rules"]

RULES_VERSION = 1
_KINDS = ("blood_pressure", "lab", "medication")
_NUMBERS = ("min", "max", "latest_min", "latest_max", "systolic_min", "diastolic_min", "min_age", "max_age")


@dataclass(frozen=True)
class EhrRule:
    """One rule of ``ehr_rules.json``."""

    rule_id: str
    code: str
    score: float
    kind: str
    description: str
    params: Mapping[str, Any]
    suppresses: tuple[str, ...] = ()


def load_rules(path: Path | str | None = None, catalogue: IcdCatalogue | None = None) -> list[EhrRule]:
    """Read and check a rules file (the bundled one by default).

    Raises:
        ConfigError: the file is unreadable, of another version, or a rule is malformed.
    """
    where = str(path) if path is not None else "garmle/data/ehr_rules.json"
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path is not None
            else resources.files("garmle").joinpath("data", "ehr_rules.json").read_text(encoding="utf-8")
        )
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read EHR rules {where!r}: {exc}") from exc
    if not isinstance(data, Mapping) or data.get("version") != RULES_VERSION:
        raise ConfigError(f"EHR rules {where!r}: expected version {RULES_VERSION}")
    cat = catalogue or IcdCatalogue()
    rules: list[EhrRule] = []
    for raw in data.get("rules", []):
        rid = raw.get("id", "?") if isinstance(raw, Mapping) else "?"
        try:
            if raw["kind"] not in _KINDS:
                raise ValueError(f"kind must be one of {', '.join(_KINDS)}")
            score = float(raw["score"])
            if not 0.0 < score <= 1.0:
                raise ValueError("score must be in (0, 1]")
            for key in _NUMBERS:
                if key in raw:
                    float(raw[key])
            if raw["kind"] == "lab" and not isinstance(raw.get("name"), str):
                raise ValueError("a lab rule needs a name")
            if raw["kind"] == "medication" and not (raw.get("any") or raw.get("all")):
                raise ValueError("a medication rule needs 'any' or 'all' words")
            rules.append(
                EhrRule(
                    rule_id=str(raw["id"]),
                    code=cat.validate(raw["code"]),
                    score=score,
                    kind=raw["kind"],
                    description=str(raw.get("description", "")),
                    params={k: v for k, v in raw.items() if k not in {"id", "code", "score", "kind"}},
                    suppresses=tuple(cat.validate(c) for c in raw.get("suppresses", ())),
                )
            )
        except (KeyError, TypeError, ValueError, CatalogueError) as exc:
            raise ConfigError(f"EHR rules {where!r}: rule {rid!r} is malformed: {exc}") from exc
    return rules


def _obs_text(obs: Observation) -> str:
    label = obs.display or obs.name
    when = f" on {obs.date.isoformat()}" if obs.date else ""
    unit = f" {obs.unit}" if obs.unit else ""
    return f"{label} {round(obs.value, 1):g}{unit}{when}"


def _within(value: float, low: Any, high: Any) -> bool:
    return (low is None or value >= float(low)) and (high is None or value < float(high))


# Acute episodes a problem list keeps "active" long after they are over (a myocardial infarction,
# a cardiac arrest, a stroke or TIA, a pulmonary embolism, a pneumonia, a urinary infection): each
# becomes its personal-history code (:func:`personal_history_code`) once its onset is more than
# _EPISODE_WEEKS before the record's latest date (ICD-10-CM codes an infarction as acute for four
# weeks, I25.2 after).
_PAST_EPISODES = ("I21", "I22", "I46", "I63", "G45", "I26", "J18", "N39.0")
_EPISODE_WEEKS = 8


def _past_episode(code: str, onset: dt.date | None, reference: dt.date) -> str | None:
    """The personal-history code of an acute episode recorded with an onset long before ``reference``.

    Example:
        >>> _past_episode("I21.9", dt.date(2015, 3, 1), dt.date(2024, 1, 1))
        'I25.2'
        >>> _past_episode("I21.9", dt.date(2023, 12, 20), dt.date(2024, 1, 1)) is None
        True
        >>> _past_episode("I10", dt.date(2015, 3, 1), dt.date(2024, 1, 1)) is None
        True
    """
    if onset is None or (reference - onset).days <= 7 * _EPISODE_WEEKS or not code.startswith(_PAST_EPISODES):
        return None
    return personal_history_code(code)


def _record_date(patient: Patient) -> dt.date:
    """The latest date the record holds (a reading, a result, a problem's onset), or today."""
    dates = [
        d
        for d in (
            *(b.date for b in patient.blood_pressures),
            *(o.date for o in (*patient.labs, *patient.vitals)),
            *(p.onset for p in patient.problems),
        )
        if d is not None
    ]
    return max(dates, default=dt.date.today())


class EhrCoder:
    """Predict codes from vital signs, labs, medications and coded problems.

    Args:
        catalogue: validates rule codes and gives titles.
        rules: the rules to apply; the bundled ``ehr_rules.json`` when None.
        use_recorded_problems: pass ``Problem.icd10`` codes through as predictions.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> from garmle.types import Medication, Patient
        >>> coder = EhrCoder(IcdCatalogue(), use_recorded_problems=False)
        >>> coder.predict(Patient("p", medications=(Medication("Metformin 500 MG Oral Tablet"),)))[0].code
        'E11.9'
    """

    name = "ehr"

    def __init__(
        self,
        catalogue: IcdCatalogue,
        rules: Sequence[EhrRule] | None = None,
        *,
        use_recorded_problems: bool = True,
    ) -> None:
        self.catalogue = catalogue
        self.rules = list(rules) if rules is not None else load_rules(catalogue=catalogue)
        self.use_recorded_problems = use_recorded_problems

    def predict(self, patient: Patient) -> list[CodePrediction]:
        """Codes the structured record supports, best first, with the facts as evidence."""
        fired: dict[str, list[tuple[float, tuple[Evidence, ...]]]] = {}
        suppressed: set[str] = set()
        for rule in self.rules:
            evidence = self._fire(rule, patient)
            if evidence:
                fired.setdefault(rule.code, []).append((rule.score, evidence))
                suppressed.update(rule.suppresses)
        if self.use_recorded_problems:
            reference = _record_date(patient)
            for problem in patient.problems:
                code = recorded_code(problem, self.catalogue) if problem.active else None
                if code is None:
                    continue
                fact = Evidence("problem", f"{problem.display} (recorded as {code})")
                past = _past_episode(code, problem.onset, reference)
                if past is not None and self.catalogue.is_valid(past):
                    fact = Evidence(
                        "problem", f"{problem.display} (recorded as {code}, onset {problem.onset})"
                    )
                    code = past
                fired.setdefault(code, []).append((0.95, (fact,)))
        preds = []
        for code, hits in fired.items():
            if code in suppressed and not any(e.kind == "problem" for _, ev in hits for e in ev):
                continue
            # independent facts for one code add up like independent tests (noisy-or)
            miss = 1.0
            for score, _ in hits:
                miss *= 1.0 - score
            preds.append(
                CodePrediction(
                    code=code,
                    title=self.catalogue.title(code),
                    score=round(min(0.99, 1.0 - miss), 4),
                    source=self.name,
                    billable=self.catalogue.lookup(code).billable,
                    evidence=merge_evidence(*(ev for _, ev in hits)),
                )
            )
        return rank(preds)

    def _fire(self, rule: EhrRule, patient: Patient) -> tuple[Evidence, ...]:
        p = rule.params
        if "min_age" in p and (patient.age is None or patient.age < float(p["min_age"])):
            return ()
        if "max_age" in p and (patient.age is None or patient.age >= float(p["max_age"])):
            return ()
        if p.get("pregnant") and not patient.pregnant:
            return ()  # a gestational age of an earlier pregnancy
        if rule.kind == "blood_pressure":
            recent = patient.blood_pressures[-int(p.get("recent", 5)) :]
            if len(recent) < int(p.get("min_readings", 2)):
                return ()
            sys_mean = sum(r.systolic for r in recent) / len(recent)
            dia_mean = sum(r.diastolic for r in recent) / len(recent)
            if sys_mean < float(p.get("systolic_min", 1e9)) and dia_mean < float(p.get("diastolic_min", 1e9)):
                return ()
            summary = Evidence(
                "observation",
                f"mean blood pressure {sys_mean:.0f}/{dia_mean:.0f} mmHg over {len(recent)} readings",
            )
            readings = tuple(
                Evidence(
                    "observation",
                    f"blood pressure {r.systolic:.0f}/{r.diastolic:.0f} mmHg"
                    + (f" on {r.date.isoformat()}" if r.date else ""),
                )
                for r in recent
            )
            return (summary, *readings)
        if rule.kind == "lab":
            series = [o for o in (*patient.labs, *patient.vitals) if o.name == p["name"]]
            if not series:
                return ()
            dated = sorted(series, key=lambda o: (o.date is None, o.date))
            latest = dated[-1] if all(o.date for o in series) else series[-1]
            if not _within(latest.value, p.get("latest_min"), p.get("latest_max")):
                return ()
            hits = [o for o in series if _within(o.value, p.get("min"), p.get("max"))]
            if len(hits) < int(p.get("min_count", 1)):
                return ()
            apart = p.get("min_days_apart")
            if apart is not None:
                dates = sorted(o.date for o in hits if o.date is not None)
                if len(dates) < 2 or (dates[-1] - dates[0]).days < int(apart):
                    return ()
            shown = hits if latest in hits else [*hits, latest]
            return tuple(Evidence("observation", _obs_text(o)) for o in shown)
        meds = [m for m in patient.medications if m.status in ("active", "on-hold", "")]
        groups = [list(p["any"])] if p.get("any") else [list(g) for g in p["all"]]
        evidence: list[Evidence] = []
        for words in groups:
            found = [m for m in meds if any(w.lower() in m.display.lower() for w in words)]
            if not found:
                return ()
            evidence.extend(Evidence("medication", m.display) for m in found)
        return tuple(dict.fromkeys(evidence))

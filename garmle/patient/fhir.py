"""FHIR R4 Bundles and single FHIR resources -> :class:`~garmle.types.Patient`.

Resources are checked against the ``fhir.resources`` R4B models (R4B is the
R4 technical correction; the installed ``fhir.resources`` has no separate R4
package) and then read for what guideline retrieval needs:

* ``Patient``: id, gender, birth date; age at the latest record date.
* ``Observation``: the LOINC-coded labs and vital signs of
  :mod:`garmle.patient.measurements`, blood pressure as a 55284-4/85354-9 panel
  with 8480-6/8462-4 components or as standalone 8480-6/8462-4 readings paired
  by date, and pregnancy status (82810-3, 11449-6).
* ``Condition``: active ones only, ICD-10-CM coding used as is, SNOMED CT
  mapped through the crosswalk, others kept with ``icd10=None``.
* ``MedicationRequest`` / ``MedicationStatement``: active ones only.
* ``AllergyIntolerance``: active ones only.
* ``DocumentReference`` / ``DiagnosticReport`` / ``Composition``: note text.
* ``Patient`` extensions: race and ethnicity (US Core), else a note's statement of them
  (:mod:`garmle.patient.ethnicity`).
* ``Procedure``: deliveries only, for the puerperium (below).

A woman who is not pregnant is ``postpartum`` in the six weeks (42 days) after a
birth: a delivery procedure or a delivery code (O80-O82, Z37) dated within 42
days of the record's latest date, an active condition of the puerperium
(O85-O92, Z39, SNOMED CT 86569001 "Postpartum state", or a display such as
"Postpartum haemorrhage"), or a note that says so (as for a plain-text note).

A whole life history keeps only the latest few values per measure and the
recent blood pressure series. A resource that fails validation inside a
bundle is skipped with a warning; a bad bundle, a bundle without a Patient or
an invalid single resource raises :class:`~garmle.errors.PatientError`.

Nothing read from the input is logged: log records carry counts only.

Example:
    >>> bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
    ...     {"resource": {"resourceType": "Patient", "id": "p1", "gender": "female"}}]}
    >>> load_fhir(bundle).sex
    'female'
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import html
import logging
import re
from collections.abc import Iterable, Mapping
from html.parser import HTMLParser
from typing import Any

from garmle.errors import PatientError
from garmle.patient.crosswalk import (
    ICD10_SYSTEMS,
    RXNORM_SYSTEM,
    SNOMED_SYSTEM,
    is_pregnancy_problem,
    make_problem,
)
from garmle.patient.ethnicity import ethnicity_in_fhir, ethnicity_in_notes
from garmle.patient.measurements import (
    BP_DIASTOLIC_CODES,
    BP_PANEL_CODES,
    BP_SYSTOLIC_CODES,
    LOINC_SYSTEM,
    LOINC_TO_NAME,
    MEASURES,
    age_problem,
    is_bp_unit,
    make_blood_pressure,
    make_observation,
    normalise_sex,
    parse_date,
    record_age,
    sort_blood_pressures,
    split_observations,
)
from garmle.patient.note import states_postpartum
from garmle.types import ACTIVE_STATUSES, BloodPressure, Medication, Observation, Patient, Problem

__all__ = ["MAX_NOTES", "PREGNANCY_STATUS_CODES", "SUPPORTED_RESOURCES", "load_fhir"]

logger = logging.getLogger(__name__)

SUPPORTED_RESOURCES = (
    "Patient",
    "Condition",
    "Observation",
    "MedicationRequest",
    "MedicationStatement",
    "AllergyIntolerance",
    "DocumentReference",
    "DiagnosticReport",
    "Composition",
    "Procedure",
)
"""Resource types read from FHIR input (others in a bundle are ignored)."""

PREGNANCY_STATUS_CODES = frozenset({"82810-3", "11449-6"})
"""LOINC codes of pregnancy status observations."""

MAX_NOTES = 20
"""Latest note texts kept from one FHIR input."""

PUERPERIUM_DAYS = 42
"""Days after a birth during which a woman counts as postpartum."""

_DELIVERY_SNOMED = frozenset({"236973005", "11466000", "177184002"})
_DELIVERY_WORDS = re.compile(
    r"\b(?:deliver(?:y|ed)|childbirth|birth of|caesarean|cesarean|c-section|parturition)\b", re.I
)
# O80-O82: the delivery itself; Z37: its outcome, coded on the mother's record
_DELIVERY_ICD10 = re.compile(r"^(?:O8[0-2]|Z37)")
# O85-O92: complications of the puerperium; Z39: postpartum care and examination
_PUERPERIUM_ICD10 = re.compile(r"^(?:O8[5-9]|O9[0-2]|Z39)")
_PUERPERIUM_SNOMED = frozenset({"86569001"})
_PREGNANT_ANSWERS = frozenset({"77386006", "LA15173-0"})
_NOT_PREGNANT_ANSWERS = frozenset({"60001007", "LA26683-5"})
_ACTIVE_CONDITION = ACTIVE_STATUSES
_DROPPED_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_DROPPED_OBSERVATION = frozenset({"entered-in-error", "cancelled"})
_DROPPED_DOCUMENT = frozenset({"entered-in-error", "superseded"})
_DROPPED_PROCEDURE = frozenset({"entered-in-error", "not-done", "preparation"})
_BP_CODES = BP_PANEL_CODES | BP_SYSTOLIC_CODES | BP_DIASTOLIC_CODES
_READ_CODES = frozenset(LOINC_TO_NAME) | _BP_CODES | PREGNANCY_STATUS_CODES
_SEMANTIC_TAG = re.compile(
    r"\s*\((disorder|finding|situation|morphologic abnormality|event|observable entity|procedure)\)\s*$"
)
_DATE_KEYS = (
    "effectiveDateTime",
    "effectiveInstant",
    "onsetDateTime",
    "recordedDate",
    "authoredOn",
    "occurrenceDateTime",
    "performedDateTime",
    "deceasedDateTime",
)
_PERIOD_KEYS = ("effectivePeriod", "period", "performedPeriod", "onsetPeriod")


def load_fhir(data: Mapping[str, Any]) -> Patient:
    """Read a FHIR R4 Bundle or a single FHIR resource into a patient.

    Args:
        data: parsed FHIR JSON (a ``Bundle`` or one resource of
            :data:`SUPPORTED_RESOURCES`).

    Returns:
        The patient with latest values, active problems and medications.

    Raises:
        PatientError: the input is not a usable FHIR bundle or resource.
    """
    rtype = data.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise PatientError("FHIR input has no resourceType")
    if rtype == "Bundle":
        entries = _bundle_entries(data)
        patients = [res for _, res in entries if res.get("resourceType") == "Patient"]
        if not patients:
            raise PatientError("FHIR Bundle holds no Patient resource")
        if len(patients) > 1:
            raise PatientError(
                f"FHIR Bundle holds {len(patients)} Patient resources; give one patient per bundle"
            )
        reader = _BundleReader(entries, strict=False)
    elif rtype in SUPPORTED_RESOURCES:
        reader = _BundleReader([("", data)], strict=True)
    else:
        raise PatientError(
            f"FHIR {rtype} resource holds no patient data; expected a Bundle or one of "
            + ", ".join(SUPPORTED_RESOURCES)
        )
    return reader.patient()


def _bundle_entries(bundle: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise PatientError("FHIR Bundle 'entry' is not a list")
    found: list[tuple[str, Mapping[str, Any]]] = []
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if resource is None and isinstance(entry, Mapping) and "request" in entry:
            continue  # a DELETE or GET entry of a transaction carries no resource
        if not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            raise PatientError(f"FHIR Bundle entry {index} holds no resource with a resourceType")
        full_url = entry.get("fullUrl")
        found.append((full_url if isinstance(full_url, str) else "", resource))
    return found


# --------------------------------------------------------------------------- small readers


def _codings(concept: object) -> list[tuple[str, str, str]]:
    """``(system, code, display)`` of every coding of a CodeableConcept (empty when malformed)."""
    if not isinstance(concept, Mapping):
        return []
    codings = concept.get("coding")
    if not isinstance(codings, list):
        return []
    return [
        (str(c.get("system") or ""), str(c.get("code") or "").strip(), str(c.get("display") or ""))
        for c in codings
        if isinstance(c, Mapping)
    ]


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _concept_text(concept: object) -> str:
    """The human text of a CodeableConcept: its ``text``, else the first coding display."""
    if isinstance(concept, Mapping) and isinstance(concept.get("text"), str) and concept["text"].strip():
        return str(concept["text"]).strip()
    return next((display.strip() for _, _, display in _codings(concept) if display.strip()), "")


def _status_code(concept: object) -> str:
    return next((code for _, code, _ in _codings(concept) if code), "")


def _is_delivery(concept: object) -> bool:
    """Whether a procedure code names a birth (SNOMED CT delivery procedures, or by its wording)."""
    return any(
        (system == SNOMED_SYSTEM and code in _DELIVERY_SNOMED) or bool(_DELIVERY_WORDS.search(display))
        for system, code, display in _codings(concept)
    ) or bool(_DELIVERY_WORDS.search(_concept_text(concept)))


def _loinc_codes(concept: object) -> list[str]:
    return [code for system, code, _ in _codings(concept) if system in ("", LOINC_SYSTEM) and code]


def _first_date(resource: Mapping[str, Any], keys: Iterable[str]) -> dt.date | None:
    for key in keys:
        value = resource.get(key)
        if isinstance(value, Mapping):
            value = value.get("start") or value.get("end")
        date = parse_date(value)
        if date is not None:
            return date
    return None


def _record_dates(resource: Mapping[str, Any]) -> list[dt.date]:
    dates = [parse_date(resource.get(key)) for key in _DATE_KEYS]
    for key in _PERIOD_KEYS:
        period = resource.get(key)
        if isinstance(period, Mapping):
            dates.extend((parse_date(period.get("start")), parse_date(period.get("end"))))
    return [d for d in dates if d is not None]


def _quantity(value: object) -> tuple[object, list[str]]:
    """The number of a Quantity and its candidate units (UCUM code first, then the printed unit)."""
    if not isinstance(value, Mapping):
        return None, []
    units = [str(value[key]) for key in ("code", "unit") if isinstance(value.get(key), str)]
    return value.get("value"), units


def _clean_display(text: str) -> str:
    return _SEMANTIC_TAG.sub("", text).strip()


class _TextOfHtml(HTMLParser):
    """Collect the text of an XHTML fragment, one line per block element."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    return html.unescape("\n".join(line for line in lines if line))


# --------------------------------------------------------------------------- the reader


class _BundleReader:
    """Walk the resources of one patient and gather what a Patient holds."""

    def __init__(self, entries: list[tuple[str, Mapping[str, Any]]], *, strict: bool) -> None:
        self.entries = entries
        self.strict = strict
        self.by_reference: dict[str, Mapping[str, Any]] = {}
        for full_url, res in entries:
            if full_url:
                self.by_reference[full_url] = res
            if isinstance(res.get("id"), str):
                self.by_reference[f"{res['resourceType']}/{res['id']}"] = res
        self.warnings: list[str] = []
        self.record_dates: list[dt.date] = []
        self.observations: list[Observation] = []
        self.readings: list[BloodPressure] = []
        self.systolic: list[tuple[dt.date | None, str, object, list[str]]] = []
        self.diastolic: list[tuple[dt.date | None, str, object, list[str]]] = []
        self.problems: dict[str, Problem] = {}
        self.medications: dict[str, Medication] = {}
        self.allergies: dict[str, str] = {}
        self.notes: list[tuple[dt.date | None, str]] = []
        self.pregnancy_status: list[tuple[dt.date | None, bool]] = []
        self.deliveries: list[dt.date | None] = []
        self.patient_resource: Mapping[str, Any] | None = None
        self.subject = ""

    def patient(self) -> Patient:
        handlers = {
            "Patient": self._patient,
            "Condition": self._condition,
            "Observation": self._observation,
            "MedicationRequest": self._medication,
            "MedicationStatement": self._medication,
            "AllergyIntolerance": self._allergy,
            "DocumentReference": self._document,
            "DiagnosticReport": self._document,
            "Composition": self._composition,
            "Procedure": self._procedure,
        }
        for _, res in self.entries:
            self.record_dates.extend(_record_dates(res))
            handler = handlers.get(res["resourceType"])
            if handler is not None and self._wanted(res) and self._valid(res):
                handler(res)
        self._pair_standalone_pressures()
        patient = self._assemble()
        logger.debug(
            "FHIR input read: %d resources, %d readings, %d labs, %d vitals, %d problems, "
            "%d medications, %d notes, %d warnings",
            len(self.entries),
            len(patient.blood_pressures),
            len(patient.labs),
            len(patient.vitals),
            len(patient.problems),
            len(patient.medications),
            len(patient.notes),
            len(patient.warnings),
        )
        return patient

    # Observations are most of a life history: only those with a code we read are validated.
    def _wanted(self, res: Mapping[str, Any]) -> bool:
        if res["resourceType"] == "Procedure":
            return _is_delivery(res.get("code"))
        if res["resourceType"] != "Observation":
            return True
        codes = set(_loinc_codes(res.get("code")))
        return bool(codes & _READ_CODES)

    def _valid(self, res: Mapping[str, Any]) -> bool:
        from fhir.resources.R4B import get_fhir_model_class
        from pydantic import ValidationError

        rtype = res["resourceType"]
        try:
            get_fhir_model_class(rtype).model_validate(res)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or rtype
            message = f"FHIR {rtype} is not valid R4 ({where}: {first['msg']})"
            if self.strict or rtype == "Patient":
                raise PatientError(message) from None
            self.warnings.append(f"{message}; skipped")
            return False
        subject = res.get("subject") or res.get("patient")
        if not self.subject and isinstance(subject, Mapping) and isinstance(subject.get("reference"), str):
            self.subject = subject["reference"].rsplit("/", 1)[-1].removeprefix("urn:uuid:")
        return True

    def _patient(self, res: Mapping[str, Any]) -> None:
        self.patient_resource = res

    def _condition(self, res: Mapping[str, Any]) -> None:
        status = _status_code(res.get("clinicalStatus"))
        if _status_code(res.get("verificationStatus")) in _DROPPED_VERIFICATION:
            return
        if status and status not in _ACTIVE_CONDITION:
            return
        if not status and any(key.startswith("abatement") for key in res):
            return
        codings = _codings(res.get("code"))
        icd10 = next((code for system, code, _ in codings if system in ICD10_SYSTEMS and code), None)
        snomed = next((code for system, code, _ in codings if system == SNOMED_SYSTEM and code), None)
        display = _clean_display(_concept_text(res.get("code"))) or "unnamed condition"
        onset = _first_date(res, ("onsetDateTime", "onsetPeriod", "recordedDate"))
        problem = make_problem(
            display, icd10=icd10, snomed=snomed, onset=onset, warnings=self.warnings, where="Condition"
        )
        if _DELIVERY_ICD10.match(problem.icd10 or ""):
            # the birth is an event: its date matters, not whether the condition is still active
            self.deliveries.append(onset)
            return
        key = f"{problem.system}|{problem.code}" if problem.code else problem.display.lower()
        previous = self.problems.get(key)
        if previous is None or (onset or dt.date.min) >= (previous.onset or dt.date.min):
            self.problems[key] = problem

    def _procedure(self, res: Mapping[str, Any]) -> None:
        if res.get("status") in _DROPPED_PROCEDURE:
            return
        self.deliveries.append(_first_date(res, ("performedDateTime", "performedPeriod")))

    def _observation(self, res: Mapping[str, Any]) -> None:
        if res.get("status") in _DROPPED_OBSERVATION:
            return
        codes = _loinc_codes(res.get("code"))
        date = _first_date(res, ("effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"))
        moment = str(res.get("effectiveDateTime") or res.get("effectiveInstant") or date or "")
        parts: dict[str, tuple[object, list[str]]] = {}
        for component in _list(res.get("component")):
            if isinstance(component, Mapping):
                for code in _loinc_codes(component.get("code")):
                    parts[code] = _quantity(component.get("valueQuantity"))
        systolic = next((parts[c] for c in BP_SYSTOLIC_CODES if c in parts), None)
        diastolic = next((parts[c] for c in BP_DIASTOLIC_CODES if c in parts), None)
        if systolic and diastolic:
            self._add_pressure(date, systolic, diastolic)
            return
        if any(code in BP_PANEL_CODES for code in codes):
            return  # a panel whose members are standalone observations, paired below
        value, units = _quantity(res.get("valueQuantity"))
        for code in codes:
            if code in BP_SYSTOLIC_CODES:
                self.systolic.append((date, moment, value, units))
            elif code in BP_DIASTOLIC_CODES:
                self.diastolic.append((date, moment, value, units))
            elif code in PREGNANCY_STATUS_CODES:
                self._pregnancy_status(date, res.get("valueCodeableConcept"))
            elif code in LOINC_TO_NAME:
                self._add_measure(LOINC_TO_NAME[code], code, date, value, units)
            else:
                continue
            return

    def _add_measure(
        self, name: str, code: str, date: dt.date | None, value: object, units: list[str]
    ) -> None:
        spec = MEASURES[name]
        unit = next((u for u in units if spec.accepts(u)), units[0] if units else None)
        obs = make_observation(
            name,
            value,
            unit,
            date=date,
            code=code,
            system=LOINC_SYSTEM,
            warnings=self.warnings,
            where=f"Observation {code} on {date or 'unknown date'}",
        )
        if obs is not None:
            self.observations.append(obs)

    def _add_pressure(
        self, date: dt.date | None, systolic: tuple[object, list[str]], diastolic: tuple[object, list[str]]
    ) -> None:
        where = f"blood pressure on {date or 'unknown date'}"
        bad_unit = next((u for u in (*systolic[1], *diastolic[1]) if not is_bp_unit(u)), None)
        if bad_unit is not None:
            self.warnings.append(f"{where}: unknown unit {bad_unit!r} (expected mmHg); ignored")
            return
        reading = make_blood_pressure(
            systolic[0], diastolic[0], date=date, warnings=self.warnings, where=where
        )
        if reading is not None:
            self.readings.append(reading)

    def _pair_standalone_pressures(self) -> None:
        """Pair standalone systolic and diastolic readings taken at the same time (else the same day)."""
        diastolic = sorted(self.diastolic, key=lambda item: item[1])
        for date, moment, value, units in sorted(self.systolic, key=lambda item: item[1]):
            match = next((d for d in diastolic if d[1] == moment), None) or next(
                (d for d in diastolic if d[0] == date), None
            )
            if match is None:
                continue
            diastolic.remove(match)
            self._add_pressure(date, (value, units), (match[2], match[3]))

    def _pregnancy_status(self, date: dt.date | None, concept: object) -> None:
        codes = {code for _, code, _ in _codings(concept)}
        text = _concept_text(concept).lower()
        if codes & _NOT_PREGNANT_ANSWERS or text.startswith("not pregnant"):
            self.pregnancy_status.append((date, False))
        elif codes & _PREGNANT_ANSWERS or text.startswith("pregnant"):
            self.pregnancy_status.append((date, True))

    def _medication(self, res: Mapping[str, Any]) -> None:
        if res.get("status") != "active":
            return
        concept = res.get("medicationCodeableConcept")
        reference = res.get("medicationReference")
        if concept is None and isinstance(reference, Mapping):
            target = self.by_reference.get(str(reference.get("reference") or ""))
            concept = target.get("code") if target is not None else {"text": reference.get("display") or ""}
        codings = _codings(concept)
        code, system = next(((c, s) for s, c, _ in codings if s == RXNORM_SYSTEM and c), ("", ""))
        if not code and codings:
            system, code = codings[0][0], codings[0][1]
        display = _concept_text(concept) or code or "unnamed medication"
        authored = _first_date(res, ("authoredOn", "effectiveDateTime", "effectivePeriod", "dateAsserted"))
        self.medications[code or display.lower()] = Medication(
            display=display, code=code, system=system, authored=authored
        )

    def _allergy(self, res: Mapping[str, Any]) -> None:
        status = _status_code(res.get("clinicalStatus"))
        if (
            status not in ("", "active")
            or _status_code(res.get("verificationStatus")) in _DROPPED_VERIFICATION
        ):
            return
        display = _clean_display(_concept_text(res.get("code")))
        if display:
            self.allergies.setdefault(display.lower(), display)

    def _document(self, res: Mapping[str, Any]) -> None:
        if res.get("status") in _DROPPED_DOCUMENT:
            return
        date = _first_date(res, ("date", "effectiveDateTime", "issued", "period"))
        if res["resourceType"] == "DocumentReference":
            attachments = [c.get("attachment") for c in _list(res.get("content")) if isinstance(c, Mapping)]
        else:
            attachments = _list(res.get("presentedForm"))
        for attachment in attachments:
            if isinstance(attachment, Mapping):
                text = self._attachment_text(res["resourceType"], attachment)
                if text:
                    self.notes.append((date, text))

    def _attachment_text(self, rtype: str, attachment: Mapping[str, Any]) -> str:
        content_type = str(attachment.get("contentType") or "text/plain").split(";")[0].strip().lower()
        data = attachment.get("data")
        if not isinstance(data, str) or not data:
            return ""
        if not content_type.startswith("text/"):
            self.warnings.append(f"{rtype}: attachment of type {content_type} not read (text only)")
            return ""
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8", errors="replace")
        except (binascii.Error, ValueError):
            self.warnings.append(f"{rtype}: attachment data is not valid base64; skipped")
            return ""
        return (_html_text(text) if content_type in ("text/html", "application/xhtml+xml") else text).strip()

    def _composition(self, res: Mapping[str, Any]) -> None:
        if res.get("status") == "entered-in-error":
            return
        lines = [str(res["title"])] if isinstance(res.get("title"), str) else []

        def walk(sections: object) -> None:
            for section in _list(sections):
                if not isinstance(section, Mapping):
                    continue
                if isinstance(section.get("title"), str):
                    lines.append(section["title"])
                narrative = section.get("text")
                if isinstance(narrative, Mapping) and isinstance(narrative.get("div"), str):
                    lines.append(_html_text(narrative["div"]))
                walk(section.get("section"))

        walk(res.get("section"))
        text = "\n".join(line for line in lines if line.strip())
        if text:
            self.notes.append((parse_date(res.get("date")), text))

    # ----------------------------------------------------------------------- assembly

    def _assemble(self) -> Patient:
        res = self.patient_resource or {}
        birth = parse_date(res.get("birthDate"))
        age = None
        if birth is not None:
            age = record_age(birth, self.record_dates)
            problem = age_problem(age)
            if problem:
                self.warnings.append(f"Patient: {problem} (from birthDate); age ignored")
                age = None
        gender = res.get("gender")
        problems = sorted(self.problems.values(), key=lambda p: p.onset or dt.date.min)
        pregnant: bool | None = None
        if any(is_pregnancy_problem(p) for p in problems):
            pregnant = True
        elif self.pregnancy_status:
            pregnant = max(self.pregnancy_status, key=lambda item: item[0] or dt.date.min)[1]
        notes = sorted(self.notes, key=lambda item: item[0] or dt.date.min)[-MAX_NOTES:]
        postpartum = None if pregnant else self._postpartum(problems, [text for _, text in notes])
        vitals, labs = split_observations(self.observations)
        unique_readings = {(r.date, r.systolic, r.diastolic): r for r in self.readings}
        patient_id = res.get("id") if isinstance(res.get("id"), str) else self.subject
        return Patient(
            patient_id=patient_id or "unknown",
            age=age,
            sex=normalise_sex(gender) if isinstance(gender, str) else None,
            birth_date=birth,
            blood_pressures=sort_blood_pressures(unique_readings.values()),
            vitals=vitals,
            labs=labs,
            problems=tuple(problems),
            medications=tuple(sorted(self.medications.values(), key=lambda m: m.authored or dt.date.min)),
            allergies=tuple(self.allergies.values()),
            notes=tuple(text for _, text in notes),
            pregnant=pregnant,
            postpartum=postpartum,
            ethnicity=ethnicity_in_fhir(res) or ethnicity_in_notes(text for _, text in notes),
            warnings=tuple(dict.fromkeys(self.warnings)),
        )

    def _postpartum(self, problems: Iterable[Problem], notes: Iterable[str]) -> bool | None:
        """True in the puerperium (see the module docstring); None when nothing says so."""
        latest = max(self.record_dates, default=None)
        recent_birth = any(
            date is not None and latest is not None and 0 <= (latest - date).days <= PUERPERIUM_DAYS
            for date in self.deliveries
        )
        puerperal = any(
            _PUERPERIUM_ICD10.match(p.icd10 or "")
            or (p.system == SNOMED_SYSTEM and p.code in _PUERPERIUM_SNOMED)
            or states_postpartum(p.display)
            for p in problems
        )
        return True if recent_birth or puerperal or any(states_postpartum(n) for n in notes) else None

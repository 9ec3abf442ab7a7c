"""CDS Hooks prefetch -> one FHIR collection Bundle that :func:`garmle.patient.load_patient` reads.

An EHR sends prefetched data in one of several shapes: one key per template
(``patient`` a Patient resource, ``conditions`` a searchset Bundle, ...), a
single key holding a whole Bundle, or any mix. Every shape is flattened into
one Bundle here; nothing else in the service needs to know the difference.

Two checks keep one patient's data from being mixed with another's: every
Patient resource must be the hook's ``context.patientId``, and every resource
that names its patient (``subject`` or ``patient``) must name that one.

Example:
    >>> bundle = prefetch_bundle(
    ...     {"patient": {"resourceType": "Patient", "id": "p1"},
    ...      "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []}},
    ...     patient_id="p1")
    >>> [e["resource"]["resourceType"] for e in bundle["entry"]]
    ['Patient']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from garmle.errors import PatientError

__all__ = ["MissingPrefetchError", "prefetch_bundle"]

_SKIPPED_TYPES = frozenset({"OperationOutcome"})


class MissingPrefetchError(PatientError):
    """The hook request carries no patient data (CDS Hooks answers 412 Precondition Failed)."""


def prefetch_bundle(
    prefetch: Mapping[str, Any] | None,
    patient_id: str,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge prefetched resources (and ``extra``, e.g. draft orders) into one collection Bundle.

    Args:
        prefetch: the request's ``prefetch`` object; ``None`` values (templates the EHR
            could not fill) are skipped.
        patient_id: the hook's ``context.patientId``.
        extra: more resources or Bundles to merge (not counted as patient data).

    Returns:
        A FHIR ``Bundle`` of type ``collection`` with exactly one Patient resource.

    Raises:
        MissingPrefetchError: no prefetched resource at all.
        PatientError: a value is not a FHIR resource or Bundle, or belongs to another patient.
    """
    if prefetch is not None and not isinstance(prefetch, Mapping):
        raise PatientError("prefetch must be an object mapping template names to FHIR resources")
    resources: list[Mapping[str, Any]] = []
    for key, value in (prefetch or {}).items():
        if value is not None:
            resources.extend(_resources(value, f"prefetch {key!r}"))
    if not resources:
        raise MissingPrefetchError(
            "no prefetched FHIR resources: send the Patient (and Conditions, Observations, "
            "MedicationRequests) in 'prefetch'; this service does not query the FHIR server"
        )
    for key, value in (extra or {}).items():
        if value is not None:
            resources.extend(_resources(value, f"context {key!r}"))

    unique: dict[tuple[str, str], Mapping[str, Any]] = {}
    anonymous: list[Mapping[str, Any]] = []
    for resource in resources:
        rtype = str(resource["resourceType"])
        if rtype in _SKIPPED_TYPES:
            continue
        if rtype == "Patient":
            if resource.get("id") not in (None, patient_id):
                raise PatientError("a prefetched Patient resource is not the hook's context.patientId")
            unique[("Patient", patient_id)] = resource
            continue
        _check_subject(resource, patient_id)
        rid = resource.get("id")
        if isinstance(rid, str) and rid:
            unique[(rtype, rid)] = resource
        else:
            anonymous.append(resource)
    if ("Patient", patient_id) not in unique:
        # Conditions and observations without demographics still make a usable record.
        unique[("Patient", patient_id)] = {"resourceType": "Patient", "id": patient_id}
    ordered = [unique.pop(("Patient", patient_id)), *unique.values(), *anonymous]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": dict(resource)} for resource in ordered],
    }


def _resources(value: Any, where: str) -> Iterator[Mapping[str, Any]]:
    """The resources in one prefetch value: a resource, or the entries of a (nested) Bundle."""
    if not isinstance(value, Mapping) or not isinstance(value.get("resourceType"), str):
        raise PatientError(f"{where} is not a FHIR resource or Bundle (no resourceType)")
    if value["resourceType"] != "Bundle":
        yield value
        return
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise PatientError(f"{where}: Bundle 'entry' is not a list")
    for number, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise PatientError(f"{where}: Bundle entry {number} is not an object")
        resource = entry.get("resource")
        if resource is None:
            continue  # a request-only entry of a transaction carries no data
        yield from _resources(resource, f"{where} entry {number}")


def _check_subject(resource: Mapping[str, Any], patient_id: str) -> None:
    for key in ("subject", "patient"):
        ref = resource.get(key)
        if not isinstance(ref, Mapping):
            continue
        reference = ref.get("reference")
        if not isinstance(reference, str) or not reference.startswith("Patient/"):
            continue  # urn:uuid references inside a bundle cannot be checked against the context
        if reference.removeprefix("Patient/").split("/")[0] != patient_id:
            raise PatientError(
                f"a prefetched {resource['resourceType']} belongs to another patient than context.patientId"
            )

"""Choose the patient reader by content: FHIR JSON, the JSON form or a plain-text note.

The file name never decides: a ``.txt`` file holding FHIR JSON is read as
FHIR, and a ``.json`` file holding prose is read as a note.

Example:
    >>> load_patient("58-year-old woman, BP 162/98.").sex
    'female'
    >>> load_patient({"age": 70, "problems": ["Hypertension"]}).age
    70
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from garmle.errors import PatientError
from garmle.patient.fhir import load_fhir
from garmle.patient.jsonform import FORM_KEYS, load_json_form, looks_like_form
from garmle.patient.note import parse_note
from garmle.types import Patient

__all__ = ["load_patient"]

_FILE_SUFFIXES = (".json", ".txt", ".ndjson", ".fhir", ".md")


def load_patient(source: Path | str | Mapping[str, Any] | bytes) -> Patient:
    """Read one patient from a file, JSON text, a parsed JSON object, raw bytes or a note.

    Args:
        source: a :class:`~pathlib.Path`; a ``str`` naming an existing file (else
            the ``str`` is the content itself); a parsed JSON object; or bytes.

    Returns:
        The patient, with anything flagged and ignored listed in ``warnings``.

    Raises:
        PatientError: the input is missing, empty, malformed JSON, JSON that is
            neither FHIR nor the patient form, or FHIR without a patient.
    """
    if isinstance(source, Mapping):
        return _from_json(source)
    if isinstance(source, Path):
        return _from_text(_read(source))
    if isinstance(source, bytes | bytearray):
        return _from_text(_decode(bytes(source), "patient input"))
    if isinstance(source, str):
        path = _existing_file(source)
        if path is None and _names_a_file(source):
            raise PatientError(f"patient file not found: {source.strip()}")
        return _from_text(_read(path) if path is not None else source)
    raise PatientError(
        f"cannot read a patient from {type(source).__name__}; give a path, text, bytes or a dict"
    )


def _existing_file(text: str) -> Path | None:
    if "\n" in text or not text.strip() or len(text) > 4096:
        return None
    try:
        path = Path(os.path.expanduser(text.strip()))
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None


def _names_a_file(text: str) -> bool:
    """A single word ending in a patient-file suffix is a file name, never note content."""
    word = text.strip()
    return bool(word) and not any(c.isspace() for c in word) and word.lower().endswith(_FILE_SUFFIXES)


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PatientError(f"patient file not found: {path}") from None
    except IsADirectoryError:
        raise PatientError(f"patient input is a directory, not a file: {path}") from None
    except OSError as exc:
        raise PatientError(f"cannot read patient file {path}: {exc.strerror or exc}") from None
    return _decode(data, str(path))


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PatientError(f"{name} is not UTF-8 text") from None


def _from_text(text: str) -> Patient:
    stripped = text.lstrip("\ufeff").strip()
    if not stripped:
        raise PatientError("patient input is empty")
    if stripped[0] not in "{[":
        return parse_note(stripped)
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        if stripped[0] == "[":
            return parse_note(stripped)  # prose that opens with a bracketed heading
        raise PatientError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise PatientError("patient JSON must be an object (a FHIR resource or the patient form), not a list")
    return _from_json(data)


def _from_json(data: Mapping[str, Any]) -> Patient:
    if "resourceType" in data:
        return load_fhir(data)
    if looks_like_form(data):
        return load_json_form(data)
    raise PatientError(
        "JSON is neither FHIR (no resourceType) nor the patient form (none of the keys "
        + ", ".join(FORM_KEYS)
        + ")"
    )

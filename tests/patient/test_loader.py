"""load_patient picks the reader by content, and bad input ends in one clear PatientError line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from garmle.errors import PatientError
from garmle.patient import load_patient

HBA1C = {
    "resourceType": "Observation",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
    "effectiveDateTime": "2020-01-01",
    "valueQuantity": {"value": 9.37, "unit": "%"},
}
BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p9", "gender": "female", "birthDate": "1960-01-01"}},
        {"resource": HBA1C},
    ],
}
FORM = {"id": "f1", "age": 70, "blood_pressure": "150/90"}
NOTE = "70-year-old woman. BP 150/90."


@pytest.mark.parametrize("suffix", [".json", ".txt", ".dat"])
def test_reader_is_chosen_by_content_not_file_name(tmp_path: Path, suffix: str) -> None:
    for content, expected_id in ((json.dumps(BUNDLE), "p9"), (json.dumps(FORM), "f1")):
        path = tmp_path / f"patient{suffix}"
        path.write_text(content, encoding="utf-8")
        assert load_patient(path).patient_id == expected_id
        assert load_patient(str(path)).patient_id == expected_id
    path = tmp_path / f"note{suffix}"
    path.write_text(NOTE, encoding="utf-8")
    assert load_patient(path).notes == (NOTE,)


def test_every_source_kind() -> None:
    assert load_patient(BUNDLE).lab("hba1c").value == 9.37  # type: ignore[union-attr]
    assert load_patient(json.dumps(BUNDLE)).patient_id == "p9"
    assert load_patient(json.dumps(BUNDLE).encode("utf-8")).patient_id == "p9"
    assert load_patient("\ufeff" + json.dumps(FORM)).age == 70
    assert load_patient(b"\xef\xbb\xbf" + NOTE.encode()).age == 70
    assert load_patient(NOTE).sex == "female"
    assert load_patient("[Clinic letter] 70-year-old man").sex == "male"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "patient input is empty"),
        (b"   \n", "patient input is empty"),
        ('{"resourceType": "Bundle", ', "malformed JSON at line 1"),
        ('{"name": "x", "favourite_colour": "blue"}', "neither FHIR"),
        ("[1, 2]", "must be an object"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        ("missing-patient.json", "patient file not found: missing-patient.json"),
        (Path("/nonexistent/dir/patient.json"), "patient file not found"),
        ({"resourceType": "Bundle", "type": "collection", "entry": []}, "no Patient resource"),
    ],
)
def test_bad_input_raises_one_clear_line(source: object, message: str) -> None:
    with pytest.raises(PatientError, match=message) as info:
        load_patient(source)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_empty_file_and_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(PatientError, match="empty"):
        load_patient(empty)
    with pytest.raises(PatientError, match="directory"):
        load_patient(tmp_path)


def test_unsupported_source_type() -> None:
    with pytest.raises(PatientError, match="cannot read a patient from int"):
        load_patient(42)  # type: ignore[arg-type]


def test_no_patient_value_reaches_the_log(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    secrets = ["Zyxwquor", "pt-4471-secret", "1951-03-17", "173", "109", "9.37", "Rarecondia"]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "pt-4471-secret",
                    "name": [{"family": "Zyxwquor"}],
                    "birthDate": "1951-03-17",
                    "gender": "male",
                }
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                    "effectiveDateTime": "2020-01-01",
                    "component": [
                        {
                            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                            "valueQuantity": {"value": 173},
                        },
                        {
                            "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                            "valueQuantity": {"value": 109},
                        },
                    ],
                }
            },
            {"resource": HBA1C},
            {
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {"text": "Rarecondia"},
                    "subject": {"reference": "Patient/pt-4471-secret"},
                }
            },
        ],
    }
    path = tmp_path / "secret.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    with caplog.at_level(logging.DEBUG):
        patients = [
            load_patient(path),
            load_patient({"id": "pt-4471-secret", "blood_pressure": "173/109", "labs": {"hba1c": 9.37}}),
            load_patient("Zyxwquor, 73-year-old man. BP 173/109. HbA1c 9.37%. Rarecondia."),
        ]
    assert patients[0].latest_bp is not None and patients[0].latest_bp.systolic == 173
    assert all(p.lab("hba1c").value == 9.37 for p in patients)  # type: ignore[union-attr]
    assert any(r.name.startswith("garmle.patient") for r in caplog.records)  # the loaders do log, at DEBUG
    for record in caplog.records:
        message = record.getMessage()
        for secret in secrets:
            assert secret not in message, f"{secret!r} logged by {record.name}"

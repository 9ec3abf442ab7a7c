"""The sample patients shipped for the demo and the dashboard."""

from __future__ import annotations

import pytest

from garmle.catalogue.icd10cm import IcdCatalogue
from garmle.patient import load_patient, sample_patients


def test_four_samples_load_cleanly() -> None:
    samples = sample_patients()
    assert set(samples) == {
        "copd-exacerbation",
        "hypertension-diabetes-ckd",
        "new-atrial-fibrillation",
        "pregnancy-hypertension",
    }
    for name, path in samples.items():
        patient = load_patient(path)
        assert patient.warnings == (), name
        assert patient.age is not None and patient.sex in ("male", "female"), name
        assert patient.latest_bp is not None, name
        assert patient.notes, name


def test_sample_contents() -> None:
    samples = {name: load_patient(path) for name, path in sample_patients().items()}
    ckd = samples["hypertension-diabetes-ckd"]
    assert {p.icd10 for p in ckd.problems} >= {"I10", "E11.22", "N18.31"}
    assert ckd.lab("egfr").value == 48 and ckd.lab("hba1c").value == 8.4  # type: ignore[union-attr]
    pregnancy = samples["pregnancy-hypertension"]
    assert pregnancy.pregnant is True and pregnancy.sex == "female"
    af = samples["new-atrial-fibrillation"]
    assert (af.age, af.sex) == (72, "female") and af.lab("heart_rate").value == 118  # type: ignore[union-attr]
    copd = samples["copd-exacerbation"]
    assert copd.lab("spo2").value == 89 and copd.problems == ()  # type: ignore[union-attr]


@pytest.mark.slow
def test_sample_icd10_codes_are_valid() -> None:
    catalogue = IcdCatalogue()
    for path in sample_patients().values():
        for problem in load_patient(path).problems:
            if problem.icd10:
                assert catalogue.is_valid(problem.icd10), (path.name, problem.icd10)

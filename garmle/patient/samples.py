"""Sample patients shipped with the package for the demo and the dashboard.

Example:
    >>> "hypertension-diabetes-ckd" in sample_patients()
    True
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["sample_patients"]

_SUFFIXES = (".json", ".txt")


def sample_patients() -> dict[str, Path]:
    """Return the bundled sample patients, name (file stem) -> file path, sorted by name.

    Each file is read with :func:`garmle.patient.load_patient`; JSON files use
    the patient form, text files are clinical notes. All are invented: no
    real person.
    """
    folder = Path(str(resources.files("garmle").joinpath("data", "samples")))
    if not folder.is_dir():
        return {}
    return {
        path.stem: path for path in sorted(folder.iterdir()) if path.suffix in _SUFFIXES and path.is_file()
    }

"""Shared fixtures: paths to the shared data and a fast fake embedder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("GARMLE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real data folder (NGC summaries, Synthea, CodiEsp, USPSTF)."""
    if not (SHARED_DATA / "ngc-summaries").is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}; set GARMLE_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ngc_dir(shared_data: Path) -> Path:
    return shared_data / "ngc-summaries"


@pytest.fixture(scope="session")
def synthea_dir(shared_data: Path) -> Path:
    return shared_data / "synthea-r4"

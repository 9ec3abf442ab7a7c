"""The ICD-10-CM catalogue snapshot: the package's entries, built once, rebuilt when damaged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from garmle.catalogue import IcdCatalogue
from garmle.catalogue import icd10cm as icd_module
from garmle.errors import CatalogueError


def test_snapshot_entries_equal_the_package_entries() -> None:
    import simple_icd_10_cm as cm

    catalogue = IcdCatalogue()
    for code in ("E11.9", "I10", "B10", "O24.410", "S72.001A", "N18.31", "Z79.4"):
        built, ancestors = icd_module._build_entry(cm, code)
        assert catalogue.lookup(code) == built
        assert catalogue.ancestors(code) == ancestors
    assert catalogue.lookup("E11.9").parent == "E11"
    assert not catalogue.is_valid("Q99.999X") and not catalogue.is_valid("E08-E13")
    with pytest.raises(CatalogueError, match="unknown ICD-10-CM code"):
        catalogue.lookup("Q99.999X")


def test_each_code_is_listed_once() -> None:
    codes = [e.code for e in IcdCatalogue().codes("B00-B20")]
    assert len(codes) == len(set(codes))
    assert codes.count("B10") == 1  # a block named by its one category is not a second entry


@pytest.fixture
def fresh_snapshot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("GARMLE_CACHE_DIR", str(tmp_path / "cache"))
    icd_module._snapshot.cache_clear()
    yield tmp_path / "cache"
    icd_module._snapshot.cache_clear()


def test_damaged_or_unwritable_snapshot_is_rebuilt(
    fresh_snapshot: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert IcdCatalogue().title("I10") == "Essential (primary) hypertension"
    files = list(fresh_snapshot.glob("icd10cm-*.sqlite"))
    assert len(files) == 1
    files[0].write_bytes(b"not a database")
    icd_module._snapshot.cache_clear()
    assert IcdCatalogue().is_valid("E11.9")
    icd_module._snapshot.cache_clear()
    assert icd_module._snapshot_valid(files[0]) is not None  # rebuilt in place
    # a cache path that cannot be a folder: the snapshot lives in memory
    fresh_snapshot.joinpath("blocker").write_text("")
    monkeypatch.setenv("GARMLE_CACHE_DIR", str(fresh_snapshot / "blocker"))
    icd_module._snapshot.cache_clear()
    assert IcdCatalogue().is_valid("I48.91")

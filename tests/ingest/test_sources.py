"""The guideline source manifest: checksums, subsets and spec resolution."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from garmle.errors import ConfigError, IngestError
from garmle.ingest import load_documents
from garmle.ingest.sources import (
    ENV_MIRROR,
    ENV_SOURCES,
    default_manifest_path,
    directory_sha256,
    file_sha256,
    load_manifest,
    path_sha256,
    resolve_source,
)

ROOT = Path(__file__).resolve().parents[2]

SMALL_MANIFEST = """
[sources.notes]
title = "Local notes"
publisher = "Example Clinic"
licence = "CC BY 4.0"
url = "https://example.org"
format = "md"
mirror_path = "notes"
item_pattern = "note-{id}.md"
sha256 = "{digest}"

[sources.single]
title = "One file"
mirror_path = "single.txt"

[subsets.pair]
source = "notes"
items = ["2", "1"]
"""


@pytest.fixture()
def mirror(tmp_path: Path) -> Path:
    notes = tmp_path / "mirror" / "notes"
    notes.mkdir(parents=True)
    for number in (1, 2, 3):
        (notes / f"note-{number}.md").write_text(f"# Note {number}\n\nKeep BP below 140/90 ({number}).")
    (notes / ".hidden").write_text("ignored by the checksum")
    (tmp_path / "mirror" / "single.txt").write_text("Single file text.")
    return tmp_path / "mirror"


@pytest.fixture()
def manifest_path(tmp_path: Path, mirror: Path) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(SMALL_MANIFEST.replace("{digest}", directory_sha256(mirror / "notes")))
    return path


def test_directory_checksum_definition(mirror: Path) -> None:
    notes = mirror / "notes"
    lines = sorted(f"{p.name}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in notes.glob("note-*"))
    assert directory_sha256(notes) == hashlib.sha256("".join(lines).encode()).hexdigest()
    assert path_sha256(mirror / "single.txt") == file_sha256(mirror / "single.txt")
    (notes / "note-3.md").write_text("changed")
    assert directory_sha256(notes) != hashlib.sha256("".join(lines).encode()).hexdigest()


def test_resolve_names_subsets_and_ids(manifest_path: Path, mirror: Path) -> None:
    manifest = load_manifest(manifest_path)
    assert manifest.names() == ["notes", "pair", "single"]
    items = manifest.resolve("notes", mirror=mirror)
    assert [i.path.name for i in items] == ["note-1.md", "note-2.md", "note-3.md"]
    assert items[0].source == "notes"
    assert dict(items[0].meta) == {
        "publisher": "Example Clinic",
        "licence": "CC BY 4.0",
        "url": "https://example.org",
    }
    assert [i.path.name for i in manifest.resolve("pair", mirror=mirror)] == ["note-2.md", "note-1.md"]
    assert [i.path.name for i in manifest.resolve("notes:3, 1", mirror=mirror)] == ["note-3.md", "note-1.md"]
    assert [i.path.name for i in manifest.resolve("notes", mirror=mirror, limit=2)] == [
        "note-1.md",
        "note-2.md",
    ]
    assert [i.path.name for i in manifest.resolve("single", mirror=mirror)] == ["single.txt"]
    docs, failures = load_documents(manifest.resolve("pair", mirror=mirror))
    assert failures == [] and [d.publisher for d in docs] == ["Example Clinic"] * 2


def test_mirror_from_environment(manifest_path: Path, mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MIRROR, str(mirror))
    assert len(load_manifest(manifest_path).resolve("notes", mirror=None)) == 3
    monkeypatch.delenv(ENV_MIRROR)
    with pytest.raises(IngestError, match=f"--mirror DIR or set {ENV_MIRROR}"):
        load_manifest(manifest_path).resolve("notes", mirror=None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nothing", "unknown guideline source 'nothing'"),
        ("notes:9", re.escape("note-9.md not found") + ".*--mirror / " + ENV_MIRROR),
        ("notes:", "names no item ids"),
        ("single:1", "single file"),
    ],
)
def test_bad_specs(manifest_path: Path, mirror: Path, spec: str, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        load_manifest(manifest_path).resolve(spec, mirror=mirror)


def test_missing_mirror_and_checksum_mismatch(manifest_path: Path, mirror: Path, tmp_path: Path) -> None:
    manifest = load_manifest(manifest_path)
    with pytest.raises(IngestError, match="is not a directory"):
        manifest.resolve("notes", mirror=tmp_path / "absent")
    (mirror / "single.txt").unlink()
    with pytest.raises(IngestError, match=f"not found at .*--mirror / {ENV_MIRROR}"):
        manifest.resolve("single", mirror=mirror)
    (mirror / "notes" / "note-1.md").write_text("tampered")
    with pytest.raises(IngestError, match="checksum mismatch for source 'notes'"):
        manifest.resolve("notes", mirror=mirror)
    assert len(manifest.resolve("notes", mirror=mirror, verify=False)) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sources", "not valid TOML"),
        ("[subsets.x]\nsource = 'a'\nitems = ['1']", "names no \\[sources\\]|must name a directory source"),
        ("[sources.a]\nmirror_path = 'x'", "'title' must be a non-empty string"),
        (
            "[sources.a]\ntitle = 'A'\nmirror_path = 'x'\n[subsets.b]\nsource = 'a'\nitems = ['1']",
            "directory source",
        ),
    ],
)
def test_malformed_manifest(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_manifest(path)
    with pytest.raises(ConfigError, match="not found"):
        load_manifest(tmp_path / "absent.toml")


def test_default_manifest_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_SOURCES, raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_manifest_path() == ROOT / "guidelines" / "sources.toml"
    monkeypatch.setenv(ENV_SOURCES, str(tmp_path / "mine.toml"))
    assert default_manifest_path() == tmp_path / "mine.toml"


def test_repository_manifest_matches_the_shared_mirror(shared_data: Path) -> None:
    manifest = load_manifest(ROOT / "guidelines" / "sources.toml")
    assert set(manifest.sources) >= {"ngc", "uspstf"}
    for source in manifest.sources.values():
        assert source.title and source.publisher and source.url and source.licence and source.format
        assert path_sha256(shared_data / source.mirror_path) == source.sha256, source.name
    [uspstf] = resolve_source("uspstf", mirror=shared_data)
    assert uspstf.path.name == "uspstf-recommendations.json"
    assert [i.path.name for i in resolve_source("ngc:10598,11186", mirror=shared_data)] == [
        "ngc-10598.xml",
        "ngc-11186.xml",
    ]


def test_demo_subset_is_chosen_by_condition(shared_data: Path) -> None:
    from garmle.ingest.ngc import read_ngc_fields

    manifest = load_manifest(ROOT / "guidelines" / "sources.toml")
    demo = manifest.subsets["demo"]
    assert 60 <= len(demo.items) <= 80 and len(set(demo.items)) == len(demo.items)
    items = manifest.resolve("demo", mirror=shared_data, verify=False)
    matched = dict.fromkeys(demo.conditions, 0)
    for item in items:
        conditions = " ".join(read_ngc_fields(item.path)["Disease/Condition(s)"]).lower()
        hits = [c for c in demo.conditions if re.search(c, conditions)]
        assert hits, f"{item.path.name}: Disease/Condition(s) matches no demo condition"
        for hit in hits:
            matched[hit] += 1
    assert all(matched.values()), [c for c, n in matched.items() if not n]

"""Faults: a read-only index directory, a full disk while indexing, garbage request bodies."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from garmle.config import Settings
from garmle.recommender import Recommender
from garmle.server import ServiceOptions, create_app
from garmle.store import ChromaStore

RunCli = Callable[..., tuple[int, str, str]]
PATIENT_VIEW = "/cds-services/garmle-patient-view"

AF_GUIDE = (
    "# Atrial fibrillation\n\n## Stroke prevention\n\n"
    "Offer oral anticoagulation to people with atrial fibrillation and a CHA2DS2-VASc score of 2 or above.\n"
)
# Long enough for several chunks, with a word found in no other document.
ZEBRA_GUIDE = "# Zebra fever\n\n" + "\n\n".join(
    f"## Step {n}\n\n"
    + " ".join(f"Give zebrafloxacin dose {n} with water {k} times daily." for k in range(12))
    for n in range(1, 7)
)
OTHER_GUIDE = "# Heart failure\n\n## Treatment\n\nOffer an ACE inhibitor and a beta-blocker to adults.\n"


def _snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def guides(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "guides"
    folder.mkdir()
    paths = {}
    for name, text in (("af", AF_GUIDE), ("zebra", ZEBRA_GUIDE), ("hf", OTHER_GUIDE)):
        paths[name] = folder / f"{name}.md"
        paths[name].write_text(text, encoding="utf-8")
    return paths


# --------------------------------------------------------------------------- read-only index


def _read_only_runner(index: Path) -> Iterator[list[str]]:
    """A command prefix that runs with ``index`` read-only (a private read-only bind mount for root)."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [index, *index.rglob("*")]}
        for path in modes:
            path.chmod(path.stat().st_mode & ~0o222)
        try:
            yield []
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
        return
    # Root ignores file modes: mount the directory read-only in a private mount namespace instead.
    unshare = shutil.which("unshare")
    prefix = [unshare or "unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount --bind -o ro "$0" "$0" && exec "$@"', str(index)]  # fmt: skip
    probe = subprocess.run([*prefix, "touch", str(index / ".probe")], capture_output=True, text=True)
    if unshare is None or "Read-only file system" not in probe.stderr:
        pytest.skip("running as root without a way to mount the index read-only (needs unshare and mount)")
    yield prefix


def _garmle(prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GARMLE_MODEL": "hash:64"}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "garmle.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_read_only_index_is_a_clear_error_and_stays_unchanged(
    tmp_path: Path, run_cli: RunCli, guides: dict[str, Path]
) -> None:
    index = tmp_path / "idx"
    code, _, err = run_cli("--index", str(index), "--model", "hash:64", "index", "add", str(guides["af"]))
    assert code == 0, err
    before = _snapshot(index)
    doc_ids = [d.doc_id for d in ChromaStore.open(index).list_documents()]
    runner = _read_only_runner(index)
    prefix = next(runner)
    try:
        for args in (["index", "add", str(guides["hf"])], ["index", "remove", doc_ids[0]]):
            done = _garmle(prefix, "--index", str(index), *args)
            assert done.returncode == 1, (args, done.stdout, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
            assert any(word in lines[0].lower() for word in ("readonly", "read-only", "permission denied"))
            assert "Traceback" not in done.stderr
    finally:
        next(runner, None)
    assert _snapshot(index) == before
    assert [d.doc_id for d in ChromaStore.open(index).list_documents()] == doc_ids


# --------------------------------------------------------------------------- disk full


def test_disk_full_while_indexing_keeps_earlier_documents_and_hides_half_ones(
    tmp_path: Path, run_cli: RunCli, guides: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from chromadb.api.models.Collection import Collection

    index = tmp_path / "idx"
    where = ["--index", str(index), "--model", "hash:64"]
    assert run_cli(*where, "index", "add", str(guides["af"]))[0] == 0
    before = ChromaStore.open(index).list_documents()
    chunks_before = ChromaStore.open(index).count_chunks()

    real_add = Collection.add
    calls: list[int] = []

    def add_until_full(self: Collection, ids: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(len(ids))
        half = max(1, len(ids) // 2)
        sliced = {k: v[:half] if v is not None else None for k, v in kwargs.items()}
        real_add(self, ids[:half], **sliced)  # the first half of the batch reaches the disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Collection, "add", add_until_full)
    code, out, err = run_cli(*where, "index", "add", str(guides["zebra"]), str(guides["hf"]))
    monkeypatch.undo()
    assert calls and calls[0] >= 2, "the interrupted document had more than one chunk"
    assert code == 1 and err.strip().splitlines()[-1] == "error: No space left on device"
    assert "Traceback" not in err

    store = ChromaStore.open(index)
    assert store.list_documents() == before
    assert store.count_chunks() > chunks_before, "the simulated failure left half a document behind"
    assert {c.doc_id for c in store.all_chunks()} == {d.doc_id for d in before}
    recommender = Recommender.open(settings=Settings(index_dir=index, model_dir=Path("hash:64")))
    found = recommender.search("zebrafloxacin dose with water", k=10)
    assert found and {s.doc_id for s in found} <= {d.doc_id for d in before}
    assert all("zebrafloxacin" not in s.text for s in found)
    report = recommender.recommend("Adult with atrial fibrillation.", codes=["I48.91"], top_k=5)
    assert report.verbatim_check.failed == 0
    shown = {s.doc_id for r in report.recommendations for s in r.snippets}
    assert shown <= {d.doc_id for d in before}

    # The next run removes the leftovers and completes the interrupted documents.
    code, out, err = run_cli(*where, "index", "add", str(guides["zebra"]), str(guides["hf"]), "--json")
    assert code == 0 and json.loads(out)["added"] == 2, err
    store = ChromaStore.open(index)
    assert store.count_chunks() == sum(d.n_chunks for d in store.list_documents())
    assert len(store.list_documents()) == len(before) + 2


# --------------------------------------------------------------------------- fuzzed bodies


@pytest.fixture(scope="module")
def fuzz_client(hash_index: Path) -> Iterator[TestClient]:
    recommender = Recommender.open(settings=Settings(index_dir=hash_index, model_dir=Path("hash:64")))
    with TestClient(create_app(recommender, options=ServiceOptions(api_key=""))) as client:
        yield client


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_resource = st.fixed_dictionaries(
    {
        "resourceType": st.sampled_from(
            ["Patient", "Condition", "Observation", "MedicationRequest", "Bundle", "X"]
        )
    },
    optional={
        "id": st.sampled_from(["p1", "p2", ""]) | _scalars,
        "entry": st.lists(st.fixed_dictionaries({}, optional={"resource": _json}) | _json, max_size=3),
        "subject": st.fixed_dictionaries(
            {"reference": st.sampled_from(["Patient/p1", "Patient/p2"]) | _scalars}
        ),
        "birthDate": st.sampled_from(["1960-02-30", "2999-01-01", "x"]) | _scalars,
        "code": _json,
        "valueQuantity": _json,
        "status": _scalars,
    },
)
_envelope = st.fixed_dictionaries(
    {},
    optional={
        "hook": st.sampled_from(["patient-view", "order-select"]) | _scalars,
        "hookInstance": st.just("f9d3c1f0") | _scalars,
        "context": st.fixed_dictionaries({}, optional={"patientId": st.just("p1") | _scalars}) | _json,
        "prefetch": st.dictionaries(
            st.sampled_from(["patient", "conditions", "x"]), _resource | _json, max_size=3
        )
        | _json,
    },
)
VALID = json.dumps(
    {
        "hook": "patient-view",
        "hookInstance": "f9d3c1f0",
        "context": {"patientId": "p1"},
        "prefetch": {
            "patient": {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1950-01-01"}
        },
    }
).encode()
_fuzzed_prefetch = st.fixed_dictionaries(
    {
        "hook": st.just("patient-view"),
        "hookInstance": st.just("f9d3c1f0"),
        "context": st.just({"patientId": "p1"}),
        "prefetch": st.dictionaries(
            st.sampled_from(["patient", "conditions", "x"]), _resource, min_size=1, max_size=3
        ),
    }
)
_bodies = (
    st.binary(max_size=300)
    | _fuzzed_prefetch.map(lambda v: json.dumps(v).encode())
    | st.integers(min_value=0, max_value=len(VALID) - 1).map(lambda n: VALID[:n])
    | _json.map(lambda v: json.dumps(v).encode())
    | _envelope.map(lambda v: json.dumps(v).encode())
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_bodies)
def test_fuzzed_bodies_never_get_a_server_error(fuzz_client: TestClient, body: bytes) -> None:
    got = fuzz_client.post(PATIENT_VIEW, content=body, headers={"content-type": "application/json"})
    assert got.status_code < 500, (body[:200], got.text[:300])
    answer = got.json()
    if got.status_code >= 400:
        assert set(answer) == {"error", "message"} and answer["message"]
    else:
        assert isinstance(answer["cards"], list)


def test_service_keeps_serving_after_garbage(fuzz_client: TestClient) -> None:
    for junk in (b"{", b"\x00" * 100, b'{"hook": ' * 500, b"[" * 100000):
        assert 400 <= fuzz_client.post(PATIENT_VIEW, content=junk).status_code < 500
    got = fuzz_client.post(PATIENT_VIEW, content=VALID, headers={"content-type": "application/json"})
    assert got.status_code == 200 and isinstance(got.json()["cards"], list)

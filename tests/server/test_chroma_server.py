"""Chroma server mode: the same documents give the same recommendations as the embedded store,
and the CDS Hooks service answers 503 while the server is down and recovers when it returns."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from garmle.config import Settings
from garmle.server import ServiceOptions, create_app

CATALOGUE_SPEC = "icd10cm:I10-I16,I20-I25,I48,I50,E11,N18,E78"
SAMPLES = Path(__file__).resolve().parents[2] / "garmle" / "data" / "samples"
RunCli = Callable[..., tuple[int, str, str]]


def _index(
    run_cli: RunCli, location: list[str], files: list[str], catalogue: str = CATALOGUE_SPEC
) -> dict[str, Any]:
    code, out, err = run_cli(*location, "index", "add", *files, catalogue, "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["failed"] == [] and summary["added"] > len(files)
    code, out, err = run_cli(*location, "index", "stats", "--json")
    assert code == 0, err
    return dict(json.loads(out))


def _ranking(run_cli: RunCli, location: list[str], patient: Path, codes: str) -> list[tuple[str, list[str]]]:
    given = ["--codes", codes] if codes else []  # no codes: predicted from the record
    code, out, err = run_cli(*location, "recommend", str(patient), *given, "--format", "json", "--top-k", "5")
    assert code == 0, err
    report = json.loads(out)
    assert report["verbatim_check"]["failed"] == 0
    return [(rec["code"], [s["chunk_id"] for s in rec["snippets"]]) for rec in report["recommendations"]]


def _compare_backends(
    run_cli: RunCli,
    tmp_path: Path,
    server_url: str,
    files: list[str],
    model: list[str],
    patients: list[tuple[Path, str]],
    catalogue: str = CATALOGUE_SPEC,
) -> None:
    embedded = ["--index", str(tmp_path / "embedded"), *model]
    served = ["--chroma-url", server_url, *model]
    local_stats = _index(run_cli, embedded, files, catalogue)
    server_stats = _index(run_cli, served, files, catalogue)
    for key in ("documents", "chunks", "sources", "embedding_model", "dimension"):
        assert local_stats[key] == server_stats[key], key
    assert server_stats["location"] == server_url
    local_list, server_list = (run_cli(*where, "index", "list", "--json")[1] for where in (embedded, served))
    assert [d["doc_id"] for d in json.loads(local_list)] == [d["doc_id"] for d in json.loads(server_list)]
    for patient, codes in patients:
        local = _ranking(run_cli, embedded, patient, codes)
        assert any(ids for _, ids in local), f"{patient.name}: no guideline snippets at all"
        assert _ranking(run_cli, served, patient, codes) == local, patient.name


def test_server_and_embedded_store_give_identical_results(
    run_cli: RunCli,
    tmp_path: Path,
    chroma_server: Any,
    guideline_files: list[str],
    htn_bundle: dict[str, Any],
) -> None:
    synthea = tmp_path / "synthea-htn.json"
    synthea.write_text(json.dumps(htn_bundle), encoding="utf-8")
    patients = [
        (SAMPLES / "hypertension-diabetes-ckd.json", "I10,E11.9"),
        (SAMPLES / "new-atrial-fibrillation.txt", "I48.91,I50.9"),
        (synthea, ""),
    ]
    _compare_backends(run_cli, tmp_path, chroma_server.url, guideline_files, ["--model", "hash:64"], patients)
    # Re-adding the same documents to the server is a no-op, as it is for the embedded store.
    code, out, _ = run_cli("--chroma-url", chroma_server.url, "--model", "hash:64", "index", "add",
                           *guideline_files, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["unchanged"] == len(guideline_files)


@pytest.mark.slow
def test_server_and_embedded_store_agree_with_the_real_model(
    run_cli: RunCli, tmp_path: Path, chroma_server: Any, guideline_files: list[str]
) -> None:
    patient = (SAMPLES / "hypertension-diabetes-ckd.json", "I10,E11.9")
    files = guideline_files[:2]
    _compare_backends(run_cli, tmp_path, chroma_server.url, files, [], [patient], "icd10cm:I10,E11")


def test_collections_side_by_side_on_one_server(
    run_cli: RunCli, chroma_server: Any, guideline_files: list[str]
) -> None:
    """A new collection can be built next to the live one, then switched to (re-indexing without downtime)."""
    live = ["--chroma-url", chroma_server.url, "--model", "hash:64"]
    assert run_cli(*live, "index", "add", guideline_files[0])[0] == 0
    assert run_cli(*live, "--collection", "garmle-v2", "index", "add", *guideline_files[:2])[0] == 0
    stats = {
        name: json.loads(run_cli(*live, "--collection", name, "index", "stats", "--json")[1])["documents"]
        for name in ("garmle", "garmle-v2")
    }
    assert stats == {"garmle": 1, "garmle-v2": 2}
    code, _, err = run_cli(*live, "--collection", "garmle-v3", "index", "stats")
    assert code == 1 and "garmle-v3" in err and "garmle index add" in err


def test_unreachable_server_is_a_clear_error(run_cli: RunCli, unused_port: Callable[[], int]) -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    code, out, err = run_cli("--chroma-url", url, "--model", "hash:64", "index", "stats")
    assert code == 1 and out == ""
    assert err.startswith(f"error: cannot reach the Chroma server at {url}") and err.count("\n") == 1


def test_service_answers_503_while_chroma_is_down_and_recovers(
    run_cli: RunCli,
    chroma_server: Any,
    guideline_files: list[str],
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: Callable[..., dict[str, Any]],
    serve_app: Callable[[Any], str],
) -> None:
    _index(run_cli, ["--chroma-url", chroma_server.url, "--model", "hash:64"], guideline_files)
    settings = Settings(chroma_url=chroma_server.url, model_dir=Path("hash:64"))
    base = serve_app(create_app(settings, options=ServiceOptions(api_key="")))
    patient_id, prefetch = htn_prefetch
    body = json.dumps(hook_request(patient_id, prefetch))
    statuses: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            while not stop.is_set():
                got = http.post("/cds-services/garmle-patient-view", content=body,
                                headers={"content-type": "application/json"})  # fmt: skip
                statuses.append((time.monotonic(), got.status_code, got.text))

    def wait_for(status: int, after: float, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(t > after and s == status for t, s, _ in statuses):
            assert time.monotonic() < deadline, (
                f"no {status} after {timeout} s: {[s for _, s, _ in statuses]}"
            )
            time.sleep(0.05)

    worker = threading.Thread(target=client, daemon=True)
    worker.start()
    try:
        wait_for(200, 0)
        killed = time.monotonic()
        chroma_server.stop()  # by PID, with requests in flight
        wait_for(503, killed)
        with httpx.Client(base_url=base) as http:
            health = http.get("/healthz")
        assert health.status_code == 503 and health.json()["error"] == "unavailable"
        restarted = time.monotonic()
        chroma_server.start()  # same port, same data directory
        wait_for(200, restarted)
    finally:
        stop.set()
        worker.join(timeout=60)
    unexpected = [(s, text[:200]) for _, s, text in statuses if s not in (200, 503)]
    assert not unexpected
    down = next(text for _, s, text in statuses if s == 503)
    assert json.loads(down) == {
        "error": "unavailable",
        "message": "the guideline index (Chroma server) cannot be reached",
    }
    assert json.loads(statuses[-1][2])["cards"]

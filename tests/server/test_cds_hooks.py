"""The CDS Hooks service over a real (hash-embedded) index: discovery, cards, validation, auth, logs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from garmle.config import Settings
from garmle.recommender import Recommender
from garmle.server import ServiceOptions, create_app, discovery

HookRequestFn = Callable[..., dict[str, Any]]
PATIENT_VIEW = "/cds-services/garmle-patient-view"


@pytest.fixture(scope="module")
def recommender(hash_index: Path) -> Recommender:
    return Recommender.open(settings=Settings(index_dir=hash_index, model_dir=Path("hash:64")))


@pytest.fixture(scope="module")
def client(recommender: Recommender) -> Iterator[TestClient]:
    with TestClient(create_app(recommender, options=ServiceOptions(api_key=""))) as test_client:
        yield test_client


def test_discovery(client: TestClient) -> None:
    got = client.get("/cds-services")
    assert got.status_code == 200
    services = {s["id"]: s for s in got.json()["services"]}
    assert services["garmle-patient-view"]["hook"] == "patient-view"
    assert services["garmle-order-select"]["hook"] == "order-select"
    prefetch = services["garmle-patient-view"]["prefetch"]
    assert set(prefetch) == {"patient", "conditions", "observations", "medications"}
    assert prefetch["patient"] == "Patient/{{context.patientId}}"
    assert got.json() == discovery()


def test_patient_view_cards_are_verbatim_and_cited(
    client: TestClient,
    recommender: Recommender,
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: HookRequestFn,
) -> None:
    patient_id, prefetch = htn_prefetch
    got = client.post(PATIENT_VIEW, json=hook_request(patient_id, prefetch))
    assert got.status_code == 200, got.text
    cards = got.json()["cards"]
    assert cards, "a hypertensive patient gets at least one guideline card"
    metadata = recommender.store.document_metadata()
    titles = {m["title"] for m in metadata.values()}
    for card in cards:
        assert len(card["summary"]) < 140 and card["indicator"] == "info"
        code_title, _, guideline = card["summary"].partition(": ")
        code = code_title.split(" ", 1)[0]
        assert recommender.catalogue.is_valid(code)
        assert recommender.catalogue.title(code) in code_title
        assert guideline.rstrip("…") and any(t.startswith(guideline.rstrip("…")) for t in titles)
        assert card["source"]["label"]
        # Every quoted passage is a verbatim span of an indexed document, at the cited offsets.
        spans = re.findall(r"— .*?\[(\S+) (\d+):(\d+)\]", _unescape(card["detail"]))
        assert spans
        for doc_id, start, end in spans:
            doc = recommender.document(doc_id)
            passage = " ".join(doc.text[int(start) : int(end)].split())
            quoted = _rendered_quotes(card["detail"])
            assert any(passage == q for q in quoted), (passage[:80], [q[:80] for q in quoted])
            url = metadata[doc_id]["url"]
            if url.startswith("http"):
                assert card["source"]["url"] == url and card["links"][0]["url"] == url


def _unescape(markdown: str) -> str:
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def _rendered_quotes(detail: str) -> list[str]:
    """Each block quote of a card's detail, unescaped, with whitespace collapsed."""
    quotes: list[str] = []
    for block in detail.split("\n\n— "):
        lines = [line[1:].strip() for line in block.split("\n") if line.startswith(">")]
        if lines:
            quotes.append(" ".join(_unescape(" ".join(lines)).split()))
    return quotes


def test_prefetch_as_one_bundle_or_split_gives_the_same_cards(
    client: TestClient,
    htn_bundle: dict[str, Any],
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: HookRequestFn,
) -> None:
    patient_id, split = htn_prefetch
    kept = {"Patient", "Condition", "Observation", "MedicationRequest"}
    whole = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [e for e in htn_bundle["entry"] if e.get("resource", {}).get("resourceType") in kept],
    }
    by_split = client.post(PATIENT_VIEW, json=hook_request(patient_id, split)).json()["cards"]
    by_bundle = client.post(PATIENT_VIEW, json=hook_request(patient_id, {"everything": whole})).json()[
        "cards"
    ]
    assert [(c["summary"], c["detail"]) for c in by_split] == [(c["summary"], c["detail"]) for c in by_bundle]


def test_order_select(
    client: TestClient, htn_prefetch: tuple[str, dict[str, Any]], hook_request: HookRequestFn
) -> None:
    patient_id, prefetch = htn_prefetch
    body = hook_request(patient_id, prefetch, hook="order-select")
    body["context"]["selections"] = ["MedicationRequest/draft-1"]
    body["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": {"resourceType": "MedicationRequest", "id": "draft-1", "status": "draft",
                                "intent": "order", "subject": {"reference": f"Patient/{patient_id}"},
                                "medicationCodeableConcept": {"text": "lisinopril 10 mg"}}}],
    }  # fmt: skip
    got = client.post("/cds-services/garmle-order-select", json=body)
    assert got.status_code == 200, got.text
    assert got.json()["cards"]
    wrong = client.post("/cds-services/garmle-order-select", json=hook_request(patient_id, prefetch))
    assert wrong.status_code == 400 and "handles hook 'order-select'" in wrong.json()["message"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "empty request body"),
        (b'{"hook": "patient-view", "hookInst', 400, "not valid JSON at line 1"),
        (b"\xff\xfe garbage", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"hook": "patient-view", "context": {"patientId": "p1"}}', 400, "hookInstance: Field required"),
        (b'{"hookInstance": "x", "context": {"patientId": "p1"}}', 400, "hook: Field required"),
        (b'{"hook": "patient-view", "hookInstance": "x"}', 400, "context: Field required"),
        (
            b'{"hook": "patient-view", "hookInstance": "x", "context": {}}',
            400,
            "context.patientId: Field required",
        ),
        (
            b'{"hook": "order-sign", "hookInstance": "x", "context": {"patientId": "p"}}',
            400,
            "not 'order-sign'",
        ),
        (b'{"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}}', 412, "prefetch"),
        (
            b'{"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}, "prefetch": '
            b'{"patient": {"resourceType": "Patient", "id": "other"}}}',
            422,
            "not the hook's context.patientId",
        ),
        (
            b'{"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}, "prefetch": '
            b'{"patient": {"resourceType": "Patient", "id": "p", "birthDate": "not-a-date"}}}',
            422,
            "",
        ),
    ],
)
def test_bad_requests_get_a_clear_4xx(client: TestClient, body: bytes, status: int, message: str) -> None:
    got = client.post(PATIENT_VIEW, content=body, headers={"content-type": "application/json"})
    assert got.status_code == status, got.text
    answer = got.json()
    assert set(answer) == {"error", "message"} and message in answer["message"]
    assert "\n" not in answer["message"] and "input_value" not in answer["message"]


def test_unknown_service_and_method(client: TestClient) -> None:
    got = client.post("/cds-services/nope", json={})
    assert got.status_code == 404 and "GET /cds-services" in got.json()["message"]
    assert client.get(PATIENT_VIEW).status_code == 405
    assert client.get("/elsewhere").json()["error"] == "not_found"


def test_body_size_limit(recommender: Recommender) -> None:
    with TestClient(
        create_app(recommender, options=ServiceOptions(api_key="", max_body_bytes=1000))
    ) as small:
        got = small.post(PATIENT_VIEW, content=b"{" + b" " * 2000 + b"}")
    assert got.status_code == 413 and got.json()["error"] == "too_large"


def test_api_key(
    recommender: Recommender,
    monkeypatch: pytest.MonkeyPatch,
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: HookRequestFn,
) -> None:
    monkeypatch.setenv("GARMLE_API_KEY", "s3cret-key")
    patient_id, prefetch = htn_prefetch
    with TestClient(create_app(recommender)) as keyed:
        assert keyed.get("/cds-services").status_code == 401
        wrong = keyed.get("/cds-services", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        assert "API key" in wrong.json()["message"]
        assert keyed.get("/cds-services", headers={"Authorization": "Bearer s3cret-key"}).status_code == 200
        assert keyed.get("/cds-services", headers={"X-API-Key": "s3cret-key"}).status_code == 200
        unauth = keyed.post(PATIENT_VIEW, json=hook_request(patient_id, prefetch))
        assert unauth.status_code == 401
        ok = keyed.post(
            PATIENT_VIEW, json=hook_request(patient_id, prefetch), headers={"X-API-Key": "s3cret-key"}
        )
        assert ok.status_code == 200
        assert keyed.get("/healthz").status_code == 200  # load balancers probe without the key


def test_health(client: TestClient, recommender: Recommender) -> None:
    got = client.get("/healthz")
    assert got.status_code == 200 and got.json() == {
        "status": "ok",
        "chunks": recommender.store.count_chunks(),
    }


def _patient_strings(bundle: dict[str, Any]) -> set[str]:
    """Identifying and clinical strings of the patient that must never reach a log."""
    found: set[str] = set()
    for entry in bundle["entry"]:
        res = entry.get("resource", {})
        if res.get("resourceType") == "Patient":
            found.add(res["id"])
            for name in res.get("name", []):
                found.update(name.get("given", []))
                found.add(name.get("family", ""))
            found.add(res.get("birthDate", ""))
        if res.get("resourceType") in {"Condition", "MedicationRequest"}:
            concept = res.get("code") or res.get("medicationCodeableConcept") or {}
            found.update(c.get("display", "") for c in concept.get("coding", []))
    return {s for s in found if len(s) >= 4}


def test_no_patient_data_in_logs(
    recommender: Recommender,
    htn_bundle: dict[str, Any],
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: HookRequestFn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    patient_id, prefetch = htn_prefetch
    secrets = _patient_strings(htn_bundle)
    assert patient_id in secrets and len(secrets) > 5

    def failing() -> Recommender:
        raise RuntimeError(f"boom for {patient_id}")

    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(recommender, options=ServiceOptions(api_key=""))) as ok_client:
        assert ok_client.post(PATIENT_VIEW, json=hook_request(patient_id, prefetch)).status_code == 200
        bad = hook_request(patient_id, {"patient": {"resourceType": "Patient", "id": "someone-else"}})
        assert ok_client.post(PATIENT_VIEW, json=bad).status_code == 422
    with TestClient(create_app(failing, options=ServiceOptions(api_key=""))) as broken:
        got = broken.post(PATIENT_VIEW, json=hook_request(patient_id, prefetch))
    assert got.status_code == 500
    assert got.json() == {
        "error": "internal_error",
        "message": "internal error; the service log has the details",
    }
    assert any("RuntimeError" in r.getMessage() for r in caplog.records)
    assert any("patient-view -> 200" in r.getMessage() for r in caplog.records)
    logged = "\n".join(
        r.getMessage() + (r.exc_text or "") + json.dumps(str(r.args), default=str) for r in caplog.records
    )
    leaked = sorted(s for s in secrets if s in logged)
    assert not leaked, f"patient data in the log: {leaked}"


def test_service_from_settings_retries_a_failed_open(
    hash_index: Path,
    tmp_path: Path,
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: HookRequestFn,
) -> None:
    import shutil

    index = tmp_path / "later"
    settings = Settings(index_dir=index, model_dir=Path("hash:64"))
    patient_id, prefetch = htn_prefetch
    with TestClient(create_app(settings, options=ServiceOptions(api_key=""))) as later:
        first = later.post(PATIENT_VIEW, json=hook_request(patient_id, prefetch))
        assert first.status_code == 503 and "no index" in first.json()["message"]
        assert first.headers["retry-after"] == "5"
        assert later.get("/healthz").status_code == 503
        shutil.copytree(hash_index, index)
        assert later.post(PATIENT_VIEW, json=hook_request(patient_id, prefetch)).status_code == 200


def test_serve_runs_the_service_until_stopped(hash_index: Path, unused_port: Callable[[], int]) -> None:
    import os
    import subprocess
    import sys
    import time

    import httpx

    port = unused_port()
    code = (
        "from pathlib import Path; from garmle.config import Settings; from garmle.server import serve; "
        f"serve(Settings(index_dir=Path({str(hash_index)!r}), model_dir=Path('hash:64')), port={port})"
    )
    env = {**os.environ, "GARMLE_API_KEY": "from-env", "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["chunks"] > 0
        base = f"http://127.0.0.1:{port}/cds-services"
        assert httpx.get(base).status_code == 401
        assert httpx.get(base, headers={"Authorization": "Bearer from-env"}).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)

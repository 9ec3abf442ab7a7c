"""A bounded load test: N concurrent clients for T seconds against the service on loopback.

``GARMLE_LOAD_CLIENTS`` and ``GARMLE_LOAD_SECONDS`` change N and T (default 8 clients for 10 s).
The measured throughput and latencies are printed (``pytest -s``) and recorded in docs/deployment.md.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from garmle.config import Settings
from garmle.recommender import Recommender
from garmle.server import ServiceOptions, create_app

CLIENTS = int(os.environ.get("GARMLE_LOAD_CLIENTS", "8"))
SECONDS = float(os.environ.get("GARMLE_LOAD_SECONDS", "10"))


def run_load(base: str, body: bytes, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` threads posting ``body`` back to back for ``seconds``; latencies and failures."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client() -> None:
        with httpx.Client(base_url=base, timeout=120) as http:
            start.wait()
            while time.monotonic() < deadline[0]:
                began = time.perf_counter()
                try:
                    got = http.post("/cds-services/garmle-patient-view", content=body,
                                    headers={"content-type": "application/json"})  # fmt: skip
                    ok = got.status_code == 200 and isinstance(got.json().get("cards"), list)
                    problem = "" if ok else f"{got.status_code}: {got.text[:200]}"
                except httpx.HTTPError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - began
                with lock:
                    (failures.append(problem) if problem else latencies.append(elapsed))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 180)
    wall = time.monotonic() - began
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "requests": len(latencies),
        "failures": failures,
        "throughput_rps": round(len(latencies) / wall, 2),
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
        "p95_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)
        if ordered
        else None,
        "max_ms": round(1000 * ordered[-1], 1) if ordered else None,
    }


def _load(
    index: Path,
    model: Path | None,
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: Callable[..., dict[str, Any]],
    serve_app: Callable[[Any], str],
    label: str,
) -> None:
    recommender = Recommender.open(settings=Settings(index_dir=index, model_dir=model))
    base = serve_app(create_app(recommender, options=ServiceOptions(api_key="")))
    patient_id, prefetch = htn_prefetch
    body = json.dumps(hook_request(patient_id, prefetch)).encode()
    with httpx.Client(base_url=base, timeout=120) as http:  # one request first: caches are warm
        assert http.post("/cds-services/garmle-patient-view", content=body).status_code == 200
    result = run_load(base, body, CLIENTS, SECONDS)
    summary = json.dumps({**result, "failures": len(result["failures"])})
    print(f"\nload ({label}, {len(body) // 1024} KiB prefetch): {summary}")
    assert not result["failures"], result["failures"][:3]
    assert result["requests"] >= CLIENTS, "every client completed at least one request"
    assert result["seconds"] < SECONDS + 120, "the load test stops by itself"


def test_load_hash_model(
    hash_index: Path,
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: Callable[..., dict[str, Any]],
    serve_app: Callable[[Any], str],
) -> None:
    _load(hash_index, Path("hash:64"), htn_prefetch, hook_request, serve_app, "hash:64 index")


@pytest.mark.slow
def test_load_real_model(
    small_index: Path,
    htn_prefetch: tuple[str, dict[str, Any]],
    hook_request: Callable[..., dict[str, Any]],
    serve_app: Callable[[Any], str],
) -> None:
    _load(small_index, None, htn_prefetch, hook_request, serve_app, "all-MiniLM-L6-v2 index")

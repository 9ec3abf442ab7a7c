"""Fixtures for the service tests: a `chroma run` server on loopback, a small guideline set, FHIR prefetch."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Guidelines with a "Major Recommendations" field on conditions common in the Synthea patients.
NGC_IDS = ("10598", "11186", "10401", "10013", "10473", "10403")
CATALOGUE_SPEC = "icd10cm:I10-I16,I20-I25,I48,I50,E11,N18,E78"
SYNTHEA_HYPERTENSION = "38341003"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class ChromaServer:
    """A `chroma run` process on loopback, stopped by PID; restartable on the same port and path."""

    def __init__(self, path: Path, port: int) -> None:
        exe = Path(sys.executable).parent / "chroma"
        if not exe.is_file():
            pytest.skip(f"the chroma executable is not installed next to {sys.executable}")
        self.exe = exe
        self.path = path
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = path.parent / f"chroma-{port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.exe),
                    "run",
                    "--path",
                    str(self.path),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.process.returncode}: see {self.log}")
            try:
                import httpx

                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"chroma run did not answer on {self.url}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A fresh Chroma server for one test, stopped afterwards."""
    server = ChromaServer(tmp_path / "chroma-data", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def guideline_files(ngc_dir: Path) -> list[str]:
    """A handful of NGC summaries (paths) for indexing through the CLI."""
    files = [ngc_dir / f"ngc-{ngc_id}.xml" for ngc_id in NGC_IDS]
    missing = [f.name for f in files if not f.is_file()]
    assert not missing, f"missing NGC summaries: {missing}"
    return [str(f) for f in files]


def _run_cli(*args: str) -> tuple[int, str, str]:
    import contextlib
    import io

    from garmle.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., tuple[int, str, str]]:
    """Run the real `garmle` command line in-process; returns (exit code, stdout, stderr)."""
    return _run_cli


@pytest.fixture(scope="session")
def htn_bundle(synthea_dir: Path) -> dict[str, Any]:
    """The first Synthea bundle (by name) with a hypertension condition."""
    for path in sorted(synthea_dir.glob("*.json")):
        text = path.read_text("utf-8")
        if SYNTHEA_HYPERTENSION in text:
            return dict(json.loads(text))
    pytest.fail(f"no Synthea patient with hypertension in {synthea_dir}")


@pytest.fixture(scope="session")
def htn_prefetch(htn_bundle: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The bundle as an EHR prefetches it: a Patient plus one searchset Bundle per resource type."""
    resources = [e["resource"] for e in htn_bundle["entry"] if "resource" in e]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    prefetch: dict[str, Any] = {"patient": patient}
    for key, rtype in (
        ("conditions", "Condition"),
        ("observations", "Observation"),
        ("medications", "MedicationRequest"),
    ):
        entries = [
            {"resource": r, "search": {"mode": "match"}} for r in resources if r["resourceType"] == rtype
        ]
        prefetch[key] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "entry": entries,
        }
    return str(patient["id"]), prefetch


def _hook_request(
    patient_id: str, prefetch: dict[str, Any] | None, hook: str = "patient-view"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/example", "patientId": patient_id},
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


@pytest.fixture(scope="session")
def hook_request() -> Callable[..., dict[str, Any]]:
    """Build a CDS Hooks request body: ``hook_request(patient_id, prefetch, hook="patient-view")``."""
    return _hook_request


@pytest.fixture(scope="session")
def unused_port() -> Callable[[], int]:
    """A function returning a free TCP port on loopback."""
    return free_port


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], str]]:
    """Start an ASGI app with uvicorn in a thread on a free loopback port; returns its base URL.

    Every server started is stopped when the test ends.
    """
    import threading

    import uvicorn

    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the service did not start on port {port}")
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=15)

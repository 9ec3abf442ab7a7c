"""Speed and memory benchmarks, written to ``docs/benchmarks.md``.

Measured, each table stamped with machine, device and library versions:

* **indexing**: chunks/s and peak memory for a batch of guideline files with the real embedding model;
* **recommend latency**: cold (a fresh ``garmle recommend`` process) and warm (repeated calls in one
  process) p50/p95 on an existing index;
* **batch throughput**: patients/s for a batch of sample and Synthea patients;
* **scaling**: query latency, insert rate and memory of the vector store at growing sizes (synthetic
  384-d unit vectors; the real corpus is ~10^5 chunks), embedded and as a Chroma server on loopback.

Command line (until it is wired into ``garmle bench``)::

    python -m garmle.evaluation.bench --out docs/benchmarks.md --index index/full --mirror ../shared/data

Example:
    >>> run_benchmarks("docs/benchmarks.md", index="index/full", mirror="../shared/data")  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from garmle.errors import ConfigError, GarmleError
from garmle.evaluation.report import environment, markdown_table

__all__ = ["PeakMemory", "percentile", "run_benchmarks", "scaling_benchmark"]

DEFAULT_SIZES = (1_000, 10_000, 100_000)
DIMENSION = 384


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, linear interpolation.

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
        2.5
    """
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else 0.0


class PeakMemory:
    """Samples this process's resident memory in a thread; ``peak_mb`` is the highest value seen.

    Example:
        >>> with PeakMemory() as mem:
        ...     block = bytearray(10_000_000)
        >>> mem.peak_mb >= mem.start_mb
        True
    """

    def __init__(self, interval: float = 0.05, pid: int | None = None) -> None:
        import psutil

        self._proc = psutil.Process(pid or os.getpid())
        self.interval = interval
        self.start_mb = self._rss()
        self.peak_mb = self.start_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> float:
        try:
            return float(self._proc.memory_info().rss) / 2**20
        except Exception:  # the watched process ended
            return 0.0

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_mb = max(self.peak_mb, self._rss())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._rss())


def _stamp() -> str:
    env = environment()
    keys = (
        "machine",
        "cpus",
        "device",
        "python",
        "torch",
        "chromadb",
        "sentence-transformers",
        "garmle",
        "date",
    )
    return "_" + "; ".join(f"{k}: {env[k]}" for k in keys if k in env) + "_"


# --------------------------------------------------------------------------- indexing


def indexing_benchmark(files: Sequence[Path], model_dir: Path | None = None) -> dict[str, Any]:
    """Index ``files`` into a fresh temporary index with the real model; chunks/s and peak memory."""
    from garmle.config import Settings
    from garmle.embedding import embed_bulk, make_embedder
    from garmle.indexing import Indexer
    from garmle.store import ChromaStore

    folder = Path(tempfile.mkdtemp(prefix="garmle-bench-index-"))
    try:
        with PeakMemory() as mem:
            started = time.perf_counter()
            embedder = make_embedder(Settings(index_dir=folder, model_dir=model_dir))
            embed_bulk(embedder, ["warm-up"])  # loads the model indexing uses
            load_s = time.perf_counter() - started
            store = ChromaStore.open(folder, create=True)
            started = time.perf_counter()
            with Indexer(store, embedder) as indexer:
                report = indexer.add_files([(f, "ngc", {}) for f in files])
            wall = time.perf_counter() - started
        return {
            "files": len(files),
            "chunks": report.chunks,
            "wall_s": round(wall, 1),
            "chunks_per_s_wall": round(report.chunks / wall, 1) if wall else 0.0,
            "seconds": {k: round(v, 1) for k, v in report.seconds.items()},
            "model_load_s": round(load_s, 1),
            "peak_rss_mb": round(mem.peak_mb),
            "device": getattr(embedder, "device", "cpu"),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- recommend


def _patients(mirror: Path | None, limit: int) -> list[Path]:
    from garmle.patient import sample_patients

    paths = list(sample_patients().values())
    if mirror is not None and (mirror / "synthea-r4").is_dir():
        paths += sorted((mirror / "synthea-r4").glob("*.json"))
    return paths[:limit]


def recommend_benchmark(
    index: Path, patients: Sequence[Path], *, repeats: int = 3, model_dir: Path | None = None
) -> dict[str, Any]:
    """Cold CLI start, first call, warm latency p50/p95 and batch throughput of ``recommend``."""
    from garmle import Recommender
    from garmle.patient import load_patient

    cold = []
    entry = Path(sys.executable).with_name("garmle")
    cli = [str(entry)] if entry.exists() else [sys.executable, "-m", "garmle.cli"]
    cli += ["--index", str(index)]
    if model_dir is not None:
        cli += ["--model", str(model_dir)]
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        done = subprocess.run(
            [*cli, "recommend", str(patients[0]), "--format", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        cold.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise GarmleError(f"garmle recommend failed: {done.stderr.strip().splitlines()[-1:]}")
    loaded = [load_patient(p) for p in patients]
    with PeakMemory() as mem:
        started = time.perf_counter()
        recommender = Recommender.open(index, model_dir=model_dir)
        open_s = time.perf_counter() - started
        started = time.perf_counter()
        recommender.recommend(loaded[0])
        first_s = time.perf_counter() - started
        # a patient the process has not seen: what the notes' own query costs shows here
        new = []
        for patient in loaded[1:]:
            started = time.perf_counter()
            recommender.recommend(patient)
            new.append(time.perf_counter() - started)
        warm = []
        for _ in range(max(1, repeats)):
            for patient in loaded:
                started = time.perf_counter()
                recommender.recommend(patient)
                warm.append(time.perf_counter() - started)
        started = time.perf_counter()
        for patient in loaded:
            recommender.recommend(patient)
        batch_s = time.perf_counter() - started
    stages: dict[str, list[float]] = {}
    for patient in loaded[:5]:
        for stage, ms in recommender.recommend(patient).timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    return {
        "patients": len(loaded),
        "index_chunks": recommender.store.count_chunks(),
        "cold_cli_s": [round(v, 2) for v in cold],
        "cold_cli_median_s": round(statistics.median(cold), 2),
        "open_s": round(open_s, 2),
        "first_call_ms": round(first_s * 1000),
        "new_patient_p50_ms": round(percentile(new, 50) * 1000) if new else None,
        "new_patient_p95_ms": round(percentile(new, 95) * 1000) if new else None,
        "warm_p50_ms": round(percentile(warm, 50) * 1000),
        "warm_p95_ms": round(percentile(warm, 95) * 1000),
        "warm_calls": len(warm),
        "batch_patients_per_s": round(len(loaded) / batch_s, 2) if batch_s else 0.0,
        "stage_median_ms": {k: round(statistics.median(v), 1) for k, v in stages.items()},
        "peak_rss_mb": round(mem.peak_mb),
    }


# --------------------------------------------------------------------------- scaling


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chroma_server(path: Path) -> Iterator[tuple[str, int]]:
    """A ``chroma run`` server on loopback for ``path``; yields (url, pid) and stops it by pid."""
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        raise ConfigError(f"the chroma server command is not installed next to {sys.executable}")
    port = _free_port()
    proc = subprocess.Popen(
        [str(exe), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            raise GarmleError("the Chroma server did not start within 60 s")
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clustered unit vectors (64 centres), closer to real embeddings than uniform noise."""
    centres = rng.standard_normal((64, DIMENSION)).astype(np.float32)
    vecs = centres[rng.integers(0, 64, n)] + 0.6 * rng.standard_normal((n, DIMENSION)).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def _measure_collection(
    client: Any, sizes: Sequence[int], budget_s: float, rss: Callable[[], float]
) -> list[dict[str, Any]]:
    from garmle.store.chroma import HNSW

    rng = np.random.default_rng(7)
    collection = client.get_or_create_collection(
        "bench_chunks", embedding_function=None, configuration={"hnsw": HNSW}
    )
    queries = _unit_vectors(rng, 50)
    rows: list[dict[str, Any]] = []
    have = 0
    started_all = time.perf_counter()
    rate = 0.0
    for size in sorted(sizes):
        remaining = budget_s - (time.perf_counter() - started_all)
        if rate and (size - have) / rate > remaining:
            break  # this size would not fit in the time budget
        started = time.perf_counter()
        while have < size:
            batch = min(5_000, size - have)
            vecs = _unit_vectors(rng, batch)
            collection.add(
                ids=[f"c{have + i}" for i in range(batch)],
                embeddings=vecs,
                documents=["synthetic chunk"] * batch,
                metadatas=[{"source": "ngc" if (have + i) % 10 else "icd10cm"} for i in range(batch)],
            )
            have += batch
        insert_s = time.perf_counter() - started
        rate = (size - (rows[-1]["chunks"] if rows else 0)) / insert_s if insert_s else 0.0
        latencies, filtered = [], []
        for q in queries:
            t0 = time.perf_counter()
            collection.query(query_embeddings=q.reshape(1, -1), n_results=10)
            latencies.append(time.perf_counter() - t0)
        for q in queries[:20]:
            t0 = time.perf_counter()
            collection.query(
                query_embeddings=q.reshape(1, -1), n_results=10, where={"source": {"$ne": "icd10cm"}}
            )
            filtered.append(time.perf_counter() - t0)
        rows.append(
            {
                "chunks": size,
                "insert_per_s": round((size - (rows[-1]["chunks"] if rows else 0)) / insert_s)
                if insert_s
                else 0,
                "query_p50_ms": round(percentile(latencies, 50) * 1000, 1),
                "query_p95_ms": round(percentile(latencies, 95) * 1000, 1),
                "filtered_p50_ms": round(percentile(filtered, 50) * 1000, 1),
                "rss_mb": round(rss()),
            }
        )
    return rows


def scaling_benchmark(
    sizes: Sequence[int] = DEFAULT_SIZES, *, server: bool = True, budget_s: float = 600.0
) -> dict[str, list[dict[str, Any]]]:
    """Query latency and memory vs store size, embedded and (``server``) through a loopback Chroma server.

    Sizes are measured in increasing order; a size whose inserts would not fit in what is left of
    ``budget_s`` (at the last measured insert rate) is skipped with all larger ones.
    """
    import chromadb
    import psutil
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    out: dict[str, list[dict[str, Any]]] = {}
    folder = Path(tempfile.mkdtemp(prefix="garmle-bench-scale-"))
    try:
        client = chromadb.PersistentClient(path=str(folder / "embedded"), settings=settings)
        me = psutil.Process()
        out["embedded"] = _measure_collection(client, sizes, budget_s, lambda: me.memory_info().rss / 2**20)
        del client
        if server:
            with chroma_server(folder / "server") as (url, pid):
                port = int(url.rsplit(":", 1)[1])
                http = chromadb.HttpClient(host="127.0.0.1", port=port, settings=settings)
                proc = psutil.Process(pid)
                out["server"] = _measure_collection(
                    http, sizes, budget_s, lambda: proc.memory_info().rss / 2**20
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- report


def _write(out_path: Path, results: dict[str, Any], notes: Sequence[str]) -> None:
    stamp = _stamp()
    parts = [
        "# garmle benchmarks",
        "",
        "Generated by `python -m garmle.evaluation.bench` (`garmle bench`). Numbers are medians unless "
        "a percentile is named; the machine is shared, so expect run-to-run spread.",
        "",
    ]
    parts += [f"- {n}" for n in notes] + ([""] if notes else [])
    if "indexing" in results:
        r = results["indexing"]
        parts += [
            "## Indexing throughput",
            "",
            stamp,
            "",
            markdown_table(
                [
                    "files",
                    "chunks",
                    "wall s",
                    "chunks/s (wall)",
                    "embed s",
                    "store s",
                    "model load s",
                    "peak RSS MB",
                    "device",
                ],
                [
                    [
                        r["files"],
                        r["chunks"],
                        r["wall_s"],
                        r["chunks_per_s_wall"],
                        r["seconds"]["embed"],
                        r["seconds"]["store"],
                        r["model_load_s"],
                        r["peak_rss_mb"],
                        r["device"],
                    ]
                ],
            ),
            "",
        ]
    if "recommend" in results:
        r = results["recommend"]
        parts += [
            "## Recommend latency and batch throughput",
            "",
            stamp,
            "",
            markdown_table(
                [
                    "index chunks",
                    "patients",
                    "cold CLI s (median)",
                    "open s",
                    "first call ms",
                    "new patient p50 / p95 ms",
                    "warm p50 ms",
                    "warm p95 ms",
                    "patients/s",
                    "peak RSS MB",
                ],
                [
                    [
                        r["index_chunks"],
                        r["patients"],
                        r["cold_cli_median_s"],
                        r["open_s"],
                        r["first_call_ms"],
                        f"{r.get('new_patient_p50_ms')} / {r.get('new_patient_p95_ms')}",
                        r["warm_p50_ms"],
                        r["warm_p95_ms"],
                        r["batch_patients_per_s"],
                        r["peak_rss_mb"],
                    ]
                ],
            ),
            "",
            "Median per stage (ms): "
            + ", ".join(f"{k} {v}" for k, v in r["stage_median_ms"].items())
            + f". Warm calls: {r['warm_calls']}; cold CLI runs: {r['cold_cli_s']} s.",
            "",
        ]
    if "scaling" in results:
        parts += [
            "## Vector store scaling (synthetic 384-d vectors)",
            "",
            stamp,
            "",
            "Top-10 cosine queries (HNSW, ef_search 100), 50 queries per size; *filtered* adds the "
            "`where` clause the recommender uses to leave out catalogue chunks. RSS: embedded = this "
            "benchmark process (with anything loaded by the parts before), server = the `chroma run` "
            "process.",
            "",
        ]
        for mode, rows in results["scaling"].items():
            parts += [
                f"### {mode}",
                "",
                markdown_table(
                    [
                        "chunks",
                        "inserts/s",
                        "query p50 ms",
                        "query p95 ms",
                        "filtered query p50 ms",
                        "RSS MB",
                    ],
                    [
                        [
                            r["chunks"],
                            r["insert_per_s"],
                            r["query_p50_ms"],
                            r["query_p95_ms"],
                            r["filtered_p50_ms"],
                            r["rss_mb"],
                        ]
                        for r in rows
                    ],
                ),
                "",
            ]
        embedded = {r["chunks"]: r for r in results["scaling"].get("embedded", [])}
        server = {r["chunks"]: r for r in results["scaling"].get("server", [])}
        ratios = []
        for n in sorted(set(embedded) & set(server)):
            if embedded[n]["query_p50_ms"]:
                ratio = server[n]["query_p50_ms"] / embedded[n]["query_p50_ms"]
                ratios.append(f"{n:,} chunks: server/embedded query p50 {ratio:.1f}x")
        sizes = sorted(embedded)
        if len(sizes) >= 2 and embedded[sizes[0]]["query_p50_ms"]:
            growth = embedded[sizes[-1]]["query_p50_ms"] / embedded[sizes[0]]["query_p50_ms"]
            ratios.append(f"embedded query p50 grows {growth:.1f}x from {sizes[0]:,} to {sizes[-1]:,} chunks")
        parts += [f"- {r}" for r in ratios] + [""]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("\n".join(parts), encoding="utf-8")


def run_benchmarks(
    out_path: Path | str = "docs/benchmarks.md",
    *,
    index: Path | str | None = None,
    mirror: Path | str | None = None,
    model_dir: Path | str | None = None,
    sizes: Sequence[int] = DEFAULT_SIZES,
    index_files: int = 10,
    patients: int = 12,
    server: bool = True,
    budget_s: float = 600.0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the benchmarks and write them as Markdown to ``out_path`` (and JSON beside it).

    Args:
        out_path: the Markdown file to write.
        index: an existing index for the recommend benchmark (skipped when None).
        mirror: the shared data folder (NGC summaries for indexing, Synthea patients for recommend).
        model_dir: the embedding model directory; the bundled model when None.
        sizes: store sizes of the scaling benchmark.
        index_files: NGC summaries indexed by the indexing benchmark (0 skips it).
        patients: patients in the recommend benchmark.
        server: also measure a Chroma server on loopback.
        budget_s: seconds the scaling benchmark may spend per mode before it stops growing.
        progress: called with a line of text as each part finishes.
    """
    import json

    say = progress or (lambda line: None)
    mirror_dir = Path(mirror) if mirror is not None else None
    model = Path(model_dir) if model_dir is not None else None
    results: dict[str, Any] = {"environment": environment()}
    notes: list[str] = []
    if index_files and mirror_dir is not None and (mirror_dir / "ngc-summaries").is_dir():
        files = sorted((mirror_dir / "ngc-summaries").glob("*.xml"))[:index_files]
        results["indexing"] = indexing_benchmark(files, model)
        say(f"indexing: {results['indexing']}")
    if index is not None:
        results["recommend"] = recommend_benchmark(
            Path(index), _patients(mirror_dir, patients), model_dir=model
        )
        say(f"recommend: {results['recommend']}")
    if sizes:
        results["scaling"] = scaling_benchmark(sizes, server=server, budget_s=budget_s)
        measured = {r["chunks"] for rows in results["scaling"].values() for r in rows}
        skipped = sorted(set(sizes) - measured)
        if skipped:
            notes.append(f"sizes {skipped} not reached within the {budget_s:.0f} s budget per mode")
        say(f"scaling: {results['scaling']}")
    out = Path(out_path)
    _write(out, results, notes)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m garmle.evaluation.bench --out docs/benchmarks.md [--index DIR] [--mirror DIR]``."""
    parser = argparse.ArgumentParser(description="Measure garmle's speed and memory; write Markdown.")
    parser.add_argument("--out", default="docs/benchmarks.md", help="Markdown output")
    parser.add_argument(
        "--index", default=os.environ.get("GARMLE_INDEX"), help="index for the recommend benchmark"
    )
    parser.add_argument(
        "--mirror", default=os.environ.get("GARMLE_GUIDELINE_MIRROR"), help="shared data folder"
    )
    parser.add_argument("--model", default=None, help="embedding model directory")
    parser.add_argument(
        "--sizes", default=",".join(str(s) for s in DEFAULT_SIZES), help="store sizes, comma-separated"
    )
    parser.add_argument("--index-files", type=int, default=10, help="NGC files for the indexing benchmark")
    parser.add_argument("--no-server", action="store_true", help="skip the Chroma server measurements")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds per scaling mode")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        print(f"error: --sizes must be comma-separated integers, got {args.sizes!r}", file=sys.stderr)
        return 1
    try:
        run_benchmarks(
            args.out,
            index=args.index,
            mirror=args.mirror,
            model_dir=args.model,
            sizes=sizes,
            index_files=args.index_files,
            server=not args.no_server,
            budget_s=args.budget,
            progress=lambda line: print(line, file=sys.stderr),
        )
    except GarmleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

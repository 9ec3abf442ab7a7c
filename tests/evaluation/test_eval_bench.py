"""Benchmark runner: percentiles, memory sampling, store scaling and the written Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garmle.evaluation.bench import PeakMemory, percentile, run_benchmarks, scaling_benchmark


def test_percentile_interpolates() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([], 50) == 0.0


def test_peak_memory_sees_an_allocation() -> None:
    with PeakMemory(interval=0.01) as mem:
        block = bytearray(60 * 2**20)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    assert mem.peak_mb - mem.start_mb >= 40


def test_run_benchmarks_writes_markdown_and_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    results = run_benchmarks(out, sizes=[300, 600], index_files=0, server=False, budget_s=120)
    rows = results["scaling"]["embedded"]
    assert [r["chunks"] for r in rows] == [300, 600]
    assert all(r["query_p50_ms"] > 0 and r["rss_mb"] > 0 for r in rows)
    text = out.read_text(encoding="utf-8")
    assert "## Vector store scaling" in text and "| 600 |" in text
    assert "chromadb:" in text and "machine:" in text  # every table carries the environment
    assert "grows" in text
    assert (
        json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["scaling"]["embedded"][0]["chunks"]
        == 300
    )


def test_sizes_beyond_the_budget_are_skipped_and_noted(tmp_path: Path) -> None:
    results = run_benchmarks(
        tmp_path / "b.md", sizes=[200, 10_000_000], index_files=0, server=False, budget_s=5
    )
    assert [r["chunks"] for r in results["scaling"]["embedded"]] == [200]
    assert "[10000000] not reached" in (tmp_path / "b.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_scaling_through_a_loopback_chroma_server() -> None:
    results = scaling_benchmark([500], server=True, budget_s=60)
    assert results["server"][0]["chunks"] == 500
    assert results["server"][0]["query_p50_ms"] > 0


@pytest.mark.slow
def test_indexing_and_recommend_benchmarks(tmp_path: Path, shared_data: Path, small_index: Path) -> None:
    results = run_benchmarks(
        tmp_path / "b.md", index=small_index, mirror=shared_data, sizes=[], index_files=2, patients=3
    )
    assert results["indexing"]["chunks"] > 0 and results["indexing"]["chunks_per_s_wall"] > 0
    rec = results["recommend"]
    assert rec["patients"] == 3 and rec["warm_calls"] == 9
    assert 0 < rec["warm_p50_ms"] <= rec["warm_p95_ms"]
    # the same unit as the report's own stage timings: a warm call is within a factor of the stage total
    assert rec["stage_median_ms"]["total"] / 5 <= rec["warm_p50_ms"] <= rec["stage_median_ms"]["total"] * 5
    assert rec["cold_cli_median_s"] > 0

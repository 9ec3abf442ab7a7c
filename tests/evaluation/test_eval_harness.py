"""The evaluation harness end to end on the small indexes: runs, scores, report files, README table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garmle import Recommender
from garmle.evaluation.harness import HEADLINE, results_table, run_evaluation
from garmle.evaluation.systems import GarmleSystem, NaiveRagBaseline, default_systems, interleave

NEVER = "zzqx-no-guideline-says-this"


def _cases(tmp_path: Path) -> Path:
    cases = [
        {
            "id": "htn",
            "patient": {"note": "64-year-old man with essential hypertension. BP 152/96 mmHg, 158/98 mmHg."},
            "codes": ["I10"],
            "gold_codes": ["I10"],
            "relevance": [{"field": "conditions", "terms": ["hypertens"], "grade": 2}],
            "key_recommendations": [
                {"id": "any-bp", "description": "mentions blood pressure", "pattern": "blood pressure"},
                {"id": "never", "description": "a statement no guideline makes", "pattern": NEVER},
            ],
        },
        {
            "id": "copd",
            "patient": {"form": {"age": 70, "sex": "female", "problems": ["COPD"]}},
            "codes": ["J44.9"],
            "gold_codes": ["J44.9"],
            "conditions": ["chronic obstructive", "COPD"],
            "key_recommendations": [{"id": "never", "pattern": NEVER}],
        },
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in cases), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hash_recommender(hash_index: Path) -> Recommender:
    return Recommender.open(hash_index, model_dir="hash:64")


def test_run_evaluation_scores_and_writes_the_report(tmp_path: Path, hash_recommender: Recommender) -> None:
    systems = [GarmleSystem(hash_recommender), NaiveRagBaseline(hash_recommender)]
    out = tmp_path / "report"
    result = run_evaluation(_cases(tmp_path), hash_recommender, out, systems=systems, bootstrap_samples=200)

    assert result.cases == ["htn", "copd"]
    assert list(result.systems) == ["garmle", "naive-rag"]
    garmle = result.per_case["garmle"]
    # the impossible key is never found; "blood pressure" is among ten hypertension snippets
    assert garmle["key_recall@10"] == [0.5, 0.0]
    assert result.summary["garmle"]["key_recall@10"] == 0.25
    assert result.summary["garmle"]["key_recall_micro"] == pytest.approx(1 / 3, abs=1e-4)
    assert result.reachable["htn"] == {"any-bp": True, "never": False}
    assert {(m["case"], m["key"]) for m in result.misses} == {("htn", "never"), ("copd", "never")}
    assert all(not m["reachable"] and m["returned"] for m in result.misses)
    for name in result.systems:
        assert result.summary[name]["hallucination_rate"] == 0.0
        assert result.summary[name]["output_chars"] > 0
        assert 0.0 <= result.summary[name]["snippet_pop/precision@5"] <= 1.0
    comparison = result.comparisons["naive-rag"]["key_recall@10"]
    assert comparison["n"] == 2 and comparison["ci_low"] <= comparison["mean_diff"] <= comparison["ci_high"]

    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["summary"]["garmle"]["key_recall@10"] == 0.25
    assert "machine" in saved["environment"]
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "htn / never" in markdown and "naive-rag" in markdown
    assert "<table>" in (out / "report.html").read_text(encoding="utf-8")
    assert (out / "systems.png").stat().st_size > 0 and (out / "paired.png").stat().st_size > 0

    table = results_table(result).splitlines()
    assert len(table) == 4 and table[2].startswith("| garmle | 0.250")
    assert len(table[0].split("|")) == len(HEADLINE) + 3


def test_garmle_snippets_take_turns_presenting_code_first(hash_recommender: Recommender) -> None:
    report = hash_recommender.recommend(
        "60-year-old man with hypertension and type 2 diabetes.", codes=["I10", "E11.9"], top_k=3
    )
    first = [s.chunk_id for s in report.recommendations[0].snippets]
    assert len(first) == 3
    ranked = [s.chunk_id for s in interleave(report, 4)]
    assert len(ranked) == 4 and ranked[:2] == first[:2]
    assert [s.chunk_id for _, s in report.leading(4)] == ranked


def test_default_systems_cover_every_baseline(hash_recommender: Recommender) -> None:
    names = [s.name for s in default_systems(hash_recommender)]
    assert names[0] == "garmle"
    for baseline in ("naive-rag", "codes-only", "ehr-only", "bm25-only", "dense-only", "no-topic"):
        assert baseline in names
    assert [s.name for s in default_systems(hash_recommender, ablations=False)][-1] == "dense-only"


@pytest.mark.slow
def test_real_model_evaluation_of_every_system(tmp_path: Path, small_index: Path) -> None:
    recommender = Recommender.open(small_index)
    result = run_evaluation(_cases(tmp_path), recommender, tmp_path / "out", bootstrap_samples=100)
    assert set(result.systems) >= {"garmle", "naive-rag", "ehr-only", "bm25-only", "no-mmr"}
    for name, summary in result.summary.items():
        assert summary["hallucination_rate"] == 0.0, name
        assert summary["semantic_relevance"] > 0.0, name
    assert result.summary["garmle"]["key_recall@10"] == 0.25

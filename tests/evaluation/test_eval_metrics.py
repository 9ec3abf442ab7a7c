"""Metric wiring checked against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from garmle.evaluation.cases import KeyRecommendation
from garmle.evaluation.metrics import (
    key_recommendation_hits,
    non_verbatim_chars,
    paired_bootstrap,
    per_case_metrics,
    population_fits,
    ranking_metrics,
    semantic_relevance,
)
from garmle.types import Document, Patient, Snippet


def test_ranking_metrics_match_hand_computed_values() -> None:
    qrels = {"q1": {"a": 1, "c": 2}, "q2": {"x": 1}, "q3": {"z": 1}}
    run = {"q1": ["b", "a", "c", "a"], "q2": ["x"], "q3": ["y"]}
    got = per_case_metrics(qrels, run, ["precision@2", "recall@3", "mrr", "ndcg@3"])
    assert got["precision@2"] == [0.5, 0.5, 0.0]  # ranx divides by k even when fewer items came back
    assert got["recall@3"] == [1.0, 1.0, 0.0]
    assert got["mrr"] == [0.5, 1.0, 0.0]
    # ranx nDCG (Jarvelin off) uses the grade as gain: DCG = 1/log2(3) + 2/log2(4), ideal 2 + 1/log2(3)
    dcg = 1 / math.log2(3) + 2 / math.log2(4)
    ideal = 2 + 1 / math.log2(3)
    assert got["ndcg@3"][0] == pytest.approx(dcg / ideal, abs=1e-6)
    means = ranking_metrics(qrels, run, ["mrr"])
    assert means == {"mrr": 0.5}


def test_cases_without_relevant_items_score_zero_and_keep_their_place() -> None:
    got = per_case_metrics({"q1": {}, "q2": {"a": 1}}, {"q1": ["a"], "q2": ["a"]}, ["precision@1"])
    assert got == {"precision@1": [0.0, 1.0]}
    assert per_case_metrics({"q1": {}}, {"q1": ["a"]}, ["mrr"]) == {"mrr": [0.0]}


def _snip(text: str, chunk_id: str = "d:0", start: int = 0) -> Snippet:
    return Snippet(text, "d", chunk_id, "T", start, start + len(text), 1.0)


def test_key_recommendation_hits_report_the_first_rank_within_k() -> None:
    keys = [KeyRecommendation("met", pattern="metformin"), KeyRecommendation("by-id", chunk_ids=("d:7",))]
    snippets = [_snip("Lifestyle first."), _snip("Offer metformin."), _snip("Other.", "d:7")]
    assert key_recommendation_hits(keys, snippets, 3) == {"met": 2, "by-id": 3}
    assert key_recommendation_hits(keys, snippets, 2) == {"met": 2, "by-id": None}
    assert key_recommendation_hits(keys, [], 10) == {"met": None, "by-id": None}


@pytest.mark.parametrize(
    ("population", "title", "patient", "fits"),
    [
        ("Children and adolescents aged 2 to 18 years with asthma", "", Patient("p", age=40), False),
        ("Children and adolescents aged 2 to 18 years with asthma", "", Patient("p", age=12), True),
        ("Adults and children with asthma", "", Patient("p", age=40), True),
        ("Adults aged 18 years and older", "", Patient("p", age=12), False),
        ("Pregnant women with pre-existing diabetes", "", Patient("p", age=30, sex="female"), False),
        (
            "Pregnant women with pre-existing diabetes",
            "",
            Patient("p", age=30, sex="female", pregnant=True),
            True,
        ),
        ("Adults with hypertension, including pregnant women", "", Patient("p", age=50, sex="male"), True),
        ("Adults", "Hypertension in pregnancy", Patient("p", age=50, sex="female"), False),
        ("Postmenopausal women with osteoporosis", "", Patient("p", age=70, sex="male"), False),
        ("Postmenopausal women with osteoporosis", "", Patient("p", age=70, sex="female"), True),
        ("Men aged 50 years and older", "", Patient("p", age=60, sex="female"), False),
        ("", "Heart failure", Patient("p"), True),
    ],
)
def test_population_fit(population: str, title: str, patient: Patient, fits: bool) -> None:
    assert population_fits({"population": population, "title": title}, patient) is fits


def test_semantic_relevance_is_mean_cosine() -> None:
    context = np.array([3.0, 4.0])
    vectors = [np.array([3.0, 4.0]), np.array([-4.0, 3.0]), np.array([0.0, 0.0])]
    assert semantic_relevance(context, vectors) == pytest.approx((1.0 + 0.0 + 0.0) / 3)
    assert semantic_relevance(context, []) == 0.0


def test_non_verbatim_characters_are_counted_per_snippet() -> None:
    doc = Document(doc_id="d", title="T", text="Offer metformin. Treat to 140/90.")
    good = _snip("Offer metformin.")
    shifted = _snip("Treat to 140/90.", start=16)  # the text is there, but not at the cited span
    unknown = Snippet("Offer", "zz", "zz:0", "T", 0, 5, 1.0)
    assert non_verbatim_chars([good], {"d": doc}) == (0, 16)
    assert non_verbatim_chars([good, shifted, unknown], {"d": doc}) == (21, 37)


def test_paired_bootstrap_interval() -> None:
    same = paired_bootstrap([0.5, 1.0, 0.0], [0.5, 1.0, 0.0])
    assert (same.mean_diff, same.low, same.high, same.significant) == (0.0, 0.0, 0.0, False)
    mixed = paired_bootstrap([1.0, 1.0, 0.0, 1.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0, 0.0, 0.0], samples=500)
    assert mixed.mean_diff == pytest.approx(4 / 6, abs=1e-4)
    assert -1.0 <= mixed.low < mixed.mean_diff < mixed.high <= 1.0
    assert mixed.to_dict()["n"] == 6
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap([1.0], [])

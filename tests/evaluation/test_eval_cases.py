"""Case files: parsing, validation messages, mirror paths, relevance and key-recommendation matching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garmle.errors import ConfigError
from garmle.evaluation.cases import EvalCase, KeyRecommendation, RelevanceRule, load_cases

ROOT = Path(__file__).resolve().parents[2]
DEV_CASES = ROOT / "eval" / "cases" / "dev.jsonl"
CASE_FILES = sorted((ROOT / "eval" / "cases").glob("*.jsonl"))


def _write(tmp_path: Path, *cases: object) -> Path:
    path = tmp_path / "cases.jsonl"
    path.write_text("# comment line\n\n" + "\n".join(json.dumps(c) for c in cases) + "\n", encoding="utf-8")
    return path


def test_load_cases_resolves_mirror_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps({"age": 60, "sex": "male"}), encoding="utf-8")
    path = _write(
        tmp_path,
        {"id": "a", "patient": {"path": "{mirror}/p.json"}, "gold_codes": ["I10"]},
        {"id": "b", "patient": {"path": "p.json"}, "conditions": ["hypertens"]},
    )
    cases = load_cases(path, mirror=tmp_path)
    assert [c.case_id for c in cases] == ["a", "b"]
    assert cases[0].patient.path == str(tmp_path / "p.json")
    assert cases[1].patient.load().age == 60
    assert cases[1].relevance == (RelevanceRule(field="conditions", terms=("hypertens",)),)


def test_a_relative_mirror_is_read_from_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.json").write_text(json.dumps({"age": 60, "sex": "male"}), encoding="utf-8")
    (tmp_path / "cases").mkdir()
    path = _write(
        tmp_path / "cases", {"id": "a", "patient": {"path": "{mirror}/p.json"}, "gold_codes": ["I10"]}
    )
    monkeypatch.chdir(tmp_path)
    assert load_cases(path, mirror="data")[0].patient.load().age == 60


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"patient": {"note": "x"}}, 'missing "id"'),
        ({"id": "a"}, 'missing "patient"'),
        ({"id": "a", "patient": {"note": ""}}, "empty or unknown"),
        ({"id": "a", "patient": {"note": "x"}, "colour": 1}, "unknown keys ['colour']"),
        ({"id": "a", "patient": {"note": "x"}, "relevance": [{"field": "conditions"}]}, "both"),
        (
            {"id": "a", "patient": {"note": "x"}, "relevance": [{"terms": ["x"], "field": "c", "grade": 0}]},
            "grade",
        ),
        ({"id": "a", "patient": {"note": "x"}, "key_recommendations": [{"id": "k"}]}, "needs a"),
        (
            {"id": "a", "patient": {"note": "x"}, "key_recommendations": [{"id": "k", "pattern": "("}]},
            "regular",
        ),
    ],
)
def test_bad_cases_name_the_problem(tmp_path: Path, case: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        load_cases(_write(tmp_path, case))
    assert message in str(err.value)
    assert "cases.jsonl:3" in str(err.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_cases(tmp_path / "none.jsonl")
    (tmp_path / "bad.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_cases(tmp_path / "bad.jsonl")
    dup = _write(tmp_path, {"id": "a", "patient": {"note": "x"}}, {"id": "a", "patient": {"note": "y"}})
    with pytest.raises(ConfigError, match="repeats"):
        load_cases(dup)
    with pytest.raises(ConfigError, match="mirror"):
        load_cases(_write(tmp_path, {"id": "a", "patient": {"path": "{mirror}/p.json"}}))


def test_relevance_grades_take_the_highest_matching_rule() -> None:
    case = EvalCase.from_dict(
        {
            "id": "c",
            "patient": {"note": "x"},
            "relevance": [
                {"field": "conditions", "terms": ["hypertens"], "grade": 1},
                {"field": "conditions", "terms": ["diabet"], "grade": 2},
                {"doc_ids": ["d9"], "grade": 3},
                {"chunk_ids": ["d1:4"], "grade": 2},
            ],
        }
    )
    assert case.relevance_grade({"conditions": "Hypertension; Type 2 diabetes"}) == 2
    assert case.relevance_grade({"conditions": "Hypertension"}) == 1
    # terms match at a word start: "prehypertension" is not "hypertens..."
    assert case.relevance_grade({"conditions": "Prehypertension"}) == 0
    assert case.relevance_grade({"conditions": "Asthma"}, doc_id="d9") == 3
    assert case.relevance_grade({"conditions": "Asthma"}, doc_id="d1", chunk_id="d1:4") == 2


def test_key_recommendation_by_pattern_or_chunk_id() -> None:
    key = KeyRecommendation("oac", pattern=r"CHA2DS2-VASc[^.]{0,100}anticoagula", chunk_ids=("x:1",))
    assert key.matches("Offer anticoagulation... no", "x:1")
    assert key.matches("With a CHA2DS2-VASc score of 2 or more,\noffer anticoagulation.")
    assert not key.matches("Offer anticoagulation. CHA2DS2-VASc is a score.")


def test_dev_case_set_covers_twelve_conditions_with_key_recommendations() -> None:
    cases = load_cases(DEV_CASES, mirror=ROOT.parent / "shared" / "data")
    conditions = {rule.terms for c in cases for rule in c.relevance if rule.grade == 2}
    assert len(conditions) >= 12
    assert all(1 <= len(c.key_recommendations) <= 3 and c.gold_codes for c in cases)
    assert len({c.case_id for c in cases}) == len(cases)


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.name)
def test_every_case_file_loads_with_keys_codes_and_a_main_condition(path: Path) -> None:
    cases = load_cases(path, mirror=ROOT.parent / "shared" / "data")
    assert len(cases) >= 10 and len({c.case_id for c in cases}) == len(cases)
    for case in cases:
        assert 1 <= len(case.key_recommendations) <= 3 and case.gold_codes, case.case_id
        assert any(rule.grade == 2 for rule in case.relevance), case.case_id


@pytest.mark.slow
def test_every_key_recommendation_is_stated_somewhere_in_the_ngc_corpus(ngc_dir: Path) -> None:
    from garmle.ingest import load_file

    cases = [c for path in CASE_FILES for c in load_cases(path, mirror=ngc_dir.parent)]
    keys = {(c.case_id, k.id): k for c in cases for k in c.key_recommendations}
    missing = set(keys)
    for path in sorted(ngc_dir.glob("*.xml")):
        text = load_file(path, source="ngc")[0].text
        missing -= {name for name in missing if keys[name].matches(text)}
        if not missing:
            break
    assert not missing, f"key recommendations no NGC summary states: {sorted(missing)}"

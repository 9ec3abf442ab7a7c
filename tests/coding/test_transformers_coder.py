"""TransformersCoder round trip with a tiny randomly initialised BERT built here (no downloads)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from garmle.catalogue import IcdCatalogue
from garmle.coding import TransformersCoder
from garmle.errors import ConfigError, PredictionError
from garmle.types import Patient

WORDS = ("patient has high blood pressure and type 2 diabetes chest pain denies history of the with").split()  # noqa: SIM905


def _tiny_model(folder: Path, labels: list[str], *, label_file: bool = False) -> Path:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    tokenizer.model_max_length = 32
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(labels),
        problem_type="multi_label_classification",
    )
    if not label_file:
        config.id2label = dict(enumerate(labels))
        config.label2id = {code: i for i, code in enumerate(labels)}
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    if label_file:
        (folder / "labels.json").write_text(json.dumps(labels), encoding="utf-8")
    return folder


def test_round_trip_scores_match_the_model(tmp_path: Path, catalogue: IcdCatalogue) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = _tiny_model(tmp_path / "m", ["I10", "E11.9"])
    note = "patient has high blood pressure"
    coder = TransformersCoder(folder, catalogue, threshold=0.0, device="cpu")
    preds = {p.code: p for p in coder.predict(Patient("p", notes=(note,)))}
    assert set(preds) == {"I10", "E11.9"}
    assert preds["I10"].title == "Essential (primary) hypertension"
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    with torch.no_grad():
        expected = torch.sigmoid(model(**tok(note, return_tensors="pt")).logits)[0].tolist()
    assert preds["I10"].score == pytest.approx(expected[0], abs=1e-4)
    assert preds["E11.9"].score == pytest.approx(expected[1], abs=1e-4)
    ev = preds["I10"].evidence[0]
    assert ev.kind == "note" and note[ev.char_start : ev.char_end] == ev.text


def test_threshold_above_every_score_returns_nothing(tmp_path: Path, catalogue: IcdCatalogue) -> None:
    folder = _tiny_model(tmp_path / "m", ["I10", "E11.9"])
    coder = TransformersCoder(folder, catalogue, threshold=1.0, device="cpu")
    assert coder.predict(Patient("p", notes=("patient has high blood pressure",))) == []


def test_long_note_is_windowed_and_evidence_points_into_it(tmp_path: Path, catalogue: IcdCatalogue) -> None:
    folder = _tiny_model(tmp_path / "m", ["I10", "E11.9"], label_file=True)
    note = " ".join(WORDS * 6)  # far longer than the 32-token limit
    coder = TransformersCoder(folder, catalogue, threshold=0.0, max_length=32, stride=4, device="cpu")
    assert coder.labels == ["I10", "E11.9"]
    preds = coder.predict(Patient("p", notes=("", note)))
    assert {p.code for p in preds} == {"I10", "E11.9"}
    for pred in preds:
        ev = pred.evidence[0]
        assert ev.note_index == 1
        assert note[ev.char_start : ev.char_end] == ev.text
        assert len(ev.text) < len(note)


def test_unknown_label_codes_are_dropped(tmp_path: Path, catalogue: IcdCatalogue) -> None:
    folder = _tiny_model(tmp_path / "m", ["I10", "NOTACODE"])
    coder = TransformersCoder(folder, catalogue, threshold=0.0, device="cpu")
    assert [p.code for p in coder.predict(Patient("p", notes=("chest pain",)))] == ["I10"]


def test_bad_checkpoints_raise_clear_errors(tmp_path: Path, catalogue: IcdCatalogue) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        TransformersCoder(tmp_path / "missing", catalogue)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PredictionError, match="cannot load classifier"):
        TransformersCoder(empty, catalogue).predict(Patient("p", notes=("x",)))
    folder = _tiny_model(tmp_path / "m", ["I10", "E11.9"])
    (folder / "labels.json").write_text('["I10"]', encoding="utf-8")
    with pytest.raises(PredictionError, match="2 outputs but 1 labels"):
        TransformersCoder(folder, catalogue).predict(Patient("p", notes=("x",)))
    with pytest.raises(ConfigError, match="threshold"):
        TransformersCoder(folder, catalogue, threshold=2.0)

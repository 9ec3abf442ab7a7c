"""The NumPy BERT encoder gives the sentence-transformers vectors; the embedder routes requests to it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from garmle.bert import NumpyBertEncoder, supports
from garmle.config import bundled_model_path
from garmle.embedding import LIGHT_LIMIT, SentenceTransformerEmbedder, embed_bulk

TEXTS = [
    "metformin",
    "Type 2 diabetes mellitus without complications: first-line pharmacologic therapy",
    "BP 152/94 mmHg, eGFR 48 mL/min/1.73m2, HbA1c 8.1 % -- on lisinopril 10 mg daily.",
    "Naïve café patient ≥ 65 years: ‘quoted’ text and — dashes",
    "",
    "atrial fibrillation " * 200,  # longer than the model's 256 tokens: truncated like the model
]


@pytest.fixture(scope="module")
def model_vectors() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True))


def test_numpy_vectors_equal_the_models(model_vectors: np.ndarray) -> None:
    encoder = NumpyBertEncoder(bundled_model_path(), batch_size=4)
    ours = encoder.encode(TEXTS)
    assert ours.shape == model_vectors.shape and ours.dtype == np.float32
    assert float(np.abs(ours - model_vectors).max()) < 1e-5
    assert float((ours * model_vectors).sum(axis=1).min()) > 0.99999
    # batching and ordering do not change a text's vector
    single = np.stack([encoder.encode([t])[0] for t in TEXTS])
    assert float(np.abs(single - ours).max()) < 1e-5


def _copy_model(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(bundled_model_path(), target)
    return target


def test_other_layouts_are_left_to_sentence_transformers(tmp_path: Path) -> None:
    assert supports(bundled_model_path())
    assert not supports(tmp_path)
    model = _copy_model(tmp_path)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config["pooling_mode_max_tokens"] = True
    pooling.write_text(json.dumps(config))
    assert not supports(model)
    with pytest.raises(ValueError, match="not a BERT"):
        NumpyBertEncoder(model)
    embedder = SentenceTransformerEmbedder(model)
    assert embedder._light_encoder() is None


def test_small_requests_skip_the_model_and_bulk_uses_it(model_vectors: np.ndarray) -> None:
    embedder = SentenceTransformerEmbedder()
    few = embedder.embed(TEXTS)
    assert embedder._model is None  # answered without loading sentence-transformers
    assert float(np.abs(few - model_vectors).max()) < 1e-5
    bulk = embed_bulk(embedder, TEXTS)
    assert embedder._model is not None
    assert float(np.abs(bulk - model_vectors).max()) < 1e-5
    # once the model is loaded it serves every request
    assert float(np.abs(embedder.embed(TEXTS[:2]) - model_vectors[:2]).max()) < 1e-5


def test_light_path_can_be_switched_off_and_is_bounded() -> None:
    embedder = SentenceTransformerEmbedder(light=False)
    assert embedder._light_encoder() is None
    assert LIGHT_LIMIT >= 64

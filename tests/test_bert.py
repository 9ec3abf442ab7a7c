"""The NumPy BERT encoder gives the sentence-transformers vectors; the embedder routes requests to it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from garmle.bert import NumpyBertEncoder, length_batches, one_blas_thread, supports
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


def _cost(batches: list[list[int]], lengths: list[int]) -> int:
    return sum(20 + len(b) * max(lengths[i] for i in b) for b in batches)


@pytest.mark.parametrize(
    "lengths",
    [[], [7], [13, 10, 8, 7, 5, 4, 4, 3], [140, 12, 11, 10, 9, 150, 8, 100, 99, 98], list(range(1, 60))],
)
def test_passes_group_texts_at_the_least_padding_cost(lengths: list[int]) -> None:
    batches = length_batches(lengths, batch_size=8)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    assert all(len(b) <= 8 for b in batches)
    if not lengths:
        return
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    # no cheaper than the brute-force best over every split of the sorted texts (small cases)
    n = len(order)
    if n <= 12:
        import itertools

        best = min(
            _cost([order[a:b] for a, b in itertools.pairwise((0, *cuts, n))], lengths)
            for r in range(n)
            for cuts in itertools.combinations(range(1, n), r)
            if all(b - a <= 8 for a, b in itertools.pairwise((0, *cuts, n)))
        )
        assert _cost(batches, lengths) == best
    singles = _cost([[i] for i in order], lengths)
    chunks = _cost([order[i : i + 8] for i in range(0, n, 8)], lengths)
    assert _cost(batches, lengths) <= min(singles, chunks)


def test_a_long_text_is_not_padded_into_the_short_texts_batch() -> None:
    encoder = NumpyBertEncoder(bundled_model_path())
    seen: list[list[int]] = []
    original = encoder._encode_batch

    def spy(encodings: list[Any]) -> np.ndarray:
        seen.append([len(e.ids) for e in encodings])
        return original(encodings)

    encoder._encode_batch = spy  # type: ignore[method-assign]
    vectors = encoder.encode([TEXTS[5], *TEXTS[:3]])
    assert [256] in seen  # the truncated long text has a pass of its own
    assert float(np.abs(vectors[1:] - encoder.encode(TEXTS[:3])).max()) < 1e-5


def test_texts_the_tokenizer_reads_alike_are_encoded_once() -> None:
    encoder = NumpyBertEncoder(bundled_model_path())
    seen: list[int] = []
    original = encoder._encode_batch

    def spy(encodings: list[Any]) -> np.ndarray:
        seen.append(len(encodings))
        return original(encodings)

    encoder._encode_batch = spy  # type: ignore[method-assign]
    texts = ["Nausea", "nausea", "Headache, unspecified", "NAUSEA", "headache, unspecified"]
    vectors = encoder.encode(texts)
    assert sum(seen) == 2  # the uncased model reads two texts
    alone = np.stack([original([e])[0] for e in encoder._tok.encode_batch(texts)])
    assert vectors.shape == (5, encoder.dimension) and float(np.abs(vectors - alone).max()) < 1e-5
    assert encoder.encode([]).shape == (0, encoder.dimension)


def test_overlapping_threads_restore_the_blas_threads_when_the_last_leaves() -> None:
    import threading

    from threadpoolctl import threadpool_info

    import garmle.bert as bert

    def blas_threads() -> list[int]:
        return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]

    before = blas_threads()

    def other() -> None:
        with one_blas_thread():
            pass

    with one_blas_thread():
        worker = threading.Thread(target=other)
        worker.start()
        worker.join(5)
        # the other thread came and went: the limit still holds here
        assert all(n == 1 for n in blas_threads())
    assert bert._blas_users == 0
    assert blas_threads() == before

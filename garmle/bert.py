"""A NumPy forward pass for BERT sentence encoders, for the few texts of one request.

Embedding a patient's queries takes a handful of short texts, yet loading
sentence-transformers (and with it transformers and torch) costs several
seconds per process. For the common case, a sentence-transformers directory
holding a BERT model (``model.safetensors`` + ``tokenizer.json``) with mean or
CLS pooling and optional normalisation, :class:`NumpyBertEncoder` reads the
same weights with ``safetensors`` and the same tokenizer with ``tokenizers``
and computes the same vectors in NumPy (float32; the cosine to the torch
output is 1 within 1e-6). Any other layout is reported by
:func:`supports` as unsupported and served by sentence-transformers.

Example:
    >>> from garmle.config import bundled_model_path
    >>> enc = NumpyBertEncoder(bundled_model_path())     # doctest: +SKIP
    >>> enc.encode(["metformin"]).shape                  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["NumpyBertEncoder", "length_batches", "one_blas_thread", "supports"]

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _layout(model_dir: Path) -> tuple[dict[str, Any], str, bool, int] | None:
    """(config, pooling mode, normalise, max tokens) of a supported model directory, else None."""
    modules = _read_json(model_dir / "modules.json")
    if not isinstance(modules, list) or not modules:
        return None
    kinds = [m.get("type") for m in modules if isinstance(m, dict)]
    if kinds not in ([_TRANSFORMER, _POOLING], [_TRANSFORMER, _POOLING, _NORMALIZE]):
        return None
    if modules[0].get("path", "") not in ("", "."):
        return None
    config = _read_json(model_dir / "config.json")
    if not isinstance(config, dict) or config.get("model_type") != "bert":
        return None
    if config.get("hidden_act", "gelu") != "gelu":
        return None
    if config.get("position_embedding_type", "absolute") != "absolute":
        return None
    pooling = _read_json(model_dir / str(modules[1].get("path", "1_Pooling")) / "config.json")
    if not isinstance(pooling, dict):
        return None
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if modes == ["pooling_mode_mean_tokens"]:
        mode = "mean"
    elif modes == ["pooling_mode_cls_token"]:
        mode = "cls"
    else:
        return None
    if not (model_dir / "model.safetensors").is_file() or not (model_dir / "tokenizer.json").is_file():
        return None
    st_config = _read_json(model_dir / "sentence_bert_config.json") or {}
    limit = int(st_config.get("max_seq_length") or config.get("max_position_embeddings", 512))
    limit = min(limit, int(config.get("max_position_embeddings", 512)))
    return config, mode, len(kinds) == 3, limit


def supports(model_dir: Path | str) -> bool:
    """True when :class:`NumpyBertEncoder` computes this model's sentence-transformers vectors.

    Example:
        >>> supports("/nonexistent")
        False
    """
    return _layout(Path(model_dir)) is not None


_BLAS_LOCK = threading.Lock()
_blas_users = 0
_blas_saved: Any = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread, also when several threads encode at once.

    ``threadpoolctl``'s limits are process-wide: two overlapping ``threadpool_limits`` blocks each
    restore what they found on leaving, so the later one to leave would keep BLAS at one thread for
    the rest of the process (or the earlier one would lift the limit under the other). Here the first
    thread in sets the limit and the last one out restores it.

    Example:
        >>> with one_blas_thread():
        ...     with one_blas_thread():
        ...         pass
        >>> _blas_users
        0
    """
    global _blas_users, _blas_saved
    from threadpoolctl import threadpool_limits

    with _BLAS_LOCK:
        if _blas_users == 0:
            _blas_saved = threadpool_limits(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_saved.restore_original_limits()
                _blas_saved = None


_BLOCK = 1 << 15  # elements per GELU block: the temporaries stay in the CPU cache


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact (erf) GELU, computed in place, block by block.

    erf comes from Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, float32's own
    precision). Each block's dozen element-wise passes run on cache-sized temporaries, which is
    several times faster than the same passes over a whole activation matrix.
    """
    flat = x.reshape(-1)
    for start in range(0, flat.size, _BLOCK):
        _gelu_block(flat[start : start + _BLOCK])
    return x


def _gelu_block(x: np.ndarray) -> None:
    a = np.abs(x)
    a *= np.float32(0.7071067811865476)  # |x| / sqrt(2)
    t = a * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for coef in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(coef)
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|x| / sqrt(2))
    # gelu(x) = x - x * (1 - erf(|x| / sqrt(2))) / 2 for x >= 0, and x * (1 - erf(|x| / sqrt(2))) / 2
    # for x < 0
    poly *= 0.5
    poly *= x
    np.subtract(x, poly, out=x, where=x >= 0)
    np.copyto(x, poly, where=x < 0)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * weight + bias


# A forward pass costs about as much as this many more token slots, whatever its size (the weights
# are read once per pass): about 8 ms against 0.4 ms a token slot for MiniLM-L6 on one thread.
_PASS_TOKENS = 20


def length_batches(
    lengths: Sequence[int], batch_size: int, *, pass_tokens: int = _PASS_TOKENS
) -> list[list[int]]:
    """Indices of texts grouped into forward passes, longest texts first, at the least cost.

    A pass costs ``pass_tokens`` plus its texts' count times its longest text's token length
    (each text is padded to the longest); the grouping of the texts, sorted by length, into
    passes of at most ``batch_size`` that costs least is found by dynamic programming. A note of
    a hundred tokens thus gets a pass of its own instead of padding ten short queries to its
    length, and a handful of short queries share one pass.

    Example:
        >>> length_batches([12, 140, 10, 11, 9], batch_size=32)
        [[1], [0, 3, 2, 4]]
        >>> length_batches([186, 47, 29], batch_size=32)
        [[0], [1, 2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    n = len(order)
    # best[j]: least cost of the first j texts in order; cut[j]: where the last pass starts
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - batch_size), j):
            cost = best[i] + pass_tokens + (j - i) * lengths[order[i]]
            if cost < best[j]:
                best[j], cut[j] = cost, i
    batches: list[list[int]] = []
    j = n
    while j > 0:
        batches.append(order[cut[j] : j])
        j = cut[j]
    return batches[::-1]


class NumpyBertEncoder:
    """Sentence vectors of a BERT sentence-transformers model, computed in NumPy.

    Args:
        model_dir: a directory :func:`supports` accepts.
        batch_size: texts per forward pass (padding is to the longest text of the batch).
    """

    def __init__(self, model_dir: Path | str, *, batch_size: int = 32) -> None:
        layout = _layout(Path(model_dir))
        if layout is None:
            raise ValueError(f"{str(model_dir)!r} is not a BERT sentence-transformers directory")
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config, self.pooling, self.normalize, self.max_tokens = layout
        self.model_dir = Path(model_dir)
        self.batch_size = batch_size
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        weights = load_file(str(self.model_dir / "model.safetensors"))
        # Checkpoints saved from BertForX carry a "bert." prefix.
        self._w = {k.removeprefix("bert."): v.astype(np.float32, copy=False) for k, v in weights.items()}
        # Dense layers' weights are kept only transposed, so each product reads them row-major.
        dense = [
            k
            for k, v in self._w.items()
            if k.startswith("encoder.layer.") and k.endswith(".weight") and v.ndim == 2
        ]
        self._wt = {k.removesuffix(".weight"): np.ascontiguousarray(self._w.pop(k).T) for k in dense}
        self.dimension = int(self._w["embeddings.word_embeddings.weight"].shape[1])
        self._tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self._tok.enable_truncation(self.max_tokens)
        # Each batch is padded to its own longest text in _encode_batch.
        self._tok.no_padding()
        self.pad_id = int(config.get("pad_token_id", 0))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An ``(n, dimension)`` float32 array: one sentence vector per text.

        Texts share a forward pass only with texts of similar token length (see
        :func:`length_batches`): a pass is padded to its longest text, and a request's note
        (a hundred or more tokens) padded into the pass of its ten-token queries would cost
        several times what the two passes cost apart.

        The products run on one BLAS thread: for a request's few short texts a second thread gains
        little, and on a machine whose other core is busy its spin-waiting made them several times
        slower.
        """
        encodings = self._tok.encode_batch(list(texts)) if texts else []
        # texts the tokenizer reads alike ("Nausea" and "nausea" for an uncased model) are encoded once
        first: dict[tuple[tuple[int, ...], tuple[int, ...]], int] = {}
        unique: list[Any] = []
        slot = []
        for e in encodings:
            key = (tuple(e.ids), tuple(e.type_ids))
            if key not in first:
                first[key] = len(unique)
                unique.append(e)
            slot.append(first[key])
        vectors = np.zeros((len(unique), self.dimension), dtype=np.float32)
        lengths = [len(e.ids) for e in unique]
        with one_blas_thread():
            for rows in length_batches(lengths, self.batch_size):
                vectors[rows] = self._encode_batch([unique[i] for i in rows])
        return vectors[slot] if slot else np.zeros((0, self.dimension), dtype=np.float32)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        # One 2-D product over every token (a 3-D operand would loop over the batch).
        weight = self._wt[name]
        out = x.reshape(-1, x.shape[-1]) @ weight
        out += self._w[f"{name}.bias"]
        return out.reshape(*x.shape[:-1], weight.shape[1])

    def _encode_batch(self, encodings: list[Any]) -> np.ndarray:
        n, length = len(encodings), max(len(e.ids) for e in encodings)
        ids = np.full((n, length), self.pad_id, dtype=np.int64)
        types = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            types[row, : len(e.ids)] = e.type_ids
            mask[row, : len(e.ids)] = 1.0
        w = self._w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        head = self.dimension // self.heads
        scale = np.float32(1.0 / np.sqrt(head))
        # Padded keys get a large negative score, as in BERT's extended attention mask.
        bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(n, length, self.heads, head).transpose(0, 2, 1, 3)

            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2)
            scores *= scale
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, self.dimension)
            attn = self._linear(context, f"{p}.attention.output.dense")
            norm = f"{p}.attention.output.LayerNorm"
            x = _layer_norm(attn + x, w[f"{norm}.weight"], w[f"{norm}.bias"], self.eps)
            inner = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                self._linear(inner, f"{p}.output.dense") + x,
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
                self.eps,
            )
        if self.pooling == "cls":
            pooled = x[:, 0, :]
        else:
            pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        if self.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)

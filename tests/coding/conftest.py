"""Shared fixtures for the coding tests: one catalogue and one note coder per session."""

from __future__ import annotations

import pytest

from garmle.catalogue import IcdCatalogue
from garmle.coding import CatalogueCoder
from garmle.embedding import HashEmbedder


@pytest.fixture(scope="session")
def catalogue() -> IcdCatalogue:
    return IcdCatalogue()


@pytest.fixture(scope="session")
def coder(catalogue: IcdCatalogue) -> CatalogueCoder:
    return CatalogueCoder(catalogue, HashEmbedder(64))

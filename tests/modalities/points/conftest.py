"""Tiny cached point-cloud sets shared by the points tests (built once per session in a temp cache)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def points_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A session cache directory, set as ``$RQBENCH_CACHE`` for the tests that build data."""
    return str(tmp_path_factory.mktemp("points-cache"))


@pytest.fixture
def cache_env(points_cache: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RQBENCH_CACHE", points_cache)
    return points_cache

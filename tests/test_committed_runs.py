"""Every committed run keeps its key: its ``config.json`` hashes to its directory's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rqbench.config import RunConfig

RUNS = Path(__file__).resolve().parents[1] / "results" / "runs"
RUN_DIRS = sorted(p for p in RUNS.iterdir() if (p / "config.json").exists()) if RUNS.exists() else []


def test_the_committed_runs_are_there() -> None:
    assert len(RUN_DIRS) >= 300, f"expected the committed quick-scale runs under {RUNS}"


@pytest.mark.parametrize("run_dir", RUN_DIRS, ids=[p.name for p in RUN_DIRS])
def test_committed_run_key_is_unchanged(run_dir: Path) -> None:
    cfg = RunConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    assert cfg.key == run_dir.name

"""Every committed table renders from the committed runs with exactly the committed cells: the runs
match their presets (by run key), so nothing is lost or let in by key matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from rqbench.results import ResultsStore
from rqbench.runner import make_config
from rqbench.tables import TABLES, render
from rqbench.tables.matching import match_runs

RESULTS = Path(__file__).resolve().parents[2] / "results"
RENDERED = sorted(p.name.removesuffix("_quick.csv") for p in (RESULTS / "tables").glob("*_quick.csv"))


@pytest.fixture(scope="module")
def frame():
    return ResultsStore(RESULTS / "results.csv").load()


def test_there_are_committed_tables() -> None:
    assert {"table1", "table3", "table4", "figure5", "table6", "table7", "table9", "table10"} <= set(RENDERED)


@pytest.mark.parametrize("name", RENDERED)
def test_committed_table_cells_are_reproduced(name: str, frame) -> None:
    spec = TABLES.get(name)
    matched = match_runs(spec, frame, "quick", RESULTS / "runs", make_config)
    rendered = render(spec, matched.rows, "quick", preset_hash=matched.preset_hash)
    assert rendered.to_csv() == (RESULTS / "tables" / f"{name}_quick.csv").read_text()

"""Every committed table renders from the committed runs with exactly the committed cells: the runs
match their presets (by run key), so nothing is lost or let in by key matching."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest

from rqbench import compare
from rqbench.plugins import import_plugin
from rqbench.results import ResultsStore
from rqbench.runner import make_config
from rqbench.sequential import nominal_alpha
from rqbench.tables import TABLES, TableSpec, render
from rqbench.tables.matching import match_runs
from rqbench.tables.render import RenderedTable
from rqbench.tables.yaml_spec import load_table_file

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
SUMMARY = "compare_summary"
RENDERED = sorted(
    p.name.removesuffix("_quick.csv")
    for p in (RESULTS / "tables").glob("*_quick.csv")
    if not p.name.startswith(SUMMARY)
)
COMPARED = [name for name in RENDERED if name.startswith("compare_")]


@pytest.fixture(scope="module")
def frame():
    return ResultsStore(RESULTS / "results.csv").load()


def test_there_are_committed_tables() -> None:
    assert {"table1", "table3", "table4", "figure5", "table6", "table7", "table9", "table10"} <= set(RENDERED)


def _spec(name: str) -> TableSpec:
    """A paper table by name; a ``rqbench compare`` table from the YAML spec it wrote beside its cells (its rows
    use the README's ``negate``, ``examples/my_aug.py``, whose source hash is in their run keys)."""
    if name.startswith("compare_"):
        import_plugin(str(ROOT / "examples" / "my_aug.py"))
        return load_table_file(RESULTS / "tables" / f"{name}.yaml")
    return TABLES.get(name)


def _rendered(name: str, frame) -> RenderedTable:
    spec = _spec(name)
    matched = match_runs(spec, frame, "quick", RESULTS / "runs", make_config)
    return render(spec, matched.rows, "quick", preset_hash=matched.preset_hash)


@pytest.mark.parametrize("name", RENDERED)
def test_committed_table_cells_are_reproduced(name: str, frame) -> None:
    assert _rendered(name, frame).to_csv() == (RESULTS / "tables" / f"{name}_quick.csv").read_text()


@pytest.mark.skipif(not COMPARED, reason="no committed rqbench compare tables")
def test_committed_compare_summary_is_reproduced(frame) -> None:
    """The cross-modal summary follows from the committed comparison tables' per-seed cells, at the level
    of the sequential designs that chose their seed counts."""
    committed = (RESULTS / "tables" / f"{SUMMARY}_quick.csv").read_text()
    modalities = dict.fromkeys(pd.read_csv(io.StringIO(committed))["modality"])  # in the command's order
    assert sorted(f"compare_{m}" for m in modalities) == COMPARED
    rendered = [_rendered(f"compare_{m}", frame) for m in modalities]
    alpha = min(nominal_alpha(RESULTS, r.table, "quick") for r in rendered)
    summary = compare.summarize(rendered, alpha)
    assert summary.to_csv(index=False, lineterminator="\n") == committed

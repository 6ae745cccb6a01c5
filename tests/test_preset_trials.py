"""benchmarks/preset_trials.py: its paired interval and its table-cost estimate give known answers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from rqbench.tables import TABLES, runs_for

spec = importlib.util.spec_from_file_location(
    "preset_trials", Path(__file__).parents[1] / "benchmarks" / "preset_trials.py"
)
assert spec and spec.loader
preset_trials = importlib.util.module_from_spec(spec)
spec.loader.exec_module(preset_trials)


def test_interval_is_the_paired_t_interval() -> None:
    mean, lo, hi = preset_trials.interval([1.0, 2.0, 3.0])
    # mean 2, sd 1, se 1/sqrt(3), t_{0.975, 2} = 4.303
    assert mean == pytest.approx(2.0)
    assert (lo, hi) == pytest.approx((2.0 - 4.3027 / 3**0.5, 2.0 + 4.3027 / 3**0.5), abs=1e-3)


def test_table_cost_prices_every_run_by_its_kind_and_column() -> None:
    table = TABLES.get("table10")
    domains = [dict(c.overrides)["data.domain"] for c in table.columns if not c.is_average]
    costs = {}
    for i, domain in enumerate(domains):
        column = (("data.domain", domain),)
        costs[(True, column)] = [100.0 * (i + 1), 100.0 * (i + 1)]
        costs[(False, column)] = [1.0]
    # e-Mix and RQ (2 pretrained rows) and scratch, 3 seeds, each domain priced by its own measured runs
    expected = 3 * sum(2 * 100.0 * (i + 1) + 1.0 for i in range(len(domains)))
    assert len(runs_for(table, 3)) == 3 * 3 * len(domains)
    assert preset_trials.table_cost_s(table, costs) == pytest.approx(expected)


def test_table_cost_needs_every_kind_measured() -> None:
    with pytest.raises(SystemExit, match="no measured run"):
        preset_trials.table_cost_s(TABLES.get("table9"), {(True, ()): [5.0]})  # the scratch run is missing


def test_every_pair_names_rows_of_its_table() -> None:
    for name, pairs in preset_trials.PAIRS.items():
        labels = {r.label for r in TABLES.get(name).rows}
        for baseline, scratch in pairs:
            assert {baseline, scratch} <= labels
            assert not next(r for r in TABLES.get(name).rows if r.label == scratch).pretrain

"""The group-sequential design of ``bench --until-decided``: Pocock's constant, the looks, the budget,
the error rate by simulation, and the command end to end on the blobs test table."""

from __future__ import annotations

import json

import blobs_modality  # noqa: F401  (registers blobs and blobs-table)
import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from typer.testing import CliRunner

from rqbench import stats
from rqbench.cli import app
from rqbench.sequential import (
    SequentialDesign,
    SequentialState,
    nominal_alpha,
    parse_budget,
    pocock_constant,
    round_budget_ok,
    state_path,
    undecided,
)
from rqbench.tables import claims as claims_module
from rqbench.tables.claims import Claim


@pytest.mark.parametrize("looks, expected", [(1, 1.960), (2, 2.178), (3, 2.289), (4, 2.361), (5, 2.413)])
def test_pocock_constant_matches_jennison_turnbull_table_2_1(looks: int, expected: float) -> None:
    assert pocock_constant(list(range(1, looks + 1)), 0.05) == pytest.approx(expected, abs=2e-3)


def test_pocock_constant_holds_the_level_by_monte_carlo() -> None:
    """P(max_k |Z_k| > c) = alpha for Brownian-motion statistics at the looks (independent check)."""
    looks = np.array([3, 5, 7, 10, 12])
    c = pocock_constant(looks.tolist(), 0.05)
    rng = np.random.default_rng(0)
    increments = rng.standard_normal((200_000, looks[-1]))
    sums = increments.cumsum(1)[:, looks - 1]
    z = sums / np.sqrt(looks)
    assert (np.abs(z) > c).any(1).mean() == pytest.approx(0.05, abs=0.003)


def test_design_looks_and_nominal_level() -> None:
    design = SequentialDesign(3, 12)
    assert design.looks == (3, 5, 7, 10, 12)
    normal_theory = 2 * st.norm.sf(design.constant)
    assert 0.016 < normal_theory < 0.017  # Pocock, 5 looks: 2.39 for these unequal looks
    assert 0.010 < design.nominal_alpha < normal_theory  # the t calibration is stricter with few seeds
    assert SequentialDesign(3, 4).looks == (3, 4)
    assert SequentialDesign(3, 3).looks == (3,)
    assert SequentialDesign(3, 3).nominal_alpha == pytest.approx(0.05)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        SequentialDesign(1, 12)
    with pytest.raises(ValueError, match="below the first look"):
        SequentialDesign(5, 3)
    with pytest.raises(ValueError, match="increasing"):
        pocock_constant([3, 3])


def test_parse_budget() -> None:
    assert parse_budget("2h") == 7200
    assert parse_budget("1h30m") == 5400
    assert parse_budget("90m") == 5400
    assert parse_budget("45") == 45
    for bad in ("two hours", "2x", "h", "0m"):
        with pytest.raises(ValueError, match="budget"):
            parse_budget(bad)
    assert round_budget_ok(100, 200, 90) and not round_budget_ok(100, 200, 101) and round_budget_ok(1e9, None, 5)


def test_undecided_counts_only_paper_metric_claims_without_a_decision() -> None:
    triples = [
        ("a", stats.REPRODUCED, True),
        ("b", stats.INCONCLUSIVE, True),
        ("c", stats.UNTESTABLE, True),
        ("d", stats.INCONCLUSIVE, False),
        ("e", stats.NOT_MEASURED, True),
        ("f", stats.SMALLER, True),
    ]
    assert undecided(triples) == ["b", "e"]


def test_state_round_trips(tmp_path) -> None:
    state = SequentialState("table1", "quick", SequentialDesign(3, 12), spent_s=12.5, stopped="x")
    path = state.save(tmp_path / "s.json")
    again = SequentialState.from_json(path.read_text())
    assert again == state
    assert json.loads(path.read_text())["looks_planned"] == [3, 5, 7, 10, 12]


def test_t_nominal_level_is_exact_for_one_claim() -> None:
    """An independent Monte Carlo (other seed) of repeated paired t-tests at the t-calibrated level: the
    chance that some look rejects is alpha within Monte Carlo error."""
    _, per_claim = _false_rejections(SequentialDesign(3, 12).nominal_alpha, sims=20_000, seed=7, claims=1)
    assert per_claim == pytest.approx(0.05, abs=3 * np.sqrt(0.05 * 0.95 / 20_000))


def _false_rejections(alpha: float, sims: int = 4000, seed: int = 1, claims: int = 3) -> tuple[float, float]:
    """Simulated tables with no true difference (4 rows, 3 claims row r - row 0, seed blocks), judged at
    every look of a 3..12 seed design with paired t-tests, Holm within the family at ``alpha``.
    Returns (family-wise error: some claim significant at some look, per-claim error)."""
    rng = np.random.default_rng(seed)
    looks = SequentialDesign(3, 12).looks
    y = rng.standard_normal((sims, claims + 1, looks[-1])) + 3.0 * rng.standard_normal((sims, 1, looks[-1]))
    d = y[:, 1:, :] - y[:, :1, :]  # (sims, claims, seeds)
    ever = np.zeros(d.shape[:2], dtype=bool)
    for n in looks:
        mean, se, df = stats.mean_se(d[..., :n])
        p_adj = stats.holm(stats.t_pvalue(mean, se, df))
        ever |= p_adj <= alpha
    return float(ever.any(1).mean()), float(ever.mean())


def test_sequential_error_rate_stays_at_the_nominal_level_on_null_tables() -> None:
    """With Pocock's nominal level the family-wise error over all looks stays at or under 5 % (Monte
    Carlo bound 5 % + 2 SE); testing every look at 5 % (the naive rule) does not."""
    fwer, per_claim = _false_rejections(SequentialDesign(3, 12).nominal_alpha, seed=1)
    bound = 0.05 + 2 * np.sqrt(0.05 * 0.95 / 4000)
    assert fwer <= bound and per_claim <= bound, (fwer, per_claim)
    naive_fwer, _ = _false_rejections(0.05)
    assert naive_fwer > bound, naive_fwer


runner = CliRunner()


def _blobs_claims(monkeypatch: pytest.MonkeyPatch) -> None:
    claim = Claim("blobs-table", "B-1", ("RQ",), ("none",), "linear top1", 1, None, "test claim")
    monkeypatch.setattr(claims_module, "CLAIMS", {**claims_module.CLAIMS, "blobs-table": (claim,)})


def test_bench_until_decided_runs_looks_and_resumes(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    _blobs_claims(monkeypatch)
    args = ["bench", "blobs-table", "--seeds", "2", "--max-seeds", "3", "--until-decided", "--results", str(tmp_path)]
    first = runner.invoke(app, [*args, "--no-progress"], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "looks at 2, 3 seeds" in first.output and "look 1/2 (2 seeds)" in first.output
    state = json.loads(state_path(tmp_path, "blobs-table", "quick").read_text())
    assert state["stopped"] and state["looks"][0]["seeds"] == 2 and state["looks"][0]["runs_done"] == 6
    runs = pd.read_csv(tmp_path / "results.csv")
    per_row = runs.groupby("aug")["seed"].nunique()
    if state["looks"][0]["undecided"]:  # the claim's two rows got a third seed, the random-init row did not
        assert len(state["looks"]) == 2 and state["looks"][1]["runs_done"] == 2
        assert per_row["rq(bins=4)"] == 3 and per_row["none"] == 3
        assert runs[runs.method == "scratch"].seed.nunique() == 2
    else:
        assert len(state["looks"]) == 1 and per_row.max() == 2
    assert "Claims of blobs-table" in first.output and "repeated confidence intervals" in first.output
    again = runner.invoke(app, [*args, "--no-progress"], env={"COLUMNS": "200"})
    assert again.exit_code == 0 and pd.read_csv(tmp_path / "results.csv").equals(runs)  # nothing run again
    claims_json = str(tmp_path / "c.json")
    judged = runner.invoke(app, ["claims", "blobs-table", "--results", str(tmp_path), "--json", claims_json])
    assert judged.exit_code == 0, judged.output
    record = json.loads((tmp_path / "c.json").read_text())["claims"][0]
    assert record["alpha"] == pytest.approx(SequentialDesign(2, 3).nominal_alpha)
    other = runner.invoke(app, [*args[:-2], "--max-seeds", "5", "--results", str(tmp_path)])
    assert other.exit_code == 2 and "rerun with those to resume it, or delete the file" in other.output


def test_bench_until_decided_stops_at_the_budget_and_rejects_bad_options(tmp_path, monkeypatch) -> None:
    _blobs_claims(monkeypatch)
    args = ["bench", "blobs-table", "--seeds", "2", "--until-decided", "--results", str(tmp_path), "--no-progress"]
    out = runner.invoke(app, [*args, "--budget", "0.001s"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "CPU budget spent at look 1" in out.output
    assert pd.read_csv(tmp_path / "results.csv")["run_key"].nunique() == 1  # the first run always starts
    for extra, message in [
        (["--budget", "2 hours"], "is not a duration"),
        (["--shard", "0/2"], "runs inline on one machine"),
    ]:
        bad = runner.invoke(app, [*args, *extra], env={"COLUMNS": "200"})
        assert bad.exit_code == 2 and message in bad.output, bad.output
    plain = runner.invoke(app, ["bench", "blobs-table", "--budget", "1h", "--results", str(tmp_path)])
    assert plain.exit_code == 2 and "--budget applies to --until-decided only" in plain.output


def test_a_table_reading_runs_of_a_sequential_table_is_judged_at_its_level(tmp_path) -> None:
    from rqbench.tables.registry import get_table

    design = SequentialDesign(3, 12)
    (tmp_path / "tables").mkdir()
    assert nominal_alpha(tmp_path, get_table("table7"), "quick") == stats.ALPHA  # no design seeded its runs
    SequentialState("table6", "quick", design).save(state_path(tmp_path, "table6", "quick"))
    SequentialState("table1", "full", SequentialDesign(3, 5)).save(state_path(tmp_path, "table1", "full"))
    # Table 7 reads Table 6's runs: its seed counts came from Table 6's looks.
    assert nominal_alpha(tmp_path, get_table("table7"), "quick") == pytest.approx(design.nominal_alpha)
    assert nominal_alpha(tmp_path, get_table("table6"), "quick") == pytest.approx(design.nominal_alpha)
    assert design.nominal_alpha < stats.ALPHA
    # Another modality's table shares no run; another preset's design is not this preset's.
    assert nominal_alpha(tmp_path, get_table("table1"), "quick") == stats.ALPHA
    assert nominal_alpha(tmp_path, get_table("table1"), "full") == pytest.approx(SequentialDesign(3, 5).nominal_alpha)

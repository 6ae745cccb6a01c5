"""The paper's claims as data: they name real rows and columns, quote the paper, and get the statistics of
rqbench.stats from a rendered table; `rqbench claims` and `rqbench table` show them."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from typer.testing import CliRunner

from rqbench import stats
from rqbench.results import COLUMNS
from rqbench.tables import TABLES, RenderedTable, TableSpec, render
from rqbench.tables.claims import (
    CLAIMS,
    Claim,
    claims_for,
    claims_json,
    evaluate_claims,
    paper_effect,
    pretraining_gains,
    results_frame,
    verdict_counts,
)

PAPER_TEXT = Path("/work/shared/paper/randomized_quantization.txt")
CLAIM_TABLES = ("table1", "table3", "table4", "figure5", "table6", "table7", "table9", "table10")


def test_every_table_of_the_issue_has_claims() -> None:
    assert tuple(CLAIMS) == CLAIM_TABLES
    paper = [c for claims in CLAIMS.values() for c in claims if c.on_paper_metric]
    extra = [c for claims in CLAIMS.values() for c in claims if not c.on_paper_metric]
    assert 50 <= len(paper) <= 70, len(paper)
    image_tables = ("table1", "table3", "table4", "figure5")
    assert len(extra) == 2 * sum(len([c for c in CLAIMS[t] if c.on_paper_metric]) for t in image_tables)
    assert claims_for("table2") == () and claims_for("table5") == ()


@pytest.mark.parametrize("name", CLAIM_TABLES)
def test_claims_name_measured_rows_and_existing_columns(name: str) -> None:
    spec = TABLES.get(name)
    rows = {r.label: r for r in spec.rows}
    columns = {c.label: c for c in spec.columns}
    ids = [c.id for c in CLAIMS[name]]
    assert len(set(ids)) == len(ids), ids
    for claim in CLAIMS[name]:
        assert claim.table == name
        for label in claim.rows:
            assert label in rows, (claim.id, label)
            assert rows[label].has_runs, f"{claim.id}: {label!r} is a paper-only row"
        assert claim.column in columns and claim.paper_column in columns, claim.id
        assert claim.direction in (1, -1)
        if claim.on_paper_metric:
            assert claim.paper_column == claim.column and columns[claim.column].paper_column is not None
            assert claim.paper_effect == paper_effect(spec, claim.a, claim.b, claim.column)
        else:
            assert claim.paper_effect is None and columns[claim.column].paper_column is None
            assert re.search(r"(kNN top1|1% linear top1)$", claim.column), claim.column
        if claim.paper_effect is not None:  # the paper's numbers go the way its sentence says
            assert math.copysign(1, claim.paper_effect) == claim.direction and claim.paper_effect != 0, claim.id
    assert set(TABLES.get(name).runs()), name


def test_paper_effects_from_the_published_numbers() -> None:
    by_id = {(c.table, c.id): c for claims in CLAIMS.values() for c in claims}
    assert by_id[("table1", "T1-4")].paper_effect == pytest.approx(1.9)  # 67.9 - 66.0, "an increase of 1.9"
    assert by_id[("table3", "T3-6 MoCo")].paper_effect == pytest.approx(
        (42.9 + 67.9) / 2 - (32.7 + 30.3 + 57.2 + 55.4) / 4
    )
    assert by_id[("table4", "T4-2 BYOL")].paper_effect == pytest.approx(67.2 - 68.9)
    assert by_id[("table6", "T6 lin 1%")].paper_effect == pytest.approx(5.2)
    assert by_id[("table7", "T7 ft C.mIoU 1%")].paper_effect == pytest.approx(1.9)
    assert by_id[("table9", "T9 VC1")].paper_effect == pytest.approx(5.6)
    assert by_id[("table9", "T9 Average")].paper_effect == pytest.approx(1.8)
    assert by_id[("table10", "T10 e-Mix hurts Images & Text")].paper_effect == pytest.approx(-8.6)
    assert all(c.paper_effect is None for c in CLAIMS["figure5"])  # the figure's values are not in the text


@pytest.mark.skipif(not PAPER_TEXT.exists(), reason="the paper's text is not on this machine")
def test_sentences_are_quoted_from_the_paper() -> None:
    text = " ".join(PAPER_TEXT.read_text().split())
    for claims in CLAIMS.values():
        for claim in claims:
            for piece in claim.sentence.split(" [...] "):
                assert " ".join(piece.split()) in text, (claim.id, piece)


def test_claim_validation_and_contrast_text() -> None:
    claim = Claim("t", "x", ("A", "B"), "C", "col", 1, None, "s")
    assert claim.b == ("C",) and claim.contrast == "mean[A, B] - [C]" and claim.paper_column == "col"
    assert claim.weights() == {"A": 0.5, "B": 0.5, "C": -1.0}
    with pytest.raises(ValueError, match="direction"):
        Claim("t", "x", "A", "B", "col", 0, None, "s")
    with pytest.raises(ValueError, match="both sides"):
        Claim("t", "x", "A", "A", "col", 1, None, "s")


# ---------------------------------------------------------------- evaluation on synthetic results


def synthetic_results(spec: TableSpec, seeds: int, value, preset: str = "quick") -> pd.DataFrame:
    """Result rows filling every measured cell of ``spec``: ``value(row label, column label, seed)``. A run
    shared by several cells (the scratch row under both methods) gets the value of its first cell."""
    made: dict[tuple, dict] = {}
    for cell in spec.cells():
        filters = cell.filters()
        if not filters:
            continue
        for seed in range(seeds):
            key = (tuple(sorted(filters.items())), seed)
            if key in made:
                continue
            row = {c: "x" for c in COLUMNS}
            row.update(filters, dataset=filters.get("dataset", "synthetic"), preset=preset, seed=seed, epochs=1)
            row.update(value=float(value(cell.row.label, cell.column.label, seed)), wall_time_s=1.0)
            made[key] = row
    return pd.DataFrame(list(made.values()))


def noisy(effects: dict[tuple[str, str], float], seed_sd: float = 2.0, noise_sd: float = 0.5, rng_seed: int = 0):
    rng = np.random.default_rng(rng_seed)
    block = rng.normal(0.0, seed_sd, size=100)
    cache: dict[tuple[str, str, int], float] = {}

    def value(row: str, column: str, seed: int) -> float:
        if (row, column, seed) not in cache:
            cache[(row, column, seed)] = 70.0 + effects.get((row, column), 0.0) + block[seed] + rng.normal(0, noise_sd)
        return cache[(row, column, seed)]

    return value


def rendered_for(name: str, seeds: int, effects: dict[tuple[str, str], float], rng_seed: int = 0) -> RenderedTable:
    spec = TABLES.get(name)
    return render(spec, synthetic_results(spec, seeds, noisy(effects, rng_seed=rng_seed)), "quick")


def test_paired_claim_matches_ttest_rel() -> None:
    rendered = rendered_for("table10", 4, {("RQ", "Images & Text"): -3.0})
    found = {r.claim.id: r for r in evaluate_claims(rendered.table, rendered.per_seed)}
    r = found["T10 RQ hurts Images & Text"]  # scratch is never pooled (and table 10 has 2 pretrained rows)
    ps = rendered.per_seed[rendered.per_seed["column"] == "Images & Text"].pivot(index="seed", columns="row")["value"]
    ref = st.ttest_rel(ps["RQ"], ps["Scratch"])
    assert r.error == "paired" and r.n_seeds == 4 and r.df == 3
    assert r.mean == pytest.approx(float((ps["RQ"] - ps["Scratch"]).mean()))
    assert r.mean / r.se == pytest.approx(ref.statistic) and r.p == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval()
    assert (r.low, r.high) == pytest.approx((ci.low, ci.high))
    paper_family = [x for x in found.values() if x.claim.on_paper_metric]
    assert r.family_size == len(paper_family) == 9
    assert np.allclose([x.p_adjusted for x in paper_family], stats.holm([x.p for x in paper_family]))
    assert r.verdict == stats.REPRODUCED  # -3 points at noise 0.5: far below 0, the paper's direction
    means = rendered.cells.set_index(["row", "column"])["ours_mean"]
    ours = [means.loc[(row, "Images & Text")] for row in ("Scratch", "e-Mix", "RQ")]
    assert r.scale == pytest.approx(stats.scale_ratio(ours, [57.5, 48.9, 54.5]))  # the paper's Images & Text
    assert r.reference_effect == pytest.approx(r.scale * -3.0)


def test_pooled_claim_is_the_block_design_error() -> None:
    effects = {("+ RQ, random bins + values", "linear top1"): 4.0}
    rendered = rendered_for("table1", 3, effects)
    found = {r.claim.id: r for r in evaluate_claims(rendered.table, rendered.per_seed)}
    r = found["T1-4"]
    assert r.error == "pooled (5 rows)" and r.df == 8
    wide = rendered.per_seed[rendered.per_seed["column"] == "linear top1"].pivot(index="row", columns="seed")["value"]
    pretrained = [row.label for row in rendered.table.rows if row.pretrain]
    ms, _ = stats.rcbd_residual_ms(wide.loc[pretrained].to_numpy())
    assert r.se == pytest.approx(math.sqrt(2 * float(ms) / 3))
    assert r.verdict == stats.REPRODUCED
    assert found["T1-4 kNN"].verdict != stats.CONTRADICTED
    assert found["T1-1"].p_adjusted >= found["T1-1"].p


def test_missing_rows_are_not_measured_and_counts_cover_every_verdict() -> None:
    rendered = rendered_for("table9", 3, {})
    found = evaluate_claims(rendered.table, rendered.per_seed)
    assert {r.verdict for r in found} <= set(stats.VERDICTS)
    counts = verdict_counts(found)
    assert list(counts) == list(stats.VERDICTS) and sum(counts.values()) == len(found)
    empty = rendered.per_seed[rendered.per_seed["row"] != "RRC + RQ (bins=5)"]
    assert {r.verdict for r in evaluate_claims(rendered.table, empty)} == {stats.NOT_MEASURED}


def test_evaluation_matches_the_vectorized_simulation_statistics() -> None:
    """The path the CLI takes (render -> per_seed -> evaluate_claims) computes what test_stats' simulation does."""
    rendered = rendered_for("figure5", 3, {}, rng_seed=5)
    found = [r for r in evaluate_claims(rendered.table, rendered.per_seed) if r.claim.on_paper_metric]
    labels = [row.label for row in rendered.table.rows if row.pretrain]
    wide = rendered.per_seed[rendered.per_seed["column"] == "linear top1"].pivot(index="row", columns="seed")["value"]
    y = wide.loc[labels].to_numpy()
    weights = np.array([[r.claim.weights().get(label, 0.0) for label in labels] for r in found])
    mean = weights @ y.mean(1)
    ms, df = stats.rcbd_residual_ms(y)
    se = stats.contrast_se(ms, weights, 3)
    p_adj = stats.holm(stats.t_pvalue(mean, se, df))
    assert np.allclose([r.mean for r in found], mean) and np.allclose([r.se for r in found], se)
    assert np.allclose([r.p_adjusted for r in found], p_adj)


def test_pretraining_gain_is_the_paired_mean_over_pretrained_rows() -> None:
    rendered = rendered_for("table6", 3, {("MID-Net (lin)", "1%"): 2.0, ("MID-Net + RQ (lin)", "1%"): 4.0})
    gains = {(g.scratch, g.column): g for g in pretraining_gains(rendered.table, rendered.per_seed)}
    assert {s for s, _ in gains} == {"Scratch (lin)", "Scratch (ft)"}
    g = gains[("Scratch (lin)", "1%")]
    assert g.rows == ("MID-Net (lin)", "MID-Net + RQ (lin)")
    ps = rendered.per_seed[rendered.per_seed["column"] == "1%"].pivot(index="seed", columns="row")["value"]
    pretrained = (ps["MID-Net (lin)"] + ps["MID-Net + RQ (lin)"]) / 2
    ref = st.ttest_rel(pretrained, ps["Scratch (lin)"])
    assert g.mean == pytest.approx(float((pretrained - ps["Scratch (lin)"]).mean())) and g.p == pytest.approx(
        ref.pvalue
    )
    assert (g.low, g.high) == pytest.approx(tuple(ref.confidence_interval()))


def test_exports() -> None:
    rendered = rendered_for("table10", 3, {})
    found = evaluate_claims(rendered.table, rendered.per_seed)
    frame = results_frame(found)
    needed = {"table", "id", "contrast", "metric", "n_seeds", "mean_diff", "se", "df", "ci_low", "ci_high"}
    assert needed | {"p_holm", "verdict", "paper_effect", "sentence"} <= set(frame.columns) and len(frame) == 9
    payload = json.loads(claims_json(found, pretraining_gains(rendered.table, rendered.per_seed), preset="quick"))
    assert payload["preset"] == "quick" and len(payload["claims"]) == 9 and payload["pretraining_gains"]
    assert sum(payload["counts"].values()) == 9


# ---------------------------------------------------------------- the command line


@pytest.fixture
def fake_results(monkeypatch: pytest.MonkeyPatch):
    """`rqbench claims` / `rqbench table` fed synthetic results through the CLI's one render path."""
    import rqbench.cli
    from rqbench.tables.matching import Matched

    def fake(table: str, preset: str, results: Path, world_size: int = 1):
        spec = TABLES.get(table)
        rows = synthetic_results(spec, 3, noisy({("RQ", "Sensors"): 3.0}))
        return render(spec, rows, preset), Matched(rows, {}, "synthetic")

    monkeypatch.setattr(rqbench.cli, "_rendered", fake)


def test_claims_command_prints_verdicts_and_writes_exports(fake_results, tmp_path: Path) -> None:
    from rqbench.cli import app

    out_csv, out_json = tmp_path / "claims.csv", tmp_path / "claims.json"
    args = ["claims", "table10", "--results", str(tmp_path), "--csv", str(out_csv), "--json", str(out_json)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Claims of table10" in result.output and "T10 Sensors" in result.output
    assert "Verdict counts:" in result.output and "- all: paper's metric (9)" in result.output
    assert "Pretraining gain over the random-init row" in result.output
    seeds = pd.read_csv(tmp_path / "tables" / "table10_quick_seeds.csv")
    assert list(seeds.columns) == ["row", "column", "seed", "value"] and len(seeds) == 3 * 3 * 7
    assert len(pd.read_csv(out_csv)) == 9 and json.loads(out_json.read_text())["counts"]


def test_claims_command_rejects_a_table_without_claims(fake_results, tmp_path: Path) -> None:
    from rqbench.cli import app

    result = CliRunner().invoke(app, ["claims", "table2", "--results", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "table2 has no claims" in result.output


def test_table_command_prints_the_claims_under_the_table(fake_results, tmp_path: Path) -> None:
    from rqbench.cli import app

    result = CliRunner().invoke(app, ["table", "table10", "--results", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    table_at, claims_at = result.output.index("**Table 10"), result.output.index("**Claims of table10**")
    assert table_at < claims_at and "Verdicts of table10" in result.output

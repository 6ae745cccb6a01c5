"""End to end on the blobs test modality: `rqbench run`, `bench` (skips finished runs) and `table`."""

from __future__ import annotations

import json

import blobs_modality  # noqa: F401  (registers the blobs modality and blobs-table)
import pandas as pd
from typer.testing import CliRunner

from rqbench.cli import app

runner = CliRunner()


def invoke(*args: str):
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_bench_runs_missing_configs_then_skips_them_and_renders(tmp_path) -> None:
    out = invoke("bench", "blobs-table", "--seeds", "2", "--results", str(tmp_path), "--no-progress")
    assert "6 runs, 0 finished already, 6 to do" in out
    rows = pd.read_csv(tmp_path / "results.csv")
    assert rows["run_key"].nunique() == 6 and set(rows["method"]) == {"scratch", "moco"}
    assert set(rows["protocol"]) == {"linear", "knn"} and set(rows["seed"]) == {0, 1}
    for column in ("commit", "hardware", "wall_time_s", "preset", "epochs", "backbone", "env"):
        assert rows[column].notna().all()
    from rqbench.provenance import environment_id, versions

    assert set(rows["env"]) == {environment_id()}
    for key in rows["run_key"].unique():  # the versions behind the env id, readable in the run directory
        done = json.loads((tmp_path / "runs" / key / "done.json").read_text())
        assert done["versions"] == versions() and done["env"] == environment_id()
    assert (rows.loc[rows["method"] == "scratch", "epochs"] == 0).all()
    markdown = (tmp_path / "tables" / "blobs-table_quick.md").read_text()
    assert "±" in markdown and "| RQ |" in markdown
    cells = pd.read_csv(tmp_path / "tables" / "blobs-table_quick.csv")
    rq_knn = cells[(cells["row"] == "RQ") & (cells["column"] == "kNN top1")].iloc[0]
    measured = rows[(rows["aug"] == "rq(bins=4)") & (rows["protocol"] == "knn")]["value"]
    assert rq_knn["n_seeds"] == 2 and abs(rq_knn["ours_mean"] - measured.mean()) < 1e-9
    again = invoke("bench", "blobs-table", "--seeds", "2", "--results", str(tmp_path), "--no-progress")
    assert "6 runs, 6 finished already, 0 to do" in again
    assert len(pd.read_csv(tmp_path / "results.csv")) == len(rows)
    rendered = invoke("table", "blobs-table", "--results", str(tmp_path))
    assert "Blobs: RQ vs none" in rendered


def test_run_command_and_errors(tmp_path) -> None:
    out = invoke(
        "run",
        "blobs",
        "--aug",
        "rq(bins=4)+imix",
        "--method",
        "byol",
        "--results",
        str(tmp_path),
        "--no-progress",
        "--set",
        "epochs=1",
    )
    assert "knn" in out and "linear" in out
    for args, message in [
        (["run", "nope"], "unknown modality 'nope'"),
        (["run", "blobs", "--method", "simclr"], "unknown method 'simclr'"),
        (["run", "blobs", "--preset", "paper"], "has no preset 'paper'"),
        (["run", "blobs", "--aug", "rq(bins=0)"], "bins must be >= 1"),
        (["run", "blobs", "--set", "epoch=3"], "unknown preset field"),
        (["bench", "table99"], "unknown table 'table99'"),
        (["table", "table99"], "unknown table 'table99'"),
    ]:
        result = runner.invoke(app, [*args, "--results", str(tmp_path)], env={"COLUMNS": "200"})
        assert result.exit_code == 2 and message in result.output, (args, result.output)


def test_bench_shards_split_the_runs_without_overlap(tmp_path) -> None:
    first = invoke(
        "bench", "blobs-table", "--seeds", "1", "--shard", "0/2", "--results", str(tmp_path), "--no-progress"
    )
    assert "(shard 0/2): 2 runs, 0 finished already, 2 to do" in first
    second = invoke(
        "bench", "blobs-table", "--seeds", "1", "--shard", "1/2", "--results", str(tmp_path), "--no-progress"
    )
    assert "(shard 1/2): 1 runs, 0 finished already, 1 to do" in second
    assert pd.read_csv(tmp_path / "results.csv")["run_key"].nunique() == 3
    whole = invoke("bench", "blobs-table", "--seeds", "1", "--results", str(tmp_path), "--no-progress")
    assert "3 runs, 3 finished already, 0 to do" in whole
    bad = runner.invoke(app, ["bench", "blobs-table", "--shard", "2/2", "--results", str(tmp_path)])
    assert bad.exit_code == 2 and "0 <= i < n" in bad.output

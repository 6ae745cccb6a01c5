"""Tables take only matching runs; keys see code and processes; pretrain once, evaluate many times;
typed settings; run housekeeping (issue: results you can trust)."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from pathlib import Path

import blobs_modality  # noqa: F401  (registers the blobs modality and blobs-table)
import pandas as pd
import pytest
from blobs_modality import negate_plugin
from typer.testing import CliRunner

from rqbench.cli import app
from rqbench.code_identity import identity
from rqbench.runner import Workspace, make_config, run

runner = CliRunner()


def invoke(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == code, result.output
    return result.output


def cells(path: Path) -> str:
    return (path / "tables" / "blobs-table_quick.csv").read_text()


def test_a_debugging_run_does_not_change_the_table_and_is_named(tmp_path) -> None:
    invoke("bench", "blobs-table", "--seeds", "2", "--results", str(tmp_path), "--no-progress")
    before = cells(tmp_path)
    # the trial: same modality, method, aug and seed, other data size and epochs
    invoke(
        "run",
        "blobs",
        "--aug",
        "rq(bins=4)",
        "--seed",
        "1",
        "--set",
        "data.n=128",
        "--set",
        "epochs=1",
        "--results",
        str(tmp_path),
        "--no-progress",
    )
    out = invoke("table", "blobs-table", "--results", str(tmp_path))
    assert cells(tmp_path) == before
    assert "1 run(s) of blobs-table's rows ignored" in out and "settings differ (data.n, epochs)" in out
    assert "quick [" in (tmp_path / "tables" / "blobs-table_quick.md").read_text()  # the caption states the preset hash


def test_keys_see_processes_and_component_versions(tmp_path, monkeypatch) -> None:
    one, two = make_config("blobs", "moco", "rq(bins=4)"), make_config("blobs", "moco", "rq(bins=4)", world_size=2)
    assert one.key != two.key and one.pretrain_key != two.pretrain_key
    from rqbench.augment.quantize import RandomizedQuantization

    assert identity(RandomizedQuantization) is None  # a built-in at version 1: old keys stay
    monkeypatch.setattr(RandomizedQuantization, "version", 2)
    bumped = make_config("blobs", "moco", "rq(bins=4)")
    assert ("aug:rq", "v2") in bumped.code and bumped.key != one.key


def test_editing_a_plugin_file_changes_the_key(tmp_path, monkeypatch) -> None:
    plugin = negate_plugin(tmp_path / "negate_plugin_for_keys.py", "negate-keys-test", "-x (test plugin).")
    monkeypatch.syspath_prepend(str(tmp_path))
    __import__("negate_plugin_for_keys")
    first = make_config("blobs", "moco", "negate-keys-test")
    assert any(name == "aug:negate-keys-test" and ident.startswith("src:") for name, ident in first.code)
    plugin.write_text(plugin.read_text().replace("return -x", "return 1 - x"))
    os.utime(plugin, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert make_config("blobs", "moco", "negate-keys-test").key != first.key


def test_force_reruns_and_replaces_the_rows(tmp_path) -> None:
    args = ["run", "blobs", "--aug", "rq(bins=4)", "--set", "epochs=1", "--results", str(tmp_path), "--no-progress"]
    invoke(*args)
    assert "finished already" in invoke(*args)
    out = invoke(*args, "--force")
    assert "finished already" not in out
    rows = pd.read_csv(tmp_path / "results.csv")
    assert rows["run_key"].nunique() == 1 and len(rows) == 3  # replaced, not duplicated


def test_evaluation_settings_reuse_the_finished_pretraining(tmp_path) -> None:
    base = ["blobs", "--aug", "rq(bins=4)", "--set", "epochs=1", "--results", str(tmp_path)]
    invoke("run", *base, "--no-progress")
    started = time.perf_counter()
    out = invoke("run", *base, "--set", "eval.knn_k=5", "--no-progress")
    assert "evaluating the finished pretraining" in out
    a, b = (
        make_config("blobs", "moco", "rq(bins=4)", epochs=1),
        make_config("blobs", "moco", "rq(bins=4)", epochs=1, **{"eval.knn_k": 5}),
    )
    assert a.pretrain_key == b.pretrain_key and a.key != b.key
    new_dir = tmp_path / "runs" / b.key
    assert not (new_dir / "metrics.jsonl").exists() and not (new_dir / "checkpoint.pt").exists()  # nothing was trained
    done_a = json.loads((tmp_path / "runs" / a.key / "done.json").read_text())
    done_b = json.loads((new_dir / "done.json").read_text())
    assert done_b["pretrained_in"] == a.key
    # the pretraining's own seconds, carried over to the re-scored run (so its full cost can be told)
    assert 0 < done_a["pretrain_s"] < done_a["wall_time_s"] and done_b["pretrain_s"] == done_a["pretrain_s"]
    assert time.perf_counter() - started < 60
    # rqbench eval never pretrains
    invoke("eval", *base, "--set", "eval.knn_k=7")
    invoke("eval", *base, "--set", "eval.knn_k=7", "--force")  # re-scores; never pretrains
    forced = make_config("blobs", "moco", "rq(bins=4)", epochs=1, **{"eval.knn_k": 7})
    assert not (tmp_path / "runs" / forced.key / "metrics.jsonl").exists()
    assert json.loads((tmp_path / "runs" / forced.key / "done.json").read_text())["pretrained_in"] == a.key
    missing = invoke("eval", "blobs", "--aug", "rq(bins=3)", "--results", str(tmp_path), code=2)
    assert "no finished pretraining" in missing


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "epochs=1.5"], "epochs must be a whole number, got 1.5"),
        (
            ["--set", "eval.protocols=('linear','knnn')"],
            "eval.protocols = ('linear', 'knnn'): must be a non-empty tuple of",
        ),
        (["--set", "lr_scaling=maybe"], "lr_scaling must be true or false"),
        (["--set", "batch_size=300"], "batch_size = 300: must be at most the pretraining set's 256 samples"),
        (["--set", "nosuch=1"], "unknown preset field(s) nosuch"),
        (["--set", "eval.knn_k=0"], "eval.knn_k = 0: must be >= 1"),
        (
            ["--set", "eval.label_fractions=(2.0,)"],
            "eval.label_fractions = (2.0,): must be a non-empty tuple of fractions in (0, 1]",
        ),
        (["--set", "warmup_epochs=-5"], "warmup_epochs = -5.0: must be in [0, epochs = 2]"),
    ],
)
def test_bad_settings_are_one_clear_line_before_any_work(tmp_path, args, message) -> None:
    result = runner.invoke(
        app, ["run", "blobs", "--results", str(tmp_path), "--no-progress", *args], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 2 and message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "runs").glob("*/metrics.jsonl"))  # nothing trained


def test_booleans_parse_words_and_the_config_file_round_trips(tmp_path) -> None:
    assert make_config("blobs", "moco", "none", lr_scaling="false").preset.lr_scaling is False
    assert make_config("blobs", "moco", "none", amp="No").preset.amp is False
    printed = invoke("run", "blobs", "--set", "epochs=3", "--print-config")
    assert printed.startswith("# run key ")
    path = tmp_path / "preset.yaml"
    path.write_text(printed)
    again = invoke("run", "blobs", "--config", str(path), "--print-config")
    assert again == printed
    path.write_text("epochs: [1, 2\n")
    assert "not valid YAML" in invoke("run", "blobs", "--config", str(path), code=2)


def test_runs_lists_and_removes_failed_runs_and_files_follow_the_umask(tmp_path) -> None:
    old = os.umask(0o002)
    try:
        invoke("run", "blobs", "--aug", "rq(bins=4)", "--set", "epochs=1", "--results", str(tmp_path), "--no-progress")
    finally:
        os.umask(old)
    cfg = make_config("blobs", "moco", "rq(bins=4)", epochs=1)
    mode = stat.S_IMODE((tmp_path / "runs" / cfg.key / "done.json").stat().st_mode)
    assert mode == 0o664
    broken = make_config("blobs", "moco", "rq(bins=4)", epochs=1, batch_size=1024)  # fails when the data is loaded
    with pytest.raises(ValueError, match="batch_size = 1024"):
        run(broken, Workspace(tmp_path), progress=False)
    failed = json.loads((tmp_path / "runs" / broken.key / "failed.json").read_text())
    assert failed["error"] == "SettingError" and "batch_size" in failed["message"]
    listing = invoke("runs", "--results", str(tmp_path))
    assert "done" in listing and "failed" in listing and "2 run(s)" in listing
    assert "1 run(s)" in invoke("runs", "--results", str(tmp_path), "--status", "failed")
    assert f"removed {broken.key}" in invoke("runs", "rm", "--failed", "--results", str(tmp_path))
    assert not (tmp_path / "runs" / broken.key).exists() and (tmp_path / "runs" / cfg.key).exists()


def test_two_processes_get_their_own_key_from_torchrun_environment(monkeypatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    from rqbench.cli import _resolved_config

    assert _resolved_config("blobs", "moco", "none", "quick", 0, True, [], None).world_size == 2
    assert sys.modules["rqbench.cli"] is not None

"""Watching a run (TensorBoard, plain progress off a terminal, the kNN monitor), exporting and reusing
its backbone, local plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from blobs_modality import negate_plugin
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from typer.testing import CliRunner

from rqbench.cli import app
from rqbench.runner import Workspace, load_encoder, make_config, run
from rqbench.train.loop import CHECKPOINT, METRICS

HERE = Path(__file__).resolve().parent
CLI = HERE / "cli_with_blobs.py"
runner = CliRunner()


def events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return acc


def losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / METRICS).read_text().splitlines()]


def test_tensorboard_gets_steps_evaluation_config_and_the_monitor(tmp_path) -> None:
    cfg = make_config("blobs", "moco", "rq(bins=4)", epochs=2, **{"eval.monitor_every": 1})
    run(cfg, Workspace(tmp_path), progress=False)
    acc = events(tmp_path / "runs" / cfg.key)
    tags = acc.Tags()["scalars"]
    assert {"train/loss", "train/lr", "train/momentum", "train/samples_per_s", "monitor/knn_top1"} <= set(tags)
    assert [e.step for e in acc.Scalars("train/loss")] == list(range(16))
    logged = [e.value for e in acc.Scalars("train/loss")]
    assert logged == pytest.approx(losses(tmp_path / "runs" / cfg.key), rel=1e-6)
    assert len(acc.Scalars("monitor/knn_top1")) == 2 and all(
        0 <= e.value <= 100 for e in acc.Scalars("monitor/knn_top1")
    )
    assert "eval/blobs/knn@1/top1" in tags and "config/text_summary" in acc.Tags()["tensors"]
    # the monitor never changes the pretraining
    plain = make_config("blobs", "moco", "rq(bins=4)", epochs=2)
    run(plain, Workspace(tmp_path / "plain"), progress=False)
    assert losses(tmp_path / "plain" / "runs" / plain.key) == losses(tmp_path / "runs" / cfg.key)


@pytest.mark.slow
def test_plain_progress_lines_in_a_redirected_log(tmp_path) -> None:
    log = tmp_path / "log.txt"
    args = [
        sys.executable,
        str(CLI),
        "run",
        "blobs",
        "--aug",
        "rq(bins=4)",
        "--results",
        str(tmp_path),
        "--log-every",
        "0",
    ]
    with log.open("w") as handle:
        subprocess.run(args, stdout=handle, stderr=subprocess.STDOUT, check=True, env={**os.environ, "COLUMNS": "200"})
    text = log.read_text()
    assert (
        "blobs moco rq(bins=4) step 1/16 (6 %) loss" in text
        and "step 16/16 (100 %)" in text
        and "samples/s ETA" in text
    )
    assert (
        "evaluate task 1/1 blobs (classification): linear, knn" in text and "evaluate task 1/1 blobs: done in" in text
    )


def test_export_then_load_in_a_fresh_process_gives_the_same_features(tmp_path) -> None:
    cfg = make_config("blobs", "moco", "rq(bins=4)", epochs=1)
    run(cfg, Workspace(tmp_path), progress=False)
    state = torch.load(tmp_path / "runs" / cfg.key / CHECKPOINT, weights_only=True)  # no pickled objects
    assert state["step"] == 8
    out = tmp_path / "backbone.pt"
    result = runner.invoke(app, ["export", cfg.key, "--out", str(out), "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["modality"] == "blobs" and meta["run_key"] == cfg.key and meta["feature_dim"] == 32
    x = torch.randn(16, 4, 8, generator=torch.Generator().manual_seed(0))
    torch.save(x, tmp_path / "x.pt")
    script = textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {str(HERE)!r})
        import blobs_modality  # the test modality (a real user's modality is installed)
        import rqbench
        net = rqbench.load_backbone({str(out)!r})
        with torch.no_grad():
            torch.save(net(torch.load({str(tmp_path / "x.pt")!r})), {str(tmp_path / "y.pt")!r})
    """)
    subprocess.run([sys.executable, "-c", script], check=True)
    encoder, _ = load_encoder(
        cfg, __import__("blobs_modality").Blobs(), tmp_path / "runs" / cfg.key / CHECKPOINT, torch.device("cpu")
    )
    with torch.no_grad():
        expected = encoder.eval()(x)
    assert torch.equal(torch.load(tmp_path / "y.pt"), expected)
    # scratch + --init-from evaluates exactly those weights: same kNN as the run itself
    rows = runner.invoke(
        app, ["run", "blobs", "--scratch", "--init-from", str(out), "--results", str(tmp_path), "--no-progress"]
    )
    assert rows.exit_code == 0, rows.output
    table = __import__("pandas").read_csv(tmp_path / "results.csv")
    init = make_config("blobs", "scratch", "none", pretrain=False, init_from=out)
    knn = table[(table["protocol"] == "knn")].set_index("run_key")["value"]
    assert init.key != make_config("blobs", "scratch", "none", pretrain=False).key
    assert knn[init.key] == knn[cfg.key]
    # pretraining from it gets its own key and starts from its weights
    warm = make_config("blobs", "moco", "rq(bins=4)", epochs=1, init_from=out)
    assert warm.key != cfg.key and warm.init_from is not None and warm.init_from.startswith("sha256:")


def test_export_errors_are_one_clear_line(tmp_path) -> None:
    scratch = make_config("blobs", "scratch", "none", pretrain=False)
    run(scratch, Workspace(tmp_path), progress=False)
    for key, message in ((scratch.key, "random-init (scratch) run"), ("nosuch", "is not a run directory")):
        result = runner.invoke(app, ["export", key, "--results", str(tmp_path)], env={"COLUMNS": "200"})
        assert result.exit_code == 2 and message in " ".join(result.output.split())


@pytest.mark.slow
def test_a_one_file_plugin_from_the_command_line(tmp_path) -> None:
    plugin = negate_plugin(tmp_path / "negate.py", "negate", "Flip the sign of every value.")
    base = [sys.executable, str(CLI)]
    unknown = subprocess.run(
        [*base, "run", "blobs", "--aug", "negate", "--results", str(tmp_path)], capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "unknown augmentation 'negate'" in unknown.stdout
    ran = subprocess.run(
        [
            *base,
            "--plugin",
            str(plugin),
            "run",
            "blobs",
            "--aug",
            "negate",
            "--set",
            "epochs=1",
            "--results",
            str(tmp_path),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    listed = subprocess.run(
        [*base, "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "RQBENCH_PLUGINS": str(plugin), "COLUMNS": "200"},
    )
    assert "negate" in listed.stdout and "Flip the sign" in listed.stdout
    broken = subprocess.run([*base, "--plugin", str(tmp_path / "nope.py"), "list"], capture_output=True, text=True)
    assert broken.returncode == 2 and "plugin" in broken.stdout and "no such file" in broken.stdout

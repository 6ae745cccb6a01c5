"""A store many processes can write (each run's rows in its own directory, results.csv rebuilt from them)
and preemption: SIGTERM / SIGUSR1 checkpoint the current step and stop; the same command resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from rqbench.results import RUN_ROWS, ResultsStore, rebuild_index

CLI = Path(__file__).resolve().parent / "cli_with_blobs.py"


def cli(*args: str, results: Path) -> list[str]:
    return [sys.executable, str(CLI), "run", "blobs", "--results", str(results), "--no-progress", *args]


def test_four_processes_writing_one_tree_lose_and_duplicate_no_row(tmp_path) -> None:
    specs = ["rq(bins=2)", "rq(bins=3)", "rq(bins=4)", "rq(bins=5)"]
    procs = [
        subprocess.Popen(cli("--aug", s, "--set", "epochs=1", results=tmp_path), stdout=subprocess.DEVNULL)
        for s in specs
    ]
    assert [p.wait(timeout=600) for p in procs] == [0, 0, 0, 0]
    index = ResultsStore(tmp_path / "results.csv").load()
    assert index["run_key"].nunique() == 4 and len(index) == 12 and not index.duplicated().any()
    (tmp_path / "results.csv").unlink()  # the index is only an index
    assert rebuild_index(tmp_path) == 12
    rebuilt = ResultsStore(tmp_path / "results.csv").load()
    assert sorted(rebuilt["run_key"]) == sorted(index["run_key"])


@pytest.mark.slow
def test_run_directories_from_two_machines_merge(tmp_path) -> None:
    for machine, spec in (("a", "rq(bins=2)"), ("b", "rq(bins=3)")):
        subprocess.run(
            cli("--aug", spec, "--set", "epochs=1", results=tmp_path / machine), check=True, stdout=subprocess.DEVNULL
        )
    merged = tmp_path / "merged" / "runs"
    merged.mkdir(parents=True)
    for machine in ("a", "b"):
        for run_dir in (tmp_path / machine / "runs").iterdir():
            run_dir.rename(merged / run_dir.name)
    assert rebuild_index(tmp_path / "merged") == 6
    assert all((d / RUN_ROWS).exists() for d in merged.iterdir())


def losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_sigterm_checkpoints_the_current_step_and_the_same_command_resumes(tmp_path) -> None:
    args = ["--aug", "rq(bins=4)+dacl", "--set", "epochs=60", "--set", "checkpoint_every=1000"]
    subprocess.run(cli(*args, results=tmp_path / "full"), check=True, capture_output=True)
    proc = subprocess.Popen(
        cli(*args, results=tmp_path / "cut"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + 120
    logs = []
    while time.time() < deadline and proc.poll() is None:
        logs = list((tmp_path / "cut" / "runs").glob("*/metrics.jsonl")) if (tmp_path / "cut" / "runs").exists() else []
        if logs and logs[0].read_text().count("\n") > 50:
            os.kill(proc.pid, signal.SIGTERM)
            break
        time.sleep(0.05)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 3, out
    run_dir = logs[0].parent
    step = torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"]
    assert f"stopped on SIGTERM at step {step}" in out and 50 < step < 60 * 8
    assert not (run_dir / "done.json").exists()
    subprocess.run(cli(*args, results=tmp_path / "cut"), check=True, capture_output=True)
    full_dir = tmp_path / "full" / "runs" / run_dir.name
    assert losses(full_dir) == losses(run_dir)
    full, resumed = (torch.load(d / "checkpoint.pt", weights_only=True)["method"] for d in (full_dir, run_dir))
    assert all(torch.equal(v, resumed[k]) for k, v in full.items())
    assert json.loads((run_dir / "done.json").read_text())["resumed_from_step"] == step
    rows = pd.read_csv(tmp_path / "cut" / "results.csv")
    assert rows["run_key"].nunique() == 1

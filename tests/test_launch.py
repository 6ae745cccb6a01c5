"""Launchers on submitit: the Slurm submission (a job array with the resources and the run command,
tested against a fake sbatch) and the local launcher running a small table's runs."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from rqbench.launch import LaunchError, Resources, launch, run_command
from rqbench.runs_index import run_state


def fake_sbatch(tmp_path: Path) -> Path:
    """An sbatch on PATH that records its arguments and answers like Slurm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "sbatch"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "sbatch_args.txt"}\necho "Submitted batch job 4242"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    srun = bin_dir / "srun"  # submitit checks that it is on a Slurm cluster
    srun.write_text('#!/bin/sh\nexec "$@"\n')
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_slurm_submission_is_one_job_array_with_the_resources(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", f"{fake_sbatch(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    resources = Resources(
        partition="gpu",
        account="lab",
        gpus_per_run=8,
        cpus=10,
        time_min=600,
        mem_gb=200,
        constraint="a100",
        sbatch={"qos": "high"},
    )
    commands = [
        run_command("images", "moco", "rrc+rq(bins=8)", "paper", seed, True, (), Path("/data/results"), resources)
        for seed in range(3)
    ]
    jobs = launch(commands, "slurm", tmp_path / "logs", resources, jobs=2)
    assert len(jobs) == 3 and jobs[0].job_id.startswith("4242")
    submitted = (tmp_path / "sbatch_args.txt").read_text()
    script = next((tmp_path / "logs").glob("*_submission.sh")).read_text()
    expected = (
        "--partition=gpu --account=lab --gpus-per-node=8 --cpus-per-task=10 --time=600 --mem=200G --constraint=a100 "
        "--qos=high --array=0-2%2 --signal=USR2@120 --ntasks-per-node=1"
    )
    for line in expected.split():
        assert f"#SBATCH {line}" in script, line
    assert submitted.strip().endswith(".sh")  # sbatch got the generated script
    import cloudpickle

    pickled = cloudpickle.loads((tmp_path / "logs" / "4242_1_submitted.pkl").read_bytes())
    assert pickled.args == (commands[1],)  # the pickled job runs that array task's command
    assert commands[0][1:4] == ["-m", "torch.distributed.run", "--nproc-per-node=8"] and "--standalone" in commands[0]
    assert (
        commands[0][-9:]
        == [
            "--seed",
            "0",
            "--results",
            "/data/results",
            "--no-progress",
            "--method",
            "moco",
            "--aug",
            "rrc+rq(bins=8)",
        ][-9:]
    )


def test_bad_resources_and_launchers_are_clear_errors(tmp_path) -> None:
    with pytest.raises(LaunchError, match="nodes = 0"):
        Resources(nodes=0)
    with pytest.raises(LaunchError, match="unknown launcher 'pbs'"):
        launch([["true"]], "pbs", tmp_path, Resources())
    bad = tmp_path / "r.yaml"
    bad.write_text("partition: gpu\ngpus: 8\n")
    with pytest.raises(LaunchError, match="unknown field\\(s\\) gpus"):
        Resources.from_yaml(bad)


@pytest.mark.slow
def test_local_launcher_runs_jobs_with_two_processes_each(tmp_path) -> None:
    """Two runs of the blobs modality through submitit's local executor, 2 at once, each on 2 gloo processes."""
    resources = Resources(processes=2)
    cli = [sys.executable, str(Path(__file__).resolve().parent / "cli_with_blobs.py")]
    commands = []
    for spec in ("none", "rq(bins=4)"):
        command = run_command(
            "blobs", "moco", spec, "quick", 0, True, (("epochs", 1),), tmp_path / "results", resources
        )
        index = command.index("-m", 3)  # torchrun ... -m rqbench -> torchrun ... tests/cli_with_blobs.py
        commands.append([*command[:index], *cli[1:], *command[index + 2 :]])
    jobs = launch(commands, "local", tmp_path / "logs", resources, jobs=2)
    assert [job.result() for job in jobs] == [0, 0]
    runs = sorted((tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 2 and all(run_state(r)[0] == "done" for r in runs)
    assert all('"world_size": 2' in (r / "config.json").read_text() for r in runs)
    assert run_state(tmp_path / "results" / "runs" / "nosuch") == ("pending", "")

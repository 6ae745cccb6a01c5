"""The shared loop: determinism, kill-and-resume with a real signal, 2-process DDP equals 1 process."""

from __future__ import annotations

import functools
import itertools
import json
import operator
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from blobs_modality import Blobs

from rqbench.config import RunConfig
from rqbench.train import CheckpointMismatchError, pretrain
from rqbench.train.loop import CHECKPOINT, METRICS, global_batches, learning_rate

CLI = Path(__file__).parents[1] / "cli_with_blobs.py"


def config(aug: str = "rq(bins=4)", method: str = "moco", seed: int = 0, **overrides) -> RunConfig:
    preset = Blobs.presets["quick"].with_overrides(**overrides) if overrides else Blobs.presets["quick"]
    return RunConfig("blobs", method, aug, preset, seed)


def losses(run_dir: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run_dir / METRICS).read_text().splitlines()]


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / CHECKPOINT, weights_only=False)["method"]


@pytest.mark.parametrize(
    ("method", "aug"), [("moco", "rq(bins=4)"), ("byol", "dacl"), ("moco", "imix"), ("byol", "rq+imix")]
)
def test_same_seed_same_result_different_seed_differs(tmp_path, method, aug) -> None:
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        pretrain(config(aug, method, seed), Blobs(), tmp_path / name, progress=False)
        runs[name] = (losses(tmp_path / name), final_weights(tmp_path / name))
    assert runs["a"][0] == runs["b"][0]
    assert all(torch.equal(v, runs["b"][1][k]) for k, v in runs["a"][1].items())
    assert runs["a"][0] != runs["c"][0]


def test_loss_decreases_and_log_has_every_step(tmp_path) -> None:
    cfg = config(epochs=6)
    result = pretrain(cfg, Blobs(), tmp_path, progress=False)
    log = [json.loads(line) for line in (tmp_path / METRICS).read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(result.steps)) and result.steps == 6 * 8
    assert {"loss", "lr", "momentum", "samples_per_s", "epoch"} <= set(log[0])
    first, last = sum(r["loss"] for r in log[:8]) / 8, sum(r["loss"] for r in log[-8:]) / 8
    assert last < first


def test_in_process_resume_is_bit_exact(tmp_path) -> None:
    cfg = config("rq(bins=4)+imix", epochs=3)
    pretrain(cfg, Blobs(), tmp_path / "full", progress=False)
    pretrain(cfg, Blobs(), tmp_path / "cut", progress=False, max_steps=10)  # stops (and checkpoints) at step 10
    assert torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=False)["step"] == 10
    resumed = pretrain(cfg, Blobs(), tmp_path / "cut", progress=False)
    assert resumed.resumed_from == 10
    assert losses(tmp_path / "full") == losses(tmp_path / "cut")
    full, cut = final_weights(tmp_path / "full"), final_weights(tmp_path / "cut")
    assert all(torch.equal(v, cut[k]) for k, v in full.items())


def test_checkpoint_of_another_config_is_refused(tmp_path) -> None:
    pretrain(config(), Blobs(), tmp_path, progress=False, max_steps=2)
    with pytest.raises(CheckpointMismatchError, match="written by config"):
        pretrain(config(seed=5), Blobs(), tmp_path, progress=False)


def test_data_order_depends_only_on_seed_and_epoch() -> None:
    a = [b.tolist() for _, _, b in global_batches(64, 16, 3, 0, 8)]
    b = [b.tolist() for _, _, b in global_batches(64, 16, 3, 5, 8)]
    assert a[5:] == b
    assert sorted(functools.reduce(operator.iadd, a[:4], [])) == list(range(64))  # one epoch covers every sample once


def test_learning_rate_warmup_then_cosine() -> None:
    cfg = config(lr=0.1, warmup_epochs=1, epochs=3)
    lrs = [learning_rate(cfg, s, 24, 8) for s in range(24)]
    assert lrs[0] == pytest.approx(0.1 / 8) and lrs[7] == pytest.approx(0.1)
    assert lrs[8] == pytest.approx(0.1) and lrs[-1] < 0.01 and all(x >= y for x, y in itertools.pairwise(lrs[8:]))


def cli(*args: str, results: Path) -> list[str]:
    return [sys.executable, str(CLI), "run", "blobs", "--results", str(results), "--no-progress", *args]


def test_killed_process_resumes_to_the_same_final_weights(tmp_path) -> None:
    """A real SIGKILL mid-run; the resumed run ends bit-identical to an uninterrupted one (CPU)."""
    args = ["--aug", "rq(bins=4)+dacl", "--set", "epochs=60", "--set", "checkpoint_every=20"]
    subprocess.run(cli(*args, results=tmp_path / "full"), check=True, capture_output=True)
    proc = subprocess.Popen(
        cli(*args, results=tmp_path / "killed"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    runs = tmp_path / "killed" / "runs"
    deadline = time.time() + 120
    killed_at = None
    while time.time() < deadline and proc.poll() is None:
        checkpoints = list(runs.glob("*/" + CHECKPOINT)) if runs.exists() else []
        if checkpoints and (checkpoints[0].parent / METRICS).read_text().count("\n") > 100:
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = torch.load(checkpoints[0], weights_only=False)["step"]
            break
        time.sleep(0.05)
    proc.wait()
    assert killed_at is not None and proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert 0 < killed_at < 60 * 8
    run_dir = checkpoints[0].parent
    assert not (run_dir / "done.json").exists()
    subprocess.run(cli(*args, results=tmp_path / "killed"), check=True, capture_output=True)
    full_dir = tmp_path / "full" / "runs" / run_dir.name
    assert losses(full_dir) == losses(run_dir)
    full, resumed = final_weights(full_dir), final_weights(run_dir)
    assert all(torch.equal(v, resumed[k]) for k, v in full.items())
    assert json.loads((run_dir / "done.json").read_text())["resumed_from_step"] == killed_at
    assert json.loads((full_dir / "done.json").read_text())["resumed_from_step"] == 0


def test_two_gloo_processes_match_one_process(tmp_path) -> None:
    """torchrun with 2 CPU processes (gloo) vs 1 process on the same global batch.

    Heads without BatchNorm and deterministic views: PyTorch has no SyncBatchNorm on CPU, so
    per-process BN statistics would (correctly) differ from one process's. What remains is
    float summation order in the gradient all-reduce and the key gather: tolerance 1e-5.
    """
    args = [
        "--aug", "none",
        "--set", "epochs=3",
        "--set",
        "methods={'moco': {'proj_hidden': 64, 'proj_dim': 16, 'pred_hidden': 64, 'temperature': 0.2, "
        "'head_batch_norm': False}}",
    ]  # fmt: skip
    subprocess.run(cli(*args, results=tmp_path / "one"), check=True, capture_output=True)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    out = subprocess.run([*torchrun, *cli(*args, results=tmp_path / "two")[1:]], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    (one_dir,) = (tmp_path / "one" / "runs").iterdir()
    (two_dir,) = (tmp_path / "two" / "runs").iterdir()
    assert one_dir.name != two_dir.name  # the key sees the number of processes
    assert json.loads((two_dir / "config.json").read_text())["world_size"] == 2
    one, two = final_weights(one_dir), final_weights(two_dir)
    for name, value in one.items():
        torch.testing.assert_close(two[name], value, rtol=1e-5, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")
    torch.testing.assert_close(torch.tensor(losses(two_dir)), torch.tensor(losses(one_dir)), rtol=1e-5, atol=1e-5)


def test_data_loader_workers_do_not_change_the_result(tmp_path) -> None:
    pretrain(config(epochs=2), Blobs(), tmp_path / "w0", progress=False)
    pretrain(config(epochs=2, num_workers=2), Blobs(), tmp_path / "w2", progress=False)
    assert losses(tmp_path / "w0") == losses(tmp_path / "w2")


class DropoutBlobs(Blobs):
    """Blobs whose backbone draws dropout masks from the global RNG during pretraining."""

    def backbone(self, preset):
        net, width = super().backbone(preset)
        return torch.nn.Sequential(*net[:3], torch.nn.Dropout(0.3), *net[3:]), width


def test_resume_is_bit_exact_with_global_rng_consumers(tmp_path) -> None:
    """Dropout draws from the global RNG: a resumed run must continue that stream where it stopped."""
    cfg = config("rq(bins=4)", epochs=3)
    pretrain(cfg, DropoutBlobs(), tmp_path / "full", progress=False)
    pretrain(cfg, DropoutBlobs(), tmp_path / "cut", progress=False, max_steps=10)
    torch.manual_seed(12345)  # whatever the process's RNG holds, the checkpoint's state must win
    assert pretrain(cfg, DropoutBlobs(), tmp_path / "cut", progress=False).resumed_from == 10
    assert losses(tmp_path / "full") == losses(tmp_path / "cut")
    full, cut = final_weights(tmp_path / "full"), final_weights(tmp_path / "cut")
    assert all(torch.equal(v, cut[k]) for k, v in full.items())

"""Training throughput of rqbench's trainer against a bare PyTorch loop doing the same work.

Run: ``python benchmarks/trainer_throughput.py`` (writes ``results/benchmarks/trainer_throughput.md``).

Both train the same MoCo-v3 model (a small CNN backbone on 32x32 RGB batches), with the same
augmentation pipeline (``rq(bins=8)``), optimizer, batch and number of steps. The bare loop has
no logging (the trainer writes TensorBoard events and metrics.jsonl every step), no progress
bar, no checkpoints and no schedule bookkeeping. The whole call is
timed for both (model construction included), best of the repeats.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, TensorDataset

from rqbench.augment.base import ChannelLayout
from rqbench.augment.spec import build_pipeline
from rqbench.augment.views import Views
from rqbench.config import RunConfig
from rqbench.io import write_atomic
from rqbench.modality import Modality, Task
from rqbench.preset import Preset
from rqbench.provenance import git_commit, hardware
from rqbench.train.batches import collate
from rqbench.train.loop import build_method, pretrain
from rqbench.train.optim import build_optimizer
from rqbench.train.seed import epoch_permutation


class SyntheticImages(Modality):
    """Random 32x32 RGB images and a 4-layer CNN: enough compute per step to be realistic."""

    name = "synthetic-images"
    layout = ChannelLayout(channel_dim=1)
    presets: ClassVar[dict[str, Preset]] = {}

    def pretrain_dataset(self, preset: Preset) -> Dataset:
        return TensorDataset(torch.rand(preset.data["n"], 3, 32, 32, generator=torch.Generator().manual_seed(0)))

    def tasks(self, preset: Preset) -> list[Task]:
        return []

    def backbone(self, preset: Preset) -> tuple[nn.Module, int]:
        layers: list[nn.Module] = []
        channels = 3
        for width in (32, 64, 128, 128):
            layers += [
                nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            ]
            channels = width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten()), 128


def preset(steps: int, batch: int) -> Preset:
    return Preset(
        name="bench",
        epochs=1,
        batch_size=batch,
        optimizer="adamw",
        lr=1e-3,
        methods={"moco": {"proj_hidden": 512, "proj_dim": 128, "pred_hidden": 512, "temperature": 0.2}},
        data={"n": steps * batch},
        checkpoint_every=0,
    )


def bare_loop(cfg: RunConfig, modality: Modality) -> float:
    """The same training with nothing but the math; returns wall seconds."""
    start = time.perf_counter()
    method = build_method(cfg, modality)
    pipeline = build_pipeline(cfg.aug, layout=modality.layout, generator=torch.Generator().manual_seed(1))
    optimizer = build_optimizer(method, cfg.preset)
    for group in optimizer.param_groups:
        group["lr"] = cfg.preset.lr
    dataset = modality.pretrain_dataset(cfg.preset)
    batch, n = cfg.preset.batch_size, len(dataset)  # type: ignore[arg-type]
    perm = epoch_permutation(n, cfg.seed, 0)
    steps = n // batch
    for step in range(steps):
        x: Tensor = collate(dataset, perm[step * batch : (step + 1) * batch])
        v1, v2 = pipeline(x), pipeline(x)
        method.momentum_update(step, steps)
        loss = method(Views.of(v1, v2))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def trainer(cfg: RunConfig, modality: Modality) -> float:
    """rqbench's :func:`pretrain` (logging, progress bar, final checkpoint); returns wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        pretrain(cfg, modality, Path(tmp), resume=False, progress=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)  # steady state: 40 steps measured start-up costs
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="results/benchmarks", help="folder for trainer_throughput.md ('' to skip)")
    args = parser.parse_args()
    modality = SyntheticImages()
    cfg = RunConfig(modality.name, "moco", "rq(bins=8)", preset(args.steps, args.batch), seed=0)
    samples = args.steps * args.batch
    bare, ours = [], []
    for _ in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
        bare.append(bare_loop(cfg, modality))
        ours.append(trainer(cfg, modality))
    bare_rate, ours_rate = samples / min(bare), samples / min(ours)
    ratio = ours_rate / bare_rate
    text = (
        "# Trainer throughput against a bare PyTorch loop\n\n"
        f"Hardware: {hardware()}; commit {git_commit()}.\n"
        f"MoCo-v3, 4-layer CNN, 32x32 RGB, batch {args.batch}, {args.steps} steps, aug rq(bins=8), AdamW; "
        f"best of {args.repeats}.\n\n"
        "| loop | samples/s | wall s (best) |\n|---|---:|---:|\n"
        f"| bare PyTorch | {bare_rate:.1f} | {min(bare):.2f} |\n"
        f"| rqbench trainer | {ours_rate:.1f} | {min(ours):.2f} |\n\n"
        f"Trainer keeps **{100 * ratio:.1f} %** of the bare loop's throughput (target: at least 95 %; "
        "the trainer writes TensorBoard events, metrics.jsonl and checkpoints).\n"
    )
    print(text)
    if args.out:
        write_atomic(Path(args.out) / "trainer_throughput.md", text)


if __name__ == "__main__":
    main()

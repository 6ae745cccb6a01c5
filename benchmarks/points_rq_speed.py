"""Pretraining step time of MID-Net on point clouds with and without RQ (paper section 5.2).

Run: ``python benchmarks/points_rq_speed.py [--preset quick] [--steps 10]`` (writes
``results/benchmarks/points_rq_speed.{md,csv}``).

The paper reports a training speed-up with RQ because quantized points are sparser: with 30
bins per axis, many points of a cloud collapse onto the same coordinates, so the octree has
fewer non-empty nodes. One step here is what the trainer does: base views, the channel stage
(RQ or nothing), MID-Net's forward (octree built inside), backward, SGD step. Both specs run the
same batches (real pretraining clouds of the preset) from the same initial weights; the
median step time after warm-up is reported, with the mean number of non-empty octree nodes at
full depth per cloud.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sized
from typing import cast

import pandas as pd
import torch

from modalities.points.backbone import build_octree
from modalities.points.modality import PointClouds
from rqbench.io import write_atomic
from rqbench.provenance import git_commit, hardware
from rqbench.runner import make_config
from rqbench.train.batches import collate
from rqbench.train.loop import build_method
from rqbench.train.optim import build_optimizer

SPECS = ("pts_base", "pts_base+rq(bins=30)")


def measure(preset: str, steps: int, warmup: int, seed: int = 0) -> pd.DataFrame:
    """One row per spec: median / mean step seconds and mean non-empty full-depth nodes per cloud."""
    modality = PointClouds()
    rows = []
    for spec in SPECS:
        cfg = make_config("points", "midnet", spec, preset, seed)
        dataset = modality.pretrain_dataset(cfg.preset)
        size = len(cast(Sized, dataset))
        method = build_method(cfg, modality, size)
        optimizer = build_optimizer(method, cfg.preset)
        gen = torch.Generator().manual_seed(seed)
        pipeline = modality.pipeline(spec, gen)
        bs = cfg.preset.batch_size
        times, nodes = [], []
        method.train()
        for step in range(warmup + steps):
            idx = torch.arange(step * bs, (step + 1) * bs) % size
            batch = collate(dataset, idx)
            tick = time.perf_counter()
            views = pipeline.views(batch, method.num_views, idx)
            loss = method(views)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if step >= warmup:
                times.append(time.perf_counter() - tick)
                depth = cast(int, method.backbone.depth)  # the O-CNN backbone's octree depth
                nodes.append(float(build_octree(views.queries[0], depth).nnum_nempty[depth]) / bs)
        rows.append(
            {
                "spec": spec,
                "preset": preset,
                "batch": bs,
                "points": cfg.preset.data["points"],
                "depth": method.backbone.depth,
                "median_step_s": statistics.median(times),
                "mean_step_s": statistics.mean(times),
                "nonempty_nodes_per_cloud": statistics.mean(nodes),
                "steps": steps,
            }
        )
    return pd.DataFrame(rows)


def to_markdown(df: pd.DataFrame) -> str:
    base, rq = df.iloc[0], df.iloc[1]
    lines = [
        "# MID-Net pretraining step time with and without RQ (points)",
        "",
        f"commit {git_commit()}, {hardware()}, torch threads {torch.get_num_threads()}; "
        f"preset {base['preset']}: batch {base['batch']}, "
        f"{base['points']} points, octree depth {base['depth']}; {base['steps']} timed steps after warm-up.",
        "",
        "| spec | median step (s) | mean step (s) | non-empty full-depth nodes / cloud |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{r.spec}` | {r.median_step_s:.3f} | {r.mean_step_s:.3f} | {r.nonempty_nodes_per_cloud:.0f} |"
        for r in df.itertuples()
    ]
    lines += [
        "",
        f"Speed-up with RQ: {base['median_step_s'] / rq['median_step_s']:.2f}x (median step time); "
        f"non-empty nodes {rq['nonempty_nodes_per_cloud'] / base['nonempty_nodes_per_cloud']:.2f}x.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--out", default="results/benchmarks", help="folder for points_rq_speed.md/.csv ('' to skip)")
    args = parser.parse_args()
    df = measure(args.preset, args.steps, args.warmup)
    text = to_markdown(df)
    print(text)
    if args.out:
        write_atomic(f"{args.out}/points_rq_speed.md", text)
        write_atomic(f"{args.out}/points_rq_speed.csv", df.to_csv(index=False))


if __name__ == "__main__":
    main()

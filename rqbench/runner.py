"""Run one config end to end: pretrain (or not), evaluate, store the rows; never run a finished run twice."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd

from rqbench.augment.spec import DEFAULT_STAGE_ORDER, applied_order
from rqbench.config import RunConfig
from rqbench.evaluate.protocol import evaluate_encoder
from rqbench.io import write_atomic
from rqbench.modality import MODALITIES, Modality
from rqbench.provenance import environment_id, git_commit, hardware, versions
from rqbench.results import ResultsStore
from rqbench.distributed import DistEnv, barrier
from rqbench.train.loop import pretrain
from rqbench.train.seed import seed_everything

DONE = "done.json"
T = TypeVar("T")


@dataclass(frozen=True)
class Workspace:
    """Where runs and results live: ``root/runs/<key>/`` and ``root/results.csv``."""

    root: Path

    def run_dir(self, cfg: RunConfig) -> Path:
        return self.root / "runs" / cfg.key

    @property
    def store(self) -> ResultsStore:
        return ResultsStore(self.root / "results.csv")

    def is_done(self, cfg: RunConfig) -> bool:
        """Whether ``cfg`` finished (its rows are in the store)."""
        return (self.run_dir(cfg) / DONE).exists()


def make_config(modality: str, method: str, aug: str, preset: str = "quick", seed: int = 0, pretrain: bool = True, **overrides: object) -> RunConfig:
    """A :class:`RunConfig` from names: the modality's preset with ``overrides`` applied, and the
    modality's stage order when it changes how this spec's views are made."""
    instance = MODALITIES.get(modality)()
    from rqbench.methods import METHODS

    stage_order = None
    if pretrain:
        METHODS.get(method)  # unknown method: a clear error now, not after data loading
        instance.pipeline(aug)  # so are bad augmentation specs
        if applied_order(aug, instance.stage_order) != applied_order(aug, DEFAULT_STAGE_ORDER):
            stage_order = tuple(s.name.lower() for s in instance.stage_order)
    else:
        method, aug = "scratch", "none"  # one random-init run per seed serves every table
    resolved = instance.preset(preset).with_overrides(**overrides) if overrides else instance.preset(preset)
    return RunConfig(modality, method, aug, resolved, seed, pretrain, stage_order)


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``: share ``i`` of ``n`` of a list of runs."""
    parts = text.split("/")
    try:
        index, count = (int(p) for p in parts)
    except ValueError:
        raise ValueError(f"shard must look like 'i/n' (e.g. 0/2), got {text!r}") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {text!r}: need n >= 1 and 0 <= i < n")
    return index, count


def shard(items: list[T], index: int, count: int) -> list[T]:
    """Every ``count``-th item starting at ``index``: ``count`` processes given ``0..count-1`` split ``items`` without overlap."""
    return items[index::count]


def run(cfg: RunConfig, workspace: Workspace, env: DistEnv = DistEnv(), *, resume: bool = True, progress: bool = True) -> pd.DataFrame:
    """Pretrain and evaluate ``cfg`` unless it already finished; return its result rows."""
    if workspace.is_done(cfg):
        return workspace.store.rows_for(cfg.key)
    modality: Modality = MODALITIES.get(cfg.modality)()
    run_dir = workspace.run_dir(cfg)
    if env.is_main:
        write_atomic(run_dir / "config.json", json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
    barrier(env)
    began = time.perf_counter()
    resumed_from = 0
    if cfg.pretrain:
        trained = pretrain(cfg, modality, run_dir, env, resume=resume, progress=progress)
        encoder, feature_dim, resumed_from = trained.method.encoder, trained.method.feature_dim, trained.resumed_from
    else:
        seed_everything(cfg.seed)  # seeded random initialization: the "scratch" row
        encoder, feature_dim = modality.backbone(cfg.preset)
        encoder = encoder.to(env.device)
    rows = pd.DataFrame()
    if env.is_main:
        results = evaluate_encoder(encoder, feature_dim, modality, cfg.preset, cfg.seed, env.device)
        wall = time.perf_counter() - began
        provenance = {
            "modality": cfg.modality,
            "method": cfg.method,
            "aug": cfg.aug,
            "backbone": cfg.preset.backbone.get("name", type(encoder).__name__),
            "preset": cfg.preset.name,
            "epochs": cfg.epochs,
            "seed": cfg.seed,
            "commit": git_commit(),
            "hardware": hardware(),
            "wall_time_s": round(wall, 2),
            "run_key": cfg.key,
            "env": environment_id(),
        }
        full = [{**provenance, **r} for r in results]
        workspace.store.append(full)
        done = {"rows": len(full), "wall_time_s": wall, "commit": provenance["commit"], "resumed_from_step": resumed_from, "env": provenance["env"], "versions": versions()}
        write_atomic(run_dir / DONE, json.dumps(done))
        rows = pd.DataFrame(full)
    barrier(env)
    return rows

"""Run one config end to end: pretrain (or not), evaluate, store the rows; never run a finished run twice."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pandas as pd
import torch
from torch import nn

from rqbench.augment.registry import AUGMENTATIONS
from rqbench.augment.spec import DEFAULT_STAGE_ORDER, applied_order, parse_spec
from rqbench.code_identity import code_identity
from rqbench.config import RunConfig
from rqbench.distributed import DistEnv, barrier, broadcast_object
from rqbench.errors import InputError
from rqbench.evaluate.protocol import evaluate_encoder
from rqbench.export import load_encoder_weights, metadata_path, read_metadata
from rqbench.io import write_atomic
from rqbench.loggers import Loggers, check_loggers
from rqbench.modality import MODALITIES, Modality
from rqbench.provenance import environment_id, git_commit, hardware, versions
from rqbench.results import RUN_ROWS, ResultsStore, run_rows
from rqbench.runlock import RunLock, RunLockedError, remove_stale_temporaries
from rqbench.train.loop import CHECKPOINT, METRICS, build_method, pretrain
from rqbench.train.seed import seed_everything

DONE = "done.json"
T = TypeVar("T")


FAILED = "failed.json"
INIT = "init_backbone.pt"


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
        """Whether ``cfg`` finished: ``done.json`` and its rows (``rows.csv``) in its directory. A run whose
        rows were lost is not finished: running it again re-evaluates its kept checkpoint, or pretrains
        again when there is none."""
        return (self.run_dir(cfg) / DONE).exists() and (self.run_dir(cfg) / RUN_ROWS).exists()

    def rows(self, cfg: RunConfig) -> pd.DataFrame:
        """The rows of a finished run (from its own ``rows.csv``)."""
        return run_rows(self.run_dir(cfg)).load()

    def stage_init(self, cfg: RunConfig, path: Path) -> None:
        """Keep the exported backbone ``cfg`` starts from (``--init-from``) in its run directory."""
        target = self.run_dir(cfg) / INIT
        if not target.exists():
            write_atomic(metadata_path(target), metadata_path(Path(path)).read_text())
            write_atomic(target, Path(path).read_bytes())

    def forget(self, cfg: RunConfig, keep_checkpoint: bool = False) -> None:
        """Make a finished or partial run start over (``--force``): its checkpoint (unless it is re-scored:
        ``keep_checkpoint``), log and markers go; its rows are replaced when it finishes again."""
        names = (DONE, FAILED, METRICS, RUN_ROWS) if keep_checkpoint else (DONE, FAILED, CHECKPOINT, METRICS, RUN_ROWS)
        for name in names:
            (self.run_dir(cfg) / name).unlink(missing_ok=True)

    def finished_pretraining(self, cfg: RunConfig) -> Path | None:
        """The run directory of a finished run with ``cfg``'s pretraining (same :attr:`~RunConfig.pretrain_key`)
        whose final checkpoint is kept, or ``None``: its encoder can be evaluated again without pretraining."""
        runs = self.root / "runs"
        own = self.run_dir(cfg)
        candidates = [own, *(sorted(runs.iterdir()) if runs.is_dir() else [])]
        for run_dir in candidates:
            if not (
                (run_dir / DONE).exists() and (run_dir / CHECKPOINT).exists() and (run_dir / "config.json").exists()
            ):
                continue
            try:
                other = RunConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
            except (ValueError, KeyError, TypeError):
                continue  # a config of another version of the code: not comparable
            if other.pretrain and other.pretrain_key == cfg.pretrain_key:
                return run_dir
        return None


class WorldSizeError(ValueError, InputError):
    """A config made for another number of processes than are running."""


class NoPretrainingError(LookupError, InputError):
    """``rqbench eval`` found no finished pretraining (with its checkpoint) for a config."""


def make_config(
    modality: str,
    method: str,
    aug: str,
    preset: str = "quick",
    seed: int = 0,
    pretrain: bool = True,
    *,
    world_size: int = 1,
    init_from: Path | None = None,
    **overrides: object,
) -> RunConfig:
    """A :class:`RunConfig` from names: the modality's preset with ``overrides`` applied, the
    modality's stage order when it changes how this spec's views are made, the number of
    processes, and the code identity of every component the run uses."""
    modality_cls = MODALITIES.get(modality)
    instance = modality_cls()
    from rqbench.methods import METHODS

    stage_order = None
    components: dict[str, object] = {f"modality:{modality}": modality_cls}
    if pretrain:
        components[f"method:{method}"] = METHODS.get(
            method
        )  # unknown method: a clear error now, not after data loading
        instance.pipeline(aug)  # so are bad augmentation specs
        components.update((f"aug:{t.name}", AUGMENTATIONS.get(t.name)) for t in parse_spec(aug))
        if applied_order(aug, instance.stage_order) != applied_order(aug, DEFAULT_STAGE_ORDER):
            stage_order = tuple(s.name.lower() for s in instance.stage_order)
    else:
        method, aug = "scratch", "none"  # one random-init run per seed serves every table
    resolved = instance.preset(preset).with_overrides(**overrides) if overrides else instance.preset(preset)
    backbone = instance.backbone_component(resolved)
    if backbone is not None:
        components[f"backbone:{resolved.backbone.get('name', modality)}"] = backbone
    init = None
    if init_from is not None:
        read_metadata(init_from)  # a clear error now for a file that is not an exported backbone
        init = "sha256:" + hashlib.sha256(Path(init_from).read_bytes()).hexdigest()[:12]
    code = code_identity(components)
    return RunConfig(modality, method, aug, resolved, seed, pretrain, stage_order, world_size, code, init)


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
    """Every ``count``-th item starting at ``index``: ``count`` processes given ``0..count-1`` split ``items``
    without overlap."""
    return items[index::count]


def run(
    cfg: RunConfig,
    workspace: Workspace,
    env: DistEnv = DistEnv(),
    *,
    resume: bool = True,
    progress: bool = True,
    force: bool = False,
    evaluate_only: bool = False,
    loggers: Sequence[str] = (),
    log_every: float = 30.0,
) -> pd.DataFrame:
    """Pretrain and evaluate ``cfg`` unless it already finished; return its result rows.

    A finished pretraining with the same :attr:`~RunConfig.pretrain_key` (another run that differs
    only in its evaluation settings) is evaluated again instead of pretraining anew. ``force``
    reruns a finished run and replaces its rows; ``evaluate_only`` refuses to pretrain
    (:class:`NoPretrainingError` when there is nothing to evaluate). A run that fails leaves
    ``failed.json`` with the error in its directory.
    """
    check_loggers(loggers)  # an unknown or missing logger is an error before any work
    if cfg.world_size != env.world_size:
        raise WorldSizeError(
            f"the run's config is for {cfg.world_size} process(es) but {env.world_size} are running; "
            f"make the config with world_size={env.world_size}"
        )
    if workspace.is_done(cfg) and not force:
        return workspace.rows(cfg)
    run_dir = workspace.run_dir(cfg)
    # one scan for a finished pretraining to re-score: `run --force` pretrains anew, `eval --force` re-scores
    found = workspace.finished_pretraining(cfg) if cfg.pretrain else None
    source = found if evaluate_only or not force else None
    if evaluate_only and cfg.pretrain and source is None:
        raise NoPretrainingError(
            f"no finished pretraining with key {cfg.pretrain_key} (and its checkpoint.pt) "
            f"under {workspace.root / 'runs'}; "
            "run `rqbench run` with these settings first"
        )
    with _held(run_dir, env):  # one process works in a run at a time (another skips it)
        if force and env.is_main:
            workspace.forget(cfg, keep_checkpoint=source is not None)
        barrier(env)
        if workspace.is_done(cfg):  # finished by another process while this one waited for the lock
            return workspace.rows(cfg)
        return _start(cfg, workspace, env, run_dir, source, resume, progress, loggers, log_every)


@contextlib.contextmanager
def _held(run_dir: Path, env: DistEnv) -> Iterator[None]:
    """Hold ``run_dir``'s lock (rank 0 takes it for every process) and clear the temporaries a killed
    write left; :class:`~rqbench.runlock.RunLockedError` when another live process holds it."""
    lock = RunLock(run_dir) if env.is_main else None
    error = ""
    if lock is not None:
        try:
            lock.acquire()
            remove_stale_temporaries(run_dir)
            remove_stale_temporaries(run_dir.parent.parent)  # results.csv's directory
        except RunLockedError as exc:
            error = str(exc)
    error = broadcast_object(env, error)
    if error:
        raise RunLockedError(error)
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def _start(
    cfg: RunConfig,
    workspace: Workspace,
    env: DistEnv,
    run_dir: Path,
    source: Path | None,
    resume: bool,
    progress: bool,
    loggers: Sequence[str],
    log_every: float,
) -> pd.DataFrame:
    """Run ``cfg`` in ``run_dir`` (its lock held): re-score ``source``'s pretraining or pretrain, then evaluate."""
    if env.is_main:
        write_atomic(run_dir / "config.json", json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
        (run_dir / FAILED).unlink(missing_ok=True)
    try:
        return _run(
            cfg, workspace, env, run_dir, source, resume=resume, progress=progress, loggers=loggers, log_every=log_every
        )
    except BaseException as exc:
        if env.is_main:
            failure = {
                "error": type(exc).__name__,
                "message": str(exc),
                "traceback": traceback.format_exc(),
                "commit": git_commit(),
            }
            write_atomic(run_dir / FAILED, json.dumps(failure, indent=2))
        raise


def _run(
    cfg: RunConfig,
    workspace: Workspace,
    env: DistEnv,
    run_dir: Path,
    source: Path | None,
    *,
    resume: bool,
    progress: bool,
    loggers: Sequence[str],
    log_every: float,
) -> pd.DataFrame:
    modality: Modality = MODALITIES.get(cfg.modality)()
    barrier(env)
    began = time.perf_counter()
    resumed_from = 0
    pretrain_s: float | None = None  # seconds of pretraining behind the encoder (a re-scored run: the source's)
    if cfg.pretrain and source is not None:
        encoder, feature_dim = load_encoder(cfg, modality, source / CHECKPOINT, env.device)
        pretrain_s = json.loads((source / DONE).read_text()).get("pretrain_s")
    elif cfg.pretrain:
        trained = pretrain(
            cfg, modality, run_dir, env, resume=resume, progress=progress, loggers=loggers, log_every=log_every
        )
        encoder, feature_dim, resumed_from = trained.method.encoder, trained.method.feature_dim, trained.resumed_from
        pretrain_s = trained.wall_time_s
    else:
        seed_everything(cfg.seed)  # seeded random initialization: the "scratch" row
        encoder, feature_dim = modality.backbone(cfg.preset)
        if cfg.init_from is not None:  # evaluate (and fine-tune) an exported backbone instead
            load_encoder_weights(encoder, run_dir / INIT, cfg.modality)
        encoder = encoder.to(env.device)
    rows = pd.DataFrame()
    report = (lambda line: print(line, flush=True)) if progress and env.is_main else None
    # every rank extracts its share of the features; rank 0 runs the probes and keeps the rows
    results = evaluate_encoder(encoder, feature_dim, modality, cfg.preset, cfg.seed, env.device, report, env)
    if env.is_main:
        logs = Loggers(run_dir, cfg.key, cfg.to_dict(), loggers, write_config=not cfg.pretrain or source is not None)
        logs.log_eval(results, step=cfg.epochs)
        logs.close()
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
        run_rows(run_dir).write(full)  # the run's own rows: the source of truth
        workspace.store.append(full)  # and the index (rqbench results rebuild recreates it from the runs)
        done = {
            "rows": len(full),
            "wall_time_s": wall,
            "commit": provenance["commit"],
            "resumed_from_step": resumed_from,
            "env": provenance["env"],
            "versions": versions(),
            "world_size": env.world_size,
            "pretrain_s": pretrain_s,
            **({"pretrained_in": source.name} if source is not None else {}),
        }
        write_atomic(run_dir / DONE, json.dumps(done))
        rows = pd.DataFrame(full)
    barrier(env)
    return rows


def load_encoder(cfg: RunConfig, modality: Modality, checkpoint: Path, device: torch.device) -> tuple[nn.Module, int]:
    """The pretrained encoder in ``checkpoint`` (a finished run with ``cfg``'s pretraining) and its feature width."""
    state = torch.load(checkpoint, map_location=device, weights_only=False)
    num_samples = len(modality.pretrain_dataset(cfg.preset))  # type: ignore[arg-type]
    method = build_method(cfg, modality, num_samples).to(device)
    method.load_state_dict(state["method"])
    return method.encoder, method.feature_dim

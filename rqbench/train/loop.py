"""The one pretraining loop every modality and method shares.

Per step: this process's share of a global batch (an epoch permutation that depends only on the
seed); the pipeline's views (the modality's stage order, then mixing); the learning rate and the
momentum update; the method's loss and the optimizer step. Checkpoints are written atomically
every ``preset.checkpoint_every`` steps and at the end, and a killed run resumes from the last one
with bit-identical results on CPU (every random source is in the checkpoint).
"""

from __future__ import annotations

import contextlib
import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from rqbench.augment.spec import SpecError
from rqbench.config import RunConfig
from rqbench.distributed import DistEnv, any_rank, global_mean, wrap_ddp
from rqbench.drawn import PRETRAIN_STREAM, Drawn, ViewStack
from rqbench.evaluate.monitor import knn_monitor
from rqbench.loggers import Loggers
from rqbench.methods import METHODS
from rqbench.methods.base import Method
from rqbench.modality import Modality
from rqbench.schedules import warmup_cosine, warmup_step
from rqbench.settings import SettingError
from rqbench.train.batches import (
    batch_loader,
    global_batches,
    local_batch_size,
    local_shards,
    stack_inputs,
    stack_views,
    steps_per_epoch,
)
from rqbench.train.checkpoint import load_checkpoint
from rqbench.train.metrics_log import StepLog
from rqbench.train.optim import build_optimizer
from rqbench.train.precision import amp_context
from rqbench.train.preemption import Preempted, PreemptionWatch
from rqbench.train.progress import TrainProgress
from rqbench.train.seed import rng_state, seed_everything, set_rng_state
from rqbench.train.state import TrainingState, restore_global_rng

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"


@dataclass
class TrainResult:
    """What pretraining produced: the method (its ``encoder`` is evaluated) and bookkeeping."""

    method: Method
    steps: int
    wall_time_s: float
    resumed_from: int


def learning_rate(cfg: RunConfig, step: int, total_steps: int, per_epoch: int) -> float:
    """The preset's learning rate at ``step`` (scaled by batch size / 256 when the preset says so)."""
    preset = cfg.preset
    base = preset.lr * preset.batch_size / 256 if preset.lr_scaling else preset.lr
    warmup = round(preset.warmup_epochs * per_epoch)
    if preset.schedule == "step":
        return warmup_step(step, per_epoch, warmup, base, preset.milestones)
    return warmup_cosine(step, total_steps, warmup, base)


def build_method(cfg: RunConfig, modality: Modality, num_samples: int | None = None) -> Method:
    """A fresh method around a fresh backbone, seeded by the run's seed.

    A method whose constructor takes ``num_samples`` (per-sample state such as memory banks)
    gets the size of the pretraining set.
    """
    seed_everything(cfg.seed)
    backbone, feature_dim = modality.backbone(cfg.preset)
    cls = METHODS.get(cfg.method)
    kwargs = cfg.preset.method_kwargs(cfg.method)
    if "num_samples" in inspect.signature(cls).parameters:
        if num_samples is None:
            raise ValueError(
                f"method {cfg.method!r} keeps per-sample state and needs num_samples (the pretraining set's size)"
            )
        kwargs["num_samples"] = num_samples
    method: Method = cls(backbone, feature_dim, **kwargs)
    return method


def build_state(cfg: RunConfig, modality: Modality, env: DistEnv, num_samples: int) -> TrainingState:
    """Method (on the device, SyncBatchNorm under multi-GPU DDP), augmentation pipeline with this
    rank's generator, optimizer and grad scaler, in the order that fixes their random draws."""
    method = build_method(cfg, modality, num_samples).to(env.device)
    if env.distributed and env.device.type == "cuda" and cfg.preset.sync_bn:
        method = nn.SyncBatchNorm.convert_sync_batchnorm(method)
    generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + env.rank)
    pipeline = modality.pipeline(cfg.aug, generator, order=cfg.order).to(env.device)
    optimizer = build_optimizer(method, cfg.preset)
    _, scaler = amp_context(cfg.preset.amp, env.device)
    return TrainingState(method, optimizer, pipeline, scaler, generator)


def probe_pipeline(cfg: RunConfig, modality: Modality, dataset: Dataset[Any], method: Method) -> None:
    """Run the spec once on two real samples before any training, with every random source put back
    afterwards: an argument the data cannot take (``rq(channel_dim=9)``) is one error now, not at step 1."""
    saved = rng_state()
    try:
        pipeline = modality.pipeline(cfg.aug, torch.Generator().manual_seed(0), order=cfg.order)
        split = modality.loader_views(cfg.preset, pipeline.view)
        first = range(min(2, len(dataset)))  # type: ignore[arg-type]
        if split is None:
            batch = stack_inputs([dataset[i] for i in first])
        else:  # the views begun as the data loader begins them
            pipeline = pipeline.with_view(split.rest)
            made = Drawn(dataset, ViewStack(split.make, 1, split.prepare))
            batch = split.start(stack_views([made[(cfg.seed, PRETRAIN_STREAM, 0, i)] for i in first]))
        with torch.no_grad():
            pipeline.views(batch, 1, embed=method.embed, premade=split is not None)
    except (ValueError, TypeError, IndexError, RuntimeError) as exc:
        message = " ".join(str(exc).split())[:200]
        raise SpecError(
            f"augmentation {cfg.aug!r} fails on the {cfg.modality} data: {type(exc).__name__}: {message}"
        ) from None
    finally:
        set_rng_state(saved)


def start_from_backbone(method: Method, path: Path, modality: str) -> None:
    """Load an exported backbone (``--init-from``) into the method's encoder, and into its momentum branches."""
    from rqbench.export import load_encoder_weights

    load_encoder_weights(method.encoder, path, modality)
    for online, target in method.momentum_pairs():
        target.load_state_dict(online.state_dict())


def optimizer_step(
    model: nn.Module, views: Any, state: TrainingState, autocast: contextlib.AbstractContextManager[Any], step: int
) -> Tensor:
    """One optimizer step on the loss of ``views`` (with the grad scaler under float16); the loss, detached."""
    with autocast:
        loss: Tensor = model(views)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()} at step {step}; lower the learning rate or check the data")
    state.optimizer.zero_grad(set_to_none=True)
    if state.scaler is not None:
        state.scaler.scale(loss).backward()
        state.scaler.step(state.optimizer)
        state.scaler.update()
    else:
        loss.backward()
        state.optimizer.step()
    return loss.detach()


def pretrain(
    cfg: RunConfig,
    modality: Modality,
    run_dir: Path,
    env: DistEnv = DistEnv(),
    *,
    resume: bool = True,
    progress: bool = True,
    max_steps: int | None = None,
    loggers: Sequence[str] = (),
    log_every: float = 30.0,
) -> TrainResult:
    """Pretrain ``cfg.method`` on ``modality``'s pretraining set; checkpoints go to ``run_dir``.

    Args:
        cfg: the run configuration.
        modality: the modality instance.
        run_dir: directory of this run (checkpoint and metrics; written by rank 0 only).
        env: the distributed environment (:func:`rqbench.distributed.init_distributed`).
        resume: continue from ``run_dir/checkpoint.pt`` if present.
        progress: show a rich progress bar (rank 0).
        max_steps: stop after this many steps (for tests and smoke runs), checkpointing there.
        loggers: loggers beside TensorBoard (which always writes into ``run_dir``): ``"wandb"``.
        log_every: seconds between plain progress lines when the output is not a terminal.
    """
    preset = cfg.preset
    local_batch_size(
        preset.batch_size, env
    )  # a batch that does not divide over the processes: an error before any work
    dataset = modality.pretrain_dataset(preset)
    num_samples = len(dataset)  # type: ignore[arg-type]
    if num_samples == 0:
        raise SettingError(
            f"modality {cfg.modality!r}: the pretraining set is empty; check its data settings (preset.data)"
        )
    per_epoch = steps_per_epoch(num_samples, preset.batch_size)
    total_steps = preset.steps if preset.steps is not None else preset.epochs * per_epoch
    stop = total_steps if max_steps is None else min(total_steps, max_steps)

    state = build_state(cfg, modality, env, num_samples)
    probe_pipeline(cfg, modality, dataset, state.method)
    # Views begun in the data loader workers (full-size images: decode and crop there), or none.
    split = modality.loader_views(preset, state.pipeline.view)
    pipeline = state.pipeline if split is None else state.pipeline.with_view(split.rest)
    source = dataset if split is None else Drawn(dataset, ViewStack(split.make, state.method.num_views, split.prepare))
    autocast, _ = amp_context(preset.amp, env.device)
    saved = load_checkpoint(run_dir / CHECKPOINT, cfg.key, env.device) if resume else None
    start = state.restore(saved, env) if saved is not None else 0
    if saved is None and cfg.init_from is not None:
        start_from_backbone(state.method, run_dir / "init_backbone.pt", cfg.modality)
    if saved is None:
        seed_everything(cfg.seed * 7919 + env.rank)
    model = wrap_ddp(state.method, env)
    if env.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    schedule = list(global_batches(num_samples, preset.batch_size, cfg.seed, start, stop))
    shards_of = local_shards(schedule, preset.batch_size, env)
    keys: list[list[Any]] = (
        shards_of
        if split is None
        else [[(cfg.seed, PRETRAIN_STREAM, s, i) for i in shard] for (s, _, _), shard in zip(schedule, shards_of)]
    )
    bar = TrainProgress(
        total_steps,
        start,
        enabled=progress and env.is_main,
        description=f"{cfg.modality} {cfg.method} {cfg.aug}",
        log_every=log_every,
    )
    monitor_every = preset.eval.monitor_every
    state.method.train()
    began = time.perf_counter()
    with (
        StepLog(run_dir / METRICS, start, Loggers(run_dir, cfg.key, cfg.to_dict(), loggers, start))
        if env.is_main
        else contextlib.nullcontext() as log,
        bar,
        PreemptionWatch() as watch,
    ):
        collate = stack_inputs if split is None else stack_views
        batches = iter(batch_loader(source, keys, preset.num_workers, env, collate))  # draws the loader's seed
        if saved is not None:
            restore_global_rng(saved, env)
        for (step, epoch, _), shard, batch in zip(schedule, shards_of, batches):
            tick = time.perf_counter()
            indices = torch.as_tensor(shard, device=env.device)
            batch = batch.to(env.device, non_blocking=True)
            views = pipeline.views(
                batch if split is None else split.start(batch),
                state.method.num_views,
                indices,
                embed=state.method.embed,
                premade=split is not None,
            )
            for group in state.optimizer.param_groups:
                group["lr"] = lr = learning_rate(cfg, step, total_steps, per_epoch)
            momentum = state.method.momentum_update(step, total_steps)
            loss = optimizer_step(model, views, state, autocast, step)
            record = {"step": step, "epoch": epoch, "loss": global_mean(loss, env), "lr": lr, "momentum": momentum}
            record.update(
                state.method.log_values(), samples_per_s=preset.batch_size / max(time.perf_counter() - tick, 1e-9)
            )
            if log is not None:
                log.write(record)
                if monitor_every and (step + 1) % per_epoch == 0 and (epoch + 1) % monitor_every == 0:
                    log.scalars(
                        {"monitor/knn_top1": knn_monitor(state.method.encoder, modality, preset, env.device)}, step
                    )
            bar.advance(record)
            if any_rank(watch.received is not None, env) and step + 1 < stop:
                state.save(run_dir / CHECKPOINT, cfg, step + 1, env)
                raise Preempted(step + 1, watch.received or "a signal on another rank")
            if preset.checkpoint_every and (step + 1) % preset.checkpoint_every == 0 and step + 1 < stop:
                state.save(run_dir / CHECKPOINT, cfg, step + 1, env)
        if stop > start or saved is None:
            state.save(run_dir / CHECKPOINT, cfg, stop, env)
    return TrainResult(state.method, stop, time.perf_counter() - began, start)


__all__ = [
    "CHECKPOINT",
    "METRICS",
    "TrainResult",
    "build_method",
    "build_state",
    "learning_rate",
    "optimizer_step",
    "pretrain",
]

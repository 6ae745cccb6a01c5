"""The one pretraining loop every modality and method shares.

Per step: a global batch (an epoch permutation that depends only on the seed), sharded over
processes; two base views from the modality; the channel-stage augmentation on each; the
mixing augmentation (if any) on the query views; the method's symmetric loss; the optimizer
step with warm-up + schedule; the momentum update. Checkpoints are written atomically every
``preset.checkpoint_every`` steps and at the end, and a killed run resumes from the last one
with bit-identical results on CPU (every random source is in the checkpoint).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from rqbench.augment.spec import AugmentationPipeline, build_pipeline
from rqbench.config import RunConfig
from rqbench.methods import METHODS
from rqbench.methods.base import Method
from rqbench.modality import Modality
from rqbench.train.checkpoint import load_checkpoint, save_checkpoint
from rqbench.train.distributed import DistEnv
from rqbench.train.optim import build_optimizer
from rqbench.train.progress import TrainProgress
from rqbench.train.schedule import warmup_cosine, warmup_step
from rqbench.train.seed import epoch_permutation, rng_state, seed_everything, set_rng_state

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"


@dataclass
class TrainResult:
    """What pretraining produced: the method (its ``encoder`` is evaluated) and bookkeeping."""

    method: Method
    steps: int
    wall_time_s: float
    resumed_from: int


def sample_tensor(item: Any) -> Tensor:
    """The input tensor of a dataset item (items may be ``x`` or ``(x, label)``)."""
    return item[0] if isinstance(item, (tuple, list)) else item


def usable_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def stack_inputs(items: list[Any]) -> Tensor:
    """Collate dataset items (``x`` or ``(x, label)``) into a batch of inputs, labels dropped."""
    return torch.stack([sample_tensor(item) for item in items])


def collate(dataset: Dataset, indices: Tensor) -> Tensor:
    """Stack the inputs of ``dataset[indices]`` into a batch."""
    return stack_inputs([dataset[int(i)] for i in indices])


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    """Full global batches per epoch (the last partial batch is dropped, as MoCo-v3)."""
    if num_samples < batch_size:
        raise ValueError(f"the pretraining set has {num_samples} samples, fewer than one batch of {batch_size}")
    return num_samples // batch_size


def global_batches(num_samples: int, batch_size: int, seed: int, start_step: int, total_steps: int) -> Iterator[tuple[int, int, Tensor]]:
    """``(step, epoch, indices)`` of each global batch from ``start_step`` on."""
    per_epoch = steps_per_epoch(num_samples, batch_size)
    for step in range(start_step, total_steps):
        epoch, within = divmod(step, per_epoch)
        perm = epoch_permutation(num_samples, seed, epoch)
        yield step, epoch, perm[within * batch_size : (within + 1) * batch_size]


def learning_rate(cfg: RunConfig, step: int, total_steps: int, per_epoch: int) -> float:
    """The preset's learning rate at ``step`` (scaled by batch size / 256 when the preset says so)."""
    preset = cfg.preset
    base = preset.lr * preset.batch_size / 256 if preset.lr_scaling else preset.lr
    warmup = int(round(preset.warmup_epochs * per_epoch))
    if preset.schedule == "step":
        return warmup_step(step, per_epoch, warmup, base, preset.milestones)
    return warmup_cosine(step, total_steps, warmup, base)


def build_method(cfg: RunConfig, modality: Modality, num_samples: int | None = None) -> Method:
    """A fresh method around a fresh backbone, seeded by the run's seed.

    Methods with ``needs_indices`` (per-sample memory banks) also get ``num_samples``, the
    size of the pretraining set (required for them).
    """
    seed_everything(cfg.seed)
    backbone, feature_dim = modality.backbone(cfg.preset)
    cls = METHODS.get(cfg.method)
    kwargs = cfg.preset.method_kwargs(cfg.method)
    if getattr(cls, "needs_indices", False):
        if num_samples is None:
            raise ValueError(f"method {cfg.method!r} keeps per-sample state and needs num_samples (the pretraining set's size)")
        kwargs["num_samples"] = num_samples
    return cls(backbone, feature_dim, **kwargs)


def amp_context(cfg: RunConfig, device: torch.device) -> tuple[contextlib.AbstractContextManager[Any], torch.amp.GradScaler | None]:
    """Autocast and grad scaler for the preset: bf16 on CUDA when supported, else fp16 + scaler."""
    enabled = cfg.preset.amp if cfg.preset.amp is not None else device.type == "cuda"
    if not enabled:
        return contextlib.nullcontext(), None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.float16), torch.amp.GradScaler("cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16), None


class MetricsLog:
    """Per-step metrics appended to ``metrics.jsonl``; on resume, lines past the checkpoint are dropped."""

    def __init__(self, path: Path, resume_step: int) -> None:
        self.path = path
        kept = []
        if resume_step and path.exists():
            kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] < resume_step]
        path.write_text("".join(line + "\n" for line in kept))
        self._handle = path.open("a")

    def write(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def pretrain(
    cfg: RunConfig,
    modality: Modality,
    run_dir: Path,
    env: DistEnv = DistEnv(),
    *,
    resume: bool = True,
    progress: bool = True,
    max_steps: int | None = None,
) -> TrainResult:
    """Pretrain ``cfg.method`` on ``modality``'s pretraining set; checkpoints go to ``run_dir``.

    Args:
        cfg: the run configuration.
        modality: the modality instance.
        run_dir: directory of this run (checkpoint and metrics; written by rank 0 only).
        env: the distributed environment (:func:`rqbench.train.distributed.init_distributed`).
        resume: continue from ``run_dir/checkpoint.pt`` if present.
        progress: show a rich progress bar (rank 0).
        max_steps: stop after this many steps (for tests and smoke runs), checkpointing there.
    """
    preset = cfg.preset
    if preset.batch_size % env.world_size:
        raise ValueError(f"global batch size {preset.batch_size} is not divisible by {env.world_size} processes")
    local_batch = preset.batch_size // env.world_size
    dataset = modality.pretrain_dataset(preset)
    num_samples = len(dataset)  # type: ignore[arg-type]
    if num_samples == 0:
        raise ValueError(f"modality {cfg.modality!r}: the pretraining set is empty")
    per_epoch = steps_per_epoch(num_samples, preset.batch_size)
    total_steps = preset.epochs * per_epoch
    stop = total_steps if max_steps is None else min(total_steps, max_steps)

    method = build_method(cfg, modality, num_samples).to(env.device)
    if env.distributed and env.device.type == "cuda" and preset.sync_bn:
        method = nn.SyncBatchNorm.convert_sync_batchnorm(method)  # type: ignore[assignment]
    aug_gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + env.rank)
    pipeline: AugmentationPipeline = build_pipeline(cfg.aug, layout=modality.layout, modality=cfg.modality, generator=aug_gen).to(env.device)
    optimizer = build_optimizer(method, preset)
    autocast, scaler = amp_context(cfg, env.device)

    start = 0
    state = load_checkpoint(run_dir / CHECKPOINT, cfg.key, env.device) if resume else None
    if state is not None:
        method.load_state_dict(state["method"])
        optimizer.load_state_dict(state["optimizer"])
        pipeline.load_state_dict(state["pipeline"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        aug_gen.set_state(state["aug_generator"][env.rank])
        start = int(state["step"])  # the global RNG is restored below, once the data loader has drawn its seed
    else:
        seed_everything(cfg.seed * 7919 + env.rank)

    model: nn.Module = method
    if env.distributed:
        model = nn.parallel.DistributedDataParallel(method, device_ids=[env.device.index] if env.device.type == "cuda" else None)

    def checkpoint(step: int) -> None:
        gathered_gen, gathered_rng = _gather_states(env, aug_gen.get_state(), rng_state())
        if env.is_main:
            save_checkpoint(
                run_dir / CHECKPOINT,
                {
                    "config_key": cfg.key,
                    "config": cfg.to_dict(),
                    "step": step,
                    "method": method.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "pipeline": pipeline.state_dict(),
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "aug_generator": gathered_gen,
                    "rng": gathered_rng,
                },
            )

    if env.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
    log = MetricsLog(run_dir / METRICS, start) if env.is_main else None
    bar = TrainProgress(total_steps, start, enabled=progress and env.is_main, description=f"{cfg.modality} {cfg.method} {cfg.aug}")
    method.train()
    began = time.perf_counter()
    step = start
    try:
        with bar:
            schedule = list(global_batches(num_samples, preset.batch_size, cfg.seed, start, stop))
            local_indices = [indices[env.rank * local_batch : (env.rank + 1) * local_batch].tolist() for _, _, indices in schedule]
            loader = DataLoader(
                dataset,
                batch_sampler=local_indices,  # our own order: deterministic, resumable mid-epoch
                num_workers=min(preset.num_workers, usable_cores()),  # results do not depend on it
                collate_fn=stack_inputs,
                pin_memory=env.device.type == "cuda",
            )
            batches = iter(loader)  # draws the loader's base seed from the global RNG
            if state is not None:
                # restored after that draw: an uninterrupted run made it before step 0, not before
                # this step, so dropout & co. continue the stream exactly where the checkpoint left it
                set_rng_state(state["rng"][env.rank])
            for (step, epoch, _), local, batch in zip(schedule, local_indices, batches):
                tick = time.perf_counter()
                batch = batch.to(env.device, non_blocking=True)  # base views run on the training device
                # an input embedding (EmbeddedBackbone) runs before the channel stage; identity otherwise
                views = [method.embed(modality.view(batch, preset, pipeline.view, aug_gen, i)) for i in range(2)]
                for group in optimizer.param_groups:
                    group["lr"] = lr = learning_rate(cfg, step, total_steps, per_epoch)
                momentum = method.momentum_update(step, total_steps)
                with autocast:
                    keys = [pipeline(v) for v in views]
                    mixed = [pipeline.mix(k) for k in keys]
                    loss = model(
                        queries=(mixed[0][0], mixed[1][0]),
                        keys=(keys[0], keys[1]),
                        mix=(mixed[0][1], mixed[1][1]),
                        **({"indices": torch.as_tensor(local, device=env.device)} if method.needs_indices else {}),
                    )
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss is {loss.item()} at step {step}; lower the learning rate or check the data")
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                seconds = time.perf_counter() - tick
                record = {
                    "step": step,
                    "epoch": epoch,
                    "loss": _global_mean(loss.detach(), env),
                    "lr": lr,
                    "momentum": momentum,
                    "samples_per_s": preset.batch_size / max(seconds, 1e-9),
                }
                if log is not None:
                    log.write(record)
                bar.advance(record)
                done = step + 1
                if preset.checkpoint_every and done % preset.checkpoint_every == 0 and done < stop:
                    checkpoint(done)
            step = stop
            if stop > start or state is None:
                checkpoint(stop)
    finally:
        if log is not None:
            log.close()
    return TrainResult(method, stop, time.perf_counter() - began, start)


def _global_mean(value: Tensor, env: DistEnv) -> float:
    """The mean of a scalar over all processes (the loss of the whole global batch)."""
    if env.distributed:
        import torch.distributed as dist

        value = value.clone()
        dist.all_reduce(value)
        value /= env.world_size
    return value.item()


def _gather_states(env: DistEnv, gen_state: Tensor, rng: dict[str, Any]) -> tuple[list[Tensor], list[dict[str, Any]]]:
    """Every rank's augmentation-generator and global RNG states, on rank 0."""
    if not env.distributed:
        return [gen_state], [rng]
    import torch.distributed as dist

    gens: list[Any] = [None] * env.world_size
    rngs: list[Any] = [None] * env.world_size
    dist.all_gather_object(gens, gen_state)
    dist.all_gather_object(rngs, rng)
    return gens, rngs


def total_steps_for(cfg: RunConfig, num_samples: int) -> int:
    """Number of optimizer steps ``cfg`` runs on a pretraining set of ``num_samples``."""
    return cfg.preset.epochs * steps_per_epoch(num_samples, cfg.preset.batch_size)


__all__ = ["CHECKPOINT", "METRICS", "TrainResult", "build_method", "learning_rate", "pretrain", "steps_per_epoch", "total_steps_for"]

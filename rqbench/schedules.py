"""Schedules evaluated per step or epoch: the half cosine they share, learning rates, EMA momentum."""

from __future__ import annotations

import math


def half_cosine(t: float) -> float:
    """``(1 + cos(pi t)) / 2``: 1 at ``t = 0`` falling to 0 at ``t = 1`` (``t`` clipped to [0, 1])."""
    return 0.5 * (1.0 + math.cos(math.pi * min(max(t, 0.0), 1.0)))


def cosine_lr(base_lr: float, epoch: int, epochs: int) -> float:
    """Learning rate of 0-based ``epoch`` out of ``epochs`` under cosine annealing to zero.

    ``lr_e = base_lr * (1 + cos(pi * e / epochs)) / 2`` (SGDR without restarts, Loshchilov &
    Hutter 2017), as the evaluation protocols (fine-tuning, segmentation probes) use it.
    """
    return base_lr * half_cosine(epoch / epochs)


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Linear warm-up from 0 to ``base_lr`` over ``warmup_steps``, then half-cosine decay to 0."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if total_steps <= warmup_steps:
        return base_lr
    return base_lr * half_cosine((step - warmup_steps) / (total_steps - warmup_steps))


def warmup_step(
    step: int, steps_per_epoch: int, warmup_steps: int, base_lr: float, milestones: tuple[int, ...]
) -> float:
    """Linear warm-up, then ``base_lr`` divided by 10 at each milestone epoch (MID-Net's schedule)."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    epoch = step // max(steps_per_epoch, 1)
    return base_lr * 0.1 ** sum(epoch >= m for m in milestones)


def cosine_momentum(step: int, total_steps: int, base: float) -> float:
    """Momentum at ``step`` rising from ``base`` (step 0) to 1.0 (step ``total_steps``) on a half cosine.

    ``m = 1 - (1 + cos(pi * step / total_steps)) * (1 - base) / 2``: MoCo v3's
    ``adjust_moco_momentum`` (moco-v3 ``main_moco.py``) and BYOL's target decay ``tau``. Steps
    past ``total_steps`` keep 1.0.
    """
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not 0.0 <= base <= 1.0:
        raise ValueError(f"momentum base must be a number in [0, 1], got {base!r}")
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return 1.0 - half_cosine(step / total_steps) * (1.0 - base)


__all__ = ["cosine_lr", "cosine_momentum", "half_cosine", "warmup_cosine", "warmup_step"]

"""Learning-rate schedules, evaluated per step."""

from __future__ import annotations

import math


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, base_lr: float) -> float:
    """Linear warm-up from 0 to ``base_lr`` over ``warmup_steps``, then half-cosine decay to 0."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if total_steps <= warmup_steps:
        return base_lr
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


def warmup_step(step: int, steps_per_epoch: int, warmup_steps: int, base_lr: float, milestones: tuple[int, ...]) -> float:
    """Linear warm-up, then ``base_lr`` divided by 10 at each milestone epoch (MID-Net's schedule)."""
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    epoch = step // max(steps_per_epoch, 1)
    return base_lr * 0.1 ** sum(epoch >= m for m in milestones)

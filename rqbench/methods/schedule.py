"""Momentum (EMA) schedule and in-place EMA update shared by MoCo v3 and BYOL."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor, nn


def cosine_momentum(step: int, total_steps: int, base: float) -> float:
    """Momentum at ``step`` rising from ``base`` (step 0) to 1.0 (step ``total_steps``) on a half cosine.

    ``m = 1 - (1 + cos(pi * step / total_steps)) * (1 - base) / 2``: MoCo v3's
    ``adjust_moco_momentum`` and BYOL's target decay ``tau``. Steps past
    ``total_steps`` keep 1.0.
    """
    if isinstance(base, bool) or not isinstance(base, (int, float)) or not 0.0 <= base <= 1.0:
        raise ValueError(f"momentum base must be a number in [0, 1], got {base!r}")
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    t = min(step, total_steps) / total_steps
    return 1.0 - (1.0 + math.cos(math.pi * t)) * (1.0 - base) / 2.0


def _params(x: nn.Module | Iterable[Tensor]) -> list[Tensor]:
    return list(x.parameters()) if isinstance(x, nn.Module) else list(x)


@torch.no_grad()
def ema_update(target: nn.Module | Iterable[Tensor], online: nn.Module | Iterable[Tensor], momentum: float) -> None:
    """In place, for each parameter pair: ``p_target = m * p_target + (1 - m) * p_online``.

    Only parameters move; buffers (BatchNorm running statistics) of the target are
    left to its own forward passes, as in MoCo v3.
    """
    tgt, src = _params(target), _params(online)
    if len(tgt) != len(src):
        raise ValueError(f"EMA needs matching parameter lists, got {len(tgt)} target and {len(src)} online parameters")
    for a, b in zip(tgt, src):
        if a.shape != b.shape:
            raise ValueError(f"EMA parameter shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    if not tgt:
        return
    m = float(momentum)
    torch._foreach_mul_(tgt, m)
    torch._foreach_add_(tgt, [b.detach() for b in src], alpha=1.0 - m)

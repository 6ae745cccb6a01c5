"""The in-place EMA update of momentum / target branches (MoCo v3, BYOL); the schedule is in
:mod:`rqbench.schedules`."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn


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

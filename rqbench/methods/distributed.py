"""Process-group helpers for losses whose keys are shared across processes (MoCo v3)."""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


def is_distributed() -> bool:
    """True when ``torch.distributed`` is available and a default process group is initialized."""
    return dist.is_available() and dist.is_initialized()


def rank_and_world_size() -> tuple[int, int]:
    """``(rank, world_size)`` of the default process group, ``(0, 1)`` without one."""
    if not is_distributed():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


@torch.no_grad()
def gather_keys(k: Tensor) -> tuple[Tensor, int]:
    """All processes' keys concatenated in rank order, and this process' rank.

    As MoCo v3's ``concat_all_gather``: an ``all_gather`` under ``no_grad`` (keys are
    constants of the loss), so every process must pass a ``k`` of the same shape (use
    ``drop_last`` in the data loader). Without a process group (or with one process)
    the result is ``(k, 0)``, ``k`` detached.
    """
    rank, world_size = rank_and_world_size()
    if world_size == 1:
        return k.detach(), 0
    k = k.detach().contiguous()
    parts = [torch.empty_like(k) for _ in range(world_size)]
    dist.all_gather(parts, k)
    return torch.cat(parts, dim=0), rank

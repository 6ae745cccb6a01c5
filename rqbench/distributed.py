"""The distributed environment (one process, or many under ``torchrun``) and the collectives the
trainer and the losses use: key gathering (MoCo-v3), global means, state gathering, DDP wrapping."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

from rqbench.errors import InputError


@dataclass(frozen=True)
class DistEnv:
    """Rank, world size and device of this process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Whether this process writes logs, checkpoints and results."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether more than one process takes part."""
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistEnv:
    """Join the process group ``torchrun`` describes (gloo on CPU, nccl on GPU), or run alone.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
    """
    check_device(device)
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    world_size = launched_world_size()
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        timeout = timedelta(seconds=process_group_timeout_s())
        dist.init_process_group("nccl" if use_cuda else "gloo", timeout=timeout)
    return DistEnv(rank, world_size, local_rank, dev)


class DeviceError(ValueError, InputError):
    """An unknown device string, or a GPU asked for where there is none."""


def check_device(device: str | None) -> None:
    """``None``, ``cpu``, ``cuda`` or ``cuda:N`` with that GPU present; else :class:`DeviceError` saying what to try."""
    if device is None or device == "cpu":
        return
    if not re.fullmatch(r"cuda(:\d+)?", device):
        raise DeviceError(
            f"unknown device {device!r}: use cpu, cuda or cuda:N (or leave --device out: CUDA when available)"
        )
    if not torch.cuda.is_available():
        raise DeviceError(
            f"--device {device}: this machine has no CUDA GPU (torch {torch.__version__}); use --device cpu"
        )
    index = int(device.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise DeviceError(f"--device {device}: there are only {torch.cuda.device_count()} GPU(s) (cuda:0..)")


def launched_world_size() -> int:
    """The number of processes ``torchrun`` started (``WORLD_SIZE``; 1 without torchrun), known before joining."""
    return int(os.environ.get("WORLD_SIZE", "1"))


PG_TIMEOUT_ENV = "RQBENCH_PG_TIMEOUT_S"
DEFAULT_PG_TIMEOUT_S = 4 * 3600


def process_group_timeout_s() -> float:
    """Seconds a collective may wait (``$RQBENCH_PG_TIMEOUT_S``, default 4 h): long enough for rank 0's
    probes at ImageNet scale while the other ranks wait at the evaluation's closing barrier."""
    text = os.environ.get(PG_TIMEOUT_ENV, str(DEFAULT_PG_TIMEOUT_S))
    try:
        value = float(text)
    except ValueError:
        raise DeviceError(f"${PG_TIMEOUT_ENV} must be a number of seconds, got {text!r}") from None
    if value <= 0:
        raise DeviceError(f"${PG_TIMEOUT_ENV} must be positive, got {value}")
    return value


def barrier(env: DistEnv) -> None:
    """Wait for every process (no-op alone)."""
    if env.distributed and dist.is_initialized():
        dist.barrier()


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


def global_mean(value: Tensor, env: DistEnv) -> float:
    """The mean of a scalar over all processes (the loss of the whole global batch)."""
    if env.distributed:
        value = value.clone()
        dist.all_reduce(value)
        value /= env.world_size
    return float(value.item())


def gather_objects(env: DistEnv, obj: Any) -> list[Any]:
    """Every rank's ``obj`` in rank order (``[obj]`` alone), e.g. RNG states for a checkpoint."""
    if not env.distributed:
        return [obj]
    out: list[Any] = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def any_rank(flag: bool, env: DistEnv) -> bool:
    """Whether ``flag`` holds on any process (a max all-reduce; ``flag`` itself alone)."""
    if not env.distributed:
        return flag
    value = torch.tensor([float(flag)], device=env.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def broadcast_object(env: DistEnv, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (``obj`` itself alone)."""
    if not env.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap_ddp(module: nn.Module, env: DistEnv) -> nn.Module:
    """``module`` under ``DistributedDataParallel`` when several processes train, else itself."""
    if not env.distributed:
        return module
    return nn.parallel.DistributedDataParallel(
        module, device_ids=[env.device.index] if env.device.type == "cuda" else None
    )


__all__ = [
    "DeviceError",
    "DistEnv",
    "any_rank",
    "barrier",
    "broadcast_object",
    "check_device",
    "gather_keys",
    "gather_objects",
    "global_mean",
    "init_distributed",
    "is_distributed",
    "launched_world_size",
    "process_group_timeout_s",
    "rank_and_world_size",
    "wrap_ddp",
]

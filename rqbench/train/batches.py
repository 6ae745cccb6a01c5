"""The pretraining data order: global batches that depend only on the seed and the epoch, sharded
over processes and served by a ``DataLoader`` in exactly that order (resumable mid-epoch)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, get_worker_info

from rqbench.distributed import DistEnv
from rqbench.settings import SettingError
from rqbench.train.seed import epoch_permutation


def sample_tensor(item: Any) -> Tensor:
    """The input tensor of a dataset item (items may be ``x`` or ``(x, label)``)."""
    x: Tensor = item[0] if isinstance(item, (tuple, list)) else item
    return x


def batch_buffer(shape: Sequence[int], like: Tensor) -> Tensor:
    """An uninitialised contiguous tensor of ``shape`` with ``like``'s dtype and device: in a DataLoader
    worker, in shared memory, so the batch goes to the main process without a copy (as torch's
    ``default_collate`` does, ``torch/utils/data/_utils/collate.py``, ``collate_tensor_fn``)."""
    if get_worker_info() is None:
        return torch.empty(tuple(shape), dtype=like.dtype, device=like.device)
    storage = like._typed_storage()._new_shared(math.prod(shape), device=like.device)
    return like.new(storage).view(tuple(shape))


def stack_inputs(items: list[Any]) -> Tensor:
    """Collate dataset items (``x`` or ``(x, label)``) into a batch of inputs, labels dropped."""
    xs = [sample_tensor(item) for item in items]
    return torch.stack(xs, out=batch_buffer((len(xs), *xs[0].shape), xs[0]))


def stack_views(items: list[Tensor]) -> Tensor:
    """Collate items of ``n`` views each (``(n, ...)``, :class:`~rqbench.drawn.ViewStack`) into a batch
    ``(B, n, ...)`` laid out view by view: ``batch[:, v]`` is contiguous, so each view goes into the
    stages without a copy."""
    n, rest = items[0].shape[0], tuple(items[0].shape[1:])
    out = batch_buffer((n, len(items), *rest), items[0])
    for b, item in enumerate(items):
        out[:, b].copy_(item)
    return out.transpose(0, 1)


def collate(dataset: Dataset[Any], indices: Tensor) -> Tensor:
    """Stack the inputs of ``dataset[indices]`` into a batch."""
    return stack_inputs([dataset[int(i)] for i in indices])


def usable_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def steps_per_epoch(num_samples: int, batch_size: int) -> int:
    """Full global batches per epoch (the last partial batch is dropped, as MoCo-v3)."""
    if num_samples < batch_size:
        raise SettingError(
            f"batch_size = {batch_size}: must be at most the pretraining set's {num_samples} samples "
            f"(the set has fewer than one batch); lower batch_size or use more pretraining data"
        )
    return num_samples // batch_size


def global_batches(
    num_samples: int, batch_size: int, seed: int, start_step: int, total_steps: int
) -> Iterator[tuple[int, int, Tensor]]:
    """``(step, epoch, indices)`` of each global batch from ``start_step`` on."""
    per_epoch = steps_per_epoch(num_samples, batch_size)
    for step in range(start_step, total_steps):
        epoch, within = divmod(step, per_epoch)
        perm = epoch_permutation(num_samples, seed, epoch)
        yield step, epoch, perm[within * batch_size : (within + 1) * batch_size]


def local_batch_size(batch_size: int, env: DistEnv) -> int:
    """This process's share of a global batch (``ValueError`` unless it divides evenly)."""
    if batch_size % env.world_size:
        raise ValueError(f"global batch size {batch_size} is not divisible by {env.world_size} processes")
    return batch_size // env.world_size


def local_shards(schedule: list[tuple[int, int, Tensor]], batch_size: int, env: DistEnv) -> list[list[int]]:
    """This process's dataset indices of every global batch of ``schedule``."""
    local = local_batch_size(batch_size, env)
    return [indices[env.rank * local : (env.rank + 1) * local].tolist() for _, _, indices in schedule]


def batch_loader(
    dataset: Dataset[Any],
    shards: list[list[Any]],
    num_workers: int,
    env: DistEnv,
    collate: Callable[[list[Any]], Tensor] = stack_inputs,
) -> DataLoader[Any]:
    """A ``DataLoader`` serving ``shards`` (lists of dataset keys: indices, or the keys of a
    :class:`~rqbench.drawn.Drawn` dataset) in order, batched by ``collate`` (:func:`stack_views` for
    views made in the workers); the worker count changes speed, never the result."""
    return DataLoader(
        dataset,
        batch_sampler=shards,  # our own order: deterministic, resumable mid-epoch
        num_workers=min(num_workers, usable_cores()),
        collate_fn=collate,
        pin_memory=env.device.type == "cuda",
    )


__all__ = [
    "batch_buffer",
    "batch_loader",
    "collate",
    "global_batches",
    "local_batch_size",
    "local_shards",
    "sample_tensor",
    "stack_inputs",
    "stack_views",
    "steps_per_epoch",
    "usable_cores",
]

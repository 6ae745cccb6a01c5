"""Random per-sample draws keyed by what they are for, so a DataLoader worker makes the same draw
as the main process would: the same whatever the worker count, and again after a resume.

A :class:`Drawn` dataset is indexed by a key ``(*draw_key, i)``: its item is
``make(dataset[i], generator)`` with a generator seeded by the whole key (e.g. ``(seed, stream,
step, i)`` in pretraining, ``(seed, stream, epoch, i)`` in linear classification).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["LINCLS_STREAM", "PRETRAIN_STREAM", "Drawn", "ViewStack", "keyed_generator"]

PRETRAIN_STREAM = 0
"""The stream number of pretraining views: keys ``(seed, PRETRAIN_STREAM, step, i)``."""
LINCLS_STREAM = 1
"""The stream number of the ``lincls`` protocol's training views: keys ``(seed, LINCLS_STREAM, epoch, i)``."""


def keyed_generator(*key: int) -> torch.Generator:
    """A CPU generator seeded by a hash of the integers ``key`` (numpy's ``SeedSequence``: distinct
    keys give independent streams; negative integers are taken modulo 2**64)."""
    if not key:
        raise ValueError("keyed_generator needs at least one integer")
    entropy = [int(k) % 2**64 for k in key]
    seed = int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0])
    return torch.Generator().manual_seed(seed)


class Drawn(Dataset[Any]):
    """``dataset`` seen through a random ``make``: item ``(*draw_key, i)`` is
    ``make(dataset[i], keyed_generator(*draw_key, i))``.

    Args:
        dataset: a map-style dataset.
        make: ``make(item, generator) -> output``; every random number it uses comes from ``generator``.
    """

    def __init__(self, dataset: Dataset[Any], make: Callable[[Any, torch.Generator], Any]) -> None:
        self.dataset = dataset
        self.make = make

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, key: Sequence[int]) -> Any:
        if len(key) < 2:
            raise KeyError(f"a Drawn item is keyed (*draw_key, index), got {key!r}")
        return self.make(self.dataset[int(key[-1])], keyed_generator(*key))


class ViewStack:
    """``n`` views of one item stacked into ``(n, ...)``: view ``v`` is ``make(prepare(item), generator, v)``,
    ``prepare`` run once per item (``None``: the item itself), the views drawn in order from the one generator."""

    def __init__(
        self,
        make: Callable[[Any, torch.Generator, int], Tensor],
        n: int,
        prepare: Callable[[Any], Any] | None = None,
    ) -> None:
        if n < 1:
            raise ValueError(f"a ViewStack needs at least one view, got {n}")
        self.make, self.n, self.prepare = make, n, prepare

    def __call__(self, item: Any, generator: torch.Generator) -> Tensor:
        source = item if self.prepare is None else self.prepare(item)
        return torch.stack([self.make(source, generator, v) for v in range(self.n)])

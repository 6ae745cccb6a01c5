"""Batches of a downstream dataset through the modality's evaluation view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from rqbench.modality import Modality
from rqbench.preset import Preset


def eval_batches(
    dataset: Dataset[Any], modality: Modality, preset: Preset, shuffle: bool = False, seed: int = 0
) -> Iterator[tuple[Any, ...]]:
    """``(modality.eval_view(x), *rest)`` for each batch of ``dataset`` (``preset.eval.batch_size``;
    shuffled by ``seed``).

    ``rest`` is what the dataset yields after the input: ``(label,)`` for classification,
    ``(part labels, category)`` for segmentation.
    """
    gen = torch.Generator().manual_seed(seed)
    for x, *rest in DataLoader(dataset, batch_size=preset.eval.batch_size, shuffle=shuffle, generator=gen):
        yield (modality.eval_view(x, preset), *rest)


__all__ = ["eval_batches"]

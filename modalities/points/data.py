"""Torch views of the cached cloud sets, and the per-preset choice of sets and subsets."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import datasets
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from modalities.points.procedural import CATEGORIES, PART_NAMES, PARTS_OF, load_procedural_parts
from modalities.points.sources import SOURCES


class Clouds(Dataset):
    """Items ``(cloud (N, 7) float32, label)`` of a cached split, or ``(cloud, parts (N,), category)``
    with ``parts=True``; ``indices`` selects a subset in that order."""

    def __init__(self, split: datasets.Dataset, indices: np.ndarray | None = None, parts: bool = False) -> None:
        self.split = split.with_format("numpy")
        self.indices = np.arange(len(split)) if indices is None else np.asarray(indices)
        self.parts = parts
        self._points = np.asarray(self.split["points"], dtype=np.float32)
        self._labels = np.asarray(self.split["label"], dtype=np.int64)
        self._parts = [np.asarray(p, dtype=np.int64) for p in self.split["parts"]] if parts else None

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor, int] | tuple[Tensor, int]:
        j = int(self.indices[i])
        x = torch.from_numpy(self._points[j])
        if self._parts is not None:
            return x, torch.from_numpy(self._parts[j]), int(self._labels[j])
        return x, int(self._labels[j])

    @property
    def labels(self) -> np.ndarray:
        """Labels of the items (classification) or categories (part sets), in item order."""
        return self._labels[self.indices]


def subset(n_total: int, n: int | None, seed: int) -> np.ndarray | None:
    """A seeded sorted subset of ``n`` of ``range(n_total)`` (``None``: all)."""
    if n is None or n >= n_total:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_total, n, replace=False))


@functools.lru_cache(maxsize=8)
def _classification(
    source: str, num_points: int, options: tuple[tuple[str, Any], ...]
) -> tuple[dict[str, datasets.Dataset], list[str]]:
    return SOURCES.get(source)(num_points=num_points, **dict(options))


@functools.lru_cache(maxsize=4)
def _parts(num_points: int, per_category: tuple[int, int], seed: int) -> dict[str, datasets.Dataset]:
    return load_procedural_parts(num_points, per_category, seed=seed)


def classification_splits(data: Mapping[str, Any]) -> tuple[dict[str, datasets.Dataset], list[str]]:
    """The preset's classification source (``data["source"]``, options in ``data["source_options"]``)."""
    options = tuple(sorted(dict(data.get("source_options", {})).items()))
    return _classification(data.get("source", "furniture"), int(data["points"]), options)


def part_splits(data: Mapping[str, Any]) -> dict[str, datasets.Dataset]:
    """The procedural part set of the preset (``data["parts_per_category"]`` = train, test shapes per category)."""
    return _parts(int(data["points"]), tuple(data.get("parts_per_category", (40, 20))), int(data.get("data_seed", 0)))


__all__ = ["CATEGORIES", "PARTS_OF", "PART_NAMES", "Clouds", "classification_splits", "part_splits", "subset"]

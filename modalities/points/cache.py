"""On-disk cache of point-cloud sets as Hugging Face datasets, built once per configuration.

An entry lives under ``cache_root()/points/<name>-<12 hex digits>/`` (the digits hash the
name, :data:`CACHE_FORMAT` and every argument that decides the content) with one
``datasets`` folder per split and ``meta.json``. A build is written into a temporary folder
and moved into place with one ``os.replace``, so a crash never leaves half an entry.

Columns of every split: ``points`` (``Array2D (N, 7)`` float32: xyz, normals, MID-Net segment
id; see :mod:`modalities.points.layout`), ``label`` (int64), ``shape_id`` (str, where it came
from); part-labelled sets add ``parts`` (``Sequence(int64)``, one part label per point).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from rqbench.cache import CACHE_FORMAT, cache_root, entry_name, has_entry, progress_bar, read_entry, write_entry


def entry_dir(name: str, params: Mapping[str, Any], root: str | os.PathLike[str] | None = None) -> Path:
    """Where the entry of ``name`` built with ``params`` lives."""
    return cache_root(root) / "points" / entry_name(name, {"name": name, "format": CACHE_FORMAT, **params})


def features(num_points: int, parts: bool) -> datasets.Features:
    """The ``datasets`` schema of a cloud set."""
    cols: dict[str, Any] = {
        "points": datasets.Array2D(shape=(num_points, 7), dtype="float32"),
        "label": datasets.Value("int64"),
        "shape_id": datasets.Value("string"),
    }
    if parts:
        cols["parts"] = datasets.Sequence(datasets.Value("int64"))
    return datasets.Features(cols)


def load_or_build(
    name: str,
    params: Mapping[str, Any],
    build: Callable[[], tuple[dict[str, dict[str, list[Any]]], dict[str, Any]]],
    num_points: int,
    parts: bool,
    root: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, datasets.Dataset], dict[str, Any]]:
    """The cached splits of ``name`` (and its ``meta``), building them with ``build()`` first if needed.

    ``build`` returns ``({split: {column: values}}, meta)``.
    """
    final = entry_dir(name, params, root)
    if not has_entry(final):
        columns, meta = build()
        schema = features(num_points, parts)
        splits = {split: datasets.Dataset.from_dict(cols, features=schema) for split, cols in columns.items()}
        write_entry(final, splits, {"name": name, "params": dict(params), **meta}, indent=2, sort_keys=True)
    return read_entry(final)


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """A boolean test mask: in each class, ``round(test_fraction * count)`` random members (at least
    one when the class has two or more)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = round(test_fraction * len(members))
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        test[rng.choice(members, k, replace=False)] = True
    return test


__all__ = ["CACHE_FORMAT", "entry_dir", "features", "load_or_build", "progress_bar", "stratified_split"]

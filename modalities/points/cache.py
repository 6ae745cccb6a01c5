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

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from rqbench.cache import cache_root, progress_bar, quiet_datasets_progress

CACHE_FORMAT = 1


def entry_dir(name: str, params: Mapping[str, Any], root: str | os.PathLike[str] | None = None) -> Path:
    """Where the entry of ``name`` built with ``params`` lives."""
    blob = json.dumps({"name": name, "format": CACHE_FORMAT, **params}, sort_keys=True, default=str)
    return cache_root(root) / "points" / f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


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
    if not (final / "meta.json").exists():
        columns, meta = build()
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
        try:
            with quiet_datasets_progress():
                for split, cols in columns.items():
                    datasets.Dataset.from_dict(cols, features=features(num_points, parts)).save_to_disk(str(tmp / split))
            (tmp / "meta.json").write_text(json.dumps({"name": name, "params": dict(params), **meta}, indent=2, sort_keys=True, default=str))
            try:
                os.replace(tmp, final)
            except OSError:  # a concurrent build won the race: keep theirs
                pass
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    meta = json.loads((final / "meta.json").read_text())
    with quiet_datasets_progress():
        splits = {s: datasets.load_from_disk(str(final / s)) for s in meta["splits"]}
    return splits, meta


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """A boolean test mask: in each class, ``round(test_fraction * count)`` random members (at least
    one when the class has two or more)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        k = int(round(test_fraction * len(members)))
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        test[rng.choice(members, k, replace=False)] = True
    return test


__all__ = ["CACHE_FORMAT", "entry_dir", "features", "load_or_build", "progress_bar", "stratified_split"]

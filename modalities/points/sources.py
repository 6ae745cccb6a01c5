"""Shape sources by name: the offline furniture set, and the paper's datasets for users with internet.

``furniture`` (default) reads Debian ``sweethome3d-furniture``. ``modelnet40``, ``shapenet`` and
``shapenet_part`` read the official releases from a local folder (``root=`` or
``$RQBENCH_DATA/<name>``) and fail with a message saying where to download them. All return
``({"train", "test"}, class names)`` of cached clouds in the layout of :mod:`modalities.points.cache`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from modalities.points.cache import load_or_build, progress_bar
from modalities.points.clouds import farthest_point_segments, normalize_unit_sphere, resample
from modalities.points.furniture import DataUnavailableError, load_furniture
from modalities.points.meshes import load_mesh, sample_cloud
from rqbench.registry import Registry

SOURCES: Registry[Callable[..., tuple[dict[str, datasets.Dataset], list[str]]]] = Registry("point-cloud source")
SOURCES.register("furniture")(load_furniture)

DOWNLOADS = {
    "modelnet40": ("ModelNet40/<class>/{train,test}/*.off", "https://modelnet.cs.princeton.edu/ (ModelNet40.zip)"),
    "shapenet": (
        "<synset>/<model>/models/model_normalized.obj",
        "https://shapenet.org/ (ShapeNetCore.v2, registration needed)",
    ),
    "shapenet_part": (
        "shapenetcore_partanno_segmentation_benchmark_v0_normal/<synset>/*.txt and train_test_split/",
        "https://shapenet.cs.stanford.edu/media/shapenetcore_partanno_segmentation_benchmark_v0_normal.zip",
    ),
}


def data_root(name: str, root: str | os.PathLike[str] | None) -> Path:
    """The folder of dataset ``name``: ``root``, else ``$RQBENCH_DATA/<name>``; a clear error if absent."""
    base = Path(root) if root is not None else Path(os.environ.get("RQBENCH_DATA", Path.home() / "data")) / name
    if not base.is_dir():
        layout, url = DOWNLOADS[name]
        raise DataUnavailableError(
            f"{name} is not on this machine (looked in {base}). Download it from {url}, unpack it so that "
            f"{base}/{layout} exists (or pass root=... / set RQBENCH_DATA), then rerun. Offline, use the default "
            f"source 'furniture' (Debian sweethome3d-furniture)."
        )
    return base


def _mesh_set(
    name: str,
    files: dict[str, list[tuple[Path, str]]],
    num_points: int,
    segments: int,
    seed: int,
    progress: bool,
    root: Path,
) -> tuple[dict[str, datasets.Dataset], list[str]]:
    classes = sorted({c for items in files.values() for _, c in items})
    params = dict(
        root=str(root), num_points=num_points, segments=segments, seed=seed, count={k: len(v) for k, v in files.items()}
    )

    def build() -> tuple[dict[str, dict[str, list[Any]]], dict[str, Any]]:
        cols = {}
        total = sum(len(v) for v in files.values())
        with progress_bar(f"{name} meshes", total, progress) as advance:
            for split, items in files.items():
                rows: dict[str, list[Any]] = {"points": [], "label": [], "shape_id": []}
                for i, (path, cls) in enumerate(items):
                    cloud = sample_cloud(load_mesh(path), num_points, seed * 100_003 + i, str(path))
                    seg = farthest_point_segments(cloud[:, :3], segments).astype(np.float32)[:, None]
                    rows["points"].append(np.concatenate([cloud, seg], axis=1))
                    rows["label"].append(classes.index(cls))
                    rows["shape_id"].append(str(path.relative_to(root)))
                    advance()
                cols[split] = rows
        return cols, {"splits": list(files), "classes": classes}

    splits, meta = load_or_build(name, params, build, num_points, parts=False)
    return splits, meta["classes"]


@SOURCES.register("modelnet40")
def load_modelnet40(
    num_points: int = 1024, *, root: str | None = None, segments: int = 100, seed: int = 0, progress: bool = True
) -> tuple[dict[str, datasets.Dataset], list[str]]:
    """ModelNet40 (Wu et al. 2015): the official OFF meshes, sampled to clouds (train / test as released)."""
    base = data_root("modelnet40", root)
    files = {s: [(p, p.parent.parent.name) for p in sorted(base.glob(f"*/{s}/*.off"))] for s in ("train", "test")}
    if not files["train"]:
        raise DataUnavailableError(f"no ModelNet40 meshes under {base}/<class>/train/*.off")
    return _mesh_set("modelnet40", files, num_points, segments, seed, progress, base)


@SOURCES.register("shapenet")
def load_shapenet(
    num_points: int = 1024, *, root: str | None = None, segments: int = 100, seed: int = 0, progress: bool = True
) -> tuple[dict[str, datasets.Dataset], list[str]]:
    """ShapeNetCore v2 (57,449 shapes in the paper's pretraining): every model as a training cloud,
    labelled by synset."""
    base = data_root("shapenet", root)
    files = {"train": [(p, p.parent.parent.parent.name) for p in sorted(base.glob("*/*/models/model_normalized.obj"))]}
    if not files["train"]:
        raise DataUnavailableError(f"no ShapeNetCore models under {base}/<synset>/<model>/models/model_normalized.obj")
    return _mesh_set("shapenet", files, num_points, segments, seed, progress, base)


def load_shapenet_part(
    num_points: int = 2048, *, root: str | None = None, segments: int = 100, seed: int = 0, progress: bool = True
) -> tuple[dict[str, datasets.Dataset], list[str]]:
    """ShapeNet-Part (Yi et al. 2016, 16,881 shapes, 16 categories, 50 parts): ``x y z nx ny nz part`` text files
    and the official ``train_test_split/shuffled_{train,test}_file_list.json``. Columns as the procedural set."""
    base = data_root("shapenet_part", root)
    split_dir = base / "train_test_split"
    if not split_dir.is_dir():
        raise DataUnavailableError(f"ShapeNet-Part at {base} lacks train_test_split/; unpack the full archive")
    synsets = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name != "train_test_split")
    params = dict(root=str(base), num_points=num_points, segments=segments, seed=seed)

    def build() -> tuple[dict[str, dict[str, list[Any]]], dict[str, Any]]:
        cols = {}
        rng = np.random.default_rng(seed)
        for split in ("train", "test"):
            names = json.loads((split_dir / f"shuffled_{split}_file_list.json").read_text())
            rows: dict[str, list[Any]] = {"points": [], "label": [], "shape_id": [], "parts": []}
            with progress_bar(f"shapenet_part {split}", len(names), progress) as advance:
                for item in names:
                    _, synset, model = item.split("/")
                    path = base / synset / f"{model}.txt"
                    data = np.loadtxt(path, dtype=np.float32)
                    cloud = (
                        resample(data[:, :7], num_points, rng, str(path)) if len(data) != num_points else data[:, :7]
                    )
                    xyz = normalize_unit_sphere(cloud[:, :3])
                    seg = farthest_point_segments(xyz, segments).astype(np.float32)[:, None]
                    rows["points"].append(np.concatenate([xyz, cloud[:, 3:6], seg], axis=1).astype(np.float32))
                    rows["label"].append(synsets.index(synset))
                    rows["shape_id"].append(item)
                    rows["parts"].append(cloud[:, 6].astype(np.int64))
                    advance()
            cols[split] = rows
        return cols, {"splits": ["train", "test"], "classes": synsets}

    splits, meta = load_or_build("shapenet_part", params, build, num_points, parts=True)
    return splits, meta["classes"]


__all__ = ["DOWNLOADS", "SOURCES", "data_root", "load_modelnet40", "load_shapenet", "load_shapenet_part"]

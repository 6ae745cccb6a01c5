"""The offline shape-classification set: Sweet Home 3D furniture meshes (Debian ``sweethome3d-furniture``).

Five zip catalogs ``/usr/share/sweethome3d/furniture/*.sh3f``; each one's
``PluginFurnitureCatalog.properties`` gives ``name#i``, ``category#i`` and ``model#i`` (an OBJ
inside the zip). Each mesh is read with open3d, normalized into the unit sphere and sampled to
``N`` points with normals; each cloud's points are pre-clustered into MID-Net segments.

Label sets: ``category`` (the catalog's categories with at least ``min_count`` models) and
``name`` (finer: model names shared by at least ``min_count`` models). Train / test is a
seeded stratified split. Meshes that fail to load are skipped and listed in ``meta.json``.
"""

from __future__ import annotations

import codecs
import os
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from modalities.points.cache import load_or_build, progress_bar, stratified_split
from modalities.points.clouds import farthest_point_segments
from modalities.points.meshes import MeshLoadError, load_zipped_mesh, sample_cloud
from rqbench.errors import InputError

CATALOG_DIR = Path("/usr/share/sweethome3d/furniture")
DEBIAN_PACKAGE = "sweethome3d-furniture"
LABEL_SETS = ("category", "name")


class DataUnavailableError(RuntimeError, InputError):
    """Data or a tool is missing; the message says exactly how to get it."""


@dataclass(frozen=True)
class CatalogEntry:
    """One furniture model of a catalog."""

    archive: str
    model: str
    name: str
    category: str

    @property
    def shape_id(self) -> str:
        return f"{Path(self.archive).stem}:{self.model}"


def parse_properties(text: str) -> dict[str, str]:
    """``key=value`` lines of a Java properties file (``#`` comments, ``\\uXXXX`` escapes)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = codecs.decode(value.strip().encode("latin-1", "backslashreplace"), "unicode_escape")
    return out


def read_catalogs(directory: str | os.PathLike[str] = CATALOG_DIR) -> list[CatalogEntry]:
    """Every model of every ``*.sh3f`` catalog in ``directory``, sorted by shape id."""
    import zipfile

    directory = Path(directory)
    archives = sorted(directory.glob("*.sh3f")) if directory.is_dir() else []
    if not archives:
        raise DataUnavailableError(
            f"no Sweet Home 3D furniture catalogs (*.sh3f) in {directory}. Install them with: "
            f"sudo apt-get install -y --no-install-recommends {DEBIAN_PACKAGE}"
        )
    entries = []
    for archive in archives:
        with zipfile.ZipFile(archive) as z:
            props = parse_properties(z.read("PluginFurnitureCatalog.properties").decode("latin-1"))
        for key, model in props.items():
            if key.startswith("model#"):
                i = key.split("#", 1)[1]
                entries.append(
                    CatalogEntry(str(archive), model, props.get(f"name#{i}", "?"), props.get(f"category#{i}", "?"))
                )
    return sorted(entries, key=lambda e: e.shape_id)


def label_names(entries: list[CatalogEntry], label_set: str, min_count: int) -> list[str]:
    """The classes of ``label_set`` with at least ``min_count`` models, sorted."""
    if label_set not in LABEL_SETS:
        raise ValueError(f"unknown label set {label_set!r}; choose one of {', '.join(LABEL_SETS)}")
    counts = Counter(getattr(e, label_set) for e in entries)
    return sorted(c for c, n in counts.items() if n >= min_count)


def load_furniture(
    num_points: int = 1024,
    label_set: str = "category",
    *,
    min_count: int = 10,
    test_fraction: float = 0.2,
    segments: int = 100,
    limit: int | None = None,
    seed: int = 0,
    catalog_dir: str | os.PathLike[str] = CATALOG_DIR,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> tuple[dict[str, datasets.Dataset], list[str]]:
    """``({"train", "test"}, class names)`` of the furniture clouds, cached as HF datasets.

    Args:
        num_points: points per cloud.
        label_set: ``"category"`` or ``"name"``.
        min_count: classes with fewer models are dropped.
        test_fraction: stratified test share per class.
        segments: MID-Net segments per cloud.
        limit: keep only the first ``limit`` models of the kept classes (sorted by id; for tests).
        seed: seed of the point sampling and of the split.
    """
    entries = read_catalogs(catalog_dir)
    classes = label_names(entries, label_set, min_count)
    kept = [e for e in entries if getattr(e, label_set) in classes][:limit]
    params: dict[str, Any] = dict(
        num_points=num_points,
        label_set=label_set,
        min_count=min_count,
        test_fraction=test_fraction,
        segments=segments,
        limit=limit,
        seed=seed,
        models=len(entries),
        catalogs=sorted(
            (Path(e.archive).name, os.path.getsize(e.archive)) for e in {e.archive: e for e in entries}.values()
        ),
    )

    def build() -> tuple[dict[str, dict[str, list[Any]]], dict[str, Any]]:
        rows: list[tuple[np.ndarray, int, str]] = []
        failed = []
        with progress_bar(f"furniture meshes -> {num_points} points", len(kept), progress) as advance:
            for i, e in enumerate(kept):
                try:
                    cloud = sample_cloud(
                        load_zipped_mesh(e.archive, e.model), num_points, seed * 100_003 + i, e.shape_id
                    )
                except MeshLoadError as exc:
                    failed.append(str(exc))
                    warnings.warn(f"skipping a furniture model: {exc}", stacklevel=2)
                    advance()
                    continue
                seg = farthest_point_segments(cloud[:, :3], segments).astype(np.float32)[:, None]
                rows.append((np.concatenate([cloud, seg], axis=1), classes.index(getattr(e, label_set)), e.shape_id))
                advance()
        if not rows:
            raise DataUnavailableError(f"none of the {len(kept)} furniture meshes could be loaded: {failed[:3]}")
        labels = np.array([r[1] for r in rows])
        test = stratified_split(labels, test_fraction, seed)
        cols: dict[str, dict[str, list[Any]]] = {}
        for split, mask in (("train", ~test), ("test", test)):
            chosen = [r for r, m in zip(rows, mask) if m]
            cols[split] = {
                "points": [r[0] for r in chosen],
                "label": [r[1] for r in chosen],
                "shape_id": [r[2] for r in chosen],
            }
        return cols, {"splits": ["train", "test"], "classes": classes, "failed": failed}

    splits, meta = load_or_build(f"furniture-{label_set}", params, build, num_points, parts=False, root=cache_dir)
    return splits, meta["classes"]


__all__ = [
    "CATALOG_DIR",
    "LABEL_SETS",
    "CatalogEntry",
    "DataUnavailableError",
    "label_names",
    "load_furniture",
    "parse_properties",
    "read_catalogs",
]

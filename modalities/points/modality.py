"""The points modality: clouds, MID-Net views, the octree backbone and presets wired into rqbench.

Offline (``quick``): pretraining on Sweet Home 3D furniture clouds (training split), shape
classification on the furniture categories, part segmentation on the *procedural* part set.
``paper``: ShapeNet pretraining, ModelNet40 and ShapeNet-Part (need the downloads, see
:mod:`modalities.points.sources`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

import modalities.points.midnet
import modalities.points.views  # noqa: F401  (registers the "pts_base" view)
from modalities.points.backbone import OctreeUNet
from modalities.points.data import Clouds, classification_splits, part_splits, subset
from modalities.points.layout import LAYOUT
from modalities.points.presets import PRESETS
from modalities.points.procedural import PART_NAMES, PARTS_OF
from modalities.points.show import cloud_grid
from modalities.points.sources import load_shapenet_part
from rqbench.modality import MODALITIES, Modality, Task
from rqbench.preset import Preset
from rqbench.registry import Registry

BACKBONES: Registry[Callable[..., nn.Module]] = Registry("points backbone")
BACKBONES.register("octree-unet")(OctreeUNet)

TASKS: Registry[Callable[[Preset], Task]] = Registry("points task")


def _classification_task(name: str, source: str, **options: object) -> Callable[[Preset], Task]:
    def build(preset: Preset) -> Task:
        data = dict(preset.data)
        splits, classes = classification_splits(
            {**data, "source": source, "source_options": {**data.get("source_options", {}), **options}}
        )
        train = Clouds(splits["train"], subset(len(splits["train"]), data.get("eval_train_samples"), seed=1))
        return Task(name, train, Clouds(splits["test"]), len(classes))

    return build


TASKS.register("furniture")(_classification_task("furniture", "furniture", label_set="category"))
TASKS.register("furniture_names")(_classification_task("furniture_names", "furniture", label_set="name", min_count=5))
TASKS.register("modelnet40")(_classification_task("modelnet40", "modelnet40"))


@TASKS.register("procedural_parts")
def procedural_parts_task(preset: Preset) -> Task:
    """Part segmentation on the procedural primitive shapes (called procedural wherever reported)."""
    splits = part_splits(preset.data)
    return Task(
        "procedural_parts",
        Clouds(splits["train"], parts=True),
        Clouds(splits["test"], parts=True),
        len(PART_NAMES),
        kind="segmentation",
        parts_of=PARTS_OF,
    )


@TASKS.register("shapenet_part")
def shapenet_part_task(preset: Preset) -> Task:
    """ShapeNet-Part (needs the download); parts of a category are the labels seen with it in training."""
    splits, _ = load_shapenet_part(int(preset.data["points"]))
    train = Clouds(splits["train"], parts=True)
    parts_of: dict[int, set[int]] = {}
    for i in range(len(train)):
        _, parts, cat = cast("tuple[Tensor, Tensor, int]", train[i])  # items of a parts=True split
        parts_of.setdefault(cat, set()).update(parts.unique().tolist())
    return Task(
        "shapenet_part",
        train,
        Clouds(splits["test"], parts=True),
        50,
        kind="segmentation",
        parts_of={c: tuple(sorted(p)) for c, p in parts_of.items()},
    )


@MODALITIES.register("points")
class PointClouds(Modality):
    """3-D point clouds ``(B, N, 7)`` (xyz, normals, MID-Net segment id); RQ on xyz before the octree."""

    name = "points"
    debian_packages = ("sweethome3d-furniture", "libusb-1.0-0")  # libusb: open3d's shared library needs it
    layout = LAYOUT
    presets = PRESETS
    show_specs = ("pts_base", "pts_base+rq(bins=10)", "pts_base+rq(bins=30)")

    def pretrain_dataset(self, preset: Preset) -> Dataset:
        splits, _ = classification_splits(preset.data)
        train = splits["train"]
        return Clouds(train, subset(len(train), preset.data.get("pretrain_samples"), seed=0))

    def tasks(self, preset: Preset) -> list[Task]:
        return [TASKS.get(name)(preset) for name in preset.data.get("tasks", ("furniture", "procedural_parts"))]

    def backbone_component(self, preset: Preset) -> object | None:
        return BACKBONES.get(preset.backbone["name"])

    def backbone(self, preset: Preset) -> tuple[nn.Module, int]:
        options = dict(preset.backbone)
        net = BACKBONES.get(options.pop("name"))(**options)
        return net, int(cast(int, net.feature_dim))

    def show(self, preset: Preset, specs: list[str], n: int, path: Path, seed: int = 0) -> Path:
        """``n`` test clouds and one row per augmentation spec (base view, then the channel stage)."""
        splits, _ = classification_splits(preset.data)
        test = Clouds(splits["test"])
        chosen = subset(len(test), n, seed)
        idx = chosen if chosen is not None else range(len(test))
        x = torch.stack([test[int(i)][0] for i in idx])
        generator = torch.Generator().manual_seed(seed)
        rows: list[tuple[str, Tensor]] = []
        for spec in specs:
            pipeline = self.pipeline(spec, generator)
            rows.append((str(pipeline.spec), pipeline.views(x, 1).queries[0]))
        return cloud_grid(x, rows, path)


__all__ = ["BACKBONES", "TASKS", "PointClouds"]

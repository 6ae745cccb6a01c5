"""The images modality: datasets, views, backbone and presets wired into rqbench's interface."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from modalities.images.backbones import BACKBONES
from modalities.images.data import ImageSplits, TorchImages, load_images, subset_indices
from modalities.images.loader_crops import CentreView, Decoded, LabelledView, RandomView, split_views
from modalities.images.originals import EncodedImages, EncodedSplits, load_originals
from modalities.images.presets import PRESETS
from modalities.images.show import view_grid
from modalities.images.views import CenterCrop
from rqbench.augment.base import ChannelLayout
from rqbench.drawn import Drawn
from rqbench.modality import MODALITIES, LoaderViews, Modality, Task
from rqbench.preset import Preset


@functools.lru_cache(maxsize=4)
def _splits(source: str, size: int | None, root: str | None, extra: tuple[tuple[str, Any], ...]) -> ImageSplits:
    return load_images(source, root=root, size=size, **dict(extra))


@functools.lru_cache(maxsize=4)
def _originals(source: str, root: str | None, extra: tuple[tuple[str, Any], ...]) -> EncodedSplits:
    return load_originals(source, root=root, **dict(extra))


def _source_options(preset: Preset) -> tuple[str, int | None, str | None, tuple[tuple[str, Any], ...]]:
    data = dict(preset.data)
    source, size, root = data.pop("source"), data.pop("size", None), data.pop("root", None)
    for key in ("pretrain_samples", "eval_train_samples", "eval_test_samples", "originals"):
        data.pop(key, None)
    return source, size, root, tuple(sorted(data.items()))


def splits_for(preset: Preset) -> ImageSplits:
    """The preset's image source, loaded once per process (from the on-disk cache after the first time)."""
    source, size, root, extra = _source_options(preset)
    return _splits(source, size, root, extra)


def keeps_originals(preset: Preset) -> bool:
    """Whether ``preset`` keeps the original images (``data.originals``) and cuts its views from them."""
    originals = preset.data.get("originals", False)
    if not isinstance(originals, bool):
        raise ValueError(f"data.originals must be true or false, got {originals!r}")
    if originals and not isinstance(preset.data.get("size"), int):
        raise ValueError("data.originals = true needs data.size (the side of the views cut from the originals)")
    return originals


def originals_for(preset: Preset) -> EncodedSplits:
    """The preset's image source as encoded originals (``data.originals = true``), loaded once per process."""
    source, _, root, extra = _source_options(preset)
    return _originals(source, root, extra)


def _limit(split: Any, n: int | None, seed: int) -> Tensor | None:
    if n is None or n >= len(split):
        return None
    return subset_indices(split, n, seed)


class Normalized(nn.Module):
    """A backbone behind per-channel standardization (statistics of the training images)."""

    mean: Tensor
    std: Tensor

    def __init__(self, backbone: nn.Module, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.backbone = backbone
        self.register_buffer("mean", mean.view(1, -1, 1, 1))
        self.register_buffer("std", std.view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone((x - self.mean) / self.std)


@MODALITIES.register("images")
class Images(Modality):
    """Images: Fashion-MNIST offline (MNIST, image folders, CIFAR and ImageNet through HF), RQ on RGB/gray channels."""

    name = "images"
    show_specs = ("rq(bins=2)", "rq(bins=5)", "rq(bins=8)", "rq(bins=15)", "cj(p=1.0)")
    debian_packages = ("dataset-fashion-mnist",)
    layout = ChannelLayout(channel_dim=1, batch_dims=1)
    presets = PRESETS

    def pretrain_dataset(self, preset: Preset) -> Dataset:
        """Float images ``(C, S, S)`` of the pixel cache; with ``data.originals``, ``(encoded bytes, label)``
        items whose views the data loader cuts (:meth:`loader_views`)."""
        if keeps_originals(preset):
            encoded = originals_for(preset)
            return EncodedImages(encoded.train, _limit(encoded.train, preset.data.get("pretrain_samples"), seed=0))
        splits = splits_for(preset)
        return TorchImages(splits.train, _limit(splits.train, preset.data.get("pretrain_samples"), seed=0))

    def loader_views(self, preset: Preset, view: nn.Sequential) -> LoaderViews | None:
        """With ``data.originals``: every view's crop is cut from the whole image in the DataLoader
        workers (:func:`~modalities.images.loader_crops.split_views`); otherwise none."""
        if not keeps_originals(preset):
            return None
        return split_views(view, int(preset.data["size"]), originals_for(preset).channels)

    def tasks(self, preset: Preset) -> list[Task]:
        if keeps_originals(preset):
            return [self._originals_task(preset)]
        splits = splits_for(preset)
        train = TorchImages(splits.train, _limit(splits.train, preset.data.get("eval_train_samples"), seed=1))
        test = TorchImages(splits.test, _limit(splits.test, preset.data.get("eval_test_samples"), seed=2))
        return [Task(splits.name, train, test, splits.num_classes)]

    @staticmethod
    def _originals_task(preset: Preset) -> Task:
        """Evaluation on originals: MoCo-v3's validation view (Resize, CenterCrop) for features and
        tests, its RandomResizedCrop + flip for the ``lincls`` protocol's training views."""
        encoded = originals_for(preset)
        side = (int(preset.data["size"]),) * 2
        train = EncodedImages(encoded.train, _limit(encoded.train, preset.data.get("eval_train_samples"), seed=1))
        test = EncodedImages(encoded.test, _limit(encoded.test, preset.data.get("eval_test_samples"), seed=2))
        centre = CentreView(side, encoded.channels)
        return Task(
            encoded.name,
            Decoded(train, centre),
            Decoded(test, centre),
            encoded.num_classes,
            train_views=Drawn(train, LabelledView(RandomView(side, encoded.channels))),
        )

    def backbone_component(self, preset: Preset) -> object | None:
        return BACKBONES.get(preset.backbone["name"])

    def backbone(self, preset: Preset) -> tuple[nn.Module, int]:
        options = dict(preset.backbone)
        if keeps_originals(preset):
            encoded = originals_for(preset)
            channels = encoded.channels
            sample: Dataset = Decoded(
                EncodedImages(encoded.train, _limit(encoded.train, 2000, seed=3)),
                CentreView((int(preset.data["size"]),) * 2, channels),
            )
        else:
            splits = splits_for(preset)
            channels = splits.channels
            sample = TorchImages(splits.train, _limit(splits.train, 2000, seed=3))
        net, dim = BACKBONES.get(options.pop("name"))(channels, **options)
        mean, std = self._statistics(sample)
        return Normalized(net, mean, std), dim

    @staticmethod
    def _statistics(sample: Dataset) -> tuple[Tensor, Tensor]:
        """Per-channel mean and standard deviation of a sample of training images (views of them with originals)."""
        x = torch.stack([sample[i][0] for i in range(len(sample))])  # type: ignore[arg-type]
        return x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)).clamp_min(1e-3)

    def show(self, preset: Preset, specs: list[str], n: int, path: Path, seed: int = 0) -> Path:
        """``n`` test images (one per class first) and one row of augmented views per spec."""
        splits = splits_for(preset)
        chosen = subset_indices(splits.test, n, seed)[:n]
        images = TorchImages(splits.test, chosen)
        x = torch.stack([images[i][0] for i in range(len(images))])
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        rows = []
        for spec in specs:
            pipeline = self.pipeline(spec, generator)
            rows.append((str(pipeline.spec), pipeline.views(x, 1).queries[0].clamp(0, 1)))
        return view_grid(x, rows, path)

    def eval_view(self, batch: Tensor, preset: Preset) -> Tensor:
        size = preset.data.get("size")
        return CenterCrop(size)(batch) if size is not None and size != batch.shape[-1] else batch

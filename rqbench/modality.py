"""The modality interface and registry: modalities are plugins the core never imports by name.

A modality registers itself with ``@MODALITIES.register("name")`` in a module named by the
``rqbench.modalities`` entry-point group (rqbench's own live in ``modalities/``). It tells the
trainer its datasets, where the generic augmentation applies (its channel layout), in which
order its view and channel stages run, its backbone and its presets.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from rqbench.augment.base import ChannelLayout, Stage
from rqbench.augment.spec import DEFAULT_STAGE_ORDER, AugmentationPipeline, build_pipeline
from rqbench.preset import Preset
from rqbench.registry import Registry


@dataclass(frozen=True)
class Task:
    """A labelled downstream task: ``train``/``test`` yield ``(x, label)`` pairs.

    Args:
        name: the dataset name written in result rows.
        train, test: map-style datasets of ``(input, int label)``; for a segmentation task,
            ``(input, part labels, category)`` triples (``(N,)`` int64 labels, one per point).
        num_classes: number of classes (segmentation: number of part labels over all categories).
        metric: the linear probe's metric (:data:`~rqbench.evaluate.metrics.SCORE_METRICS`:
            ``top1``, ``auroc``); kNN and fine-tuning rows are ``top1``; segmentation writes
            ``c_miou`` and ``i_miou``.
        kind: ``"classification"`` or ``"segmentation"``; it decides which of the preset's
            protocols run on the task. A segmentation task needs an encoder with
            ``point_features(x) -> (B, N, D)`` and an int ``point_feature_dim``.
        parts_of: segmentation: the part labels of each category (ShapeNet-Part convention).
        train_views: the training set with random training views (MoCo-v3's RandomResizedCrop + flip
            for images), a :class:`~rqbench.drawn.Drawn` dataset indexed by ``(seed, stream, epoch, i)``
            and yielding ``(view, label)``; the ``lincls`` protocol trains on it. ``None``: the modality
            has none (``lincls`` then refuses the task).
    """

    name: str
    train: Dataset[Any]
    test: Dataset[Any]
    num_classes: int
    metric: str = "top1"
    kind: str = "classification"
    parts_of: Mapping[int, tuple[int, ...]] | None = None
    train_views: Dataset[Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise ValueError(f"task {self.name!r}: unknown kind {self.kind!r}; kinds: {', '.join(TASK_KINDS)}")
        if self.kind == "segmentation" and not self.parts_of:
            raise ValueError(f"segmentation task {self.name!r} needs parts_of (the part labels of each category)")


TASK_KINDS = ("classification", "segmentation")


@dataclass(frozen=True)
class LoaderViews:
    """The start of every pretraining view, made per sample in the DataLoader workers from the whole sample
    (e.g. decode a full-size image and cut its RandomResizedCrop), the rest of the views in the training loop.

    Args:
        make: ``make(item, generator, index)``: view ``index`` of one pretraining item (a dataset
            item), a tensor of the same shape for every item; every random number from ``generator``.
        rest: the VIEW-stage augmentations still run in the training loop, on the made views.
        prepare: run once per item before its views, its output handed to ``make`` in place of the
            item (e.g. decode an image once for both views); ``None``: ``make`` gets the item.
        finish: run by the training loop on each batch of made views where it arrives (on the
            device), before the stages: e.g. ``uint8`` pixels to floats in ``[0, 1]``, so the workers
            send a quarter of the bytes and the device does the conversion; ``None``: the views as made.
    """

    make: Callable[[Any, torch.Generator, int], Tensor]
    rest: nn.Sequential
    prepare: Callable[[Any], Any] | None = None
    finish: Callable[[Tensor], Tensor] | None = None

    def start(self, batch: Tensor) -> Tensor:
        """A batch of made views (``(B, n_views, ...)``) as the stages take it: ``finish(batch)``, or ``batch``."""
        return batch if self.finish is None else self.finish(batch)


class Modality(ABC):
    """A kind of data the harness can pretrain and evaluate on.

    Subclasses set ``name``, ``layout`` (the channel axis of a batch at the channel
    stage), ``presets`` and, when their stages run in another order, ``stage_order``, and
    implement the data and backbone factories.
    """

    name: ClassVar[str]
    layout: ClassVar[ChannelLayout] = ChannelLayout()
    presets: ClassVar[Mapping[str, Preset]]
    stage_order: ClassVar[tuple[Stage, ...]] = DEFAULT_STAGE_ORDER
    """The order in which a spec's VIEW and CHANNEL stages run (the mixing step is always last)."""
    show_specs: ClassVar[tuple[str, ...]] = ("rq(bins=2)", "rq(bins=5)", "rq(bins=8)", "rq(bins=15)")
    """The specs ``rqbench show`` draws when none is given."""
    version: ClassVar[int] = 1
    """Bump it when the modality's data or views change results: runs keyed with the old version are not reused."""
    debian_packages: ClassVar[tuple[str, ...]] = ()
    """Debian packages holding this modality's offline data or libraries (``rqbench doctor`` checks them)."""

    def preset(self, name: str) -> Preset:
        """The preset called ``name``; an unknown one is a ``ValueError`` listing the presets."""
        try:
            return self.presets[name]
        except KeyError:
            raise ValueError(
                f"modality {self.name!r} has no preset {name!r}; presets: {', '.join(sorted(self.presets))}"
            ) from None

    @abstractmethod
    def pretrain_dataset(self, preset: Preset) -> Dataset[Any]:
        """Unlabelled pretraining samples (each item a tensor, or ``(tensor, label)`` whose label is ignored)."""

    @abstractmethod
    def tasks(self, preset: Preset) -> list[Task]:
        """Downstream tasks the encoder is evaluated on."""

    @abstractmethod
    def backbone(self, preset: Preset) -> tuple[nn.Module, int]:
        """A fresh backbone mapping a channel-stage batch to ``(B, feature_dim)``, and ``feature_dim``."""

    def pipeline(
        self, spec: str, generator: torch.Generator | None = None, order: tuple[Stage, ...] | None = None
    ) -> AugmentationPipeline:
        """``spec`` built for this modality: its name (modality-specific terms), layout, and
        ``order`` (default: its :attr:`stage_order`; a run passes its config's order)."""
        return build_pipeline(
            spec, layout=self.layout, modality=self.name, generator=generator, order=order or self.stage_order
        )

    def backbone_component(self, preset: Preset) -> object | None:
        """The registered backbone class or factory ``preset`` builds (its ``version`` joins the run key), if any."""
        return None

    def show(self, preset: Preset, specs: list[str], n: int, path: Path, seed: int = 0) -> Path:
        """Write a picture of ``n`` real samples and one row per augmentation spec to ``path``."""
        raise NotImplementedError(f"modality {self.name!r} does not draw pictures of its views")

    def loader_views(self, preset: Preset, view: nn.Sequential) -> LoaderViews | None:
        """Where the DataLoader workers begin the views of ``preset``'s pretraining items, given the
        spec's VIEW stage ``view``; ``None`` (default): the dataset's items are batched as they are and
        every view augmentation runs in the training loop."""
        return None

    def eval_view(self, batch: Tensor, preset: Preset) -> Tensor:
        """The deterministic view used for evaluation (e.g. a centre crop); identity by default."""
        return batch


MODALITIES: Registry[type[Modality]] = Registry("modality", group="rqbench.modalities")

__all__ = ["MODALITIES", "TASK_KINDS", "LoaderViews", "Modality", "Task"]

"""Part-segmentation protocols on per-point features: a two-layer probe and end-to-end fine-tuning.

As the paper's Table 7 (and O-CNN's segmentation header): the head is two fully connected
layers applied to every point, ``Linear(D, h) - BatchNorm - ReLU - Linear(h, P)``, trained with
per-point cross-entropy over all ``P`` part labels. A shape's prediction is the arg-max over its
category's parts only (ShapeNet-Part protocol), scored with :func:`~rqbench.evaluate.segmentation.part_miou`.

Encoders expose per-point features through ``point_features(x) -> (B, N, D)``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rqbench.evaluate.features import feature_stats
from rqbench.evaluate.finetune import train_epochs
from rqbench.evaluate.segmentation import SegmentationResult, part_miou

SegBatch = tuple[Tensor, Tensor, Tensor]
"""``(inputs (B, ...), part labels (B, N), categories (B,))``."""


def segmentation_head(in_dim: int, num_parts: int, hidden: int = 64) -> nn.Module:
    """Two fully connected layers on point features ``(M, D) -> (M, P)`` (BatchNorm + ReLU between)."""
    return nn.Sequential(
        nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_parts)
    )


def category_argmax(logits: Tensor, parts: Sequence[int]) -> Tensor:
    """Per-point arg-max of ``logits`` ``(N, P)`` restricted to the labels ``parts`` (returns global labels)."""
    index = torch.as_tensor(list(parts), device=logits.device)
    return index[logits.index_select(1, index).argmax(dim=1)]


def score(
    logits: Sequence[Tensor],
    targets: Sequence[Tensor],
    categories: Sequence[int],
    parts_of: Mapping[int, Sequence[int]],
) -> SegmentationResult:
    """C.mIoU / I.mIoU of per-shape logits ``(N_i, P)`` predicted over each shape's category parts."""
    preds = [category_argmax(lg, parts_of[c]).cpu() for lg, c in zip(logits, categories)]
    return part_miou(preds, [t.cpu().long() for t in targets], list(categories), parts_of)


def point_features(
    encoder: nn.Module, batches: Iterable[SegBatch], device: torch.device | str = "cpu"
) -> tuple[list[Tensor], list[Tensor], list[int]]:
    """Frozen per-point features of every shape: ``([(N, D)], [(N,) labels], [category])``, on CPU."""
    if not callable(getattr(encoder, "point_features", None)):
        raise TypeError(
            f"segmentation needs an encoder with point_features(x) -> (B, N, D); {type(encoder).__name__} has none"
        )
    feats: list[Tensor] = []
    labels: list[Tensor] = []
    cats: list[int] = []
    modes = {m: m.training for m in encoder.modules()}
    try:
        encoder.eval()
        with torch.no_grad():
            for x, y, c in batches:
                f = cast("Callable[[Tensor], Tensor]", encoder.point_features)(x.to(device)).float().cpu()
                feats += list(f.unbind(0))
                labels += list(torch.as_tensor(y).long().unbind(0))
                cats += [int(v) for v in torch.as_tensor(c).view(-1)]
    finally:
        for m, training in modes.items():
            m.train(training)
    if not feats:
        raise ValueError("no shapes to extract point features from")
    return feats, labels, cats


def linear_seg(
    train: tuple[list[Tensor], list[Tensor], list[int]],
    test: tuple[list[Tensor], list[Tensor], list[int]],
    parts_of: Mapping[int, Sequence[int]],
    num_parts: int,
    *,
    epochs: int,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    batch_points: int = 4096,
    hidden: int = 64,
    seed: int = 0,
) -> SegmentationResult:
    """Train :func:`segmentation_head` on frozen, standardized point features; score the test shapes.

    Args:
        train, test: ``(features, part labels, categories)`` from :func:`point_features`.
        parts_of: each category's part labels.
        num_parts: number of part labels ``P`` over all categories.
        epochs, lr, weight_decay: Adam on shuffled mini-batches of ``batch_points`` points.
    """
    x = torch.cat(train[0])
    y = torch.cat(train[1]).long()
    mean, std = feature_stats(x)
    x = (x - mean) / std
    gen = torch.Generator().manual_seed(seed)

    def batches(epoch: int) -> Iterable[Tensor]:
        order: Iterable[Tensor] = torch.randperm(len(x), generator=gen).split(batch_points)
        return order

    def loss(idx: Tensor, epoch: int) -> Tensor | None:
        return F.cross_entropy(head(x[idx]), y[idx]) if len(idx) >= 2 else None  # BatchNorm needs two points

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        head = segmentation_head(x.shape[1], num_parts, hidden)
        opt = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
        head.train()
        train_epochs(opt, batches, loss, epochs=epochs, lr=lr)
    head.eval()
    with torch.no_grad():
        logits = [head((f - mean) / std) for f in test[0]]
    return score(logits, test[1], test[2], parts_of)


class PointSegmenter(nn.Module):
    """``head(encoder.point_features(x))`` per point: ``(B, N, P)`` logits."""

    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, x: Tensor) -> Tensor:
        f = cast("Callable[[Tensor], Tensor]", self.encoder.point_features)(x)
        out: Tensor = self.head(f.flatten(0, 1)).view(*f.shape[:2], -1)
        return out


def finetune_seg(
    encoder: nn.Module,
    point_dim: int,
    num_parts: int,
    train_batches_fn: Callable[[int], Iterable[SegBatch]],
    test_batches: Iterable[SegBatch],
    parts_of: Mapping[int, Sequence[int]],
    *,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    hidden: int = 64,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> SegmentationResult:
    """Fine-tune a copy of ``encoder`` with :func:`segmentation_head` end to end (AdamW, cosine lr)."""
    if not callable(getattr(encoder, "point_features", None)):
        raise TypeError(f"segmentation needs an encoder with point_features(x); {type(encoder).__name__} has none")
    device = torch.device(device)
    with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if device.type == "cuda" else []):
        torch.manual_seed(seed)
        model = PointSegmenter(copy.deepcopy(encoder), segmentation_head(point_dim, num_parts, hidden)).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        model.train()

        def loss(batch: SegBatch, epoch: int) -> Tensor | None:
            x, y, _ = batch
            if x.shape[0] < 2:  # BatchNorm needs two shapes
                return None
            return F.cross_entropy(model(x.to(device)).flatten(0, 1), torch.as_tensor(y).long().to(device).flatten())

        train_epochs(opt, train_batches_fn, loss, epochs=epochs, lr=lr, what="batch of two or more shapes")
    model.eval()
    logits, targets, cats = [], [], []
    with torch.no_grad():
        for x, y, c in test_batches:
            out = model(x.to(device)).float().cpu()
            logits += list(out.unbind(0))
            targets += list(torch.as_tensor(y).long().unbind(0))
            cats += [int(v) for v in torch.as_tensor(c).view(-1)]
    return score(logits, targets, cats, parts_of)


__all__ = [
    "PointSegmenter",
    "SegBatch",
    "category_argmax",
    "finetune_seg",
    "linear_seg",
    "point_features",
    "score",
    "segmentation_head",
]

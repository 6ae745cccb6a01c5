"""Part-segmentation mIoU in the ShapeNet-Part convention (PointNet / O-CNN evaluation).

References: charlesq34/pointnet ``part_seg/test.py`` (per part IoU over the shape's category
parts, 1 when the union is empty, l. 226-239; instance mean l. 258, per-category means l. 266)
and charlesq34/pointnet2 ``part_seg/evaluate.py`` (class mIoU = mean of the per-category means,
l. 182-184; instance mIoU = mean over all shapes, l. 191). The two differ unless every category
has the same number of test shapes: then ``mean_c (1/n) sum_{s in c} = (1/(C n)) sum_s``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor

_Category = TypeVar("_Category", bound=Hashable)


@dataclass(frozen=True)
class SegmentationResult:
    """Part-segmentation scores in percent.

    Attributes:
        c_miou: class mIoU, the mean over categories of their mean instance IoU.
        i_miou: instance mIoU, the mean instance IoU over all shapes.
        per_category: mean instance IoU of each category present (percent).
    """

    c_miou: float
    i_miou: float
    per_category: Mapping[Hashable, float]


def shape_iou(pred: Tensor, target: Tensor, parts: Sequence[int]) -> float:
    """Instance IoU of one shape (fraction in [0, 1]), as in PointNet's ``part_seg`` evaluation.

    For each part ``p`` of the shape's category, ``IoU_p = |pred = p and gt = p| /
    |pred = p or gt = p|``, and ``IoU_p = 1`` when ``p`` is absent from both prediction and
    ground truth (Qi et al., PointNet, CVPR 2017; Wang et al., O-CNN, SIGGRAPH 2017). The
    instance IoU is the mean of ``IoU_p`` over the category's parts. Predicted labels
    outside ``parts`` count as wrong for every part.
    """
    ious = []
    for p in parts:
        pred_p, gt_p = pred == p, target == p
        union = int((pred_p | gt_p).sum())
        ious.append(1.0 if union == 0 else int((pred_p & gt_p).sum()) / union)
    return sum(ious) / len(ious)


def part_miou(
    preds: Sequence[Tensor],
    targets: Sequence[Tensor],
    categories: Sequence[_Category],
    parts_of: Mapping[_Category, Sequence[int]],
) -> SegmentationResult:
    """Class and instance mIoU of per-point part predictions (ShapeNet-Part protocol).

    Args:
        preds: one integer tensor of predicted part labels per shape (any shape, e.g. ``(N_i,)``);
            take the arg-max over the shape's category parts first.
        targets: the ground-truth part labels, one tensor per shape, same shapes as ``preds``.
        categories: the category (int or name) of each shape.
        parts_of: the part labels of each category.

    Returns:
        :class:`SegmentationResult` with ``I.mIoU = mean_s IoU(s)`` and
        ``C.mIoU = mean_c mean_{s in c} IoU(s)`` (see :func:`shape_iou`), in percent.
    """
    for name, seq in (("preds", preds), ("targets", targets), ("categories", categories)):
        if isinstance(seq, (str, bytes, Tensor)) or not isinstance(seq, Sequence):
            raise TypeError(f"{name} must be a sequence (one entry per shape), got {type(seq).__name__}")
    if not isinstance(parts_of, Mapping):
        raise TypeError(f"parts_of must be a mapping category -> part labels, got {type(parts_of).__name__}")
    if not (len(preds) == len(targets) == len(categories)):
        raise ValueError(
            f"preds, targets and categories must have one entry per shape, got lengths "
            f"{len(preds)}, {len(targets)} and {len(categories)}"
        )
    if len(preds) == 0:
        raise ValueError("no shapes to evaluate: preds is empty")

    per_cat: dict[Hashable, list[float]] = {}
    all_ious: list[float] = []
    for i, (pred, target, cat) in enumerate(zip(preds, targets, categories)):
        for name, t in (("preds", pred), ("targets", target)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}[{i}] must be a torch.Tensor, got {type(t).__name__}")
            if t.is_floating_point() or t.is_complex() or t.dtype == torch.bool:
                raise TypeError(f"{name}[{i}] must hold integer part labels, got {t.dtype} (take the arg-max first)")
        if pred.shape != target.shape:
            raise ValueError(
                f"preds[{i}] has shape {tuple(pred.shape)} but targets[{i}] has shape {tuple(target.shape)}"
            )
        if pred.numel() == 0:
            raise ValueError(f"shape {i} has no points")
        if cat not in parts_of:
            raise ValueError(f"categories[{i}] = {cat!r} is not a key of parts_of")
        parts = parts_of[cat]
        if len(parts) == 0:
            raise ValueError(f"parts_of[{cat!r}] is empty: a category needs at least one part")
        if len(set(parts)) != len(parts):
            raise ValueError(f"parts_of[{cat!r}] = {list(parts)} lists a part twice")
        iou = shape_iou(pred, target.to(pred.device), parts)
        per_cat.setdefault(cat, []).append(iou)
        all_ious.append(iou)

    cat_means = {cat: 100.0 * sum(v) / len(v) for cat, v in per_cat.items()}
    return SegmentationResult(
        c_miou=sum(cat_means.values()) / len(cat_means),
        i_miou=100.0 * sum(all_ious) / len(all_ious),
        per_category=cat_means,
    )

"""Run the segmentation protocols (``linear_seg``, ``finetune_seg``) of a preset on one segmentation task."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from rqbench.evaluate.batches import eval_batches
from rqbench.evaluate.fractions import label_fraction_indices
from rqbench.evaluate.segment_probe import finetune_seg, linear_seg, point_features
from rqbench.evaluate.splits import draw_seed
from rqbench.modality import Modality, Task
from rqbench.preset import Preset

SEG_PROTOCOLS = ("linear_seg", "finetune_seg")
SEG_METRICS = ("c_miou", "i_miou")
"""The metrics a segmentation protocol reports: class and instance mean IoU."""


def _categories(dataset: Dataset[Any]) -> torch.Tensor:
    return torch.as_tensor([int(dataset[i][2]) for i in range(len(dataset))])  # type: ignore[arg-type]


def evaluate_segmentation(
    encoder: nn.Module, modality: Modality, task: Task, preset: Preset, seed: int, device: torch.device
) -> list[dict[str, Any]]:
    """Rows ``{dataset, protocol, label_fraction, metric (c_miou / i_miou), value}`` of one segmentation task.

    Label fractions (``seg_label_fractions``, else ``label_fractions``) are seeded subsets of the
    training shapes, stratified by category; below 1, ``linear_seg`` averages ``eval.label_draws``
    such subsets (:func:`~rqbench.evaluate.splits.draw_seed`), ``finetune_seg`` uses the first.
    """
    settings = preset.eval
    assert task.parts_of is not None
    point_dim = getattr(encoder, "point_feature_dim", None)
    if not isinstance(point_dim, int):
        raise TypeError(
            f"task {task.name!r} is a segmentation task: "
            "the encoder needs an int point_feature_dim and point_features(x)"
        )
    fractions = settings.seg_label_fractions if settings.seg_label_fractions is not None else settings.label_fractions
    categories = _categories(task.train)
    rows: list[dict[str, Any]] = []

    def add(protocol: str, fraction: float, c_miou: float, i_miou: float) -> None:
        for metric, value in zip(SEG_METRICS, (c_miou, i_miou), strict=True):
            rows.append(
                {
                    "dataset": task.name,
                    "protocol": protocol,
                    "label_fraction": fraction,
                    "metric": metric,
                    "value": value,
                }
            )

    if "linear_seg" in settings.protocols:
        train = point_features(encoder, eval_batches(task.train, modality, preset), device)
        test = point_features(encoder, eval_batches(task.test, modality, preset), device)
        epochs = settings.seg_linear_epochs if settings.seg_linear_epochs is not None else settings.linear_epochs
        for fraction in fractions:
            draws = 1 if fraction == 1.0 else settings.label_draws
            results = []
            for draw in range(draws):
                idx = label_fraction_indices(categories, fraction, draw_seed(seed, draw)).tolist()
                subset = ([train[0][i] for i in idx], [train[1][i] for i in idx], [train[2][i] for i in idx])
                results.append(
                    linear_seg(
                        subset,
                        test,
                        task.parts_of,
                        task.num_classes,
                        epochs=epochs,
                        lr=settings.linear_lr,
                        weight_decay=settings.linear_weight_decay,
                        seed=seed,
                    )
                )
            add("linear_seg", fraction, sum(r.c_miou for r in results) / draws, sum(r.i_miou for r in results) / draws)
    if "finetune_seg" in settings.protocols:
        for fraction in fractions:
            shapes = Subset(task.train, label_fraction_indices(categories, fraction, seed).tolist())

            def train_batches(epoch: int, s: Dataset[Any] = shapes) -> Iterator[tuple[Any, ...]]:
                return eval_batches(s, modality, preset, shuffle=True, seed=seed * 1000 + epoch)

            result = finetune_seg(
                encoder,
                point_dim,
                task.num_classes,
                train_batches,
                list(eval_batches(task.test, modality, preset)),
                task.parts_of,
                epochs=settings.finetune_epochs,
                lr=settings.finetune_lr,
                weight_decay=settings.finetune_weight_decay,
                device=device,
                seed=seed,
            )
            add("finetune_seg", fraction, result.c_miou, result.i_miou)
    return rows


__all__ = ["SEG_PROTOCOLS", "evaluate_segmentation"]

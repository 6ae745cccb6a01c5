"""Metrics of a classifier's scores, by name: what a task's ``metric`` selects for its linear probe.

``top1`` is accuracy; ``auroc`` is the area under the ROC curve (DABS scores CheXpert with it),
binary for two classes and the macro one-vs-rest mean otherwise. Both are in percent, as every
value in ``results.csv``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rqbench.evaluate.accuracy import top1_accuracy
from rqbench.evaluate.checks import check_labels
from rqbench.registry import Registry

ScoreMetric = Callable[[Tensor, Tensor], float]

SCORE_METRICS: Registry[ScoreMetric] = Registry("score metric")
"""Metric name -> ``metric(scores (N, C), targets (N,)) -> percent``."""


def _average_ranks(values: Tensor) -> Tensor:
    """1-based ranks of ``values`` (float64), ties sharing their average rank."""
    _, inverse, counts = torch.unique(values, sorted=True, return_inverse=True, return_counts=True)
    last = torch.cumsum(counts, 0).double()  # rank of the last member of each distinct value
    ranks: Tensor = (last - (counts.double() - 1) / 2.0)[inverse]
    return ranks


def binary_auroc(scores: Tensor, positive: Tensor) -> float:
    """AUROC (0-1) of 1-D ``scores`` for boolean ``positive``: the Mann-Whitney U statistic over ``n_pos * n_neg``.

    Equals the probability that a random positive scores above a random negative, ties
    counting one half. Raises when either class is absent (the area is undefined).
    """
    scores, positive = scores.detach().double().flatten().cpu(), positive.bool().flatten().cpu()
    if scores.shape != positive.shape:
        raise ValueError(f"scores and labels differ in length: {len(scores)} vs {len(positive)}")
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"AUROC needs both classes among the targets, got {n_pos} positive and {n_neg} negative")
    ranks = _average_ranks(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@SCORE_METRICS.register("top1")
def top1(scores: Tensor, targets: Tensor) -> float:
    """Top-1 accuracy of the arg-max class, percent."""
    return top1_accuracy(scores.float(), targets)


@SCORE_METRICS.register("auroc")
def auroc(scores: Tensor, targets: Tensor) -> float:
    """AUROC in percent: binary (score = softmax probability of class 1) for two classes, else macro one-vs-rest.

    One-vs-rest averages :func:`binary_auroc` of each class's softmax probability over the classes
    present in ``targets`` with at least one other class present (as scikit-learn's ``ovr`` macro mean).
    """
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"AUROC needs scores of shape (num_samples, num_classes >= 2), got {tuple(scores.shape)}")
    targets = check_labels(targets, "targets", length=scores.shape[0]).cpu()
    probs = torch.softmax(scores.detach().double().cpu(), dim=1)
    if scores.shape[1] == 2:
        return 100.0 * binary_auroc(probs[:, 1], targets == 1)
    present = [int(c) for c in torch.unique(targets) if int(c) < scores.shape[1]]
    if len(present) < 2:
        raise ValueError("AUROC needs at least two classes among the targets")
    return 100.0 * sum(binary_auroc(probs[:, c], targets == c) for c in present) / len(present)


__all__ = ["SCORE_METRICS", "ScoreMetric", "auroc", "binary_auroc", "top1"]

"""Seeded, stratified label-fraction subsets for semi-supervised evaluation."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rqbench.evaluate.checks import check_labels

LABEL_FRACTIONS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10, 0.20, 1.0)
"""Fractions of labelled training data reported in the benchmark tables."""


def per_class_count(fraction: float, class_size: int) -> int:
    """Samples kept from a class of ``class_size``: ``round(fraction * class_size)``, at least 1.

    Rounds half up (``floor(x + 0.5)``), unlike Python's banker's :func:`round`.
    """
    return min(class_size, max(1, math.floor(fraction * class_size + 0.5)))


def label_fraction_indices(labels: Tensor, fraction: float, seed: int) -> Tensor:
    """Indices of a stratified random subset holding ``fraction`` of each class.

    For every class ``c`` present with ``n_c`` samples, :func:`per_class_count` samples
    (``round(fraction * n_c)``, at least one) are drawn without replacement by a
    ``torch.Generator`` seeded with ``seed``, classes visited in increasing order. The
    same ``(labels, fraction, seed)`` always gives the same subset; subsets of different
    fractions are not nested.

    Args:
        labels: integer class labels ``(N,)`` of the full training set.
        fraction: fraction of each class to keep, in ``(0, 1]``; ``1.0`` keeps everything.
        seed: integer seed of the draw.

    Returns:
        Sorted int64 indices into ``labels``, on ``labels.device``.
    """
    labels = check_labels(labels, "labels", nonnegative=False)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(f"fraction must be a number in (0, 1], got {type(fraction).__name__}")
    if not 0.0 < float(fraction) <= 1.0:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if float(fraction) == 1.0:
        return torch.arange(labels.shape[0], device=labels.device)
    cpu_labels = labels.cpu()
    generator = torch.Generator().manual_seed(seed)
    chosen: list[Tensor] = []
    for c in torch.unique(cpu_labels, sorted=True):
        members = torch.nonzero(cpu_labels == c).flatten()
        take = per_class_count(float(fraction), members.numel())
        chosen.append(members[torch.randperm(members.numel(), generator=generator)[:take]])
    return torch.sort(torch.cat(chosen)).values.to(labels.device)

"""Evaluation splits on frozen features: seeded label-subset draws and repeated stratified k-fold.

Two ways of making a small or low-label evaluation less noisy without pretraining again:

* **Label-subset draws** (:func:`draw_seed`): a low-label probe is fitted on ``draws`` different
  seeded, stratified subsets of the training labels and its score averaged; draw 0 is the subset a
  single-draw evaluation uses, so ``draws = 1`` reproduces it exactly.
* **Repeated stratified k-fold** (:func:`repeated_stratified_kfold`): for a small test set, the
  labelled samples of the training and test splits are pooled, and the probe is fitted on ``k - 1``
  folds and scored on the remaining one, for every fold and ``repeats`` different seeded fold
  assignments (Kohavi 1995, *IJCAI*, §5: stratified cross-validation; repeated to reduce the
  variance of the estimate, as scikit-learn's ``RepeatedStratifiedKFold``). Every labelled sample
  is then a test sample ``repeats`` times.

Both are seeded by the run's seed only, so every row of a table (every augmentation) is scored on
the same subsets and folds: the pairing over seeds that :mod:`rqbench.stats` relies on is kept.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rqbench.evaluate.checks import check_labels

DRAW_STRIDE = 100_003
"""Seed distance between successive label-subset draws (a prime larger than any run seed in use)."""
FOLD_STRIDE = 1_000_003
"""Seed distance between the fold assignments of successive repeats."""


def draw_seed(seed: int, draw: int) -> int:
    """The seed of label-subset draw ``draw`` of a run with ``seed``: ``seed + DRAW_STRIDE * draw``
    (draw 0 is ``seed`` itself, the subset of a single-draw evaluation)."""
    if draw < 0:
        raise ValueError(f"draw must be >= 0, got {draw}")
    return seed + DRAW_STRIDE * draw


def stratified_folds(labels: Tensor, folds: int, seed: int) -> Tensor:
    """A fold id in ``0 .. folds-1`` for every sample, stratified by class.

    The members of each class (classes in increasing order) are shuffled by a ``torch.Generator``
    seeded with ``seed`` and concatenated; the ``i``-th sample of that order goes to fold
    ``i mod folds``. Each class is spread over the folds as evenly as possible (its count per fold
    differs by at most one) and the fold sizes differ by at most one.
    """
    labels = check_labels(labels, "labels", nonnegative=False).cpu()
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ValueError(f"folds must be an int >= 2, got {folds!r}")
    if labels.numel() < folds:
        raise ValueError(f"{labels.numel()} labelled samples cannot be split into {folds} folds; use fewer folds")
    generator = torch.Generator().manual_seed(seed)
    order = [
        members[torch.randperm(members.numel(), generator=generator)]
        for c in torch.unique(labels, sorted=True)
        for members in (torch.nonzero(labels == c).flatten(),)
    ]
    fold = torch.empty(labels.numel(), dtype=torch.int64)
    fold[torch.cat(order)] = torch.arange(labels.numel()) % folds
    return fold


def repeated_stratified_kfold(labels: Tensor, folds: int, repeats: int, seed: int) -> list[tuple[Tensor, Tensor]]:
    """``(train indices, test indices)`` for every fold of ``repeats`` stratified fold assignments.

    Repeat ``r`` uses :func:`stratified_folds` with seed ``seed + FOLD_STRIDE * r``; the pairs come
    repeat-major, fold-minor. Indices are sorted int64 tensors into ``labels``.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    out: list[tuple[Tensor, Tensor]] = []
    for r in range(repeats):
        fold = stratified_folds(labels, folds, seed + FOLD_STRIDE * r)
        for k in range(folds):
            out.append((torch.nonzero(fold != k).flatten(), torch.nonzero(fold == k).flatten()))
    return out

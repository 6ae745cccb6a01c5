"""Weighted k-nearest-neighbour classification on frozen features.

The protocol of InstDisc (Wu et al., "Unsupervised Feature Learning via Non-Parametric
Instance Discrimination", CVPR 2018), as implemented by solo-learn's
``WeightedKNNClassifier`` and lightly's ``knn_predict``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rqbench.evaluate.accuracy import top1_accuracy
from rqbench.evaluate.checks import check_features, check_int, check_labels, check_positive, resolve_num_classes


def knn_scores(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    *,
    num_classes: int | None = None,
    k: int = 200,
    temperature: float = 0.1,
    chunk_size: int = 1024,
) -> Tensor:
    """Class scores of each test sample from its ``k`` most cosine-similar train samples.

    With L2-normalised features, ``s_ij = <x_i, x_j>``; for the top-``k`` neighbours
    ``N_k(i)`` of test sample ``i`` (``k`` clipped to the train size), the score of class
    ``c`` is ``sum_{j in N_k(i), y_j = c} exp(s_ij / T)`` (Wu et al., 2018, Eq. 5 with
    ``w = exp(s / T)``). Test samples are processed ``chunk_size`` at a time, so memory is
    ``O(chunk_size * N_train)``. Computed on ``train_x.device``.

    Returns:
        Scores ``(N_test, num_classes)``, float32.
    """
    train_x = check_features(train_x, "train_x")
    train_y = check_labels(train_y, "train_y", length=train_x.shape[0])
    test_x = check_features(test_x, "test_x")
    if test_x.shape[1] != train_x.shape[1]:
        raise ValueError(f"test_x has feature dim {test_x.shape[1]} but train_x has {train_x.shape[1]}")
    k = min(check_int(k, "k", 1), train_x.shape[0])
    temperature = check_positive(temperature, "temperature")
    chunk_size = check_int(chunk_size, "chunk_size", 1)
    num_classes = resolve_num_classes(num_classes, train_y)

    device = train_x.device
    bank = F.normalize(train_x.float(), dim=1)
    bank_labels = train_y.to(device).long()
    scores = []
    for start in range(0, test_x.shape[0], chunk_size):
        query = F.normalize(test_x[start : start + chunk_size].to(device).float(), dim=1)
        sim = query @ bank.T
        top_sim, top_idx = sim.topk(k, dim=1)
        weights = (top_sim / temperature).exp()
        chunk_scores = torch.zeros(query.shape[0], num_classes, device=device)
        chunk_scores.scatter_add_(1, bank_labels[top_idx], weights)
        scores.append(chunk_scores)
    return torch.cat(scores)


def knn_predict(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    *,
    k: int = 200,
    temperature: float = 0.1,
    chunk_size: int = 1024,
) -> Tensor:
    """Predicted class ``(N_test,)`` = arg-max of :func:`knn_scores` (lowest class on ties)."""
    return knn_scores(train_x, train_y, test_x, k=k, temperature=temperature, chunk_size=chunk_size).argmax(dim=1)


def knn_accuracy(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    k: int = 200,
    temperature: float = 0.1,
    chunk_size: int = 1024,
) -> float:
    """Top-1 accuracy (percent) of the weighted kNN classifier (:func:`knn_scores`) on the test set.

    Defaults ``k=200``, ``T=0.1`` follow InstDisc (Wu et al., 2018) and solo-learn.
    """
    test_x = check_features(test_x, "test_x")
    test_y = check_labels(test_y, "test_y", length=test_x.shape[0])
    pred = knn_predict(train_x, train_y, test_x, k=k, temperature=temperature, chunk_size=chunk_size)
    return top1_accuracy(pred, test_y)

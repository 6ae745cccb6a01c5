"""Tests for rqbench.evaluate.knn: the weighted kNN classifier (InstDisc / solo-learn)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from rqbench.evaluate import knn_accuracy, knn_predict, knn_scores

# Four train points on the unit circle and one query q = (1, 0):
#   a = (1, 0)     class 0   cos(q, a) =  1
#   b = (0, 1)     class 1   cos(q, b) =  0
#   c = (-1, 0)    class 1   cos(q, c) = -1
#   d = (0.6, 0.8) class 1   cos(q, d) =  0.6
TRAIN_X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, 0.8]])
TRAIN_Y = torch.tensor([0, 1, 1, 1])
QUERY = torch.tensor([[1.0, 0.0]])


def test_hand_computed_weighted_vote() -> None:
    # k = 3 keeps a, d, b. With T = 0.1 the weights are exp(sim / T):
    #   class 0: e^10 ~ 22026.5,   class 1: e^6 + e^0 ~ 404.4
    # so the weighted vote picks class 0 although 2 of the 3 neighbours are class 1.
    scores = knn_scores(TRAIN_X, TRAIN_Y, QUERY, k=3, temperature=0.1)
    assert torch.allclose(scores, torch.tensor([[math.exp(10), math.exp(6) + 1.0]]))
    assert knn_predict(TRAIN_X, TRAIN_Y, QUERY, k=3).tolist() == [0]
    # At T = 1 the vote flips: class 0: e^1 ~ 2.718 < class 1: e^0.6 + e^0 ~ 2.822.
    scores = knn_scores(TRAIN_X, TRAIN_Y, QUERY, k=3, temperature=1.0)
    assert torch.allclose(scores, torch.tensor([[math.e, math.exp(0.6) + 1.0]]))
    assert knn_accuracy(TRAIN_X, TRAIN_Y, QUERY, torch.tensor([1]), k=3, temperature=1.0) == 100.0
    # k = 1 keeps only a.
    assert torch.allclose(knn_scores(TRAIN_X, TRAIN_Y, QUERY, k=1), torch.tensor([[math.exp(10), 0.0]]))


def test_k_larger_than_train_set_uses_every_point() -> None:
    # k = 200 is clipped to 4: class 1 also gets c's weight e^-10.
    scores = knn_scores(TRAIN_X, TRAIN_Y, QUERY)
    assert torch.allclose(scores, torch.tensor([[math.exp(10), math.exp(6) + 1.0 + math.exp(-10)]]))
    assert knn_accuracy(TRAIN_X, TRAIN_Y, QUERY, torch.tensor([0]), k=10_000) == 100.0


def test_features_are_l2_normalised() -> None:
    scale = torch.tensor([[3.0], [0.5], [7.0], [2.0]])
    scores = knn_scores(TRAIN_X * scale, TRAIN_Y, QUERY * 42.0, k=3)
    assert torch.allclose(scores, knn_scores(TRAIN_X, TRAIN_Y, QUERY, k=3))


def test_test_equal_to_train_with_distinct_directions_is_exact() -> None:
    # Orthogonal one-hot directions: self-weight e^10 beats the e^0 = 1 of each of the other 39 points.
    x = torch.eye(40) * torch.linspace(1, 5, 40)[:, None]
    y = torch.arange(40) % 3
    assert knn_accuracy(x, y, x, y) == 100.0
    # Random (almost surely distinct) directions with k = 1: the nearest neighbour is the point itself.
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 16, generator=g)
    y = torch.randint(0, 10, (300,), generator=g)
    assert knn_accuracy(x, y, x, y, k=1) == 100.0


def naive_scores(train_x: Tensor, train_y: Tensor, test_x: Tensor, k: int, t: float, c: int) -> Tensor:
    """Loop-per-query reference (lightly's knn_predict written out)."""
    out = torch.zeros(test_x.shape[0], c, dtype=torch.float64)
    bank = F.normalize(train_x.double(), dim=1)
    for i, q in enumerate(F.normalize(test_x.double(), dim=1)):
        sims = bank @ q
        for j in sims.argsort(descending=True)[:k].tolist():
            out[i, train_y[j]] += math.exp(sims[j].item() / t)
    return out


@pytest.mark.parametrize("chunk_size", [1, 7, 1024])
def test_matches_naive_reference_for_any_chunk_size(chunk_size: int) -> None:
    g = torch.Generator().manual_seed(3)
    train_x, test_x = torch.randn(60, 5, generator=g), torch.randn(25, 5, generator=g)
    train_y = torch.randint(0, 4, (60,), generator=g)
    got = knn_scores(train_x, train_y, test_x, k=10, temperature=0.5, chunk_size=chunk_size)
    assert torch.allclose(got.double(), naive_scores(train_x, train_y, test_x, 10, 0.5, 4), rtol=1e-4)


def test_ties_go_to_lowest_class_and_num_classes() -> None:
    x = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert knn_predict(x, torch.tensor([2, 1]), x[:1], k=2).tolist() == [1]
    assert knn_scores(x, torch.tensor([0, 1]), x, num_classes=6).shape == (2, 6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(k=0), ValueError, "k must be >= 1"),
        (dict(k=2.0), TypeError, "k must be an int"),
        (dict(temperature=0.0), ValueError, "temperature must be"),
        (dict(chunk_size=0), ValueError, "chunk_size must be >= 1"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        knn_accuracy(TRAIN_X, TRAIN_Y, QUERY, torch.tensor([0]), **kwargs)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="train_y has 3 entries but the features have 4"):
        knn_accuracy(TRAIN_X, TRAIN_Y[:3], QUERY, torch.tensor([0]))
    with pytest.raises(ValueError, match="test_y has 2 entries but the features have 1"):
        knn_accuracy(TRAIN_X, TRAIN_Y, QUERY, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="test_x has feature dim 3 but train_x has 2"):
        knn_accuracy(TRAIN_X, TRAIN_Y, torch.ones(1, 3), torch.tensor([0]))
    with pytest.raises(ValueError, match="test_x contains NaN"):
        knn_accuracy(TRAIN_X, TRAIN_Y, torch.tensor([[float("nan"), 0.0]]), torch.tensor([0]))
    with pytest.raises(ValueError, match="train_x is empty"):
        knn_accuracy(TRAIN_X[:0], TRAIN_Y[:0], QUERY, torch.tensor([0]))
    with pytest.raises(ValueError, match="class indices >= 0"):
        knn_accuracy(TRAIN_X, TRAIN_Y - 1, QUERY, torch.tensor([0]))

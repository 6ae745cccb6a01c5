"""MID-Net's losses and bank updates against hand-computed values."""

import math

import pytest
import torch
import torch.nn.functional as F

from modalities.points.mid_loss import (
    momentum_rows,
    point_instance_loss,
    segment_means,
    shape_instance_loss,
    shape_logits,
)


def test_shape_loss_known_answer() -> None:
    # f = (3, 4) -> (0.6, 0.8); bank rows e1, e2: logits (0.6, 0.8) / 0.1 = (6, 8)
    f = torch.tensor([[3.0, 4.0]])
    bank = torch.eye(2)
    assert torch.allclose(shape_logits(f, bank, 0.1), torch.tensor([[6.0, 8.0]]))
    expected = -math.log(math.exp(6) / (math.exp(6) + math.exp(8)))
    assert shape_instance_loss(f, bank, torch.tensor([0]), 0.1).item() == pytest.approx(expected, rel=1e-6)
    assert shape_instance_loss(f, bank, torch.tensor([1]), 0.1).item() == pytest.approx(
        math.log(1 + math.exp(-2)), rel=1e-6
    )


def test_point_loss_known_answer() -> None:
    # one shape, two points, two segments; point 0 = e1 (segment 0), point 1 = e2 (segment 1)
    feats = torch.tensor([[[2.0, 0.0], [0.0, 5.0]]])
    bank = torch.eye(2).unsqueeze(0)
    loss = point_instance_loss(feats, bank, torch.tensor([[0, 1]]), temperature=0.5)
    one = math.log(1 + math.exp(-2))  # logits (2, 0) with T = 0.5, label 0
    assert loss.item() == pytest.approx(one, rel=1e-6)
    swapped = point_instance_loss(feats, bank, torch.tensor([[1, 0]]), temperature=0.5)
    assert swapped.item() == pytest.approx(math.log(1 + math.exp(2)), rel=1e-6)


def test_momentum_rows_exact() -> None:
    old = torch.tensor([[1.0, 0.0]])
    new = torch.tensor([[0.0, 1.0]])
    out = momentum_rows(old, new, 0.5)
    assert torch.allclose(out, torch.tensor([[1.0, 1.0]]) / math.sqrt(2))
    assert torch.allclose(momentum_rows(old, new, 1.0), new)
    assert torch.allclose(momentum_rows(old, torch.zeros(1, 2), 0.5), old)  # an empty segment keeps its row
    with pytest.raises(ValueError, match="momentum"):
        momentum_rows(old, new, 1.5)


def test_segment_means_normalized_and_empty_zero() -> None:
    feats = torch.tensor([[[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]]])
    seg = torch.tensor([[0, 0, 2]])
    means = segment_means(feats, seg, 3)
    assert means.shape == (1, 3, 2)
    assert torch.allclose(means[0, 0], torch.tensor([1.0, 0.0]))
    assert torch.allclose(means[0, 1], torch.zeros(2))
    assert torch.allclose(means[0, 2], torch.tensor([0.0, 1.0]))


def test_gradients_flow_to_features_only() -> None:
    f = torch.randn(4, 8, requires_grad=True)
    bank = F.normalize(torch.randn(10, 8), dim=1)
    shape_instance_loss(f, bank, torch.arange(4)).backward()
    assert f.grad is not None and bank.grad is None


def test_segment_means_average_normalized_features_as_o_cnn() -> None:
    # O-CNN mid_loss.py (lines 72, 114-115): l2norm(mean(l2norm(g))). Segment 0 holds (3, 0) and (0, 1):
    # normalized (1, 0), (0, 1), mean (0.5, 0.5) -> (1, 1) / sqrt(2); the raw mean (1.5, 0.5) would
    # give (3, 1) / sqrt(10). Segment 1 holds (0, 2) and (-1, 0): mean (-0.5, 0.5) -> (-1, 1) / sqrt(2).
    feats = torch.tensor([[[3.0, 0.0], [0.0, 1.0], [0.0, 2.0], [-1.0, 0.0]]])
    means = segment_means(feats, torch.tensor([[0, 0, 1, 1]]), 2)
    r = 1 / math.sqrt(2)
    torch.testing.assert_close(means, torch.tensor([[[r, r], [-r, r]]]))

"""Tests for rqbench.evaluate.features: frozen extraction and train-statistics z-scoring."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from rqbench.evaluate import extract_features, feature_stats, standardize


class Recorder(nn.Module):
    """Doubles its input and records the mode / grad state it ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append((self.training, torch.is_grad_enabled()))
        return x * self.scale


def batches(n_batches: int = 3, bs: int = 4, dim: int = 3) -> list[tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(bs, dim, generator=g), torch.arange(bs) + i * bs) for i in range(n_batches)]


def test_extract_concatenates_in_order_in_eval_no_grad() -> None:
    enc = Recorder()
    data = batches()
    feats, labels = extract_features(enc, data, "cpu")
    assert feats.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.equal(feats, 2 * torch.cat([x for x, _ in data]))
    assert torch.equal(labels, torch.arange(12))
    assert enc.seen == [(False, False)] * 3
    assert not feats.requires_grad


def test_extract_restores_mixed_modes() -> None:
    enc = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5), nn.Linear(3, 2))
    enc.train()
    enc[1].eval()
    extract_features(enc, batches(), "cpu")
    assert [m.training for m in enc.modules()] == [True, True, False, True]
    enc.eval()
    extract_features(enc, batches(), "cpu")
    assert not any(m.training for m in enc.modules())


def test_extract_restores_mode_on_error() -> None:
    enc = nn.Linear(3, 2).train()
    bad = [(torch.randn(4, 3), torch.arange(3))]
    with pytest.raises(ValueError, match="labels of batch 0"):
        extract_features(enc, bad, "cpu")
    assert enc.training


def test_extract_flattens_pooled_maps_and_casts() -> None:
    enc = nn.AdaptiveAvgPool2d(1)  # (B, C, H, W) -> (B, C, 1, 1)
    x = torch.ones(2, 5, 4, 4, dtype=torch.float64)
    feats, labels = extract_features(enc, [(x, torch.tensor([0, 1]))])
    assert feats.shape == (2, 5) and feats.dtype == torch.float32
    assert torch.equal(labels, torch.tensor([0, 1]))


def test_extract_errors() -> None:
    with pytest.raises(ValueError, match="batches is empty"):
        extract_features(nn.Identity(), [], "cpu")
    with pytest.raises(TypeError, match="encoder must be"):
        extract_features(lambda x: x, batches(), "cpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NaN"):
        extract_features(nn.Identity(), [(torch.full((2, 3), float("nan")), torch.tensor([0, 1]))])
    with pytest.raises(ValueError, match="encoder output .* >= 2 axes"):
        extract_features(nn.Flatten(0), [(torch.ones(2, 3), torch.tensor([0, 1]))])
    with pytest.raises(TypeError, match="integer"):
        extract_features(nn.Identity(), [(torch.ones(2, 3), torch.tensor([0.0, 1.0]))])


def test_standardize_uses_train_statistics_only() -> None:
    train = torch.tensor([[0.0, 5.0], [2.0, 5.0]])  # mean (1, 5), population std (1, 0 -> 1e-6)
    test = torch.tensor([[3.0, 5.0], [1.0, 5.5]])
    z_train, z_test = standardize(train, test)
    assert torch.allclose(z_train, torch.tensor([[-1.0, 0.0], [1.0, 0.0]]))
    assert torch.allclose(z_test, torch.tensor([[2.0, 0.0], [0.0, 0.5e6]]))


def test_standardize_train_is_zscored_and_many_others() -> None:
    g = torch.Generator().manual_seed(1)
    train = torch.randn(100, 4, generator=g) * 3 + 7
    z, a, b = standardize(train, train.clone(), train[:10])
    assert torch.allclose(z.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(z.std(0, correction=0), torch.ones(4), atol=1e-5)
    assert torch.allclose(a, z) and torch.allclose(b, z[:10])
    mean, std = feature_stats(train)
    assert torch.allclose(mean, train.mean(0)) and std.shape == (4,)
    assert standardize(train)[0].shape == (100, 4)


def test_standardize_errors() -> None:
    with pytest.raises(ValueError, match="dim 3 but the train features have dim 2"):
        standardize(torch.ones(4, 2), torch.ones(4, 3))
    with pytest.raises(ValueError, match="NaN"):
        standardize(torch.tensor([[1.0], [float("nan")]]))
    with pytest.raises(ValueError, match="2-D"):
        standardize(torch.ones(4))
    with pytest.raises(ValueError, match="empty"):
        standardize(torch.ones(0, 3))
    with pytest.raises(TypeError, match="floating-point"):
        standardize(torch.ones(2, 3, dtype=torch.long))

"""Tests for rqbench.evaluate.linear: the linear probe and its early stopping."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from rqbench.evaluate import ProbeResult, linear_probe, top1_accuracy


def clusters(n_per_class: int, num_classes: int, dim: int, seed: int) -> tuple[Tensor, Tensor]:
    """Gaussian blobs (std 1) around means 10 apart: linearly separable with overwhelming probability."""
    g = torch.Generator().manual_seed(seed)
    means = 10.0 * torch.eye(num_classes, dim)
    y = torch.arange(num_classes).repeat_interleave(n_per_class)
    x = means[y] + torch.randn(y.shape[0], dim, generator=g) + 50.0  # offset: standardization must handle it
    return x, y


def noisy_high_dim(n: int, seed: int, flip: float) -> tuple[Tensor, Tensor, Tensor]:
    """10 informative + 90 noise dims, labels flipped with probability ``flip``: a probe overfits."""
    g = torch.Generator().manual_seed(seed)
    clean = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 100, generator=g)
    x[:, :10] += 0.7 * (2 * clean[:, None] - 1)
    noisy = torch.where(torch.rand(n, generator=g) < flip, 1 - clean, clean)
    return x, noisy, clean


def test_separable_clusters_reach_100() -> None:
    train_x, train_y = clusters(50, 4, 8, seed=0)
    test_x, test_y = clusters(50, 4, 8, seed=1)
    result = linear_probe(train_x, train_y, test_x, test_y, epochs=30, lr=1e-2, batch_size=32)
    assert isinstance(result, ProbeResult)
    assert result.accuracy == 100.0
    assert result.best_epoch == result.epochs_run == 30
    assert result.val_accuracy is None and result.val_history == ()


def test_returned_linear_works_on_raw_features() -> None:
    train_x, train_y = clusters(30, 3, 5, seed=0)
    test_x, test_y = clusters(30, 3, 5, seed=1)
    result = linear_probe(train_x, train_y, test_x, test_y, epochs=10, lr=1e-2)
    assert result.linear.in_features == 5 and result.linear.out_features == 3
    with torch.no_grad():
        assert top1_accuracy(result.linear(test_x), test_y) == pytest.approx(result.accuracy)


def test_random_labels_stay_near_chance() -> None:
    g = torch.Generator().manual_seed(0)
    train_x, test_x = torch.randn(2000, 8, generator=g), torch.randn(2000, 8, generator=g)
    train_y, test_y = torch.randint(0, 4, (2000,), generator=g), torch.randint(0, 4, (2000,), generator=g)
    result = linear_probe(train_x, train_y, test_x, test_y, epochs=10, lr=1e-2)
    assert 20.0 < result.accuracy < 30.0  # chance = 25 %, binomial std ~1 %


def test_num_classes_sets_output_size() -> None:
    train_x, train_y = clusters(10, 2, 3, seed=0)
    result = linear_probe(train_x, train_y, train_x, train_y, num_classes=5, epochs=2)
    assert result.linear.out_features == 5


def test_deterministic_and_leaves_global_rng_alone() -> None:
    train_x, train_y = clusters(20, 3, 4, seed=0)
    state = torch.get_rng_state()
    a = linear_probe(train_x, train_y, train_x, train_y, epochs=3, seed=7, val_fraction=0.2)
    assert torch.equal(torch.get_rng_state(), state)
    b = linear_probe(train_x, train_y, train_x, train_y, epochs=3, seed=7, val_fraction=0.2)
    c = linear_probe(train_x, train_y, train_x, train_y, epochs=3, seed=8, val_fraction=0.2)
    assert torch.equal(a.linear.weight, b.linear.weight) and a.val_history == b.val_history
    assert not torch.equal(a.linear.weight, c.linear.weight)


def test_trains_inside_no_grad_context() -> None:
    train_x, train_y = clusters(20, 2, 3, seed=0)
    with torch.no_grad():
        result = linear_probe(train_x, train_y, train_x, train_y, epochs=5, lr=1e-2)
    assert result.accuracy == 100.0


def test_early_stopping_keeps_best_validation_weights() -> None:
    x, y, _ = noisy_high_dim(200, seed=0, flip=0.3)
    test_x, _, test_y = noisy_high_dim(1000, seed=1, flip=0.0)
    kwargs = dict(lr=1e-3, batch_size=16, val_fraction=0.5, seed=0)
    full = linear_probe(x, y, test_x, test_y, epochs=60, **kwargs)
    hist = full.val_history
    assert full.epochs_run == len(hist) == 60
    assert full.val_accuracy == max(hist) == hist[full.best_epoch - 1]
    assert hist.index(max(hist)) <= full.best_epoch - 1  # ties: first, or a later one with lower loss
    assert hist[-1] < full.val_accuracy  # the probe overfits: selection matters here

    stopped = linear_probe(x, y, test_x, test_y, epochs=60, patience=5, **kwargs)
    assert stopped.best_epoch == full.best_epoch
    assert stopped.epochs_run == stopped.best_epoch + 5 < 60
    assert stopped.val_history == hist[: stopped.epochs_run]
    assert stopped.accuracy == full.accuracy

    # Kept weights are exactly those after `best_epoch` epochs (same split and shuffles).
    truncated = linear_probe(x, y, test_x, test_y, epochs=full.best_epoch, **kwargs)
    assert torch.equal(truncated.linear.weight, stopped.linear.weight)
    assert torch.equal(truncated.linear.bias, stopped.linear.bias)

    # And the best-validation weights generalise far better than training to the end.
    no_selection = linear_probe(x, y, test_x, test_y, epochs=60, lr=1e-3, batch_size=16, seed=0)
    assert stopped.accuracy > no_selection.accuracy + 10.0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(patience=3), ValueError, "patience .* needs a validation split"),
        (dict(val_fraction=1.0), ValueError, r"val_fraction must lie in \[0, 1\)"),
        (dict(val_fraction=-0.1), ValueError, "val_fraction"),
        (dict(val_fraction=0.1, patience=0), ValueError, "patience must be >= 1"),
        (dict(epochs=0), ValueError, "epochs must be >= 1"),
        (dict(lr=0.0), ValueError, "lr must be"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(num_classes=1), ValueError, "num_classes=1 but the labels contain class 1"),
        (dict(seed=1.5), TypeError, "seed must be an int"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    x, y = clusters(5, 2, 3, seed=0)
    with pytest.raises(error, match=match):
        linear_probe(x, y, x, y, **kwargs)


def test_bad_inputs() -> None:
    x, y = clusters(5, 2, 3, seed=0)
    with pytest.raises(ValueError, match="train_y has 9 entries but the features have 10"):
        linear_probe(x, y[:9], x, y)
    with pytest.raises(ValueError, match="test_x has feature dim 2 but train_x has 3"):
        linear_probe(x, y, x[:, :2], y)
    bad = x.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="train_x contains NaN"):
        linear_probe(bad, y, x, y)
    with pytest.raises(TypeError, match="test_y must be an integer tensor"):
        linear_probe(x, y, x, y.float())
    with pytest.raises(ValueError, match="train_x is empty"):
        linear_probe(x[:0], y[:0], x, y)
    with pytest.raises(ValueError, match="leaves no training samples"):
        linear_probe(x[:2], y[:2], x, y, val_fraction=0.9)

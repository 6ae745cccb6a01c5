"""Tests for rqbench.evaluate.finetune: end-to-end classification fine-tuning."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor, nn

from rqbench.evaluate import cosine_lr, finetune

Batches = list[tuple[Tensor, Tensor]]


def blobs(n: int, seed: int) -> tuple[Tensor, Tensor]:
    """Two 2-D Gaussian blobs around (-2, -2) and (2, 2): separable up to a tiny overlap."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    x = (4.0 * y[:, None] - 2.0) + 0.5 * torch.randn(n, 2, generator=g)
    return x, y


def train_fn(x: Tensor, y: Tensor, batch_size: int = 32) -> Callable[[int], Batches]:
    def batches(epoch: int) -> Batches:
        order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(epoch))
        return [(x[i], y[i]) for i in order.split(batch_size)]

    return batches


def make_models(dropout: float = 0.0) -> tuple[nn.Module, nn.Module]:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        encoder = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 8))
        head = nn.Linear(8, 2)
    return encoder, head


def test_cosine_lr() -> None:
    assert cosine_lr(0.1, 0, 10) == pytest.approx(0.1)
    assert cosine_lr(0.1, 5, 10) == pytest.approx(0.05)
    assert cosine_lr(0.1, 10, 10) == pytest.approx(0.0)
    assert cosine_lr(1.0, 1, 3) == pytest.approx(0.5 * (1 + math.cos(math.pi / 3)))


def test_reaches_high_accuracy_and_leaves_encoder_untouched() -> None:
    encoder, head = make_models()
    enc_before = {k: v.clone() for k, v in encoder.state_dict().items()}
    head_before = {k: v.clone() for k, v in head.state_dict().items()}
    x, y = blobs(256, seed=0)
    test_x, test_y = blobs(200, seed=1)
    acc = finetune(
        encoder,
        head,
        train_fn(x, y),
        [(test_x[:100], test_y[:100]), (test_x[100:], test_y[100:])],
        epochs=10,
        lr=1e-2,
        weight_decay=0.01,
        device="cpu",
        seed=0,
    )
    assert acc >= 98.0
    assert all(torch.equal(v, enc_before[k]) for k, v in encoder.state_dict().items())
    assert all(torch.equal(v, head_before[k]) for k, v in head.state_dict().items())
    assert encoder.training  # mode untouched too


def test_deterministic_with_dropout_and_global_rng_alone() -> None:
    encoder, head = make_models(dropout=0.5)
    x, y = blobs(64, seed=0)
    test_x, test_y = blobs(64, seed=1)
    kwargs = dict(epochs=2, lr=1e-2, device="cpu")
    state = torch.get_rng_state()
    a = finetune(encoder, head, train_fn(x, y, 8), [(test_x, test_y)], seed=3, **kwargs)
    assert torch.equal(torch.get_rng_state(), state)
    b = finetune(encoder, head, train_fn(x, y, 8), [(test_x, test_y)], seed=3, **kwargs)
    assert a == b


def test_untrained_lr_gives_initial_accuracy() -> None:
    # One epoch at a learning rate too small to move the weights gives the untrained model's accuracy.
    encoder, head = make_models()
    x, y = blobs(64, seed=0)
    with torch.no_grad():
        expected = 100.0 * (head(encoder(x)).argmax(1) == y).double().mean().item()
    assert finetune(encoder, head, train_fn(x, y), [(x, y)], epochs=1, lr=1e-30, weight_decay=0.0) == pytest.approx(
        expected
    )


def test_bad_inputs() -> None:
    encoder, head = make_models()
    x, y = blobs(16, seed=0)
    ok = train_fn(x, y)
    with pytest.raises(ValueError, match=r"train_batches_fn\(0\) yielded no batches"):
        finetune(encoder, head, lambda epoch: [], [(x, y)], epochs=1, lr=1e-3)
    with pytest.raises(ValueError, match="eval_batches is empty"):
        finetune(encoder, head, ok, [], epochs=1, lr=1e-3)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        finetune(encoder, head, ok, [(x, y)], epochs=0, lr=1e-3)
    with pytest.raises(ValueError, match="lr must be"):
        finetune(encoder, head, ok, [(x, y)], epochs=1, lr=-1.0)
    with pytest.raises(ValueError, match="contain class 5 but the head outputs 2 classes"):
        finetune(encoder, head, lambda e: [(x, torch.full((16,), 5))], [(x, y)], epochs=1, lr=1e-3)
    with pytest.raises(ValueError, match="has 3 entries but the features have 16"):
        finetune(encoder, head, lambda e: [(x, y[:3])], [(x, y)], epochs=1, lr=1e-3)
    with pytest.raises(ValueError, match=r"head must return logits \(batch, num_classes\)"):
        finetune(encoder, nn.Flatten(0), ok, [(x, y)], epochs=1, lr=1e-3)
    with pytest.raises(TypeError, match="head must be a torch.nn.Module"):
        finetune(encoder, lambda f: f, ok, [(x, y)], epochs=1, lr=1e-3)  # type: ignore[arg-type]

"""Tests for rqbench.evaluate.fractions: seeded stratified label subsets."""

from __future__ import annotations

import math

import pytest
import torch

from rqbench.evaluate import LABEL_FRACTIONS, label_fraction_indices, per_class_count

# Class sizes 250 / 30 / 7 / 1 (imbalanced, with a singleton class), shuffled.
SIZES = {0: 250, 1: 30, 2: 7, 3: 1}
LABELS = torch.cat([torch.full((n,), c) for c, n in SIZES.items()])[
    torch.randperm(288, generator=torch.Generator().manual_seed(0))
]


def test_label_fractions_constant() -> None:
    assert LABEL_FRACTIONS == (0.01, 0.02, 0.05, 0.10, 0.20, 1.0)


def test_per_class_count_rounds_half_up_with_floor_of_one() -> None:
    assert per_class_count(0.1, 25) == 3  # 2.5 -> 3 (Python's round would give 2)
    assert per_class_count(0.1, 24) == 2  # 2.4 -> 2
    assert per_class_count(0.01, 30) == 1  # 0.3 -> 0 -> at least 1
    assert per_class_count(0.5, 1) == 1
    assert per_class_count(1.0, 7) == 7


@pytest.mark.parametrize("fraction", LABEL_FRACTIONS[:-1])
def test_stratified_counts(fraction: float) -> None:
    idx = label_fraction_indices(LABELS, fraction, seed=0)
    counts = torch.bincount(LABELS[idx], minlength=4).tolist()
    expected = [max(1, math.floor(fraction * n + 0.5)) for n in SIZES.values()]
    assert counts == expected
    assert all(c >= 1 for c in counts)
    assert torch.equal(idx, idx.sort().values) and idx.unique().numel() == idx.numel()
    assert idx.dtype == torch.int64


def test_known_counts_at_ten_percent() -> None:
    idx = label_fraction_indices(LABELS, 0.10, seed=0)
    # 250 -> 25, 30 -> 3, 7 -> 0.7 -> 1, 1 -> 0.1 -> at least 1
    assert torch.bincount(LABELS[idx]).tolist() == [25, 3, 1, 1]


def test_deterministic_per_seed_and_seeds_differ() -> None:
    a = label_fraction_indices(LABELS, 0.2, seed=1)
    b = label_fraction_indices(LABELS, 0.2, seed=1)
    c = label_fraction_indices(LABELS, 0.2, seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.equal(torch.bincount(LABELS[a]), torch.bincount(LABELS[c]))


def test_leaves_global_rng_alone() -> None:
    state = torch.get_rng_state()
    label_fraction_indices(LABELS, 0.05, seed=3)
    assert torch.equal(torch.get_rng_state(), state)


def test_fraction_one_returns_everything() -> None:
    assert torch.equal(label_fraction_indices(LABELS, 1.0, seed=5), torch.arange(288))
    assert torch.equal(label_fraction_indices(LABELS, 1, seed=5), torch.arange(288))


def test_arbitrary_integer_labels() -> None:
    labels = torch.tensor([-1, 5, 5, 5, -1, 9, 9, 9, 9, 9], dtype=torch.int32)
    idx = label_fraction_indices(labels, 0.5, seed=0)
    # -1: 2 * 0.5 = 1, 5: 1.5 -> 2, 9: 2.5 -> 3
    assert sorted(labels[idx].tolist()) == [-1, 5, 5, 9, 9, 9]


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.01, float("nan")])
def test_bad_fraction_raises(fraction: float) -> None:
    with pytest.raises(ValueError, match=r"fraction must lie in \(0, 1\]"):
        label_fraction_indices(LABELS, fraction, seed=0)


def test_bad_inputs() -> None:
    with pytest.raises(TypeError, match="fraction must be a number"):
        label_fraction_indices(LABELS, "0.1", seed=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed must be an int"):
        label_fraction_indices(LABELS, 0.1, seed=0.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        label_fraction_indices(LABELS.float(), 0.1, seed=0)
    with pytest.raises(ValueError, match="labels must be 1-D"):
        label_fraction_indices(LABELS.view(2, -1), 0.1, seed=0)
    with pytest.raises(ValueError, match="labels is empty"):
        label_fraction_indices(LABELS[:0], 0.1, seed=0)

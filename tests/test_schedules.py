"""Schedules against their formulas: warm-up + cosine and step learning rates, the cosine EMA momentum,
the evaluation cosine."""

from __future__ import annotations

import itertools
import math

import pytest

from rqbench.schedules import cosine_lr, cosine_momentum, half_cosine, warmup_cosine, warmup_step


def test_warmup_cosine_formula() -> None:
    assert warmup_cosine(0, 100, 10, 1.0) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10, 1.0) == pytest.approx(1.0)
    assert warmup_cosine(10, 100, 10, 1.0) == pytest.approx(1.0)
    assert warmup_cosine(55, 100, 10, 1.0) == pytest.approx(0.5 * (1 + math.cos(math.pi * 45 / 90)))
    assert warmup_cosine(100, 100, 10, 1.0) == pytest.approx(0.0)
    assert warmup_cosine(5, 100, 0, 2.0) == pytest.approx(2.0 * 0.5 * (1 + math.cos(math.pi * 5 / 100)))


def test_step_schedule_divides_by_ten_at_milestones() -> None:
    # MID-Net: lr 0.03, /10 at epochs 200 and 300 (10 steps per epoch here).
    assert warmup_step(1999, 10, 0, 0.03, (200, 300)) == pytest.approx(0.03)
    assert warmup_step(2000, 10, 0, 0.03, (200, 300)) == pytest.approx(0.003)
    assert warmup_step(3000, 10, 0, 0.03, (200, 300)) == pytest.approx(0.0003)


def test_cosine_momentum_endpoints_and_midpoint():
    assert cosine_momentum(0, 100, 0.99) == pytest.approx(0.99, abs=1e-15)
    # cos(pi/2) = 0: m = 1 - (1 - 0.99) / 2
    assert cosine_momentum(50, 100, 0.99) == pytest.approx(0.995, abs=1e-15)
    assert cosine_momentum(100, 100, 0.99) == pytest.approx(1.0, abs=1e-15)


def test_cosine_momentum_matches_formula_everywhere():
    for t in (1, 13, 25, 77, 99):
        expected = 1 - (1 + math.cos(math.pi * t / 100)) * (1 - 0.996) / 2
        assert cosine_momentum(t, 100, 0.996) == pytest.approx(expected, abs=1e-15)
    # monotone non-decreasing
    ms = [cosine_momentum(t, 40, 0.9) for t in range(41)]
    assert all(a <= b for a, b in itertools.pairwise(ms))


def test_cosine_momentum_saturates_past_the_end():
    assert cosine_momentum(150, 100, 0.99) == 1.0


@pytest.mark.parametrize("args", [(0, 0, 0.99), (-1, 10, 0.99), (0, 10, 1.5), (0, 10, -0.1)])
def test_cosine_momentum_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        cosine_momentum(*args)


def test_half_cosine_and_the_evaluation_cosine() -> None:
    assert (half_cosine(0.0), half_cosine(0.5), half_cosine(1.0)) == (1.0, pytest.approx(0.5), 0.0)
    assert half_cosine(-1.0) == 1.0 and half_cosine(2.0) == 0.0
    assert cosine_lr(0.1, 5, 10) == pytest.approx(0.05) and cosine_lr(1.0, 1, 3) == pytest.approx(
        0.5 * (1 + math.cos(math.pi / 3))
    )

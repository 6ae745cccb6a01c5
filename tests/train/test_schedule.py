"""Learning-rate schedules against their formulas."""

from __future__ import annotations

import math

import pytest

from rqbench.train.schedule import warmup_cosine, warmup_step


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

"""The benchmark's mask-based baseline computes the same algorithm as rqbench (same draws, same output)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

spec = importlib.util.spec_from_file_location("rq_speed", Path(__file__).parents[1] / "benchmarks" / "rq_speed.py")
assert spec and spec.loader
rq_speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rq_speed)


@pytest.mark.parametrize(("shape", "channel_dim"), [((4, 3, 8, 8), 1), ((3, 50, 3), -1), ((2, 16, 32), -1)])
@pytest.mark.parametrize("bins", [1, 5, 30])
def test_mask_baseline_equals_rqbench(shape, channel_dim, bins) -> None:
    x = torch.randn(shape)
    ours = rq_speed.randomized_quantization(
        x, bins, channel_dim=channel_dim, generator=torch.Generator().manual_seed(0)
    )
    mask = rq_speed.mask_based(x, bins, channel_dim, torch.Generator().manual_seed(0))
    torch.testing.assert_close(ours, mask, rtol=0, atol=0)


def test_round_ratios_pair_calls_of_the_same_round() -> None:
    """Known answer: ratios 2, 4, 6, 8, 10 (inclusive quartiles 4, 6, 8), whatever each round's speed; a
    slow round that slows both calls alike leaves its ratio unchanged."""
    slow = [10.0, 1.0, 1.0, 1.0, 1.0]  # the first round ran 10x slower for both
    fused = [2.0 * slow[0], 4.0, 6.0, 8.0, 10.0]
    assert rq_speed.round_ratio_quartiles(fused, slow) == (4.0, 6.0, 8.0)
    with pytest.raises(ValueError):
        rq_speed.round_ratio_quartiles([1.0, 2.0], [1.0])

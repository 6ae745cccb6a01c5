"""The math of randomized quantization: known answers, invariants, distributions."""

from __future__ import annotations

import math

import pytest
import torch

from rqbench.augment.functional import randomized_quantization, sample_quantizer


def uniform_quantizer(x: torch.Tensor, bins: int) -> torch.Tensor:
    """Deterministic uniform quantizer with midpoint values, per (sample, channel) of (B, C, M)."""
    lo, hi = x.amin(-1, keepdim=True), x.amax(-1, keepdim=True)
    width = (hi - lo) / bins
    k = torch.floor((x - lo) / width).clamp(max=bins - 1)
    return lo + (k + 0.5) * width


def per_channel(x: torch.Tensor, channel_dim: int, batch_dims: int = 1) -> torch.Tensor:
    """(S, C, M) view of x: samples, channels, everything else."""
    s = math.prod(x.shape[:batch_dims])
    c = x.shape[channel_dim]
    return (
        x.reshape(s, *x.shape[batch_dims:])
        .movedim(channel_dim - batch_dims + 1 if channel_dim >= 0 else channel_dim, 1)
        .reshape(s, c, -1)
    )


def test_uniform_midpoint_is_the_uniform_quantizer_known_answer() -> None:
    x = torch.rand(4, 3, 17, 19, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    out = randomized_quantization(x, 8, spacing="uniform", values="midpoint")
    expected = uniform_quantizer(x.reshape(4, 3, -1), 8).reshape(x.shape)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


def test_hand_worked_example() -> None:
    # One channel with values 0..10, 2 uniform bins: [0, 5) -> 2.5, [5, 10] -> 7.5.
    x = torch.arange(11, dtype=torch.float32).view(1, 1, 11)
    out = randomized_quantization(x, 2, spacing="uniform", values="midpoint")
    assert out.flatten().tolist() == [2.5] * 5 + [7.5] * 6


@pytest.mark.parametrize("bins", [1, 2, 5, 8, 30])
@pytest.mark.parametrize(
    ("shape", "channel_dim", "batch_dims"),
    [
        ((6, 3, 8, 9), 1, 1),
        ((3, 8, 9), 0, 0),
        ((5, 1, 16, 12), 1, 1),
        ((200, 3), -1, 0),
        ((4, 100, 3), -1, 1),
        ((3, 16, 32), -1, 1),
    ],
)
def test_invariants_at_most_bins_values_inside_range_monotone(shape, channel_dim, batch_dims, bins) -> None:
    gen = torch.Generator().manual_seed(bins)
    x = torch.randn(shape, generator=gen)
    out = randomized_quantization(x, bins, channel_dim=channel_dim, batch_dims=batch_dims, generator=gen)
    assert out.shape == x.shape and out.dtype == x.dtype
    xs, ys = per_channel(x, channel_dim, batch_dims), per_channel(out, channel_dim, batch_dims)
    for s in range(xs.shape[0]):
        for c in range(xs.shape[1]):
            xi, yi = xs[s, c], ys[s, c]
            assert len(torch.unique(yi)) <= bins
            assert yi.min() >= xi.min() and yi.max() <= xi.max()
            order = torch.argsort(xi)
            assert bool((yi[order].diff() >= 0).all()), "quantizer must be monotone non-decreasing"


def test_min_and_max_taken_per_sample_and_channel() -> None:
    # Channels with very different ranges keep their own ranges.
    x = torch.stack([torch.linspace(0, 1, 50), torch.linspace(100, 200, 50)]).unsqueeze(0)
    out = randomized_quantization(x, 4, generator=torch.Generator().manual_seed(0))
    assert 0 <= out[0, 0].min() and out[0, 0].max() <= 1
    assert 100 <= out[0, 1].min() and out[0, 1].max() <= 200


def test_constant_channel_stays_constant() -> None:
    x = torch.randn(2, 3, 10, 10)
    x[0, 1] = 3.25
    x[1, 2] = -7.0
    out = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(0))
    assert bool((out[0, 1] == 3.25).all()) and bool((out[1, 2] == -7.0).all())


def test_one_bin_collapses_each_channel() -> None:
    x = torch.randn(5, 3, 7, 7)
    out = randomized_quantization(x, 1)
    flat = out.flatten(2)
    assert bool((flat == flat[..., :1]).all())
    assert bool((flat[..., 0] >= x.flatten(2).amin(-1)).all()) and bool((flat[..., 0] <= x.flatten(2).amax(-1)).all())


def test_p_zero_is_identity_and_p_one_always_applies() -> None:
    x = torch.randn(64, 3, 6, 6)
    assert torch.equal(randomized_quantization(x, 4, p=0.0), x)
    out = randomized_quantization(x, 4, p=1.0)
    distinct = [len(torch.unique(out[i, c])) for i in range(64) for c in range(3)]
    assert max(distinct) <= 4  # every sample was quantized (36 distinct inputs per channel)


def test_p_applies_per_sample() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(400, 2, 5, 5, generator=gen)
    out = randomized_quantization(x, 3, p=0.3, generator=gen)
    changed = (out != x).flatten(1).any(1)
    untouched = ~changed
    assert torch.equal(out[untouched], x[untouched])
    # 400 Bernoulli(0.3) draws: 120 expected, sd 9.2; 5 sd tolerance.
    assert abs(int(changed.sum()) - 120) < 46


def test_same_seed_same_output_and_calls_are_independent() -> None:
    x = torch.randn(8, 3, 12, 12)
    a = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(42))
    b = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(42))
    assert torch.equal(a, b)
    gen = torch.Generator().manual_seed(42)
    q, k = randomized_quantization(x, 8, generator=gen), randomized_quantization(x, 8, generator=gen)
    assert not torch.equal(q, k), "query and key views must get independent draws"


def test_samples_get_independent_quantizers() -> None:
    x = torch.randn(1, 3, 12, 12).expand(2, 3, 12, 12).contiguous()
    out = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(out[0], out[1])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtypes(dtype) -> None:
    x = torch.randn(4, 3, 9, 9).to(dtype)
    out = randomized_quantization(x, 5, generator=torch.Generator().manual_seed(0))
    assert out.dtype == dtype
    flat_x, flat_y = x.flatten(2), out.flatten(2)
    assert bool((flat_y >= flat_x.amin(-1, keepdim=True)).all()) and bool(
        (flat_y <= flat_x.amax(-1, keepdim=True)).all()
    )
    assert max(len(torch.unique(flat_y[i, c])) for i in range(4) for c in range(3)) <= 5


def test_no_gradient_by_default_and_straight_through_option() -> None:
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    assert not randomized_quantization(x, 4).requires_grad
    y = randomized_quantization(x, 4, straight_through=True)
    y.sum().backward()
    assert x.grad is not None and torch.equal(x.grad, torch.ones_like(x))


def test_p_below_one_keeps_gradient_of_untouched_samples() -> None:
    x = torch.randn(6, 2, 3, 3, requires_grad=True)
    y = randomized_quantization(x, 4, p=0.5, generator=torch.Generator().manual_seed(1))
    y.sum().backward()
    untouched = (y.detach() == x.detach()).flatten(1).all(1)
    assert bool(untouched.any()) and bool((~untouched).any())
    assert bool((x.grad[untouched] == 1).all()) and bool((x.grad[~untouched] == 0).all())


def test_empty_tensor_returns_empty() -> None:
    for shape in [(0, 3, 4, 4), (2, 3, 0, 4)]:
        out = randomized_quantization(torch.empty(shape), 8)
        assert out.shape == shape


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bins": 0}, ValueError, "bins must be >= 1"),
        ({"bins": 2.5}, TypeError, "bins must be an int"),
        ({"p": 1.5}, ValueError, r"p must lie in \[0, 1\]"),
        ({"p": -0.1}, ValueError, r"p must lie in \[0, 1\]"),
        ({"channel_dim": 4}, ValueError, "channel_dim 4 is out of range"),
        ({"channel_dim": 0}, ValueError, "channel_dim 0 is out of range"),
        ({"spacing": "log"}, ValueError, "unknown spacing 'log'"),
        ({"values": "mean"}, ValueError, "unknown values 'mean'"),
    ],
)
def test_bad_arguments(kwargs, error, match) -> None:
    args = {"bins": 8, **kwargs}
    with pytest.raises(error, match=match):
        randomized_quantization(torch.randn(2, 3, 4, 4), args.pop("bins"), **args)


@pytest.mark.parametrize(
    "bad",
    [
        torch.ones(2, 3, 4, dtype=torch.int64),
        torch.ones(2, 3, 4, dtype=torch.bool),
        torch.ones(2, 3, dtype=torch.uint8),
    ],
)
def test_integer_and_bool_tensors_rejected(bad) -> None:
    with pytest.raises(TypeError, match="floating-point"):
        randomized_quantization(bad, 4)


@pytest.mark.parametrize(("value", "name"), [(float("nan"), "NaN"), (float("inf"), "inf"), (-float("inf"), "inf")])
def test_non_finite_input_rejected(value, name) -> None:
    x = torch.randn(2, 3, 4, 4)
    x[1, 2, 3, 0] = value
    with pytest.raises(ValueError, match=name):
        randomized_quantization(x, 4)


def test_rank_too_small_for_batch_dims() -> None:
    with pytest.raises(ValueError, match="no axes left"):
        randomized_quantization(torch.randn(5), 4, channel_dim=0, batch_dims=1)


# ---- distributions -------------------------------------------------------------------------


def ks_statistic(samples: torch.Tensor) -> float:
    """Kolmogorov-Smirnov distance of ``samples`` to U(0, 1)."""
    s = samples.double().sort().values
    n = s.numel()
    upper = torch.arange(1, n + 1, dtype=torch.float64) / n - s
    lower = s - torch.arange(0, n, dtype=torch.float64) / n
    return float(torch.maximum(upper, lower).max())


# Critical value of the one-sample KS test at significance 0.001: 1.95 / sqrt(n).
def ks_critical(n: int) -> float:
    return 1.95 / math.sqrt(n)


def test_cut_points_are_uniform_and_sorted() -> None:
    gen = torch.Generator().manual_seed(2024)
    lo, hi = torch.full((4000,), -2.0, dtype=torch.float64), torch.full((4000,), 3.0, dtype=torch.float64)
    edges, _ = sample_quantizer(lo, hi, 8, generator=gen)
    assert bool((edges.diff(dim=-1) >= 0).all())
    u = (edges - lo[:, None]) / (hi - lo)[:, None]
    # The unordered cut points are i.i.d. U(0, 1): pooled, they are uniform.
    assert ks_statistic(u.flatten()) < ks_critical(u.numel())
    # The k-th of n-1 sorted uniforms is Beta(k, n-k): mean k/n (n = 8); sd <= 0.17, 4000 draws -> se 0.003.
    means = u.mean(0)
    torch.testing.assert_close(means, torch.arange(1, 8, dtype=torch.float64) / 8, atol=0.012, rtol=0)


def test_reproduction_values_are_uniform_inside_their_bins() -> None:
    gen = torch.Generator().manual_seed(7)
    lo, hi = torch.zeros(3000, dtype=torch.float64), torch.full((3000,), 10.0, dtype=torch.float64)
    edges, values = sample_quantizer(lo, hi, 5, generator=gen)
    bounds = torch.cat([lo[:, None], edges, hi[:, None]], dim=1)
    left, right = bounds[:, :-1], bounds[:, 1:]
    assert bool((values >= left).all()) and bool((values <= right).all())
    frac = (values - left) / (right - left)
    assert ks_statistic(frac.flatten()) < ks_critical(frac.numel())


def test_end_to_end_cut_points_uniform() -> None:
    # A dense ramp per channel reveals where the output jumps: those are the cut points.
    gen = torch.Generator().manual_seed(11)
    m = 4001
    x = torch.linspace(0, 1, m, dtype=torch.float64).expand(500, 1, m).contiguous()
    out = randomized_quantization(x, 4, generator=gen)
    jumps = (out[:, 0].diff(dim=-1) != 0).nonzero()[:, 1].double() / (m - 1)  # normalized cut positions
    # 3 cuts per channel (two may fall in the same grid cell with probability ~1e-3).
    assert abs(jumps.numel() - 1500) < 10
    assert ks_statistic(jumps) < ks_critical(jumps.numel()) + 1.0 / m


def test_midpoint_values_are_bin_centres_and_uniform_spacing_is_even() -> None:
    lo, hi = torch.tensor([1.0]), torch.tensor([5.0])
    edges, values = sample_quantizer(lo, hi, 4, spacing="uniform", values="midpoint")
    assert edges.tolist() == [[2.0, 3.0, 4.0]]
    assert values.tolist() == [[1.5, 2.5, 3.5, 4.5]]

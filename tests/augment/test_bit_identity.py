"""Both backends reproduce the algorithm as it stood before the fused path, bit for bit.

``todays_rq`` below is the pre-fused implementation's assembly (``torch.aminmax`` for the ranges,
then the unchanged :func:`sample_quantizer` and :func:`apply_quantizer`): committed results depend
on these bits, so every change of speed must keep them, signed zeros included.
"""

from __future__ import annotations

import math

import pytest
import torch

from rqbench.augment import fused, native, randomized_quantization
from rqbench.augment.base import rand
from rqbench.augment.functional import apply_quantizer, channel_range, sample_quantizer

needs_compiler = pytest.mark.skipif(
    fused.compile_unavailable_reason("cpu") is not None, reason="torch.compile cannot build CPU kernels here"
)


def todays_rq(x, bins, *, channel_dim=1, batch_dims=1, spacing="random", values="random", p=1.0, generator=None):
    """Randomized quantization exactly as before the fused path (no gradients, no checks)."""
    cd = channel_dim % x.ndim
    sample_shape = x.shape[batch_dims:]
    num = math.prod(x.shape[:batch_dims])
    cd_in_sample = cd - batch_dims + 1
    flat = x.reshape(num, *sample_shape)
    moved = flat.movedim(cd_in_sample, 1)
    moved_shape = moved.shape
    grouped = moved.reshape(num, x.shape[cd], -1)
    lo, hi = torch.aminmax(grouped, dim=-1)
    chosen = None
    if p < 1.0:
        chosen = (rand((num,), generator, x.device) < p).nonzero().squeeze(1)
        grouped, lo, hi = grouped.index_select(0, chosen), lo[chosen], hi[chosen]
        moved_shape = (chosen.numel(), *moved_shape[1:])
    if grouped.shape[0]:
        edges, reproduction = sample_quantizer(lo, hi, bins, spacing=spacing, values=values, generator=generator)
        q = apply_quantizer(grouped, edges, reproduction)
    else:
        q = grouped
    q = q.view(moved_shape).movedim(1, cd_in_sample)
    if chosen is None:
        return q.reshape(x.shape).contiguous()
    out = x.clone().reshape(num, *sample_shape)
    out[chosen] = q
    return out.reshape(x.shape)


def bits(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous().view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()])


def zero_heavy(shape: tuple[int, ...], channel_dim: int, seed: int) -> torch.Tensor:
    """Data whose channel minima and maxima are often zeros of either sign."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=gen)
    x = torch.where(torch.rand(shape, generator=gen) < 0.3, torch.zeros(()), x)  # +0
    x = torch.where(torch.rand(shape, generator=gen) < 0.3, torch.tensor(-0.0), x)  # -0
    moved = x.movedim(channel_dim, 1).contiguous()
    moved[0, 0] = moved[0, 0].abs()  # min is zero, max > 0
    moved[-1, -1] = -moved[-1, -1].abs()  # max is zero, min < 0
    moved[0, 0].view(-1)[:3] = -0.0  # with zeros of both signs
    moved[-1, -1].view(-1)[-3:] = 0.0
    return moved.movedim(1, channel_dim).contiguous()


def signed_zeros(n: int, seed: int = 0) -> torch.Tensor:
    """``n`` zeros with random signs (``amin`` and ``aminmax`` disagree on the sign of the min of many of these)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.where(torch.rand(n, generator=gen) < 0.5, torch.tensor(-0.0), torch.tensor(0.0))


def mixed_zero_channel(x: torch.Tensor, channel_dim: int) -> torch.Tensor:
    """``x`` with one channel made of +0 and -0 only (the case where the min's sign could reach the output)."""
    moved = x.movedim(channel_dim, 1).contiguous()
    moved[0, 0] = signed_zeros(moved[0, 0].numel()).view(moved[0, 0].shape)
    return moved.movedim(1, channel_dim).contiguous()


LAYOUTS = [
    ((6, 3, 20, 24), 1, 1),
    ((5, 1, 16, 12), 1, 1),
    ((3, 9, 11), 0, 0),
    ((4, 100, 3), -1, 1),
    ((3, 16, 32), -1, 1),
    ((2, 10, 40), -1, 1),
]


@pytest.mark.parametrize(("shape", "channel_dim", "batch_dims"), LAYOUTS)
@pytest.mark.parametrize("data", ["normal", "zero-heavy", "mixed-zero channel"])
@pytest.mark.parametrize("p", [1.0, 0.6])
def test_eager_is_todays_algorithm_bit_for_bit(shape, channel_dim, batch_dims, data, p) -> None:
    x = (
        torch.randn(shape, generator=torch.Generator().manual_seed(0))
        if data == "normal"
        else zero_heavy(shape, channel_dim, 1)
    )
    if data == "mixed-zero channel":
        x = mixed_zero_channel(x, channel_dim)
    for bins, spacing, values in [
        (8, "random", "random"),
        (5, "uniform", "random"),
        (30, "random", "midpoint"),
        (1, "random", "random"),
    ]:
        kwargs = {"channel_dim": channel_dim, "batch_dims": batch_dims, "spacing": spacing, "values": values, "p": p}
        ours = randomized_quantization(
            x, bins, generator=torch.Generator().manual_seed(bins), backend="eager", **kwargs
        )
        today = todays_rq(x, bins, generator=torch.Generator().manual_seed(bins), **kwargs)
        assert torch.equal(bits(ours), bits(today)), f"bins={bins} spacing={spacing} values={values}"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_eager_is_todays_algorithm_in_every_dtype(dtype) -> None:
    for shape, channel_dim, batch_dims in LAYOUTS:
        x = zero_heavy(shape, channel_dim, 2).to(dtype)
        kwargs = {"channel_dim": channel_dim, "batch_dims": batch_dims}
        ours = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(3), backend="eager", **kwargs)
        today = todays_rq(x, 8, generator=torch.Generator().manual_seed(3), **kwargs)
        assert torch.equal(bits(ours), bits(today))


def test_global_generator_draws_are_unchanged() -> None:
    x = zero_heavy((6, 3, 20, 24), 1, 4)
    torch.manual_seed(11)
    ours = randomized_quantization(x, 8, p=0.5, backend="eager")
    torch.manual_seed(11)
    today = todays_rq(x, 8, p=0.5)
    assert torch.equal(bits(ours), bits(today))


def test_channel_range_equals_aminmax_in_value() -> None:
    for shape, channel_dim, _ in LAYOUTS:
        x = zero_heavy(shape, channel_dim, 5)
        grouped = x.movedim(channel_dim, 1).reshape(x.shape[0], x.shape[channel_dim], -1)
        lo, hi = channel_range(grouped)
        ref_lo, ref_hi = torch.aminmax(grouped, dim=-1)
        assert torch.equal(lo, ref_lo) and torch.equal(hi, ref_hi)  # == treats +0 and -0 alike


def test_mixed_zero_rows_can_differ_in_sign_between_amin_and_aminmax() -> None:
    # Why the draws must not depend on the sign of a zero range: the two reductions disagree on it.
    grouped = signed_zeros(480).view(1, 1, -1)
    signs = {torch.signbit(r).item() for r in (grouped.amin(-1), torch.aminmax(grouped, dim=-1).min)}
    if len(signs) == 1:
        pytest.skip("this build's reductions agree on this row; the draws test below holds either way")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("uniform_draws", ["random", "zero", "almost one"])
@pytest.mark.parametrize("bins", [1, 2, 3, 8])
def test_draws_ignore_the_sign_of_a_zero_range(dtype, uniform_draws, bins, monkeypatch) -> None:
    # (lo, hi) pairs that differ only in the sign of a zero give the same edges and values, bit for bit.
    if uniform_draws != "random":
        fill = 0.0 if uniform_draws == "zero" else 1.0 - 2.0**-24

        def constant(shape, generator, device, dtype=torch.float32):
            return torch.full(shape, fill, device=device, dtype=dtype)

        monkeypatch.setattr("rqbench.augment.functional.rand", constant)
    for other in (0.0, 1.5, -1.5, 1e-3, -1e-3):
        zeros = (0.0, -0.0)
        pairs = (
            [(a, b) for a in zeros for b in zeros]
            if other == 0
            else [(a, other) for a in zeros]
            if other > 0
            else [(other, b) for b in zeros]
        )
        for spacing in ("random", "uniform"):
            for values in ("random", "midpoint"):
                drawn = []
                for lo, hi in pairs:
                    lo_t, hi_t = torch.full((20,), lo, dtype=dtype), torch.full((20,), hi, dtype=dtype)
                    e, v = sample_quantizer(
                        lo_t, hi_t, bins, spacing=spacing, values=values, generator=torch.Generator().manual_seed(bins)
                    )
                    drawn.append((bits(e), bits(v)))
                assert all(torch.equal(d[0], drawn[0][0]) and torch.equal(d[1], drawn[0][1]) for d in drawn), (
                    other,
                    spacing,
                    values,
                )


@needs_compiler
@pytest.mark.parametrize(("shape", "channel_dim", "batch_dims"), [((6, 3, 20, 24), 1, 1), ((4, 100, 3), -1, 1)])
@pytest.mark.parametrize("p", [1.0, 0.6])
@pytest.mark.parametrize("path", ["native", "inductor"])
def test_compiled_is_todays_algorithm_bit_for_bit(shape, channel_dim, batch_dims, p, path, monkeypatch) -> None:
    """Both fused paths: the C++ kernel (``compiled`` on CPU float32/float64) and ``torch.compile``."""
    if path == "inductor":
        monkeypatch.setattr(native, "kernel_for", lambda x, bins: None)
    elif native.kernel() is None:
        pytest.skip(f"C++ kernel unavailable: {native.unavailable_reason()}")
    bins = 8 if channel_dim == 1 else 30  # families the other tests compile too
    for data in ("normal", "zero-heavy", "mixed-zero channel"):
        x = (
            torch.randn(shape, generator=torch.Generator().manual_seed(0))
            if data == "normal"
            else zero_heavy(shape, channel_dim, 6)
        )
        if data == "mixed-zero channel":
            x = mixed_zero_channel(x, channel_dim)
        kwargs = {"channel_dim": channel_dim, "batch_dims": batch_dims, "p": p}
        ours = randomized_quantization(
            x, bins, generator=torch.Generator().manual_seed(7), backend="compiled", **kwargs
        )
        today = todays_rq(x, bins, generator=torch.Generator().manual_seed(7), **kwargs)
        assert torch.equal(bits(ours), bits(today)), data

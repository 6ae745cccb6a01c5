"""The fused (compiled) lookup of randomized quantization: same draws, same output as eager, bit for bit.

The compiled tests compile a handful of kernel families (a few seconds each; the first compile of
a process also probes the CPU, tens of seconds on a slow machine). No test here is timed: speed is
measured by ``benchmarks/rq_speed.py``.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from rqbench.augment import RandomizedQuantization, build_pipeline, fused, native, randomized_quantization
from rqbench.augment.base import ChannelLayout
from rqbench.augment.functional import apply_quantizer, sample_quantizer

needs_compiler = pytest.mark.skipif(
    fused.compile_unavailable_reason("cpu") is not None, reason="torch.compile cannot build CPU kernels here"
)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# (shape, channel_dim, batch_dims, bins): images, log-mel, one image, two batch axes, point clouds, tokens.
LAYOUTS = [
    ((6, 3, 20, 24), 1, 1, 8),
    ((5, 1, 16, 12), 1, 1, 5),
    ((3, 9, 11), 0, 0, 8),
    ((2, 3, 3, 10, 10), 2, 2, 8),
    ((4, 100, 3), -1, 1, 30),
    ((4, 64, 3), -1, 1, 30),
    ((3, 16, 32), -1, 1, 8),
]


def both(x: torch.Tensor, bins: int, seed: int = 0, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """The compiled and the eager output of the same draws."""
    compiled = randomized_quantization(
        x, bins, generator=torch.Generator().manual_seed(seed), backend="compiled", **kwargs
    )
    eager = randomized_quantization(x, bins, generator=torch.Generator().manual_seed(seed), backend="eager", **kwargs)
    return compiled, eager


def assert_bitwise_equal(a: torch.Tensor, b: torch.Tensor) -> None:
    """Equal values, dtype, shape and bit patterns (signed zeros included)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    ints = {2: torch.int16, 4: torch.int32, 8: torch.int64}[a.element_size()]
    assert torch.equal(a.contiguous().view(ints), b.contiguous().view(ints))


def as_sacb(x: torch.Tensor, channel_dim: int, batch_dims: int) -> torch.Tensor:
    """The ``(S, A, C, B)`` view the fused path uses."""
    cd = channel_dim % x.ndim
    s = math.prod(x.shape[:batch_dims])
    return x.reshape(s, math.prod(x.shape[batch_dims:cd]), x.shape[cd], math.prod(x.shape[cd + 1 :]))


@pytest.fixture(autouse=True)
def inductor_path(monkeypatch):
    """The tests here are of the ``torch.compile`` path: the C++ kernel, which ``compiled`` takes first on
    CPU for float32/float64 (``tests/augment/test_native.py``), is switched off."""
    monkeypatch.setattr(native, "kernel_for", lambda x, bins: None)


@pytest.fixture
def fresh_state():
    """Counters and budgets of the fused path as a fresh process has them (kernels compiled before are kept)."""
    saved = {key: (fam.eager_elements, fam.failed) for key, fam in fused.STATE.families.items()}
    yield fused.STATE
    for key in list(fused.STATE.families):
        if key not in saved:
            del fused.STATE.families[key]
        else:
            fused.STATE.families[key].eager_elements, fused.STATE.families[key].failed = saved[key]


# ---- the math of the where chain (no compiler needed) ---------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("bins", [2, 3, 8, 30])
def test_where_chain_is_the_searchsorted_lookup(dtype, bins) -> None:
    gen = torch.Generator().manual_seed(bins)
    x = torch.randn(5, 3, 40, generator=gen).to(dtype)
    lo, hi = torch.aminmax(x, dim=-1)
    edges, values = sample_quantizer(lo, hi, bins, generator=gen)
    x[..., : bins - 1] = edges  # elements exactly on an edge belong to the bin above it
    x[0, 0, -1] = lo[0, 0]
    x[0, 0, -2] = hi[0, 0]
    eager = apply_quantizer(x, edges, values)
    chain = fused.lookup_where(x.view(5, 1, 3, 40), edges.transpose(1, 2), values.transpose(1, 2)).view(5, 3, 40)
    assert_bitwise_equal(chain, eager)


def test_where_chain_with_repeated_edges_takes_the_last_bin() -> None:
    # Edges 1, 1, 2 (a zero-width bin): searchsorted(right=True) puts x = 1 in bin 2.
    edges = torch.tensor([[[1.0, 1.0, 2.0]]])
    values = torch.tensor([[[0.5, 1.0, 1.5, 2.5]]])
    x = torch.tensor([[[0.0, 1.0, 1.5, 2.0, 3.0]]])
    eager = apply_quantizer(x, edges, values)
    chain = fused.lookup_where(x.view(1, 1, 1, 5), edges.transpose(1, 2), values.transpose(1, 2)).view(1, 1, 5)
    assert chain.tolist() == eager.tolist() == [[[0.5, 1.5, 1.5, 2.5, 2.5]]]


def test_where_chain_mask_leaves_other_samples_unchanged() -> None:
    x = torch.randn(4, 1, 2, 10)
    lo, hi = torch.aminmax(x.view(4, 2, 10), dim=-1)
    edges, values = sample_quantizer(lo, hi, 4, generator=torch.Generator().manual_seed(0))
    apply = torch.tensor([True, False, True, False])
    out = fused.lookup_where(x, edges.transpose(1, 2), values.transpose(1, 2), apply)
    full = fused.lookup_where(x, edges.transpose(1, 2), values.transpose(1, 2))
    assert torch.equal(out[~apply], x[~apply]) and torch.equal(out[apply], full[apply])


WIDENED = [((2, 64, 3, 1), 16), ((2, 48, 3, 1), 16), ((2, 100, 3, 1), 1), ((2, 64, 1, 1), 16), ((2, 8, 2, 1), 8),
           ((2, 12, 4, 1), 4), ((2, 10, 32, 1), 1), ((2, 1, 3, 50), 1)]  # fmt: skip


@pytest.mark.parametrize(("shape", "k"), WIDENED)
def test_widened_channels_give_the_same_lookup(shape, k) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen)
    s, _, c, _ = shape
    lo, hi = torch.aminmax(x.movedim(2, 1).reshape(s, c, -1), dim=-1)
    edges, values = sample_quantizer(lo, hi, 6, generator=gen)
    edges_t, values_t = edges.transpose(1, 2).contiguous(), values.transpose(1, 2).contiguous()
    wide, wide_edges, wide_values = fused.widen_channels(x, edges_t, values_t)
    assert wide.shape[2] == k * c and wide.data_ptr() == x.data_ptr()  # a view
    assert_bitwise_equal(
        fused.lookup_where(wide, wide_edges, wide_values).view(shape), fused.lookup_where(x, edges_t, values_t)
    )


def test_family_key_ignores_sizes_but_not_threads_dtype_bins_or_unit_axes() -> None:
    cpu = torch.device("cpu")
    key = fused.family_key((8, 1, 3, 1024), torch.float32, cpu, 8, False)
    assert key == fused.family_key((256, 1, 3, 50176), torch.float32, cpu, 8, False)
    assert key != fused.family_key((8, 1, 3, 1024), torch.float16, cpu, 8, False)
    assert key != fused.family_key((8, 1, 3, 1024), torch.float32, cpu, 5, False)
    assert key != fused.family_key((8, 1, 3, 1024), torch.float32, cpu, 8, True)
    assert key != fused.family_key((8, 1, 1, 1024), torch.float32, cpu, 8, False)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)
        assert key != fused.family_key((8, 1, 3, 1024), torch.float32, cpu, 8, False)
    finally:
        torch.set_num_threads(threads)


def test_backend_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown backend 'triton'"):
        randomized_quantization(torch.randn(2, 3, 4, 4), 8, backend="triton")
    with pytest.raises(ValueError, match="unknown backend"):
        RandomizedQuantization(8, backend="fast")
    assert "backend" not in repr(RandomizedQuantization(8)) and "backend='eager'" in repr(
        RandomizedQuantization(8, backend="eager")
    )


def test_eager_backend_is_todays_path() -> None:
    # Same draws, then searchsorted + index_select: the output written out by hand.
    x = torch.randn(4, 3, 6, 7)
    out = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(3), backend="eager")
    lo, hi = torch.aminmax(x.view(4, 3, -1), dim=-1)
    edges, values = sample_quantizer(lo, hi, 8, generator=torch.Generator().manual_seed(3))
    assert_bitwise_equal(out, apply_quantizer(x.view(4, 3, -1), edges, values).view(x.shape))


def test_auto_leaves_small_inputs_and_short_runs_to_eager(fresh_state) -> None:
    x = torch.randn(8, 3, 16, 16)
    for _ in range(5):
        randomized_quantization(x, 6)
    key = fused.family_key(tuple(as_sacb(x, 1, 1).shape), x.dtype, x.device, 6, False)
    assert key not in fused.STATE.families  # below MIN_FUSED_NUMEL: not even counted
    big = torch.randn(2, 3, 128, 128)
    randomized_quantization(big, 6)
    family = fused.STATE.families[fused.family_key(tuple(as_sacb(big, 1, 1).shape), big.dtype, big.device, 6, False)]
    assert family.kernel is None and family.eager_elements == big.numel()


@pytest.mark.parametrize("bins", [1, fused.MAX_FUSED_BINS + 1])
def test_bins_outside_the_fused_range_use_eager(bins, fresh_state) -> None:
    x = torch.randn(3, 2, 8, 8)
    before = dict(fused.STATE.families)
    compiled, eager = both(x, bins)
    assert_bitwise_equal(compiled, eager)
    assert fused.STATE.families == before


def test_compiled_falls_back_to_eager_without_a_compiler(monkeypatch, fresh_state) -> None:
    monkeypatch.setattr(fused, "compile_unavailable_reason", lambda device_type: "no C++ compiler (test)")
    monkeypatch.setattr(fused.STATE, "unavailable", {})
    x = torch.randn(3, 2, 8, 8)
    with pytest.warns(RuntimeWarning, match="fused path unavailable, using eager: no C\\+\\+ compiler"):
        compiled, eager = both(x, 8)
    assert_bitwise_equal(compiled, eager)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per process
        both(x, 8)


def test_compile_error_falls_back_to_eager_once(monkeypatch, fresh_state) -> None:
    def broken(key):
        raise RuntimeError("compiler exploded (test)")

    monkeypatch.setattr(fused, "_kernel", broken)
    x = torch.randn(3, 2, 8, 9)
    with pytest.warns(
        RuntimeWarning, match="compiling the fused path failed, using eager: RuntimeError: compiler exploded"
    ):
        compiled, eager = both(x, 11)
    assert_bitwise_equal(compiled, eager)
    family = fused.STATE.families[fused.family_key(tuple(as_sacb(x, 1, 1).shape), x.dtype, x.device, 11, False)]
    assert family.failed is not None and family.kernel is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the family stays eager, silently
        compiled, eager = both(x, 11)
    assert_bitwise_equal(compiled, eager)


# ---- the compiled kernel ---------------------------------------------------------------------------------


@needs_compiler
@pytest.mark.parametrize(("shape", "channel_dim", "batch_dims", "bins"), LAYOUTS)
def test_compiled_equals_eager_bit_for_bit(shape, channel_dim, batch_dims, bins) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(7))
    x.view(-1)[:4] = torch.tensor([0.0, -0.0, 0.0, -0.0])  # signed zeros survive the selection
    compiled, eager = both(x, bins, channel_dim=channel_dim, batch_dims=batch_dims)
    assert_bitwise_equal(compiled, eager)
    assert compiled.is_contiguous()
    key = fused.family_key(tuple(as_sacb(x, channel_dim, batch_dims).shape), x.dtype, x.device, bins, False)
    assert fused.STATE.families[key].kernel is not None, "the fused kernel must have run"


@needs_compiler
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_compiled_equals_eager_in_every_dtype(dtype) -> None:
    # Tolerance 0 for half types too: the kernel only compares (float16/bfloat16 widen to float32
    # exactly, so every comparison has the same answer) and selects a stored value.
    x = (torch.randn(6, 3, 20, 24, generator=torch.Generator().manual_seed(1)) * 30).to(dtype)
    compiled, eager = both(x, 8)
    assert_bitwise_equal(compiled, eager)


@needs_compiler
def test_compiled_output_values_are_the_drawn_values_inside_each_range() -> None:
    x = torch.randn(6, 3, 20, 24, generator=torch.Generator().manual_seed(2))
    out = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(4), backend="compiled")
    lo, hi = torch.aminmax(x.view(6, 3, -1), dim=-1)
    _, values = sample_quantizer(lo, hi, 8, generator=torch.Generator().manual_seed(4))
    flat = out.view(6, 3, -1)
    member = (flat.unsqueeze(-1) == values.unsqueeze(2)).any(-1)
    assert bool(member.all()), "every output is one of its channel's drawn values"
    assert bool((flat >= lo.unsqueeze(-1)).all() & (flat <= hi.unsqueeze(-1)).all())


@needs_compiler
def test_no_recompilation_across_batch_and_spatial_sizes() -> None:
    randomized_quantization(torch.randn(6, 3, 20, 24), 8, backend="compiled")
    graphs = fused.STATE.graphs_compiled
    for shape in [(2, 3, 20, 24), (64, 3, 20, 24), (6, 3, 32, 32), (17, 4, 5, 7), (6, 3, 24, 20)]:
        x = torch.randn(shape)
        compiled, eager = both(x, 8)
        assert_bitwise_equal(compiled, eager)
    assert fused.STATE.graphs_compiled == graphs, "a new batch or image size must reuse the compiled kernel"


@needs_compiler
def test_compiled_with_p_below_one_matches_eager_values_and_gradients() -> None:
    x = torch.randn(12, 3, 20, 24, requires_grad=True)
    out = {}
    for backend in ("compiled", "eager"):
        x.grad = None
        y = randomized_quantization(x, 8, p=0.5, generator=torch.Generator().manual_seed(5), backend=backend)
        y.sum().backward()
        out[backend] = (y.detach(), x.grad.clone())
    assert_bitwise_equal(out["compiled"][0], out["eager"][0])
    assert torch.equal(out["compiled"][1], out["eager"][1])
    untouched = (out["eager"][0] == x.detach()).flatten(1).all(1)
    assert bool(untouched.any()) and bool((~untouched).any())


@needs_compiler
def test_compiled_straight_through_gradient() -> None:
    x = torch.randn(6, 3, 20, 24, requires_grad=True)
    assert not randomized_quantization(x, 8, backend="compiled").requires_grad
    y = randomized_quantization(
        x, 8, straight_through=True, generator=torch.Generator().manual_seed(0), backend="compiled"
    )
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))
    eager = randomized_quantization(
        x, 8, straight_through=True, generator=torch.Generator().manual_seed(0), backend="eager"
    )
    assert_bitwise_equal(y.detach(), eager.detach())  # x + (q - x) is not q in floating point, but the same for both


@needs_compiler
def test_non_contiguous_input() -> None:
    x = torch.randn(6, 20, 24, 3).permute(0, 3, 1, 2)  # channels-last memory, (B, C, H, W) shape
    compiled, eager = both(x, 8)
    assert_bitwise_equal(compiled, eager)


@needs_compiler
def test_compiling_draws_nothing_from_the_global_generator() -> None:
    # bins=7 is a family no other test compiles: this call compiles it.
    x = torch.randn(6, 3, 20, 24)
    torch.manual_seed(123)
    compiled = randomized_quantization(x, 7, backend="compiled")  # draws from torch's global RNG
    after_compiled = torch.rand(4)
    torch.manual_seed(123)
    eager = randomized_quantization(x, 7, backend="eager")
    after_eager = torch.rand(4)
    assert_bitwise_equal(compiled, eager)
    assert torch.equal(after_compiled, after_eager)


@needs_compiler
def test_auto_switches_to_the_kernel_mid_run_without_changing_a_bit(monkeypatch, fresh_state) -> None:
    # A pipeline as the trainer builds it, on a stream of batches: auto (compiling once eager has done one
    # batch's worth of elements) against eager, from the same generator seed.
    x = torch.randn(32, 3, 32, 32)
    monkeypatch.setattr(fused, "MIN_FUSED_NUMEL", 1)
    monkeypatch.setitem(fused.AUTO_COMPILE_AFTER_ELEMENTS, "cpu", x.numel())
    layout = ChannelLayout(channel_dim=1)
    auto = build_pipeline("rq(bins=9)", layout=layout, generator=torch.Generator().manual_seed(9))
    eager = build_pipeline("rq(bins=9,backend=eager)", layout=layout, generator=torch.Generator().manual_seed(9))
    key = fused.family_key(tuple(as_sacb(x, 1, 1).shape), x.dtype, x.device, 9, False)
    used = []
    for step in range(5):
        batch = x + step
        assert_bitwise_equal(auto(batch), eager(batch))
        used.append(fused.STATE.families[key].kernel is not None)
    assert used == [False, True, True, True, True]


@needs_compiler
def test_module_compiled_backend_matches_eager_module() -> None:
    x = torch.randn(4, 100, 3)
    compiled = RandomizedQuantization(
        30, channel_dim=-1, generator=torch.Generator().manual_seed(1), backend="compiled"
    )
    eager = RandomizedQuantization(30, channel_dim=-1, generator=torch.Generator().manual_seed(1), backend="eager")
    for _ in range(3):
        assert_bitwise_equal(compiled(x), eager(x))


# ---- CUDA (Triton) ---------------------------------------------------------------------------------------


@needs_cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize(("shape", "channel_dim", "batch_dims", "bins"), LAYOUTS)
def test_cuda_compiled_equals_eager(dtype, shape, channel_dim, batch_dims, bins) -> None:
    x = torch.randn(shape, generator=torch.Generator().manual_seed(3)).to(dtype).cuda()
    for gen in (lambda: torch.Generator().manual_seed(0), lambda: torch.Generator(device="cuda").manual_seed(0)):
        kwargs = {"channel_dim": channel_dim, "batch_dims": batch_dims}
        compiled = randomized_quantization(x, bins, generator=gen(), backend="compiled", **kwargs)
        eager = randomized_quantization(x, bins, generator=gen(), backend="eager", **kwargs)
        assert compiled.device.type == "cuda"
        assert_bitwise_equal(compiled, eager)
    key = fused.family_key(tuple(as_sacb(x, channel_dim, batch_dims).shape), x.dtype, x.device, bins, False)
    assert fused.STATE.families[key].kernel is not None


@needs_cuda
def test_cuda_compiled_p_below_one_and_no_recompilation() -> None:
    x = torch.randn(64, 3, 32, 32, device="cuda")
    compiled = randomized_quantization(x, 8, p=0.5, generator=torch.Generator().manual_seed(1), backend="compiled")
    eager = randomized_quantization(x, 8, p=0.5, generator=torch.Generator().manual_seed(1), backend="eager")
    assert_bitwise_equal(compiled, eager)
    graphs = fused.STATE.graphs_compiled
    for batch in (8, 100, 256):
        y = torch.randn(batch, 3, 32, 32, device="cuda")
        a = randomized_quantization(y, 8, p=0.5, generator=torch.Generator().manual_seed(2), backend="compiled")
        b = randomized_quantization(y, 8, p=0.5, generator=torch.Generator().manual_seed(2), backend="eager")
        assert_bitwise_equal(a, b)
    assert fused.STATE.graphs_compiled == graphs

"""The C++ kernel of randomized quantization (:mod:`rqbench.augment.native`): same draws, same output as
eager, bit for bit, on every layout, dtype, bin count, spacing, value rule and ``p``.

No test here is timed: speed is measured by ``benchmarks/rq_speed.py``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from pathlib import Path

import pytest
import torch

from rqbench.augment import RandomizedQuantization, native, randomized_quantization

needs_kernel = pytest.mark.skipif(
    native.kernel() is None, reason=f"C++ kernel unavailable: {native.unavailable_reason()}"
)

# (shape, channel_dim, batch_dims): images, log-mel, one image, two batch axes, channels between axes,
# point clouds (C = 3), tokens (C = 64, 33: lane blocks that are and are not multiples of the vector),
# a 2-d (samples, channels) input, rows shorter and longer than two vectors, channels too many to tile,
# and for the channel-last register path (periods of lcm(C, vector lanes)): one channel (3 periods and a
# tail) and 16 channels (33 periods, odd, no tail); (4, 100, 3) and (2, 70, 33) end in a partial period;
# for its range pass's accumulator chains (G = period / lanes vectors: 1, 3, 4, 5, 7, 8 in float32, more in
# float64): full rounds of all chains, leftover periods and a tail for C = 1, 7, 10 and 128.
LAYOUTS = [
    ((6, 3, 20, 24), 1, 1),
    ((5, 1, 16, 12), 1, 1),
    ((3, 9, 11), 0, 0),
    ((2, 3, 3, 10, 10), 2, 2),
    ((3, 4, 5, 6), 2, 1),
    ((4, 100, 3), -1, 1),
    ((3, 16, 64), -1, 1),
    ((2, 70, 33), -1, 1),
    ((7, 5), -1, 1),
    ((4, 2, 37), 1, 1),
    ((2, 3, 5000), -1, 1),
    ((3, 50, 1), -1, 1),
    ((2, 33, 16), -1, 1),
    ((3, 700, 1), -1, 1),
    ((2, 90, 7), -1, 1),
    ((2, 64, 10), -1, 1),
    ((2, 21, 128), -1, 1),
]


def bits(t: torch.Tensor) -> torch.Tensor:
    """The bit patterns of ``t`` (signed zeros included)."""
    return t.contiguous().view({4: torch.int32, 8: torch.int64}[t.element_size()])


def both(x: torch.Tensor, bins: int, seed: int = 0, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel's and eager's outputs for the same draws."""
    fast = randomized_quantization(x, bins, generator=torch.Generator().manual_seed(seed), backend="compiled", **kwargs)
    slow = randomized_quantization(x, bins, generator=torch.Generator().manual_seed(seed), backend="eager", **kwargs)
    return fast, slow


def data(shape: tuple[int, ...], kind: str, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    """Test inputs: normal values, rounded values (many ties with each other, zeros of both signs), a constant."""
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 3
    if kind == "ties":
        x = x.round()
        x[x == 0] = -0.0 if seed % 2 else 0.0
    elif kind == "constant":
        x = torch.full(shape, 1.25, dtype=dtype)
    return x


@needs_kernel
@pytest.mark.parametrize(("shape", "channel_dim", "batch_dims"), LAYOUTS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_equals_eager_bit_for_bit(shape, channel_dim, batch_dims, dtype) -> None:
    for bins, spacing, values, p, kind in itertools.product(
        [1, 2, 5, 8, 30, 64], ["random", "uniform"], ["random", "midpoint"], [1.0, 0.5], ["normal", "ties", "constant"]
    ):
        x = data(shape, kind, dtype, seed=bins)
        kwargs = {"channel_dim": channel_dim, "batch_dims": batch_dims, "spacing": spacing, "values": values, "p": p}
        fast, slow = both(x, bins, seed=bins, **kwargs)
        assert fast.dtype == slow.dtype and fast.shape == slow.shape
        assert torch.equal(bits(fast), bits(slow)), (shape, dtype, bins, spacing, values, p, kind)


@needs_kernel
def test_kernel_is_used_and_quantizes() -> None:
    """The output really is quantized (at most ``bins`` values per channel, inside the channel's range), and
    the eager path is not what produced it (the kernel is called)."""
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    calls = []
    kern = native.kernel()
    assert kern is not None
    originals = {name: getattr(kern, name) for name in ("quantize", "quantize_drawing")}

    def spy(name):
        def call(*args, **kwargs):
            calls.append(name)
            return originals[name](*args, **kwargs)

        return call

    for name in originals:
        setattr(kern, name, spy(name))
    try:
        out = randomized_quantization(x, 5, generator=torch.Generator().manual_seed(0))
    finally:
        for name in originals:
            delattr(kern, name)
    assert calls == ["quantize_drawing"]  # one operator call: the draws are made inside it
    for s, c in itertools.product(range(4), range(3)):
        vals = out[s, c].unique()
        assert 1 <= vals.numel() <= 5
        assert vals.min() >= x[s, c].min() and vals.max() <= x[s, c].max()


@needs_kernel
def test_thread_counts_give_the_same_output() -> None:
    x = torch.randn(64, 2048, 3, generator=torch.Generator().manual_seed(2))
    before = torch.get_num_threads()
    outs = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            outs.append(randomized_quantization(x, 8, channel_dim=-1, generator=torch.Generator().manual_seed(0)))
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(bits(o), bits(outs[0])) for o in outs)


@needs_kernel
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("p", [1.0, 0.3])
def test_non_finite_input_is_refused_like_eager(bad, p) -> None:
    """Every sample is checked, quantized or not (eager checks them all too)."""
    for shape, channel_dim in [((4, 3, 8, 8), 1), ((4, 50, 3), -1)]:
        x = torch.randn(shape)
        x.view(-1)[x.numel() - 2] = bad  # the last sample
        kind = "NaN" if bad != bad else "inf"
        for backend in ("compiled", "eager"):
            with pytest.raises(ValueError, match=f"contains {kind} values"):
                randomized_quantization(x, 8, channel_dim=channel_dim, p=p, backend=backend)


@needs_kernel
def test_gradients_match_eager() -> None:
    x = torch.randn(6, 3, 10, 10, requires_grad=True)
    for kwargs in ({"p": 0.5}, {"straight_through": True}, {"p": 0.5, "straight_through": True}):
        grads = []
        for backend in ("compiled", "eager"):
            x.grad = None
            out = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(3), backend=backend, **kwargs)
            if out.requires_grad:
                (out * torch.arange(out.numel()).view_as(out)).sum().backward()
            grads.append(None if x.grad is None else x.grad.clone())
        assert (grads[0] is None) == (grads[1] is None), kwargs
        if grads[0] is not None:
            assert torch.equal(grads[0], grads[1]), kwargs


@needs_kernel
def test_module_and_global_generator_draws_match_eager() -> None:
    x = torch.randn(8, 3, 16, 16)
    torch.manual_seed(5)
    fast = RandomizedQuantization(8, backend="compiled")(x)
    after_fast = torch.rand(3)
    torch.manual_seed(5)
    slow = RandomizedQuantization(8, backend="eager")(x)
    after_slow = torch.rand(3)
    assert torch.equal(bits(fast), bits(slow))
    assert torch.equal(after_fast, after_slow)  # the generator advanced by exactly the same draws


@needs_kernel
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_draws_are_torch_rand_bit_for_bit(dtype) -> None:
    """The kernel's MT19937 replica: the numbers torch.rand gives and the generator state it leaves, for
    counts around the 624-word twists, mixed with torch's own draws (normal, rand) on the same generator."""
    kern = native.kernel()
    assert kern is not None and kern.exact_draws
    cpu = torch.device("cpu")
    ours, theirs = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    for count in [0, 1, 2, 311, 622, 623, 624, 625, 1248, 1249, 5000, 100_003]:
        assert torch.equal(kern.uniform((count,), ours, cpu, dtype), torch.rand(count, generator=theirs, dtype=dtype))
        assert torch.equal(ours.get_state(), theirs.get_state()), count
        torch.randn(5, generator=ours), torch.randn(5, generator=theirs)  # torch's own draws in between
        assert torch.equal(torch.rand(9, generator=ours), torch.rand(9, generator=theirs))
    # Shapes, and the global generator when none is given.
    torch.manual_seed(11)
    mine = kern.uniform((3, 4, 7), None, cpu, dtype)
    after = torch.rand(2)
    torch.manual_seed(11)
    assert torch.equal(mine, torch.rand((3, 4, 7), dtype=dtype)) and torch.equal(after, torch.rand(2))
    with pytest.raises(ValueError, match="on the CPU"):
        kern.uniform((3,), None, torch.device("meta"), dtype)
    with pytest.raises(RuntimeError, match="float32 or float64 draws"):
        kern._uniform(3, torch.int32, None)


@needs_kernel
def test_the_operators_refuse_bad_arguments_before_reading() -> None:
    """The operators check what the kernel would read: the shape covers the input, enough draws for the rows
    used, rows within the drawn ones, bins within the tables."""
    kern = native.kernel()
    assert kern is not None
    x = torch.randn(4, 3, 5, 5)
    shape4 = (4, 1, 3, 25)
    cuts, frac = torch.rand(4, 3, 7), torch.rand(4, 3, 8)
    assert kern.quantize(x, shape4, 8, cuts, frac)[1] == 0
    cases = [
        (lambda: kern.quantize(x, (4, 1, 3, 24), 8, cuts, frac), "does not cover"),
        (lambda: kern.quantize(x, shape4, 8, cuts[:3], frac), "cuts holds 63 draws, needs 12 x 7"),
        (lambda: kern.quantize(x, shape4, 8, cuts, frac[:2]), "frac holds"),
        (lambda: kern.quantize(x, shape4, 8, cuts.double(), frac), "contiguous CPU"),
        (lambda: kern.quantize(x, shape4, 65, cuts, frac), "1 to 64 bins"),
        (lambda: kern.quantize(x, shape4, 8, cuts, frac, torch.tensor([0, 1, 2, 4])), "cuts holds"),
        (lambda: kern.quantize(x, shape4, 8, cuts, frac, torch.tensor([0, -2, 1, 2])), "rows must be >= -1"),
        (lambda: kern.quantize_drawing(x, shape4, 8, None, 2, shared_cuts=None, random_values=True), "rows use 4"),
        (lambda: kern.quantize(x.half(), shape4, 8, cuts, frac), "float32 or float64 input"),
    ]
    for call, message in cases:
        with pytest.raises(RuntimeError, match=message):
            call()


@needs_kernel
def test_draw_check_fails_for_a_wrong_replica_and_torch_rand_is_used(monkeypatch) -> None:
    """draws_match_torch can fail (a replica one ulp off), and without exact draws the kernel path draws
    with torch.rand: still eager's output bit for bit."""
    kern = native.kernel()
    assert kern is not None
    right = kern.uniform

    def off_by_one_ulp(shape, generator, device, dtype):
        out = right(shape, generator, device, dtype)
        return torch.nextafter(out, torch.ones_like(out)) if out.numel() > 700 else out

    monkeypatch.setattr(kern, "uniform", off_by_one_ulp)
    assert native.draws_match_torch(kern) is False
    monkeypatch.setattr(kern, "uniform", right)
    assert native.draws_match_torch(kern) is True
    monkeypatch.setattr(kern, "exact_draws", False)
    monkeypatch.setattr(kern, "uniform", lambda *args: pytest.fail("the replica is used without exact draws"))
    x = torch.randn(5, 3, 9, 9)
    fast, slow = both(x, 8)
    assert torch.equal(bits(fast), bits(slow))


@needs_kernel
def test_non_contiguous_and_half_inputs() -> None:
    x = torch.randn(3, 20, 24, 6).permute(0, 3, 1, 2)  # (3, 6, 20, 24), channels not contiguous
    fast, slow = both(x, 8)
    assert torch.equal(bits(fast), bits(slow))
    h = torch.randn(4, 3, 8, 8).half()  # not the kernel's dtype: auto leaves it to the other paths
    assert native.applies(h, 8) is False
    auto = randomized_quantization(h, 8, generator=torch.Generator().manual_seed(0))
    slow = randomized_quantization(h, 8, generator=torch.Generator().manual_seed(0), backend="eager")
    assert torch.equal(auto.view(torch.int16), slow.view(torch.int16))


def test_more_bins_than_the_kernel_holds_use_eager() -> None:
    x = torch.randn(2, 3, 8, 8)
    assert native.applies(x, native.MAX_BINS + 1) is False
    fast, slow = both(x, native.MAX_BINS + 1)
    assert torch.equal(bits(fast), bits(slow))


def assert_unavailable_and_eager_used(reason: str) -> None:
    """No kernel (for ``reason``), so RQ does not take it, and its output is eager's bit for bit."""
    assert native.kernel() is None
    assert reason in (native.unavailable_reason() or "")
    x = torch.randn(2, 3, 8, 8)
    assert native.applies(x, 8) is False
    auto = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(0))
    slow = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(0), backend="eager")
    assert torch.equal(bits(auto), bits(slow))


def test_no_compiler_means_no_kernel_and_the_same_output(monkeypatch) -> None:
    monkeypatch.setattr(native, "compiler", lambda: None)
    native.reset()
    try:
        assert_unavailable_and_eager_used("no C++ compiler")
    finally:
        monkeypatch.undo()
        native.reset()


def test_a_failing_build_is_reported_and_leaves_no_partial_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RQBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(native, "SOURCE", tmp_path / "broken.cpp")
    (tmp_path / "broken.cpp").write_text("this is not C++\n")
    native.reset()
    try:
        assert native.kernel() is None
        assert "failed" in (native.unavailable_reason() or "")
        assert not list((tmp_path / "kernels").glob("*"))  # no half-written library
    finally:
        monkeypatch.undo()
        native.reset()


@pytest.mark.skipif(native.compiler() is None, reason="no C++ compiler")
def test_library_is_cached_by_source_and_rebuilt_when_it_changes(tmp_path, monkeypatch) -> None:
    cxx = native.compiler()
    assert cxx is not None
    own = native.kernel()  # this process's kernel, loaded before the cache and the source are pointed elsewhere
    monkeypatch.setenv("RQBENCH_CACHE", str(tmp_path))
    first = native.library_path(cxx)
    assert first.parent == tmp_path / "kernels"
    changed = tmp_path / "rq_kernel.cpp"
    changed.write_text(native.SOURCE.read_text() + "\n// changed\n")
    monkeypatch.setattr(native, "SOURCE", changed)
    assert native.library_path(cxx) != first
    native.build(cxx, native.library_path(cxx))
    built = native.library_path(cxx)
    assert built.exists() and os.access(built, os.R_OK)
    assert [p.name for p in Path(built.parent).iterdir()] == [built.name]  # nothing temporary left
    # A second kernel loads beside this process's own (its operators under another namespace) and agrees.
    other = native.Kernel(built)
    assert own is not None and native.op_namespace(built) != native.op_namespace(own.path)
    x = torch.randn(6, 3, 7, 7)
    outs = [
        k.quantize_drawing(
            x, (6, 1, 3, 49), 8, torch.Generator().manual_seed(3), 6, shared_cuts=None, random_values=True
        )[0]
        for k in (other, own)
    ]
    assert torch.equal(outs[0], outs[1])


def test_the_kernel_built_is_the_source_this_process_imported(tmp_path, monkeypatch) -> None:
    """A source file changed on disk after import (a checkout updated under a running bench) changes neither
    the library's name nor what is compiled: the process keeps the kernel its wrappers were written for."""
    source = tmp_path / "rq_kernel.cpp"
    source.write_bytes(native.source_bytes())
    monkeypatch.setattr(native, "SOURCE", source)
    monkeypatch.setattr(native, "_SOURCE_AT_IMPORT", (source, source.read_bytes()))
    monkeypatch.setenv("RQBENCH_CACHE", str(tmp_path))
    cxx = native.compiler() or "g++"
    before = native.library_path(cxx) if native.compiler() else None
    source.write_text("int rq_kernel_version() { return 999; }  // a newer, incompatible source\n")
    assert native.source_bytes() != source.read_bytes()
    assert native.source_bytes() == native._SOURCE_AT_IMPORT[1]
    if before is not None:
        assert native.library_path(cxx) == before
    # Pointing SOURCE at another file (as the other tests do) still reads that file.
    other = tmp_path / "other.cpp"
    other.write_text("// other\n")
    monkeypatch.setattr(native, "SOURCE", other)
    assert native.source_bytes() == b"// other\n"


@pytest.mark.skipif(native.compiler() is None, reason="no C++ compiler")
def test_a_kernel_of_another_version_is_refused_and_eager_is_used(tmp_path, monkeypatch) -> None:
    """Calling a kernel of another C signature through these wrappers would crash the process; it is refused
    with a reason that names the fix, and RQ runs eager (same output)."""
    cxx = native.compiler()
    assert cxx is not None
    stub = tmp_path / "stub.cpp"
    stub.write_text(f'extern "C" int rq_kernel_version() {{ return {native.KERNEL_VERSION - 1}; }}\n')
    lib = tmp_path / "stub.so"
    subprocess.run([cxx, "-shared", "-fPIC", str(stub), "-o", str(lib)], check=True)
    with pytest.raises(RuntimeError, match=f"kernel version {native.KERNEL_VERSION - 1}.*restart the process"):
        native.Kernel(lib)
    monkeypatch.setattr(native, "library_path", lambda _cxx: lib)
    native.reset()
    try:
        assert_unavailable_and_eager_used("restart the process")
    finally:
        monkeypatch.undo()
        native.reset()


def test_prune_removes_only_other_kernels_unused_for_long(tmp_path) -> None:
    keep, recent, stale = (tmp_path / f"rq_kernel-{name}.so" for name in ("keep", "recent", "stale"))
    other = tmp_path / "notes.txt"
    for path in (keep, recent, stale, other):
        path.write_bytes(b"x")
    month_ago = time.time() - native.PRUNE_AFTER_S - 60
    for path in (keep, stale, other):
        os.utime(path, (month_ago, month_ago))
    assert native.prune(keep) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([keep.name, recent.name, other.name])

"""Fused bin lookup and value gather for randomized quantization (``torch.compile``).

:func:`lookup_where` maps each element to its bin's reproduction value in one elementwise pass:
with sorted inner edges ``a_1 <= ... <= a_{n-1}`` and values ``v_0 .. v_{n-1}`` of one
(sample, channel),

    ``q(x) = sum_k v_k 1[x in I_k] = v_k`` with ``k = #{j : a_j <= x}``
    (Wu et al. 2023, Sec. 3.1, eq. (1), with bins ``I_k = [a_k, a_{k+1})`` and edges/values drawn by eqs. (2)-(4)),

computed as the chain ``q = v_0; q = where(x >= a_k, v_k, q)`` for ``k = 1 .. n-1``. Because the
edges are sorted, the last true comparison wins, so ``k`` is exactly the index that
``torch.searchsorted(edges, x, right=True)`` returns, and the output is the same element of the
same table as the eager path's: bit-identical in every dtype, since nothing is computed on the
values (only compared and selected; comparisons of float16/bfloat16 widened to float32 are exact).

:func:`fused_lookup` runs the chain through ``torch.compile`` (inductor: C++/OpenMP on CPU, Triton
on CUDA) with dynamic shapes, so one compiled kernel serves every batch size and spatial size of
a *family* (device, dtype, bins, which axes have length 1, masked or not, CPU threads). Memory is
the output plus the ``(S, C, bins)`` tables. When compiling is impossible here (no C++ compiler,
no Triton, an error while compiling) it returns ``None`` and the caller uses the eager path.

:func:`should_fuse` is the ``backend="auto"`` policy; see its docstring. On CPU, float32 and float64
inputs take the C++ kernel of :mod:`rqbench.augment.native` before this path (faster, no compile
wait); this path serves CUDA and the half types on CPU.
"""

from __future__ import annotations

import contextlib
import functools
import math
import shutil
import time
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor

Backend = Literal["auto", "eager", "compiled"]
BACKENDS: tuple[str, ...] = ("auto", "eager", "compiled")

#: Largest bin count the fused path handles (the chain has ``bins - 1`` steps); more bins use eager.
MAX_FUSED_BINS = 64
#: ``auto`` leaves inputs smaller than this to eager: per-call overheads dominate there.
MIN_FUSED_NUMEL = 1 << 16
#: ``auto`` compiles a family once eager has quantized this many elements of it (see :func:`should_fuse`):
#: on a 2-core CPU about 20-40 s of eager lookups, the order of a first compile there (measured);
#: on CUDA an estimate (not measured on a GPU yet): a few seconds of eager at tens of Gelem/s.
AUTO_COMPILE_AFTER_ELEMENTS: dict[str, float] = {"cpu": 2e9, "cuda": 2e11}


def check_backend(backend: object) -> Backend:
    """Return ``backend`` if it names a backend, else raise ``ValueError``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return backend  # type: ignore[return-value]


def lookup_where(x: Tensor, edges: Tensor, reproduction: Tensor, apply: Tensor | None = None) -> Tensor:
    """Each element of ``x`` replaced by its bin's reproduction value, as one ``where`` chain.

    Args:
        x: ``(S, A, C, B)``: samples, axes before the channel axis, channels, axes after it.
        edges: ``(S, n - 1, C)`` sorted inner edges (``n >= 2``; edge-major, so that a channel-last
            ``x`` reads each edge row contiguously), in ``x``'s dtype.
        reproduction: ``(S, n, C)`` one value per bin, in ``x``'s dtype.
        apply: optional ``(S,)`` bool; samples where it is false are returned unchanged.

    Returns:
        A new ``(S, A, C, B)`` tensor: ``v_k`` with ``k = #{j : a_j <= x}`` (see the module docstring).
    """
    e = edges[:, :, None, :, None]
    v = reproduction[:, :, None, :, None]
    out = v[:, 0]
    for k in range(edges.shape[1]):
        out = torch.where(x >= e[:, k], v[:, k + 1], out)
    if apply is not None:
        out = torch.where(apply[:, None, None, None], out, x)
    return out


@dataclass
class Family:
    """What the fused path knows about one family: its compiled kernel and the work done so far."""

    kernel: Callable[..., Tensor] | None = None
    eager_elements: float = 0.0
    compile_seconds: float | None = None
    calls: int = 0
    failed: str | None = None


@dataclass
class FusedState:
    """Process-wide state of the fused path (inspected by the benchmarks and the tests)."""

    families: dict[tuple[object, ...], Family] = field(default_factory=dict)
    graphs_compiled: int = 0
    unavailable: dict[str, str] = field(default_factory=dict)


STATE = FusedState()


def reset() -> None:
    """Forget every compiled kernel and counter (tests, benchmarks)."""
    STATE.families.clear()
    STATE.graphs_compiled = 0
    STATE.unavailable.clear()
    compile_unavailable_reason.cache_clear()


@functools.cache
def compile_unavailable_reason(device_type: str) -> str | None:
    """Why ``torch.compile`` cannot build the fused kernel on ``device_type`` here, or ``None`` if it can."""
    if device_type == "cpu":
        try:
            from torch._inductor import config as inductor_config

            cxx = inductor_config.cpp.cxx[-1] or "g++"
        except Exception as err:  # pragma: no cover - broken torch install
            return f"torch inductor is unavailable ({err})"
        if shutil.which(cxx) is None:
            return f"no C++ compiler ({cxx!r} is not on PATH) for inductor's CPU backend"
        return None
    if device_type == "cuda":
        try:
            from torch.utils._triton import has_triton
        except Exception as err:  # pragma: no cover - broken torch install
            return f"torch's Triton support is unavailable ({err})"
        return None if has_triton() else "Triton is not installed (needed for the CUDA fused path)"
    return f"no fused path for device type {device_type!r}"


def family_key(
    shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, bins: int, masked: bool
) -> tuple[object, ...]:
    """The key of a family: one compiled kernel (one traced graph) per key.

    ``shape`` is the ``(S, A, C, B)`` shape; only which of its axes have length 1 enters the key
    (Dynamo specializes those), so batch and spatial sizes do not.
    """
    threads = torch.get_num_threads() if device.type == "cpu" else 0
    ones = tuple(size == 1 for size in shape)
    return (device.type, device.index, dtype, bins, masked, ones, threads)


def _counting_backend(options: dict[str, object]) -> Callable[..., Any]:
    """Inductor with ``options``, counting the graphs it compiles (a recompilation shows up here)."""

    def backend(gm: torch.fx.GraphModule, example_inputs: list[Any]) -> Any:
        from torch._inductor.compile_fx import compile_fx

        STATE.graphs_compiled += 1
        return compile_fx(gm, example_inputs, config_patches=options)

    return backend


def _kernel(key: tuple[object, ...]) -> Callable[..., Tensor]:
    """A compiled :func:`lookup_where` of its own (Dynamo caches per code object, so families never share)."""
    name = "rq_lookup_" + "_".join("".join(ch for ch in str(part) if ch.isalnum()) for part in key)
    code = lookup_where.__code__.replace(co_name=name, co_qualname=name)
    fn = types.FunctionType(code, lookup_where.__globals__, name, lookup_where.__defaults__, lookup_where.__closure__)
    options: dict[str, object] = {}
    if key[0] == "cpu":
        options["cpp.threads"] = key[-1]  # baked into the C++ kernel: a thread count is part of the family
    return torch.compile(fn, backend=_counting_backend(options), dynamic=True, fullgraph=True)


def _distinct_sizes() -> contextlib.AbstractContextManager[None]:
    """Trace without duck sizing: equal sizes at the first call (``L == D`` in ``(B, L, D)``) get no
    equality guard, so a later shape where they differ does not recompile."""
    from torch.fx.experimental import _config as fx_config

    return fx_config.patch(use_duck_shape=False)  # type: ignore[attr-defined,no-any-return]


def fusable(device: torch.device, bins: int) -> bool:
    """Whether the fused path can run: ``2 <= bins <= MAX_FUSED_BINS``, a compiler for ``device``, and
    not inside a region that ``torch.compile`` is tracing (which compiles the eager lookup itself)."""
    if not 2 <= bins <= MAX_FUSED_BINS or torch.compiler.is_compiling():
        return False
    return compile_unavailable_reason(device.type) is None


def should_fuse(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, bins: int, masked: bool) -> bool:
    """The ``backend="auto"`` policy for an ``(S, A, C, B)`` input: fuse once it pays, counting the compile.

    Auto takes the fused path when it can (:func:`fusable`), the input has at least
    :data:`MIN_FUSED_NUMEL` elements, and the family is compiled already or eager has quantized
    :data:`AUTO_COMPILE_AFTER_ELEMENTS` elements of it in this process (on CPU 20-40 s of eager
    lookups on 2 cores, the order of a first compile there). This is the ski-rental rule: a run
    never spends more than about twice the cheaper of "always eager" and "compile at once", and
    short runs (tests, quick presets) never wait for a compiler. Outputs are bit-identical either
    way, so the choice never changes results.
    """
    if math.prod(shape) < MIN_FUSED_NUMEL or not fusable(device, bins):
        return False
    family = STATE.families.get(family_key(shape, dtype, device, bins, masked))
    if family is not None and (family.failed is not None or family.kernel is not None):
        return family.failed is None
    done = family.eager_elements if family is not None else 0.0
    return done >= AUTO_COMPILE_AFTER_ELEMENTS.get(device.type, math.inf)


def note_eager(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device, bins: int, masked: bool) -> None:
    """Count an eager call's elements toward its family's compile budget (``auto`` only)."""
    if math.prod(shape) >= MIN_FUSED_NUMEL and 2 <= bins <= MAX_FUSED_BINS:
        family = STATE.families.setdefault(family_key(shape, dtype, device, bins, masked), Family())
        family.eager_elements += math.prod(shape)


def widen_channels(x: Tensor, edges: Tensor, reproduction: Tensor, lanes: int = 16) -> tuple[Tensor, Tensor, Tensor]:
    """A channel-last ``x`` with few channels seen as ``k`` times as many, so the kernel's vectors fill.

    ``x`` is ``(S, A, C, 1)`` (the channel axis is the last, contiguous one). With ``C = 3`` (point
    clouds) a vector of ``lanes`` elements would hold only 3 of them; viewing ``k`` consecutive
    positions as one ``(k C)``-channel row, ``x`` becomes ``(S, A / k, k C, 1)`` (a view) and the
    ``(S, n, C)`` tables are tiled ``k`` times along their last axis: element ``(a', j)`` of the view
    is channel ``j mod C``, and tile ``j`` of the tables is channel ``j mod C`` too, so every
    comparison and selection is the same. ``k = lanes / gcd(C, lanes)`` (the smallest with ``k C`` a
    multiple of the vector width), so the tables grow ``k <= lanes`` times. Inputs that are not
    channel-last, have ``C >= lanes``, or whose ``A`` is not a multiple of ``k``, pass unchanged.
    """
    s, a, c, b = x.shape
    k = lanes // math.gcd(c, lanes)
    if b != 1 or c >= lanes or a % k:
        return x, edges, reproduction
    return x.view(s, a // k, k * c, 1), edges.repeat(1, 1, k), reproduction.repeat(1, 1, k)


def fused_lookup(x: Tensor, edges: Tensor, reproduction: Tensor, apply: Tensor | None = None) -> Tensor | None:
    """:func:`lookup_where` through ``torch.compile``; ``None`` when it cannot run here (use eager then).

    ``x`` is ``(S, A, C, B)`` and contiguous, ``edges`` ``(S, C, n - 1)`` and ``reproduction``
    ``(S, C, n)`` (as :func:`~rqbench.augment.functional.sample_quantizer` returns them); ``apply`` as
    in :func:`lookup_where`. The first call of a family compiles it (seconds; the first compile of a
    process also probes the CPU's vector instructions); a compile error is reported once as a
    warning and the family stays eager from then on.
    """
    bins = reproduction.shape[-1]
    if not 2 <= bins <= MAX_FUSED_BINS or torch.compiler.is_compiling():
        return None
    reason = compile_unavailable_reason(x.device.type)
    if reason is not None:
        if x.device.type not in STATE.unavailable:
            STATE.unavailable[x.device.type] = reason
            warnings.warn(
                f"randomized quantization: fused path unavailable, using eager: {reason}", RuntimeWarning, stacklevel=3
            )
        return None
    edges_t, values_t = edges.transpose(1, 2).contiguous(), reproduction.transpose(1, 2).contiguous()
    shape = x.shape
    x, edges_t, values_t = widen_channels(x, edges_t, values_t)
    key = family_key(tuple(x.shape), x.dtype, x.device, bins, apply is not None)
    family = STATE.families.setdefault(key, Family())
    if family.failed is not None:
        return None
    args = (x, edges_t, values_t, apply)
    start = time.perf_counter()
    try:
        if family.kernel is None:
            family.kernel = _kernel(key)
        with _distinct_sizes():  # the first call traces and compiles; a guard failure would retrace here
            out = family.kernel(*args)
    except Exception as err:  # compiler missing or broken: the eager path gives the same output
        family.kernel, family.failed = None, f"{type(err).__name__}: {err}"
        warnings.warn(
            f"randomized quantization: compiling the fused path failed, using eager: {family.failed}",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    if family.compile_seconds is None:
        family.compile_seconds = time.perf_counter() - start
    family.calls += 1
    return out.reshape(shape)


__all__ = [
    "AUTO_COMPILE_AFTER_ELEMENTS",
    "BACKENDS",
    "MAX_FUSED_BINS",
    "MIN_FUSED_NUMEL",
    "STATE",
    "Backend",
    "Family",
    "FusedState",
    "check_backend",
    "compile_unavailable_reason",
    "family_key",
    "fusable",
    "fused_lookup",
    "lookup_where",
    "note_eager",
    "reset",
    "should_fuse",
    "widen_channels",
]

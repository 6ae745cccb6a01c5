"""Randomized quantization (Wu et al., ICCV 2023) as pure functions.

For every sample and every channel separately, with ``lo``/``hi`` the channel's
minimum/maximum over all non-channel axes of that sample and ``n`` bins:

* bin edges ``a_k = lo + u_(k) (hi - lo)`` from ``n - 1`` sorted draws ``u ~ U(0, 1)``
  (``spacing="uniform"``: ``a_k = lo + k (hi - lo) / n``); bins are
  ``[lo, a_1), [a_1, a_2), ..., [a_{n-1}, hi]``;
* one reproduction value per bin ``[l, r]``: ``v = l + r' (r - l)``, ``r' ~ U(0, 1)``
  (``values="midpoint"``: ``v = (l + r) / 2``);
* every value in a bin becomes that bin's ``v``.

Three paths compute the same output from the same draws, bit for bit: eager (``torch.searchsorted``
on the per-channel edges and one ``index_select``; memory O(input), cost O(input x log bins)); on
CPU for float32/float64 a C++/OpenMP kernel that does range, quantizers and lookup per sample in
one call (:mod:`rqbench.augment.native`; memory the output plus the draws); elsewhere (CUDA, half
types on CPU) one fused ``torch.compile`` lookup (:mod:`rqbench.augment.fused`; memory the output
plus the ``(S, C, bins)`` tables). ``backend="auto"`` takes the C++ kernel where it applies, the
compiled one once it pays. Never a ``bins x input`` membership mask (the reference's approach).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from rqbench.augment import native
from rqbench.augment.base import check_float_tensor, check_probability, rand
from rqbench.augment.fused import Backend, check_backend, fused_lookup, note_eager, should_fuse

Spacing = Literal["random", "uniform"]
Values = Literal["random", "midpoint"]
SPACINGS: tuple[str, ...] = ("random", "uniform")
VALUES: tuple[str, ...] = ("random", "midpoint")
#: A maker of ``U(0, 1)`` draws: ``(shape, generator, device, dtype) -> Tensor``, as :func:`~rqbench.augment.base.rand`.
Uniform = Callable[[tuple[int, ...], torch.Generator | None, torch.device, torch.dtype], Tensor]
MAX_BINS = 65_536
"""The most bins RQ accepts: its draws take O(samples x channels x bins) memory (a float32 input has
far fewer distinct values in one channel than this in practice)."""


def check_quantizer_args(bins: int, spacing: str, values: str) -> None:
    """Raise ``ValueError``/``TypeError`` for a bad bin count or an unknown spacing/values name."""
    if isinstance(bins, bool) or not isinstance(bins, int):
        raise TypeError(f"bins must be an int >= 1, got {type(bins).__name__}")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    if bins > MAX_BINS:
        raise ValueError(
            f"bins must be <= {MAX_BINS}, got {bins}: RQ draws samples x channels x bins edges and values "
            f"(bins={bins} would need {bins * 8 / 2**30:.0f} GB per sample-channel); the paper uses 5 to 30"
        )
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; choose one of {', '.join(SPACINGS)}")
    if values not in VALUES:
        raise ValueError(f"unknown values {values!r}; choose one of {', '.join(VALUES)}")


def draw_dtype(data_dtype: torch.dtype) -> torch.dtype:
    """The dtype of RQ's draws and tables: float64 for float64 data, else float32 (so low-precision
    data gets exact-enough edges)."""
    return torch.float64 if data_dtype == torch.float64 else torch.float32


def uniform_cuts(bins: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """The ``(n - 1,)`` cut points ``k / n`` of evenly spaced bins (``spacing="uniform"``), shared by all quantizers."""
    return torch.arange(1, bins, device=device, dtype=dtype) / bins


def draw_fractions(
    shape: tuple[int, ...],
    bins: int,
    *,
    spacing: Spacing,
    values: Values,
    generator: torch.Generator | None,
    device: torch.device,
    dtype: torch.dtype,
    uniform: Uniform = rand,
) -> tuple[Tensor, Tensor | None]:
    """The quantizers' uniform draws for ``shape`` (samples x channels), in the order every path makes them.

    Returns ``(cuts, frac)``: ``cuts`` is ``shape + (n - 1,)`` unsorted ``U(0, 1)`` cut points
    (``spacing="random"``, drawn first) or the ``(n - 1,)`` shared points ``k / n``; ``frac`` is
    ``shape + (n,)`` ``U(0, 1)`` positions of the values inside their bins (``values="random"``,
    drawn second) or ``None`` for midpoints. ``uniform`` makes the ``U(0, 1)`` draws: ``torch.rand``
    through :func:`~rqbench.augment.base.rand`, or the C++ kernel's bit-identical replica of it.
    """
    if spacing == "random":
        cuts = uniform((*shape, bins - 1), generator, device, dtype)
    else:
        cuts = uniform_cuts(bins, device, dtype)
    frac = uniform((*shape, bins), generator, device, dtype) if values == "random" else None
    return cuts, frac


def sample_quantizer(
    lo: Tensor,
    hi: Tensor,
    bins: int,
    *,
    spacing: Spacing = "random",
    values: Values = "random",
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Draw one quantizer per entry of ``lo``/``hi``.

    Args:
        lo, hi: per-channel minimum and maximum, any shape ``S`` (same shape, floating).
        bins: number of bins ``n``.
        spacing: ``"random"`` (sorted uniform cut points) or ``"uniform"`` (evenly spaced).
        values: ``"random"`` (uniform inside each bin) or ``"midpoint"``.
        generator: optional ``torch.Generator`` for the draws.

    Returns:
        ``(edges, reproduction)`` of shapes ``S + (n - 1,)`` (inner cut points, sorted)
        and ``S + (n,)`` (one value per bin, inside that bin), in ``lo``'s dtype.
    """
    check_quantizer_args(bins, spacing, values)
    shape, device = tuple(lo.shape), lo.device
    dtype = draw_dtype(lo.dtype)
    lo_c, hi_c = lo.to(dtype).unsqueeze(-1), hi.to(dtype).unsqueeze(-1)
    cuts, frac = draw_fractions(
        shape, bins, spacing=spacing, values=values, generator=generator, device=device, dtype=dtype
    )
    cuts = cuts.sort(dim=-1).values if spacing == "random" else cuts.expand(*shape, bins - 1)
    width = hi_c - lo_c
    edges = lo_c + cuts * width
    bounds = torch.cat([lo_c, edges, hi_c], dim=-1)
    left, right = bounds[..., :-1], bounds[..., 1:]
    if frac is None:
        frac = torch.full((*shape, bins), 0.5, device=device, dtype=dtype)
    reproduction = left + frac * (right - left)
    # Rounding to the data dtype is monotone and lo/hi are representable, so bounds hold.
    return edges.to(lo.dtype), reproduction.to(lo.dtype)


def apply_quantizer(x: Tensor, edges: Tensor, reproduction: Tensor) -> Tensor:
    """Map each element of ``x`` (shape ``(S, C, M)``) to its bin's reproduction value.

    ``edges`` is ``(S, C, n - 1)`` sorted and ``reproduction`` is ``(S, C, n)``;
    values below the first edge go to bin 0, values ``>= a_k`` to bin ``k``.
    """
    s, c, _ = x.shape
    n = reproduction.shape[-1]
    use_int32 = s * c * n < 2**31
    idx = torch.searchsorted(edges.contiguous(), x.contiguous(), right=True, out_int32=use_int32)
    # Offset each (sample, channel) into a flat table so one index_select does the lookup
    # without an int64 copy of the index (index_select accepts int32).
    offsets = torch.arange(0, s * c * n, n, device=x.device, dtype=idx.dtype).view(s, c, 1)
    idx += offsets
    return reproduction.reshape(-1).index_select(0, idx.view(-1)).view(x.shape)


def channel_range(grouped: Tensor) -> tuple[Tensor, Tensor]:
    """Per-row ``(min, max)`` of ``grouped`` (``(S, C, M)``) over ``M``: the quantizers' ``lo`` and ``hi``.

    On CPU, where the rows are contiguous or the channels many (channel-last with ``C >= 16``),
    ``amin`` + ``amax`` is several times faster than ``torch.aminmax`` (used elsewhere, as before).
    Both give the same draws bit for bit: min and max are exact, so the two can differ only in the
    sign of a zero ``lo`` or ``hi``, and that sign never reaches an edge ``lo + u (hi - lo)`` or a
    value ``l + r' (r - l)`` (``u, r' >= 0``): with ``hi > 0`` the width is ``hi`` either way and
    ``-0 + y == +0 + y`` for ``y >= +0``; with ``lo < 0`` the width is ``-lo`` and the last value's
    ``hi - l`` is only a signed zero when ``l`` is a ``+0`` edge, where ``+0 + (+-0) == +0``; and
    with ``lo, hi`` both zero every edge and value is ``+0``.
    """
    if grouped.device.type == "cpu" and (grouped.stride(-1) == 1 or grouped.shape[1] >= 16):
        return grouped.amin(-1), grouped.amax(-1)
    lo, hi = torch.aminmax(grouped, dim=-1)
    return lo, hi


def randomized_quantization(
    x: Tensor,
    bins: int = 8,
    *,
    channel_dim: int = 1,
    batch_dims: int = 1,
    spacing: Spacing = "random",
    values: Values = "random",
    p: float = 1.0,
    generator: torch.Generator | None = None,
    straight_through: bool = False,
    backend: Backend = "auto",
) -> Tensor:
    """Randomized quantization of every channel of every sample of ``x``.

    Args:
        x: floating tensor; its first ``batch_dims`` axes index samples.
            Examples: images ``(B, C, H, W)`` (``channel_dim=1``), one image ``(C, H, W)``
            (``channel_dim=0, batch_dims=0``), log-mel ``(B, 1, F, T)``, point clouds
            ``(B, N, 3)`` or ``(N, 3)`` (``channel_dim=-1``), tokens ``(B, L, D)`` (``channel_dim=-1``).
        bins: number of quantization bins ``n`` (>= 1; 1 collapses each channel to one value).
        channel_dim: index of the channel axis in ``x`` (negative counts from the end).
        batch_dims: number of leading batch axes (0 means ``x`` is one sample).
        spacing: ``"random"`` bin edges or ``"uniform"`` ones.
        values: ``"random"`` reproduction values or the bins' ``"midpoint"``.
        p: probability of quantizing each sample; the others pass through unchanged.
        generator: optional ``torch.Generator`` (CPU or ``x``'s device) for reproducible draws.
        straight_through: pass gradients through unchanged (``x + (q - x).detach()``);
            by default the output carries no gradient to ``x``.
        backend: how each element finds its bin once the quantizers are drawn: ``"eager"``
            (``torch.searchsorted`` + ``index_select``), ``"compiled"`` (on CPU for float32/float64 the
            C++ kernel, :mod:`rqbench.augment.native`; otherwise one fused ``torch.compile`` kernel,
            :mod:`rqbench.augment.fused`; eager where neither can run) or ``"auto"`` (the C++ kernel
            where it applies, else the compiled one once it pays, see
            :func:`rqbench.augment.fused.should_fuse`). The draws and the output are the same for all
            three, bit for bit.

    Returns:
        A tensor of ``x``'s shape, dtype and device. An empty ``x`` returns an empty copy.
    """
    check_quantizer_args(bins, spacing, values)
    backend = check_backend(backend)
    p = check_probability(p)
    x = check_float_tensor(x, "randomized_quantization input", finite=False)  # checked below, for free
    if isinstance(batch_dims, bool) or not isinstance(batch_dims, int) or batch_dims < 0:
        raise ValueError(f"batch_dims must be an int >= 0, got {batch_dims!r}")
    if x.ndim <= batch_dims:
        raise ValueError(
            f"input of shape {tuple(x.shape)} has no axes left after {batch_dims} batch dimension(s); "
            "a sample needs at least a channel axis"
        )
    cd = channel_dim + x.ndim if channel_dim < 0 else channel_dim
    if not batch_dims <= cd < x.ndim:
        raise ValueError(
            f"channel_dim {channel_dim} is out of range for input of shape {tuple(x.shape)} "
            f"with {batch_dims} batch dimension(s): valid are {batch_dims - x.ndim}..-1 or {batch_dims}..{x.ndim - 1}"
        )
    if x.numel() == 0 or p == 0.0:
        return x.clone() if x.numel() == 0 else x

    sample_shape = x.shape[batch_dims:]
    num = math.prod(x.shape[:batch_dims])
    channels = x.shape[cd]
    cd_in_sample = cd - batch_dims + 1  # position of the channel axis in (S, *sample_shape)
    # (S, A, C, B): samples, axes before the channel axis, channels, axes after it (the fused path's view).
    shape4 = (num, math.prod(sample_shape[: cd_in_sample - 1]), channels, math.prod(sample_shape[cd_in_sample:]))
    masked = p < 1.0
    kern = native.kernel_for(x, bins) if backend != "eager" else None
    if kern is not None:
        # No autograd context needed: the kernel's operator records no graph; _finish gives eager's gradients.
        q, chosen = _quantize_native(kern, x, shape4, bins, spacing, values, p, generator)
        if chosen is None and not straight_through:
            return q  # contiguous, x's shape, no gradient: as eager
        return _finish(x, q, chosen, batch_dims, straight_through)
    fuse = backend == "compiled" or (backend == "auto" and should_fuse(shape4, x.dtype, x.device, bins, masked))
    with torch.no_grad():
        flat = x.detach().reshape(num, *sample_shape)
        moved = flat.movedim(cd_in_sample, 1)
        moved_shape: tuple[int, ...] = tuple(moved.shape)
        grouped = moved.reshape(num, channels, -1)  # a view unless the channel axis is not leading
        lo, hi = channel_range(grouped)
        # NaN and inf propagate into the per-channel min/max: checking them checks the whole input.
        if not bool(torch.isfinite(lo).all() & torch.isfinite(hi).all()):
            raise _nonfinite_error(bool(torch.isnan(lo).any() | torch.isnan(hi).any()))
        chosen = _choose(num, p, generator, x.device)
        if chosen is not None:
            lo, hi = lo[chosen], hi[chosen]
        fused = None
        if lo.shape[0]:
            # The draws come first and are the same for both paths: only the lookup differs.
            edges, reproduction = sample_quantizer(lo, hi, bins, spacing=spacing, values=values, generator=generator)
            if fuse:
                fused = _lookup_fused(flat, shape4, edges, reproduction, chosen)
        if fused is not None:
            q = fused.reshape(x.shape)
        else:
            if backend == "auto":
                note_eager(shape4, x.dtype, x.device, bins, masked)
            if chosen is not None:
                grouped = grouped.index_select(0, chosen)
                moved_shape = (chosen.numel(), *moved_shape[1:])
            q = apply_quantizer(grouped, edges, reproduction) if grouped.shape[0] else grouped
            q = q.view(moved_shape).movedim(1, cd_in_sample)
            if chosen is None:
                q = q.reshape(x.shape)
        del grouped, moved  # free the channel-major copy (if one was made) before the final layout copy
    if fused is not None:
        return _finish(x, q, chosen, batch_dims, straight_through)
    if chosen is not None:
        out = x.clone().reshape(num, *sample_shape)
        out[chosen] = q
        q = out.reshape(x.shape)
    if straight_through:
        return x + (q - x).detach()
    return q.contiguous()


def _finish(x: Tensor, q: Tensor, chosen: Tensor | None, batch_dims: int, straight_through: bool) -> Tensor:
    """The output of a fused path (``q``: every sample, the unchosen ones copied) with eager's gradients."""
    if chosen is not None and not straight_through and x.requires_grad and torch.is_grad_enabled():
        # As eager: the samples left alone keep their gradient (identity), the quantized ones get none.
        num = math.prod(x.shape[:batch_dims])
        keep = torch.zeros(num, dtype=torch.bool, device=x.device).index_fill_(0, chosen, True)
        q = torch.where(keep.view(*x.shape[:batch_dims], *(1,) * (x.ndim - batch_dims)), q, x)
    if straight_through:
        return x + (q - x).detach()
    return q.contiguous()


def _nonfinite_error(has_nan: bool) -> ValueError:
    """The error for an input with NaN or inf values (checked through the per-channel ranges)."""
    bad = "NaN" if has_nan else "inf"
    return ValueError(f"randomized_quantization input contains {bad} values; it needs finite inputs")


def _choose(num: int, p: float, generator: torch.Generator | None, device: torch.device) -> Tensor | None:
    """The samples to quantize when ``p < 1`` (one uniform draw per sample), else ``None``."""
    if p >= 1.0:
        return None
    return (rand((num,), generator, device) < p).nonzero().squeeze(1)


def _quantize_native(
    kern: native.Kernel,
    x: Tensor,
    shape4: tuple[int, int, int, int],
    bins: int,
    spacing: Spacing,
    values: Values,
    p: float,
    generator: torch.Generator | None,
) -> tuple[Tensor, Tensor | None]:
    """RQ through the C++ kernel (:mod:`rqbench.augment.native`): the eager path's draws, in its order.

    Returns the output in ``x``'s shape (samples not chosen copied) and the chosen samples (``p < 1``).
    The kernel checks for NaN and inf in the same pass, so on such an input the draws have been
    made (the generator advanced) when the error is raised.
    """
    chosen = _choose(shape4[0], p, generator, x.device)
    rows = None
    drawn = shape4[0] if chosen is None else chosen.numel()
    if chosen is not None:
        rows = torch.full((shape4[0],), -1, dtype=torch.int64).index_copy_(0, chosen, torch.arange(drawn))
    if drawn and kern.exact_draws and (generator is None or generator.device.type == "cpu"):
        # The draws are made inside the kernel's call (its replica of torch.rand, same numbers and order).
        shared = None if spacing == "random" else uniform_cuts(bins, x.device, x.dtype)
        q, bad = kern.quantize_drawing(
            x, shape4, bins, generator, drawn, shared_cuts=shared, random_values=values == "random", rows=rows
        )
    else:
        if drawn:
            cuts, frac = draw_fractions(
                (drawn, shape4[2]),
                bins,
                spacing=spacing,
                values=values,
                generator=generator,
                device=x.device,
                dtype=draw_dtype(x.dtype),  # x.dtype itself for the kernel's float32/float64
            )
        else:  # nothing chosen: eager draws nothing either; the kernel only checks and copies
            cuts, frac = torch.empty((0, shape4[2], bins - 1), dtype=x.dtype), None
        q, bad = kern.quantize(x, shape4, bins, cuts.contiguous(), frac, rows)
    if bad:
        raise _nonfinite_error(bool(torch.isnan(x).any()))
    return q, chosen


def _lookup_fused(
    flat: Tensor, shape4: tuple[int, int, int, int], edges: Tensor, reproduction: Tensor, chosen: Tensor | None
) -> Tensor | None:
    """The fused lookup of every sample of ``flat`` (``(S, ...)``), or ``None`` if it cannot run here.

    With ``chosen`` (``p < 1``) the tables are scattered to all ``S`` samples and a mask leaves the
    others unchanged in the same pass (memory: the output plus ``(S, C, bins)`` tables).
    """
    x4 = flat.contiguous().view(shape4)
    if chosen is None:
        return fused_lookup(x4, edges, reproduction)
    num, _, channels, _ = shape4
    apply = torch.zeros(num, dtype=torch.bool, device=flat.device).index_fill_(0, chosen, True)
    full_edges = edges.new_zeros((num, channels, edges.shape[-1])).index_copy_(0, chosen, edges)
    full_values = reproduction.new_zeros((num, channels, reproduction.shape[-1])).index_copy_(0, chosen, reproduction)
    return fused_lookup(x4, full_edges, full_values, apply)

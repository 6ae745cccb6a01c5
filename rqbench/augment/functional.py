"""Randomized quantization (Wu et al., NeurIPS 2023) as pure functions.

For every sample and every channel separately, with ``lo``/``hi`` the channel's
minimum/maximum over all non-channel axes of that sample and ``n`` bins:

* bin edges ``a_k = lo + u_(k) (hi - lo)`` from ``n - 1`` sorted draws ``u ~ U(0, 1)``
  (``spacing="uniform"``: ``a_k = lo + k (hi - lo) / n``); bins are
  ``[lo, a_1), [a_1, a_2), ..., [a_{n-1}, hi]``;
* one reproduction value per bin ``[l, r]``: ``v = l + r' (r - l)``, ``r' ~ U(0, 1)``
  (``values="midpoint"``: ``v = (l + r) / 2``);
* every value in a bin becomes that bin's ``v``.

The bin of each element is found with ``torch.searchsorted`` on the per-channel
edges, so memory is O(input) (no ``bins x input`` membership mask) and the cost
is O(input x log bins).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

from rqbench.augment.base import check_float_tensor, check_probability, rand

Spacing = Literal["random", "uniform"]
Values = Literal["random", "midpoint"]
SPACINGS: tuple[str, ...] = ("random", "uniform")
VALUES: tuple[str, ...] = ("random", "midpoint")


def check_quantizer_args(bins: int, spacing: str, values: str) -> None:
    """Raise ``ValueError``/``TypeError`` for a bad bin count or an unknown spacing/values name."""
    if isinstance(bins, bool) or not isinstance(bins, int):
        raise TypeError(f"bins must be an int >= 1, got {type(bins).__name__}")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    if spacing not in SPACINGS:
        raise ValueError(f"unknown spacing {spacing!r}; choose one of {', '.join(SPACINGS)}")
    if values not in VALUES:
        raise ValueError(f"unknown values {values!r}; choose one of {', '.join(VALUES)}")


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
    # Draws in float32 (float64 for float64 data) so low-precision data gets exact-enough edges.
    dtype = torch.float64 if lo.dtype == torch.float64 else torch.float32
    lo_c, hi_c = lo.to(dtype).unsqueeze(-1), hi.to(dtype).unsqueeze(-1)
    if spacing == "random":
        cuts = rand((*shape, bins - 1), generator, device, dtype).sort(dim=-1).values
    else:
        cuts = (torch.arange(1, bins, device=device, dtype=dtype) / bins).expand(*shape, bins - 1)
    width = hi_c - lo_c
    edges = lo_c + cuts * width
    bounds = torch.cat([lo_c, edges, hi_c], dim=-1)
    left, right = bounds[..., :-1], bounds[..., 1:]
    if values == "random":
        frac = rand((*shape, bins), generator, device, dtype)
    else:
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

    Returns:
        A tensor of ``x``'s shape, dtype and device. An empty ``x`` returns an empty copy.
    """
    check_quantizer_args(bins, spacing, values)
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

    with torch.no_grad():
        flat = x.detach().reshape(num, *sample_shape)
        moved = flat.movedim(cd_in_sample, 1)
        moved_shape = moved.shape
        grouped = moved.reshape(num, channels, -1)  # a view unless the channel axis is not leading
        lo, hi = torch.aminmax(grouped, dim=-1)
        # NaN and inf propagate into the per-channel min/max: checking them checks the whole input.
        if not bool(torch.isfinite(lo).all() & torch.isfinite(hi).all()):
            bad = "NaN" if bool(torch.isnan(lo).any() | torch.isnan(hi).any()) else "inf"
            raise ValueError(f"randomized_quantization input contains {bad} values; it needs finite inputs")
        if p < 1.0:
            chosen = (rand((num,), generator, x.device) < p).nonzero().squeeze(1)
            grouped, lo, hi = grouped.index_select(0, chosen), lo[chosen], hi[chosen]
            moved_shape = (chosen.numel(), *moved_shape[1:])
        else:
            chosen = None
        if grouped.shape[0]:
            edges, reproduction = sample_quantizer(lo, hi, bins, spacing=spacing, values=values, generator=generator)
            q = apply_quantizer(grouped, edges, reproduction)
        else:
            q = grouped
        del grouped, moved  # free the channel-major copy (if one was made) before the final layout copy
        q = q.view(moved_shape).movedim(1, cd_in_sample)
        if chosen is None:
            q = q.reshape(x.shape)
    if chosen is not None:
        out = x.clone().reshape(num, *sample_shape)
        out[chosen] = q
        q = out.reshape(x.shape)
    if straight_through:
        return x + (q - x).detach()
    return q.contiguous()

"""The :class:`RandomizedQuantization` module (registered as ``rq``)."""

from __future__ import annotations

import torch
from torch import Tensor

from rqbench.augment.base import Augmentation, Stage, check_probability, on_channels
from rqbench.augment.functional import Spacing, Values, check_quantizer_args, randomized_quantization
from rqbench.augment.fused import Backend, check_backend
from rqbench.augment.registry import register_augmentation


@register_augmentation("rq")
class RandomizedQuantization(Augmentation):
    """Randomized quantization: per sample and channel, random bins and random values (Wu et al. 2023).

    A data-agnostic channel-stage augmentation. Works on any rank, batched or not,
    on CPU or CUDA, in float16/bfloat16/float32/float64; each call draws fresh
    quantizers, so two calls (query and key views) are independent.

    Args:
        bins: number of bins (paper: 8 images, 5 audio, 30 point clouds).
        spacing: ``"random"`` or ``"uniform"`` bin edges.
        values: ``"random"`` or ``"midpoint"`` reproduction values.
        p: probability of quantizing each sample.
        channel_dim: index of the channel axis in the input (negative from the end).
        batch_dims: number of leading batch axes (0 for a single sample, e.g. inside
            a torchvision per-image pipeline with ``channel_dim=0``).
        generator: optional ``torch.Generator`` for reproducible draws.
        straight_through: let gradients pass unchanged (off by default, as in the paper).
        channels: quantize only these indices along ``channel_dim`` (``None``: all); the
            others pass through unchanged (point clouds: xyz, not normals).
        backend: ``"auto"`` (default), ``"eager"`` or ``"compiled"``: how elements find their bins
            (see :func:`rqbench.augment.functional.randomized_quantization`); the output is the
            same bit for bit, only the speed differs.

    Example::

        rq = RandomizedQuantization(bins=8)            # (B, C, H, W) batches
        rq_pts = RandomizedQuantization(30, channel_dim=-1)   # (B, N, 3) clouds
        rq_fast = RandomizedQuantization(8, backend="compiled")  # fused kernel from the first call (CUDA too)
    """

    stage = Stage.CHANNEL

    def __init__(
        self,
        bins: int = 8,
        spacing: Spacing = "random",
        values: Values = "random",
        p: float = 1.0,
        channel_dim: int = 1,
        batch_dims: int = 1,
        generator: torch.Generator | None = None,
        straight_through: bool = False,
        channels: tuple[int, ...] | None = None,
        backend: Backend = "auto",
    ) -> None:
        super().__init__()
        check_quantizer_args(bins, spacing, values)
        self.backend: Backend = check_backend(backend)
        if isinstance(batch_dims, bool) or not isinstance(batch_dims, int) or batch_dims < 0:
            raise ValueError(f"batch_dims must be an int >= 0, got {batch_dims!r}")
        if isinstance(channel_dim, bool) or not isinstance(channel_dim, int):
            raise TypeError(f"channel_dim must be an int, got {type(channel_dim).__name__}")
        if 0 <= channel_dim < batch_dims:
            raise ValueError(f"channel_dim {channel_dim} is a batch dimension (batch_dims={batch_dims})")
        self.bins = bins
        self.spacing: Spacing = spacing
        self.values: Values = values
        self.p = check_probability(p)
        self.channel_dim = channel_dim
        self.batch_dims = batch_dims
        self.generator = generator
        self.straight_through = straight_through
        if channels is not None and (
            not isinstance(channels, tuple)
            or not channels
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in channels)
        ):
            raise ValueError(f"channels must be None or a non-empty tuple of ints, got {channels!r}")
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        """Quantize ``x`` (see :func:`rqbench.augment.functional.randomized_quantization`)."""
        return on_channels(self._quantize, x, self.channel_dim, self.channels)

    def _quantize(self, x: Tensor) -> Tensor:
        return randomized_quantization(
            x,
            self.bins,
            channel_dim=self.channel_dim,
            batch_dims=self.batch_dims,
            spacing=self.spacing,
            values=self.values,
            p=self.p,
            generator=self.generator,
            straight_through=self.straight_through,
            backend=self.backend,
        )

    def extra_repr(self) -> str:
        return (
            f"bins={self.bins}, spacing={self.spacing!r}, values={self.values!r}, p={self.p}, "
            f"channel_dim={self.channel_dim}, batch_dims={self.batch_dims}"
            + (f", channels={self.channels}" if self.channels is not None else "")
            + (f", backend={self.backend!r}" if self.backend != "auto" else "")
        )

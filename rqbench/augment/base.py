"""Base classes shared by every augmentation: stages, mixing information, input checks."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from rqbench.checks import check_positive as check_positive  # re-exported for the augmentations


class Stage(enum.IntEnum):
    """Where an augmentation runs in a modality's view pipeline, in this order.

    * ``VIEW``: modality-specific structure-aware views (crops, colour jitter), run by
      the modality on raw samples;
    * ``CHANNEL``: data-agnostic view transforms (RQ, DACL, Mixup-as-noise) run on a
      batch at the modality's channel stage;
    * ``MIXING``: augmentations that mix samples and hand the loss the partner index
      and weight (i-Mix, e-Mix); at most one per pipeline, always last.
    """

    VIEW = 0
    CHANNEL = 1
    MIXING = 2


@dataclass(frozen=True)
class ChannelLayout:
    """How a modality lays out a batch at its channel stage.

    Args:
        channel_dim: index of the channel axis in the full tensor (negative allowed).
        batch_dims: number of leading batch axes (1 for a batch, 0 for one sample).
        channels: indices along ``channel_dim`` that channel-wise augmentations (RQ) touch;
            ``None`` (the default) means every channel. Point clouds use ``(0, 1, 2)``: xyz is
            quantized, normals and per-point ids pass through.
    """

    channel_dim: int = 1
    batch_dims: int = 1
    channels: tuple[int, ...] | None = None


def on_channels(
    fn: Callable[[Tensor], Tensor], x: Tensor, channel_dim: int, channels: tuple[int, ...] | None
) -> Tensor:
    """``fn`` applied to the ``channels`` of ``x`` along ``channel_dim`` only (all of them if ``None``).

    The other channels are returned unchanged; ``fn`` sees a tensor of the same rank whose
    channel axis holds just the selected channels, and must return one of the same shape.
    """
    if channels is None:
        return fn(x)
    size = x.shape[channel_dim]
    bad = [c for c in channels if not -size <= c < size]
    if not channels or bad:
        raise ValueError(
            f"channels {channels} must be a non-empty tuple of indices into the {size} channels of axis {channel_dim}"
        )
    index = torch.tensor([c % size for c in channels], device=x.device)
    out = fn(x.index_select(channel_dim, index))
    return x.index_copy(channel_dim, index, out.to(x.dtype))


@dataclass(frozen=True)
class MixInfo:
    """What a mixing augmentation tells the loss.

    Sample ``i`` of the mixed batch is ``weight[i] * x[i] + (1 - weight[i]) * x[partner[i]]``.
    """

    partner: Tensor
    weight: Tensor

    def __post_init__(self) -> None:
        if self.partner.shape != self.weight.shape or self.partner.ndim != 1:
            raise ValueError(
                f"MixInfo needs 1-D partner and weight of equal length, got {tuple(self.partner.shape)} "
                f"and {tuple(self.weight.shape)}"
            )

    def offset(self, shift: int) -> MixInfo:
        """Partner indices shifted by ``shift`` (the rank offset when keys are gathered)."""
        return MixInfo(self.partner + shift, self.weight)


class Augmentation(nn.Module):
    """Base of every registered augmentation.

    Subclasses set ``stage`` and, when they only make sense for one kind of data,
    ``modality`` (the modality's registered name); ``None`` means data-agnostic.
    """

    stage: ClassVar[Stage] = Stage.CHANNEL
    modality: ClassVar[str | None] = None
    version: ClassVar[int] = 1
    """Bump it when the augmentation's math changes: runs keyed with the old version are not reused."""


class OnChannels(Augmentation):
    """A channel-stage augmentation confined to a layout's ``channels`` (:func:`on_channels`): how one that
    does not choose its channels itself (it takes no ``channels`` argument, e.g. a plugin's) runs on a
    modality whose channel stage also carries data that is not signal (point clouds' normals and MID-Net
    segment ids, :mod:`modalities.points.layout`). The other channels pass through unchanged."""

    stage: ClassVar[Stage] = Stage.CHANNEL

    def __init__(self, inner: Augmentation, channel_dim: int, channels: tuple[int, ...]) -> None:
        super().__init__()
        self.inner = inner
        self.channel_dim = channel_dim
        self.channels = tuple(channels)

    def forward(self, x: Tensor) -> Tensor:
        """``inner`` on the selected channels of ``x``, the others as they are."""
        return on_channels(self.inner, x, self.channel_dim, self.channels)

    def extra_repr(self) -> str:
        return f"channel_dim={self.channel_dim}, channels={self.channels}"


class MixingAugmentation(Augmentation):
    """An augmentation whose ``forward(x)`` returns ``(mixed, MixInfo)``."""

    stage: ClassVar[Stage] = Stage.MIXING

    def forward(self, x: Tensor) -> tuple[Tensor, MixInfo]:  # pragma: no cover - interface
        raise NotImplementedError


def check_probability(p: float, name: str = "p") -> float:
    """Return ``p`` as a float, or raise ``ValueError`` unless it lies in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {type(p).__name__}")
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {p}")
    return float(p)


def check_float_tensor(x: object, name: str = "input", *, finite: bool = True) -> Tensor:
    """Raise a clear error unless ``x`` is a floating-point tensor (finite if asked)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor (float16/bfloat16/float32/float64), got {x.dtype}")
    if finite and x.numel() and not bool(torch.isfinite(x).all()):
        bad = "NaN" if bool(torch.isnan(x).any()) else "inf"
        raise ValueError(f"{name} contains {bad} values; augmentations need finite inputs")
    return x


def check_batch(x: Tensor, name: str = "input") -> int:
    """Batch size of ``x`` for augmentations that mix samples (needs a leading batch axis)."""
    if x.ndim < 2:
        raise ValueError(f"{name} must be a batch (B, ...) with at least 2 dimensions, got shape {tuple(x.shape)}")
    return x.shape[0]


def rand(
    shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Uniform [0, 1) draws made on the generator's device (for reproducibility) then moved to ``device``."""
    gen_device = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=gen_device, dtype=dtype).to(device)


def randperm(n: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """A random permutation drawn on the generator's device, moved to ``device``."""
    gen_device = generator.device if generator is not None else device
    return torch.randperm(n, generator=generator, device=gen_device).to(device)


def beta(shape: tuple[int, ...], a: float, b: float, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """Beta(a, b) draws that follow ``generator`` (or torch's global RNG), as float32 on ``device``.

    ``torch.distributions.Beta`` takes no generator, so a seed is drawn from the torch
    generator and the Beta variates come from NumPy's generator with that seed: seeding
    torch alone makes every draw reproducible.
    """
    import numpy as np

    gen_device = generator.device if generator is not None else torch.device("cpu")
    seed = int(torch.randint(0, 2**62, (), generator=generator, device=gen_device))
    draws = np.random.default_rng(seed).beta(a, b, size=shape)
    return torch.as_tensor(draws, dtype=torch.float32, device=device)


def mix(x: Tensor, weight: Tensor, partner: Tensor, *, detach_partner: bool = False) -> Tensor:
    """``weight[i] * x[i] + (1 - weight[i]) * x[partner[i]]`` along the leading axis."""
    w = weight.to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
    other = x[partner]
    if detach_partner:
        other = other.detach()
    return w * x + (1 - w) * other

"""Mixup used as a label-free view transform: DACL's Mixup-noise and plain Mixup.

Both make ``x'_i = lam_i x_i + (1 - lam_i) x_j`` with ``j`` a random other sample of
the batch (a random permutation) and leave the loss untouched; they differ only in
the distribution of ``lam``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rqbench.augment.base import (
    Augmentation,
    Stage,
    beta,
    check_batch,
    check_float_tensor,
    check_positive,
    mix,
    rand,
    randperm,
)
from rqbench.augment.registry import register_augmentation


class MixNoise(Augmentation):
    """Base for in-batch mixing used as noise; subclasses define :meth:`weights`."""

    stage = Stage.CHANNEL

    def __init__(self, alpha: float, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.alpha = alpha
        self.generator = generator

    def weights(self, n: int, device: torch.device) -> Tensor:  # pragma: no cover - interface
        """``n`` mixing weights ``lam`` (the share of the sample itself)."""
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        """Mix every sample of the batch ``x`` (B, ...) with a random partner."""
        n = check_batch(check_float_tensor(x, f"{type(self).__name__} input"))
        if n == 0:
            return x.clone()
        lam = self.weights(n, x.device)
        return mix(x, lam, randperm(n, self.generator, x.device))

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


@register_augmentation("dacl")
class DACL(MixNoise):
    """DACL Mixup-noise (Verma et al. 2021): lam ~ U(alpha, 1), positive-preserving.

    Args:
        alpha: lower bound of ``lam`` in [0, 1] (0.5 as the paper's Table 3 baseline).
    """

    def __init__(self, alpha: float = 0.5, generator: torch.Generator | None = None) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"dacl alpha must lie in [0, 1], got {alpha!r}")
        super().__init__(float(alpha), generator)

    def weights(self, n: int, device: torch.device) -> Tensor:
        return self.alpha + (1.0 - self.alpha) * rand((n,), self.generator, device)


@register_augmentation("mixup")
class Mixup(MixNoise):
    """Input Mixup as a view transform: lam ~ Beta(alpha, alpha), lam = max(lam, 1 - lam).

    Args:
        alpha: Beta concentration (> 0); 1.0 gives lam ~ U(0.5, 1).
    """

    def __init__(self, alpha: float = 1.0, generator: torch.Generator | None = None) -> None:
        super().__init__(check_positive(alpha, "mixup alpha"), generator)

    def weights(self, n: int, device: torch.device) -> Tensor:
        lam = beta((n,), self.alpha, self.alpha, self.generator, device)
        return torch.maximum(lam, 1.0 - lam)

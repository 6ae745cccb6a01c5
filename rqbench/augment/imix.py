"""Mixing augmentations whose loss must know the partner: i-Mix and e-Mix.

i-Mix (Lee et al. 2021, kibok90/imix): ``lam ~ Beta(a, a)`` per sample, ``lam = max(lam, 1 - lam)``,
partner ``pi = randperm(B)``; only the query view is mixed, keys stay clean; the method
then scores the mixed query against both keys:
``lam CE(logits, i) + (1 - lam) CE(logits, pi(i))`` (MoCo) or the same mixture of
cosine targets (BYOL). e-Mix (DABS) is i-Mix on token embeddings with the
partner's embedding detached.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rqbench.augment.base import (
    MixInfo,
    MixingAugmentation,
    beta,
    check_batch,
    check_float_tensor,
    check_positive,
    mix,
    randperm,
)
from rqbench.augment.registry import register_augmentation


@register_augmentation("imix")
class IMix(MixingAugmentation):
    """i-Mix (Lee et al. 2021): mix queries in input space and mix their virtual labels.

    Args:
        alpha: Beta concentration (default 1.0, as i-Mix).
        detach_partner: stop gradients through the partner (e-Mix does).
        generator: optional ``torch.Generator``.
    """

    def __init__(
        self, alpha: float = 1.0, detach_partner: bool = False, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.alpha = check_positive(alpha, f"{type(self).__name__} alpha")
        self.detach_partner = bool(detach_partner)
        self.generator = generator

    def forward(self, x: Tensor) -> tuple[Tensor, MixInfo]:
        """Return the mixed batch and its :class:`MixInfo` (partner index, weight of ``x[i]``)."""
        n = check_batch(check_float_tensor(x, f"{type(self).__name__} input"))
        lam = beta((n,), self.alpha, self.alpha, self.generator, x.device)
        lam = torch.maximum(lam, 1.0 - lam)
        partner = randperm(n, self.generator, x.device)
        return mix(x, lam, partner, detach_partner=self.detach_partner), MixInfo(partner, lam)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}, detach_partner={self.detach_partner}"


@register_augmentation("emix")
class EMix(IMix):
    """e-Mix (Tamkin et al., DABS 2021): i-Mix on token embeddings, partner detached, lam ~ Beta(1, 1).

    Args:
        alpha, detach_partner, generator: as :class:`IMix`.
        batch_mean: the loss weighs every sample's two terms by the batch mean of ``lam`` (inputs are
            still mixed per sample), reproducing DABS's published code (alextamkin/dabs
            ``src/systems/emix.py`` at 72657bc): ``mix_coeff`` is shaped ``(B, 1, 1)`` (line 69) so
            ``mix_coeff * ce(logits, labels)`` (line 54) broadcasts to ``(B, 1, B)`` and its mean
            (line 55) is ``mean(lam) * mean(ce)``. Then :attr:`MixInfo.weight` holds that mean for
            every sample, not the input's weight. Default False: per-sample weights, as the algorithm states.
    """

    def __init__(
        self,
        alpha: float = 1.0,
        detach_partner: bool = True,
        generator: torch.Generator | None = None,
        *,
        batch_mean: bool = False,
    ) -> None:
        super().__init__(alpha, detach_partner, generator)
        self.batch_mean = bool(batch_mean)

    def forward(self, x: Tensor) -> tuple[Tensor, MixInfo]:
        """As :meth:`IMix.forward`; with ``batch_mean`` the returned weight is ``mean(lam)`` for every sample."""
        mixed, info = super().forward(x)
        if self.batch_mean:
            info = MixInfo(info.partner, info.weight.mean().expand_as(info.weight))
        return mixed, info

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, batch_mean={self.batch_mean}"

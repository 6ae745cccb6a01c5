"""BYOL (Grill et al., "Bootstrap Your Own Latent", NeurIPS 2020).

Online network = backbone + projector + predictor, target network = EMA of backbone
+ projector; loss ``2 - 2 cos(p, z')`` symmetrized over the two views; the target
decay ``tau`` rises from ``tau_base`` to 1 on a half cosine per step, or stays fixed
(BYOL-A, Niizumi et al. 2021, uses a fixed 0.99).
"""

from __future__ import annotations

from torch import Tensor, nn

from rqbench.augment.base import MixInfo
from rqbench.methods import METHODS
from rqbench.methods.base import Method, frozen_copy
from rqbench.methods.heads import HeadConfig
from rqbench.methods.losses import byol_loss


@METHODS.register("byol")
class BYOL(Method):
    """BYOL (Grill et al. 2020): predict an EMA target network's projection, no negatives.

    Projector and predictor are ``Linear - BN - ReLU - Linear`` (with biases):
    ``feature_dim -> proj_hidden -> proj_dim`` and ``proj_dim -> pred_hidden -> proj_dim``.
    With i-Mix (Lee et al. 2021) a mixed prediction regresses the mixture of the two
    targets' cosines.

    Args:
        backbone: maps a batch to features ``(B, feature_dim)``.
        feature_dim: backbone feature width.
        proj_hidden, proj_dim: projector widths.
        pred_hidden: predictor hidden width.
        momentum: base target decay ``tau_base``.
        fixed_momentum: keep ``tau = tau_base`` (BYOL-A) instead of the cosine schedule.
        head_batch_norm: BatchNorm in the heads (off only for CPU multi-process equivalence checks).
    """

    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        proj_hidden: int = 4096,
        proj_dim: int = 256,
        pred_hidden: int = 4096,
        momentum: float = 0.99,
        fixed_momentum: bool = False,
        head_batch_norm: bool = True,
    ) -> None:
        super().__init__(backbone, feature_dim)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum!r}")
        self.momentum = float(momentum)
        self.fixed_momentum = bool(fixed_momentum)
        self.projector_config = HeadConfig(
            2, proj_hidden, proj_dim, last_bn=False, bias=True, batch_norm=head_batch_norm
        )
        self.predictor_config = HeadConfig(
            2, pred_hidden, proj_dim, last_bn=False, bias=True, batch_norm=head_batch_norm
        )
        self.projector = self.projector_config.build(feature_dim)
        self.predictor = self.predictor_config.build(proj_dim)
        self.target_backbone = frozen_copy(self.backbone)
        self.target_projector = frozen_copy(self.projector)

    def query(self, x: Tensor) -> Tensor:
        q: Tensor = self.predictor(self.projector(self.backbone(x)))
        return q

    def key(self, x: Tensor) -> Tensor:
        k: Tensor = self.target_projector(self.target_backbone(x))
        return k

    def pair_loss(self, q: Tensor, k: Tensor, mix: MixInfo | None) -> Tensor:
        return byol_loss(q, k, mix)

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(self.backbone, self.target_backbone), (self.projector, self.target_projector)]

    def extra_repr(self) -> str:
        return f"momentum={self.momentum}, fixed_momentum={self.fixed_momentum}"

"""MoCo v3 (Chen, Xie & He, "An Empirical Study of Training Self-Supervised Vision Transformers", ICCV 2021).

Follows facebookresearch/moco-v3: base encoder = backbone + projector + predictor,
momentum encoder = EMA of backbone + projector; symmetric InfoNCE with in-batch keys
gathered across processes, scaled by ``2 T``; momentum raised from ``m0`` to 1 on a
half cosine per iteration.
"""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor, nn

from rqbench.augment.base import MixInfo
from rqbench.methods import METHODS
from rqbench.methods.base import Method, frozen_copy
from rqbench.methods.heads import HeadConfig
from rqbench.methods.losses import moco_contrastive_loss


@METHODS.register("moco")
class MoCoV3(Method):
    """MoCo v3 (Chen et al. 2021): symmetric in-batch InfoNCE against a momentum encoder.

    Defaults are the ResNet-50 recipe (projector 2 layers 4096 -> 256 with a last
    affine-free BN, predictor 2 layers 4096 -> 256 without it, ``T = 1.0``,
    ``m0 = 0.99``); :attr:`PRESETS` ``["vit"]`` is the ViT one (projector 3 layers,
    predictor with a last BN, ``T = 0.2``). With i-Mix (Lee et al. 2021) mixed queries
    score their two keys with the mixed labels.

    Args:
        backbone: maps a batch to features ``(B, feature_dim)``.
        feature_dim: backbone feature width.
        temperature: softmax temperature ``T``.
        proj_layers, proj_hidden, proj_dim, proj_last_bn: projector shape.
        pred_layers, pred_hidden, pred_last_bn: predictor shape (output ``proj_dim``).
        momentum: base momentum ``m0`` of the cosine schedule.
        fixed_momentum: keep ``m = m0`` instead of the schedule.
        head_batch_norm: BatchNorm in the heads (off only for CPU multi-process equivalence checks).
    """

    PRESETS: ClassVar[dict[str, dict[str, object]]] = {
        "resnet": dict(
            temperature=1.0,
            proj_layers=2,
            proj_hidden=4096,
            proj_dim=256,
            proj_last_bn=True,
            pred_layers=2,
            pred_hidden=4096,
            pred_last_bn=False,
        ),
        "vit": dict(
            temperature=0.2,
            proj_layers=3,
            proj_hidden=4096,
            proj_dim=256,
            proj_last_bn=True,
            pred_layers=2,
            pred_hidden=4096,
            pred_last_bn=True,
        ),
    }

    def __init__(
        self,
        backbone: nn.Module,
        feature_dim: int,
        temperature: float = 1.0,
        proj_layers: int = 2,
        proj_hidden: int = 4096,
        proj_dim: int = 256,
        pred_hidden: int = 4096,
        pred_last_bn: bool = False,
        momentum: float = 0.99,
        *,
        pred_layers: int = 2,
        proj_last_bn: bool = True,
        fixed_momentum: bool = False,
        head_batch_norm: bool = True,
    ) -> None:
        super().__init__(backbone, feature_dim)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum!r}")
        self.temperature = float(temperature)
        self.momentum = float(momentum)
        self.fixed_momentum = bool(fixed_momentum)
        self.projector_config = HeadConfig(
            proj_layers, proj_hidden, proj_dim, last_bn=proj_last_bn, bias=False, batch_norm=head_batch_norm
        )
        self.predictor_config = HeadConfig(
            pred_layers, pred_hidden, proj_dim, last_bn=pred_last_bn, bias=False, batch_norm=head_batch_norm
        )
        self.projector = self.projector_config.build(feature_dim)
        self.predictor = self.predictor_config.build(proj_dim)
        self.momentum_backbone = frozen_copy(self.backbone)
        self.momentum_projector = frozen_copy(self.projector)

    @classmethod
    def from_preset(cls, preset: str, backbone: nn.Module, feature_dim: int, **overrides: object) -> MoCoV3:
        """Build with the ``"resnet"`` or ``"vit"`` recipe, ``overrides`` taking precedence."""
        if preset not in cls.PRESETS:
            raise ValueError(f"unknown MoCo v3 preset {preset!r}; known: {', '.join(sorted(cls.PRESETS))}")
        return cls(backbone, feature_dim, **{**cls.PRESETS[preset], **overrides})  # type: ignore[arg-type]

    def query(self, x: Tensor) -> Tensor:
        q: Tensor = self.predictor(self.projector(self.backbone(x)))
        return q

    def key(self, x: Tensor) -> Tensor:
        k: Tensor = self.momentum_projector(self.momentum_backbone(x))
        return k

    def pair_loss(self, q: Tensor, k: Tensor, mix: MixInfo | None) -> Tensor:
        return moco_contrastive_loss(q, k, self.temperature, mix)

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(self.backbone, self.momentum_backbone), (self.projector, self.momentum_projector)]

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, momentum={self.momentum}, fixed_momentum={self.fixed_momentum}"

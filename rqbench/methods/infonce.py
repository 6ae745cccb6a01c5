"""In-batch InfoNCE without a momentum encoder: the contrastive objective of DABS's e-Mix recipe.

DABS (Tamkin et al. 2021, alextamkin/dabs ``src/systems/emix.py``) encodes the mixed and the
clean embeddings with the *same* network, projects them with the model's head
(LayerNorm -> Linear to 128), and scores ``mixed @ clean.T / 0.2`` with the mixed virtual labels
of i-Mix (:func:`~rqbench.methods.losses.mixed_infonce_loss`). The paper's DABS experiments
(Section 5.4) keep that recipe and swap e-Mix for randomized quantization of the embeddings:
two independently quantized views scored against each other, no mixing.
"""

from __future__ import annotations

from torch import Tensor, nn

from rqbench.augment.base import MixInfo
from rqbench.augment.views import Views
from rqbench.methods import METHODS
from rqbench.methods.base import Method
from rqbench.methods.losses import mixed_infonce_loss


@METHODS.register("infonce")
class InfoNCE(Method):
    """Siamese in-batch InfoNCE, both branches online (DABS e-Mix's objective; with ``emix``: e-Mix).

    The loss is the mean of the two directions ``pair_loss(q(queries[0]), q(keys[1]))`` and
    ``pair_loss(q(queries[1]), q(keys[0]))``; with DABS's identity base views and e-Mix this is
    DABS's mixed-vs-clean loss, averaged over two independent mixing draws. There is no
    momentum branch (``momentum`` is ``None``).

    Args:
        backbone: maps a batch to features ``(B, feature_dim)``.
        feature_dim: backbone feature width.
        temperature: softmax temperature (DABS: 0.2).
        proj_dim: width of the head ``LayerNorm(feature_dim) -> Linear(feature_dim, proj_dim)`` (DABS: 128).
    """

    def __init__(self, backbone: nn.Module, feature_dim: int, temperature: float = 0.2, proj_dim: int = 128) -> None:
        super().__init__(backbone, feature_dim)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}")
        if isinstance(proj_dim, bool) or not isinstance(proj_dim, int) or proj_dim < 1:
            raise ValueError(f"proj_dim must be a positive integer, got {proj_dim!r}")
        self.temperature = float(temperature)
        self.projector = nn.Sequential(nn.LayerNorm(feature_dim), nn.Linear(feature_dim, proj_dim))

    def query(self, x: Tensor) -> Tensor:
        q: Tensor = self.projector(self.backbone(x))
        return q

    def key(self, x: Tensor) -> Tensor:
        return self.query(x)

    def pair_loss(self, q: Tensor, k: Tensor, mix: MixInfo | None) -> Tensor:
        return mixed_infonce_loss(q, k, self.temperature, mix)

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return []

    def forward(self, views: Views) -> Tensor:
        """Mean over ordered pairs ``i != j`` of ``pair_loss(query(queries[i]), query(keys[j]), mix[i])``,
        keys encoded *with* gradients (a key that is its query is encoded once)."""
        self.check_views(views)
        q = [self.query(v) for v in views.queries]
        k = [q[i] if key is views.queries[i] else self.query(key) for i, key in enumerate(views.keys)]
        pairs = [self.pair_loss(q[i], k[j], views.mix[i]) for i in range(len(q)) for j in range(len(k)) if i != j]
        total = pairs[0]
        for term in pairs[1:]:
            total = total + term
        return total / len(pairs)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"

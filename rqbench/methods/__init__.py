"""Self-supervised methods (MoCo-v3, BYOL, ...), registered like augmentations.

A method owns its loss and its momentum (key / target) pairs; the trainer owns the loop.
"""

from rqbench.registry import Registry

METHODS: Registry[type] = Registry(
    "method",
    group="rqbench.methods",
    builtins=("rqbench.methods.moco", "rqbench.methods.byol", "rqbench.methods.infonce"),
)

# Imported after METHODS exists: these modules register themselves into it.
from rqbench.methods.base import Method  # noqa: E402
from rqbench.methods.byol import BYOL  # noqa: E402
from rqbench.methods.ema import ema_update  # noqa: E402
from rqbench.methods.heads import HeadConfig, mlp  # noqa: E402
from rqbench.methods.infonce import InfoNCE  # noqa: E402
from rqbench.methods.losses import byol_loss, mixed_infonce_loss, moco_contrastive_loss  # noqa: E402
from rqbench.methods.moco import MoCoV3  # noqa: E402
from rqbench.schedules import cosine_momentum  # noqa: E402

__all__ = [
    "BYOL",
    "METHODS",
    "HeadConfig",
    "InfoNCE",
    "Method",
    "MoCoV3",
    "byol_loss",
    "cosine_momentum",
    "ema_update",
    "mixed_infonce_loss",
    "mlp",
    "moco_contrastive_loss",
]

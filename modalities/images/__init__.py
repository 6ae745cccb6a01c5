"""The images modality (registered as ``images``): data sources, views, backbones, presets.

Importing this package registers the modality, its view augmentations (``cr``, ``rrc``,
``cj``, ``gray``, ``blur``, ``solarize``, ``full``) and its backbones.
"""

from modalities.images import views  # noqa: F401  (registers the view augmentations)
from modalities.images.modality import Images

__all__ = ["Images"]

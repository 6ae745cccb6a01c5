"""rqbench: a multi-modal benchmark harness for self-supervised learning with Randomized Quantization.

The core (this package) knows no modality: modalities, augmentations and methods
plug in through registries (and the ``rqbench.modalities`` / ``rqbench.augmentations``
/ ``rqbench.methods`` entry-point groups).
"""

from typing import Any

from rqbench.augment import RandomizedQuantization, build_pipeline, parse_spec, randomized_quantization

__version__ = "0.1.0"


def load_backbone(path: str, map_location: str = "cpu") -> Any:
    """The encoder exported by ``rqbench export`` at ``path``, ready in eval mode (see :mod:`rqbench.export`)."""
    from rqbench.export import load_backbone as load

    return load(path, map_location)


__all__ = [
    "RandomizedQuantization",
    "__version__",
    "build_pipeline",
    "load_backbone",
    "parse_spec",
    "randomized_quantization",
]

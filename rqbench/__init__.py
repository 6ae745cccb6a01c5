"""rqbench: a multi-modal benchmark harness for self-supervised learning with Randomized Quantization.

The core (this package) knows no modality: modalities, augmentations and methods
plug in through registries (and the ``rqbench.modalities`` / ``rqbench.augmentations``
/ ``rqbench.methods`` entry-point groups).
"""

from rqbench.augment import RandomizedQuantization, build_pipeline, parse_spec, randomized_quantization

__version__ = "0.1.0"
__all__ = ["RandomizedQuantization", "__version__", "build_pipeline", "parse_spec", "randomized_quantization"]

"""Augmentations: randomized quantization, the baselines it is compared with, and specs.

Every augmentation lives in one registry (:data:`AUGMENTATIONS`); a spec string such as
``"rrc+rq(bins=8,p=0.5)"`` names a pipeline of them (:func:`build_pipeline`).
"""

from rqbench.augment.base import Augmentation, ChannelLayout, MixInfo, MixingAugmentation, OnChannels, Stage
from rqbench.augment.byola_mixup import BYOLAMixup
from rqbench.augment.functional import randomized_quantization, sample_quantizer
from rqbench.augment.imix import EMix, IMix
from rqbench.augment.mixup import DACL, Mixup
from rqbench.augment.quantize import RandomizedQuantization
from rqbench.augment.registry import AUGMENTATIONS, register_augmentation
from rqbench.augment.spec import (
    AugmentationPipeline,
    AugSpec,
    AugTerm,
    SpecError,
    build_pipeline,
    parse_spec,
    validate_spec,
)

__all__ = [
    "AUGMENTATIONS",
    "DACL",
    "AugSpec",
    "AugTerm",
    "Augmentation",
    "AugmentationPipeline",
    "BYOLAMixup",
    "ChannelLayout",
    "EMix",
    "IMix",
    "MixInfo",
    "MixingAugmentation",
    "Mixup",
    "OnChannels",
    "RandomizedQuantization",
    "SpecError",
    "Stage",
    "build_pipeline",
    "parse_spec",
    "randomized_quantization",
    "register_augmentation",
    "sample_quantizer",
    "validate_spec",
]

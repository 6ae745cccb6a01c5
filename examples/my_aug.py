# my_aug.py
from rqbench.augment import Augmentation, Stage, register_augmentation


@register_augmentation("negate")
class Negate(Augmentation):
    """Flip the sign of every value."""

    stage = Stage.CHANNEL

    def forward(self, x):
        return -x

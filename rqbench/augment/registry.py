"""The one registry of augmentations: RQ, the baselines, and modality-specific views."""

from __future__ import annotations

from collections.abc import Callable

from rqbench.augment.base import Augmentation
from rqbench.registry import Registry

AUGMENTATIONS: Registry[type[Augmentation]] = Registry(
    "augmentation",
    group="rqbench.augmentations",
    builtins=(
        "rqbench.augment.quantize",
        "rqbench.augment.mixup",
        "rqbench.augment.imix",
        "rqbench.augment.byola_mixup",
    ),
)


def register_augmentation(
    name: str, *, summary: str | None = None
) -> Callable[[type[Augmentation]], type[Augmentation]]:
    """Class decorator: make an :class:`Augmentation` subclass available as ``name`` in specs.

    Example (a whole new baseline in one file)::

        @register_augmentation("negate")
        class Negate(Augmentation):
            '''Flip the sign of every value.'''
            def forward(self, x): return -x
    """
    add = AUGMENTATIONS.register(name, summary=summary)

    def decorate(cls: type[Augmentation]) -> type[Augmentation]:
        if not (isinstance(cls, type) and issubclass(cls, Augmentation)):
            raise TypeError(f"augmentation {name!r} must be a subclass of rqbench.augment.Augmentation, got {cls!r}")
        return add(cls)

    return decorate

"""Self-supervised methods (MoCo-v3, BYOL, ...), registered like augmentations.

A method owns its loss and its momentum (key / target) pairs; the trainer owns the loop.
"""

from rqbench.registry import Registry

METHODS: Registry[type] = Registry("method", group="rqbench.methods")

__all__ = ["METHODS"]

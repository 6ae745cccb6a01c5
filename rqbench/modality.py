"""The modality registry: modalities are plugins that the core never imports by name.

A modality registers itself with ``@MODALITIES.register("name")`` in a module named
by the ``rqbench.modalities`` entry-point group (rqbench's own live in ``modalities/``).
"""

from rqbench.registry import Registry

MODALITIES: Registry[type] = Registry("modality", group="rqbench.modalities")

__all__ = ["MODALITIES"]

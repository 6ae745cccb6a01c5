"""rqbench's built-in modalities, one module each, registered through the
``rqbench.modalities`` entry-point group declared in ``pyproject.toml``."""

"""The on-disk data cache shared by modalities: where it lives, and quiet HF dataset I/O."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``cache_dir``, else ``$RQBENCH_CACHE``, else ``~/.cache/rqbench``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("RQBENCH_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rqbench"


@contextlib.contextmanager
def quiet_datasets_progress() -> Iterator[None]:
    """Silence ``datasets``' progress bars for a moment (they are restored afterwards)."""
    import datasets

    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()

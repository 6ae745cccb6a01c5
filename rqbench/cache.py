"""The on-disk data cache shared by modalities: where it lives, and quiet HF dataset I/O."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A ``rich`` progress bar on stderr (``done/total``, elapsed, ETA) for building a cache; yields ``advance(n=1)``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
        disable=not enabled,
    )
    with bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)

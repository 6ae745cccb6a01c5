"""The on-disk data cache shared by modalities: where it lives, entry names, atomic entry writes,
and quiet HF dataset I/O."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from rqbench.errors import InputError

CACHE_FORMAT = 1
"""Layout version of every cache entry; part of each entry's name, so a new layout never reads an old one."""
META = "meta.json"


class EmptySplitError(ValueError, InputError):
    """Data preparation that produced an empty split (never cached)."""


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


class Advance(Protocol):
    """``advance(n=1)``: move a progress bar ``n`` steps on."""

    def __call__(self, n: int = 1) -> None: ...


@contextlib.contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Advance]:
    """A ``rich`` progress bar on stderr (``done/total``, elapsed, ETA) for building a cache; yields
    ``advance(n=1)``."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

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

        def advance(n: int = 1) -> None:
            bar.advance(task, n)

        yield advance


def entry_name(name: str, payload: Mapping[str, Any]) -> str:
    """``<name>-<12 hex digits>``: a hash of ``payload`` (everything that decides the content)."""
    text = json.dumps(dict(payload), sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def write_entry(
    path: Path, splits: Mapping[str, Any], meta: Mapping[str, Any], *, indent: int = 1, sort_keys: bool = False
) -> None:
    """Save ``splits`` (``{split name: datasets.Dataset}``) and ``meta`` at ``path`` atomically.

    Everything goes into a temporary sibling folder, then one ``os.replace``: an entry only ever
    appears whole, with its ``meta.json``. A folder at ``path`` without one is debris of a crash
    and is removed; a whole entry that another process finished first is kept.
    """
    empty = [name for name, data in splits.items() if len(data) == 0]
    if empty:  # failed data preparation is never cached: a retry builds again
        raise EmptySplitError(
            f"preparing {path.name} gave an empty {' and '.join(empty)} split; nothing was cached. "
            "Check the data source (e.g. an image folder needs several images per class)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not (path / META).is_file():
        shutil.rmtree(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        with quiet_datasets_progress():
            for split, data in splits.items():
                data.save_to_disk(str(tmp / split))
        (tmp / META).write_text(json.dumps(dict(meta), indent=indent, sort_keys=sort_keys, default=str) + "\n")
        try:
            os.replace(tmp, path)
        except OSError:
            if not (path / META).is_file():  # another process finished the same build first: keep theirs
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_entry(path: Path, splits: tuple[str, ...] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """``({split: datasets.Dataset}, meta)`` of the entry at ``path`` (``splits``: default ``meta["splits"]``)."""
    import datasets

    meta = json.loads((path / META).read_text())
    with quiet_datasets_progress():
        loaded = {s: datasets.load_from_disk(str(path / s)) for s in (splits if splits is not None else meta["splits"])}
    return loaded, meta


def has_entry(path: Path) -> bool:
    """Whether a whole entry (with its ``meta.json``) is at ``path``."""
    return (path / META).is_file()

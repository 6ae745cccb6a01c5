"""Atomic file writes: a reader never sees a half-written results file or checkpoint."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(
    path: str | os.PathLike[str], data: str | bytes | Callable[[BinaryIO], None], *, make_parents: bool = True
) -> Path:
    """Write ``data`` (text, bytes, or a function writing to a binary file) to ``path`` atomically.

    The content goes to a temporary file in the same directory, is flushed and fsynced,
    then renamed over ``path`` with ``os.replace``. The file gets the mode a plain ``open``
    would give it (``0o666`` less the process umask), so a group can share a results directory.
    With ``make_parents=False`` a missing directory raises ``FileNotFoundError`` instead of being
    created (a file that must not bring back a directory removed meanwhile).
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data.encode() if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def current_umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask

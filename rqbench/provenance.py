"""Where a result came from: git commit, hardware and package versions, recorded with every result row."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path


@functools.lru_cache(maxsize=1)
def git_commit(cwd: str | None = None) -> str:
    """The current commit hash (with ``-dirty`` when the tree has uncommitted changes), or ``unknown``."""
    where = cwd or str(Path(__file__).resolve().parent)
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev[:12]}-dirty" if dirty else rev[:12]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


@functools.lru_cache(maxsize=1)
def hardware() -> str:
    """A one-line description: CPU model and usable cores, torch threads, and the GPU if any."""
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = f"{_cpu_model()} ({cores} cores, torch {torch.__version__}, {torch.get_num_threads()} threads)"
    if torch.cuda.is_available():
        text += f"; {torch.cuda.device_count()}x {torch.cuda.get_device_name(0)}"
    return text


TRACKED_PACKAGES: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "torchvision": ("torchvision",),
    "torchaudio": ("torchaudio",),
    "ocnn": ("ocnn",),
    "open3d": ("open3d-cpu", "open3d"),
    "datasets": ("datasets",),
    "numpy": ("numpy",),
}
"""The packages whose versions change results: short name -> distribution names to try, in order."""
ABSENT = "absent"


def package_version(dists: tuple[str, ...]) -> str:
    """The installed version of the first of ``dists`` that is installed (read from its metadata,
    never by importing it: a broken build still reports its version), or :data:`ABSENT`."""
    from importlib import metadata

    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return ABSENT


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Python's version and those of :data:`TRACKED_PACKAGES`, recorded in every run's ``done.json``."""
    return {
        "python": platform.python_version(),
        **{name: package_version(dists) for name, dists in TRACKED_PACKAGES.items()},
    }


def environment_id(found: dict[str, str] | None = None) -> str:
    """``e`` + a 10-hex-digit hash of :func:`versions` (or of ``found``): the ``env`` column of result rows.

    Rows with the same id ran on the same versions; ``done.json`` of the run says which. The
    letter keeps CSV readers from taking an all-digit hash (or ``1e...``) for a number.
    """
    blob = json.dumps(found if found is not None else versions(), sort_keys=True, separators=(",", ":"))
    return "e" + hashlib.sha256(blob.encode()).hexdigest()[:10]

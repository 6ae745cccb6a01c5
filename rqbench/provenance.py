"""Where a result came from: git commit and hardware, recorded with every result row."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from pathlib import Path


@functools.lru_cache(maxsize=1)
def git_commit(cwd: str | None = None) -> str:
    """The current commit hash (with ``-dirty`` when the tree has uncommitted changes), or ``unknown``."""
    where = cwd or str(Path(__file__).resolve().parent)
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True, text=True, check=True
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

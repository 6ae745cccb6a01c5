"""The runs of a results directory: what each is, how far it got, what it costs on disk."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DONE, FAILED, CONFIG = "done.json", "failed.json", "config.json"
STATUSES = ("done", "partial", "failed")


@dataclass(frozen=True)
class RunInfo:
    """One run directory: key, config summary, status and size."""

    key: str
    modality: str
    method: str
    aug: str
    seed: int
    world_size: int
    status: str
    wall_time_s: float | None
    size_bytes: int
    path: Path


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_info(run_dir: Path) -> RunInfo:
    """What ``run_dir`` holds: ``done`` (finished), ``failed`` (``failed.json``), else ``partial``."""
    config, done = _read(run_dir / CONFIG), _read(run_dir / DONE)
    status = "done" if (run_dir / DONE).exists() else "failed" if (run_dir / FAILED).exists() else "partial"
    size = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
    wall = done.get("wall_time_s")
    return RunInfo(
        key=run_dir.name,
        modality=str(config.get("modality", "?")),
        method=str(config.get("method", "?")),
        aug=str(config.get("aug", "?")),
        seed=int(config.get("seed", -1)),
        world_size=int(config.get("world_size", 1)),
        status=status,
        wall_time_s=float(wall) if wall is not None else None,
        size_bytes=size,
        path=run_dir,
    )


def list_runs(results: Path, **filters: str | None) -> list[RunInfo]:
    """Every run under ``results/runs``, filtered on equal fields (``modality="images"``, ``status="failed"``)."""
    runs = results / "runs"
    infos = [run_info(d) for d in sorted(runs.iterdir()) if d.is_dir()] if runs.is_dir() else []
    wanted = {k: v for k, v in filters.items() if v is not None}
    return [i for i in infos if all(str(getattr(i, k)) == v for k, v in wanted.items())]


def remove_run(info: RunInfo) -> None:
    """Delete a run's directory (its rows stay in results.csv until the run is run again)."""
    shutil.rmtree(info.path)


def run_state(run_dir: Path) -> tuple[str, str]:
    """``(state, where to look)`` of a planned run: pending (no directory yet), running (a live lock),
    done, failed (with its failed.json), or partial (stopped: the next bench resumes it)."""
    from rqbench.runlock import RunLock

    if not run_dir.exists():
        return "pending", ""
    lock = RunLock(run_dir)
    holder = lock.holder()
    if holder is not None and not lock.stale(holder):
        return "running", f"pid {holder.get('pid')} on {holder.get('host')}"
    status = run_info(run_dir).status
    return status, str(run_dir / FAILED) if status == "failed" else str(run_dir)


__all__ = ["STATUSES", "RunInfo", "list_runs", "remove_run", "run_info", "run_state"]

"""A rich progress bar for training: step, loss, throughput and ETA."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TrainProgress:
    """Context manager showing ``step/total``, the last loss, samples/s and the ETA (no-op when disabled)."""

    def __init__(self, total: int, completed: int = 0, *, enabled: bool = True, description: str = "pretrain", console: Console | None = None) -> None:
        self.enabled = enabled and total > 0
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[speed]} samples/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=not self.enabled,
        )
        self._task = self._progress.add_task(description, total=total, completed=completed, loss="-", speed="-")

    def __enter__(self) -> TrainProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def advance(self, record: dict[str, Any]) -> None:
        """One step done; ``record`` holds its ``loss`` and ``samples_per_s``."""
        self._progress.update(self._task, advance=1, loss=f"{record['loss']:.4f}", speed=f"{record['samples_per_s']:.0f}")

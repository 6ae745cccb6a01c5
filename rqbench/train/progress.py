"""Training progress: a rich bar on a terminal; plain lines every ``log_every`` seconds otherwise
(nohup, Slurm logs), so a redirected log shows a run's life while it trains."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def format_eta(seconds: float) -> str:
    """``h:mm:ss``."""
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class PlainProgress:
    """One line ``<description> step s/total (p %) loss x samples/s y ETA h:mm:ss`` at most every
    ``log_every`` seconds, and at the end."""

    def __init__(
        self, total: int, completed: int, description: str, log_every: float, stream: TextIO | None = None
    ) -> None:
        self.total, self.done, self.description, self.log_every = total, completed, description, log_every
        self.stream = stream if stream is not None else sys.stdout
        self._start = self._last = time.monotonic()
        self._first = completed

    def advance(self, record: dict[str, Any]) -> None:
        """One step done; print a line if ``log_every`` seconds passed (or it was the last step)."""
        self.done += 1
        now = time.monotonic()
        if now - self._last >= self.log_every or self.done == self.total:
            self._last = now
            rate = (self.done - self._first) / max(now - self._start, 1e-9)
            eta = format_eta((self.total - self.done) / rate) if rate > 0 else "?"
            line = (
                f"{self.description} step {self.done}/{self.total} ({100 * self.done / max(self.total, 1):.0f} %) "
                f"loss {record['loss']:.4f} {record['samples_per_s']:.0f} samples/s ETA {eta}"
            )
            print(line, file=self.stream, flush=True)


class TrainProgress:
    """Context manager showing ``step/total``, the last loss, samples/s and the ETA: a rich bar on a
    terminal, plain lines every ``log_every`` seconds when the output is redirected (no-op when disabled)."""

    def __init__(
        self,
        total: int,
        completed: int = 0,
        *,
        enabled: bool = True,
        description: str = "pretrain",
        console: Console | None = None,
        log_every: float = 30.0,
    ) -> None:
        self.enabled = enabled and total > 0
        console = console or Console()
        self._plain = (
            PlainProgress(total, completed, description, log_every)
            if self.enabled and not console.is_terminal
            else None
        )
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
            disable=not self.enabled or self._plain is not None,
        )
        self._task = self._progress.add_task(description, total=total, completed=completed, loss="-", speed="-")

    def __enter__(self) -> TrainProgress:
        self._progress.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)

    def advance(self, record: dict[str, Any]) -> None:
        """One step done; ``record`` holds its ``loss`` and ``samples_per_s``."""
        if self._plain is not None:
            self._plain.advance(record)
            return
        self._progress.update(
            self._task, advance=1, loss=f"{record['loss']:.4f}", speed=f"{record['samples_per_s']:.0f}"
        )


__all__ = ["PlainProgress", "TrainProgress", "format_eta"]

"""Per-step metrics appended to ``metrics.jsonl``, one JSON object per line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

_Log = TypeVar("_Log", bound="MetricsLog")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of ``path``; a torn last line (a crash or a full disk mid-write) is dropped with a
    warning, a bad line elsewhere is an error naming file and line."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                warnings.warn(f"{path}:{number}: dropped a torn last line", RuntimeWarning, stacklevel=2)
                break
            raise ValueError(f"{path}:{number}: not a JSON record: {line[:80]!r}") from None
    return records


class MetricsLog:
    """``metrics.jsonl`` of a run; on resume, the records from ``resume_step`` on are dropped
    (the resumed run writes them again), and so is a torn last line."""

    def __init__(self, path: Path, resume_step: int) -> None:
        self.path = path
        kept = [r for r in read_metrics(path) if r["step"] < resume_step] if resume_step and path.exists() else []
        path.write_text("".join(json.dumps(r) + "\n" for r in kept))
        self._handle = path.open("a")

    def write(self, record: dict[str, Any]) -> None:
        """Append one record and flush it."""
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()

    def __enter__(self: _Log) -> _Log:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class StepLog(MetricsLog):
    """``metrics.jsonl`` and the run's loggers (TensorBoard, W&B) together: one ``write`` per step."""

    def __init__(self, path: Path, resume_step: int, loggers: Any) -> None:
        super().__init__(path, resume_step)
        self.loggers = loggers

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` to the file and give it to every logger."""
        super().write(record)
        self.loggers.log_step(record)

    def scalars(self, values: dict[str, float | None], step: int) -> None:
        """Extra scalars (the kNN monitor) for the loggers only; ``None`` values are skipped."""
        present = {k: float(v) for k, v in values.items() if v is not None}
        if present:
            self.loggers.log_scalars(present, step)

    def close(self) -> None:
        super().close()
        self.loggers.close()


__all__ = ["MetricsLog", "StepLog", "read_metrics"]

"""Preemption and time limits: on SIGTERM or SIGUSR1 (Slurm's warning signal, ``--signal=USR1@120``)
a run finishes its current step, writes its checkpoint there and stops; running the same command
again (or the requeued job) resumes from it, bit-identical on CPU."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from types import FrameType, TracebackType

SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
EXIT_PREEMPTED = 3
"""Exit status of a preempted run (its checkpoint is written; the same command resumes it)."""


class Preempted(RuntimeError):
    """The run stopped on a signal after writing its checkpoint at ``step``."""

    def __init__(self, step: int, signal_name: str) -> None:
        super().__init__(f"stopped on {signal_name} at step {step}: checkpoint written; run the same command to resume")
        self.step = step
        self.signal_name = signal_name


class PreemptionWatch:
    """``with PreemptionWatch() as watch:`` records SIGTERM / SIGUSR1 in ``watch.received`` instead of dying;
    the previous handlers come back on exit. Outside the main thread it watches nothing."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name

    def __enter__(self) -> PreemptionWatch:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]


def requeue_slurm_job() -> bool:
    """Ask Slurm to requeue this job (``scontrol requeue $SLURM_JOB_ID``) when running under Slurm."""
    job = os.environ.get("SLURM_ARRAY_JOB_ID", os.environ.get("SLURM_JOB_ID"))
    if not job or shutil.which("scontrol") is None:
        return False
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    target = f"{job}_{task}" if task and "SLURM_ARRAY_JOB_ID" in os.environ else job
    return subprocess.run(["scontrol", "requeue", target], capture_output=True).returncode == 0


__all__ = ["EXIT_PREEMPTED", "SIGNALS", "Preempted", "PreemptionWatch", "requeue_slurm_job"]

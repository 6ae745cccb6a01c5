"""A run directory's lock: one process works in a run at a time, across processes and machines.

The lock is a file ``run.lock`` created atomically (``O_CREAT | O_EXCL``, which network file systems
honour for a plain create) holding the owner's host, pid and a heartbeat the owner refreshes every
``heartbeat_s`` seconds. It is stale, and taken over, when its heartbeat is older than
``stale_after_s`` or, on the same host, when its pid no longer runs: a crash never leaves a run stuck.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from rqbench.errors import InputError
from rqbench.io import write_atomic

LOCK = "run.lock"


class RunLockedError(RuntimeError, InputError):
    """Another live process works in this run directory."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


class RunLock:
    """``with RunLock(run_dir):`` holds the run directory or raises :class:`RunLockedError` naming the owner."""

    def __init__(self, run_dir: Path, heartbeat_s: float = 30.0, stale_after_s: float = 300.0) -> None:
        self.path = run_dir / LOCK
        self.heartbeat_s, self.stale_after_s = heartbeat_s, stale_after_s
        self.owner = {"host": socket.gethostname(), "pid": os.getpid()}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def holder(self) -> dict[str, Any] | None:
        """The lock file's content, or ``None`` when there is none (or it is unreadable: mid-write)."""
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return data

    def stale(self, holder: dict[str, Any]) -> bool:
        """Whether ``holder``'s lock is dead: no heartbeat for ``stale_after_s`` or, on this host, its pid gone."""
        if time.time() - float(holder.get("heartbeat", 0)) > self.stale_after_s:
            return True
        return holder.get("host") == self.owner["host"] and not _alive(int(holder.get("pid", -1)))

    def _record(self) -> str:
        """The lock's content: this owner and a fresh heartbeat."""
        return json.dumps({**self.owner, "heartbeat": time.time()})

    def _create(self) -> None:
        """Create the lock file, failing with ``FileExistsError`` if there is one."""
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        with os.fdopen(fd, "w") as handle:
            handle.write(self._record())

    def acquire(self) -> None:
        """Take the lock (a stale one is taken over), or raise :class:`RunLockedError`."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                self._create()
                break
            except FileExistsError:
                holder = self.holder()
                if holder is not None and not self.stale(holder):
                    raise RunLockedError(
                        f"run {self.path.parent.name} is being worked on by pid {holder.get('pid')} "
                        f"on {holder.get('host')} (lock {self.path}); it is skipped here"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its owner died
        else:
            raise RunLockedError(f"could not take the lock {self.path}")
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            if (self.holder() or {}).get("pid") == self.owner["pid"]:
                self._refresh()

    def _refresh(self) -> None:
        """Rewrite the heartbeat atomically (:func:`~rqbench.io.write_atomic`). Truncating and rewriting in
        place let a reader see an empty lock, which :meth:`acquire` takes for a dead one and removes."""
        with contextlib.suppress(OSError):  # the run directory went away meanwhile: not brought back
            write_atomic(self.path, self._record(), make_parents=False)

    def release(self) -> None:
        """Stop the heartbeat and remove the lock (if it is still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        holder = self.holder()
        if holder is not None and holder.get("pid") == self.owner["pid"] and holder.get("host") == self.owner["host"]:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the ``.*.tmp`` files an interrupted atomic write left in ``directory`` (call it holding the lock)."""
    removed = []
    for tmp in directory.glob(".*.tmp"):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


__all__ = ["LOCK", "RunLock", "RunLockedError", "remove_stale_temporaries"]

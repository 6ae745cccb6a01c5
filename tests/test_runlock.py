"""The run lock: one process per run directory, stale locks taken over, temporaries cleared;
two identical benches run every run exactly once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rqbench.runlock import LOCK, RunLock, RunLockedError, remove_stale_temporaries

CLI = Path(__file__).resolve().parent / "cli_with_blobs.py"


def test_a_second_holder_is_refused_until_the_first_releases(tmp_path) -> None:
    with RunLock(tmp_path):
        holder = json.loads((tmp_path / LOCK).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()}"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK).exists()
    with RunLock(tmp_path):
        pass


def test_a_dead_owner_or_an_old_heartbeat_is_stale(tmp_path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout
    (tmp_path / LOCK).write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead), "heartbeat": time.time()}))
    with RunLock(tmp_path):  # the owner's process is gone: taken over
        pass
    (tmp_path / LOCK).write_text(json.dumps({"host": "elsewhere", "pid": 1, "heartbeat": time.time() - 3600}))
    with RunLock(tmp_path, stale_after_s=60):  # another machine, silent for an hour
        pass
    (tmp_path / LOCK).write_text(json.dumps({"host": "elsewhere", "pid": 1, "heartbeat": time.time()}))
    with pytest.raises(RunLockedError):
        RunLock(tmp_path).acquire()


def test_the_heartbeat_moves(tmp_path) -> None:
    lock = RunLock(tmp_path, heartbeat_s=0.05)
    with lock:
        first = lock.holder()["heartbeat"]
        time.sleep(0.3)
        assert lock.holder()["heartbeat"] > first


def test_stale_temporaries_are_removed(tmp_path) -> None:
    (tmp_path / ".checkpoint.pt.abc.tmp").write_bytes(b"x" * 100)
    (tmp_path / "keep.txt").write_text("keep")
    assert [p.name for p in remove_stale_temporaries(tmp_path)] == [".checkpoint.pt.abc.tmp"]
    assert (tmp_path / "keep.txt").exists()


@pytest.mark.slow
def test_two_identical_benches_run_every_run_exactly_once(tmp_path) -> None:
    args = [
        sys.executable,
        str(CLI),
        "bench",
        "blobs-table",
        "--seeds",
        "2",
        "--results",
        str(tmp_path),
        "--no-progress",
    ]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    rows = pd.read_csv(tmp_path / "results.csv")
    assert rows.duplicated(["run_key", "dataset", "protocol", "label_fraction"]).sum() == 0
    assert rows["run_key"].nunique() == 6
    for run_dir in (tmp_path / "runs").iterdir():
        log = run_dir / "metrics.jsonl"
        steps = [json.loads(line)["step"] for line in log.read_text().splitlines()] if log.exists() else []
        assert steps == sorted(set(steps)), f"{run_dir.name}: steps executed twice"


def test_a_reader_never_sees_a_half_written_heartbeat(tmp_path) -> None:
    """Another process reading the lock while the owner refreshes it must always see the owner (an empty
    or partial file reads as no holder, and acquire() would take the lock over)."""
    with RunLock(tmp_path, heartbeat_s=0.0005) as lock:
        seen = [lock.holder() for _ in range(3000)]
    assert all(h is not None and h["pid"] == os.getpid() for h in seen)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary left behind


def test_a_heartbeat_does_not_bring_back_a_removed_run_directory(tmp_path) -> None:
    run = tmp_path / "run"
    lock = RunLock(run)
    lock.acquire()
    try:
        (run / LOCK).unlink()
        run.rmdir()
        lock._refresh()  # what the heartbeat thread does next
        assert not run.exists()
    finally:
        lock.release()

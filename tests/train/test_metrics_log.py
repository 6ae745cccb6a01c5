"""metrics.jsonl: resumed runs drop the records past the checkpoint and a torn last line."""

from __future__ import annotations

import json

import pytest

from rqbench.train.metrics_log import MetricsLog, read_metrics


def write(path, steps, tail: str = "") -> None:
    path.write_text("".join(json.dumps({"step": s, "loss": 1.0 / (s + 1)}) + "\n" for s in steps) + tail)


def test_resume_keeps_the_records_before_the_checkpoint(tmp_path) -> None:
    path = tmp_path / "metrics.jsonl"
    write(path, range(6))
    with MetricsLog(path, resume_step=4) as log:
        log.write({"step": 4, "loss": 0.5})
    assert [r["step"] for r in read_metrics(path)] == [0, 1, 2, 3, 4]
    MetricsLog(path, resume_step=0).close()  # a fresh run starts an empty log
    assert read_metrics(path) == []


def test_a_torn_last_line_is_dropped_with_a_warning(tmp_path) -> None:
    path = tmp_path / "metrics.jsonl"
    write(path, range(3), tail='{"step": 3, "lo')
    with pytest.warns(RuntimeWarning, match="metrics.jsonl:4: dropped a torn last line"):
        log = MetricsLog(path, resume_step=3)
    log.close()
    assert [r["step"] for r in read_metrics(path)] == [0, 1, 2]


def test_a_bad_line_in_the_middle_is_an_error_naming_it(tmp_path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 0}\nnot json\n{"step": 2}\n')
    with pytest.raises(ValueError, match="metrics.jsonl:2: not a JSON record"):
        read_metrics(path)

"""Evaluation under DDP: feature extraction is split over the ranks and gathered; 2 gloo processes give
the 1-process rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parents[1]
SCRIPT = """
import json, sys, torch
sys.path.insert(0, {tests!r})
from blobs_modality import Blobs
from rqbench.distributed import init_distributed
from rqbench.evaluate.protocol import evaluate_encoder
env = init_distributed("cpu")
modality = Blobs()
preset = Blobs.presets["quick"].with_overrides(eval={{"label_fractions": (0.1, 1.0)}})
torch.manual_seed(0)
encoder, dim = modality.backbone(preset)
rows = evaluate_encoder(encoder, dim, modality, preset, 0, env.device, env=env)
if env.is_main:
    open({out!r}, "w").write(json.dumps(rows))
"""


def run(tmp_path: Path, processes: int) -> list[dict[str, object]]:
    out = tmp_path / f"rows{processes}.json"
    code = tmp_path / "evaluate.py"
    code.write_text(SCRIPT.format(tests=str(HERE), out=str(out)))
    command = [sys.executable, str(code)]
    if processes > 1:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc-per-node={processes}",
            str(code),
        ]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
def test_two_gloo_processes_evaluate_like_one(tmp_path: Path) -> None:
    one, two = run(tmp_path, 1), run(tmp_path, 2)
    assert [(r["protocol"], r["label_fraction"]) for r in one] == [(r["protocol"], r["label_fraction"]) for r in two]
    for a, b in zip(one, two):
        assert b["value"] == pytest.approx(a["value"], abs=1e-6), (a, b)


def test_process_group_timeout_is_configurable(monkeypatch) -> None:
    from rqbench.distributed import DeviceError, process_group_timeout_s

    monkeypatch.setenv("RQBENCH_PG_TIMEOUT_S", "90")
    assert process_group_timeout_s() == 90.0
    monkeypatch.setenv("RQBENCH_PG_TIMEOUT_S", "soon")
    with pytest.raises(DeviceError, match="must be a number of seconds"):
        process_group_timeout_s()

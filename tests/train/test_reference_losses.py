"""The training step is refactored without changing results: the first steps of a quick images run,
a points MID-Net run and DABS runs reproduce, bit for bit on CPU, the losses recorded before the
refactor (``reference_losses.json``, written by this file's ``__main__`` on the old code).

The two DABS cases were recorded again after the DABS encoder was made to match DABS's own
(heads x 64 attention, embedding dropout, no final LayerNorm; its backbone ``version`` 2): that
fix changes their losses on purpose. The refactor had reproduced the old ones bit for bit."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest
import torch

REFERENCE = Path(__file__).with_name("reference_losses.json")
STEPS = 3
CASES: dict[str, dict[str, object]] = {
    "images-moco-rrc+rq": {
        "modality": "images",
        "method": "moco",
        "aug": "rrc+rq(bins=8)",
        "overrides": {"data.pretrain_samples": 512},
    },
    "images-moco-rrc+imix": {
        "modality": "images",
        "method": "moco",
        "aug": "rrc+imix",
        "overrides": {"data.pretrain_samples": 512},
    },
    "points-midnet-rq": {"modality": "points", "method": "midnet", "aug": "pts_base+rq(bins=30)", "overrides": {}},
    "dabs-infonce-rq": {
        "modality": "dabs",
        "method": "infonce",
        "aug": "rq",
        "overrides": {"data.domain": "natural_images"},
    },
    "dabs-infonce-emix": {
        "modality": "dabs",
        "method": "infonce",
        "aug": "emix",
        "overrides": {"data.domain": "natural_images", "backbone.freeze_embedding": False},
    },
}


def losses(case: str, run_dir: Path) -> list[float]:
    """The per-step losses of the first :data:`STEPS` steps of ``case`` (seed 0, quick preset, one thread)."""
    from rqbench.modality import MODALITIES
    from rqbench.runner import make_config
    from rqbench.train.loop import pretrain

    spec = CASES[case]
    torch.set_num_threads(1)
    cfg = make_config(
        str(spec["modality"]), str(spec["method"]), str(spec["aug"]), "quick", 0, True, **dict(spec["overrides"])
    )  # type: ignore[call-overload]
    pretrain(cfg, MODALITIES.get(cfg.modality)(), run_dir, resume=False, progress=False, max_steps=STEPS)
    return [json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, marks=pytest.mark.slow) if c.startswith("points") else c for c in sorted(CASES)],
)  # the points case builds the full furniture cache on a fresh machine (about 80 s): slow
def test_losses_are_those_before_the_refactor(case: str, tmp_path: Path) -> None:
    threads = torch.get_num_threads()
    try:
        got = losses(case, tmp_path)
    finally:
        torch.set_num_threads(threads)
    assert got == json.loads(REFERENCE.read_text())[case]


if __name__ == "__main__":  # python tests/train/test_reference_losses.py: record the references on this code
    out = {}
    for name in sorted(CASES):
        with tempfile.TemporaryDirectory() as tmp:
            out[name] = losses(name, Path(tmp))
            print(name, out[name], file=sys.stderr)
    REFERENCE.write_text(json.dumps(out, indent=2) + "\n")

"""Run configs: canonical specs, stable keys, presets with overrides."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from blobs_modality import Blobs

from rqbench.config import RunConfig
from rqbench.preset import Preset


def test_key_is_stable_and_canonical() -> None:
    preset = Blobs.presets["quick"]
    a = RunConfig("blobs", "moco", "rq( p=0.5, bins=8 )", preset, 0)
    b = RunConfig("blobs", "moco", "rq(bins=8,p=0.5)", preset, 0)
    assert a.aug == "rq(bins=8,p=0.5)" and a.key == b.key and len(a.key) == 16
    assert RunConfig("blobs", "moco", "rq(bins=8,p=0.5)", preset, 1).key != a.key
    assert RunConfig("blobs", "moco", "rq(bins=8,p=0.5)", preset.with_overrides(epochs=3), 0).key != a.key


def test_key_is_the_same_in_another_process() -> None:
    """The key hashes the sorted JSON config, not Python's salted hash(): any process agrees."""
    code = (
        "from rqbench.config import RunConfig; from rqbench.preset import Preset; "
        "print(RunConfig('m', 'moco', 'rq', Preset('p', epochs=1, batch_size=2), 3).key)"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert keys == {RunConfig("m", "moco", "rq", Preset("p", epochs=1, batch_size=2), 3).key}


def test_preset_overrides_and_errors() -> None:
    preset = Blobs.presets["quick"]
    changed = preset.with_overrides(epochs=9, eval={"knn_k": 5})
    assert changed.epochs == 9 and changed.eval.knn_k == 5 and changed.eval.linear_epochs == preset.eval.linear_epochs
    with pytest.raises(ValueError, match="unknown preset field\\(s\\) epoch;"):
        preset.with_overrides(epoch=3)
    with pytest.raises(ValueError, match="schedule = .poly.: must be cosine or step"):
        Preset("x", epochs=1, batch_size=1, schedule="poly")
    with pytest.raises(ValueError, match="has no preset 'paper'; presets: quick"):
        Blobs().preset("paper")


def test_fields_added_later_keep_old_keys_at_their_defaults() -> None:
    """Finished runs keep their keys when a preset field is added with a neutral default."""
    import hashlib
    import json

    cfg = RunConfig("blobs", "moco", "rq", Blobs.presets["quick"], 0)
    legacy = cfg.to_dict()
    added = ("val_fraction", "patience", "seg_label_fractions", "seg_linear_epochs", "monitor_every", "label_draws",
             "cv_folds", "cv_repeats", "lincls_epochs", "lincls_lr", "lincls_batch_size", "lincls_momentum",
             "lincls_weight_decay")  # fmt: skip
    for name in added:
        del legacy["preset"]["eval"][name]  # every evaluation field added later
    del legacy["preset"]["steps"]  # and every top-level one
    expected = hashlib.sha256(json.dumps(legacy, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    assert cfg.key == expected
    changed = RunConfig(
        "blobs", "moco", "rq", Blobs.presets["quick"].with_overrides(eval={"val_fraction": 0.1, "patience": 5}), 0
    )
    assert changed.key != cfg.key
    assert RunConfig("blobs", "moco", "rq", Blobs.presets["quick"].with_overrides(steps=5), 0).key != cfg.key


def test_steps_is_validated_and_coerced() -> None:
    preset = Blobs.presets["quick"]
    assert preset.steps is None and preset.with_overrides(steps="7").steps == 7
    assert Preset.from_dict({k: v for k, v in preset.to_dict().items() if k != "steps"}).steps is None
    for bad in (0, -3):
        with pytest.raises(ValueError, match="steps = .*: must be >= 1, or None"):
            Preset("x", epochs=1, batch_size=1, steps=bad)


def test_steps_set_the_length_and_the_schedule_total(tmp_path) -> None:
    """With ``steps`` the loop runs exactly that many steps (past the end of an epoch: blobs has 8 per
    epoch) whatever ``epochs`` says, and the learning-rate schedule ends at ``steps``."""
    import json

    from rqbench.train import pretrain
    from rqbench.train.loop import METRICS, learning_rate

    cfg = RunConfig("blobs", "moco", "rq", Blobs.presets["quick"].with_overrides(epochs=1, steps=11), 0)
    result = pretrain(cfg, Blobs(), tmp_path, progress=False)
    log = [json.loads(line) for line in (tmp_path / METRICS).read_text().splitlines()]
    assert result.steps == 11 and [r["step"] for r in log] == list(range(11))
    assert [r["epoch"] for r in log] == [0] * 8 + [1] * 3
    assert [r["lr"] for r in log] == [learning_rate(cfg, s, 11, 8) for s in range(11)]

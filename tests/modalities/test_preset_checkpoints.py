"""Every built-in preset checkpoints during pretraining, so a killed run resumes instead of restarting."""

from __future__ import annotations

import pytest

from rqbench.modality import MODALITIES


@pytest.mark.parametrize("name", ["images", "audio", "points", "dabs"])
def test_every_preset_checkpoints_mid_run(name: str) -> None:
    modality = MODALITIES.get(name)()
    for preset_name in modality.presets:
        preset = modality.preset(preset_name)
        assert preset.checkpoint_every > 0, f"{name}/{preset_name} writes no checkpoint before the end"

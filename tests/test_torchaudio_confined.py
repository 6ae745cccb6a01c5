"""torchaudio stops at 2.11 while torch moves on: only the audio feature code may import it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {Path("modalities/audio/features.py")}


def test_only_the_audio_feature_code_imports_torchaudio() -> None:
    importing = {
        path.relative_to(ROOT)
        for package in ("rqbench", "modalities")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"^\s*(import torchaudio|from torchaudio)", path.read_text(), re.MULTILINE)
    }
    assert importing == ALLOWED

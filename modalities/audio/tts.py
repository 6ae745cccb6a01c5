"""Synthetic voices for the ``words`` and ``speakers`` corpora: espeak-ng and flite.

The voice pool (:func:`voice_pool`) is every English espeak-ng accent (``en-gb``, ``en-us``,
``en-gb-scotland``, ``en-gb-x-rp``, ... : the voices whose file is ``gmw/en*``; the MBROLA ones
need extra packages and are left out) combined with every espeak-ng variant (``+m3``,
``+f2``, ``+Alex``, ``+whisper``, ... : 101), plus flite's five general voices (``awb``,
``kal``, ``kal16``, ``rms``, ``slt``; ``awb_time`` only speaks times and is left out): 813
voices (8 accents x 101 variants + 5) with Debian bookworm's espeak-ng 1.51.

A :class:`Voice` is one synthetic *speaker*: its base pitch and speaking rate are drawn from a
hash of its name (not from the corpus seed), so ``espeak-ng:en-us+m3`` sounds the same in
every corpus and every build. Each clip then jitters both a little (:meth:`Voice.jitter`,
seeded by the corpus). Clips are rendered to WAV (espeak-ng on stdout, flite into a temporary
file), read with ``soundfile``, resampled to 16 kHz, trimmed of leading and trailing silence
(-40 dB) and peak-normalised to 0.9.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cache import require_executable, run_tool, tool_version
from .features import SAMPLE_RATE, decode_audio, peak_normalize, resample, trim_silence

__all__ = ["ENGINES", "FLITE_VOICES", "Voice", "engine_versions", "synthesize", "voice_pool"]

ESPEAK = "espeak-ng"
FLITE = "flite"
ENGINES = (ESPEAK, FLITE)
#: flite's general-purpose voices and their approximate mean F0 (Hz).
FLITE_VOICES = {"awb": 130.0, "kal": 100.0, "kal16": 100.0, "rms": 110.0, "slt": 175.0}


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Args:
        engine: ``"espeak-ng"`` or ``"flite"``.
        name: ``"en-us+m3"`` (espeak-ng accent + variant) or ``"slt"`` (flite).
        pitch: espeak-ng's ``-p`` (0-99) or flite's mean F0 in Hz.
        speed: espeak-ng's ``-s`` (words per minute) or flite's speaking-rate factor (>1 faster).
    """

    engine: str
    name: str
    pitch: float
    speed: float

    @property
    def id(self) -> str:
        """``engine:name``, e.g. ``espeak-ng:en-us+m3``."""
        return f"{self.engine}:{self.name}"

    def jitter(self, rng: np.random.Generator) -> tuple[float, float]:
        """A clip's (pitch, speed): the voice's own, moved by up to +-6 pitch units / +-5 % F0
        and +-10 % speed."""
        if self.engine == ESPEAK:
            pitch = float(np.clip(round(self.pitch + rng.uniform(-6, 6)), 0, 99))
            speed = float(round(self.speed * rng.uniform(0.9, 1.1)))
        else:
            pitch = round(self.pitch * rng.uniform(0.95, 1.05), 1)
            speed = round(self.speed * rng.uniform(0.9, 1.1), 3)
        return pitch, speed


def _name_rng(voice_id: str) -> np.random.Generator:
    return np.random.default_rng(int(hashlib.sha256(voice_id.encode()).hexdigest()[:16], 16))


def _espeak_voice(name: str) -> Voice:
    rng = _name_rng(f"{ESPEAK}:{name}")
    return Voice(ESPEAK, name, pitch=float(round(rng.uniform(25, 75))), speed=float(round(rng.uniform(140, 200))))


def _flite_voice(name: str) -> Voice:
    rng = _name_rng(f"{FLITE}:{name}")
    return Voice(
        FLITE, name, pitch=round(FLITE_VOICES[name] * rng.uniform(0.85, 1.15), 1), speed=round(rng.uniform(0.9, 1.1), 3)
    )


def _espeak_table(flag: str) -> list[list[str]]:
    exe = require_executable(ESPEAK, "espeak-ng", "the spoken-word corpora")
    text = run_tool([exe, flag], "listing espeak-ng voices").decode(errors="replace")
    return [line.split() for line in text.splitlines()[1:] if line.strip()]


def espeak_accents() -> list[str]:
    """The English espeak-ng voices (language codes of the ``gmw/en*`` voice files), sorted."""
    return sorted({row[1] for row in _espeak_table("--voices=en") if len(row) >= 5 and row[4].startswith("gmw/en")})


def espeak_variants() -> list[str]:
    """The espeak-ng voice variants (``m3``, ``f2``, ``Alex``...), sorted."""
    return sorted(
        {
            row[4].removeprefix("!v/")
            for row in _espeak_table("--voices=variant")
            if len(row) >= 5 and row[4].startswith("!v/")
        }
    )


def voice_pool(engines: Sequence[str] = ENGINES) -> list[Voice]:
    """Every voice of ``engines`` (espeak-ng accents x variants, flite voices), sorted by id."""
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown or not engines:
        raise ValueError(f"engines must be a non-empty subset of {ENGINES}, got {list(engines)}")
    voices: list[Voice] = []
    if ESPEAK in engines:
        accents, variants = espeak_accents(), espeak_variants()
        if not accents:
            raise RuntimeError(
                "espeak-ng lists no English voices (gmw/en*): is its data package (espeak-ng-data) complete?"
            )
        voices += [_espeak_voice(f"{accent}+{variant}") for accent in accents for variant in variants]
    if FLITE in engines:
        require_executable(FLITE, "flite", "the spoken-word corpora")
        voices += [_flite_voice(name) for name in FLITE_VOICES]
    return sorted(voices, key=lambda v: v.id)


def engine_versions(engines: Sequence[str]) -> dict[str, str]:
    """The version line of each engine (part of the corpora's cache keys)."""
    out = {}
    if ESPEAK in engines:
        out[ESPEAK] = tool_version([require_executable(ESPEAK, "espeak-ng", "the spoken-word corpora"), "--version"])
    if FLITE in engines:
        out[FLITE] = tool_version([require_executable(FLITE, "flite", "the spoken-word corpora"), "--version"])
    return out


def synthesize(voice: Voice, text: str, pitch: float | None = None, speed: float | None = None) -> np.ndarray:
    """``text`` spoken by ``voice`` as a float32 waveform at 16 kHz (trimmed, peak 0.9).

    ``pitch`` and ``speed`` default to the voice's own (see :meth:`Voice.jitter`).
    """
    pitch = voice.pitch if pitch is None else pitch
    speed = voice.speed if speed is None else speed
    what = f"{voice.id} saying {text!r}"
    if voice.engine == ESPEAK:
        exe = require_executable(ESPEAK, "espeak-ng", "the spoken-word corpora")
        data = run_tool([exe, "-v", voice.name, "-s", str(int(speed)), "-p", str(int(pitch)), "--stdout", text], what)
        wave, rate = decode_audio(data, name=f"espeak-ng output for {what}")
    elif voice.engine == FLITE:
        exe = require_executable(FLITE, "flite", "the spoken-word corpora")
        with tempfile.TemporaryDirectory(prefix="rqbench-flite-") as tmp:
            out = Path(tmp) / "clip.wav"
            run_tool(
                [
                    exe,
                    "-voice",
                    voice.name,
                    "--setf",
                    f"duration_stretch={1.0 / speed:.4f}",
                    "--setf",
                    f"int_f0_target_mean={pitch:.1f}",
                    "-t",
                    text,
                    "-o",
                    str(out),
                ],
                what,
            )
            wave, rate = decode_audio(out, name=f"flite output for {what}")
    else:
        raise ValueError(f"unknown speech engine {voice.engine!r}; engines: {', '.join(ENGINES)}")
    return peak_normalize(trim_silence(resample(wave, rate, SAMPLE_RATE)))

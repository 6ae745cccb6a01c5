"""``notes``: single instrument notes rendered from a General MIDI soundfont (NSynth-like).

Each clip is one note of a GM melodic program (bank 0, programs 0-127) rendered with
FluidSynth (``pyfluidsynth``) at 16 kHz, reverb and chorus off: held for ``hold`` seconds,
then released, ``duration`` seconds in all (NSynth: 4 s, held 3 s), with the background noise
of :func:`modalities.audio.noise.with_noise_floor` mixed under it at an SNR drawn from
``snr_db`` (20-40 dB; a decayed note otherwise ends in digital silence), peak-normalised to 0.9.
The label is the program's GM family, ``program // 8`` (:data:`GM_FAMILIES`, 16 classes, as
NSynth's instrument-family task); pitch (MIDI ``pitches``) and velocity (``velocities``,
NSynth's five) vary. Each family gets ``clips_per_family`` clips, ``test_fraction`` of them in
the test split; no (program, pitch, velocity) is rendered twice.

``split="instrument"`` (default, as NSynth, whose test instruments are never heard in
training): ``test_programs`` of each family's eight programs (drawn with ``seed``) are test-only.
``split="note"``: every program is in both splits, but the (pitch, velocity) combinations are
divided between them. ``group`` is the program (``gm024``) or the combination (``p60v100``).

``soundfont``: ``"fluidr3"`` (default; Debian ``fluid-soundfont-gm``, 148 MB,
``/usr/share/sounds/sf2/FluidR3_GM.sf2``), ``"timgm6mb"`` (Debian ``timgm6mb-soundfont``, 6 MB,
used by the tests) or a path to any GM ``.sf2``. A program the soundfont lacks is skipped; a
note that renders silent is replaced by the next draw.

=========== ===================== ============== ===================================
scale       ``clips_per_family``  clips          build time (one core, measured)
=========== ===================== ============== ===================================
``tiny``    4                     64             about 0.2 s (timgm6mb)
``quick``   125                   2,000          about 5 s (FluidR3; 245 MB)
``full``    1,000                 16,000         about 40 s (estimated; 2 GB)
=========== ===================== ============== ===================================
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .cache import (
    AudioCorpus,
    AudioUnavailableError,
    Clip,
    CorpusPlan,
    apt_command,
    clips_to_dataset,
    file_fingerprint,
    progress_bar,
    register_corpus,
    require_file,
    require_module,
)
from .features import SAMPLE_RATE, peak_normalize, seconds_to_samples
from .noise import SNR_DB, check_snr_range, clip_rng, corpus_recipe, noise_floor_key, with_noise_floor

__all__ = ["GM_FAMILIES", "SOUNDFONTS", "notes", "render_note", "resolve_soundfont"]

#: The 16 General MIDI program families (``program // 8``).
GM_FAMILIES = (
    "piano", "chromatic_percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth_lead", "synth_pad", "synth_effects", "ethnic", "percussive", "sound_effects",
)  # fmt: skip
#: Named soundfonts: (file, Debian package).
SOUNDFONTS = {
    "fluidr3": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm"),
    "timgm6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont"),
}
#: NSynth's velocities.
VELOCITIES = (25, 50, 75, 100, 127)
#: Peaks below this (after int16 rendering, full scale 1) count as a silent render.
SILENT = 1e-4

SCALES = {
    "tiny": {"clips_per_family": 4},
    "quick": {"clips_per_family": 125},
    "full": {"clips_per_family": 1000},
}


def resolve_soundfont(soundfont: str | os.PathLike[str]) -> Path:
    """A soundfont name (``fluidr3``, ``timgm6mb``) or path as an existing file.

    A missing named soundfont raises :class:`AudioUnavailableError` with its ``apt-get``
    command; a missing path raises :class:`FileNotFoundError`.
    """
    if isinstance(soundfont, str) and soundfont.lower() in SOUNDFONTS:
        known, package = SOUNDFONTS[soundfont.lower()]
        other = "timgm6mb" if soundfont.lower() == "fluidr3" else "fluidr3"
        hint = f" (or use soundfont={other!r}: {apt_command(SOUNDFONTS[other][1])})"
        return require_file(known, package, f"the notes corpus (soundfont {soundfont!r})", hint)
    path = Path(soundfont).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"soundfont {path} does not exist; use a GM .sf2 file or one of {', '.join(SOUNDFONTS)}"
        )
    return path.resolve()


def _fluidsynth() -> Any:
    return require_module(
        "fluidsynth", "pyfluidsynth", "the notes corpus (FluidSynth)", apt_packages=("libfluidsynth3",)
    )


class _Renderer:
    """One FluidSynth instance with the soundfont loaded, rendering notes one after another."""

    def __init__(self, soundfont: Path) -> None:
        fluidsynth = _fluidsynth()
        self.synth = fluidsynth.Synth(
            gain=0.5, samplerate=float(SAMPLE_RATE), **{"synth.reverb.active": 0, "synth.chorus.active": 0}
        )
        self.sfid = self.synth.sfload(str(soundfont))
        if self.sfid < 0:
            self.synth.delete()
            raise ValueError(f"FluidSynth cannot load the soundfont {soundfont}")

    def programs(self) -> list[int]:
        """The bank-0 programs the soundfont has."""
        return [p for p in range(128) if self.synth.program_select(0, self.sfid, 0, p) == 0]

    def preset_name(self, program: int) -> str:
        name = self.synth.sfpreset_name(self.sfid, 0, program)
        return (name or "").strip() or f"program {program}"

    def render(self, program: int, pitch: int, velocity: int, hold: int, total: int) -> np.ndarray:
        synth = self.synth
        synth.program_select(0, self.sfid, 0, program)
        synth.noteon(0, pitch, velocity)
        held = np.asarray(synth.get_samples(hold), dtype=np.float32)
        synth.noteoff(0, pitch)
        tail = (
            np.asarray(synth.get_samples(total - hold), dtype=np.float32) if total > hold else np.zeros(0, np.float32)
        )
        synth.all_sounds_off(0)
        synth.get_samples(256)  # let the killed voices finish before the next note
        stereo = np.concatenate([held, tail]).reshape(-1, 2)
        return stereo.mean(axis=1) / 32768.0

    def close(self) -> None:
        self.synth.delete()


def render_note(
    soundfont: str | os.PathLike[str],
    program: int,
    pitch: int,
    velocity: int = 100,
    duration: float = 2.0,
    hold: float = 1.5,
) -> np.ndarray:
    """One note as a float32 waveform at 16 kHz (not normalised; full scale is 1)."""
    renderer = _Renderer(resolve_soundfont(soundfont))
    try:
        return renderer.render(program, pitch, velocity, seconds_to_samples(hold), seconds_to_samples(duration)).astype(
            np.float32
        )
    finally:
        renderer.close()


@register_corpus("notes", SCALES)
def notes(
    *,
    seed: int = 0,
    clips_per_family: int = 125,
    soundfont: str | os.PathLike[str] = "fluidr3",
    split: str = "instrument",
    test_fraction: float = 0.25,
    test_programs: int = 2,
    pitches: Sequence[int] = tuple(range(36, 85)),
    velocities: Sequence[int] = VELOCITIES,
    duration: float = 2.0,
    hold: float = 1.5,
    snr_db: Sequence[float] = SNR_DB,
    noise_floor: str = "clip",
) -> CorpusPlan:
    """NSynth-like instrument-family classification: GM-soundfont notes, 16 families, varied pitch and velocity.

    ``noise_floor``: ``"clip"`` (each clip draws its own background recipe) or ``"corpus"`` (one
    recipe for every clip, :func:`modalities.audio.noise.corpus_recipe`).
    """
    if split not in ("instrument", "note"):
        raise ValueError(
            "split must be 'instrument' (test programs unseen in training) or 'note' "
            f"(test pitch/velocity combinations), got {split!r}"
        )
    if not isinstance(clips_per_family, int) or clips_per_family < 2:
        raise ValueError(f"clips_per_family must be an int >= 2 (one per split), got {clips_per_family!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if not 0 < hold <= duration:
        raise ValueError(f"need 0 < hold <= duration, got hold={hold}, duration={duration}")
    pitches, velocities = sorted(set(int(p) for p in pitches)), sorted(set(int(v) for v in velocities))
    if (
        not pitches
        or not all(0 <= p <= 127 for p in pitches)
        or not velocities
        or not all(1 <= v <= 127 for v in velocities)
    ):
        raise ValueError("pitches must be MIDI notes in [0, 127] and velocities in [1, 127], neither empty")
    if split == "instrument" and not 1 <= test_programs <= 7:
        raise ValueError(f"test_programs must lie in [1, 7] (of each family's 8 programs), got {test_programs!r}")
    snr = check_snr_range(snr_db)
    recipe = corpus_recipe(noise_floor, seed, "notes")
    path = resolve_soundfont(soundfont)
    fluidsynth_version = getattr(_fluidsynth(), "__version__", "")  # fails now, with the install command
    key = {
        "seed": seed,
        "soundfont": str(path),
        "soundfont_file": file_fingerprint([path]),
        "pyfluidsynth": fluidsynth_version,
        "clips_per_family": clips_per_family,
        "split": split,
        "test_fraction": test_fraction,
        "test_programs": test_programs if split == "instrument" else None,
        "pitches": pitches,
        "velocities": velocities,
        "duration": duration,
        "hold": hold,
        "snr_db": list(snr),
        **noise_floor_key(noise_floor),
    }
    n_test = min(max(round(test_fraction * clips_per_family), 1), clips_per_family - 1)
    n_train = clips_per_family - n_test

    def build(progress: bool) -> AudioCorpus:
        renderer = _Renderer(path)
        try:
            available = set(renderer.programs())
            rng = np.random.default_rng([seed, 88])
            combos = [(p, v) for p in pitches for v in velocities]
            if split == "note":
                order = rng.permutation(len(combos))
                k = min(max(round(test_fraction * len(combos)), 1), len(combos) - 1)
                side_combos = {
                    "test": [combos[i] for i in sorted(order[:k])],
                    "train": [combos[i] for i in sorted(order[k:])],
                }
            # Candidate (program, pitch, velocity) triples per family and split, in a seeded order.
            candidates: dict[str, list[list[tuple[int, int, int]]]] = {"train": [], "test": []}
            test_program_list: list[int] = []
            for family in range(16):
                progs = [p for p in range(8 * family, 8 * family + 8) if p in available]
                if len(progs) < 2:
                    raise AudioUnavailableError(
                        f"soundfont {path} has {len(progs)} program(s) of GM family {GM_FAMILIES[family]!r}; "
                        "need at least 2"
                    )
                if split == "instrument":
                    chosen = sorted(rng.choice(progs, size=min(test_programs, len(progs) - 1), replace=False).tolist())
                    test_program_list += chosen
                    sides = {
                        "train": [(p, c) for p in progs if p not in chosen for c in combos],
                        "test": [(p, c) for p in chosen for c in combos],
                    }
                else:
                    sides = {s: [(p, c) for p in progs for c in side_combos[s]] for s in ("train", "test")}
                for side, pairs in sides.items():
                    candidates[side].append(
                        [(p, pv[0], pv[1]) for p, pv in (pairs[i] for i in rng.permutation(len(pairs)))]
                    )
            hold_n, total_n = seconds_to_samples(hold), seconds_to_samples(duration)
            splits, silent = {}, 0
            with progress_bar(f"notes ({path.name}): rendering", 16 * clips_per_family, progress) as advance:
                for side, want in (("train", n_train), ("test", n_test)):
                    clips = []
                    for family, triples in enumerate(candidates[side]):
                        got = 0
                        for program, pitch, velocity in triples:
                            if got == want:
                                break
                            wave = renderer.render(program, pitch, velocity, hold_n, total_n)
                            if float(np.abs(wave).max()) < SILENT:
                                silent += 1
                                continue
                            name = f"gm{program:03d} {renderer.preset_name(program)}"
                            group = f"gm{program:03d}" if split == "instrument" else f"p{pitch}v{velocity}"
                            clip_id = f"{path.stem}:gm{program:03d}:n{pitch}:v{velocity}"
                            noisy = with_noise_floor(wave, clip_rng(seed, clip_id), snr_db=snr, recipe=recipe)[0]
                            clips.append(Clip(peak_normalize(noisy), family, name, group, clip_id))
                            got += 1
                            advance(1)
                        if got < want:
                            raise RuntimeError(
                                f"notes: family {GM_FAMILIES[family]!r} gave only {got} audible {side} notes "
                                f"of {want}; lower clips_per_family or widen pitches/velocities"
                            )
                    splits[side] = clips_to_dataset(clips, GM_FAMILIES, side)
        finally:
            renderer.close()
        info = {
            "description": "NSynth-like: GM soundfont notes, 16 instrument families",
            "soundfont": str(path),
            "split": split,
            "test_programs": test_program_list,
            "silent_renders_skipped": silent,
            "snr_db": list(snr),
            "noise_floor": noise_floor,
        }
        return AudioCorpus("notes", splits["train"], splits["test"], GM_FAMILIES, info=info)

    return CorpusPlan(key, build)

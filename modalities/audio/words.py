"""``words``: spoken command words from synthetic voices (Speech-Commands-V2-like).

The 35 words of Speech Commands V2 (:data:`WORDS`), spoken by ``voices`` voices drawn (with
``seed``) from the espeak-ng + flite pool of :mod:`modalities.audio.tts`, each word
``repeats`` times per voice with the pitch and speed jittered per clip. The split is
**speaker-disjoint**: ``round(test_fraction * voices)`` of the drawn voices (at least one, and
at least one left for training) speak only test clips, the others only training clips, as in
Speech Commands (``group`` and ``speaker`` are the voice).

``classes=35``: one class per word. ``classes=12``: the 12-class version (:data:`CLASSES_12`):
the ten command words, ``_silence_`` and ``_unknown_``. Per voice and repeat it holds each
command word once, one ``_unknown_`` clip (one of the 25 other words, drawn at random) and one
``_silence_`` clip (white, pink or brown noise, or the recorded-like background of
:func:`modalities.audio.noise.background` one time in six, at -65 to -35 dBFS; no peak
normalisation), so the 12 classes are balanced.

Each spoken word is trimmed, then placed at a seeded offset in at least ``min_seconds``
(1.0 s, the length of a Speech Commands clip) of background noise mixed under it at an SNR
drawn from ``snr_db`` (:func:`modalities.audio.noise.with_noise_floor`: pink noise, hiss and
mains hum; 20-40 dB by default), as a Speech Commands recording is a word in a second of a
room's sound; longer utterances are kept whole. Clips are then peak-normalised to 0.9. No clip
holds digital silence (before version 2 of the corpora, words were zero-padded and ``_silence_``
was digital silence one time in six: 54 % of the log-mel frames of a training crop sat at
``log(eps)``, ``results/benchmarks/audio_standin.md``).

============ ============ ================================== ================================
scale        voices       clips (35 classes / 12 classes)    build time (one core, measured)
============ ============ ================================== ================================
``tiny``     4 (3 + 1)    140 / 48                           about 1.5 s / 0.5 s
``quick``    60 (45 + 15) 2,100 / 720                        about 24 s / 7 s
``full``     400          28,000 / 9,600 (``repeats=2``)     about 5 min (estimated)
============ ============ ================================== ================================

About 11 ms and 30 KB of float32 audio per 35-class clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .cache import AudioCorpus, Clip, CorpusPlan, clips_to_dataset, progress_bar, register_corpus
from .features import SAMPLE_RATE, peak_normalize, seconds_to_samples
from .noise import (
    SNR_DB,
    background,
    check_snr_range,
    clip_rng,
    colored_noise,
    corpus_recipe,
    noise_floor_key,
    with_noise_floor,
)
from .tts import ENGINES, Voice, engine_versions, synthesize, voice_pool

__all__ = ["CLASSES_12", "COMMANDS", "WORDS", "noise_clip", "split_voices", "words"]

#: The 35 words of Speech Commands V2, alphabetical.
WORDS = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
    "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off",
    "on", "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two",
    "up", "visual", "wow", "yes", "zero",
)  # fmt: skip
#: The ten command words of the 12-class version.
COMMANDS = ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes")
#: The 12 classes (the order of TensorFlow Datasets' ``speech_commands``).
CLASSES_12 = (*COMMANDS, "_silence_", "_unknown_")
#: How each word is written for the synthesizers (names are spelt so they sound right).
SPOKEN = {"marvin": "Marvin", "sheila": "Sheila"}

SCALES = {
    "tiny": {"voices": 4, "repeats": 1},
    "quick": {"voices": 60, "repeats": 1},
    "full": {"voices": 400, "repeats": 2},
}


def split_voices(
    pool: Sequence[Voice], n: int, test_fraction: float, rng: np.random.Generator
) -> tuple[list[Voice], list[Voice]]:
    """``n`` voices drawn from ``pool`` without replacement, as (train voices, test voices)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"need at least 2 voices (one per split), got {n!r}")
    if n > len(pool):
        raise ValueError(
            f"asked for {n} voices but the pool has {len(pool)} (espeak-ng accents x variants + flite voices)"
        )
    chosen = [pool[i] for i in rng.choice(len(pool), size=n, replace=False)]
    n_test = min(max(round(test_fraction * n), 1), n - 1)
    return chosen[n_test:], chosen[:n_test]


def noise_clip(rng: np.random.Generator, seconds: float = 1.0) -> tuple[np.ndarray, str]:
    """A ``_silence_`` clip: quiet white/pink/brown noise or recorded-like background (pink noise,
    hiss, hum), and its description."""
    n = seconds_to_samples(seconds, SAMPLE_RATE)
    kind = ("background", "white", "pink", "brown", "white", "pink")[int(rng.integers(6))]
    level_db = float(round(rng.uniform(-65, -35), 1))
    if kind == "background":
        noise = background(n, rng)
    else:
        noise = colored_noise(n, rng, {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind])
    noise = noise * 10.0 ** (level_db / 20.0)
    return noise.astype(np.float32), f"{kind}{level_db:+.1f}dB"


@register_corpus("words", SCALES)
def words(
    *,
    seed: int = 0,
    voices: int = 40,
    repeats: int = 1,
    classes: int = 35,
    test_fraction: float = 0.25,
    engines: Sequence[str] = ENGINES,
    min_seconds: float = 1.0,
    snr_db: Sequence[float] = SNR_DB,
    noise_floor: str = "clip",
) -> CorpusPlan:
    """Speech-Commands-like spoken words (35 or 12 classes) from espeak-ng and flite voices, speaker-disjoint split.

    ``noise_floor``: ``"clip"`` (each clip draws its own background recipe) or ``"corpus"`` (one
    recipe for every clip, :func:`modalities.audio.noise.corpus_recipe`).
    """
    if classes not in (35, 12):
        raise ValueError(f"classes must be 35 (every word) or 12 (ten commands, _silence_, _unknown_), got {classes!r}")
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive int, got {repeats!r}")
    snr = check_snr_range(snr_db)
    recipe = corpus_recipe(noise_floor, seed, "words")
    engines = tuple(sorted(set(engines)))
    pool = voice_pool(engines)
    rng = np.random.default_rng([seed, 35])
    train_voices, test_voices = split_voices(pool, voices, test_fraction, rng)
    class_names = WORDS if classes == 35 else CLASSES_12
    key = {
        "seed": seed,
        "voices": voices,
        "repeats": repeats,
        "classes": classes,
        "test_fraction": test_fraction,
        "min_seconds": min_seconds,
        "snr_db": list(snr),
        **noise_floor_key(noise_floor),
        "engines": engine_versions(engines),
        "train_voices": [v.id for v in train_voices],
        "test_voices": [v.id for v in test_voices],
    }
    length = seconds_to_samples(min_seconds)
    unknown_words = [w for w in WORDS if w not in COMMANDS]

    def plan_side(side_voices: list[Voice], stream: int) -> list[tuple[Voice, int, str | None, int]]:
        """(voice, repeat, word or None for silence, label) for every clip of one split."""
        pick = np.random.default_rng([seed, stream, 0])
        todo: list[tuple[Voice, int, str | None, int]] = []
        for voice in side_voices:
            for r in range(repeats):
                if classes == 35:
                    todo += [(voice, r, word, i) for i, word in enumerate(WORDS)]
                else:
                    todo += [(voice, r, word, i) for i, word in enumerate(COMMANDS)]
                    todo.append((voice, r, None, CLASSES_12.index("_silence_")))
                    todo.append(
                        (voice, r, unknown_words[int(pick.integers(len(unknown_words)))], CLASSES_12.index("_unknown_"))
                    )
        return todo

    def build(progress: bool) -> AudioCorpus:
        sides = {"train": plan_side(train_voices, 1), "test": plan_side(test_voices, 2)}
        splits = {}
        with progress_bar(
            f"words ({classes} classes): synthesizing", sum(map(len, sides.values())), progress
        ) as advance:
            for stream, (side, todo) in enumerate(sides.items(), start=1):
                jitter = np.random.default_rng([seed, stream, 1])
                clips = []
                for voice, r, word, label in todo:
                    if word is None:
                        audio, kind = noise_clip(jitter, min_seconds)
                        clips.append(Clip(audio, label, "", voice.id, f"noise:{kind}:{voice.id}#{r}"))
                    else:
                        pitch, speed = voice.jitter(jitter)
                        clip_id = f"{voice.id}:p{pitch:g}:s{speed:g}:{word}#{r}"
                        spoken = synthesize(voice, SPOKEN.get(word, word), pitch, speed)
                        audio = with_noise_floor(
                            spoken, clip_rng(seed, clip_id), length=length, snr_db=snr, recipe=recipe
                        )[0]
                        clips.append(Clip(peak_normalize(audio), label, voice.id, voice.id, clip_id))
                    advance(1)
                splits[side] = clips_to_dataset(clips, class_names, side)
        info: dict[str, Any] = {
            "description": (
                f"Speech-Commands-like: {len(WORDS)} words, {classes} classes, synthetic voices, speaker-disjoint split"
            ),
            "train_voices": len(train_voices),
            "test_voices": len(test_voices),
            "engines": key["engines"],
            "snr_db": list(snr),
            "noise_floor": noise_floor,
        }
        return AudioCorpus("words", splits["train"], splits["test"], tuple(class_names), info=info)

    return CorpusPlan(key, build)

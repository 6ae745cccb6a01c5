"""A recorded-like noise floor for the synthetic corpora: background noise mixed in at a per-clip SNR.

Recorded audio never holds digital silence: a microphone, a room and a converter leave a noise
floor under and around the sound. Synthesizers (espeak-ng, flite, FluidSynth) output exact zeros
between and after sounds, and a log-mel maps zeros to ``log(eps)`` (about -15.9), far below any
recorded sound; RQ's bins span a spectrogram's minimum to its maximum, so such frames squeeze the
real sound into one or two of its bins (issue 18, ``benchmarks/audio_standin.py``).

:func:`background` makes the floor, deterministically from a NumPy generator: pink noise
(power ``1/f``, the usual shape of room and electronics noise), white hiss (the converter's
flat floor) 6 to 20 dB below it, and, for half of the clips, mains hum (50 or 60 Hz with its
first four harmonics, as recordings near mains wiring pick up) 0 to 15 dB below it.
:func:`with_noise_floor` pads a clean clip with that floor (the clip placed at a seeded offset)
and mixes it under the clip at an SNR drawn uniformly from a range (:data:`SNR_DB`, 20-40 dB,
between a quiet phone recording and a studio one):

    SNR = 10 log10( mean(clean^2) / mean(noise^2) ),

both means over the clip's own samples (the noise under it), before any padding or
peak-normalisation (which scales both alike). The padding is the same continuous noise, so no
padded frame lies below the floor under the sound.

:func:`clip_rng` seeds a clip's noise from the corpus seed and the clip's id, so a clip's floor
does not depend on the order the corpus is built in. By default each clip draws its own recipe
(hiss level, hum or not, hum frequency and levels: :class:`NoiseRecipe`); a corpus built with
``noise_floor="corpus"`` gives all its clips one recipe (:func:`corpus_recipe`), so the background
no longer tells clips apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .features import SAMPLE_RATE

__all__ = [
    "NOISE_FLOORS",
    "SNR_DB",
    "NoiseRecipe",
    "background",
    "check_snr_range",
    "clip_rng",
    "colored_noise",
    "corpus_recipe",
    "draw_recipe",
    "mains_hum",
    "noise_floor_key",
    "with_noise_floor",
]

#: The default range (dB) the per-clip SNR is drawn from, uniformly.
SNR_DB = (20.0, 40.0)


def check_snr_range(snr_db: Sequence[float]) -> tuple[float, float]:
    """``snr_db`` as a ``(low, high)`` pair of finite dB with ``low <= high``, or a ``ValueError``."""
    values = tuple(float(v) for v in snr_db)
    if len(values) != 2 or not all(np.isfinite(values)) or values[0] > values[1]:
        raise ValueError(f"snr_db must be a (low, high) pair of finite dB with low <= high, got {snr_db!r}")
    return values[0], values[1]


def clip_rng(seed: int, clip_id: str) -> np.random.Generator:
    """The generator of one clip's noise: seeded by the corpus seed and a hash of the clip's id."""
    return np.random.default_rng([seed, int(hashlib.sha256(clip_id.encode()).hexdigest()[:16], 16)])


def colored_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """``n`` samples of unit-RMS noise whose power spectrum falls as ``1 / f**exponent``
    (0 white, 1 pink, 2 brown), shaped in the frequency domain; no DC component."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    white = rng.standard_normal(n)
    if exponent == 0:
        noise = white - white.mean()
    else:
        spectrum = np.fft.rfft(white)
        freqs = np.arange(len(spectrum), dtype=np.float64)
        freqs[0] = 1.0
        spectrum /= freqs ** (exponent / 2.0)
        spectrum[0] = 0.0
        noise = np.fft.irfft(spectrum, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


#: The ranges a background recipe is drawn from, uniformly (per clip in :func:`background`, per corpus in
#: :func:`draw_recipe`): the hiss's level below the pink noise (dB), the share of recipes with mains hum,
#: its level below the pink noise (dB), the mains frequencies (Hz), each harmonic's falloff (dB).
HISS_DB = (6.0, 20.0)
HUM_SHARE = 0.5
HUM_DB = (0.0, 15.0)
MAINS_HZ = (50.0, 60.0)
FALLOFF_DB = (3.0, 9.0)


@dataclass(frozen=True)
class NoiseRecipe:
    """What a background sounds like, apart from its random realization: white hiss ``hiss_db`` below
    the pink noise; mains hum at ``hum_hz`` (50 or 60; ``None``: no hum) ``hum_db`` below it, its
    harmonics 2-5 each ``falloff_db[k]`` dB below the one before."""

    hiss_db: float
    hum_hz: float | None
    hum_db: float
    falloff_db: tuple[float, float, float, float, float]


def draw_recipe(rng: np.random.Generator) -> NoiseRecipe:
    """A recipe drawn as :func:`background` draws one per clip: hiss 6-20 dB, hum for half of the
    draws at 0-15 dB, 50 or 60 Hz, harmonics falling 3-9 dB each."""
    hiss_db = float(rng.uniform(*HISS_DB))
    hum = bool(rng.random() < HUM_SHARE)
    hum_db = float(rng.uniform(*HUM_DB))
    hum_hz = float(rng.choice(MAINS_HZ))
    falloff = tuple(float(v) for v in rng.uniform(*FALLOFF_DB, size=5))
    return NoiseRecipe(hiss_db, hum_hz if hum else None, hum_db, falloff)  # type: ignore[arg-type]


#: How a corpus's clips get their noise recipe (``noise_floor`` option of the corpora).
NOISE_FLOORS = ("clip", "corpus")


def corpus_recipe(noise_floor: str, seed: int, corpus: str) -> NoiseRecipe | None:
    """The recipe every clip of a corpus shares (``noise_floor="corpus"``: drawn once from the corpus
    seed and name), or ``None`` (``"clip"``: each clip draws its own, the default).

    A recipe per clip makes the background a clip's fingerprint (its hiss level and hum are the same
    in every crop of it), a cue self-supervised views share besides the sound itself; one recipe per
    corpus leaves only the realization (and the level, through the SNR) to differ between clips.
    """
    if noise_floor not in NOISE_FLOORS:
        raise ValueError(f"noise_floor must be one of {', '.join(NOISE_FLOORS)}, got {noise_floor!r}")
    return draw_recipe(clip_rng(seed, f"{corpus}:noise-recipe")) if noise_floor == "corpus" else None


def noise_floor_key(noise_floor: str) -> dict[str, str]:
    """A corpus cache key's entry for its ``noise_floor`` option: nothing for the default ``"clip"``, so
    the caches built before the option existed keep their keys (their content is unchanged)."""
    return {} if noise_floor == "clip" else {"noise_floor": noise_floor}


def mains_hum(
    n: int, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE, recipe: NoiseRecipe | None = None
) -> np.ndarray:
    """``n`` samples of unit-RMS mains hum: 50 or 60 Hz and its harmonics 2-5, each with a random
    phase and a level falling 3 to 9 dB per harmonic (frequency and falloffs from ``recipe`` if given)."""
    base = float(rng.choice(MAINS_HZ)) if recipe is None or recipe.hum_hz is None else recipe.hum_hz
    t = np.arange(n, dtype=np.float64) / sample_rate
    level, hum = 1.0, np.zeros(n)
    for k in range(1, 6):
        hum += level * np.sin(2 * np.pi * k * base * t + rng.uniform(0, 2 * np.pi))
        level *= 10.0 ** (-(rng.uniform(*FALLOFF_DB) if recipe is None else recipe.falloff_db[k - 1]) / 20.0)
    return hum / (np.sqrt(np.mean(hum**2)) + 1e-12)


def background(
    n: int, rng: np.random.Generator, sample_rate: int = SAMPLE_RATE, recipe: NoiseRecipe | None = None
) -> np.ndarray:
    """``n`` samples of unit-RMS background noise: pink noise, white hiss 6-20 dB below it and, for
    half of the draws, mains hum 0-15 dB below it (see the module docstring). With ``recipe`` the
    levels and the hum are the recipe's and only the noise and the hum's phases are drawn."""
    noise = colored_noise(n, rng, 1.0)
    hiss_db = rng.uniform(*HISS_DB) if recipe is None else recipe.hiss_db
    noise = noise + 10.0 ** (-hiss_db / 20.0) * colored_noise(n, rng, 0.0)
    if (rng.random() < HUM_SHARE) if recipe is None else recipe.hum_hz is not None:
        hum_db = rng.uniform(*HUM_DB) if recipe is None else recipe.hum_db
        noise = noise + 10.0 ** (-hum_db / 20.0) * mains_hum(n, rng, sample_rate, recipe)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def with_noise_floor(
    clean: np.ndarray,
    rng: np.random.Generator,
    *,
    length: int | None = None,
    snr_db: Sequence[float] = SNR_DB,
    placement: str = "random",
    recipe: NoiseRecipe | None = None,
) -> tuple[np.ndarray, int, float]:
    """``clean`` with a noise floor under it, padded with that floor to at least ``length`` samples.

    Args:
        clean: the clip (not silent), float.
        rng: the generator of every draw (the offset, the SNR, the noise): :func:`clip_rng`.
        length: the output's length at least (default: the clip's own).
        snr_db: the range the clip's SNR is drawn from, uniformly (dB).
        placement: where a shorter clip goes: ``"random"`` (a uniform offset) or ``"centre"``.
        recipe: the background's recipe (:func:`corpus_recipe`), or ``None`` to draw one for this clip.

    Returns:
        ``(mixed, offset, snr)``: the float32 waveform, where the clip starts in it, and the SNR
        (dB) the noise was mixed at (exact over the clip's samples, see the module docstring).
    """
    low, high = check_snr_range(snr_db)
    if placement not in ("random", "centre"):
        raise ValueError(f"placement must be 'random' or 'centre', got {placement!r}")
    clean = np.asarray(clean, dtype=np.float64)
    power = float(np.mean(clean**2)) if clean.size else 0.0
    if clean.ndim != 1 or power <= 0.0:
        raise ValueError("with_noise_floor needs a non-silent 1-D clip (its power sets the noise level)")
    total = max(len(clean), length or 0)
    spare = total - len(clean)
    offset = int(rng.integers(spare + 1)) if placement == "random" else spare // 2
    snr = float(rng.uniform(low, high))
    noise = background(total, rng, recipe=recipe)
    under = noise[offset : offset + len(clean)]
    noise *= np.sqrt(power / 10.0 ** (snr / 10.0) / float(np.mean(under**2)))
    noise[offset : offset + len(clean)] += clean
    return noise.astype(np.float32), offset, snr

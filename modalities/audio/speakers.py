"""``speakers``: many-class voice identification from synthetic voices (VoxCeleb1-like).

The classes are ``voices`` voices drawn (with ``seed``) from the espeak-ng + flite pool of
:mod:`modalities.audio.tts` (813 voices; ``voices=None`` takes them all). Each voice
reads Harvard sentences (:data:`SENTENCES`, IEEE 1969 lists 1-3, phonetically balanced, 2-3 s
each). The split is **by sentence, not by speaker**, as in VoxCeleb1's identification split:
the 30 sentences are divided once (seeded) into ``test_sentences`` test sentences and the rest
for training; each voice reads ``train_per_voice`` training clips and ``test_per_voice`` test
clips. A clip is one utterance of ``sentences_per_clip`` sentences of its side (2 by default:
4-6 s, so that a clip fills ``max_seconds`` as a VoxCeleb1 utterance, about 8 s, does): its
first sentence is drawn per voice without repeats, the others at random among the side's other
sentences. Every voice is in both splits but no sentence is (``group`` is the clip's sentences,
``sentence03+sentence17``). Pitch and speed are jittered per clip; clips are trimmed, cut to
their first ``max_seconds`` seconds, padded to ``max_seconds`` (the few shorter ones) with the
background noise that :func:`modalities.audio.noise.with_noise_floor` mixes under the whole
clip at an SNR drawn from ``snr_db`` (20-40 dB), and peak-normalised to 0.9.

The vocabulary is disjoint from the ``words`` corpus's, so no clip can be in both corpora.

=========== ========== ============================ ================================
scale       voices     clips                        build time (one core, measured)
=========== ========== ============================ ================================
``tiny``    6          24 (3 + 1 per voice)         about 0.4 s
``quick``   100        1,000 (8 + 2 per voice)      72 s on a busy machine (245 MB)
``full``    all (813)  16,260 (16 + 4 per voice)    about 5 min (estimated, 4.2 GB)
=========== ========== ============================ ================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .cache import AudioCorpus, Clip, CorpusPlan, clips_to_dataset, progress_bar, register_corpus
from .features import peak_normalize, seconds_to_samples
from .noise import SNR_DB, check_snr_range, clip_rng, corpus_recipe, noise_floor_key, with_noise_floor
from .tts import ENGINES, Voice, engine_versions, synthesize, voice_pool

__all__ = ["SENTENCES", "speakers"]

#: Harvard sentences (IEEE Recommended Practice for Speech Quality Measurements, 1969), lists 1-3.
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
)

SCALES: dict[str, dict[str, int | None]] = {
    "tiny": {"voices": 6, "train_per_voice": 3, "test_per_voice": 1},
    "quick": {"voices": 100, "train_per_voice": 8, "test_per_voice": 2},
    "full": {"voices": None, "train_per_voice": 16, "test_per_voice": 4},
}


@register_corpus("speakers", SCALES)
def speakers(
    *,
    seed: int = 0,
    voices: int | None = 100,
    train_per_voice: int = 8,
    test_per_voice: int = 2,
    test_sentences: int = 6,
    engines: Sequence[str] = ENGINES,
    max_seconds: float = 4.0,
    sentences_per_clip: int = 2,
    snr_db: Sequence[float] = SNR_DB,
    noise_floor: str = "clip",
) -> CorpusPlan:
    """VoxCeleb1-like voice identification: synthetic voices are the classes, split by sentence.

    ``noise_floor``: ``"clip"`` (each clip draws its own background recipe) or ``"corpus"`` (one
    recipe for every clip, :func:`modalities.audio.noise.corpus_recipe`).
    """
    if not 1 <= test_sentences < len(SENTENCES):
        raise ValueError(f"test_sentences must lie in [1, {len(SENTENCES) - 1}], got {test_sentences!r}")
    n_train_sentences = len(SENTENCES) - test_sentences
    for name, value, limit in (
        ("train_per_voice", train_per_voice, n_train_sentences),
        ("test_per_voice", test_per_voice, test_sentences),
    ):
        if not isinstance(value, int) or not 1 <= value <= limit:
            raise ValueError(f"{name} must be an int in [1, {limit}] (distinct sentences per voice), got {value!r}")
    most = min(test_sentences, n_train_sentences)
    if not isinstance(sentences_per_clip, int) or not 1 <= sentences_per_clip <= most:
        raise ValueError(
            f"sentences_per_clip must be an int in [1, {most}] (distinct sentences of one split per clip), "
            f"got {sentences_per_clip!r}"
        )
    snr = check_snr_range(snr_db)
    recipe = corpus_recipe(noise_floor, seed, "speakers")
    engines = tuple(sorted(set(engines)))
    pool = voice_pool(engines)
    rng = np.random.default_rng([seed, 1211])
    if voices is None:
        chosen = list(pool)
    else:
        if not isinstance(voices, int) or not 2 <= voices <= len(pool):
            raise ValueError(
                f"voices must be an int in [2, {len(pool)}] (the pool's size) or None for all, got {voices!r}"
            )
        chosen = [pool[i] for i in np.sort(rng.choice(len(pool), size=voices, replace=False))]
    order = rng.permutation(len(SENTENCES))
    test_ids, train_ids = sorted(order[:test_sentences].tolist()), sorted(order[test_sentences:].tolist())
    key = {
        "seed": seed,
        "voices": [v.id for v in chosen],
        "train_per_voice": train_per_voice,
        "test_per_voice": test_per_voice,
        "test_sentences": test_ids,
        "max_seconds": max_seconds,
        "sentences_per_clip": sentences_per_clip,
        "snr_db": list(snr),
        **noise_floor_key(noise_floor),
        "engines": engine_versions(engines),
    }
    limit = seconds_to_samples(max_seconds)
    class_names = tuple(v.id for v in chosen)

    def build(progress: bool) -> AudioCorpus:
        plan: dict[str, list[tuple[int, Voice, tuple[int, ...]]]] = {"train": [], "test": []}
        draw = np.random.default_rng([seed, 1211, 1])
        for label, voice in enumerate(chosen):
            for side, ids, k in (("train", train_ids, train_per_voice), ("test", test_ids, test_per_voice)):
                for first in sorted(draw.choice(ids, size=k, replace=False).tolist()):
                    others = [s for s in ids if s != first]
                    more = draw.choice(others, size=sentences_per_clip - 1, replace=False).tolist()
                    plan[side].append((label, voice, (int(first), *map(int, more))))
        splits = {}
        with progress_bar("speakers: synthesizing", sum(map(len, plan.values())), progress) as advance:
            for stream, side in enumerate(("train", "test"), start=2):
                jitter = np.random.default_rng([seed, 1211, stream])
                clips = []
                for label, voice, read in plan[side]:
                    pitch, speed = voice.jitter(jitter)
                    names = "+".join(f"sentence{s:02d}" for s in read)
                    clip_id = f"{voice.id}:p{pitch:g}:s{speed:g}:" + "+".join(f"harvard{s:02d}" for s in read)
                    spoken = synthesize(voice, " ".join(SENTENCES[s] for s in read), pitch, speed)[:limit]
                    rng_clip = clip_rng(seed, clip_id)
                    audio = with_noise_floor(spoken, rng_clip, length=limit, snr_db=snr, recipe=recipe)[0]
                    clips.append(Clip(peak_normalize(audio), label, voice.id, names, clip_id))
                    advance(1)
                splits[side] = clips_to_dataset(clips, class_names, side)
        info = {
            "description": f"VoxCeleb1-like: {len(chosen)} synthetic voices, Harvard sentences, train/test by sentence",
            "train_sentences": train_ids,
            "test_sentences": test_ids,
            "engines": key["engines"],
            "snr_db": list(snr),
            "noise_floor": noise_floor,
        }
        return AudioCorpus("speakers", splits["train"], splits["test"], class_names, info=info)

    return CorpusPlan(key, build)

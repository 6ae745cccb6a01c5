"""LibriSpeech (+ Speech Commands), DABS's speech set: DABS src/datasets/speech/librispeech.py, google_speech.py."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..domains import DomainData, DomainDataError, DomainTask, fit_count, make_task, register_domain, seeded_subset
from ..tokenizers import PatchEmbedding
from .sources import _load, hub_sources

SPEECH_RATE = 16_000
SPEECH_SAMPLES = 150_526
"""DABS's ``MAX_LENGTH``: clips are cut to (or zero-padded at the end to) this many samples (9.4 s)."""
SPEECH_MELS, SPEECH_HOP, SPEECH_FFT = 224, 672, 2048
"""224 mel bands, hop 672 (DABS's ``hop_length_dict[224]``), librosa's default FFT: 1 + 150526 // 672 = 224 frames."""
LIBRISPEECH_NORM = (-22.924, 12.587)
SPEECH_COMMANDS_NORM = (-46.847, 19.151)
LIBRISPEECH_SPLITS = {"pretrain": "train.100", "transfer": "validation"}
"""Splits of ``openslr/librispeech_asr`` ("clean"): train-clean-100, and dev-clean for ``librispeech_transfer``."""
SPEECH_COMMANDS_LABELS = (
    "eight", "right", "happy", "three", "yes", "up", "no", "stop", "on", "four", "nine", "zero", "down", "go",
    "six", "two", "left", "five", "off", "seven", "one", "cat", "bird", "marvin", "wow", "tree", "dog", "sheila",
    "bed", "house", "follow", "visual", "backward", "forward", "learn", "_background_noise_",
)  # fmt: skip
"""DABS's Speech Commands v0.02 classes, in its order (the Hub's ``_silence_`` clips are its ``_background_noise_``)."""


@functools.lru_cache(maxsize=1)
def _mel() -> torch.nn.Module:
    from modalities.audio.features import librosa_mel_spectrogram  # librosa's defaults, as DABS calls it

    return librosa_mel_spectrogram(SPEECH_RATE, SPEECH_FFT, SPEECH_HOP, SPEECH_MELS)


def dabs_spectrogram(wave: np.ndarray, norm: tuple[float, float]) -> torch.Tensor:
    """DABS's speech input ``(1, 224, 224)`` of a 16 kHz waveform.

    The first :data:`SPEECH_SAMPLES` samples (zero-padded at the end; DABS crops a random side
    of long training clips, the start of evaluation ones: here always the start), mel power
    ``S``, then librosa's ``power_to_db(S ** 2)``: ``10 log10(max(S^2, 1e-10))`` clipped to 80 dB
    below its maximum, then ``(x - mean) / std`` with DABS's per-dataset ``norm``.
    """
    x = torch.zeros(SPEECH_SAMPLES)
    n = min(len(wave), SPEECH_SAMPLES)
    x[:n] = torch.as_tensor(np.asarray(wave[:n], dtype=np.float32))
    with torch.no_grad():
        mel = _mel()(x)
    db = 20.0 * torch.log10(mel.clamp_min(1e-5))  # = 10 log10(max(mel^2, 1e-10))
    db = torch.maximum(db, db.max() - 80.0)
    return ((db - norm[0]) / norm[1]).unsqueeze(0)


def _undecoded(ds: Any, name: str) -> Any:
    import datasets

    if "audio" not in ds.column_names:
        raise DomainDataError(f"DABS {name}: the dataset has no 'audio' column; columns: {', '.join(ds.column_names)}")
    return ds.cast_column("audio", datasets.Audio(decode=False))  # decoded here with soundfile, not torchcodec


def _spectrograms(ds: Any, idx: np.ndarray, norm: tuple[float, float], name: str) -> torch.Tensor:
    """:func:`dabs_spectrogram` of rows ``idx`` of an undecoded audio dataset (read with ``soundfile``,
    resampled to 16 kHz)."""
    from modalities.audio.features import read_audio

    out = torch.empty(len(idx), 1, SPEECH_MELS, SPEECH_MELS)
    for k, i in enumerate(idx):
        audio = ds[int(i)]["audio"]
        source = audio.get("bytes") or audio.get("path")
        if not source:
            raise DomainDataError(f"DABS {name}: row {i} has no audio bytes or path")
        out[k] = dabs_spectrogram(
            read_audio(source, sample_rate=SPEECH_RATE, name=audio.get("path") or f"{name} row {i}"), norm
        )
    return out


def librispeech_speaker_split(speakers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """DABS's ``librispeech_transfer`` split of dev-clean: ``(train rows, test rows, labels)``.

    Speakers in sorted order, each one's rows shuffled by one shared ``RandomState(42)``, the
    first ``int(0.8 n)`` to train; labels are speaker ranks ``0..K-1`` (K = 40 on dev-clean).
    Rows must be in torchaudio's order (sorted utterance ids) for DABS's exact split.
    """
    rs = np.random.RandomState(42)
    unique = np.unique(speakers)
    train: list[int] = []
    test: list[int] = []
    for speaker in unique:
        rows = np.flatnonzero(speakers == speaker)
        rs.shuffle(rows)
        cut = int(0.8 * len(rows))
        train += rows[:cut].tolist()
        test += rows[cut:].tolist()
    return np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64), np.searchsorted(unique, speakers)


def _speech_commands(hub: Any, options: Mapping[str, Any], seed: int) -> DomainTask:
    """DABS's ``google_speech``: training = train + validation lists, test = the test list; 36 classes in
    DABS's order."""
    need = " (or data.hub_ids.speech_commands set to a Parquet copy with 'audio' and 'label' columns)"
    sets = []
    for split, limit, s in (
        ("train+validation", options.get("eval_train_samples"), seed),
        ("test", options.get("eval_test_samples"), seed + 1),
    ):
        ds = _undecoded(_load(hub, split, "speech_commands", need), "speech_commands")
        names = getattr(ds.features.get("label"), "names", None)
        idx = seeded_subset(len(ds), limit, s)
        raw = ds.select_columns(["label"]).select(idx)["label"]
        words = [names[v] if names else str(v) for v in raw]
        unknown = sorted({w for w in words if w.lower() not in SPEECH_COMMANDS_LABELS and w != "_silence_"})
        if unknown:
            raise DomainDataError(
                f"DABS speech_commands: labels {unknown} are not among DABS's {len(SPEECH_COMMANDS_LABELS)} classes"
            )
        y = [SPEECH_COMMANDS_LABELS.index("_background_noise_" if w == "_silence_" else w.lower()) for w in words]
        sets.append((_spectrograms(ds, idx, SPEECH_COMMANDS_NORM, "speech_commands"), torch.as_tensor(y)))
    return make_task("speech_commands", sets[0], sets[1], {}, seed)


@register_domain("librispeech", "Speech")
def librispeech(options: Mapping[str, Any], seed: int) -> DomainData:
    """LibriSpeech log-mel spectrograms (DABS's speech pretraining set), 16x16 patches (``speech_patch``) of 224x224.

    Pretraining: ``train.100`` (DABS pretrains on all 960 h: set ``hub_ids.librispeech`` to
    ``[openslr/librispeech_asr, all]`` and ``librispeech_splits`` to ``{pretrain:
    train.clean.100+train.clean.360+train.other.500, transfer: validation.clean}``). Evaluation: DABS's
    ``librispeech_transfer`` (dev-clean speaker ID, 40 classes, :func:`librispeech_speaker_split`)
    and, with ``extra_tasks``, Speech Commands v0.02 (36 classes). Inputs: :func:`dabs_spectrogram`
    with DABS's LibriSpeech / Speech Commands normalization constants.
    """
    sources, splits = hub_sources(options), {**LIBRISPEECH_SPLITS, **(options.get("librispeech_splits") or {})}
    train = _undecoded(_load(sources["librispeech"], splits["pretrain"], "librispeech"), "librispeech")
    pre = _spectrograms(
        train, seeded_subset(len(train), options.get("pretrain_samples"), seed + 2), LIBRISPEECH_NORM, "librispeech"
    )
    dev = _undecoded(_load(sources["librispeech"], splits["transfer"], "librispeech"), "librispeech")
    if "id" in dev.column_names:  # torchaudio's order (sorted utterance ids), for DABS's exact split
        dev = dev.select(np.argsort(np.asarray(dev["id"]), kind="stable"))
    tr, te, speakers = librispeech_speaker_split(np.asarray(dev["speaker_id"]))
    tr = tr[seeded_subset(len(tr), options.get("eval_train_samples"), seed)]
    te = te[seeded_subset(len(te), options.get("eval_test_samples"), seed + 1)]
    sets = [
        (_spectrograms(dev, rows, LIBRISPEECH_NORM, "librispeech"), torch.from_numpy(speakers[rows]))
        for rows in (tr, te)
    ]
    tasks = [make_task("librispeech_transfer", sets[0], sets[1], {}, seed)]
    if options.get("extra_tasks"):
        tasks.append(_speech_commands(sources["speech_commands"], options, seed))
    patch = int(options.get("speech_patch", 16))
    return DomainData(
        pretrain=fit_count(pre, options.get("pretrain_samples"), seed),
        tasks=tuple(tasks),
        embedding=lambda dim: PatchEmbedding(1, SPEECH_MELS, SPEECH_MELS, patch, dim),
        info={"pretrain_available": len(pre), "speakers": int(speakers.max()) + 1, "splits": splits},
    )

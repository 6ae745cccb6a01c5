"""The real DABS datasets (Tamkin et al. 2021, alextamkin/dabs), for users with internet or a local copy.

Each loader fails with one :class:`DomainDataError` naming the dataset, its source and what it
needs (internet, a local folder, an option). Sizes follow the preset's ``data`` options as the
offline domains do (``pretrain_samples``, ``eval_train_samples``, ``eval_test_samples``); a
``None`` loads a whole split, which for the image and speech sets means tens of GB of float
tensors: cap them. ``data.hub_ids`` overrides a source below (a Hugging Face ``repo`` or
``[repo, config]``, or the PAMAP2 URL); ``data.hub_roots`` maps a dataset name to a local
folder in DABS's layout.

===========  ========================================================================================
cifar10      HF ``uoft-cs/cifar10``: 4x4 patches of 32 px; evaluation on its test split
wikitext103  HF ``Salesforce/wikitext`` (pretraining) with ``stanfordnlp/sst2`` (evaluation)
librispeech  HF ``openslr/librispeech_asr`` ("clean"): pretraining on ``train.100``; evaluation on
             DABS's ``librispeech_transfer`` (dev-clean speaker ID) and, with ``extra_tasks``,
             Speech Commands v0.02 (``google/speech_commands``); DABS's 224x224 log-mel
pamap2       the UCI zip DABS downloads (cached under ``cache_root()/dabs``), or ``hub_roots.pamap2``
chexpert     ``hub_roots.chexpert`` only (CheXpert needs registration)
mscoco       ``hub_roots.mscoco`` only (COCO 2017 images + annotations, DABS's layout)
===========  ========================================================================================

The input specs (sizes, patches, windows, subjects, labels, normalizations) are DABS's, read
from its ``src/datasets``; where a loader departs from DABS (deterministic windows and crops
instead of random ones, single-label tasks for multi-label CheXpert) its docstring says so.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import re
import shutil
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rqbench.cache import cache_root

from .domains import DomainData, DomainDataError, DomainTask, fit_count, make_task, register_domain, seeded_subset
from .sensors import _standardize
from .tokenizers import ConcatEmbedding, PatchEmbedding, SegmentEmbedding, TokenEmbedding
from .wordpiece import encode_texts, train_wordpiece

HUB_IDS: dict[str, Any] = {
    "cifar10": "uoft-cs/cifar10",
    "wikitext103": ("Salesforce/wikitext", "wikitext-103-raw-v1"),
    "sst2": "stanfordnlp/sst2",
    "librispeech": ("openslr/librispeech_asr", "clean"),
    "speech_commands": ("google/speech_commands", "v0.02"),
    "pamap2": "https://archive.ics.uci.edu/ml/machine-learning-databases/00231/PAMAP2_Dataset.zip",
}
"""Dataset name -> Hugging Face id (``repo`` or ``(repo, config)``) or download URL (PAMAP2)."""

OFFLINE_HINT = "offline, use the default domains"


# --------------------------------------------------------------------------------------------
# Sources: hub ids, local roots, downloads, and the one error they all raise


def _sources(options: Mapping[str, Any]) -> dict[str, Any]:
    return {**HUB_IDS, **(options.get("hub_ids") or {})}


def _local_root(options: Mapping[str, Any], name: str) -> Path | None:
    root = (options.get("hub_roots") or {}).get(name)
    return Path(root).expanduser() if root else None


def unavailable(name: str, source: str, need: str, error: BaseException | None = None) -> DomainDataError:
    """The error of a DABS set that cannot be loaded: ``DABS <name>: could not load <source> (<error>). <need>``."""
    why = f" ({type(error).__name__}: {error})" if error is not None else ""
    return DomainDataError(f"DABS {name}: could not load {source}{why}. {need}")


def _load(hub: Any, split: str, name: str, need: str = "") -> Any:
    """``datasets.load_dataset`` of ``hub`` (``repo`` or ``[repo, config]``), any failure as :func:`unavailable`."""
    import datasets

    repo, config = (hub[0], hub[1] if len(hub) > 1 else None) if isinstance(hub, list | tuple) else (hub, None)
    try:
        return datasets.load_dataset(repo, config, split=split)
    except Exception as error:  # offline, gated, renamed, a loading script: one clear message
        where = f"{repo!r}" + (f" ({config}, {split})" if config else f" ({split})") + " from the Hugging Face Hub"
        raise unavailable(name, where, f"It needs internet access (or the dataset in the Hugging Face cache){need}; {OFFLINE_HINT}.", error) from error


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _download(url: str, dest: Path, name: str, need: str) -> Path:
    """``url`` saved as ``dest`` once (written to a temporary file, then renamed). The HF offline switches stop it too."""
    if dest.is_file():
        return dest
    if _offline():
        raise unavailable(name, url, f"Downloads are off (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set). {need}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, part.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
        os.replace(part, dest)
    except Exception as error:  # no network, HTTP errors, truncated transfers
        part.unlink(missing_ok=True)
        raise unavailable(name, url, need, error) from error
    return dest


def _extract(archive: Path, dest: Path, pattern: str, name: str, need: str) -> Path:
    """The members of zip ``archive`` (or of zips inside it) whose path matches ``pattern``, flat in ``dest`` (made atomically)."""
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    def walk(zf: zipfile.ZipFile, depth: int = 0) -> int:
        found = 0
        for info in zf.infolist():
            if re.search(pattern, info.filename):
                with zf.open(info) as src, (tmp / Path(info.filename).name).open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                found += 1
            elif info.filename.lower().endswith(".zip"):  # an archive inside the archive: unpack it to a file first
                inner = tmp / f".inner-{depth}.zip"
                with zf.open(info) as src, inner.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                with zipfile.ZipFile(inner) as nested:
                    found += walk(nested, depth + 1)
                inner.unlink()
        return found

    try:
        with zipfile.ZipFile(archive) as zf:
            found = walk(zf)
    except zipfile.BadZipFile as error:
        shutil.rmtree(tmp, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise unavailable(name, str(archive), f"The download is not a zip archive (removed; it is fetched again next time). {need}", error) from error
    if not found:
        shutil.rmtree(tmp, ignore_errors=True)
        raise unavailable(name, str(archive), f"The archive holds no file matching {pattern!r}. {need}")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def _read_images(paths: Sequence[Path], size: int, mode: str, name: str, prepare: Callable[[Any], Any] | None = None) -> torch.Tensor:
    """Images ``(N, C, size, size)`` in [0, 1] (``mode`` "L" or "RGB"), each ``prepare``-d, then resized (bilinear) to ``size``."""
    from PIL import Image

    channels = len(mode)
    out = np.empty((len(paths), channels, size, size), dtype=np.float32)
    for i, path in enumerate(paths):
        if not Path(path).is_file():
            raise DomainDataError(f"DABS {name}: image {path} not found")
        with Image.open(path) as image:
            image = image.convert(mode)
            image = prepare(image) if prepare is not None else image
            pixels = np.asarray(image.resize((size, size), Image.BILINEAR), dtype=np.float32)
        out[i] = pixels.reshape(size, size, channels).transpose(2, 0, 1) / 255.0
    return torch.from_numpy(out)


# --------------------------------------------------------------------------------------------
# CIFAR-10 and WikiText-103 (+ SST-2)


@register_domain("cifar10", "Natural Images")
def cifar10(options: Mapping[str, Any], seed: int) -> DomainData:
    """CIFAR-10 (DABS's natural-images pretraining set), 4x4 patches of 32 px; evaluation on its test split."""
    hub = _sources(options)["cifar10"]

    def split(name: str, limit: Any, s: int) -> tuple[torch.Tensor, torch.Tensor]:
        ds = _load(hub, name, "cifar10")
        idx = seeded_subset(len(ds), limit, s)
        ds = ds.select(idx)
        img_col = "img" if "img" in ds.column_names else "image"
        x = torch.stack([torch.from_numpy(np.asarray(im.convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0) for im in ds[img_col]])
        return x, torch.as_tensor(ds["label"])

    tr = split("train", options.get("eval_train_samples"), seed)
    te = split("test", options.get("eval_test_samples"), seed + 1)
    pre, _ = split("train", options.get("pretrain_samples"), seed + 2)
    return DomainData(fit_count(pre, options.get("pretrain_samples"), seed), (make_task("cifar10", tr, te, {}, seed),), lambda dim: PatchEmbedding(3, 32, 32, int(options.get("patch", 4)), dim))


@register_domain("wikitext103", "Text")
def wikitext103(options: Mapping[str, Any], seed: int) -> DomainData:
    """WikiText-103 pretraining (DABS's text set), SST-2 linear evaluation, WordPiece ids of ``text_length``."""
    ids = _sources(options)
    wiki = _load(ids["wikitext103"], "train", "wikitext103")
    texts = [t for t in wiki.select(seeded_subset(len(wiki), 4 * int(options.get("pretrain_samples") or 100_000), seed))["text"] if t.strip()]
    length = int(options.get("text_length", 128))
    tok = train_wordpiece(texts, int(options.get("vocab_size", 8000)), cache_dir=options.get("cache_dir"), name="wikitext103")
    pre = encode_texts(tok, texts, length, where="wikitext103").ids
    sst = [_load(ids["sst2"], s, "sst2") for s in ("train", "validation")]
    sets = []
    for ds, limit, s in ((sst[0], options.get("eval_train_samples"), seed), (sst[1], options.get("eval_test_samples"), seed + 1)):
        ds = ds.select(seeded_subset(len(ds), limit, s))
        sets.append((encode_texts(tok, ds["sentence"], length, where="sst2").ids, torch.as_tensor(ds["label"])))
    vocab = tok.get_vocab_size()
    return DomainData(fit_count(pre, options.get("pretrain_samples"), seed), (make_task("sst2", sets[0], sets[1], {}, seed),), lambda dim: TokenEmbedding(vocab, length, dim))


# --------------------------------------------------------------------------------------------
# LibriSpeech (+ Speech Commands): DABS src/datasets/speech/librispeech.py, google_speech.py

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
    "eight", "right", "happy", "three", "yes", "up", "no", "stop", "on", "four", "nine", "zero", "down", "go", "six", "two",
    "left", "five", "off", "seven", "one", "cat", "bird", "marvin", "wow", "tree", "dog", "sheila", "bed", "house", "follow",
    "visual", "backward", "forward", "learn", "_background_noise_",
)  # fmt: skip
"""DABS's Speech Commands v0.02 classes, in its order (the Hub's ``_silence_`` clips are its ``_background_noise_``)."""


@functools.lru_cache(maxsize=1)
def _mel() -> torch.nn.Module:
    import torchaudio

    # librosa.feature.melspectrogram's defaults as DABS calls it: Hann window, centred frames
    # (reflect padding), power 2, Slaney mel scale and area normalization, 0 Hz to Nyquist
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SPEECH_RATE, n_fft=SPEECH_FFT, hop_length=SPEECH_HOP, n_mels=SPEECH_MELS, power=2.0, center=True, pad_mode="reflect", norm="slaney", mel_scale="slaney"
    )


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
    """:func:`dabs_spectrogram` of rows ``idx`` of an undecoded audio dataset (read with ``soundfile``, resampled to 16 kHz)."""
    from modalities.audio.features import read_audio

    out = torch.empty(len(idx), 1, SPEECH_MELS, SPEECH_MELS)
    for k, i in enumerate(idx):
        audio = ds[int(i)]["audio"]
        source = audio.get("bytes") or audio.get("path")
        if not source:
            raise DomainDataError(f"DABS {name}: row {i} has no audio bytes or path")
        out[k] = dabs_spectrogram(read_audio(source, sample_rate=SPEECH_RATE, name=audio.get("path") or f"{name} row {i}"), norm)
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
    """DABS's ``google_speech``: training = train + validation lists, test = the test list; 36 classes in DABS's order."""
    need = " (or data.hub_ids.speech_commands set to a Parquet copy with 'audio' and 'label' columns)"
    sets = []
    for split, limit, s in (("train+validation", options.get("eval_train_samples"), seed), ("test", options.get("eval_test_samples"), seed + 1)):
        ds = _undecoded(_load(hub, split, "speech_commands", need), "speech_commands")
        names = getattr(ds.features.get("label"), "names", None)
        idx = seeded_subset(len(ds), limit, s)
        raw = ds.select_columns(["label"]).select(idx)["label"]
        words = [names[v] if names else str(v) for v in raw]
        unknown = sorted({w for w in words if w.lower() not in SPEECH_COMMANDS_LABELS and w != "_silence_"})
        if unknown:
            raise DomainDataError(f"DABS speech_commands: labels {unknown} are not among DABS's {len(SPEECH_COMMANDS_LABELS)} classes")
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
    sources, splits = _sources(options), {**LIBRISPEECH_SPLITS, **(options.get("librispeech_splits") or {})}
    train = _undecoded(_load(sources["librispeech"], splits["pretrain"], "librispeech"), "librispeech")
    pre = _spectrograms(train, seeded_subset(len(train), options.get("pretrain_samples"), seed + 2), LIBRISPEECH_NORM, "librispeech")
    dev = _undecoded(_load(sources["librispeech"], splits["transfer"], "librispeech"), "librispeech")
    if "id" in dev.column_names:  # torchaudio's order (sorted utterance ids), for DABS's exact split
        dev = dev.select(np.argsort(np.asarray(dev["id"]), kind="stable"))
    tr, te, speakers = librispeech_speaker_split(np.asarray(dev["speaker_id"]))
    tr = tr[seeded_subset(len(tr), options.get("eval_train_samples"), seed)]
    te = te[seeded_subset(len(te), options.get("eval_test_samples"), seed + 1)]
    sets = [(_spectrograms(dev, rows, LIBRISPEECH_NORM, "librispeech"), torch.from_numpy(speakers[rows])) for rows in (tr, te)]
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


# --------------------------------------------------------------------------------------------
# PAMAP2: DABS src/datasets/sensor/pamap2.py

PAMAP2_ACTIVITIES = (1, 2, 3, 4, 5, 6, 7, 12, 13, 16, 24)
"""DABS's activity ids (lying ... rope jumping; not the optional ones), labels 0..10 in this order."""
PAMAP2_SUBJECTS = {"train": (101, 102, 103, 104, 107, 108, 109), "test": (105,)}
"""DABS's training subjects and its evaluation ("val") subject; subject 106 (its "test" mode) is unused."""
PAMAP2_COLUMNS = 54
"""timestamp, activity id, heart rate, then 17 values of each of the hand, chest and ankle IMUs."""


def _pamap2_dir(options: Mapping[str, Any]) -> Path:
    """The folder holding ``subject1NN.dat``: ``hub_roots.pamap2`` (extracted PAMAP2_Dataset), else downloaded once into the cache."""
    root = _local_root(options, "pamap2")
    if root is not None:
        for folder in (root / "PAMAP2_Dataset" / "Protocol", root / "Protocol", root):
            if any(folder.glob("subject1*.dat")):
                return folder
        raise unavailable("pamap2", str(root), "data.hub_roots.pamap2 must be the extracted PAMAP2_Dataset folder (with Protocol/subject101.dat ...).")
    folder = cache_root(options.get("cache_dir")) / "dabs" / "pamap2-protocol"
    if not folder.is_dir():
        url = _sources(options)["pamap2"]
        need = (
            f"It needs internet access once (the files are kept in {folder}); offline, download PAMAP2_Dataset.zip from the UCI "
            f"repository, extract it and set data.hub_roots.pamap2 to the PAMAP2_Dataset folder; or {OFFLINE_HINT}."
        )
        archive = _download(url, folder.with_name("PAMAP2_Dataset.zip"), "pamap2", need)
        _extract(archive, folder, r"(^|/)Protocol/subject\d+\.dat$", "pamap2", need)
        archive.unlink()
    return folder


def read_pamap2(path: Path) -> np.ndarray:
    """A PAMAP2 ``subject*.dat`` as ``(rows, 54)`` float64, its NaNs filled.

    As DABS (``DataFrame.interpolate()``): each column linearly interpolated in row order (the
    heart rate is sampled at 9 Hz, the IMUs at 100 Hz, and IMUs drop readings). pandas leaves a
    column's leading NaNs, which DABS keeps; here they (and trailing ones) take the nearest value,
    and a column with no value at all becomes 0, so no NaN reaches the model.
    """
    import pandas as pd

    if not path.is_file():
        raise DomainDataError(f"DABS pamap2: {path} not found (the Protocol folder has subject101.dat ... subject109.dat)")
    frame = pd.read_csv(path, sep=r"\s+", header=None, dtype="float64")
    if frame.shape[1] != PAMAP2_COLUMNS:
        raise DomainDataError(f"DABS pamap2: {path} has {frame.shape[1]} columns, expected {PAMAP2_COLUMNS}")
    return frame.interpolate(limit_direction="both").fillna(0.0).to_numpy()


def pamap2_windows(rows: np.ndarray, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows ``(N, window, 52)`` float32 (all columns but timestamp and activity) and labels (index in :data:`PAMAP2_ACTIVITIES`).

    DABS draws windows at random (a subject, an activity, a start); here one every ``stride``
    rows inside each run of consecutive rows of one DABS activity, so a window never straddles
    two activities: a run of ``n`` rows gives ``max(0, (n - window) // stride + 1)`` windows.
    """
    activity = rows[:, 1].astype(np.int64)
    values = rows[:, 2:].astype(np.float32)
    cuts = np.flatnonzero(np.diff(activity)) + 1
    xs, ys = [], []
    for start, stop in zip(np.r_[0, cuts], np.r_[cuts, len(rows)]):
        if activity[start] in PAMAP2_ACTIVITIES:
            for s in range(start, stop - window + 1, stride):
                xs.append(values[s : s + window])
                ys.append(PAMAP2_ACTIVITIES.index(activity[start]))
    x = np.stack(xs) if xs else np.zeros((0, window, values.shape[1]), dtype=np.float32)
    return x, np.asarray(ys, dtype=np.int64)


@register_domain("pamap2", "Sensors")
def pamap2(options: Mapping[str, Any], seed: int) -> DomainData:
    """PAMAP2 activity windows (DABS's sensors set): 320 steps x 52 channels, segments of 5 -> Linear.

    Training subjects 101-104, 107-109 (pretraining + evaluation training), subject 105 for the
    evaluation test, 11 activities (:data:`PAMAP2_ACTIVITIES`; DABS declares 12 outputs but uses
    these 11). ``series_length`` (320) and ``segment`` (5) as DABS; windows every
    ``pamap2_stride`` rows (default: the window, no overlap; :func:`pamap2_windows`); NaNs as
    :func:`read_pamap2`. Channels are standardized with the training windows' statistics
    (``standardize``, default True; DABS feeds raw values, whose scales range from about 1 to 100).
    """
    folder = _pamap2_dir(options)
    window, segment = int(options.get("series_length", 320)), int(options.get("segment", 5))
    stride = int(options.get("pamap2_stride", window))
    arrays = {}
    for part, subjects in PAMAP2_SUBJECTS.items():
        parts = [pamap2_windows(read_pamap2(folder / f"subject{s}.dat"), window, stride) for s in subjects]
        arrays[part] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        if not len(arrays[part][0]):
            raise DomainDataError(f"DABS pamap2: the {part} subjects {subjects} have no run of {window} rows of one activity in {folder}")
    (tr, ytr), (te, yte) = arrays["train"], arrays["test"]
    if options.get("standardize", True):
        tr, te = _standardize(tr, te)
    tr_x, te_x = torch.from_numpy(np.ascontiguousarray(tr, dtype=np.float32)), torch.from_numpy(np.ascontiguousarray(te, dtype=np.float32))
    channels = tr_x.shape[2]
    return DomainData(
        pretrain=fit_count(tr_x, options.get("pretrain_samples"), seed),
        tasks=(make_task("pamap2", (tr_x, torch.from_numpy(ytr)), (te_x, torch.from_numpy(yte)), options, seed),),
        embedding=lambda dim: SegmentEmbedding(window, channels, segment, dim),
        info={"source": str(folder), "windows": {"train": len(tr_x), "test": len(te_x)}, "pretrain_available": len(tr_x)},
    )


# --------------------------------------------------------------------------------------------
# CheXpert: DABS src/datasets/medical_images/chexpert.py

CHEXPERT_URL = "https://stanfordmlgroup.github.io/competitions/chexpert/"
CHEXPERT_LABELS = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion")
"""DABS's five labels (the CheXpert competition's, Irvin et al. 2019), in its order."""


def _chexpert_dir(options: Mapping[str, Any]) -> Path:
    root = _local_root(options, "chexpert")
    need = (
        f"CheXpert needs registration: download CheXpert-v1.0-small (the version DABS's baselines use) from {CHEXPERT_URL}, "
        f"extract it and set data.hub_roots.chexpert to the folder holding train.csv and valid.csv; or {OFFLINE_HINT}."
    )
    if root is None:
        raise unavailable("chexpert", "a local copy (data.hub_roots.chexpert is not set)", need)
    for folder in (root, root / "CheXpert-v1.0-small", root / "CheXpert-v1.0"):
        if (folder / "train.csv").is_file() and (folder / "valid.csv").is_file():
            return folder
    raise unavailable("chexpert", str(root), f"It has no train.csv and valid.csv. {need}")


def read_chexpert_csv(path: Path, labels: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """``(image paths as listed, (N, len(labels)) 0/1)``: 1.0 is positive; blank (no mention) and -1 (uncertain) are 0, as DABS."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        absent = [c for c in ("Path", *labels) if c not in (reader.fieldnames or ())]
        if absent:
            raise DomainDataError(f"DABS chexpert: {path} has no column(s) {', '.join(absent)}")
        rows = list(reader)
    y = np.asarray([[int(r[c].strip() != "" and float(r[c]) == 1.0) for c in labels] for r in rows], dtype=np.int64).reshape(len(rows), len(labels))
    return [r["Path"] for r in rows], y


def _chexpert_image(folder: Path, listed: str) -> Path:
    """A csv ``Path`` (``CheXpert-v1.0-small/train/...``, relative to the dataset's parent folder) on disk."""
    rel = Path(listed)
    for candidate in (folder.parent / rel, folder / Path(*rel.parts[1:]), folder / rel):
        if candidate.is_file():
            return candidate
    return folder.parent / rel  # reported missing by _read_images


@register_domain("chexpert", "Chest x-rays")
def chexpert(options: Mapping[str, Any], seed: int) -> DomainData:
    """CheXpert chest x-rays (DABS's medical pretraining set): 224x224 (``image_size``), 16x16 patches (``patch``).

    Pretraining and evaluation training on ``train.csv``, evaluation test on ``valid.csv``, every
    view, resized (bilinear) to [0, 1] as DABS. DABS repeats the grey image in 3 RGB channels;
    here it is one channel: a Linear on three copies is a Linear on one with summed weights, of
    the same variance at PyTorch's default initialization. DABS's task is multi-label (its 5
    labels, BCE, AUROC); ours are single-label: one binary task per label of ``chexpert_labels``
    (default DABS's five), named ``chexpert_<label>``, top-1 accuracy; the first only unless
    ``extra_tasks``.
    """
    folder = _chexpert_dir(options)
    labels = tuple(options.get("chexpert_labels") or CHEXPERT_LABELS)
    size, patch = int(options.get("image_size", 224)), int(options.get("patch", 16))
    train_paths, train_y = read_chexpert_csv(folder / "train.csv", labels)
    test_paths, test_y = read_chexpert_csv(folder / "valid.csv", labels)

    def images(paths: list[str], rows: np.ndarray) -> torch.Tensor:
        return _read_images([_chexpert_image(folder, paths[i]) for i in rows], size, "L", "chexpert")

    tr = seeded_subset(len(train_paths), options.get("eval_train_samples"), seed)
    te = seeded_subset(len(test_paths), options.get("eval_test_samples"), seed + 1)
    pre = images(train_paths, seeded_subset(len(train_paths), options.get("pretrain_samples"), seed + 2))
    x_tr, x_te = images(train_paths, tr), images(test_paths, te)
    chosen = labels if options.get("extra_tasks") else labels[:1]
    tasks = tuple(
        make_task(f"chexpert_{name.lower().replace(' ', '_')}", (x_tr, torch.from_numpy(train_y[tr, k])), (x_te, torch.from_numpy(test_y[te, k])), {}, seed)
        for k, name in enumerate(chosen)
    )
    return DomainData(
        pretrain=fit_count(pre, options.get("pretrain_samples"), seed),
        tasks=tasks,
        embedding=lambda dim: PatchEmbedding(1, size, size, patch, dim),
        info={"source": str(folder), "labels": list(chosen), "train_positives": {n: int(train_y[:, k].sum()) for k, n in enumerate(labels)}, "pretrain_available": len(train_paths)},
    )


# --------------------------------------------------------------------------------------------
# MSCOCO: DABS src/datasets/captioned_images/mscoco.py

COCO_FILES = tuple(f"annotations/{kind}_{split}2017.json" for split in ("train", "val") for kind in ("captions", "instances")) + ("train2017", "val2017")
COCO_DOWNLOADS = "http://images.cocodataset.org/zips/train2017.zip, .../zips/val2017.zip and .../annotations/annotations_trainval2017.zip"
BERT_VOCAB = 30_522
"""bert-base-uncased's vocabulary size, DABS's caption vocabulary."""


def _coco_dir(options: Mapping[str, Any]) -> Path:
    root = _local_root(options, "mscoco")
    need = f"Download COCO 2017 as DABS does ({COCO_DOWNLOADS}), extract them into one folder and set data.hub_roots.mscoco to it; or {OFFLINE_HINT}."
    if root is None:
        raise unavailable("mscoco", "a local copy (data.hub_roots.mscoco is not set)", need)
    missing = [f for f in COCO_FILES if not (root / f).exists()]
    if missing:
        raise unavailable("mscoco", str(root), f"It lacks {', '.join(missing)}. {need}")
    return root


def read_coco(root: Path, split: str) -> tuple[list[Path], list[str], np.ndarray]:
    """``(image paths, captions, labels)`` of ``split`` ("train2017" / "val2017"), picked as DABS does.

    An image's caption is the last one listed for it in ``captions_<split>.json``, its label the
    category (80, numbered in the file's order) of its last instance in ``instances_<split>.json``;
    images without an instance are left out. Order: first appearance in the captions file.
    """
    with (root / "annotations" / f"instances_{split}.json").open(encoding="utf-8") as handle:
        instances = json.load(handle)
    category = {c["id"]: i for i, c in enumerate(instances["categories"])}
    label = {a["image_id"]: category[a["category_id"]] for a in instances["annotations"]}
    del instances
    with (root / "annotations" / f"captions_{split}.json").open(encoding="utf-8") as handle:
        caption = {a["image_id"]: a["caption"].strip() for a in json.load(handle)["annotations"]}
    images = [i for i in caption if i in label and caption[i]]
    return [root / split / f"{i:012d}.jpg" for i in images], [caption[i] for i in images], np.asarray([label[i] for i in images], dtype=np.int64)


def mismatch_captions(captions: Sequence[str], seed: int = 42) -> tuple[list[str], np.ndarray]:
    """DABS's ``mismatched_caption``: a seeded half of the items take another one's caption, label 1 = own caption, 0 = swapped.

    The chosen items' captions are rolled among them by 1 to k-1 places (DABS rolls by 1 to k,
    where k leaves everything in place), so every chosen item gets another item's caption.
    """
    rng = np.random.default_rng(seed)
    chosen = np.flatnonzero(rng.random(len(captions)) < 0.5)
    out, match = list(captions), np.ones(len(captions), dtype=np.int64)
    if len(chosen) > 1:
        for i, j in zip(chosen, np.roll(chosen, -int(rng.integers(1, len(chosen))))):
            out[i] = captions[j]
        match[chosen] = 0
    return out, match


def _coco_crop(image: Any) -> Any:
    """DABS's view before the final resize: resized to 480 wide x 640 high, then the centre 480x480."""
    from PIL import Image

    return image.resize((480, 640), Image.BILINEAR).crop((0, 80, 480, 560))


@register_domain("mscoco", "Images & Text")
def mscoco(options: Mapping[str, Any], seed: int) -> DomainData:
    """MSCOCO captioned images (DABS's captioned-images pretraining set): image patches + caption tokens in one sequence.

    Images 3x224x224 (``image_size``) in [0, 1] (:func:`_coco_crop`, then resized), 16x16 patches
    (``patch``); captions ``[CLS] ... [SEP]`` of 32 tokens (``caption_length``) from a WordPiece
    vocabulary trained on the pretraining captions (``caption_vocab``, at most bert-base-uncased's
    30,522, DABS's tokenizer). Pretraining and evaluation training: train2017; test: val2017
    (:func:`read_coco`). Tasks: ``mismatched_caption`` (DABS's transfer: does the caption belong to
    the image? :func:`mismatch_captions`, 2 classes) and, with ``extra_tasks``, ``mscoco``
    (DABS's own label: the category of the image's last listed instance, 80 classes). DABS's
    other transfer, VQA, needs COCO 2014 and the VQA files: not loaded.
    """
    root = _coco_dir(options)
    size, patch, length = int(options.get("image_size", 224)), int(options.get("patch", 16)), int(options.get("caption_length", 32))
    train, test = read_coco(root, "train2017"), read_coco(root, "val2017")
    pre_rows = seeded_subset(len(train[0]), options.get("pretrain_samples"), seed + 2)
    tokenizer = train_wordpiece([train[1][i] for i in pre_rows], int(options.get("caption_vocab", BERT_VOCAB)), cache_dir=options.get("cache_dir"), name="mscoco")

    def pack(paths: list[Path], captions: Sequence[str], rows: np.ndarray, where: str, pixels: torch.Tensor | None = None) -> torch.Tensor:
        pixels = _read_images([paths[i] for i in rows], size, "RGB", "mscoco", _coco_crop) if pixels is None else pixels
        ids = encode_texts(tokenizer, [captions[i] for i in rows], length, where=where).ids
        return torch.cat([pixels.reshape(len(rows), -1), ids.float()], dim=1)

    n_pixels = 3 * size * size
    mismatched, category = [], []
    for (paths, captions, labels), limit, part, s in ((train, "eval_train_samples", "train", seed), (test, "eval_test_samples", "test", seed + 1)):
        rows = seeded_subset(len(paths), options.get(limit), s)
        own = pack(paths, captions, rows, f"mscoco {part}")
        swapped, match = mismatch_captions(captions)
        mismatched.append((pack(paths, swapped, rows, f"mismatched_caption {part}", own[:, :n_pixels]), torch.from_numpy(match[rows])))
        category.append((own, torch.from_numpy(labels[rows])))
    tasks = [make_task("mismatched_caption", mismatched[0], mismatched[1], {}, seed)]
    if options.get("extra_tasks"):
        tasks.append(make_task("mscoco", category[0], category[1], {}, seed))
    pre = pack(train[0], train[1], pre_rows, "mscoco pretraining")
    vocab = tokenizer.get_vocab_size()
    return DomainData(
        pretrain=fit_count(pre, options.get("pretrain_samples"), seed),
        tasks=tuple(tasks),
        embedding=lambda dim: ConcatEmbedding([(n_pixels, PatchEmbedding(3, size, size, patch, dim)), (length, TokenEmbedding(vocab, length, dim))]),
        info={"source": str(root), "images": {"train": len(train[0]), "test": len(test[0])}, "pretrain_available": len(train[0])},
    )

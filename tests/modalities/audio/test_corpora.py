"""The offline audio corpora at tiny scale: contents, splits without leaks, determinism, cache, errors."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch

from modalities.audio import cache as audio_cache
from modalities.audio import langid as langid_module
from modalities.audio import notes as notes_module
from modalities.audio import tts
from modalities.audio import words as words_module
from modalities.audio.cache import (
    CORPORA,
    AudioCorpus,
    AudioUnavailableError,
    Clip,
    clips_to_dataset,
    dataset_waveforms,
    load_corpus,
    pretraining_set,
)
from modalities.audio.features import CROP_SAMPLES, LOG_EPS, SAMPLE_RATE, LogMel, log_mel, stack_crops
from modalities.audio.notes import GM_FAMILIES, SOUNDFONTS
from modalities.audio.words import CLASSES_12, COMMANDS, WORDS
from rqbench.registry import UnknownNameError

HAVE_TTS = shutil.which("espeak-ng") is not None and shutil.which("flite") is not None
needs_tts = pytest.mark.skipif(
    not HAVE_TTS, reason="espeak-ng/flite missing: sudo apt-get install -y --no-install-recommends espeak-ng flite"
)
TIMGM = Path(SOUNDFONTS["timgm6mb"][0])
try:
    import fluidsynth  # noqa: F401

    HAVE_FLUIDSYNTH = True
except ImportError:
    HAVE_FLUIDSYNTH = False
needs_notes = pytest.mark.skipif(
    not (HAVE_FLUIDSYNTH and TIMGM.is_file()),
    reason=(
        "FluidSynth or the TimGM6mb soundfont missing: pip install pyfluidsynth; "
        "sudo apt-get install -y --no-install-recommends libfluidsynth3 timgm6mb-soundfont"
    ),
)
needs_tuxpaint = pytest.mark.skipif(
    not langid_module.TUXPAINT_STAMPS.is_dir(),
    reason="Tux Paint recordings missing: sudo apt-get install -y --no-install-recommends tuxpaint-stamps-default",
)
NOTE_OPTIONS = {"soundfont": "timgm6mb"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio-cache")


def tiny(name: str, cache: Path, **kwargs) -> AudioCorpus:
    return load_corpus(name, scale="tiny", cache_dir=cache, progress=False, **kwargs)


def entries(cache: Path) -> list[str]:
    folder = cache / "audio"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def all_waves(corpus: AudioCorpus) -> list[np.ndarray]:
    return corpus.waveforms("train") + corpus.waveforms("test")


def check_common(corpus: AudioCorpus) -> None:
    """Columns, label range, 16 kHz float32 mono clips with peak <= 0.9, unique clip ids, no silent frame."""
    assert corpus.sample_rate == SAMPLE_RATE
    for side in ("train", "test"):
        split = corpus.split(side)
        assert set(split.column_names) == {"audio", "label", "speaker", "group", "split", "clip_id"}
        assert isinstance(split.features["label"], datasets.ClassLabel)
        assert tuple(split.features["label"].names) == corpus.class_names
        assert set(corpus.column(side, "split")) == {side}
        labels = corpus.labels(side)
        assert len(labels) == len(split) > 0 and labels.min() >= 0 and labels.max() < corpus.num_classes
    waves = all_waves(corpus)
    assert all(w.dtype == np.float32 and w.ndim == 1 and len(w) > 0 and np.isfinite(w).all() for w in waves)
    assert max(float(np.abs(w).max()) for w in waves) <= 0.9 + 1e-6
    ids = corpus.column("train", "clip_id") + corpus.column("test", "clip_id")
    assert len(set(ids)) == len(ids)
    # Every clip becomes a finite 64 x 96 log-mel (short ones are padded).
    batch = LogMel()(stack_crops(waves[:8]))
    assert batch.shape == (min(8, len(waves)), 1, 64, 96) and torch.isfinite(batch).all()
    # A noise floor under every clip: no log-mel frame is digital silence (within 1 nat of log(eps)).
    assert min(float(log_mel(w).amax(-2).min()) for w in waves) > LOG_EPS + 1


def disjoint(corpus: AudioCorpus, column: str) -> bool:
    return not (set(corpus.column("train", column)) & set(corpus.column("test", column)))


# --------------------------------------------------------------------------------------------
# Registry and options


def test_the_four_corpora_are_registered_with_scales():
    assert {"notes", "words", "speakers", "langid"} <= set(CORPORA.names())
    for name in ("notes", "words", "speakers", "langid"):
        assert set(CORPORA.get(name).scales) == {"tiny", "quick", "full"}
    with pytest.raises(UnknownNameError, match="words"):
        load_corpus("wordz")
    with pytest.raises(ValueError, match="no scale 'huge'"):
        load_corpus("words", scale="huge")


# --------------------------------------------------------------------------------------------
# words


@needs_tts
def test_words_35_classes_speaker_disjoint(cache):
    corpus = tiny("words", cache)
    check_common(corpus)
    assert corpus.class_names == WORDS and corpus.num_classes == 35 and len(WORDS) == 35
    assert (len(corpus.train), len(corpus.test)) == (3 * 35, 1 * 35)  # 4 voices: 3 train, 1 test
    assert disjoint(corpus, "speaker") and disjoint(corpus, "group")
    assert corpus.column("train", "speaker") == corpus.column("train", "group")
    assert Counter(corpus.labels("test").tolist()) == dict.fromkeys(range(35), 1)
    assert all(len(w) >= SAMPLE_RATE for w in all_waves(corpus))  # padded (with noise) to at least 1 s
    assert corpus.info["snr_db"] == [20.0, 40.0]


@needs_tts
def test_both_engines_speak_with_jittered_voices():
    pool = tts.voice_pool()
    assert len(pool) > 500 and len({v.id for v in pool}) == len(pool)
    assert {v.engine for v in pool} == {"espeak-ng", "flite"} and sum(v.engine == "flite" for v in pool) == 5
    flite = next(v for v in pool if v.id == "flite:slt")
    espeak = next(v for v in pool if v.id == "espeak-ng:en-us+m3")
    assert espeak == next(
        v for v in tts.voice_pool(["espeak-ng"]) if v.id == "espeak-ng:en-us+m3"
    )  # a voice is its name
    for voice in (flite, espeak):
        plain = tts.synthesize(voice, "seven")
        assert plain.dtype == np.float32 and 0.2 * SAMPLE_RATE < len(plain) < 1.5 * SAMPLE_RATE
        assert np.isclose(np.abs(plain).max(), 0.9)
        pitch, speed = voice.jitter(np.random.default_rng(3))
        assert (pitch, speed) != (voice.pitch, voice.speed)
        assert not np.array_equal(tts.synthesize(voice, "seven", pitch, speed), plain)


@needs_tts
def test_words_12_classes_are_balanced_with_silence_and_unknown(cache):
    corpus = tiny("words", cache, classes=12)
    check_common(corpus)
    assert corpus.class_names == CLASSES_12 and corpus.class_names[:10] == COMMANDS
    assert Counter(corpus.labels("train").tolist()) == dict.fromkeys(range(12), 3)
    silence, unknown = CLASSES_12.index("_silence_"), CLASSES_12.index("_unknown_")
    waves, labels, ids = corpus.waveforms("train"), corpus.labels("train"), corpus.column("train", "clip_id")
    for wave, label, clip_id in zip(waves, labels, ids, strict=True):
        if label == silence:
            assert clip_id.startswith("noise:") and float(np.abs(wave).max()) < 0.1
        elif label == unknown:
            assert clip_id.split(":")[-1].split("#")[0] not in COMMANDS
    assert disjoint(corpus, "group")
    speakers = lambda side: set(corpus.column(side, "speaker")) - {""}  # noqa: E731  (silence has no speaker)
    assert not speakers("train") & speakers("test")


@needs_tts
def test_words_options_are_checked():
    with pytest.raises(ValueError, match="classes must be 35"):
        load_corpus("words", classes=10, progress=False)
    with pytest.raises(ValueError, match="at least 2 voices"):
        load_corpus("words", voices=1, progress=False)
    with pytest.raises(ValueError, match="the pool has"):
        load_corpus("words", voices=100_000, progress=False)
    with pytest.raises(ValueError, match="snr_db must be"):
        load_corpus("words", snr_db=(40, 20), progress=False)
    with pytest.raises(ValueError, match="noise_floor must be one of clip, corpus"):
        load_corpus("words", noise_floor="shared", progress=False)


# --------------------------------------------------------------------------------------------
# speakers


@needs_tts
def test_speakers_are_the_classes_and_sentences_split(cache):
    corpus = tiny("speakers", cache)
    check_common(corpus)
    assert corpus.num_classes == 6
    assert corpus.class_names == tuple(sorted(corpus.class_names))
    assert Counter(corpus.labels("train").tolist()) == dict.fromkeys(range(6), 3)
    assert Counter(corpus.labels("test").tolist()) == dict.fromkeys(range(6), 1)
    # Same voices on both sides, different sentences.
    assert set(corpus.column("train", "speaker")) == set(corpus.column("test", "speaker")) == set(corpus.class_names)
    assert disjoint(corpus, "group")  # two sentences per clip, both of the clip's side
    for group in corpus.column("train", "group") + corpus.column("test", "group"):
        first, second = re.fullmatch(r"sentence(\d\d)\+sentence(\d\d)", group).groups()
        assert first != second
    assert all(len(w) == 4 * SAMPLE_RATE for w in all_waves(corpus))  # cut or noise-padded to max_seconds
    for speaker, label in zip(corpus.column("test", "speaker"), corpus.labels("test"), strict=True):
        assert corpus.class_names[label] == speaker
    with pytest.raises(ValueError, match="sentences_per_clip must be"):
        load_corpus("speakers", sentences_per_clip=7, progress=False)  # 6 test sentences


# --------------------------------------------------------------------------------------------
# notes


@needs_notes
def test_notes_are_gm_families_with_unseen_test_instruments(cache):
    corpus = tiny("notes", cache, **NOTE_OPTIONS)
    check_common(corpus)
    assert corpus.class_names == GM_FAMILIES and corpus.num_classes == 16
    assert Counter(corpus.labels("train").tolist()) == dict.fromkeys(range(16), 3)
    assert Counter(corpus.labels("test").tolist()) == dict.fromkeys(range(16), 1)
    assert disjoint(corpus, "group")  # programs
    for group, label in zip(corpus.column("train", "group"), corpus.labels("train"), strict=True):
        assert int(group.removeprefix("gm")) // 8 == label
    assert all(len(w) == 2 * SAMPLE_RATE for w in all_waves(corpus))
    pitches = {int(re.search(r":n(\d+):", c)[1]) for c in corpus.column("train", "clip_id")}
    velocities = {int(c.rsplit(":v", 1)[1]) for c in corpus.column("train", "clip_id")}
    assert len(pitches) > 5 and len(velocities) > 1


@needs_notes
def test_notes_split_by_pitch_and_velocity(cache):
    corpus = tiny("notes", cache, split="note", **NOTE_OPTIONS)
    check_common(corpus)
    assert disjoint(corpus, "group")  # p<pitch>v<velocity>
    assert all(re.fullmatch(r"p\d+v\d+", g) for g in corpus.column("test", "group"))
    with pytest.raises(ValueError, match="split must be"):
        load_corpus("notes", split="random", progress=False, **NOTE_OPTIONS)


# --------------------------------------------------------------------------------------------
# langid


@needs_tuxpaint
def test_langid_reads_real_speech_split_by_stamp(cache):
    corpus = tiny("langid", cache)
    check_common(corpus)
    assert corpus.class_names == ("bg", "ca", "es", "fr", "ro", "ru")
    assert Counter(corpus.labels("train").tolist()) == dict.fromkeys(range(6), 6)
    assert Counter(corpus.labels("test").tolist()) == dict.fromkeys(range(6), 2)
    assert disjoint(corpus, "group")
    stamps = lambda side: {s for c in corpus.column(side, "clip_id") for s in c.split(":")[1].split("+")}  # noqa: E731
    assert not stamps("train") & stamps("test")  # a clip's recordings are all of its split
    assert any("+" in c for c in corpus.column("train", "clip_id"))  # recordings joined to fill 5 s
    assert set(corpus.column("test", "speaker")) <= {f"tuxpaint-{lang}" for lang in corpus.class_names}
    assert all(len(w) == 5 * SAMPLE_RATE for w in all_waves(corpus))  # cut or noise-padded to max_seconds
    with pytest.raises(ValueError, match="fewer than 2 recordings for xx"):
        load_corpus("langid", languages=("fr", "xx"), progress=False)


# --------------------------------------------------------------------------------------------
# Determinism and the cache


@needs_tts
def test_builds_are_deterministic_for_a_seed(tmp_path):
    a = tiny("words", tmp_path / "a", classes=12)
    b = tiny("words", tmp_path / "b", classes=12)
    assert a.column("train", "clip_id") == b.column("train", "clip_id")
    assert all(np.array_equal(x, y) for x, y in zip(all_waves(a), all_waves(b), strict=True))
    assert entries(tmp_path / "a") == entries(tmp_path / "b")
    c = tiny("words", tmp_path / "c", classes=12, seed=1)
    assert entries(tmp_path / "c") != entries(tmp_path / "a")
    assert set(c.column("test", "speaker")) != set(a.column("test", "speaker"))
    # One noise recipe for the corpus: the same clips over another background, cached apart.
    d = tiny("words", tmp_path / "d", classes=12, noise_floor="corpus")
    assert entries(tmp_path / "d") != entries(tmp_path / "a")
    assert d.column("train", "clip_id") == a.column("train", "clip_id")
    ids = a.column("train", "clip_id") + a.column("test", "clip_id")
    spoken = [(x, y) for i, x, y in zip(ids, all_waves(a), all_waves(d), strict=True) if not i.startswith("noise:")]
    assert len(spoken) > 10 and not any(np.array_equal(x, y) for x, y in spoken)  # _silence_ clips are unchanged


@needs_notes
def test_notes_are_deterministic_for_a_seed(tmp_path):
    a = tiny("notes", tmp_path / "a", **NOTE_OPTIONS)
    b = tiny("notes", tmp_path / "b", **NOTE_OPTIONS)
    assert a.column("test", "clip_id") == b.column("test", "clip_id")
    assert all(np.array_equal(x, y) for x, y in zip(all_waves(a), all_waves(b), strict=True))


@needs_tts
def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RQBENCH_CACHE", str(tmp_path))
    first = load_corpus("speakers", scale="tiny", progress=False)
    (name,) = entries(tmp_path)
    assert re.fullmatch(r"speakers-[0-9a-f]{12}", name)
    meta = json.loads((tmp_path / "audio" / name / "meta.json").read_text())
    assert meta["num_train"] == len(first.train) and meta["key"]["seed"] == 0 and meta["build_seconds"] >= 0

    def no_synthesis(*args, **kwargs):
        raise AssertionError("the cached corpus was built again")

    monkeypatch.setattr("modalities.audio.speakers.synthesize", no_synthesis)
    second = load_corpus("speakers", scale="tiny", progress=False)
    assert second.column("train", "clip_id") == first.column("train", "clip_id")
    assert all(np.array_equal(x, y) for x, y in zip(all_waves(first), all_waves(second), strict=True))
    assert second.info == first.info and entries(tmp_path) == [name]
    with pytest.raises(AssertionError, match="built again"):  # other arguments: a new entry
        load_corpus("speakers", scale="tiny", progress=False, seed=5)


@needs_tts
def test_a_failed_build_leaves_no_entry(tmp_path, monkeypatch):
    def broken(self, path, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", broken)
    with pytest.raises(OSError, match="disk full"):
        load_corpus("words", scale="tiny", cache_dir=tmp_path, progress=False)
    assert entries(tmp_path) == []  # no entry, no temporary folder


@needs_tts
def test_the_build_shows_a_progress_bar(tmp_path, capsys):
    load_corpus("words", scale="tiny", classes=12, cache_dir=tmp_path, progress=True)
    err = capsys.readouterr().err
    assert "words (12 classes): synthesizing" in err and "48/48" in err
    load_corpus("words", scale="tiny", classes=12, cache_dir=tmp_path, progress=True)
    assert "synthesizing" not in capsys.readouterr().err  # cached: nothing to show


# --------------------------------------------------------------------------------------------
# Pretraining union


def toy_corpus(name: str, train: list[np.ndarray], test: list[np.ndarray], prefix: str) -> AudioCorpus:
    def clips(waves, side):
        return [Clip(w, 0, "s", f"{side}{i}", f"{prefix}:{side}{i}") for i, w in enumerate(waves)]

    return AudioCorpus(
        name,
        clips_to_dataset(clips(train, "train"), ["x"], "train"),
        clips_to_dataset(clips(test, "test"), ["x"], "test"),
        ("x",),
    )


def test_pretraining_set_holds_train_clips_only_and_never_a_test_clip():
    rng = np.random.default_rng(0)
    w = [rng.standard_normal(100 + i).astype(np.float32) for i in range(6)]
    a = toy_corpus("a", [w[0], w[1], w[2]], [w[3]], "a")
    b = toy_corpus("b", [w[3], w[4]], [w[5]], "b")  # b's train clip w[3] is a's test clip
    evaluation_only = toy_corpus("c", [w[5]], [w[2]], "c")
    union = pretraining_set([a, b])
    assert union.column_names == ["audio", "corpus", "clip_id"]
    assert list(union["clip_id"]) == ["a:train0", "a:train1", "a:train2", "b:train1"]
    assert list(union["corpus"]) == ["a", "a", "a", "b"]
    got = dataset_waveforms(union)
    assert all(np.array_equal(x, y) for x, y in zip(got, [w[0], w[1], w[2], w[4]], strict=True))
    assert list(pretraining_set([a, b], also_exclude=[evaluation_only])["clip_id"]) == [
        "a:train0",
        "a:train1",
        "b:train1",
    ]
    with pytest.raises(ValueError, match="at least one"):
        pretraining_set([])


@needs_tts
@needs_notes
def test_pretraining_on_real_corpora_excludes_every_test_clip(cache):
    corpora = [tiny("words", cache), tiny("speakers", cache), tiny("notes", cache, **NOTE_OPTIONS)]
    union = pretraining_set(corpora)
    assert len(union) == sum(len(c.train) for c in corpora)
    test_ids = {i for c in corpora for i in c.column("test", "clip_id")}
    assert not test_ids & set(union["clip_id"])


# --------------------------------------------------------------------------------------------
# Missing packages


def test_missing_programs_name_the_apt_command(monkeypatch):
    monkeypatch.setattr(audio_cache.shutil, "which", lambda program: None)
    with pytest.raises(
        AudioUnavailableError, match=re.escape("sudo apt-get install -y --no-install-recommends espeak-ng")
    ):
        load_corpus("words", progress=False)
    with pytest.raises(AudioUnavailableError, match=re.escape("sudo apt-get install -y --no-install-recommends flite")):
        load_corpus("speakers", engines=("flite",), progress=False)
    assert isinstance(AudioUnavailableError("x"), RuntimeError)


def test_missing_soundfont_and_fluidsynth_name_the_install_commands(monkeypatch, tmp_path):
    monkeypatch.setitem(SOUNDFONTS, "fluidr3", (str(tmp_path / "FluidR3_GM.sf2"), "fluid-soundfont-gm"))
    with pytest.raises(
        AudioUnavailableError, match=re.escape("sudo apt-get install -y --no-install-recommends fluid-soundfont-gm")
    ):
        load_corpus("notes", progress=False)
    with pytest.raises(FileNotFoundError, match="nowhere.sf2"):
        load_corpus("notes", soundfont=tmp_path / "nowhere.sf2", progress=False)
    if TIMGM.is_file():
        monkeypatch.setitem(sys.modules, "fluidsynth", None)  # import fluidsynth -> ImportError
        with pytest.raises(AudioUnavailableError, match=r"pip install pyfluidsynth.*libfluidsynth3"):
            load_corpus("notes", progress=False, **NOTE_OPTIONS)


def test_missing_tuxpaint_names_the_apt_command(monkeypatch, tmp_path):
    monkeypatch.setattr(langid_module, "TUXPAINT_STAMPS", tmp_path / "no-stamps")
    with pytest.raises(
        AudioUnavailableError,
        match=re.escape("sudo apt-get install -y --no-install-recommends tuxpaint-stamps-default"),
    ):
        load_corpus("langid", progress=False)
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        load_corpus("langid", root=tmp_path / "elsewhere", progress=False)


def test_module_imports_are_light():
    import modalities.audio  # noqa: F401

    assert tts.ENGINES == ("espeak-ng", "flite") and words_module.SCALES and notes_module.SCALES
    assert CROP_SAMPLES == 15_200

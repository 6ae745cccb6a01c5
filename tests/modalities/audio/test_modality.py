"""The audio modality through rqbench's interface, on the tiny corpora: data, views, tasks, runs, pictures."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import modalities.audio.modality  # noqa: F401  (registers the modality; the entry point does it for users)
from modalities.audio import langid as langid_module
from modalities.audio.cache import AudioUnavailableError, pretraining_set
from modalities.audio.data import ClipStore, EvalClips, PretrainCrops, load_hub_audio, logmel_stats
from modalities.audio.modality import Audio, load_task_corpus, pretraining_data
from modalities.audio.notes import SOUNDFONTS
from modalities.audio.presets import PAPER, QUICK, TASKS
from rqbench.augment import build_pipeline
from rqbench.augment.base import Stage
from rqbench.evaluate import protocol
from rqbench.modality import MODALITIES
from rqbench.runner import Workspace, make_config, run

try:
    import fluidsynth  # noqa: F401

    HAVE_FLUIDSYNTH = True
except ImportError:
    HAVE_FLUIDSYNTH = False
HAVE_CORPORA = (
    shutil.which("espeak-ng") is not None
    and shutil.which("flite") is not None
    and HAVE_FLUIDSYNTH
    and Path(SOUNDFONTS["timgm6mb"][0]).is_file()
    and langid_module.TUXPAINT_STAMPS.is_dir()
)
needs_corpora = pytest.mark.skipif(
    not HAVE_CORPORA,
    reason=(
        "the offline audio corpora need espeak-ng, flite, pyfluidsynth + timgm6mb-soundfont and tuxpaint-stamps-default"
    ),
)
SMALL = {
    "backbone": {"name": "audio-ntt2020", "d": 64, "channels": 8, "dropout": 0.3},
    "methods": {
        "byol": {"proj_hidden": 64, "proj_dim": 32, "pred_hidden": 64, "momentum": 0.99, "fixed_momentum": True}
    },
}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The quick preset's data settings on the ``tiny`` corpora (built once into a temporary cache)."""
    cache = tmp_path_factory.mktemp("audio-cache")
    return {
        **QUICK.data,
        "scale": "tiny",
        "corpus_options": {"notes": {"soundfont": "timgm6mb"}},
        "cache_dir": str(cache),
    }


@pytest.fixture(scope="module")
def tiny(tiny_data: dict) -> dict:
    """Preset overrides for fast end-to-end runs."""
    return {
        "epochs": 1,
        "batch_size": 32,
        "data": tiny_data,
        **SMALL,
        "eval": {"linear_epochs": 10, "patience": 3, "knn_k": 5, "batch_size": 64},
    }


def digest(wave: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(wave, dtype=np.float32).tobytes()).hexdigest()


def test_registered_with_its_presets() -> None:
    assert MODALITIES.get("audio") is Audio
    assert set(Audio.presets) == {"quick", "paper"}
    assert Audio.layout.channel_dim == 1 and Audio.layout.batch_dims == 1


def test_paper_preset_carries_the_paper_setting() -> None:
    p = PAPER
    assert (p.epochs, p.batch_size, p.optimizer, p.lr, p.lr_scaling, p.weight_decay) == (
        100,
        256,
        "adam",
        3e-4,
        False,
        0.0,
    )
    assert p.schedule == "step" and p.milestones == ()  # a constant learning rate
    assert p.method_kwargs("byol") == {
        "proj_hidden": 4096,
        "proj_dim": 256,
        "pred_hidden": 4096,
        "momentum": 0.99,
        "fixed_momentum": True,
    }
    assert p.backbone["d"] == 2048 and p.backbone["channels"] == 64
    assert p.data["source"] == "audioset" and p.data["audioset"]["hub"] == "agkphysics/AudioSet"
    assert p.eval.val_fraction > 0 and p.eval.patience == 20
    assert QUICK.num_workers == 0  # the random crops come from the trainer's checkpointed global RNG


@pytest.fixture
def hub_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_HUB_OFFLINE=1, also in the flags that datasets and huggingface_hub read at import."""
    import datasets
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)


def test_audioset_offline_fails_with_a_clear_message(
    hub_offline: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    with pytest.raises(AudioUnavailableError) as info:
        load_hub_audio("agkphysics/AudioSet", "unbalanced", "train")
    message = str(info.value)
    assert (
        "agkphysics/AudioSet" in message
        and "HF_HUB_OFFLINE" in message
        and "internet" in message
        and "--preset quick" in message
    )
    with pytest.raises(AudioUnavailableError, match="agkphysics/AudioSet"):
        Audio().pretrain_dataset(PAPER)


@needs_corpora
def test_pretraining_items_are_pre_normalized_random_crops(tiny_data: dict) -> None:
    preset = QUICK.with_overrides(data=tiny_data)
    data = Audio().pretrain_dataset(preset)
    assert isinstance(data, PretrainCrops) and len(data) > 100
    torch.manual_seed(0)
    first = data[0]
    assert first.shape == (1, 64, 96) and first.dtype == torch.float32
    torch.manual_seed(0)
    torch.testing.assert_close(data[0], first)  # the crop follows torch's global RNG
    long_clip = next(i for i in range(len(data)) if data.clips.length(data.indices[i]) > 20_000)
    crops = {tuple(data[long_clip].flatten()[:200].tolist()) for _ in range(6)}
    assert len(crops) > 1
    torch.manual_seed(1)
    batch = torch.stack([data[i] for i in range(len(data))])
    assert abs(float(batch.mean())) < 0.5 and 0.6 < float(batch.std()) < 1.5


@needs_corpora
def test_pre_normalization_statistics_come_from_the_pretraining_set_only(tiny_data: dict) -> None:
    clips, indices, stats = pretraining_data(tiny_data)
    corpora = [load_task_corpus(t, tiny_data) for t in tiny_data["pretrain_tasks"]]
    others = [load_task_corpus(t, tiny_data) for t in tiny_data["tasks"] if t not in tiny_data["pretrain_tasks"]]
    union = pretraining_set(corpora, also_exclude=others)
    assert len(clips) == len(union) == len(indices)
    expected = logmel_stats(ClipStore(union))
    assert stats == pytest.approx(expected)
    # ... which are not the statistics of the pretraining clips plus the test clips
    tests = [w for c in corpora for w in c.waveforms("test")]
    with_tests = logmel_stats([*(clips[i] for i in range(len(clips))), *tests])
    assert abs(with_tests.mean - stats.mean) > 1e-3


@needs_corpora
def test_no_test_clip_is_in_the_pretraining_set(tiny_data: dict) -> None:
    clips, _, _ = pretraining_data(tiny_data)
    pretrain = {digest(clips[i]) for i in range(len(clips))}
    for task in TASKS:
        corpus = load_task_corpus(task, tiny_data)
        test = {digest(w) for w in corpus.waveforms("test")}
        assert not pretrain & test, task


@needs_corpora
def test_tasks_are_whole_standardized_clips(tiny_data: dict) -> None:
    tasks = Audio().tasks(QUICK.with_overrides(data=tiny_data))
    assert [t.name for t in tasks] == ["words35", "words12", "speakers", "notes", "langid"]
    assert [t.num_classes for t in tasks] == [35, 12, 6, 16, 6]
    for task in tasks:
        assert (
            isinstance(task.train, EvalClips) and task.test.stats == task.train.stats
        )  # test uses the training statistics
        x, y = task.test[0]
        frames = 1 + round(QUICK.data["eval_seconds"][task.name] * 16_000) // 160
        assert x.shape == (1, 64, frames) and isinstance(y, int)
        train = torch.stack([task.train[i][0] for i in range(len(task.train))])
        assert abs(float(train.mean())) < 1e-3 and abs(float(train.std()) - 1.0) < 1e-3
        assert torch.equal(task.test[0][0], task.test[0][0])  # deterministic: centred, no random crop


@needs_corpora
def test_views_apply_audio_rrc_per_view(tiny_data: dict) -> None:
    modality, preset = Audio(), QUICK.with_overrides(data=tiny_data)
    data = modality.pretrain_dataset(preset)
    batch = torch.stack([data[i] for i in range(16)])
    gen = torch.Generator().manual_seed(0)
    crops = modality.pipeline("audio-rrc", gen)
    v0, v1 = crops.views(batch, 2).queries
    assert v0.shape == v1.shape == batch.shape and not torch.equal(v0, v1)
    quantized = modality.pipeline("rq(bins=5)", gen).views(batch, 1).queries[0]
    assert all(len(torch.unique(quantized[i])) <= 5 for i in range(16))  # RQ on the one channel of each clip
    assert modality.pipeline("none").views(batch, 1).queries[0] is batch
    assert modality.eval_view(batch, preset) is batch


@needs_corpora
def test_rq_runs_before_the_crop_as_byola_mixup(tiny_data: dict) -> None:
    """BYOL-A train.py: pre-norm -> mixup -> RRC -> post-norm; the paper puts RQ where mixup was.
    Quantized first, the crop's bicubic resampling spreads the 5 values; quantized last, 5 remain."""
    modality, preset = Audio(), QUICK.with_overrides(data=tiny_data)
    data = modality.pretrain_dataset(preset)
    batch = torch.stack([data[i] for i in range(8)])
    assert modality.stage_order == (Stage.CHANNEL, Stage.VIEW)
    ours = modality.pipeline("audio-rrc+rq(bins=5)", torch.Generator().manual_seed(0)).views(batch, 1).queries[0]
    old = build_pipeline(
        "audio-rrc+rq(bins=5)", layout=modality.layout, modality="audio", generator=torch.Generator().manual_seed(0)
    )
    after = old.views(batch, 1).queries[0]
    assert all(len(torch.unique(after[i])) <= 5 for i in range(8))
    assert all(len(torch.unique(ours[i])) > 5 for i in range(8))


@needs_corpora
def test_end_to_end_tiny_run_gives_rows_for_every_task(tiny: dict, tmp_path: Path) -> None:
    cfg = make_config("audio", "byol", "audio-rrc+rq(bins=5)", "quick", 0, True, **tiny)
    rows = run(cfg, Workspace(tmp_path), progress=False)
    assert set(rows["dataset"]) == set(TASKS) and set(rows["protocol"]) == {"linear", "knn"}
    assert len(rows) == 2 * len(TASKS) and rows["value"].between(0, 100).all()
    stored = pd.read_csv(tmp_path / "results.csv")
    assert (
        len(stored) == len(rows)
        and (stored["backbone"] == "audio-ntt2020").all()
        and (stored["modality"] == "audio").all()
    )


@needs_corpora
@pytest.mark.parametrize("aug", ["audio-rrc+byola-mixup", "audio-rrc+dacl", "audio-rrc+mixup", "none"])
def test_baselines_work_at_the_channel_stage(aug: str, tiny: dict, tmp_path: Path) -> None:
    cfg = make_config(
        "audio", "byol", aug, "quick", 0, True, **{**tiny, "eval": {**tiny["eval"], "protocols": ("knn",)}}
    )
    rows = run(cfg, Workspace(tmp_path), progress=False)
    assert set(rows["dataset"]) == set(TASKS)


@needs_corpora
def test_the_linear_probe_gets_the_early_stopping_settings(tiny: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real = protocol.linear_probe
    monkeypatch.setattr(protocol, "linear_probe", lambda *a, **kw: seen.append(kw) or real(*a, **kw))
    cfg = make_config(
        "audio", "byol", "none", "quick", 0, False, **{**tiny, "eval": {**tiny["eval"], "protocols": ("linear",)}}
    )
    encoder, dim = Audio().backbone(cfg.preset)
    protocol.evaluate_encoder(encoder, dim, Audio(), cfg.preset, 0, torch.device("cpu"))
    assert len(seen) == len(TASKS) and all(kw["val_fraction"] == 0.1 and kw["patience"] == 3 for kw in seen)


@needs_corpora
def test_show_writes_a_png(tiny_data: dict, tmp_path: Path) -> None:
    out = Audio().show(
        QUICK.with_overrides(data=tiny_data),
        ["audio-rrc", "audio-rrc+rq(bins=5)", "audio-rrc+byola-mixup"],
        4,
        tmp_path / "audio.png",
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_per_band_rq_quantizes_each_mel_band_over_time() -> None:
    """table9_channels' per-band row: rq(channel_dim=2) on (B, 1, mels, frames) quantizes every band on its own."""
    x = torch.randn(3, 1, 64, 96, generator=torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    per_band = Audio().pipeline("rq(bins=5,channel_dim=2)", gen).views(x, 1).queries[0]
    whole = Audio().pipeline("rq(bins=5)", gen).views(x, 1).queries[0]
    assert all(len(torch.unique(per_band[i, 0, f])) <= 5 for i in range(3) for f in range(64))
    assert len(torch.unique(per_band[0])) > 5 >= len(torch.unique(whole[0]))

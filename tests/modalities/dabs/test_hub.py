"""The real-DABS loaders (librispeech, pamap2, chexpert, mscoco) on tiny synthetic copies, offline."""

from __future__ import annotations

import csv
import io
import json
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from modalities.dabs import hub
from modalities.dabs.domains import DomainDataError, load_domain
from modalities.dabs.hub import sources  # downloads look urlopen up there

# --------------------------------------------------------------------------------------------
# PAMAP2

TRAIN_SUBJECTS = (101, 102, 103, 104, 107, 108, 109)


def _subject_rows(subject: int, runs: list[tuple[int, int]]) -> np.ndarray:
    """54 columns: time, activity, heart rate (known every 4th row), hand temperature = subject, ...,
    last column all NaN."""
    n = sum(length for _, length in runs)
    rows = np.zeros((n, 54))
    rows[:, 0] = np.arange(n) / 100.0
    rows[:, 1] = np.concatenate([[a] * length for a, length in runs])
    r = np.arange(n, dtype=float)
    rows[:, 2] = np.where(r % 4 == 1, 100.0 + r, np.nan)  # interpolates to 100 + r; row 0 takes row 1's value
    rows[:, 3] = subject
    rows[:, 4] = r
    rows[3:5, 4] = np.nan  # dropped IMU readings (outside every window): linear again
    rows[:, 53] = np.nan  # a channel with no value at all
    return rows


def _write_subject(path: Path, rows: np.ndarray) -> None:
    lines = (" ".join("NaN" if np.isnan(v) else f"{v:g}" for v in row) for row in rows)
    path.write_text("\n".join(lines) + "\n")


SUBJECT101 = [
    (0, 7),
    (1, 25),
    (0, 3),
    (24, 30),
    (9, 40),
    (1, 9),
]  # windows of 10: 2 (lying) + 3 (rope jumping); 9 optional, 9 rows too short


@pytest.fixture
def pamap2_root(tmp_path: Path) -> Path:
    protocol = tmp_path / "PAMAP2_Dataset" / "Protocol"
    protocol.mkdir(parents=True)
    for subject in (*TRAIN_SUBJECTS, 105, 106):
        runs = SUBJECT101 if subject == 101 else [(3, 20)] if subject == 105 else [(2, 10)]
        _write_subject(protocol / f"subject{subject}.dat", _subject_rows(subject, runs))
    return tmp_path


def test_pamap2_nans_are_interpolated_as_dabs_then_filled(pamap2_root: Path) -> None:
    rows = hub.read_pamap2(pamap2_root / "PAMAP2_Dataset" / "Protocol" / "subject101.dat")
    assert rows.shape == (114, 54) and np.isfinite(rows).all()
    r = np.arange(len(rows))
    last_known = 100.0 + r[r % 4 == 1][-1]
    assert (
        np.allclose(rows[1:, 2], np.minimum(100.0 + r[1:], last_known)) and rows[0, 2] == 101.0
    )  # leading: nearest; trailing: last
    assert np.allclose(rows[:, 4], r) and np.all(rows[:, 53] == 0.0)


def test_pamap2_windows_known_answer() -> None:
    rows = _subject_rows(101, SUBJECT101)
    rows[:, 2] = 0.0
    x, y = hub.pamap2_windows(rows, window=10, stride=10)
    assert x.shape == (5, 10, 52) and x.dtype == np.float32
    assert y.tolist() == [0, 0, 10, 10, 10]  # activity 1 -> 0, 24 -> 10 (DABS's 11 activities)
    assert np.array_equal(x[0, :, 2], np.arange(7, 17)) and np.array_equal(
        x[2, :, 2], np.arange(35, 45)
    )  # channel 2 = column 4 = row index
    assert len(hub.pamap2_windows(rows, window=10, stride=5)[0]) == 4 + 5  # (25-10)//5+1 + (30-10)//5+1


def test_pamap2_loader_splits_by_subject(pamap2_root: Path) -> None:
    opts = {
        "hub_roots": {"pamap2": str(pamap2_root)},
        "series_length": 10,
        "pamap2_stride": 5,
        "standardize": False,
        "pretrain_samples": 16,
    }
    data = load_domain("pamap2", opts)
    task = data.tasks[0]
    assert task.name == "pamap2" and data.info["windows"] == {"train": 9 + 6 * 1, "test": 3}
    assert data.pretrain.shape == (16, 10, 52) and task.train_x.shape == (15, 10, 52)
    assert set(task.train_x[:, 0, 1].tolist()) == set(map(float, TRAIN_SUBJECTS)) and set(
        task.test_x[:, 0, 1].tolist()
    ) == {105.0}
    assert (
        sorted(set(task.train_y.tolist())) == [0, 1, 10] and set(task.test_y.tolist()) == {2} and task.num_classes == 11
    )
    assert data.embedding(8)(data.pretrain[:2]).shape == (2, 2, 8)
    std = load_domain("pamap2", {**opts, "standardize": True}).tasks[0].train_x
    assert torch.allclose(std[..., :52].mean(dim=(0, 1))[1:3], torch.zeros(2), atol=1e-5)


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def test_pamap2_downloads_once_into_the_cache(
    pamap2_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    protocol = pamap2_root / "PAMAP2_Dataset" / "Protocol"
    inner = _zip_bytes(
        {f"PAMAP2_Dataset/Protocol/{p.name}": p.read_bytes() for p in protocol.iterdir()}
        | {"PAMAP2_Dataset/Optional/subject101.dat": b"x"}
    )
    outer = _zip_bytes({"PAMAP2_Dataset.zip": inner, "readme.pdf": b"%PDF"})  # UCI's newer archive nests the zip
    urls = []
    monkeypatch.setattr(sources.urllib.request, "urlopen", lambda url, timeout: urls.append(url) or io.BytesIO(outer))
    opts = {
        "cache_dir": str(tmp_path / "cache"),
        "series_length": 10,
        "hub_ids": {"pamap2": "https://example.org/pamap2.zip"},
    }
    data = load_domain("pamap2", opts)
    folder = tmp_path / "cache" / "dabs" / "pamap2-protocol"
    assert urls == ["https://example.org/pamap2.zip"] and data.info["source"] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in protocol.iterdir())
    assert not list((tmp_path / "cache" / "dabs").glob("*.zip")) and not list(
        (tmp_path / "cache" / "dabs").glob("*.tmp")
    )
    load_domain("pamap2", opts)
    assert len(urls) == 1


def test_pamap2_offline_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(url: str, timeout: float) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(sources.urllib.request, "urlopen", no_network)
    with pytest.raises(
        DomainDataError,
        match=(
            r"DABS pamap2: could not load https://archive\.ics\.uci\.edu/.*PAMAP2_Dataset\.zip "
            r"\(URLError.*hub_roots\.pamap2"
        ),
    ):
        load_domain("pamap2", {"cache_dir": str(tmp_path)})
    assert not list(tmp_path.rglob("*.part")) and not list(tmp_path.rglob("*.zip"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DomainDataError, match="DABS pamap2: .*Downloads are off"):
        load_domain("pamap2", {"cache_dir": str(tmp_path)})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DomainDataError, match="DABS pamap2: could not load .*empty.*extracted PAMAP2_Dataset folder"):
        load_domain("pamap2", {"hub_roots": {"pamap2": str(tmp_path / "empty")}})


# --------------------------------------------------------------------------------------------
# CheXpert

CHEXPERT_COLUMNS = [
    "Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly",
    "Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax",
    "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices",
]  # fmt: skip


def _png(path: Path, size: tuple[int, int], color: object, mode: str = "L") -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


@pytest.fixture
def chexpert_root(tmp_path: Path) -> Path:
    base = tmp_path / "CheXpert-v1.0-small"
    rows = {
        "train": [
            ("1.0", "", "0.0"),
            ("-1.0", "1.0", ""),
            ("", "", "1.0"),
            ("0.0", "-1.0", "1.0"),
        ],  # Atelectasis, Cardiomegaly, Pleural Effusion
        "valid": [("1.0", "0.0", "0.0"), ("0.0", "1.0", "1.0")],
    }
    base.mkdir()
    for split, labels in rows.items():
        with (base / f"{split}.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, CHEXPERT_COLUMNS)
            writer.writeheader()
            for i, (atelectasis, cardiomegaly, effusion) in enumerate(labels):
                rel = f"CheXpert-v1.0-small/{split}/patient{i:05d}/study1/view1_frontal.png"
                _png(tmp_path / rel, (20, 24), 50 * i + (5 if split == "valid" else 0))
                values = {
                    "Atelectasis": atelectasis,
                    "Cardiomegaly": cardiomegaly,
                    "Pleural Effusion": effusion,
                    "Edema": "0.0",
                    "Consolidation": "1.0",
                }
                writer.writerow(
                    {c: "" for c in CHEXPERT_COLUMNS} | {"Path": rel, "Sex": "Female", "Age": "60", **values}
                )
    return tmp_path


def test_chexpert_images_and_dabs_labels(chexpert_root: Path) -> None:
    data = load_domain(
        "chexpert",
        {
            "hub_roots": {"chexpert": str(chexpert_root)},
            "image_size": 16,
            "patch": 8,
            "extra_tasks": True,
            "pretrain_samples": 6,
        },
    )
    assert [t.name for t in data.tasks] == [
        "chexpert_atelectasis",
        "chexpert_cardiomegaly",
        "chexpert_consolidation",
        "chexpert_edema",
        "chexpert_pleural_effusion",
    ]
    assert {t.metric for t in data.tasks} == {"auroc"}  # DABS's CheXpert metric
    first = data.tasks[0]
    assert (
        data.pretrain.shape == (6, 1, 16, 16)
        and first.train_x.shape == (4, 1, 16, 16)
        and first.test_x.shape == (2, 1, 16, 16)
    )
    assert torch.allclose(first.train_x.mean(dim=(1, 2, 3)), torch.tensor([0, 50, 100, 150]) / 255.0, atol=1e-6)
    assert torch.allclose(first.test_x.mean(dim=(1, 2, 3)), torch.tensor([5, 55]) / 255.0, atol=1e-6)
    assert first.train_y.tolist() == [1, 0, 0, 0] and first.test_y.tolist() == [
        1,
        0,
    ]  # blank and -1 (uncertain) are negatives
    assert data.tasks[1].train_y.tolist() == [0, 1, 0, 0] and data.tasks[4].train_y.tolist() == [0, 0, 1, 1]
    assert data.embedding(8)(data.pretrain[:2]).shape == (2, 4, 8)
    single = load_domain(
        "chexpert",
        {
            "hub_roots": {"chexpert": str(chexpert_root / "CheXpert-v1.0-small")},
            "image_size": 16,
            "chexpert_labels": ["Pleural Effusion"],
        },
    )
    assert [t.name for t in single.tasks] == ["chexpert_pleural_effusion"]


def test_chexpert_needs_a_local_root(tmp_path: Path) -> None:
    with pytest.raises(
        DomainDataError,
        match=(
            r"DABS chexpert: could not load a local copy \(data\.hub_roots\.chexpert is not set\)\. "
            r".*CheXpert-v1\.0-small.*stanfordmlgroup"
        ),
    ):
        load_domain("chexpert", {})
    with pytest.raises(DomainDataError, match="DABS chexpert: could not load .*It has no train.csv and valid.csv"):
        load_domain("chexpert", {"hub_roots": {"chexpert": str(tmp_path)}})


# --------------------------------------------------------------------------------------------
# MSCOCO


@pytest.fixture
def coco_root(tmp_path: Path) -> Path:
    from PIL import Image

    categories = [
        {"id": 18, "name": "dog"},
        {"id": 1, "name": "person"},
        {"id": 3, "name": "car"},
    ]  # labels in file order: 0, 1, 2
    splits = {
        "train2017": {
            1: (["a dog on grass", "a red and blue picture"], [18, 3]),
            2: (["a person walking"], [1]),
            3: (["two cars parked"], [3]),
            4: (["a dog running fast"], [18]),
            5: (["nothing labelled here"], []),
        },
        "val2017": {7: (["a person with a dog"], [1, 18]), 8: (["a car"], [3])},
    }
    (tmp_path / "annotations").mkdir()
    for split, images in splits.items():
        captions = [
            {"image_id": i, "id": 10 * i + k, "caption": c} for i, (cs, _) in images.items() for k, c in enumerate(cs)
        ]
        instances = [
            {"image_id": i, "id": 10 * i + k, "category_id": c}
            for i, (_, cats) in images.items()
            for k, c in enumerate(cats)
        ]
        (tmp_path / "annotations" / f"captions_{split}.json").write_text(json.dumps({"annotations": captions}))
        (tmp_path / "annotations" / f"instances_{split}.json").write_text(
            json.dumps({"categories": categories, "annotations": instances})
        )
        (tmp_path / split).mkdir()
        for i in images:
            pixels = np.zeros((64, 48, 3), dtype=np.uint8)
            pixels[:, :, 2] = 255
            pixels[:8, :, :] = pixels[56:, :, :] = (255, 0, 0)  # red bands DABS's 480x480 centre crop cuts away
            Image.fromarray(pixels).save(
                tmp_path / split / f"{i:012d}.jpg", format="PNG"
            )  # PNG bytes: no JPEG blur at the bands' edges
    return tmp_path


def test_coco_annotations_as_dabs_picks_them(coco_root: Path) -> None:
    paths, captions, labels = hub.read_coco(coco_root, "train2017")
    assert [p.name for p in paths] == [f"{i:012d}.jpg" for i in (1, 2, 3, 4)]  # image 5 has no instance
    assert captions == [
        "a red and blue picture",
        "a person walking",
        "two cars parked",
        "a dog running fast",
    ]  # the last caption
    assert labels.tolist() == [2, 1, 2, 0]  # the last instance's category, numbered in file order


def test_mismatch_captions() -> None:
    captions = [f"caption {i}" for i in range(200)]
    out, match = hub.mismatch_captions(captions)
    swapped = np.flatnonzero(match == 0)
    assert 70 < len(swapped) < 130 and all(out[i] == captions[i] for i in np.flatnonzero(match == 1))
    assert all(out[i] != captions[i] for i in swapped) and sorted(out[i] for i in swapped) == sorted(
        captions[i] for i in swapped
    )
    again = hub.mismatch_captions(captions)
    assert again[0] == out and np.array_equal(again[1], match)  # seeded


def test_mscoco_loader(coco_root: Path, tmp_path: Path) -> None:
    opts = {
        "hub_roots": {"mscoco": str(coco_root)},
        "image_size": 16,
        "patch": 8,
        "caption_length": 8,
        "caption_vocab": 80,
        "extra_tasks": True,
    }
    opts |= {"pretrain_samples": 6, "cache_dir": str(tmp_path / "cache")}
    data = load_domain("mscoco", opts)
    n_pixels = 3 * 16 * 16
    mismatched, category = data.tasks
    assert mismatched.name == "mismatched_caption" and category.name == "mscoco"
    assert (
        data.pretrain.shape == (6, n_pixels + 8)
        and category.train_x.shape == (4, n_pixels + 8)
        and category.test_x.shape == (2, n_pixels + 8)
    )
    assert category.train_y.tolist() == [2, 1, 2, 0] and category.test_y.tolist() == [0, 2]
    image = category.train_x[:, :n_pixels].reshape(4, 3, 16, 16)
    assert image[:, 0].max() < 0.15 and image[:, 2].min() > 0.85  # the centre crop removed the red bands
    for split in ("train", "test"):
        x, y, own = (
            getattr(mismatched, f"{split}_x"),
            getattr(mismatched, f"{split}_y"),
            getattr(category, f"{split}_x"),
        )
        assert torch.equal(x[:, :n_pixels], own[:, :n_pixels])  # the same images, captions swapped where the label is 0
        assert (x[:, n_pixels:] == own[:, n_pixels:]).all(dim=1).tolist() == (y == 1).tolist()
    tokens = data.pretrain[:, n_pixels:]
    assert (tokens[:, 0] == 2).all() and (tokens == tokens.round()).all()  # [CLS] first, integer ids
    assert data.embedding(8)(data.pretrain[:2]).shape == (2, 4 + 8, 8)


def test_mscoco_needs_a_local_root(coco_root: Path) -> None:
    with pytest.raises(
        DomainDataError, match=r"DABS mscoco: could not load a local copy .*train2017\.zip.*data\.hub_roots\.mscoco"
    ):
        load_domain("mscoco", {})
    (coco_root / "annotations" / "instances_val2017.json").unlink()
    with pytest.raises(DomainDataError, match="DABS mscoco: .*It lacks annotations/instances_val2017.json"):
        load_domain("mscoco", {"hub_roots": {"mscoco": str(coco_root)}})


# --------------------------------------------------------------------------------------------
# LibriSpeech (+ Speech Commands)


def _flac(seconds: float, rate: int = 16_000, freq: float = 440.0) -> bytes:
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    soundfile.write(buffer, (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate, format="FLAC")
    return buffer.getvalue()


def test_dabs_spectrogram_known_answers() -> None:
    silence = hub.dabs_spectrogram(np.zeros(100, dtype=np.float32), hub.LIBRISPEECH_NORM)
    assert silence.shape == (1, 224, 224) and torch.allclose(
        silence, torch.full_like(silence, (-100.0 + 22.924) / 12.587)
    )
    rate = hub.SPEECH_RATE
    tone = hub.dabs_spectrogram(np.sin(2 * np.pi * 1000.0 * np.arange(rate) / rate), hub.LIBRISPEECH_NORM)
    floor = tone.max() - 80.0 / 12.587  # top_db = 80 below the maximum
    assert torch.isclose(tone.min(), floor, atol=1e-4) and torch.allclose(
        tone[..., 30:], torch.full_like(tone[..., 30:], floor.item()), atol=1e-4
    )
    assert tone[..., :20].max() == tone.max()  # 1 s of tone = the first 16000 / 672 = 23.8 frames


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str | None, str]]:
    import datasets

    calls: list[tuple[str, str | None, str]] = []
    speakers = [2277, 84, 19] * 5
    sets = {
        "train.100": {
            "audio": [
                {"bytes": _flac(s, rate=r), "path": None} for s, r in ((0.3, 16_000), (0.2, 8000), (0.1, 16_000))
            ],
            "speaker_id": [1, 2, 3],
        },
        "validation": {
            "audio": [{"bytes": _flac(0.05 * (k + 1)), "path": None} for k in range(15)],
            "speaker_id": speakers,
            "id": [f"{s}-1-{k:04d}" for k, s in enumerate(speakers)][::-1],
        },
        "train+validation": {"audio": [{"bytes": _flac(0.1), "path": None}] * 3, "label": [0, 1, 2]},
        "test": {"audio": [{"bytes": _flac(0.1), "path": None}] * 2, "label": [2, 0]},
    }

    def load_dataset(repo: str, config: str | None = None, split: str = "train") -> datasets.Dataset:
        calls.append((repo, config, split))
        ds = datasets.Dataset.from_dict(sets[split])
        return (
            ds.cast_column("label", datasets.ClassLabel(names=["yes", "no", "_silence_"]))
            if "label" in ds.column_names
            else ds
        )

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_librispeech_loader(fake_hub: list) -> None:
    data = load_domain("librispeech", {"pretrain_samples": 4, "extra_tasks": True})
    libri, google = ("openslr/librispeech_asr", "clean"), ("google/speech_commands", "v0.02")
    assert fake_hub == [(*libri, "train.100"), (*libri, "validation"), (*google, "train+validation"), (*google, "test")]
    assert data.pretrain.shape == (4, 1, 224, 224) and any(
        torch.equal(data.pretrain[3], data.pretrain[i]) for i in range(3)
    )  # 3 clips cycled
    speakers, commands = data.tasks
    assert speakers.name == "librispeech_transfer" and speakers.num_classes == 3
    assert (
        speakers.train_x.shape == (12, 1, 224, 224) and sorted(speakers.train_y.tolist()) == [0] * 4 + [1] * 4 + [2] * 4
    )  # 19, 84, 2277
    assert sorted(speakers.test_y.tolist()) == [0, 1, 2]  # int(0.8 * 5) = 4 train clips per speaker, 1 test
    assert not any(
        torch.equal(a, b) for a in speakers.test_x for b in speakers.train_x
    )  # clips of distinct lengths: no overlap
    assert (
        commands.name == "speech_commands"
        and commands.train_y.tolist() == [4, 6, 35]
        and commands.test_y.tolist() == [35, 4]
    )  # DABS's order
    assert data.embedding(8)(data.pretrain[:2]).shape == (2, 196, 8)


def test_librispeech_speaker_split_matches_dabs_procedure() -> None:
    speakers = np.array([5, 3, 5, 3, 5, 3, 5, 5, 3, 3, 9])
    train, test, labels = hub.librispeech_speaker_split(speakers)
    rs = np.random.RandomState(42)
    expected_train, expected_test = [], []
    for s in (3, 5, 9):
        rows = np.where(speakers == s)[0]
        rs.shuffle(rows)
        expected_train += rows[: int(0.8 * len(rows))].tolist()
        expected_test += rows[int(0.8 * len(rows)) :].tolist()
    assert train.tolist() == expected_train and test.tolist() == expected_test
    assert labels.tolist() == [1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 2]


def test_hub_sets_fail_offline_with_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(
        DomainDataError,
        match=(
            r"DABS librispeech: could not load 'openslr/librispeech_asr' \(clean, train\.100\) "
            r"from the Hugging Face Hub .*internet access"
        ),
    ):
        load_domain("librispeech", {"pretrain_samples": 2})
    with pytest.raises(DomainDataError, match=r"DABS cifar10: could not load 'uoft-cs/cifar10' \(train\)"):
        load_domain("cifar10", {"hub_ids": {"cifar10": "uoft-cs/cifar10"}})


# --------------------------------------------------------------------------------------------
# CIFAR-10


def test_cifar10_loads_each_split_once(monkeypatch) -> None:
    import datasets
    from PIL import Image

    calls = []

    def load_dataset(repo: str, config: str | None = None, split: str = "train") -> datasets.Dataset:
        calls.append((repo, split))
        n = 6 if split == "train" else 4
        images = [Image.fromarray(np.full((32, 32, 3), 40 * i, dtype=np.uint8)) for i in range(n)]
        return datasets.Dataset.from_dict({"img": images, "label": [i % 2 for i in range(n)]})

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    data = load_domain("cifar10", {"pretrain_samples": 6})
    assert sorted(calls) == [("uoft-cs/cifar10", "test"), ("uoft-cs/cifar10", "train")]
    task = data.tasks[0]
    assert data.pretrain.shape == (6, 3, 32, 32) and task.test_x.shape == (4, 3, 32, 32)
    assert torch.allclose(task.test_x[:, :, 0, 0], (40 * torch.arange(4)[:, None] / 255.0).expand(4, 3))  # pixels / 255
    assert task.num_classes == 2 and data.embedding(8)(data.pretrain[:2]).shape == (2, 64, 8)

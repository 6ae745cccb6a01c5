"""Original images, kept encoded: the paper-scale cache (``data.originals = true``).

The pixel cache (:mod:`modalities.images.data`) stores every image fitted to ``size x size``
(ImageNet: a 224 px centre crop), so a RandomResizedCrop taken later crops from a crop. With
``originals`` the cache keeps each image's original file bytes (JPEG for ImageNet: no decode,
no re-encode), and the views are cut from the whole image in the DataLoader workers
(:mod:`modalities.images.loader_crops`), as MoCo-v3 does from its ``ImageFolder``.

An entry is ``images/<source>-originals-<12 hex digits>/{train,test,meta.json}``: two Hugging Face
datasets with columns ``data`` (``binary``: the encoded image) and ``label`` (``ClassLabel``). The
hash covers :data:`~rqbench.cache.CACHE_FORMAT`, :data:`ORIGINALS_FORMAT` and the source's key, so
a new layout is rebuilt, never misread, and the pixel entries keep their names.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import torch
from PIL import Image
from torch import Tensor

from rqbench.cache import CACHE_FORMAT, cache_root, entry_name, read_entry, write_entry

from .data import SOURCES, SourcePlan, _as_label_array

__all__ = [
    "ORIGINALS_FORMAT",
    "WITH_ORIGINALS",
    "EncodedImages",
    "EncodedSplits",
    "decode",
    "encoded_dataset",
    "encoded_features",
    "load_originals",
    "originals_entry_name",
    "pixels",
    "to_float",
    "to_tensor",
]

ORIGINALS_FORMAT = 1
"""Layout version of the originals entries (part of their names): bump it when the layout changes."""
WITH_ORIGINALS = ("folder", "cifar10", "cifar100", "imagenet-1k", "fake")
"""The built-in sources whose :class:`~modalities.images.data.SourcePlan` can build originals."""


@dataclass(frozen=True)
class EncodedSplits:
    """A labelled image set kept as encoded originals (any size, any format PIL reads).

    Args:
        name: the source's name (written in result rows).
        train, test: Hugging Face datasets with columns ``data`` (encoded bytes) and ``label``.
        num_classes: number of classes.
        channels: 1 (grey) or 3 (RGB): what every image is converted to when decoded.
        class_names: one name per class index.
    """

    name: str
    train: datasets.Dataset
    test: datasets.Dataset
    num_classes: int
    channels: int
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.class_names) != self.num_classes:
            raise ValueError(f"{self.name}: {len(self.class_names)} class names for {self.num_classes} classes")
        if self.channels not in (1, 3):
            raise ValueError(f"{self.name}: channels must be 1 or 3, got {self.channels}")
        for split_name, split in (("train", self.train), ("test", self.test)):
            missing = {"data", "label"} - set(split.column_names)
            if missing:
                raise ValueError(f"{self.name}: the {split_name} split lacks column(s) {sorted(missing)}")


def encoded_features(class_names: Sequence[str]) -> datasets.Features:
    """The features of an originals split: ``data`` (binary) and a ``ClassLabel``."""
    return datasets.Features({"data": datasets.Value("binary"), "label": datasets.ClassLabel(names=list(class_names))})


def encoded_dataset(
    data: Sequence[bytes], labels: np.ndarray | Sequence[int], class_names: Sequence[str]
) -> datasets.Dataset:
    """A split from encoded images and their integer labels."""
    labels = np.asarray(labels, dtype=np.int64)
    if len(data) != len(labels):
        raise ValueError(f"{len(data)} images but {len(labels)} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must lie in [0, {len(class_names)}), got [{labels.min()}, {labels.max()}]")
    features = encoded_features(class_names)
    table = pa.table(
        {"data": pa.array(list(data), type=pa.binary()), "label": pa.array(labels)}, schema=features.arrow_schema
    )
    return datasets.Dataset(table, info=datasets.DatasetInfo(features=features))


def decode(data: bytes, channels: int) -> Image.Image:
    """An encoded image, decoded whole and converted to RGB (``channels == 3``) or grey (``1``).

    Transparent pixels are composited onto white, as the pixel cache does.
    """
    image: Image.Image = Image.open(io.BytesIO(data))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image.convert("L" if channels == 1 else "RGB")


def pixels(image: Image.Image) -> Tensor:
    """A decoded PIL image as its ``uint8`` pixels ``(C, H, W)`` (contiguous)."""
    array = np.asarray(image, dtype=np.uint8)
    return torch.from_numpy(array[None].copy() if array.ndim == 2 else array.transpose(2, 0, 1).copy())


def to_float(x: Tensor) -> Tensor:
    """``uint8`` pixels as float32 in ``[0, 1]``: ``x / 255`` in float32, bit for bit torchvision's
    ``ToTensor`` (``img.to(float32).div(255)``); strides kept, on ``x``'s device. (Converting first
    and dividing in place is twice as fast on the CPU as ``x.div(255)``'s mixed-type division.)"""
    return x.to(torch.float32).div_(255.0)


def to_tensor(image: Image.Image) -> Tensor:
    """A decoded PIL image as float32 ``(C, H, W)`` in ``[0, 1]`` (torchvision's ``ToTensor``)."""
    return to_float(pixels(image))


class EncodedImages(torch.utils.data.Dataset):
    """A split of originals (or its subset ``indices``): item ``i`` is ``(encoded bytes, int label)``.

    The bytes are read from the memory-mapped Arrow column without the ``datasets`` row machinery;
    the column is opened lazily in each process (a pickled copy for a DataLoader worker carries the
    dataset's file paths, never its bytes).
    """

    def __init__(self, split: datasets.Dataset, indices: Sequence[int] | np.ndarray | Tensor | None = None) -> None:
        self.split = split
        n = len(split)
        rows = np.arange(n, dtype=np.int64) if indices is None else _as_label_array(indices)
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"indices out of range for a split of {n} samples")
        self.rows = rows % max(n, 1)
        table = split.with_format("arrow", columns=["label"])[:]
        self.labels = torch.from_numpy(table.column("label").to_numpy().astype(np.int64)[self.rows])
        self._chunks: list[pa.Array] | None = None
        self._starts: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_chunks"] = state["_starts"] = None
        return state

    def _open(self) -> tuple[list[pa.Array], np.ndarray]:
        if self._chunks is None or self._starts is None:
            if self.split._indices is not None:  # a selected view: resolve it to a plain table once
                self.split = self.split.flatten_indices()
            column = self.split.data.table.column("data")
            self._chunks = list(column.chunks)
            self._starts = np.cumsum([0] + [len(c) for c in self._chunks])
        return self._chunks, self._starts

    def __len__(self) -> int:
        return len(self.rows)

    def data(self, i: int) -> bytes:
        """Item ``i``'s encoded image."""
        chunks, starts = self._open()
        row = int(self.rows[i])
        chunk = int(np.searchsorted(starts, row, side="right")) - 1
        value: bytes = chunks[chunk][row - int(starts[chunk])].as_py()
        return value

    def __getitem__(self, i: int) -> tuple[bytes, int]:
        return self.data(i), int(self.labels[i])


def originals_entry_name(source: str, key: Mapping[str, Any]) -> str:
    """The folder name of a source's originals entry: ``<source>-originals-<12 hex digits>``."""
    payload = {"source": source, "format": CACHE_FORMAT, "originals_format": ORIGINALS_FORMAT, "key": key}
    return entry_name(f"{source}-originals", payload)


def load_originals(
    source: str,
    *,
    root: str | os.PathLike[str] | None = None,
    seed: int = 0,
    cache_dir: str | os.PathLike[str] | None = None,
    **kwargs: Any,
) -> EncodedSplits:
    """The image source called ``source`` as encoded originals, from the cache if built before.

    Takes the arguments of :func:`~modalities.images.data.load_images` but ``size`` (views are
    cut at any size from the originals). A source without an originals builder is a ``ValueError``
    naming the sources that have one.
    """
    loader = SOURCES.get(source)
    root_dir = cache_root(cache_dir)
    plan = loader(root=root, size=None, seed=seed, cache_dir=root_dir, **kwargs)
    build: Callable[[], EncodedSplits] | None = getattr(plan, "originals", None)
    if not isinstance(plan, SourcePlan) or build is None:
        raise ValueError(
            f"image source {source!r} cannot keep original images (data.originals = true); "
            f"the built-in sources that can: {', '.join(WITH_ORIGINALS)}"
        )
    if not plan.cache:
        return build()
    path = root_dir / "images" / originals_entry_name(source, plan.key)
    if not (path / "meta.json").is_file():
        built = build()
        info = {
            "source": source,
            "format": CACHE_FORMAT,
            "originals_format": ORIGINALS_FORMAT,
            "key": plan.key,
            "num_classes": built.num_classes,
            "channels": built.channels,
            "class_names": list(built.class_names),
            "num_train": len(built.train),
            "num_test": len(built.test),
        }
        write_entry(path, {"train": built.train, "test": built.test}, info)
    loaded, meta = read_entry(path, ("train", "test"))
    return EncodedSplits(
        source,
        loaded["train"],
        loaded["test"],
        int(meta["num_classes"]),
        int(meta["channels"]),
        tuple(meta["class_names"]),
    )

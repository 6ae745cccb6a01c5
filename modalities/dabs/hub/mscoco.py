"""MSCOCO, DABS's captioned-images set (a local copy only): DABS src/datasets/captioned_images/mscoco.py."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..domains import DomainData, fit_count, make_task, register_domain, seeded_subset
from ..tokenizers import ConcatEmbedding, PatchEmbedding, TokenEmbedding
from ..wordpiece import encode_texts, train_wordpiece
from .sources import OFFLINE_HINT, _read_images, local_root, unavailable

COCO_FILES = (
    *tuple(f"annotations/{kind}_{split}2017.json" for split in ("train", "val") for kind in ("captions", "instances")),
    "train2017",
    "val2017",
)
COCO_DOWNLOADS = (
    "http://images.cocodataset.org/zips/train2017.zip, .../zips/val2017.zip and "
    ".../annotations/annotations_trainval2017.zip"
)
BERT_VOCAB = 30_522
"""bert-base-uncased's vocabulary size, DABS's caption vocabulary."""


def _coco_dir(options: Mapping[str, Any]) -> Path:
    root = local_root(options, "mscoco")
    need = (
        f"Download COCO 2017 as DABS does ({COCO_DOWNLOADS}), extract them into one folder and set "
        f"data.hub_roots.mscoco to it; or {OFFLINE_HINT}."
    )
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
    return (
        [root / split / f"{i:012d}.jpg" for i in images],
        [caption[i] for i in images],
        np.asarray([label[i] for i in images], dtype=np.int64),
    )


def mismatch_captions(captions: Sequence[str], seed: int = 42) -> tuple[list[str], np.ndarray]:
    """DABS's ``mismatched_caption``: a seeded half of the items take another one's caption, label 1 = own
    caption, 0 = swapped.

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

    return image.resize((480, 640), Image.Resampling.BILINEAR).crop((0, 80, 480, 560))


@register_domain("mscoco", "Images & Text")
def mscoco(options: Mapping[str, Any], seed: int) -> DomainData:
    """MSCOCO captioned images (DABS's captioned-images pretraining set): image patches + caption tokens in
    one sequence.

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
    size, patch, length = (
        int(options.get("image_size", 224)),
        int(options.get("patch", 16)),
        int(options.get("caption_length", 32)),
    )
    train, test = read_coco(root, "train2017"), read_coco(root, "val2017")
    pre_rows = seeded_subset(len(train[0]), options.get("pretrain_samples"), seed + 2)
    tokenizer = train_wordpiece(
        [train[1][i] for i in pre_rows],
        int(options.get("caption_vocab", BERT_VOCAB)),
        cache_dir=options.get("cache_dir"),
        name="mscoco",
    )

    def pack(
        paths: list[Path], captions: Sequence[str], rows: np.ndarray, where: str, pixels: torch.Tensor | None = None
    ) -> torch.Tensor:
        pixels = _read_images([paths[i] for i in rows], size, "RGB", "mscoco", _coco_crop) if pixels is None else pixels
        ids = encode_texts(tokenizer, [captions[i] for i in rows], length, where=where).ids
        return torch.cat([pixels.reshape(len(rows), -1), ids.float()], dim=1)

    n_pixels = 3 * size * size
    mismatched, category = [], []
    for (paths, captions, labels), limit, part, s in (
        (train, "eval_train_samples", "train", seed),
        (test, "eval_test_samples", "test", seed + 1),
    ):
        rows = seeded_subset(len(paths), options.get(limit), s)
        own = pack(paths, captions, rows, f"mscoco {part}")
        swapped, match = mismatch_captions(captions)
        mismatched.append(
            (pack(paths, swapped, rows, f"mismatched_caption {part}", own[:, :n_pixels]), torch.from_numpy(match[rows]))
        )
        category.append((own, torch.from_numpy(labels[rows])))
    tasks = [make_task("mismatched_caption", mismatched[0], mismatched[1], {}, seed)]
    if options.get("extra_tasks"):
        tasks.append(make_task("mscoco", category[0], category[1], {}, seed))
    pre = pack(train[0], train[1], pre_rows, "mscoco pretraining")
    vocab = tokenizer.get_vocab_size()
    return DomainData(
        pretrain=fit_count(pre, options.get("pretrain_samples"), seed),
        tasks=tuple(tasks),
        embedding=lambda dim: ConcatEmbedding(
            [(n_pixels, PatchEmbedding(3, size, size, patch, dim)), (length, TokenEmbedding(vocab, length, dim))]
        ),
        info={
            "source": str(root),
            "images": {"train": len(train[0]), "test": len(test[0])},
            "pretrain_available": len(train[0]),
        },
    )

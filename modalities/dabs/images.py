"""Image domains: natural images (Fashion-MNIST, MNIST) and captioned images (Tux Paint stamps).

Natural images stand in for DABS's CIFAR-10 / ImageNet (the paper's "Natural Images"): 28x28
grey images as patches -> Linear (DABS: 4x4 patches of 32 px). Captioned images stand in for
MSCOCO ("Images & Text"): each Tux Paint stamp (Debian ``tuxpaint-stamps-default``) as a 32x32
RGB image plus its English caption (first line of ``<stem>.txt``), classified into its top-level
stamp category (16); the image patches and the caption's WordPiece tokens form one sequence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rqbench.cache import cache_root, quiet_datasets_progress

from .domains import DomainData, DomainDataError, fit_count, make_task, register_domain, stratified_split
from .tokenizers import ConcatEmbedding, PatchEmbedding, TokenEmbedding
from .wordpiece import encode_texts, train_wordpiece

STAMPS_DIR = Path("/usr/share/tuxpaint/stamps")
STAMPS_INSTALL = "apt-get install -y --no-install-recommends tuxpaint-stamps-default"


def _image_split(source: str, split: str, options: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    from modalities.images.data import dataset_arrays, load_images

    splits = load_images(source, cache_dir=options.get("cache_dir"))
    pixels, labels = dataset_arrays(splits.split(split))
    return torch.from_numpy(pixels).float().div_(255.0), torch.from_numpy(labels)


@register_domain("natural_images", "Natural Images")
def natural_images(options: Mapping[str, Any], seed: int) -> DomainData:
    """Fashion-MNIST (pretraining: its training images; evaluation: Fashion-MNIST, and MNIST with ``extra_tasks``)."""
    train_x, train_y = _image_split("fashion-mnist", "train", options)
    test_x, test_y = _image_split("fashion-mnist", "test", options)
    tasks = [make_task("fashion_mnist", (train_x, train_y), (test_x, test_y), options, seed)]
    if options.get("extra_tasks"):
        mx, my = _image_split("mnist", "train", options)
        mtx, mty = _image_split("mnist", "test", options)
        tasks.append(make_task("mnist", (mx, my), (mtx, mty), options, seed))
    patch = int(options.get("patch", 4))
    c, h, w = train_x.shape[1:]
    return DomainData(
        pretrain=fit_count(train_x, options.get("pretrain_samples"), seed),
        tasks=tuple(tasks),
        embedding=lambda dim: PatchEmbedding(c, h, w, patch, dim),
        info={"pretrain_source": "fashion-mnist train", "pretrain_available": len(train_x)},
    )


def _stamp_entries(root: Path) -> list[tuple[str, Path, str]]:
    """``(category, png path, caption)`` of every stamp with a PNG and a caption, sorted."""
    out = []
    for txt in sorted(root.rglob("*.txt")):
        png = txt.with_suffix(".png")
        if not png.is_file():
            continue
        lines = txt.read_text(encoding="utf-8", errors="replace").splitlines()
        caption = lines[0].strip() if lines else ""
        if caption:
            out.append((txt.relative_to(root).parts[0], png, caption))
    return out


def load_stamps(
    size: int = 32, *, root: Path = STAMPS_DIR, cache_dir: Any = None
) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """Stamp images ``(N, 3, size, size)`` uint8 (alpha over white), captions, labels, category names;
    cached as an HF dataset."""
    import datasets
    from PIL import Image

    if not root.is_dir():
        raise DomainDataError(f"Tux Paint stamps not found at {root}; install them: {STAMPS_INSTALL}")
    entries = _stamp_entries(root)
    if not entries:
        raise DomainDataError(f"no captioned PNG stamps under {root}; reinstall: {STAMPS_INSTALL}")
    key = hashlib.sha256(json.dumps([size, [(c, str(p), t) for c, p, t in entries]]).encode()).hexdigest()[:12]
    path = cache_root(cache_dir) / "dabs" / f"stamps-{size}-{key}"
    if not (path / "dataset_info.json").is_file():
        images = []
        for _, png, _ in entries:
            with Image.open(png) as im:
                rgba = im.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                rgb = Image.alpha_composite(white, rgba).convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
                images.append(np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1).reshape(-1))
        names = sorted({c for c, _, _ in entries})
        ds = datasets.Dataset.from_dict(
            {
                "pixels": images,
                "caption": [t for _, _, t in entries],
                "label": [names.index(c) for c, _, _ in entries],
                "category": [c for c, _, _ in entries],
            }
        )
        with quiet_datasets_progress():
            ds.save_to_disk(str(path))
    ds = datasets.load_from_disk(str(path))
    names = sorted(set(ds["category"]))
    pixels = np.asarray(ds["pixels"], dtype=np.uint8).reshape(len(ds), 3, size, size)
    return pixels, list(ds["caption"]), np.asarray(ds["label"], dtype=np.int64), names


@register_domain("captioned_images", "Images & Text")
def captioned_images(options: Mapping[str, Any], seed: int) -> DomainData:
    """Tux Paint stamps + captions: pretraining on the training stamps, evaluation = stamp category."""
    size, caption_len = int(options.get("image_size", 32)), int(options.get("caption_length", 16))
    pixels, captions, labels, names = load_stamps(size, cache_dir=options.get("cache_dir"))
    train, test = stratified_split(labels, float(options.get("test_fraction", 0.3)), seed=0)
    tokenizer = train_wordpiece(
        [captions[i] for i in train],
        int(options.get("caption_vocab", 1000)),
        cache_dir=options.get("cache_dir"),
        name="stamps",
    )
    ids = encode_texts(tokenizer, captions, caption_len, where="stamp captions")
    packed = torch.cat([torch.from_numpy(pixels).float().div_(255.0).reshape(len(labels), -1), ids.ids.float()], dim=1)
    y = torch.from_numpy(labels)
    tr, te = torch.from_numpy(train), torch.from_numpy(test)
    patch, vocab = int(options.get("patch", 8)), tokenizer.get_vocab_size()
    n_pixels = 3 * size * size
    return DomainData(
        pretrain=fit_count(packed[tr], options.get("pretrain_samples"), seed),
        tasks=(make_task("stamps", (packed[tr], y[tr]), (packed[te], y[te]), options, seed),),
        embedding=lambda dim: ConcatEmbedding(
            [
                (n_pixels, PatchEmbedding(3, size, size, patch, dim)),
                (caption_len, TokenEmbedding(vocab, caption_len, dim)),
            ]
        ),
        info={"stamps": len(labels), "categories": names, "truncated_captions": ids.truncated},
    )

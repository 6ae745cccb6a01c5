"""Images/s of the paper-scale training loader against torchvision's ``ImageFolder`` + ``DataLoader``.

Run: ``python benchmarks/image_loader.py`` (writes ``results/benchmarks/image_loader.md``).

Both read the same JPEGs (``--images`` seeded 400 px JPEGs, made once under
``$RQBENCH_CACHE/benchmarks/``) and make two views of every image with the same transforms: decode the
whole image, RandomResizedCrop(224, scale=(0.08, 1)) + horizontal flip + ToTensor in the DataLoader
workers, then ``rq(bins=8)`` on each batch of views in the main process. Ours reads the encoded
originals from the rqbench cache (``data.originals``; built before timing) through
:class:`~rqbench.drawn.Drawn` keyed draws and :func:`~modalities.images.loader_crops.split_views`, as
the training loop does; the baseline is a plain ``ImageFolder`` with a two-view transform. One pass
over the images per repeat (DataLoader start-up included for both), interleaved, median of the repeats.
Images/s per core divides by the cores the run can use (workers + the main process, at most the
machine's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

from modalities.images.loader_crops import split_views
from modalities.images.originals import EncodedImages, load_originals
from rqbench.augment.base import ChannelLayout
from rqbench.augment.spec import build_pipeline
from rqbench.cache import cache_root
from rqbench.drawn import PRETRAIN_STREAM, Drawn, ViewStack
from rqbench.io import write_atomic
from rqbench.provenance import git_commit, hardware
from rqbench.train.batches import stack_views, usable_cores

SIDE = 400
CLASSES = 10
LAYOUT = ChannelLayout(channel_dim=1, batch_dims=1)


def make_jpegs(root: Path, count: int, seed: int = 0) -> Path:
    """``count`` seeded JPEGs (quality 90, 400 px wide, 300-400 px high, smooth colour fields plus
    noise) in ``root/train/<class>/`` and one per class in ``root/test/``; kept if already made."""
    done = root / "done"
    if done.is_file():
        return root
    rng = np.random.default_rng(seed)
    for split, n in (("train", count), ("test", CLASSES)):
        for i in range(n):
            height = int(rng.integers(300, SIDE + 1))
            coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
            base = np.asarray(coarse.resize((SIDE, height), Image.Resampling.BICUBIC), dtype=np.float32)
            pixels = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
            path = root / split / f"c{i % CLASSES}" / f"{i:05d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).save(path, quality=90)
    done.write_text("ok\n")
    return root


class TwoViews:
    """The baseline's transform: the same random transform twice."""

    def __init__(self, transform: Any) -> None:
        self.transform = transform

    def __call__(self, image: Image.Image) -> list[Tensor]:
        return [self.transform(image), self.transform(image)]


def baseline(root: Path, batch: int, workers: int, seed: int) -> float:
    """torchvision ImageFolder + DataLoader, then rq(bins=8) per view: wall seconds of one pass."""
    transform = T.Compose([T.RandomResizedCrop(224, scale=(0.08, 1.0)), T.RandomHorizontalFlip(), T.ToTensor()])
    rq = build_pipeline("rq(bins=8)", layout=LAYOUT, modality="images", generator=torch.Generator().manual_seed(seed))
    start = time.perf_counter()
    data = ImageFolder(str(root / "train"), transform=TwoViews(transform))
    loader = DataLoader(
        data, batch_size=batch, shuffle=True, num_workers=workers, generator=torch.Generator().manual_seed(seed)
    )
    for (v0, v1), _ in loader:
        rq(v0), rq(v1)
    return time.perf_counter() - start


def ours(root: Path, cache: Path, batch: int, workers: int, seed: int) -> float:
    """rqbench's paper-scale path (cached originals, views cut in the workers), then rq(bins=8): one pass."""
    pipeline = build_pipeline(
        "rrc+rq(bins=8)", layout=LAYOUT, modality="images", generator=torch.Generator().manual_seed(seed)
    )
    start = time.perf_counter()
    encoded = load_originals("folder", root=root, cache_dir=cache)
    split = split_views(pipeline.view, 224, encoded.channels)
    loop = pipeline.with_view(split.rest)
    data = Drawn(EncodedImages(encoded.train), ViewStack(split.make, 2, split.prepare))
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed)).tolist()
    keys = [[(seed, PRETRAIN_STREAM, 0, i) for i in order[s : s + batch]] for s in range(0, len(order), batch)]
    loader = DataLoader(data, batch_sampler=keys, num_workers=workers, collate_fn=stack_views)
    for views in loader:
        loop.views(split.start(views), 2, premade=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--note", default="", help="a line on the machine's state, written under the table")
    parser.add_argument("--out", default="results/benchmarks", help="folder for image_loader.md ('' to skip)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache = cache_root()
    root = make_jpegs(cache / "benchmarks" / f"image_loader-{args.images}", args.images)
    load_originals("folder", root=root, cache_dir=cache)  # the cache is built once, before any timing
    plain, mine = [], []
    for repeat in range(args.repeats):  # interleaved, so drifts in machine load hit both alike
        plain.append(baseline(root, args.batch, args.workers, repeat))
        mine.append(ours(root, cache, args.batch, args.workers, repeat))
        print(f"repeat {repeat}: ImageFolder {plain[-1]:.2f} s, rqbench {mine[-1]:.2f} s", flush=True)
    cores = min(usable_cores(), args.workers + 1)
    rate = {name: args.images / statistics.median(times) for name, times in (("plain", plain), ("ours", mine))}
    text = (
        "# Paper-scale image loader against torchvision ImageFolder + DataLoader\n\n"
        f"Hardware: {hardware()}; commit {git_commit()}.\n"
        f"{args.images} JPEGs of 400 px (quality 90), two views per image: decode, RandomResizedCrop(224, "
        f"scale=(0.08, 1)), flip, ToTensor in {args.workers} DataLoader worker(s), then rq(bins=8) per view "
        f"in the main process; batch {args.batch}; one pass per repeat, median of {args.repeats} interleaved "
        f"repeats; per core: over {cores} core(s) (workers + main process, at most the machine's "
        f"{usable_cores()}).\n\n"
        "| loader | images/s | images/s per core | wall s (median) | wall s (all) |\n|---|---:|---:|---:|---:|\n"
        f"| torchvision ImageFolder | {rate['plain']:.1f} | {rate['plain'] / cores:.1f} | "
        f"{statistics.median(plain):.2f} | {', '.join(f'{t:.2f}' for t in plain)} |\n"
        f"| rqbench originals | {rate['ours']:.1f} | {rate['ours'] / cores:.1f} | "
        f"{statistics.median(mine):.2f} | {', '.join(f'{t:.2f}' for t in mine)} |\n\n"
        f"rqbench's loader runs at **{100 * rate['ours'] / rate['plain']:.1f} %** of the baseline's images/s "
        "(target: at least 100 %).\n"
    )
    if args.note:
        text += f"\n{args.note}\n"
    print(text)
    if args.out:
        write_atomic(Path(args.out) / "image_loader.md", text)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()

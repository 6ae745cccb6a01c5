"""Images/s of the paper-scale training loader against torchvision's ``ImageFolder`` + ``DataLoader``.

Run: ``python benchmarks/image_loader.py`` (writes ``results/benchmarks/image_loader.md``).

Both read the same JPEGs (``--images`` seeded 400 px JPEGs, made once under
``$RQBENCH_CACHE/benchmarks/``), make two views of every image with the same transforms and the same
work, and time one pass over the images per repeat, DataLoader start-up included:

* baseline (:func:`baseline`): ``ImageFolder`` (PIL open + ``convert("RGB")``, once per image), a
  two-view transform ``RandomResizedCrop(224, scale=(0.08, 1))`` + ``RandomHorizontalFlip`` +
  ``ToTensor`` (float32 in the worker), ``default_collate``; then ``rq(bins=8)`` on each view's
  batch in the main process.
* ours (:func:`ours`): the training loop's path. The encoded originals from the rqbench cache
  (``data.originals``; built before timing, opened inside the timed pass) through
  :class:`~rqbench.drawn.Drawn` keyed draws and :func:`~modalities.images.loader_crops.split_views`:
  in the worker, decode the whole image once, then per view torchvision's ``resized_crop`` and
  ``hflip`` at the same ``RandomResizedCrop`` draw and the view's ``uint8`` pixels,
  :func:`~rqbench.train.batches.stack_views`; in the main process, ``LoaderViews.finish`` (``uint8``
  to ``ToTensor``'s float32, bit for bit: the conversion the baseline's workers do) and the spec's
  remaining stages, ``rq(bins=8)`` on each view.

The repeats are interleaved (the order rotating, so drifts in machine load and whatever one pass
leaves warm hit every loader alike); the table has the median of the repeats and the median of the
per-repeat ratios to the baseline. Images/s per core divides by the cores the run can use (workers +
the main process, at most the machine's).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

# Time the code beside this script (``python benchmarks/...`` puts only benchmarks/ on the path, so an
# installed checkout elsewhere would be timed instead).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modalities.images.loader_crops import split_views
from modalities.images.originals import EncodedImages, load_originals
from rqbench.augment.base import ChannelLayout
from rqbench.augment.functional import randomized_quantization
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
    """rqbench's paper-scale path (cached originals, views cut in the workers, finished to floats where the
    loop receives them), then rq(bins=8): one pass."""
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


LOADERS: dict[str, Callable[[Path, Path, int, int, int], float]] = {
    "torchvision ImageFolder": lambda root, cache, batch, workers, seed: baseline(root, batch, workers, seed),
    "rqbench originals": ours,
}
"""The timed loaders, by the name in the table: the baseline first."""


def warm_rq(batch: int) -> float:
    """Compile rq(bins=8)'s fused kernel for the views' batches before any timing; its seconds.

    ``rq``'s ``auto`` backend compiles that kernel once eager has quantized enough elements in the
    process (:func:`rqbench.augment.fused.should_fuse`): a long run's steady state. Compiled here,
    every timed pass of both loaders uses it, and no pass is charged the one-off compile.
    """
    start = time.perf_counter()
    randomized_quantization(torch.rand(batch, 3, 224, 224), 8, backend="compiled")
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
    compile_s = warm_rq(args.batch)
    times: dict[str, list[float]] = {name: [] for name in LOADERS}
    names = list(LOADERS)
    for repeat in range(args.repeats):  # interleaved, the order rotating, so drifts hit every loader alike
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            times[name].append(LOADERS[name](root, cache, args.batch, args.workers, repeat))
        print(f"repeat {repeat}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items()), flush=True)
    cores = min(usable_cores(), args.workers + 1)
    plain = times[names[0]]
    rows = []
    for name, taken in times.items():
        rate = args.images / statistics.median(taken)
        ratio = statistics.median(plain) / statistics.median(taken)
        paired = statistics.median(p / t for p, t in zip(plain, taken, strict=True))
        rows.append(
            f"| {name} | {rate:.1f} | {rate / cores:.1f} | {statistics.median(taken):.2f} | "
            f"{', '.join(f'{t:.2f}' for t in taken)} | {100 * ratio:.1f} % | {100 * paired:.1f} % |\n"
        )
    ours_ratio = statistics.median(plain) / statistics.median(times[names[1]])
    text = (
        "# Paper-scale image loader against torchvision ImageFolder + DataLoader\n\n"
        f"Hardware: {hardware()}; commit {git_commit()}.\n"
        f"{args.images} JPEGs of 400 px (quality 90), two views per image, {args.workers} DataLoader worker(s), "
        f"batch {args.batch}; one pass per repeat (DataLoader start-up included), median of {args.repeats} "
        f"interleaved repeats (order rotating); per core: over {cores} core(s) (workers + main process, "
        f"at most the machine's {usable_cores()}).\n\n"
        "What each side does (the same transforms and the same work; `python benchmarks/image_loader.py`):\n\n"
        "- **torchvision ImageFolder**: workers: PIL open + convert RGB once per image, then per view "
        "RandomResizedCrop(224, scale=(0.08, 1)) + RandomHorizontalFlip + ToTensor (float32), default_collate; "
        "main process: rq(bins=8) on each view's batch.\n"
        "- **rqbench originals** (the training loop's path): workers: the JPEG bytes from the originals cache, "
        "decoded whole once per image, then per view torchvision's resized_crop + hflip at the same "
        "RandomResizedCrop(224, scale=(0.08, 1)) draw (keyed per image) and the view's uint8 pixels, collated "
        "view by view into shared memory; main process: uint8 to float32 / 255 (ToTensor's values bit for bit: "
        "the conversion the baseline does in its workers, here where the training loop receives the views, "
        "on the device), then rq(bins=8) on each view's batch.\n"
        f"- Both: rq(bins=8) runs its fused kernel (rqbench's `auto` backend's steady state), compiled once "
        f"before any timing ({compile_s:.0f} s), so no pass pays the compile.\n\n"
        "| loader | images/s | images/s per core | wall s (median) | wall s (all) | vs baseline (medians) "
        "| vs baseline (median of per-repeat ratios) |\n|---|---:|---:|---:|---:|---:|---:|\n"
        + "".join(rows)
        + f"\nrqbench's loader runs at **{100 * ours_ratio:.1f} %** of "
        "the baseline's images/s (target: at least 100 %).\n"
    )
    if args.note:
        text += f"\n{args.note}\n"
    print(text)
    if args.out:
        write_atomic(Path(args.out) / "image_loader.md", text)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()

"""Speed and peak memory of randomized quantization against a mask-based version and a copy.

Run: ``python benchmarks/rq_speed.py`` (writes ``results/benchmarks/rq_speed.{md,csv}``).

Three implementations of the same per-sample, per-channel algorithm are timed:

* ``rqbench``: :func:`rqbench.augment.randomized_quantization` (searchsorted, O(input) memory);
* ``mask``: the reference's approach (microsoft/random_quantize) written batched here: a
  boolean ``(S*C, bins, M)`` membership tensor from two comparisons, ``argmax`` over bins,
  then a gather of the reproduction values (O(bins x input) memory);
* ``copy``: ``x.clone()``, the floor any out-of-place augmentation pays.

Peak extra memory is the resident-set high-water mark above the input (Linux:
``/proc/self/clear_refs`` resets it), measured in a child process run with
``MALLOC_MMAP_THRESHOLD_`` set so freed buffers go back to the OS; times are taken in the
parent process with the normal allocator.
On CUDA it is ``torch.cuda.max_memory_allocated`` above the input.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from rqbench.augment.functional import randomized_quantization, sample_quantizer
from rqbench.io import write_atomic
from rqbench.provenance import git_commit, hardware

SHAPES: list[tuple[tuple[int, ...], int, str]] = [
    ((256, 3, 32, 32), 1, "images 32 px"),
    ((32, 3, 224, 224), 1, "images 224 px"),
    ((64, 1, 64, 96), 1, "log-mel"),
    ((32, 2048, 3), -1, "point clouds"),
    ((64, 128, 256), -1, "token embeddings"),
]
BINS = (5, 8, 30)


def mask_based(x: torch.Tensor, bins: int, channel_dim: int, generator: torch.Generator) -> torch.Tensor:
    """The mask-based algorithm (the reference's approach), batched over samples and channels."""
    moved = x.movedim(channel_dim, 1)
    s, c = moved.shape[:2]
    grouped = moved.reshape(s * c, -1)
    lo, hi = grouped.amin(-1), grouped.amax(-1)
    edges, values = sample_quantizer(lo, hi, bins, generator=generator)
    left = torch.cat([lo[:, None], edges], dim=1).unsqueeze(-1)
    right = torch.cat([edges, hi[:, None] + 1], dim=1).unsqueeze(-1)
    inside = (grouped.unsqueeze(1) >= left) & (grouped.unsqueeze(1) < right)  # (S*C, bins, M)
    region = inside.int().argmax(dim=1, keepdim=True)
    out = values.unsqueeze(-1).expand(-1, -1, grouped.shape[-1]).gather(1, region)[:, 0]
    return out.view(moved.shape).movedim(1, channel_dim).contiguous()


def _rss_kib(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) if match else 0


def peak_extra_bytes(fn: Callable[[], torch.Tensor], device: torch.device) -> int:
    """Peak memory ``fn`` needs beyond what is resident before it runs (its output included)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        out = fn()
        torch.cuda.synchronize()
        del out
        return torch.cuda.max_memory_allocated() - base
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _rss_kib("VmRSS")
    out = fn()
    peak = _rss_kib("VmHWM")
    del out
    return (peak - base) * 1024


def best_time(fn: Callable[[], torch.Tensor], device: torch.device, repeats: int) -> float:
    """Best wall time of ``repeats`` calls after one warm-up, in seconds."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


IMPLS = ("rqbench", "mask", "copy")


def implementations(x: torch.Tensor, bins: int, channel_dim: int, gen: torch.Generator) -> dict[str, Callable[[], torch.Tensor]]:
    """The three implementations timed, as zero-argument callables on ``x``."""
    return {
        "rqbench": lambda: randomized_quantization(x, bins, channel_dim=channel_dim, generator=gen),
        "mask": lambda: mask_based(x, bins, channel_dim, gen),
        "copy": lambda: x.clone(),
    }


def cases(quick: bool) -> list[tuple[tuple[int, ...], int, str, int]]:
    """(shape, channel_dim, description, bins) of every benchmarked case."""
    return [(shape, cd, what, bins) for shape, cd, what in (SHAPES[:2] if quick else SHAPES) for bins in ((8,) if quick else BINS)]


def measure(device: torch.device, repeats: int, quick: bool, what_to_measure: str) -> pd.DataFrame:
    """Time (``"time"``) or peak memory (``"memory"``) of every implementation on every case."""
    rows = []
    gen = torch.Generator().manual_seed(0)
    for shape, channel_dim, what, bins in cases(quick):
        x = torch.randn(shape, generator=gen).to(device)
        input_bytes = x.numel() * x.element_size()
        row: dict[str, object] = {"shape": "x".join(map(str, shape)), "data": what, "bins": bins}
        for name, fn in implementations(x, bins, channel_dim, gen).items():
            if what_to_measure == "time":
                row[f"{name}_ms"] = best_time(fn, device, repeats) * 1e3
            else:
                fn()  # warm-up: one-time allocations (thread pools, kernels) are not the op's memory
                row[f"{name}_peak_x_input"] = peak_extra_bytes(fn, device) / input_bytes
        rows.append(row)
    return pd.DataFrame(rows)


def run(device: torch.device, repeats: int, quick: bool) -> pd.DataFrame:
    """Times in this process; peak memory in a child process whose allocator returns freed memory."""
    timed = measure(device, repeats, quick, "time")
    if device.type == "cuda":
        memory = measure(device, repeats, quick, "memory")
    else:
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}  # every large buffer is its own mapping
        cmd = [sys.executable, __file__, "--measure-memory", "--device", str(device)] + (["--quick"] if quick else [])
        memory = pd.read_json(io.StringIO(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout))
    df = timed.merge(memory, on=["shape", "data", "bins"])
    df["speedup_vs_mask"] = df["mask_ms"] / df["rqbench_ms"]
    return df


def to_markdown(df: pd.DataFrame, device: torch.device) -> str:
    head = (
        f"# Randomized quantization: speed and peak memory\n\n"
        f"Hardware: {hardware()}; device: {device}; commit {git_commit()}; float32; best of the timed repeats.\n"
        "Peak extra memory is in multiples of the input's size and includes the output.\n\n"
        "| shape | data | bins | rqbench ms | mask ms | copy ms | speed-up vs mask | rqbench peak extra | mask peak extra |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    body = "".join(
        f"| {r.shape} | {r.data} | {r.bins} | {r.rqbench_ms:.2f} | {r.mask_ms:.2f} | {r.copy_ms:.2f} | "
        f"{r.speedup_vs_mask:.1f}x | {r.rqbench_peak_x_input:.2f}x | {r.mask_peak_x_input:.2f}x |\n"
        for r in df.itertuples()
    )
    return head + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="two shapes, bins 8 only")
    parser.add_argument("--out", default="results/benchmarks", help="folder for rq_speed.md/.csv ('' to skip)")
    parser.add_argument("--measure-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.measure_memory:
        print(measure(device, args.repeats, args.quick, "memory").to_json())
        return
    df = run(device, args.repeats, args.quick)
    text = to_markdown(df, device)
    print(text)
    if args.out:
        suffix = "" if device.type == "cpu" else f"_{device.type}"
        write_atomic(Path(args.out) / f"rq_speed{suffix}.md", text)
        write_atomic(Path(args.out) / f"rq_speed{suffix}.csv", df.to_csv(index=False))


if __name__ == "__main__":
    main()

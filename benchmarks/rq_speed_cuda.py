"""Randomized quantization on a CUDA GPU: the reference's approach, eager, fused (Triton), and a copy.

Run: ``python benchmarks/rq_speed_cuda.py`` on a machine with a GPU (prints a table and writes
``results/benchmarks/rq_speed_cuda.{md,csv}``; ``--out ''`` to skip). ``--device cpu --smoke``
runs the same code on two tiny shapes, to check the script without a GPU.

Bins 8 on (256, 3, 224, 224) and (4096, 3, 32, 32), float32. The implementations are those of
``benchmarks/rq_speed.py``: ``reference`` (n-fold membership mask, argmax, gather), ``eager``
(``backend="eager"``: ``searchsorted`` + ``index_select``), ``fused`` (``backend="compiled"``: one
Triton kernel from ``torch.compile``) and ``copy`` (``x.clone()``), run interleaved in one process
with the device synchronized around every call; each time is the median of the rounds. The fused
path's first call (its compile) is reported apart, and the fused output is checked bit for bit
against eager's. Peak extra memory is ``torch.cuda.max_memory_allocated`` above the input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rq_speed import implementations, interleaved_medians, peak_extra_bytes

from rqbench.augment import fused
from rqbench.augment.functional import randomized_quantization
from rqbench.io import write_atomic
from rqbench.provenance import git_commit, hardware

SHAPES: list[tuple[tuple[int, ...], str]] = [((256, 3, 224, 224), "images 224 px"), ((4096, 3, 32, 32), "images 32 px")]
SMOKE_SHAPES: list[tuple[tuple[int, ...], str]] = [((4, 3, 32, 32), "smoke"), ((16, 3, 8, 8), "smoke")]
IMPLS = ("reference", "eager", "fused", "copy")


def bit_identical(x: torch.Tensor, bins: int) -> bool:
    """Whether the fused and the eager path give the same bits from the same (CUDA) generator seed."""
    gen_device = "cuda" if x.device.type == "cuda" else "cpu"
    out = [
        randomized_quantization(x, bins, generator=torch.Generator(device=gen_device).manual_seed(0), backend=backend)
        for backend in ("compiled", "eager")
    ]
    return torch.equal(out[0].view(torch.int32), out[1].view(torch.int32))


def measure(device: torch.device, shapes: list[tuple[tuple[int, ...], str]], bins: int, repeats: int) -> pd.DataFrame:
    """One row per shape: median ms of every implementation, the fused first call, peak memory, bit identity."""
    rows = []
    for shape, what in shapes:
        gen = torch.Generator(device=device.type).manual_seed(0)
        x = torch.randn(shape, device=device, generator=gen)
        fns = implementations(x, bins, 1, gen)
        first, median = interleaved_medians(fns, device, repeats)
        row: dict[str, object] = {"shape": "x".join(map(str, shape)), "data": what, "bins": bins}
        row.update({f"{name}_ms": median[name] * 1e3 for name in IMPLS})
        row["fused_first_call_s"] = first["fused"]
        input_bytes = x.numel() * x.element_size()
        for name in ("reference", "eager", "fused"):
            row[f"{name}_peak_x_input"] = peak_extra_bytes(fns[name], device) / input_bytes
        row["bit_identical"] = bit_identical(x, bins)
        row["graphs_compiled"] = fused.STATE.graphs_compiled
        rows.append(row)
        print(f"  {row['shape']}: " + ", ".join(f"{n} {median[n] * 1e3:.3f} ms" for n in IMPLS), flush=True)
    return pd.DataFrame(rows)


def to_markdown(df: pd.DataFrame, device: torch.device, repeats: int) -> str:
    """The table, with the hardware and the fused path's first-call cost."""

    def row(*cells: object) -> str:
        return "| " + " | ".join(str(c) for c in cells) + " |"

    names = (
        "shape", "data", "bins", "reference ms", "eager ms", "fused ms", "copy ms", "fused vs reference",
        "fused vs eager", "fused / copy", "fused first call s", "eager peak", "fused peak", "bit-identical",
    )  # fmt: skip
    lines = [
        "# Randomized quantization on CUDA: speed and peak memory",
        "",
        f"Hardware: {hardware()}; device: {device}; commit {git_commit()}; float32; median of {repeats} interleaved "
        "rounds, synchronized around every call.",
        "",
        row(*names),
        row(*(["---"] * len(names))),
    ]
    for r in df.itertuples():
        lines.append(
            row(
                r.shape, r.data, r.bins, f"{r.reference_ms:.3f}", f"{r.eager_ms:.3f}", f"{r.fused_ms:.3f}",
                f"{r.copy_ms:.3f}", f"{r.reference_ms / r.fused_ms:.0f}x faster",
                f"{r.eager_ms / r.fused_ms:.1f}x faster",
                f"{r.fused_ms / r.copy_ms:.1f}x", f"{r.fused_first_call_s:.1f}", f"{r.eager_peak_x_input:.2f}x",
                f"{r.fused_peak_x_input:.2f}x", "yes" if r.bit_identical else "NO",
            )
        )  # fmt: skip
    lines += [
        "",
        f"Graphs compiled in all: {int(df['graphs_compiled'].iloc[-1])} (one per family; sizes do not recompile).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--bins", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="two tiny shapes (to check the script, e.g. on CPU)")
    parser.add_argument("--out", default="results/benchmarks", help="folder for rq_speed_cuda.md/.csv ('' to skip)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("no CUDA device here: run this on a machine with a GPU (or --device cpu --smoke to check the script)")
    df = measure(device, SMOKE_SHAPES if args.smoke else SHAPES, args.bins, args.repeats)
    text = to_markdown(df, device, args.repeats)
    print(text)
    if args.out and not args.smoke:
        write_atomic(Path(args.out) / "rq_speed_cuda.md", text)
        write_atomic(Path(args.out) / "rq_speed_cuda.csv", df.to_csv(index=False))


if __name__ == "__main__":
    main()

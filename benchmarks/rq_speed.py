"""Speed and peak memory of randomized quantization: the reference's approach, eager, fused, and a copy.

Run: ``python benchmarks/rq_speed.py`` (writes ``results/benchmarks/rq_speed.{md,csv}`` and
``rq_speed_training.{md,csv}``); ``--quick`` for two shapes at 8 bins only; ``--training-only`` for
the training-step shares only.

Four implementations of the same per-sample, per-channel algorithm are timed on five shapes
(images 224 px and 32 px, log-mel, point clouds, DABS token embeddings) at 5, 8 and 30 bins:

* ``reference``: the reference's approach (microsoft/random_quantize's module), written from its
  formula and batched here: a boolean ``(S*C, bins, M)`` membership tensor from two comparisons
  per bin, ``argmax`` over bins, then a gather of the reproduction values (O(bins x input) memory);
* ``eager``: :func:`rqbench.augment.randomized_quantization` with ``backend="eager"``
  (``searchsorted`` + ``index_select``);
* ``fused``: the same with ``backend="compiled"``: on CPU the C++/OpenMP kernel
  (:mod:`rqbench.augment.native`, range + quantizers + lookup in one call per sample), on CUDA one
  ``torch.compile``/Triton kernel (:mod:`rqbench.augment.fused`); its build or compile happens in
  the warm-up call, which is reported apart;
* ``copy``: ``x.clone()``, the floor any out-of-place augmentation pays.

All four run interleaved in one process (each round calls them in a rotated order), and the
median of the rounds is reported, once per thread count (``--threads``). The first-call cost of
the fused path is measured in fresh processes (an empty and a warm kernel cache), and RQ's share
of one quick-preset training step per modality is measured with the eager and the fused lookup.

Peak extra memory is the resident-set high-water mark above the input (Linux:
``/proc/self/clear_refs`` resets it), measured in a child process run with
``MALLOC_MMAP_THRESHOLD_`` set so freed buffers go back to the OS.
On CUDA it is ``torch.cuda.max_memory_allocated`` above the input.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence, Sized
from pathlib import Path
from typing import cast

import pandas as pd
import torch

from rqbench.augment import fused, native
from rqbench.augment.functional import randomized_quantization, sample_quantizer
from rqbench.io import write_atomic
from rqbench.provenance import git_commit, hardware

SHAPES: list[tuple[tuple[int, ...], int, str]] = [
    ((32, 3, 224, 224), 1, "images 224 px"),
    ((256, 3, 32, 32), 1, "images 32 px"),
    ((64, 1, 64, 96), 1, "log-mel"),
    ((64, 2048, 3), -1, "point clouds"),
    ((128, 64, 64), -1, "DABS tokens"),
]
BINS = (5, 8, 30)
IMPLS = ("reference", "eager", "fused", "copy")
# (modality, method, spec) of one quick-preset run per modality, as the paper's tables run them.
TRAINING = [
    ("images", "moco", "rrc+rq(bins=8)"),
    ("audio", "byol", "audio-rrc+rq(bins=5)"),
    ("points", "moco", "pts_base+rq(bins=30)"),
    ("dabs", "infonce", "rq"),
]


def mask_based(x: torch.Tensor, bins: int, channel_dim: int, generator: torch.Generator) -> torch.Tensor:
    """The reference's approach, batched over samples and channels.

    Per (sample, channel) with bounds ``b_0 = lo, b_1..b_{n-1}`` (the edges), ``b_n = hi + 1``:
    ``inside[k] = (x >= b_k) & (x < b_{k+1})``, ``k* = argmax_k inside[k]``, ``out = v_{k*}``.
    """
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


def implementations(
    x: torch.Tensor, bins: int, channel_dim: int, gen: torch.Generator
) -> dict[str, Callable[[], torch.Tensor]]:
    """The four implementations timed, as zero-argument callables on ``x``."""
    return {
        "reference": lambda: mask_based(x, bins, channel_dim, gen),
        "eager": lambda: randomized_quantization(x, bins, channel_dim=channel_dim, generator=gen, backend="eager"),
        "fused": lambda: randomized_quantization(x, bins, channel_dim=channel_dim, generator=gen, backend="compiled"),
        "copy": lambda: x.clone(),
    }


def cases(quick: bool) -> list[tuple[tuple[int, ...], int, str, int]]:
    """(shape, channel_dim, description, bins) of every benchmarked case."""
    return [
        (shape, cd, what, bins)
        for shape, cd, what in (SHAPES[:2] if quick else SHAPES)
        for bins in ((8,) if quick else BINS)
    ]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved_times(
    fns: dict[str, Callable[[], torch.Tensor]], device: torch.device, repeats: int
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """(first-call seconds, seconds of each of ``repeats`` interleaved rounds) of every callable.

    Round ``r`` calls them in an order rotated by ``r``, so a slow spell of a shared machine hits
    every implementation alike, and two implementations' times from the same round can be compared.
    """
    first = {}
    for name, fn in fns.items():
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        first[name] = time.perf_counter() - start
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            _sync(device)
            start = time.perf_counter()
            fns[name]()
            _sync(device)
            times[name].append(time.perf_counter() - start)
    return first, times


def interleaved_medians(
    fns: dict[str, Callable[[], torch.Tensor]], device: torch.device, repeats: int
) -> tuple[dict[str, float], dict[str, float]]:
    """(first-call seconds, median seconds of ``repeats`` interleaved rounds) of every callable."""
    first, times = interleaved_times(fns, device, repeats)
    return first, {name: statistics.median(t) for name, t in times.items()}


def round_ratio_quartiles(numerator: list[float], denominator: list[float]) -> tuple[float, float, float]:
    """Quartiles (q1, median, q3) of the per-round ratios ``numerator[r] / denominator[r]``.

    A ratio within one round compares two calls made moments apart, so a slow spell of the machine
    cancels; its spread over rounds says whether a target such as "within 3x of a copy" is met or
    only met by the noise.
    """
    ratios = [a / b for a, b in zip(numerator, denominator, strict=True)]
    q1, q2, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return q1, q2, q3


def measure_times(device: torch.device, threads: list[int], repeats: int, quick: bool) -> pd.DataFrame:
    """Median times of every implementation on every case, once per thread count."""
    rows = []
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for shape, channel_dim, what, bins in cases(quick):
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(shape, generator=gen).to(device)
            first, times = interleaved_times(implementations(x, bins, channel_dim, gen), device, repeats)
            median = {name: statistics.median(t) for name, t in times.items()}
            row: dict[str, object] = {
                "shape": "x".join(map(str, shape)),
                "data": what,
                "bins": bins,
                "threads": n_threads,
            }
            row.update({f"{name}_ms": median[name] * 1e3 for name in IMPLS})
            row["fused_first_call_s"] = first["fused"]
            quartiles = round_ratio_quartiles(times["fused"], times["copy"])
            row.update(dict(zip(("fused_copy_q1", "fused_copy_median", "fused_copy_q3"), quartiles, strict=True)))
            rows.append(row)
            print(
                f"  {row['shape']:>14} bins {bins:>2} threads {n_threads}: "
                + ", ".join(f"{n} {median[n] * 1e3:.2f} ms" for n in IMPLS),
                flush=True,
            )
    return pd.DataFrame(rows)


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


def measure_memory(device: torch.device, quick: bool) -> pd.DataFrame:
    """Peak extra memory of every implementation but the copy, in multiples of the input's size."""
    rows = []
    for shape, channel_dim, what, bins in cases(quick):
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(shape, generator=gen).to(device)
        input_bytes = x.numel() * x.element_size()
        row: dict[str, object] = {"shape": "x".join(map(str, shape)), "data": what, "bins": bins}
        for name, fn in implementations(x, bins, channel_dim, gen).items():
            if name != "copy":
                fn()  # warm-up: one-time allocations (thread pools, kernels, the compile) are not the op's memory
                row[f"{name}_peak_x_input"] = peak_extra_bytes(fn, device) / input_bytes
        rows.append(row)
    return pd.DataFrame(rows)


COMPILE_PROBE = """
import json, sys, time, torch
from rqbench.augment import fused, randomized_quantization
device = torch.device(sys.argv[1])
def timed(shape, bins):
    x = torch.randn(shape, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    randomized_quantization(x, bins, backend="compiled")
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start
out = {"first_s": timed((256, 3, 32, 32), 8), "graphs_after_first": fused.STATE.graphs_compiled}
out["second_family_s"] = timed((256, 3, 32, 32), 5)
out["new_sizes_s"] = max(timed(shape, 8) for shape in [(64, 3, 32, 32), (8, 3, 224, 224), (100, 3, 28, 28)])
out["graphs_total"] = fused.STATE.graphs_compiled
print(json.dumps(out))
"""


def measure_compile_cost(device: torch.device) -> dict[str, dict[str, float]]:
    """First-call costs of the fused path in fresh processes: an empty kernel cache, then a warm one (the C++
    kernel's build on CPU, inductor's compile on CUDA).

    Each process quantizes (256, 3, 32, 32) at 8 bins (its first build or compile), then at 5 bins (a
    second family), then three other batch/image sizes at 8 bins (which must reuse the first kernel).
    """
    result = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "RQBENCH_CACHE": cache}
        for label in ("empty cache", "warm cache"):
            start = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-c", COMPILE_PROBE, str(device)], env=env, capture_output=True, text=True, check=True
            )
            result[label] = {
                **json.loads(proc.stdout.strip().splitlines()[-1]),
                "process_s": time.perf_counter() - start,
            }
    return result


def _time_rq_calls(modules: Sequence[torch.nn.Module], spent: list[float]) -> None:
    """Wrap each RQ module's ``forward`` so the seconds it takes add up in ``spent[0]``."""
    for module in modules:
        inner = module.forward

        def timed(x: torch.Tensor, inner: Callable[[torch.Tensor], torch.Tensor] = inner) -> torch.Tensor:
            start = time.perf_counter()
            out = inner(x)
            spent[0] += time.perf_counter() - start
            return out

        module.forward = timed


def measure_training(steps: int, warmup: int) -> pd.DataFrame:
    """RQ's share of one quick-preset training step per modality, with the eager and the fused lookup."""
    from rqbench.augment import RandomizedQuantization
    from rqbench.modality import MODALITIES
    from rqbench.runner import make_config
    from rqbench.train.batches import collate
    from rqbench.train.loop import build_method
    from rqbench.train.optim import build_optimizer

    rows: list[dict[str, object]] = []
    for name, method_name, spec in TRAINING:
        try:
            cfg = make_config(name, method_name, spec, "quick", 0)
            modality = MODALITIES.get(name)()
            dataset = modality.pretrain_dataset(cfg.preset)
        except Exception as err:  # a modality whose data is missing here: say so in the table
            rows.append({"modality": name, "spec": spec, "error": f"{type(err).__name__}: {err}"})
            continue
        bs = cfg.preset.batch_size
        row: dict[str, object] = {"modality": name, "spec": spec, "batch": bs}
        for backend in ("eager", "compiled"):
            size = len(cast(Sized, dataset))
            method = build_method(cfg, modality, size)
            optimizer = build_optimizer(method, cfg.preset)
            pipeline = modality.pipeline(cfg.aug, torch.Generator().manual_seed(0), order=cfg.order)
            rqs = [m for m in pipeline.modules() if isinstance(m, RandomizedQuantization)]
            for m in rqs:
                m.backend = backend
            spent = [0.0]
            _time_rq_calls(rqs, spent)
            method.train()
            step_times, rq_times = [], []
            for step in range(warmup + steps):
                idx = torch.arange(step * bs, (step + 1) * bs) % size
                batch = collate(dataset, idx)
                spent[0] = 0.0
                tick = time.perf_counter()
                views = pipeline.views(batch, method.num_views, idx, embed=method.embed)
                loss = method(views)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if step >= warmup:
                    step_times.append(time.perf_counter() - tick)
                    rq_times.append(spent[0])
            label = "eager" if backend == "eager" else "fused"
            row[f"{label}_step_ms"] = statistics.median(step_times) * 1e3
            row[f"{label}_rq_ms"] = statistics.median(rq_times) * 1e3
            row[f"{label}_rq_share"] = row[f"{label}_rq_ms"] / row[f"{label}_step_ms"]  # type: ignore[operator]
        print(f"  {name}: RQ {row['eager_rq_ms']:.2f} ms -> {row['fused_rq_ms']:.2f} ms per step", flush=True)
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(
    df: pd.DataFrame,
    device: torch.device,
    repeats: int,
    compile_cost: dict[str, dict[str, float]] | None,
) -> str:
    """The report: the kernel table and the first-call costs."""

    def row(*cells: object) -> str:
        return "| " + " | ".join(str(c) for c in cells) + " |"

    def header(*names: str) -> list[str]:
        return [row(*names), row(*(["---"] * len(names)))]

    lines = [
        "# Randomized quantization: speed and peak memory",
        "",
        f"Hardware: {hardware()}; device: {device}; commit {git_commit()}; float32.",
        "The four implementations run interleaved in one process; each time is the median of "
        f"{repeats} rounds (after one warm-up call each, which for `fused` includes its compile). "
        "`reference` is the reference's approach (n-fold membership mask, argmax, gather); `eager` and "
        '`fused` are rqbench\'s `backend="eager"` and `backend="compiled"` (same draws, bit-identical '
        "outputs; on CPU `fused` is the C++ kernel, on CUDA the Triton one); `copy` is `x.clone()`. "
        "`fused / copy per round` is the median and interquartile range of the ratio of the two calls of "
        "each round (made moments apart, so a slow spell of the machine cancels). "
        "Peak extra memory is in multiples of the input's size and includes the output.",
        "",
        *header(
            "shape", "data", "bins", "threads", "reference ms", "eager ms", "fused ms", "copy ms",
            "fused vs reference", "fused vs eager", "fused / copy", "fused / copy per round [IQR]",
            "eager peak", "fused peak", "reference peak",
        ),
    ]  # fmt: skip
    for r in df.itertuples():
        lines.append(
            row(
                r.shape, r.data, r.bins, r.threads, f"{r.reference_ms:.2f}", f"{r.eager_ms:.2f}",
                f"{r.fused_ms:.2f}", f"{r.copy_ms:.2f}", f"{r.reference_ms / r.fused_ms:.0f}x faster",
                f"{r.eager_ms / r.fused_ms:.1f}x faster",
                f"{r.fused_ms / r.copy_ms:.1f}x",
                f"{r.fused_copy_median:.1f}x [{r.fused_copy_q1:.1f}, {r.fused_copy_q3:.1f}]",
                f"{r.eager_peak_x_input:.2f}x", f"{r.fused_peak_x_input:.2f}x",
                f"{r.reference_peak_x_input:.2f}x",
            )
        )  # fmt: skip
    slower = df[df["fused_ms"] > df["eager_ms"]]
    where = ", ".join(f"{r.shape} bins {r.bins} threads {r.threads}" for r in slower.itertuples())
    lines += [
        "",
        f"Fused is faster than eager in {len(df) - len(slower)} of {len(df)} rows"
        + (f" (not in {where})" if where else "")
        + '. On CPU `backend="auto"` takes the C++ kernel from the first call for float32/float64 and '
        f"1..{native.MAX_BINS} bins (built once per machine, at install); on CUDA it takes the compiled kernel for "
        f"inputs of at least {fused.MIN_FUSED_NUMEL} elements and 2..{fused.MAX_FUSED_BINS} bins once eager has "
        f"quantized {fused.AUTO_COMPILE_AFTER_ELEMENTS['cuda']:.0e} elements of that family in the process, so a run "
        "pays the compile only once it has spent about as much in eager lookups.",
    ]  # fmt: skip
    if compile_cost:
        lines += [
            "",
            "## First-call cost of the fused path",
            "",
            "Fresh processes; (256, 3, 32, 32) at 8 bins first, then 5 bins (a second family), then three other "
            "batch and image sizes at 8 bins. On CPU the first call builds the C++ kernel (empty cache) or loads it "
            "(warm cache), and nothing is compiled after; on CUDA `graphs` counts the graphs inductor compiled: the "
            "new sizes compile nothing.",
            "",
            *header("kernel cache", "first call s", "second family s", "new sizes (max) s",
                    "graphs: after first / total", "whole process s"),
        ]  # fmt: skip
        for label, c in compile_cost.items():
            lines.append(
                row(
                    label, f"{c['first_s']:.1f}", f"{c['second_family_s']:.1f}", f"{c['new_sizes_s']:.3f}",
                    f"{c['graphs_after_first']:.0f} / {c['graphs_total']:.0f}", f"{c['process_s']:.1f}",
                )
            )  # fmt: skip
    return "\n".join(lines) + "\n"


def training_markdown(training: pd.DataFrame, steps: int) -> str:
    """The report of :func:`measure_training`."""

    def row(*cells: object) -> str:
        return "| " + " | ".join(str(c) for c in cells) + " |"

    names = ("modality", "spec", "batch", "step ms (eager)", "RQ ms (eager)", "RQ share (eager)", "step ms (fused)",
             "RQ ms (fused)", "RQ share (fused)")  # fmt: skip
    lines = [
        "# RQ's share of one quick-preset training step",
        "",
        f"Hardware: {hardware()}; commit {git_commit()}. One pretraining step per modality (views, loss, backward, "
        f"optimizer step) at {torch.get_num_threads()} thread(s), median of {steps} steps after 2 warm-up steps; "
        "RQ is the time spent in the RQ module (both views), with the eager lookup, then with the fused one "
        '(`backend="compiled"`, compiled in the warm-up).',
        "",
        row(*names),
        row(*(["---"] * len(names))),
    ]
    for t in training.to_dict("records"):
        if isinstance(t.get("error"), str):
            lines.append(row(t["modality"], f"`{t['spec']}`", f"not run: {t['error']}", "", "", "", "", "", ""))
            continue
        lines.append(
            row(
                t["modality"], f"`{t['spec']}`", t["batch"], f"{t['eager_step_ms']:.1f}", f"{t['eager_rq_ms']:.2f}",
                f"{t['eager_rq_share']:.1%}", f"{t['fused_step_ms']:.1f}", f"{t['fused_rq_ms']:.2f}",
                f"{t['fused_rq_share']:.1%}",
            )
        )  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=sorted({1, torch.get_num_threads()}), help="thread counts to time at"
    )
    parser.add_argument(
        "--quick", action="store_true", help="two shapes, bins 8 only, no compile-cost or training runs"
    )
    parser.add_argument("--training-steps", type=int, default=9, help="timed steps per modality (0: no training)")
    parser.add_argument("--training-threads", type=int, default=1, help="threads for the training steps")
    parser.add_argument("--training-only", action="store_true", help="only the training-step shares")
    parser.add_argument("--out", default="results/benchmarks", help="folder for rq_speed.md/.csv ('' to skip)")
    parser.add_argument("--measure-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.measure_memory:
        print(measure_memory(device, args.quick).to_json())
        return
    threads = torch.get_num_threads()
    suffix = "" if device.type == "cpu" else f"_{device.type}"
    if not args.training_only:
        print("timing (interleaved, median of rounds):", flush=True)
        timed = measure_times(device, args.threads, args.repeats, args.quick)
        torch.set_num_threads(threads)
        if device.type == "cuda":
            memory = measure_memory(device, args.quick)
        else:
            env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}  # every large buffer is its own mapping
            cmd = [sys.executable, __file__, "--measure-memory", "--device", str(device)]
            cmd += ["--quick"] if args.quick else []
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            memory = pd.read_json(io.StringIO(out))
        df = timed.merge(memory, on=["shape", "data", "bins"])
        compile_cost = None if args.quick else measure_compile_cost(device)
        text = to_markdown(df, device, args.repeats, compile_cost)
        print(text)
        if args.out:
            write_atomic(Path(args.out) / f"rq_speed{suffix}.md", text)
            write_atomic(Path(args.out) / f"rq_speed{suffix}.csv", df.to_csv(index=False))
    if not args.quick and args.training_steps > 0 and device.type == "cpu":
        print("training steps:", flush=True)
        torch.set_num_threads(args.training_threads)
        training = measure_training(args.training_steps, warmup=2)
        text = training_markdown(training, args.training_steps)
        print(text)
        if args.out:
            write_atomic(Path(args.out) / "rq_speed_training.md", text)
            write_atomic(Path(args.out) / "rq_speed_training.csv", training.to_csv(index=False))


if __name__ == "__main__":
    main()

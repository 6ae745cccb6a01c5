"""How much the offline audio corpora's log-mels look like recorded audio to RQ (issue 18).

Run: ``python benchmarks/audio_standin.py --label before|after`` (writes
``results/benchmarks/audio_standin_<label>.csv`` and renders every label found there into
``results/benchmarks/audio_standin.md``).

RQ's bins span each spectrogram's minimum to its maximum (one channel: the whole ``64 x T``
log-mel). Digital silence and zero padding give frames at ``log(eps)`` (about -15.94), far
below any recorded sound; they set the minimum, and the actual sound is squeezed into the top
bins. Per task of the ``quick`` preset (its corpora, training split, every clip) this measures:

* **silent frames**: the share of log-mel frames (time steps) whose *largest* value over the 64
  mel bands is within 1 nat of ``log(eps)`` (``max <= log(eps) + 1``): digital silence and
  padding. Measured on the inputs the network gets: one random 0.95 s pretraining crop per clip
  (:class:`~modalities.audio.data.PretrainCrops`, torch seeded with ``--seed``) and the
  evaluation window of the task (:class:`~modalities.audio.data.EvalClips`, the preset's
  ``eval_seconds``);
* **values near log(eps)**: the share of all log-mel values of the crops within 1 nat of ``log(eps)``;
* **bins occupied**: RQ as the audio tables apply it (``rq(bins=5)``, random edges and values, the
  whole spectrogram one channel: :func:`rqbench.augment.functional.randomized_quantization` on
  ``(B, 1, 64, 96)`` with ``channel_dim=1`` and a ``torch.Generator`` seeded with ``--seed``)
  is drawn ``--draws`` times per crop; for each draw, the number of the 5 bins that hold at
  least one value of a *non-silent* frame (a bin's values are its reproduction value, so this
  is the number of distinct output values there), averaged over crops and draws;
* **effective bins**: ``exp`` of the entropy of the non-silent values' shares over the bins
  (5 when they spread evenly, 1 when they all share one bin), and **largest bin**: the share of
  the non-silent values in the most populated bin; both averaged the same way;
* **active frames**: the frames whose mean log-mel is within 20 dB (``ln 100`` = 4.6 nats) of the
  crop's loudest frame, a level-relative voice-activity rule that treats digital silence and a
  noise floor alike (neither is active); the same three bin figures over the values of the
  active frames tell how RQ's bins cover the *sound*, whatever lies below it (the non-silent
  figures above count a noise floor as non-silent);
* **range**: the median over crops of ``max - min`` of the crop's log-mel (nats).

The pre-normalization is affine, so none of these depend on it.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

# Measure the corpora of the code beside this script (``python benchmarks/...`` puts only
# benchmarks/ on the path, so an installed checkout elsewhere would be measured instead).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modalities.audio.data import ClipStore, EvalClips, NormStats, PretrainCrops
from modalities.audio.features import LOG_EPS, log_mel
from modalities.audio.modality import load_task_corpus
from modalities.audio.presets import PRESETS, TASKS
from rqbench.augment.functional import randomized_quantization
from rqbench.io import write_atomic
from rqbench.provenance import git_commit, hardware

BINS = 5
#: A frame (or value) within this many nats of ``log(eps)`` counts as silent.
NEAR = 1.0
#: A frame whose mean log-mel is within this many nats (20 dB) of the crop's loudest frame is active.
ACTIVE = math.log(100.0)
COLUMNS = {
    "silent_crop": "silent frames, crops",
    "silent_eval": "silent frames, eval windows",
    "near_values": "values near log(eps), crops",
    "bins_occupied": "bins occupied (of 5)",
    "effective_bins": "effective bins",
    "largest_bin": "largest bin",
    "active": "active frames, crops",
    "active_effective_bins": "effective bins, active frames",
    "active_largest_bin": "largest bin, active frames",
    "range": "range (nats)",
}


def silent_frames(spec: torch.Tensor) -> torch.Tensor:
    """``(..., T)`` bool: the frames of a log-mel ``(..., n_mels, T)`` whose largest value is within
    ``NEAR`` of log(eps)."""
    return spec.amax(dim=-2) <= LOG_EPS + NEAR


def active_frames(spec: torch.Tensor) -> torch.Tensor:
    """``(..., T)`` bool: the frames of log-mels ``(..., n_mels, T)`` whose mean is within ``ACTIVE`` of
    the loudest frame's mean (per spectrogram)."""
    level = spec.mean(dim=-2)
    return level >= level.amax(dim=-1, keepdim=True) - ACTIVE


def bin_usage(q: torch.Tensor, keep: torch.Tensor) -> tuple[int, float, float]:
    """(bins occupied, effective bins, largest bin share) of one quantized log-mel ``q`` ``(1, F, T)``
    over its frames ``keep`` ``(T,)``; ``(0, 0, 0)`` when no frame is kept."""
    values = q[..., keep].reshape(-1)
    if values.numel() == 0:
        return 0, 0.0, 0.0
    _, counts = torch.unique(values, return_counts=True)
    share = counts.double() / counts.sum()
    entropy = float(-(share * share.log()).sum())
    return len(counts), math.exp(entropy), float(share.max())


def measure_task(task: str, preset: str, seed: int, draws: int) -> dict[str, float | int | str]:
    """The figures of the module docstring for one task of ``preset``."""
    data = PRESETS[preset].data
    corpus = load_task_corpus(task, data)
    store = ClipStore(corpus.train)
    crops_data = PretrainCrops(store, NormStats(0.0, 1.0))
    torch.manual_seed(seed)
    crops = torch.stack([log_mel(crops_data.wave(i)) for i in range(len(crops_data))])  # (N, 1, 64, 96)
    evals = EvalClips(store, corpus.labels("train"), data["eval_seconds"][task], NormStats(0.0, 1.0))
    silent_eval = torch.cat([silent_frames(log_mel(evals.wave(i))).reshape(-1) for i in range(len(evals))])
    occupied, effective, largest = usage(crops, seed, draws)
    active = active_frames(crops)
    _, active_effective, active_largest = usage(crops, seed, draws, active)
    span = crops.flatten(1)
    return {
        "task": task,
        "corpus": TASKS[task][0],
        "clips": len(crops_data),
        "silent_crop": float(silent_frames(crops).float().mean()),
        "silent_eval": float(silent_eval.float().mean()),
        "near_values": float((crops <= LOG_EPS + NEAR).float().mean()),
        "bins_occupied": occupied,
        "effective_bins": effective,
        "largest_bin": largest,
        "active": float(active.float().mean()),
        "active_effective_bins": active_effective,
        "active_largest_bin": active_largest,
        "range": float((span.amax(1) - span.amin(1)).median()),
    }


def usage(crops: torch.Tensor, seed: int, draws: int, keep: torch.Tensor | None = None) -> tuple[float, float, float]:
    """Mean (bins occupied, effective bins, largest bin share) of RQ on log-mels ``(N, 1, F, T)``
    over the frames ``keep`` ``(N, 1, T)`` (default: the non-silent ones), ``draws`` draws each."""
    keep = ~silent_frames(crops) if keep is None else keep
    gen = torch.Generator().manual_seed(seed)
    found = []
    for _ in range(draws):
        q = randomized_quantization(crops, BINS, channel_dim=1, generator=gen, backend="eager")
        found += [bin_usage(q[i], keep[i, 0]) for i in range(len(q)) if bool(keep[i].any())]
    occupied, effective, largest = (np.array(u, dtype=np.float64) for u in zip(*found, strict=True))
    return float(occupied.mean()), float(effective.mean()), float(largest.mean())


def reference(seed: int, draws: int, n: int = 1000) -> dict[str, float | int | str]:
    """The same bin figures for i.i.d. uniform values: the most even use RQ's random edges allow."""
    crops = torch.rand(n, 1, 64, 96, generator=torch.Generator().manual_seed(seed))
    occupied, effective, largest = usage(crops, seed, draws)
    return {
        "task": "reference: uniform values",
        "corpus": "-",
        "clips": n,
        "bins_occupied": occupied,
        "effective_bins": effective,
        "largest_bin": largest,
        "active_effective_bins": effective,  # every frame is active
        "active_largest_bin": largest,
    }


def measure(preset: str, seed: int, draws: int, tasks: list[str]) -> pd.DataFrame:
    """One row per task, then the uniform reference."""
    return pd.DataFrame([*(measure_task(t, preset, seed, draws) for t in tasks), reference(seed, draws)])


def _cell(column: str, value: float) -> str:
    if column in ("silent_crop", "silent_eval", "near_values", "largest_bin", "active", "active_largest_bin"):
        return f"{100 * value:.1f} %"
    return f"{value:.2f}"


def to_markdown(tables: dict[str, pd.DataFrame], notes: dict[str, str]) -> str:
    """Every label's figures side by side per task (labels in the order given)."""
    labels = list(tables)
    lines = [
        "# Stand-in audio as RQ sees it: silence and bin use (audio, quick corpora)",
        "",
        "Produced by `benchmarks/audio_standin.py` (definitions in its docstring): per task, the training",
        f"split's clips; a frame is silent when its largest log-mel value is within {NEAR:g} nat of",
        f"log(eps) = {LOG_EPS:.2f}; bins are those of `rq(bins={BINS})` on the whole 0.95 s crop, counted over",
        "the values of non-silent frames.",
        "",
    ]
    lines += [f"* **{label}**: {notes.get(label, '')}" for label in labels]
    lines += ["", "| task | figure | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    tasks = list(dict.fromkeys(t for df in tables.values() for t in df["task"]))
    for task in tasks:
        rows = {
            label: df.set_index("task").loc[task] if task in set(df["task"]) else None for label, df in tables.items()
        }
        clips = " | ".join(str(int(r["clips"])) if r is not None else "-" for r in rows.values())
        lines.append(f"| {task} | clips | {clips} |")
        for column, title in COLUMNS.items():
            cells = [
                _cell(column, float(r[column])) if r is not None and pd.notna(r.get(column)) else "-"
                for r in rows.values()
            ]
            lines.append(f"| | {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _short(commit: str) -> str:
    """A commit hash cut to 12 digits, keeping its ``-dirty`` mark."""
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", required=True, help="name of this measurement (before, after)")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=4, help="RQ draws per crop")
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--code", default="", help="which code was measured, if not this checkout's commit")
    parser.add_argument("--out", default="results/benchmarks", help="folder for audio_standin*.md/.csv")
    args = parser.parse_args()
    torch.set_num_threads(1)
    df = measure(args.preset, args.seed, args.draws, args.tasks)
    out = Path(args.out)
    note = (
        f"{args.code or 'commit ' + _short(git_commit())}, {hardware()}; preset {args.preset}, seed {args.seed}, "
        f"{args.draws} RQ draws per crop"
    )
    write_atomic(out / f"audio_standin_{args.label}.csv", df.to_csv(index=False))
    write_atomic(out / f"audio_standin_{args.label}.txt", note + "\n")
    found = sorted(out.glob("audio_standin_*.csv"), key=lambda p: (p.stem != "audio_standin_before", p.stem))
    tables = {p.stem.removeprefix("audio_standin_"): pd.read_csv(p) for p in found}
    notes = {
        label: (out / f"audio_standin_{label}.txt").read_text().strip()
        for label in tables
        if (out / f"audio_standin_{label}.txt").is_file()
    }
    text = to_markdown(tables, notes)
    print(text)
    write_atomic(out / "audio_standin.md", text)


if __name__ == "__main__":
    main()

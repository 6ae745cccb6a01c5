"""Evaluation time of one run, before and after an evaluation-settings change, on the same encoder.

Run: ``python benchmarks/eval_cost.py images --before data.eval_test_samples=2000 eval.label_draws=1``
(appends a section to ``results/benchmarks/eval_cost.md``).

A seeded random encoder of the modality's preset (the scratch row's) is evaluated with the
preset as it is ("after") and with the ``--before`` overrides ("before"), alternating, ``--repeats``
times each; the median wall time of ``evaluate_encoder`` and the rows' values are reported, with
the thread count and the machine. Feature extraction, probes and kNN are all inside the timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from rqbench.evaluate.protocol import evaluate_encoder
from rqbench.io import write_atomic
from rqbench.modality import MODALITIES
from rqbench.preset import Preset
from rqbench.provenance import git_commit, hardware
from rqbench.train.seed import seed_everything


def _overrides(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--before expects key=value, got {item!r}")
        try:  # numbers, null, true/false as JSON; anything else stays a string
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _time(modality_name: str, preset: Preset, seed: int) -> tuple[float, list[dict[str, object]]]:
    modality = MODALITIES.get(modality_name)()
    seed_everything(seed)
    encoder, dim = modality.backbone(preset)
    began = time.perf_counter()
    rows = evaluate_encoder(encoder, dim, modality, preset, seed, torch.device("cpu"))
    return time.perf_counter() - began, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modality")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--before", nargs="+", required=True, help="overrides giving the old settings")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/benchmarks/eval_cost.md"))
    args = parser.parse_args()
    modality = MODALITIES.get(args.modality)()
    after = modality.preset(args.preset)
    before = after.with_overrides(**_overrides(args.before))
    times: dict[str, list[float]] = {"before": [], "after": []}
    values: dict[str, list[dict[str, object]]] = {}
    for _ in range(args.repeats):
        for name, preset in (("before", before), ("after", after)):
            took, rows = _time(args.modality, preset, args.seed)
            times[name].append(took)
            values[name] = rows
    lines = [
        f"## {args.modality} ({args.preset}): evaluation of a seeded random encoder",
        "",
        f"before = the preset with {' '.join(args.before)}; after = the preset. "
        f"Median of {args.repeats} (alternating); torch threads {torch.get_num_threads()}; "
        f"{hardware()}; commit {git_commit()}.",
        "",
        "| settings | eval wall time (s) | rows (dataset protocol fraction metric = value) |",
        "|:---|---:|:---|",
    ]
    for name in ("before", "after"):
        shown = "; ".join(
            f"{r['dataset']} {r['protocol']} {r['label_fraction']:g} {r['metric']} = {float(r['value']):.2f}"  # type: ignore[arg-type]
            for r in values[name]
        )
        lines.append(f"| {name} | {statistics.median(times[name]):.1f} | {shown} |")
    text = "\n".join(lines) + "\n\n"
    old = args.out.read_text() if args.out.exists() else "# Evaluation cost before and after evaluation changes\n\n"
    write_atomic(args.out, old + text)
    print(text)


if __name__ == "__main__":
    main()

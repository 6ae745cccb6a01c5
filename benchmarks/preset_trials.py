"""Trial runs of a quick preset: does the table's *baseline* pretraining beat the random-init encoder?

Run from the repository root (so that its ``rqbench`` is imported):
``python -m benchmarks.preset_trials table10 --results /work/trials --set epochs=6 --set eval.cv_folds=5``

For a paper table, the baseline row (:data:`PAIRS`: e-Mix for Table 10, MID-Net without RQ for
Tables 6 and 7, BYOL-A's RRC alone for Table 9) and its random-init ("scratch") row are run over
``--seeds`` with the ``--set`` preset overrides added to every run (the table's own row and column
overrides win), through :func:`rqbench.runner.run` into ``--results``: a finished run is skipped,
so the script resumes, and a run whose pretraining already finished under other evaluation
settings is only re-scored. RQ rows are never run: presets are chosen on baseline vs random init.

Printed per column (task / domain / label fraction) and protocol: the scratch and baseline means
and the paired difference baseline - scratch over the common seeds (same seed = same
initialization, data order and label subsets) with its 95 % t interval
(:func:`rqbench.stats.mean_se`, :func:`rqbench.stats.t_interval`); then the mean time per run
(``done.json``'s wall time; a re-scored run adds its source's ``pretrain_s``) and the table's
estimated CPU time at 3 seeds: every run of ``runs_for(table, 3)`` costed as the measured baseline
(pretrained rows: RQ and mixup rows are assumed to cost about the same) or scratch run of its
column. Use ``OMP_NUM_THREADS=1`` so the times are one core's.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rqbench.cli import parse_overrides
from rqbench.config import RunConfig
from rqbench.runner import Workspace, make_config, run
from rqbench.stats import mean_se, t_interval
from rqbench.tables import TABLES, runs_for
from rqbench.tables.spec import CellSpec, RunRequest, TableSpec

PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "table10": (("e-Mix", "Scratch"),),
    "table6": (("MID-Net (lin)", "Scratch (lin)"), ("MID-Net (ft)", "Scratch (ft)")),
    "table7": (("MID-Net (lin)", "Scratch (lin)"), ("MID-Net (ft)", "Scratch (ft)")),
    "table9": (("none (RRC only)", "scratch (random init)"),),
}
"""Per table, (baseline row, random-init row) pairs compared (row labels of :mod:`rqbench.tables.paper_tables`)."""


def config_of(request: RunRequest, sets: dict[str, object]) -> RunConfig:
    """The run config of a table's run request with the trial's overrides (the table's own overrides win)."""
    overrides = {**sets, **dict(request.overrides)}
    return make_config(
        request.modality, request.method, request.aug, "quick", request.seed, request.pretrain, **overrides
    )


def run_cost_s(workspace: Workspace, cfg: RunConfig) -> float:
    """Seconds a finished run took: its wall time, plus its source's pretraining when it was only re-scored."""
    done = json.loads((workspace.run_dir(cfg) / "done.json").read_text())
    extra = done.get("pretrain_s") if done.get("pretrained_in") else 0.0
    return float(done["wall_time_s"]) + float(extra or 0.0)


def cell_value(rows: pd.DataFrame, cell: CellSpec, protocol: str | None) -> float:
    """The mean of the result rows that fill ``cell`` (read with ``protocol`` instead of its own when given)."""
    filters = cell.filters()
    if protocol is not None:
        filters["protocol"] = protocol
    mask = np.ones(len(rows), dtype=bool)
    for key, value in filters.items():
        if key in rows.columns:
            mask &= (rows[key] == value).to_numpy()
    if not mask.any():
        raise SystemExit(f"no result rows for cell {cell.key} with {filters}")
    return float(rows.loc[mask, "value"].mean())


def interval(diffs: Sequence[float]) -> tuple[float, float, float]:
    """Mean and 95 % t interval of paired differences."""
    mean, se, df = mean_se(np.asarray(diffs, dtype=np.float64))
    lo, hi = t_interval(mean, se, df)
    return float(mean), float(lo), float(hi)


def trial(
    table: TableSpec,
    sets: dict[str, object],
    seeds: Iterable[int],
    workspace: Workspace,
    columns: Sequence[str] = (),
    protocols: Sequence[str | None] = (None,),
    rows: Sequence[str] = (),
) -> None:
    """Run the baseline and scratch cells of ``table`` over ``seeds`` and print the paired differences
    (only the ``columns`` and the pairs whose baseline row is in ``rows``, when given)."""
    seeds = list(seeds)
    pairs = [p for p in PAIRS[table.name] if not rows or p[0] in rows]
    cols = [c for c in table.columns if not c.is_average and (not columns or c.label in columns)]
    cells = [(table.cell(b, c.label), table.cell(s, c.label)) for b, s in pairs for c in cols]
    # each run with its column's overrides (a DABS domain), which key its cost
    requests = {
        cell.run.with_seed(seed): cell.column.overrides
        for seed in seeds
        for pair in cells
        for cell in pair
        if cell.run is not None
    }
    costs: dict[tuple[bool, tuple[Any, ...]], list[float]] = {}
    results: dict[RunRequest, pd.DataFrame] = {}
    for i, (request, column_overrides) in enumerate(requests.items(), 1):
        cfg = config_of(request, sets)
        print(
            f"[{i}/{len(requests)}] {request.method} {request.aug} {dict(request.overrides)} seed {request.seed}",
            flush=True,
        )
        results[request] = run(cfg, workspace, progress=False)
        costs.setdefault((request.pretrain, column_overrides), []).append(run_cost_s(workspace, cfg))
    print(f"\n{table.name} quick + {sets or 'no overrides'}; seeds {seeds}")
    print("| pair | column | protocol | n | scratch | baseline | baseline - scratch [95 %] |")
    print("|:--|:--|:--|--:|--:|--:|:--|")
    for base, scratch in cells:
        assert base.run is not None and scratch.run is not None
        for protocol in protocols:
            b = [cell_value(results[base.run.with_seed(s)], base, protocol) for s in seeds]
            r = [cell_value(results[scratch.run.with_seed(s)], scratch, protocol) for s in seeds]
            mean, lo, hi = interval([x - y for x, y in zip(b, r)])
            shown = protocol or (base.evaluation.protocol if base.evaluation else "")
            print(
                f"| {base.row.label} | {base.column.label} | {shown} | {len(seeds)} | {statistics.fmean(r):.2f} | "
                f"{statistics.fmean(b):.2f} | {mean:+.2f} [{lo:+.2f}, {hi:+.2f}] |"
            )
    print("\nseconds per run (mean over seeds):")
    for (pretrain, overrides), values in costs.items():
        print(f"  {'pretrained' if pretrain else 'scratch'} {dict(overrides)}: {statistics.fmean(values):.1f}")
    print(f"estimated CPU time of {table.name} at 3 seeds: {table_cost_s(table, costs) / 3600:.2f} h")


def table_cost_s(table: TableSpec, costs: dict[tuple[bool, tuple[Any, ...]], list[float]]) -> float:
    """Seconds of every run of ``runs_for(table, 3)``, each costed as the mean measured run of its kind
    (``costs`` keys: pretrained or not, the column's overrides) whose column overrides it has."""
    total = 0.0
    for request in runs_for(table, 3):
        mine = set(request.overrides)
        matches = [
            v for (pretrain, overrides), v in costs.items() if pretrain == request.pretrain and set(overrides) <= mine
        ]
        if not matches:
            raise SystemExit(f"no measured run like {request}: run its column first")
        total += statistics.fmean(x for v in matches for x in v)
    return total


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and run the trial."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("table", choices=sorted(PAIRS))
    parser.add_argument("--results", type=Path, required=True, help="scratch results directory (runs/, results.csv)")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="preset override key=value")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--columns", nargs="*", default=[], help="only these column labels")
    parser.add_argument(
        "--protocols", nargs="*", default=[], help="read the cells with these protocols too (e.g. knn beside linear)"
    )
    parser.add_argument("--rows", nargs="*", default=[], help="only the pairs of these baseline rows")
    args = parser.parse_args(argv)
    table = TABLES.get(args.table)
    protocols: list[str | None] = [None, *args.protocols]
    trial(table, parse_overrides(args.sets), args.seeds, Workspace(args.results), args.columns, protocols, args.rows)


if __name__ == "__main__":
    main()

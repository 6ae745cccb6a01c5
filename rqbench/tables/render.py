"""Render a :class:`~rqbench.tables.spec.TableSpec` from result rows, the paper's numbers beside ours.

Each cell is the mean ± sample standard deviation (``ddof=1``) over seeds of the result
rows that the cell selects, with the number of seeds; a cell with no result rows is
missing ("—"), never imputed. Outputs: Markdown, long-format CSV, LaTeX, and for figures
(Figure 5) a PNG.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rqbench.augment.spec import SpecError, parse_spec
from rqbench.io import write_atomic
from rqbench.results import CELL_COLUMNS
from rqbench.tables.paper_numbers import format_paper_value, paper_table
from rqbench.tables.spec import SCRATCH_METHOD, CellSpec, TableSpec

MISSING = "—"
"""How a missing cell is shown."""

CSV_COLUMNS = ("row", "column", "ours_mean", "ours_std", "n_seeds", "paper")
"""Columns of :meth:`RenderedTable.to_csv` (long format, one line per cell)."""

REQUIRED_COLUMNS = CELL_COLUMNS
"""Result columns :func:`render` needs (the other result columns are optional here)."""


@dataclass(frozen=True, eq=False)
class RenderedTable:
    """A table filled from results.

    Attributes:
        table: the spec.
        preset: the preset whose results fill it.
        caption: the scale statement printed with the table.
        cells: one row per cell: ``row, column, ours_mean, ours_std, n_seeds, paper``
            (``ours_mean`` NaN and ``n_seeds`` 0 when missing; ``ours_std`` NaN below 2 seeds;
            ``paper`` ``None`` when the paper gives no number).
        per_seed: the values behind the cells: ``row, column, seed, value``.
        decimals: decimals of our numbers in Markdown and LaTeX.
    """

    table: TableSpec
    preset: str
    caption: str
    cells: pd.DataFrame
    per_seed: pd.DataFrame
    decimals: int = 2

    @property
    def max_seeds(self) -> int:
        """The largest number of seeds of any cell (0 when nothing was measured)."""
        return int(self.cells["n_seeds"].max()) if len(self.cells) else 0

    def _cell(self, row: str, column: str) -> pd.Series:
        hit = self.cells[(self.cells["row"] == row) & (self.cells["column"] == column)]
        if hit.empty:
            raise KeyError(f"{self.table.name} has no cell ({row!r}, {column!r})")
        return hit.iloc[0]

    def ours_text(self, row: str, column: str) -> str:
        """Our cell as shown: ``11.00 ± 1.00``; ``(n=k)`` added when it has fewer seeds than the
        table's most (always for one seed); ``—`` when missing."""
        cell = self._cell(row, column)
        n = int(cell["n_seeds"])
        if n == 0:
            return MISSING
        text = f"{cell['ours_mean']:.{self.decimals}f}"
        if n >= 2:
            text += f" ± {cell['ours_std']:.{self.decimals}f}"
        if n == 1 or n < self.max_seeds:
            text += f" (n={n})"
        return text

    def paper_text(self, row: str, column: str) -> str:
        """The paper's cell as printed, ``—`` when it has none."""
        return format_paper_value(self._cell(row, column)["paper"])

    def _has_paper(self) -> list[bool]:
        return [c.paper_column is not None for c in self.table.columns]

    def frame(self) -> pd.DataFrame:
        """The display table: one row per table row; per column ``LABEL (rqbench)`` and, where
        the paper has that column, ``LABEL (paper)`` (a table of our own: ``LABEL`` alone)."""
        data: dict[str, list[str]] = {}
        ours = " (rqbench)" if self.table.paper_table is not None else ""
        for col, has_paper in zip(self.table.columns, self._has_paper(), strict=True):
            data[f"{col.label}{ours}"] = [self.ours_text(r.label, col.label) for r in self.table.rows]
            if has_paper:
                data[f"{col.label} (paper)"] = [self.paper_text(r.label, col.label) for r in self.table.rows]
        frame = pd.DataFrame(data, index=pd.Index([r.label for r in self.table.rows], name=self.table.row_header))
        return frame

    def legend(self) -> str:
        """The line that explains the cells."""
        n = self.max_seeds
        over = f"over {n} seed{'s' if n != 1 else ''}" if n else "over seeds"
        paper = "paper: the published number. " if self.table.paper_table is not None else ""
        return (
            f"rqbench: mean ± sample std (ddof=1) {over}; (n=k) marks a cell with fewer seeds. "
            f"{paper}{MISSING}: missing (not run, or not reported)."
        )

    def notes(self) -> list[str]:
        """The table's notes and the paper table's transcription notes."""
        notes = list(self.table.notes)
        if self.table.paper_table is not None:
            notes += [n for n in paper_table(self.table.paper_table).notes if n not in notes]
        return notes

    def to_markdown(self) -> str:
        """A Markdown pipe table with a caption line, a legend and notes."""
        frame = self.frame()
        header = [frame.index.name or "", *frame.columns]
        lines = [
            f"**{_md(self.table.title)}**",
            "",
            _md(self.caption),
            "",
            "| " + " | ".join(_md(h) for h in header) + " |",
            "|" + "|".join([":---"] + ["---:"] * len(frame.columns)) + "|",
        ]
        for label, values in frame.iterrows():
            lines.append("| " + " | ".join(_md(str(v)) for v in (label, *values)) + " |")
        lines += ["", _md(self.legend())]
        lines += [f"Note: {_md(n)}" for n in self.notes()]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """Long format, one line per cell: ``row,column,ours_mean,ours_std,n_seeds,paper``."""
        text: str = self.cells[list(CSV_COLUMNS)].to_csv(index=False, lineterminator="\n")
        return text

    def to_latex(self) -> str:
        """A ``table`` environment with a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``)."""
        frame = self.frame()
        header = [frame.index.name or "", *frame.columns]
        lines = [
            "\\begin{table}[t]",
            "\\centering",
            "\\begin{tabular}{l" + "r" * len(frame.columns) + "}",
            "\\toprule",
            " & ".join(_tex(h) for h in header) + " \\\\",
            "\\midrule",
        ]
        for label, values in frame.iterrows():
            lines.append(" & ".join(_tex(str(v)) for v in (label, *values)) + " \\\\")
        lines += [
            "\\bottomrule",
            "\\end{tabular}",
            f"\\caption{{{_tex(self.table.title)}. {_tex(self.caption)} {_tex(self.legend())}}}",
            f"\\label{{tab:rqbench-{self.table.name}}}",
            "\\end{table}",
        ]
        return "\n".join(lines) + "\n"

    def write(self, directory: str | os.PathLike[str], stem: str | None = None) -> dict[str, Path]:
        """Write ``STEM.md``, ``STEM.csv`` and ``STEM.tex`` atomically into ``directory``."""
        base = Path(directory) / (stem or f"{self.table.name}_{self.preset}")
        out = {}
        for ext, text in (("md", self.to_markdown()), ("csv", self.to_csv()), ("tex", self.to_latex())):
            out[ext] = write_atomic(base.with_suffix(f".{ext}"), text)
        return out


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_TEX = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "—": "---", "–": "--", "✓": r"\checkmark{}", "✗": r"$\times$",
}  # fmt: skip


def _tex(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def _canonical(aug: object) -> object:
    try:
        return str(parse_spec(aug)) if isinstance(aug, str) else aug
    except SpecError:
        return aug


def _prepare(results: pd.DataFrame | None, table: TableSpec, preset: str) -> pd.DataFrame:
    """The result rows of the table's modality and ``preset``, with canonical aug specs."""
    if results is None or len(results) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in REQUIRED_COLUMNS})
    needed = set(REQUIRED_COLUMNS) | {k for c in table.cells() for k in c.filters()}
    missing = sorted(needed - set(results.columns))
    if missing:
        raise ValueError(
            f"results lack the columns {missing} needed by {table.name}; they have {list(results.columns)}"
        )
    data = results[(results["modality"] == table.modality) & (results["preset"] == preset)]
    data = data[data["value"].notna()].copy()
    data["aug"] = data["aug"].map({a: _canonical(a) for a in data["aug"].unique()})
    return data


def _rows_of(data: pd.DataFrame, cell: CellSpec) -> pd.DataFrame:
    """The result rows one measured cell selects (label fractions compared with a tolerance)."""
    mask = pd.Series(True, index=data.index)
    for key, want in cell.filters().items():
        if key == "label_fraction":
            mask &= np.isclose(data[key].astype(float), float(want))
        else:
            mask &= data[key] == want
    return data[mask]


def _select(data: pd.DataFrame, cell: CellSpec, table: TableSpec) -> tuple[pd.DataFrame, pd.Series]:
    """The rows one measured cell uses and its seed -> value; a seed measured twice keeps its last row
    (only that row is used)."""
    hit = _rows_of(data, cell)
    if cell.evaluation is not None and cell.evaluation.dataset is None and hit["dataset"].nunique() > 1:
        raise ValueError(
            f"{table.name} cell {cell.key}: results from several datasets {sorted(hit['dataset'].unique())}; "
            f"pass results of one evaluation dataset or set the column's dataset"
        )
    kept = hit.groupby("seed", sort=True).tail(1)
    return kept, kept.set_index("seed")["value"].sort_index().astype(float)


def environments(used: pd.DataFrame) -> str:
    """'' when the rows share one package environment (``env``); else which environments and how many rows each."""
    if "env" not in used:
        return ""
    counts = used["env"].fillna("").astype(str).value_counts()
    if len(counts) < 2:
        return ""
    return (
        " (rows from several package environments: "
        + ", ".join(f"{env or 'unrecorded'} {n} rows" for env, n in sorted(counts.items()))
        + ")"
    )


def default_caption(table: TableSpec, preset: str, used: pd.DataFrame, preset_hash: str | None = None) -> str:
    """State the preset (with its hash when given) and the scale from the result rows used (datasets,
    backbones, epochs)."""
    setting = paper_table(table.paper_table).setting if table.paper_table is not None else ""
    if not table.runs():
        return f"Paper only ({setting}): rqbench has no runs for this table." if setting else "Paper only."
    if preset_hash:
        preset = f"{preset} [{preset_hash}]"
    if used.empty:
        scale = f"{preset} preset: no results yet"
    else:
        parts = [", ".join(map(str, sorted(used["dataset"].dropna().unique())))]
        if "backbone" in used:
            parts.append(", ".join(map(str, sorted(used["backbone"].dropna().unique()))))
        if "epochs" in used:
            pretrained = used[used["method"] != SCRATCH_METHOD]["epochs"].dropna().unique()
            if len(pretrained):
                parts.append("/".join(str(int(e)) for e in sorted(pretrained)) + " epochs")
        scale = f"{preset} preset: " + ", ".join(p for p in parts if p) + environments(used)
    if preset.startswith("paper"):
        return f"{scale}. Paper setting: {setting}." if setting else f"{scale}."
    return (
        f"{scale} — not the paper's scale ({setting}); compare directions, not absolute numbers."
        if setting
        else f"{scale} — not the paper's scale; compare directions, not absolute numbers."
    )


def render(
    table: TableSpec,
    results: pd.DataFrame | None,
    preset: str,
    *,
    caption: str | None = None,
    decimals: int = 2,
    preset_hash: str | None = None,
) -> RenderedTable:
    """Fill ``table`` from ``results`` (one row per measurement, see ``RESULT_COLUMNS``).

    Only rows of ``table.modality`` and ``preset`` are used; augmentation specs are compared
    in canonical form. A cell's seeds are the distinct ``seed`` values among its rows (a seed
    measured twice keeps its last row). An average column's value per seed is the mean of
    its source columns for that seed, over the seeds where all of them were measured.
    ``caption`` replaces :func:`default_caption`; ``preset_hash`` is stated in the default one.
    """
    data = _prepare(results, table, preset)
    series: dict[tuple[str, str], pd.Series] = {}
    used = pd.Index([])
    for cell in table.cells():
        if cell.run is not None:
            hit, series[cell.key] = _select(data, cell, table)
            used = used.union(hit.index)
    for cell in table.cells():
        if cell.column.is_average:
            if not cell.row.has_runs:
                continue
            parts = [series[(cell.row.label, src)].rename(src) for src in cell.column.average_of]
            both = pd.concat(parts, axis=1).dropna()
            series[cell.key] = both.mean(axis=1)
    records = []
    seed_rows = []
    for cell in table.cells():
        values = series.get(cell.key, pd.Series(dtype=float))
        n = len(values)
        records.append(
            {
                "row": cell.row.label,
                "column": cell.column.label,
                "ours_mean": float(values.mean()) if n else math.nan,
                "ours_std": float(values.std(ddof=1)) if n >= 2 else math.nan,
                "n_seeds": n,
                "paper": cell.paper,
            }
        )
        seed_rows += [
            {"row": cell.row.label, "column": cell.column.label, "seed": s, "value": float(v)}
            for s, v in values.items()
        ]
    cells = pd.DataFrame.from_records(records, columns=list(CSV_COLUMNS))
    cells["n_seeds"] = cells["n_seeds"].astype(int)
    # Object dtype keeps the paper's None (not NaN) and its non-numeric cells (Tables 5, 8).
    cells["paper"] = pd.Series([r["paper"] for r in records], index=cells.index, dtype=object)
    per_seed = pd.DataFrame.from_records(seed_rows, columns=["row", "column", "seed", "value"])
    text = caption if caption is not None else default_caption(table, preset, data.loc[used], preset_hash)
    return RenderedTable(table, preset, text, cells, per_seed, decimals)


def plot_figure(
    table: TableSpec,
    results: pd.DataFrame | None,
    path: str | os.PathLike[str],
    *,
    preset: str | None = None,
    caption: str | None = None,
) -> Path:
    """Draw a figure table (rows with ``x``) as a PNG: ours with error bars (sample std over
    seeds) per column, random init as a dashed line, and the paper's available points.

    ``preset`` defaults to the only preset in ``results``. Written atomically; returns ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    points = [r for r in table.rows if r.x is not None]
    if not points:
        raise ValueError(f"{table.name} has no rows with an x position; it is not a figure")
    if preset is None:
        presets = sorted(set(results["preset"])) if results is not None and len(results) else []
        if len(presets) != 1:
            raise ValueError(f"pass preset=...: results hold presets {presets}")
        preset = presets[0]
    rendered = render(table, results, preset, caption=caption)
    cells = rendered.cells.set_index(["row", "column"])

    fig = Figure(figsize=(8.0, 5.5), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = [f"C{i}" for i in range(10)]
    for i, col in enumerate(c for c in table.columns if not c.is_average):
        color = colors[i % len(colors)]
        got = [(r.x, cells.loc[(r.label, col.label)]) for r in points if r.x is not None]
        got = [(x, c) for x, c in got if c["n_seeds"] > 0]
        if got:
            xs = [x for x, _ in got]
            ys = [c["ours_mean"] for _, c in got]
            err = [0.0 if math.isnan(c["ours_std"]) else c["ours_std"] for _, c in got]
            ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, color=color, label=f"rqbench {col.label}")
        for r in table.rows:
            if not r.pretrain:
                c = cells.loc[(r.label, col.label)]
                if c["n_seeds"] > 0:
                    ax.axhline(c["ours_mean"], ls="--", lw=1, color=color, label=f"{r.label}, {col.label}")
        paper = [(r.x, cells.loc[(r.label, col.label)]["paper"]) for r in points if r.x is not None]
        paper = [(x, v) for x, v in paper if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if paper:
            ax.scatter(
                [x for x, _ in paper], [v for _, v in paper], marker="*", s=160, color="black", zorder=5,
                label=f"paper, its own scale ({col.label})",
            )  # fmt: skip
    xs = sorted({float(r.x) for r in points if r.x is not None})
    if xs[0] > 0:
        ax.set_xscale("log")
    ax.set_xticks(xs)
    ax.set_xticklabels([f"{x:g}" for x in xs])
    ax.minorticks_off()
    ax.set_xlabel(table.x_label or "x")
    ax.set_ylabel(table.y_label or "value")
    ax.set_title(f"{table.title}\n{rendered.caption}", fontsize=8, wrap=True)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        fig.legend(fontsize=7, loc="outside lower center", ncols=3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    return write_atomic(path, buf.getvalue())

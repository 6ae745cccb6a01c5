"""The reproduction report (``rqbench report``): every table with results, its claims and verdicts, its
pretraining gains over random init, the CPU time its runs took and its figures; at the top the verdict
counts over the whole paper and the claims our runs contradict. Written as Markdown
(``RESULTS/REPORT.md``) and as a static HTML page with the same content (``RESULTS/report.html``).

The page needs nothing from the network: no script, the style sheet inline, and a Content-Security-Policy
that forbids any other source. Figures are referenced by relative path (the same links as the Markdown)
rather than embedded as data URIs: the report is committed with the results, and embedding would put a
second copy of every PNG into the history at each regeneration; the page stays viewable offline as long
as it sits beside the results it was made from (``--out`` elsewhere gives links relative to that folder).

Example::

    from rqbench.report import collect, headline_of, write_report
    report = collect(Path("results"), "quick")
    write_report(report, Path("results"))  # REPORT.md, report.html
    print(headline_of(report))
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from rqbench import stats
from rqbench.errors import InputError
from rqbench.io import write_atomic
from rqbench.runs_index import CONFIG, DONE
from rqbench.sequential import nominal_alpha
from rqbench.tables.claims import (
    ClaimResult,
    GainResult,
    claims_for,
    claims_markdown,
    counts_markdown,
    evaluate_claims,
    pretraining_gains,
    verdict_counts,
)
from rqbench.tables.matching import Matched, match_runs
from rqbench.tables.registry import TABLES
from rqbench.tables.render import RenderedTable, render
from rqbench.tables.spec import TableSpec

REPORT_MD = "REPORT.md"
"""The Markdown report's file name (in the output folder)."""
REPORT_HTML = "report.html"
"""The HTML page's file name (in the output folder)."""

HEADLINE_VERDICTS = (stats.REPRODUCED, stats.CONTRADICTED, stats.SMALLER, stats.INCONCLUSIVE, stats.UNTESTABLE)
"""The verdicts the headline always names (``not measured`` only when a claim has it)."""


class ReportError(ValueError, InputError):
    """No results to report on: a missing results directory or index, or no table with results."""


@dataclass(frozen=True)
class RunCost:
    """One run's CPU time as ``done.json`` records it: wall time times the processes that ran it."""

    key: str
    wall_time_s: float | None
    """``None``: the run has no ``done.json`` wall time (not finished here, or copied without it)."""
    processes: int
    pretrained_in: str | None
    """The run whose finished pretraining this one re-scored (its pretraining time is counted there)."""

    @property
    def cpu_s(self) -> float | None:
        """Wall time x processes, in seconds."""
        return None if self.wall_time_s is None else self.wall_time_s * self.processes


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_cost(run_dir: Path) -> RunCost:
    """The CPU time of the run in ``run_dir``: ``done.json``'s ``wall_time_s`` and ``world_size`` (else the
    ``world_size`` of ``config.json``, else 1)."""
    done = _json(run_dir / DONE)
    wall = done.get("wall_time_s")
    processes = done.get("world_size", _json(run_dir / CONFIG).get("world_size", 1))
    source = done.get("pretrained_in")
    return RunCost(
        run_dir.name,
        float(wall) if isinstance(wall, (int, float)) and not isinstance(wall, bool) else None,
        int(processes) if isinstance(processes, int) and processes >= 1 else 1,
        str(source) if source else None,
    )


@dataclass(frozen=True)
class TableSection:
    """One table of the report: the table filled from its runs, its claims, gains, runs and figures."""

    rendered: RenderedTable
    matched: Matched
    claims: tuple[ClaimResult, ...]
    gains: tuple[GainResult, ...]
    runs: tuple[RunCost, ...]
    figures: tuple[Path, ...]

    @property
    def name(self) -> str:
        """The table's registry name."""
        return self.rendered.table.name

    @property
    def cpu_s(self) -> float:
        """Sum of wall time x processes over the table's runs that recorded a wall time."""
        return sum(c for r in self.runs if (c := r.cpu_s) is not None)


@dataclass(frozen=True)
class Report:
    """Everything the report shows, computed from one results directory and preset."""

    preset: str
    results: Path
    result_rows: int
    sections: tuple[TableSection, ...]
    skipped: tuple[tuple[str, str], ...]
    """``(table, why)`` for each registered table that is not in the report."""
    other_figures: tuple[Path, ...]
    """Figures under ``results/tables`` and ``results/figures`` that belong to no table of the report."""

    @property
    def claims(self) -> list[ClaimResult]:
        """Every claim of every table, in table order."""
        return [c for s in self.sections for c in s.claims]

    @property
    def runs(self) -> dict[str, RunCost]:
        """Every run that fills a table of the report, once each, by key."""
        return {r.key: r for s in self.sections for r in s.runs}


def paper_order(name: str) -> tuple[float, str, str]:
    """Sort key that puts tables in the paper's order: ``table1 < table3 < figure5 < table9 < table9_channels
    < table10`` (number, then suffix, then kind); names without a number go last."""
    m = re.fullmatch(r"([a-z]+)(\d+)(.*)", name)
    return (int(m[2]), m[3], m[1]) if m else (math.inf, name, "")


def fill_table(
    spec: TableSpec, frame: pd.DataFrame, preset: str, runs_dir: Path, world_size: int = 1
) -> tuple[RenderedTable, Matched]:
    """``spec`` filled from the rows of ``frame`` whose run is the table's preset for the cell
    (:func:`~rqbench.tables.matching.match_runs`, then :func:`~rqbench.tables.render.render`, as
    ``rqbench table`` does), and the match."""
    from rqbench.runner import make_config

    matched = match_runs(spec, frame, preset, runs_dir, make_config, world_size)
    return render(spec, matched.rows, preset, preset_hash=matched.preset_hash), matched


def _pngs(folder: Path, *patterns: str) -> list[Path]:
    return sorted({p for pattern in patterns for p in folder.glob(pattern) if p.is_file()})


def figures_for(results: Path, spec: TableSpec, preset: str) -> list[Path]:
    """The figures of a table: its own (``tables/NAME_PRESET.png``, ``tables/NAME_PRESET_*.png``), then its
    modality's (``figures/MODALITY.png``, ``figures/MODALITY_*.png``)."""
    own = _pngs(results / "tables", f"{spec.name}_{preset}.png", f"{spec.name}_{preset}_*.png")
    modality = _pngs(results / "figures", f"{spec.modality}.png", f"{spec.modality}_*.png")
    return own + modality


def collect(results: Path, preset: str = "quick", world_size: int = 1) -> Report:
    """The report of ``results`` under ``preset``: every registered table with at least one matching result
    row, in the paper's order (``world_size``: the processes the runs pretrained with, as ``rqbench table``)."""
    from rqbench.results import ResultsStore

    index = results / "results.csv"
    if not results.is_dir():
        raise ReportError(f"no results directory {results}; pass --results DIR (the folder holding results.csv)")
    if not index.is_file():
        raise ReportError(
            f"{index} does not exist; run `rqbench bench TABLE` first, or `rqbench results rebuild` if runs/ is there"
        )
    frame = ResultsStore(index).load()
    sections: list[TableSection] = []
    skipped: list[tuple[str, str]] = []
    for name in sorted(TABLES.names(), key=paper_order):
        spec = TABLES.get(name)
        if not spec.runs():
            skipped.append((name, "paper only: rqbench has no runs for it"))
            continue
        rendered, matched = fill_table(spec, frame, preset, results / "runs", world_size)
        if matched.rows.empty:
            other = f"; {len(matched.ignored)} runs of its rows have other settings (`rqbench table {name}`)"
            skipped.append((name, f"no runs of the {preset} preset" + (other if matched.ignored else "")))
            continue
        alpha = nominal_alpha(results, spec, preset)
        found = tuple(evaluate_claims(spec, rendered.per_seed, alpha=alpha)) if claims_for(name) else ()
        keys = sorted({str(k) for k in matched.rows["run_key"]})
        sections.append(
            TableSection(
                rendered,
                matched,
                found,
                tuple(pretraining_gains(spec, rendered.per_seed)),
                tuple(run_cost(results / "runs" / k) for k in keys),
                tuple(figures_for(results, spec, preset)),
            )
        )
    if not sections:
        raise ReportError(
            f"no table has results of the {preset} preset in {results}; run `rqbench bench TABLE --preset {preset}`"
        )
    shown = {f for s in sections for f in s.figures}
    others = [p for p in _pngs(results / "tables", "*.png") + _pngs(results / "figures", "*.png") if p not in shown]
    return Report(preset, results, len(frame), tuple(sections), tuple(skipped), tuple(others))


# ---------------------------------------------------------------- text


def _count_line(results: Sequence[ClaimResult]) -> str:
    counts = verdict_counts(results)
    names = [*HEADLINE_VERDICTS, *(v for v in stats.VERDICTS if v not in HEADLINE_VERDICTS and counts[v])]
    return ", ".join(f"{counts[v]} {v}" for v in names)


def headline_of(report: Report) -> str:
    """The verdict counts over the whole paper as one line, on the paper's own metric and on the extra ones."""
    paper = [c for c in report.claims if c.claim.on_paper_metric]
    extra = [c for c in report.claims if not c.claim.on_paper_metric]
    text = (
        f"Reproduction ({report.preset}, {len(report.sections)} tables): "
        f"paper's metric, {len(paper)} claims: {_count_line(paper)}"
    )
    return text + (f"; extra metrics, {len(extra)} claims: {_count_line(extra)}" if extra else "")


def headline(results: Path, preset: str = "quick", world_size: int = 1) -> str:
    """:func:`headline_of` the report of ``results`` under ``preset`` (what ``rqbench bench`` ends with)."""
    return headline_of(collect(results, preset, world_size))


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def _cell(text: object) -> str:
    """``text`` as literal Markdown text, safe inside a table cell: the characters Markdown (or raw HTML)
    would interpret are backslash-escaped, line breaks become spaces."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def _fmt(x: float, spec: str = "+.2f") -> str:
    return format(x, spec) if math.isfinite(x) else "—"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h ({seconds:,.0f} s)"


def _link(path: Path, out_dir: Path) -> str:
    """``path`` relative to ``out_dir``, URL-quoted (safe in Markdown and HTML)."""
    return quote(Path(os.path.relpath(path.resolve(), out_dir.resolve())).as_posix())


def _verdict_table(report: Report) -> list[str]:
    found = verdict_counts(report.claims)
    columns = [*HEADLINE_VERDICTS, *(v for v in stats.VERDICTS if v not in HEADLINE_VERDICTS and found[v])]
    lines = [
        "| claims | n | " + " | ".join(columns) + " |",
        "|:---|---:|" + "---:|" * len(columns),
    ]
    for label, on_paper in (("on the paper's own metric", True), ("on the extra metrics (kNN, 1 % labels)", False)):
        part = [c for c in report.claims if c.claim.on_paper_metric is on_paper]
        counts = verdict_counts(part)
        lines.append(f"| {label} | {len(part)} | " + " | ".join(str(counts[v]) for v in columns) + " |")
    return lines


def _contradicted(report: Report) -> list[str]:
    bad = [c for c in report.claims if c.verdict == stats.CONTRADICTED]
    if not bad:
        return ["None."]
    lines = [
        "| table | id | contrast | metric | n | A - B | 95 % interval | p (Holm) | paper's A - B | rescaled "
        "| the paper |",
        "|:---|:---|:---|:---|---:|---:|:---|---:|---:|---:|:---|",
    ]
    for r in bad:
        c = r.claim
        paper = "—" if c.paper_effect is None else f"{c.paper_effect:+.1f}"
        lines.append(
            f"| {_cell(c.table)} | {_cell(c.id)} | {_cell(c.contrast)} | {_cell(c.column)} | {r.n_seeds} "
            f"| {_fmt(r.mean)} | [{_fmt(r.low)}, {_fmt(r.high)}] | {_fmt(r.p_adjusted, '.3f')} | {paper} "
            f"| {_fmt(r.reference_effect)} | {_cell(c.sentence)} |"
        )
    return lines


def _cost_text(section: TableSection) -> str:
    runs = section.runs
    untimed = sum(r.wall_time_s is None for r in runs)
    reused = sum(r.pretrained_in is not None for r in runs)
    text = (
        f"CPU time: **{_hours(section.cpu_s)}**, wall time x processes (`done.json`) summed over the "
        f"{len(runs)} runs that fill the table; a run shared by several tables counts in each."
    )
    if reused:
        text += f" {reused} of them re-scored another run's pretraining: only their evaluation is counted."
    if untimed:
        text += f" {untimed} of them recorded no wall time (not counted)."
    return text


def _figure(path: Path, results: Path, out_dir: Path) -> str:
    name = path.relative_to(results).as_posix() if path.is_relative_to(results) else path.name
    alt = re.sub(r"[\[\]\\]", "", name)
    return f"![{alt}]({_link(path, out_dir)})\n\n*{_cell(name)}*"


def to_markdown(report: Report, out_dir: Path) -> str:
    """The report as Markdown; figure links are relative to ``out_dir`` (where the file is written)."""
    runs = report.runs
    total = sum(c for r in runs.values() if (c := r.cpu_s) is not None)
    names = ", ".join(s.name for s in report.sections)
    lines = [
        f"# Reproduction report: the {report.preset} preset",
        "",
        f"Made by `rqbench report` from {_cell(report.results)} ({report.result_rows} result rows; "
        f"{len(runs)} runs fill the {len(report.sections)} tables: {names}). Every number is computed from "
        "the runs; a table cell takes only runs of the table's preset (its hash is in the caption).",
        "",
        "## Verdicts over the paper",
        "",
        headline_of(report),
        "",
        *_verdict_table(report),
        "",
        "Rules (`rqbench/stats.py`): per claim the paired difference A - B over the common seeds, a 95 % t "
        "interval, Holm-adjusted p per table and metric family. *reproduced* / *contradicted*: adjusted p <= "
        f"{stats.ALPHA} on the paper's / the other side; *smaller than the paper's effect*: the interval lies "
        f"within ±{stats.MARGIN_FRACTION:.0%} of the paper's effect rescaled to our spread; *untestable at this "
        f"scale*: 80 % power would need more than {stats.UNTESTABLE_FACTOR * stats.AFFORDABLE_SEEDS} seeds; "
        "*inconclusive* otherwise; *not measured*: fewer than 2 common seeds.",
        "",
        "Per table:",
        "",
        counts_markdown(report.claims).rstrip() if report.claims else "No table of the report has claims.",
        "",
        "### Contradicted claims",
        "",
        *_contradicted(report),
        "",
        "### CPU time",
        "",
        f"All {len(runs)} runs of the report: **{_hours(total)}** (wall time x processes from each run's "
        "`done.json`, each run once). The per-table times below count a run shared by several tables in each.",
        "",
    ]
    if report.skipped:
        lines += ["Not in the report: " + "; ".join(f"{n} ({why})" for n, why in report.skipped) + ".", ""]
    shown: dict[Path, str] = {}
    for section in report.sections:
        spec = section.rendered.table
        lines += [f"## {spec.name}", "", section.rendered.to_markdown().rstrip(), ""]
        if section.matched.ignored:
            lines += ["```text", section.matched.report(spec.name), "```", ""]
        lines += [_cost_text(section), ""]
        if not section.claims:
            lines += ["The paper makes no claim on this table.", ""]
        claims_text = claims_markdown(spec, section.claims, section.gains).rstrip()
        lines += [claims_text or "No random-init row: no pretraining gain to show.", ""]
        for path in section.figures:
            if path in shown:
                lines += [f"Figure {_cell(path.name)}: shown under {shown[path]}.", ""]
            else:
                shown[path] = spec.name
                lines += [_figure(path, report.results, out_dir), ""]
    if report.other_figures:
        lines += ["## Other figures", ""]
        for path in report.other_figures:
            lines += [_figure(path, report.results, out_dir), ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- HTML

_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
h1, h2, h3 { line-height: 1.2; } h2 { border-top: 1px solid #ccc; padding-top: 1rem; margin-top: 2.5rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 13px; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 3px 7px; vertical-align: top; }
th { background: #f2f2f2; } tr:nth-child(even) td { background: #fafafa; }
code, pre { font: 13px/1.35 ui-monospace, monospace; background: #f4f4f4; }
pre { padding: 0.6rem; overflow-x: auto; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
"""

_CSP = "default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'"
"""Nothing but the page's own images and its inline style: the page cannot reach the network."""


def markdown_to_html(text: str) -> str:
    """CommonMark with tables (markdown-it-py) to an HTML fragment; raw HTML in ``text`` is escaped, never
    passed through."""
    from markdown_it import MarkdownIt

    fragment: str = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable("table").render(text)
    return fragment


def html_page(title: str, body: str) -> str:
    """A complete, self-contained HTML page around the fragment ``body`` (no script, inline style)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}</main>\n</body>\n</html>\n"
    )


def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    """Write ``REPORT.md`` and ``report.html`` into ``out_dir`` (atomically); returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    text = to_markdown(report, out_dir)
    page = html_page(f"rqbench reproduction report ({report.preset})", markdown_to_html(text))
    return write_atomic(out_dir / REPORT_MD, text), write_atomic(out_dir / REPORT_HTML, page)


__all__ = [
    "HEADLINE_VERDICTS",
    "REPORT_HTML",
    "REPORT_MD",
    "Report",
    "ReportError",
    "RunCost",
    "TableSection",
    "collect",
    "figures_for",
    "fill_table",
    "headline",
    "headline_of",
    "html_page",
    "markdown_to_html",
    "paper_order",
    "run_cost",
    "to_markdown",
    "write_report",
]

"""`rqbench report` on a fabricated results directory (Table 10 and its bins ablation, which share runs): the
Markdown holds each table with its claims, gains, CPU time and figures and the counts on top; the HTML
escapes; figure links resolve; the page passes the headless-Chromium check when Chromium is installed."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import pytest
from typer.testing import CliRunner

from rqbench import stats
from rqbench.report import (
    REPORT_HTML,
    REPORT_MD,
    Report,
    ReportError,
    collect,
    headline,
    headline_of,
    markdown_to_html,
    paper_order,
    run_cost,
    to_markdown,
    write_report,
)
from rqbench.results import FILE_COLUMNS, ResultsStore
from rqbench.runner import make_config
from rqbench.tables import TABLES
from rqbench.tables.claims import claims_for, verdict_counts

TABLE_NAMES = ("table10", "table10_bins")
SEEDS = 3
# A 1x1 PNG (the smallest valid image): figures must load in the browser check.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a2d2b1e70000000049454e44ae426082"
)


def fabricate(results: Path, value: Callable[[str, str, int], float], world: Callable[[str], int]) -> dict[str, float]:
    """Fill ``results`` with the runs of TABLE_NAMES for SEEDS seeds: ``results.csv`` rows with the run keys the
    tables expect, and each run's ``config.json`` / ``done.json`` (wall time 100 s + seed, ``world(key)``
    processes). Returns each run's CPU seconds (wall x processes)."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    cpu: dict[str, float] = {}
    for name in TABLE_NAMES:
        spec = TABLES.get(name)
        for cell in spec.cells():
            filters, run = cell.filters(), cell.run
            if not filters or run is None:
                continue
            for seed in range(SEEDS):
                cfg = make_config(run.modality, run.method, run.aug, "quick", seed, run.pretrain, **dict(run.overrides))
                ident = (cfg.key, tuple(sorted(filters.items())))
                if ident in rows:
                    continue
                wall = 100.0 + seed
                rows[ident] = {
                    **{k: "x" for k in ("backbone", "commit", "hardware", "env")},
                    **filters,
                    "preset": "quick",
                    "epochs": 1,
                    "seed": seed,
                    "value": value(cell.row.label, cell.column.label, seed),
                    "wall_time_s": wall,
                    "run_key": cfg.key,
                }
                run_dir = results / "runs" / cfg.key
                if not run_dir.exists():
                    run_dir.mkdir(parents=True)
                    (run_dir / "config.json").write_text(json.dumps(cfg.to_dict()))
                    (run_dir / "done.json").write_text(json.dumps({"wall_time_s": wall, "world_size": world(cfg.key)}))
                    cpu[cfg.key] = wall * world(cfg.key)
    ResultsStore(results / "results.csv").append(rows.values())
    return cpu


def values() -> Callable[[str, str, int], float]:
    """Per-seed values: seed blocks plus small noise; RQ far below e-Mix on Natural Images (a contradiction
    of T10 Natural Images), far above it on Sensors (a reproduction)."""
    rng = np.random.default_rng(0)
    block = rng.normal(0.0, 2.0, size=SEEDS)
    effects = {("RQ", "Natural Images"): -6.0, ("RQ", "Sensors"): 6.0}
    cache: dict[tuple[str, str, int], float] = {}

    def value(row: str, column: str, seed: int) -> float:
        key = (row, column, seed)
        if key not in cache:
            cache[key] = 60.0 + effects.get((row, column), 0.0) + block[seed] + rng.normal(0.0, 0.2)
        return cache[key]

    return value


@pytest.fixture(scope="module")
def fabricated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, float]]:
    """A results directory whose name needs escaping in Markdown, HTML and URLs, with figures."""
    results = tmp_path_factory.mktemp("report") / "res <b>&amp; [x]"
    cpu = fabricate(results, values(), world=lambda key: 2 if key[0] in "0123456789" else 1)
    for path in ("tables/table10_quick.png", "figures/dabs_views.png", "figures/unrelated.png"):
        (results / path).parent.mkdir(parents=True, exist_ok=True)
        (results / path).write_bytes(PNG)
    return results, cpu


@pytest.fixture(scope="module")
def report(fabricated: tuple[Path, dict[str, float]]) -> Report:
    return collect(fabricated[0], "quick")


def section_text(markdown: str, name: str) -> str:
    """The Markdown of one table's section (from its heading to the next)."""
    found = re.search(rf"^## {name}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert found, name
    return found.group(1)


def test_tables_in_paper_order_and_the_others_named(report: Report) -> None:
    assert [s.name for s in report.sections] == list(TABLE_NAMES)
    skipped = dict(report.skipped)
    assert skipped["table2"].startswith("paper only") and "no runs of the quick preset" in skipped["table1"]
    assert sorted(["table10", "figure5", "table9_channels", "table1", "table9"], key=paper_order) == [
        "table1", "figure5", "table9", "table9_channels", "table10",
    ]  # fmt: skip


def test_markdown_has_each_tables_claims_gains_and_the_counts(report: Report, tmp_path: Path) -> None:
    text = to_markdown(report, tmp_path)
    claims = report.sections[0].claims
    assert [c.claim.id for c in claims] == [c.id for c in claims_for("table10")]
    t10 = section_text(text, "table10")
    assert "**Table 10" in t10 and "[" + report.sections[0].matched.preset_hash + "]" in t10  # caption, hash
    for c in claims:
        assert f"| {c.claim.id} |" in t10, c.claim.id
    assert "Pretraining gain over the random-init row" in t10
    bins = section_text(text, "table10_bins")
    assert "The paper makes no claim on this table." in bins and "Pretraining gain over the random-init row" in bins
    assert "**Claims of" not in bins
    by_id = {c.claim.id: c for c in claims}
    assert by_id["T10 Natural Images"].verdict == stats.CONTRADICTED
    assert by_id["T10 Sensors"].verdict == stats.REPRODUCED
    counts = verdict_counts(c for c in claims if c.claim.on_paper_metric)
    row = next(line for line in text.splitlines() if line.startswith("| on the paper's own metric |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == str(len(claims)) and cells[2] == str(counts[stats.REPRODUCED])
    assert cells[3] == str(counts[stats.CONTRADICTED]) and sum(map(int, cells[2:])) == len(claims)
    assert headline_of(report) in text


def test_contradicted_claims_listed_with_their_numbers(report: Report, tmp_path: Path) -> None:
    text = to_markdown(report, tmp_path)
    listed = text.split("### Contradicted claims", 1)[1].split("###", 1)[0]
    bad = next(c for c in report.claims if c.verdict == stats.CONTRADICTED)
    line = next(ln for ln in listed.splitlines() if f"| {bad.claim.id} |" in ln)
    assert f"{bad.mean:+.2f}" in line and f"[{bad.low:+.2f}, {bad.high:+.2f}]" in line
    assert f"{bad.claim.paper_effect:+.1f}" in line and bad.mean < -5  # RQ - e-Mix measured near -6
    assert sum(f"| {c.claim.id} |" in listed for c in report.claims) == verdict_counts(report.claims)["contradicted"]


def test_cpu_time_is_wall_times_processes_over_the_tables_runs(
    report: Report, fabricated: tuple[Path, dict[str, float]], tmp_path: Path
) -> None:
    _, cpu = fabricated
    text = to_markdown(report, tmp_path)
    for section in report.sections:
        keys = {r.key for r in section.runs}
        assert keys == set(section.matched.rows["run_key"])
        assert section.cpu_s == pytest.approx(sum(cpu[k] for k in keys))
        expected = f"{section.cpu_s / 3600:.2f} h ({section.cpu_s:,.0f} s)"
        assert f"CPU time: **{expected}**" in section_text(text, section.name)
    shared = {r.key for r in report.sections[0].runs} & {r.key for r in report.sections[1].runs}
    assert len(shared) == 18 * SEEDS  # Table 10's runs are the ablation's too: counted in each table
    assert sum(r.cpu_s or 0 for r in report.runs.values()) == pytest.approx(sum(cpu.values()))  # once each overall
    assert any(r.processes == 2 for r in report.runs.values()) and any(r.processes == 1 for r in report.runs.values())


def test_run_cost_reads_done_json_then_config(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "done.json").write_text(json.dumps({"wall_time_s": 10.0, "pretrained_in": "b"}))
    (tmp_path / "a" / "config.json").write_text(json.dumps({"world_size": 4}))
    assert run_cost(tmp_path / "a").cpu_s == 40.0 and run_cost(tmp_path / "a").pretrained_in == "b"
    (tmp_path / "c").mkdir()
    assert run_cost(tmp_path / "c").cpu_s is None and run_cost(tmp_path / "nowhere").wall_time_s is None


def test_figures_shown_once_and_links_resolve(report: Report, fabricated: tuple[Path, dict[str, float]]) -> None:
    results, _ = fabricated
    out = results.parent / "out"
    md_path, html_path = write_report(report, out)
    text = md_path.read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == 3  # table10's figure, the dabs views (once), the unrelated one under "Other figures"
    for link in links:
        assert (out / unquote(link)).resolve().is_file(), link
    assert "shown under table10" in section_text(text, "table10_bins")
    assert "unrelated.png" in section_text(text, "Other figures")
    page = html_path.read_text()
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert len(sources) == 3 and all((out / unquote(s)).resolve().is_file() for s in sources)


def test_html_escapes_and_needs_no_network(report: Report, fabricated: tuple[Path, dict[str, float]]) -> None:
    results, _ = fabricated
    _, html_path = write_report(report, results.parent / "out2")
    page = html_path.read_text()
    assert "res &lt;b&gt;&amp;amp; [x]" in page and "<b>" not in page  # the folder's name, as text
    assert "<script" not in page and not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    fragment = markdown_to_html("a <script>alert(1)</script> & <img src=x onerror=y>\n\n| h |\n|---|\n| <i> |\n")
    assert "<script" not in fragment and "&lt;script&gt;" in fragment and "<img" not in fragment
    assert "<table>" in fragment and "&lt;i&gt;" in fragment and "&amp;" in fragment


def test_headline_counts_every_verdict_on_both_metric_families(
    report: Report, fabricated: tuple[Path, dict[str, float]]
) -> None:
    line = headline(fabricated[0], "quick")
    assert line == headline_of(report) and "\n" not in line
    counts = verdict_counts(c for c in report.claims if c.claim.on_paper_metric)
    paper_part = line.split("paper's metric, ", 1)[1]
    for verdict in (stats.REPRODUCED, stats.CONTRADICTED, stats.SMALLER, stats.INCONCLUSIVE, stats.UNTESTABLE):
        assert f"{counts[verdict]} {verdict}" in paper_part
    assert "extra metrics" not in line  # Table 10 has claims on the paper's metric only


def test_no_results_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="results.csv does not exist"):
        collect(tmp_path)
    (tmp_path / "results.csv").write_text(",".join(FILE_COLUMNS) + "\n")  # an index with no rows
    with pytest.raises(ReportError, match="no table has results of the quick preset"):
        collect(tmp_path)


def test_report_command(fabricated: tuple[Path, dict[str, float]], tmp_path: Path) -> None:
    from rqbench.cli import app

    results, _ = fabricated
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", "--results", str(results), "--out", str(out)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Reproduction (quick, 2 tables): paper's metric, 9 claims:")
    assert (out / REPORT_MD).is_file() and (out / REPORT_HTML).is_file()
    assert not (results / REPORT_MD).exists()  # --out: nothing written into the results
    missing = CliRunner().invoke(app, ["report", "--results", str(tmp_path / "none")], env={"COLUMNS": "300"})
    assert missing.exit_code == 2 and missing.output.startswith("error: no results directory")
    assert len(missing.output.strip().splitlines()) == 1


# ---------------------------------------------------------------- the page in a browser

CHECK = Path(__file__).parents[1] / "benchmarks" / "check_report_html.py"
_BROWSER = shutil.which("chromium") and shutil.which("chromedriver") and importlib.util.find_spec("selenium")


def _checker() -> Any:
    spec = importlib.util.spec_from_file_location("check_report_html", CHECK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not _BROWSER, reason="needs chromium, chromedriver and selenium (see the script's docstring)")
def test_page_loads_in_headless_chromium(report: Report, fabricated: tuple[Path, dict[str, float]]) -> None:
    results, _ = fabricated
    _, html_path = write_report(report, results.parent / "browser")
    checker = _checker()
    loaded, problems = checker.check_page(html_path)
    assert problems == [] and loaded == 3
    broken = html_path.with_name("broken.html")
    broken.write_text(html_path.read_text().replace("dabs_views.png", "missing.png"))
    loaded, problems = checker.check_page(broken)  # the check can fail: one image lost, one console error
    assert loaded == 2 and any("missing.png" in p for p in problems) and checker.main([str(broken)]) == 1


def test_check_script_names_the_missing_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    checker = _checker()
    monkeypatch.setattr(checker.shutil, "which", lambda name: None)
    page = tmp_path / "p.html"
    page.write_text("<!DOCTYPE html><title>t</title>")
    assert checker.main([str(page)]) == 2
    assert checker.main([str(tmp_path / "absent.html")]) == 2
    with pytest.raises(SystemExit, match="apt-get install -y chromium chromium-driver"):
        checker.find_tools()

"""Rendering tables from result rows: mean ± std over seeds, missing cells, formats, the figure."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from rqbench.tables import CSV_COLUMNS, RESULT_COLUMNS, TABLES, plot_figure, render

BOTH = "+ RQ, random bins + values"


def result(**kw: object) -> dict[str, object]:
    """One result row with quick-preset image defaults."""
    row: dict[str, object] = {
        "modality": "images", "dataset": "fashion_mnist", "method": "moco", "aug": "rrc+rq(bins=8)",
        "backbone": "small_resnet", "preset": "quick", "epochs": 5, "seed": 0, "protocol": "linear",
        "label_fraction": 1.0, "metric": "top1", "value": 0.0, "commit": "abc", "hardware": "cpu",
        "wall_time_s": 1.0, "run_key": "k", "env": "e",
    }  # fmt: skip
    row.update(kw)
    assert set(row) == set(RESULT_COLUMNS)
    return row


@pytest.fixture
def results() -> pd.DataFrame:
    rows = [result(seed=s, value=v) for s, v in ((0, 10.0), (1, 11.0), (2, 12.0))]
    rows.append(result(seed=0, protocol="knn", value=5.0))
    rows += [result(aug="rrc", seed=s, value=v, protocol="knn") for s, v in ((0, 1.0), (1, 3.0))]
    rows += [result(method="scratch", aug="none", epochs=0, seed=s, value=70.0 + s) for s in range(3)]
    # Ignored: another preset, another modality, another table's method.
    rows.append(result(preset="paper", value=99.0))
    rows.append(result(modality="audio", value=98.0))
    rows.append(result(method="byol", value=97.0))
    return pd.DataFrame(rows)


def md_line(markdown: str, label: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith(f"| {label} |"))


def test_mean_std_over_seeds_in_markdown(results: pd.DataFrame) -> None:
    out = render(TABLES.get("table1"), results, "quick")
    md = out.to_markdown()
    assert md_line(md, BOTH) == f"| {BOTH} | 11.00 ± 1.00 | 67.9 | 5.00 (n=1) | — |"
    assert md_line(md, "baseline (RRC)") == "| baseline (RRC) | — | 50.0 | 2.00 ± 1.41 (n=2) | — |"
    assert md_line(md, "scratch (random init)") == "| scratch (random init) | 71.00 ± 1.00 | — | — | — |"
    assert md_line(md, "+ RQ, fixed uniform") == "| + RQ, fixed uniform | — | 54.8 | — | — |"
    header = md.splitlines()[4]
    assert header == (
        "| augmentation | linear top1 (rqbench) | linear top1 (paper) | kNN top1 (rqbench) | 1% linear top1 (rqbench) |"
    )
    assert "over 3 seeds" in md


def test_csv_long_format(results: pd.DataFrame) -> None:
    text = render(TABLES.get("table1"), results, "quick").to_csv()
    lines = text.splitlines()
    assert lines[0] == ",".join(CSV_COLUMNS)
    assert f'"{BOTH}",linear top1,11.0,1.0,3,67.9' in lines
    assert f'"{BOTH}",kNN top1,5.0,,1,' in lines
    assert "baseline (RRC),linear top1,,,0,50.0" in lines
    assert "baseline (RRC),1% linear top1,,,0," in lines
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == 6 * 3


def test_cells_frame(results: pd.DataFrame) -> None:
    out = render(TABLES.get("table1"), results, "quick")
    cells = out.cells.set_index(["row", "column"])
    assert cells.loc[(BOTH, "linear top1"), "ours_mean"] == 11.0
    assert cells.loc[(BOTH, "linear top1"), "ours_std"] == 1.0
    assert cells.loc[(BOTH, "linear top1"), "n_seeds"] == 3
    assert pd.isna(cells.loc[("+ RQ, random bins", "linear top1"), "ours_mean"])
    assert cells.loc[("+ RQ, random bins", "linear top1"), "n_seeds"] == 0
    assert out.per_seed[(out.per_seed["row"] == BOTH) & (out.per_seed["column"] == "linear top1")][
        "value"
    ].tolist() == [10.0, 11.0, 12.0]


def test_caption(results: pd.DataFrame) -> None:
    md = render(TABLES.get("table1"), results, "quick").to_markdown()
    assert md.splitlines()[2].startswith(
        "quick preset: fashion_mnist, small_resnet, 5 epochs — not the paper's scale (ImageNet-1K"
    )
    assert "compare directions, not absolute numbers" in md.splitlines()[2]
    custom = render(TABLES.get("table1"), results, "quick", caption="my caption").to_markdown()
    assert custom.splitlines()[2] == "my caption"
    assert "Paper only" in render(TABLES.get("table2"), results, "quick").caption


def test_aug_spellings_duplicates_and_missing_results(results: pd.DataFrame) -> None:
    extra = pd.DataFrame([result(aug="rrc + rq(bins=8, values=midpoint)", seed=0, value=40.0),
                          result(aug="rrc+rq(values=midpoint,bins=8)", seed=0, value=42.0)])  # fmt: skip
    out = render(TABLES.get("table1"), pd.concat([results, extra], ignore_index=True), "quick")
    assert out.ours_text("+ RQ, random bins", "linear top1") == "42.00 (n=1)"  # a re-measured seed keeps its last row
    rerun = pd.DataFrame(
        [result(epochs=3, seed=s, value=10.0) for s in range(3)]
        + [result(epochs=9, seed=s, value=90.0) for s in range(3)]
    )
    later = render(TABLES.get("table1"), pd.concat([results, rerun], ignore_index=True), "quick")
    assert ", 5/9 epochs" in later.caption  # the caption states only the rows used (not the superseded 3-epoch ones)
    empty = render(TABLES.get("table1"), pd.DataFrame(), "quick")
    assert set(empty.cells["n_seeds"]) == {0}
    assert "no results yet" in empty.caption
    assert md_line(empty.to_markdown(), BOTH) == f"| {BOTH} | — | 67.9 | — | — |"


def test_paper_only_rows_and_tables(results: pd.DataFrame) -> None:
    md = render(TABLES.get("table3"), results, "quick").to_markdown()
    assert md_line(md, "CR + SSQL") == "| CR + SSQL | — | 11.1 | — | — | — | 6.4 | — | — |"
    t8 = render(TABLES.get("table8"), None, "quick").to_markdown()
    assert (
        md_line(t8, "VoxCeleb1 (VC1)")
        == "| VoxCeleb1 (VC1) | — | Speaker identification | — | 1,211 | — | 153,514 | — | 8.2 |"
    )


def test_average_column_per_seed() -> None:
    table = TABLES.get("table9")
    tasks = [c for c in table.columns if not c.is_average]
    rows = []
    for i, col in enumerate(tasks):
        for seed in (0, 1, 2):
            if seed == 2 and i == 0:
                continue  # seed 2 lacks one task: it is left out of the average
            rows.append(
                result(
                    modality="audio",
                    method="byol",
                    aug="audio-rrc+rq(bins=5)",
                    dataset=col.dataset,
                    seed=seed,
                    value=60.0 + i + 2 * seed,
                )
            )
    out = render(table, pd.DataFrame(rows), "quick")
    cell = out.cells.set_index(["row", "column"]).loc[("RRC + RQ (bins=5)", "Average")]
    per_seed_mean = 60.0 + (len(tasks) - 1) / 2  # seed 0; seed 1 is 2 higher
    assert (
        cell["n_seeds"] == 2
        and cell["ours_mean"] == pytest.approx(per_seed_mean + 1.0)
        and cell["ours_std"] == pytest.approx(2**0.5)
    )
    assert cell["paper"] == 79.6
    assert out.ours_text("RRC + RQ (bins=5)", "speakers (VC1)") == "63.00 ± 2.00"  # 61, 63, 65
    assert out.ours_text("RRC + RQ (bins=5)", "notes (NS)") == "61.00 ± 1.41 (n=2)"
    assert out.ours_text("TRILL", "Average") == "—" and out.paper_text("TRILL", "notes (NS)") == "—"


def test_table_of_our_own_has_no_paper_columns() -> None:
    table = TABLES.get("table10_bins")
    rows = [
        result(modality="dabs", method="infonce", aug="rq(bins=32)", dataset=c.dataset, seed=s, value=40.0 + s,
               protocol=c.protocol)
        for c in table.columns if not c.is_average for s in (0, 1)
    ]  # fmt: skip
    md = render(table, pd.DataFrame(rows), "quick").to_markdown()
    header = next(line for line in md.splitlines() if line.startswith("| method |"))
    assert "(paper)" not in header and "(rqbench)" not in header and "| Average |" in header
    assert md_line(md, "RQ, 32 bins").endswith("| 40.50 ± 0.71 |")  # the average of seeds 0 and 1
    assert "paper: the published number" not in md


def test_ambiguous_dataset_is_an_error(results: pd.DataFrame) -> None:
    mixed = pd.concat([results, pd.DataFrame([result(dataset="mnist", seed=5, value=99.0)])], ignore_index=True)
    with pytest.raises(ValueError, match="several datasets"):
        render(TABLES.get("table1"), mixed, "quick")
    with pytest.raises(ValueError, match="lack the columns"):
        render(TABLES.get("table1"), results.drop(columns=["metric"]), "quick")


def test_latex_and_write(results: pd.DataFrame, tmp_path: Path) -> None:
    out = render(TABLES.get("table1"), results, "quick")
    tex = out.to_latex()
    assert f"{BOTH} & 11.00 $\\pm$ 1.00 & 67.9 & 5.00 (n=1) & --- \\\\" in tex
    assert "\\begin{tabular}{lrrrr}" in tex and "1\\% linear top1" in tex
    paths = out.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table1_quick.csv", "table1_quick.md", "table1_quick.tex"]
    assert paths["md"].read_text() == out.to_markdown()


def test_plot_figure(tmp_path: Path) -> None:
    rows = [result(aug=f"rrc+rq(bins={b})", seed=s, value=60.0 + b / 2 + s) for b in (1, 2, 5, 8, 30) for s in (0, 1)]
    rows += [result(method="scratch", aug="none", epochs=0, seed=s, value=55.0) for s in (0, 1)]
    path = plot_figure(TABLES.get("figure5"), pd.DataFrame(rows), tmp_path / "fig" / "figure5.png")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 5000
    assert [p.name for p in path.parent.iterdir()] == ["figure5.png"]
    with pytest.raises(ValueError, match="not a figure"):
        plot_figure(TABLES.get("table1"), pd.DataFrame(rows), tmp_path / "t1.png")


def test_caption_names_package_environments_only_when_rows_mix_them() -> None:
    from rqbench.tables import default_caption

    spec = TABLES.get("table1")
    same = pd.DataFrame([result(env="a"), result(env="a", seed=1)])
    mixed = pd.DataFrame([result(env="a"), result(env="", seed=1), result(env="b", seed=2)])
    assert "environments" not in default_caption(spec, "quick", same)
    assert "rows from several package environments: unrecorded 1 rows, a 1 rows, b 1 rows" in default_caption(
        spec, "quick", mixed
    )


def test_table7_puts_class_and_instance_miou_in_their_columns() -> None:
    # Scratch probe rows of Table 7: C.mIoU 50 / 52 and I.mIoU 60 / 64 over two seeds.
    seg = dict(modality="points", dataset="procedural_parts", method="scratch", aug="none", epochs=0)
    values = {("c_miou", 0): 50.0, ("c_miou", 1): 52.0, ("i_miou", 0): 60.0, ("i_miou", 1): 64.0}
    rows = [
        result(**seg, seed=s, protocol="linear_seg", label_fraction=f, metric=m, value=v)
        for (m, s), v in values.items()
        for f in (0.01, 0.05, 1.0)
    ]
    cells = render(TABLES.get("table7"), pd.DataFrame(rows), "quick").cells.set_index(["row", "column"])
    for lab in ("1%", "5%", "100%"):
        assert cells.loc[("Scratch (lin)", f"C.mIoU {lab}"), "ours_mean"] == pytest.approx(51.0)
        assert cells.loc[("Scratch (lin)", f"I.mIoU {lab}"), "ours_mean"] == pytest.approx(62.0)
        assert cells.loc[("Scratch (lin)", f"I.mIoU {lab}"), "n_seeds"] == 2
        assert pd.isna(cells.loc[("Scratch (ft)", f"I.mIoU {lab}"), "ours_mean"])

"""The paper's numbers as data: spot checks, and a cell-by-cell comparison with the paper's text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rqbench.tables import PAPER_NUMBERS, PAPER_TABLES, paper_table, paper_value
from rqbench.tables.paper_numbers import format_paper_value

PAPER_TEXT = Path("/work/shared/paper/randomized_quantization.txt")
PRINTED_ORDER = ("table1", "table2", "table3", "table4", "table5", "table6", "table7", "table8", "table9", "table10")


@pytest.mark.parametrize(
    ("table", "row", "column", "value"),
    [
        ("table1", "+ quantize, random bins + values", "top1 acc", 67.9),
        ("table1", "baseline", "top1 acc", 50.0),
        ("table1", "+ quantize, random values", "random values", True),
        ("table1", "+ quantize, random values", "random bins", False),
        ("table2", "BYOL", "800-ep", 71.6),
        ("table3", "CR + DACL", "MoCo-v3", 32.7),
        ("table3", "RRC + SSQL", "BYOL", 49.3),
        ("table4", "RRC", "BYOL", 49.4),
        ("table4", "Full", "MoCo-v3", 68.9),
        ("table5", "Ours (300 ep)", "Top1 accuracy", 71.6),
        ("table5", "MSF w/w", "Epochs", 200),
        ("table6", "Ours (ft)", "1%", 71.3),
        ("table6", "Scratch", "100%", 92.9),
        ("table7", "MID-FC (lin)", "I.mIoU 5%", 80.9),
        ("table7", "Ours (lin)", "C.mIoU 1%", 70.6),
        ("table8", "VoxCeleb1 (VC1)", "#Classes", 1211),
        ("table8", "NSynth (NS)", "Data size", 305979),
        ("table8", "VoxForge (VF)", "Task", "Language identification"),
        ("table9", "Ours", "VC1", 45.7),
        ("table9", "BYOL-A", "Average", 77.8),
        ("table10", "e-Mix", "Average", 52.4),
        ("table10", "Ours", "Sensors", 84.9),
        ("figure5", "8", "top1", 67.9),
    ],
)
def test_spot_checks(table: str, row: str, column: str, value: object) -> None:
    got = paper_value(table, row, column)
    assert got == value and type(got) is type(value)
    assert PAPER_NUMBERS[(table, row, column)] == value


def test_explicit_missing_values() -> None:
    assert paper_value("table7", "Multi-Task (lin)", "C.mIoU 1%") is None  # printed "-"
    assert paper_value("table9", "TRILL", "NS") is None
    # Figure 5: the text states only the 8-bin point; the others are unknown, not invented.
    fig5 = paper_table("figure5")
    assert {r: v for r, (v,) in fig5.rows if v is not None} == {"8": 67.9}
    assert fig5.value("8", "top1") == paper_value("table1", "+ quantize, random bins + values", "top1 acc")


def test_table5_discrepancy_is_noted() -> None:
    assert paper_value("table5", "Ours (300 ep)", "Top1 accuracy") == 71.6  # the table, not the prose's 71.9
    assert any("71.9" in n for n in paper_table("table5").notes)


def test_non_cells_raise_and_list_labels() -> None:
    with pytest.raises(KeyError, match="rows: "):
        paper_value("table3", "CR + Mixup", "MoCo-v3")
    with pytest.raises(KeyError, match="columns: "):
        paper_value("table3", "CR", "SimCLR")
    with pytest.raises(KeyError, match="table10"):
        paper_value("table11", "x", "y")


def test_formatting() -> None:
    assert format_paper_value(None) == "—"
    assert format_paper_value(9.9) == "9.9"
    assert format_paper_value(43.0) == "43.0"
    assert format_paper_value(305979) == "305,979"
    assert format_paper_value(True) == "✓"


def _cell(text: str) -> object:
    text = text.strip()
    if text == "-":
        return None
    if text in ("✓", "✗"):
        return text == "✓"
    if re.fullmatch(r"\d{1,3}(,\d{3})+|\d+", text):
        return int(text.replace(",", ""))
    if re.fullmatch(r"\d+\.\d+", text):
        return float(text)
    return text


def _printed_rows() -> list[tuple[str, list[object]]]:
    """Data rows of the paper's Markdown tables, in printed order (headers skipped)."""
    lines = PAPER_TEXT.read_text(encoding="utf-8").splitlines()
    rows = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        is_header = i + 1 < len(lines) and lines[i + 1].startswith("|---")
        is_equation = re.fullmatch(r"\(\d+\)", cells[0]) is not None
        is_table7_header = cells[0] == "C.mIoU" or all(re.fullmatch(r"\d+%|", c) for c in cells)
        if not (is_header or is_equation or is_table7_header):
            rows.append((re.sub(r"\s*\[[^\]]*\]", "", cells[0]), [_cell(c) for c in cells[1:]]))
    return rows


@pytest.mark.skipif(not PAPER_TEXT.exists(), reason="paper text not available")
def test_every_number_matches_the_paper_text() -> None:
    printed = _printed_rows()
    ours = [(label, values) for name in PRINTED_ORDER for label, values in PAPER_TABLES[name].rows]
    assert len(printed) == len(ours)
    for (p_label, p_values), (label, values) in zip(printed, ours, strict=True):
        assert label.startswith(p_label), (p_label, label)
        assert list(values) == p_values, label
        assert [type(v) for v in values] == [type(v) for v in p_values], label

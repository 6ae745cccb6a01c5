"""Table specs: registry, paper keys, run lists and validation."""

from __future__ import annotations

import pytest

from rqbench.registry import UnknownNameError
from rqbench.tables import (
    PAPER_TABLES,
    SCRATCH_METHOD,
    TABLES,
    ColumnSpec,
    EvalRequest,
    RowSpec,
    RunRequest,
    TableSpec,
    evals_for,
    get_table,
    paper_value,
    runs_for,
)

ALL = ("table1", "table2", "table3", "table4", "figure5", "table5", "table6", "table7", "table8", "table9", "table10")


def test_registry_has_every_table_and_unknown_names_list_them() -> None:
    assert set(ALL) <= set(TABLES.names())  # test plugins (the blobs table) may add more
    with pytest.raises(UnknownNameError) as info:
        get_table("table11")
    message = str(info.value)
    assert "table11" in message and all(name in message for name in ALL)


@pytest.mark.parametrize("name", ALL)
def test_paper_cells_resolve(name: str) -> None:
    table = TABLES.get(name)
    for cell in table.cells():
        if cell.row.paper_row is not None and cell.column.paper_column is not None:
            assert cell.paper_key == (table.paper_table, cell.row.paper_row, cell.column.paper_column)
            value = paper_value(*cell.paper_key)  # raises KeyError for a non-cell
            assert value is None or isinstance(value, (int, float, str))
            assert cell.paper == value
        else:
            assert cell.paper_key is None and cell.paper is None


@pytest.mark.parametrize("name", ALL)
def test_every_printed_paper_row_is_in_the_spec(name: str) -> None:
    table = TABLES.get(name)
    used = {r.paper_row for r in table.rows}
    assert set(PAPER_TABLES[table.paper_table].row_labels) <= used


@pytest.mark.parametrize(
    ("name", "configs"),
    [("table1", 6), ("table2", 0), ("table3", 17), ("table4", 11), ("figure5", 10), ("table5", 0),
     ("table6", 3), ("table7", 3), ("table8", 0), ("table9", 5), ("table10", 18)],
)  # fmt: skip
def test_run_counts(name: str, configs: int) -> None:
    table = TABLES.get(name)
    assert len(runs_for(table, 3)) == 3 * configs
    assert len(runs_for(table, [4])) == configs


def test_table1_runs() -> None:
    runs = runs_for(TABLES.get("table1"), 3)
    assert len(runs) == 18 == len(set(runs))  # 5 MoCo-v3 augs + 1 random init, x 3 seeds
    assert [r.seed for r in runs] == [0] * 6 + [1] * 6 + [2] * 6  # seed-major
    assert runs[0] == RunRequest("images", SCRATCH_METHOD, "none", False, (), 0)
    augs = {r.aug for r in runs if r.pretrain}
    assert augs == {
        "rrc",
        "rrc+rq(bins=8,spacing=uniform,values=midpoint)",
        "rrc+rq(bins=8,spacing=uniform)",
        "rrc+rq(bins=8,values=midpoint)",
        "rrc+rq(bins=8)",
    }
    assert {r.method for r in runs if r.pretrain} == {"moco"}


def test_runs_deduplicate_across_tables() -> None:
    t1, t3, t4, f5 = (TABLES.get(n) for n in ("table1", "table3", "table4", "figure5"))
    # Table 3 shares RRC and RRC + RQ (MoCo-v3) and random init with Table 1; Table 4 adds RRC + CJ and Full.
    assert len(runs_for([t1, t3, t4], 1)) == 6 + 14 + 4
    assert len(runs_for([t1, f5], 2)) == 2 * (6 + 8)  # Figure 5's 8 bins is Table 1's last row
    assert len(runs_for([TABLES.get("table6"), TABLES.get("table7")], 3)) == 9


def test_table3_methods_come_from_columns() -> None:
    table = TABLES.get("table3")
    assert table.cell("CR + DACL", "BYOL linear top1").run.method == "byol"
    assert table.cell("CR + DACL", "MoCo-v3 kNN top1").run.method == "moco"
    assert table.cell("CR + DACL", "MoCo-v3 kNN top1").run.aug == "dacl"  # CR is the plain view
    assert table.cell("CR + SSQL", "MoCo-v3 linear top1").run is None  # paper only
    assert table.cell("CR + SSQL", "MoCo-v3 linear top1").paper == 11.1
    assert table.cell("scratch (random init)", "BYOL linear top1").run.method == SCRATCH_METHOD


def test_evals_for_lists_what_cells_read() -> None:
    t1 = TABLES.get("table1")
    run = runs_for(t1, 1)[-1]
    assert set(evals_for(t1, run)) == {
        EvalRequest("linear", 1.0, "top1"),
        EvalRequest("knn", 1.0, "top1"),
        EvalRequest("linear", 0.01, "top1"),
    }
    t6, t7 = TABLES.get("table6"), TABLES.get("table7")
    evals = evals_for([t6, t7], runs_for(t6, 1)[1])
    assert len(evals) == 2 * 6 + 2 * 2 * 3  # lin/ft x 6 fractions; lin/ft x 2 metrics x 3 fractions


def test_table10_pretrains_each_domain() -> None:
    runs = runs_for(TABLES.get("table10"), 1)
    assert len({dict(r.overrides)["data.domain"] for r in runs}) == 6
    assert all(dict(r.overrides).get("backbone.freeze_embedding", True) is (r.aug != "emix") for r in runs)
    assert {r.aug for r in runs} == {"none", "emix", "rq"}


def test_table10_bins_reuses_table10_runs_and_sweeps_only_the_bins() -> None:
    sweep, t10 = TABLES.get("table10_bins"), TABLES.get("table10")
    assert sweep.paper_table is None and all(c.paper is None for c in sweep.cells())
    runs, base = set(runs_for(sweep, 3)), set(runs_for(t10, 3))
    assert base <= runs  # scratch, e-Mix and 8 bins are Table 10's own runs
    new = runs - base
    assert len(new) == 3 * 3 * 6  # 3 bin counts x 3 seeds x 6 domains
    assert {r.aug for r in new} == {"rq(bins=4)", "rq(bins=16)", "rq(bins=32)"}
    # Apart from the augmentation, each new run is Table 10's RQ run of the same domain and seed.
    rq = {(r.overrides, r.seed): r for r in base if r.aug == "rq"}
    assert all(rq[(r.overrides, r.seed)].method == r.method and r.pretrain for r in new)


def test_aug_specs_are_canonical() -> None:
    assert (
        RowSpec("r", method="moco", aug=" rrc + rq(values=midpoint, bins=8) ").aug == "rrc+rq(bins=8,values=midpoint)"
    )
    with pytest.raises(ValueError, match="row 'r'"):
        RowSpec("r", method="moco", aug="rq(bins=8")


def test_validation_errors() -> None:
    col = ColumnSpec("lin", protocol="linear", method="byol")
    with pytest.raises(ValueError, match="differ"):
        TableSpec("t", "T", "images", (RowSpec("r", method="moco", aug="rq"),), (col,))
    with pytest.raises(ValueError, match="no method"):
        TableSpec("t", "T", "images", (RowSpec("r", aug="rq"),), (ColumnSpec("lin", protocol="linear"),))
    with pytest.raises(ValueError, match="no protocol"):
        TableSpec("t", "T", "images", (RowSpec("r", method="moco", aug="rq"),), (ColumnSpec("c"),))
    with pytest.raises(ValueError, match="has no row"):
        TableSpec(
            "table1", "T", "images", (RowSpec("r", "nope", "moco", "rq"),), (ColumnSpec("c", "top1 acc", "linear"),)
        )
    with pytest.raises(ValueError, match="averages unknown columns"):
        TableSpec("t", "T", "images", (RowSpec("r", method="moco", aug="rq"),), (ColumnSpec("avg", average_of=("x",)),))
    with pytest.raises(ValueError, match="duplicate row labels"):
        TableSpec("t", "T", "images", (RowSpec("r"), RowSpec("r")), (ColumnSpec("c"),))
    with pytest.raises(ValueError, match="select the same result rows"):
        rows = (RowSpec("a", method="moco", aug="rq", overrides={"lr": 0.1}), RowSpec("b", method="moco", aug="rq"))
        TableSpec("t", "T", "images", rows, (ColumnSpec("c", protocol="linear"),))
    with pytest.raises(ValueError, match="random-init"):
        RowSpec("s", method="moco", pretrain=False)
    with pytest.raises(ValueError, match="cannot be an override"):
        RowSpec("r", method="moco", aug="rq", overrides={"seed": 1})
    with pytest.raises(ValueError, match="label_fraction"):
        ColumnSpec("c", protocol="linear", label_fraction=0.0)


def test_overrides_on_result_columns_select_rows() -> None:
    rows = (
        RowSpec("100 ep", method="moco", aug="rq", overrides={"epochs": 100}),
        RowSpec("300 ep", method="moco", aug="rq", overrides={"epochs": 300}),
    )
    table = TableSpec("t", "T", "images", rows, (ColumnSpec("c", protocol="linear"),))
    assert table.cell("300 ep", "c").filters()["epochs"] == 300
    assert len(runs_for(table, 1)) == 2

"""Tables as files: the paper tables round-trip through the YAML schema, a YAML table on the blobs test
modality is benched, rendered and its claim judged, and every mistake in a file is one error naming the
file, the field and the fix."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import blobs_modality  # noqa: F401  (registers the blobs modality)
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from rqbench.cli import app
from rqbench.tables import TABLES
from rqbench.tables.claims import CLAIMS, claims_for
from rqbench.tables.yaml_spec import TableSpecError, dump_table, load_table, load_table_file, resolve_table

HERE = Path(__file__).parent
TWO_ROWS = HERE / "blobs_two_rows.yaml"


def test_every_registered_table_round_trips_through_yaml() -> None:
    for name in TABLES.names():
        spec = TABLES.get(name)
        if name in CLAIMS:  # the paper's claims travel in the same schema
            spec = replace(spec, claims=CLAIMS[name])
        back = load_table(dump_table(spec), name)
        assert back == spec, name
        assert back.claims == spec.claims and back.runs() == spec.runs(), name


def test_the_two_row_file_loads_with_its_claim() -> None:
    spec = resolve_table(str(TWO_ROWS))
    assert spec.name == "blobs-two-rows" and [r.label for r in spec.rows] == ["noise", "noise + RQ"]
    assert spec.rows[1].aug == "blobs-noise+rq(bins=4)" and len(spec.runs()) == 2
    (claim,) = claims_for(spec)
    assert claim.table == "blobs-two-rows" and claim.a == ("noise + RQ",) and claim.paper_effect is None
    assert resolve_table("blobs-table") is TABLES.get("blobs-table")


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_yaml_table_is_benched_rendered_and_its_claim_judged(tmp_path: Path) -> None:
    results = str(tmp_path)
    out = invoke("bench", str(TWO_ROWS), "--preset", "tiny", "--seeds", "2", "--results", results, "--no-progress")
    assert "4 runs, 0 finished already, 4 to do" in out
    cells = pd.read_csv(tmp_path / "tables" / "blobs-two-rows_tiny.csv")
    assert len(cells) == 4 and (cells["n_seeds"] == 2).all() and cells["ours_mean"].between(0, 100).all()
    table = invoke("table", str(TWO_ROWS), "--preset", "tiny", "--results", results)
    assert "Blobs: RQ on the noise view" in table and "**Claims of blobs-two-rows**" in table
    claims_csv = tmp_path / "claims.csv"
    invoke("claims", str(TWO_ROWS), "--preset", "tiny", "--results", results, "--csv", str(claims_csv))
    (row,) = pd.read_csv(claims_csv).to_dict("records")
    assert row["id"] == "RQ vs noise" and row["n_seeds"] == 2
    assert row["verdict"] in ("reproduced", "contradicted", "inconclusive")  # measured: a verdict, not "not measured"
    seeds = pd.read_csv(tmp_path / "tables" / "blobs-two-rows_tiny_seeds.csv")
    diff = (
        seeds[(seeds["row"] == "noise + RQ") & (seeds["column"] == "linear top1")]["value"].to_numpy()
        - seeds[(seeds["row"] == "noise") & (seeds["column"] == "linear top1")]["value"].to_numpy()
    )
    assert row["mean_diff"] == pytest.approx(diff.mean())


def _good() -> dict:
    return yaml.safe_load(TWO_ROWS.read_text())


def _edit(path: list, value: object) -> dict:
    data = _good()
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


MISTAKES = [
    (["modality"], "blobz", "modality: unknown modality 'blobz'", "use one of:"),
    (["rows", 1, "aug"], "blobs-noise+rqq", "rows[1] ('noise + RQ').aug: unknown augmentation 'rqq'", "--plugin"),
    (
        ["rows", 1, "aug"],
        "rq(bins=0)",
        "rows[1] ('noise + RQ').aug: bad arguments in 'rq(bins=0)': bins must be >= 1",
        "registered augmentations",
    ),
    (["rows", 0, "method"], "simclr", "rows[0] ('noise').method: unknown method 'simclr'", "registered method"),
    (["rows", 0, "protocl"], "linear", "rows[0].protocl: unknown row field 'protocl'", "use one of: label"),
    (["columns", 0, "metric"], "top5", "columns[0] ('linear top1').metric: unknown metric 'top5'", "top1"),
    (["columns", 0, "protocol"], "svm", "columns[0] ('linear top1').protocol: unknown protocol 'svm'", "knn"),
    (["columns", 0, "label_fraction"], 2, "label_fraction: expected a number in (0, 1]", "e.g. 0.01"),
    (["claims", 0, "a"], "nosuch", "claims[0] ('RQ vs noise').a: 'nosuch' is not a row of the table", "noise + RQ"),
    (["claims", 0, "column"], "top9", "claims[0] ('RQ vs noise').column: 'top9' is not a column", "kNN top1"),
    (["claims", 0, "direction"], 2, "claims[0] ('RQ vs noise').direction: expected 1 or -1", "a above b"),
    (["title"], KeyError, "the table has no 'title'", "add 'title: ...'"),
    (["colums"], [], "colums: unknown table field 'colums'", "use one of:"),
    (["rows"], "noise", "rows: expected a non-empty list", "'- ...'"),
]


@pytest.mark.parametrize(("path", "value", "problem", "fix"), MISTAKES, ids=[m[2].split(":")[0] for m in MISTAKES])
def test_each_mistake_is_one_error_naming_file_field_and_fix(
    tmp_path: Path, path: list, value: object, problem: str, fix: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_edit(path, value), sort_keys=False))
    with pytest.raises(TableSpecError) as caught:
        load_table_file(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}: ") and problem in message and fix in message, message
    assert "\n" not in message


def test_file_errors_and_name_clashes_on_the_command_line(tmp_path: Path) -> None:
    clash = tmp_path / "clash.yaml"
    clash.write_text(yaml.safe_dump({**_good(), "name": "blobs-table"}))
    broken = tmp_path / "broken.yaml"
    broken.write_text("rows: [unclosed\n")
    for args, message in [
        (["table", str(tmp_path / "missing.yaml")], "missing.yaml: cannot read the table spec"),
        (["table", str(broken)], "broken.yaml: not valid YAML"),
        (["bench", str(clash)], "'blobs-table' is a registered table; give the file's table a name of its own"),
        (["claims", str(tmp_path / "missing.yml")], "cannot read the table spec"),
        (["table", "table99"], "unknown table 'table99'"),
    ]:
        result = CliRunner().invoke(app, [*args, "--results", str(tmp_path)], env={"COLUMNS": "300"})
        assert result.exit_code == 2 and message in " ".join(result.output.split()), (args, result.output)

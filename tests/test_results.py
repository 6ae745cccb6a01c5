"""The results store: atomic appends, no duplicates per run, corrupt files named by line."""

from __future__ import annotations

import pytest

from rqbench.results import COLUMNS, FILE_COLUMNS, LEGACY_COLUMNS, ResultsCorruptError, ResultsStore


def row(key: str = "k1", value: float = 50.0, **kw) -> dict:
    base = dict(
        modality="blobs", dataset="blobs", method="moco", aug="rq(bins=8)", backbone="mlp", preset="quick", epochs=2,
        seed=0, protocol="linear", label_fraction=1.0, metric="top1", value=value, commit="abc",
        hardware="cpu, with, commas", wall_time_s=1.5, run_key=key, env="0123abcd",
    )  # fmt: skip
    return {**base, **kw}


def test_append_load_and_replace_same_run(tmp_path) -> None:
    store = ResultsStore(tmp_path / "results.csv")
    assert store.load().empty and list(store.load().columns) == list(COLUMNS)
    store.append([row("k1", 50.0), row("k1", 60.0, protocol="knn")])
    store.append([row("k2", 70.0)])
    store.append([row("k1", 55.0)])  # a rerun of k1 replaces its rows
    df = store.load()
    assert sorted(df["value"].tolist()) == [55.0, 70.0] and df["hardware"].iloc[0] == "cpu, with, commas"
    assert df["seed"].dtype.kind == "i" and df["value"].dtype.kind == "f"
    assert len(store.rows_for("k2")) == 1


def test_missing_column_is_refused(tmp_path) -> None:
    bad = row()
    del bad["commit"]
    with pytest.raises(ValueError, match="lacks column"):
        ResultsStore(tmp_path / "r.csv").append([bad])


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda lines: [*lines[:2], "blobs,blobs,moco", *lines[2:]], r"results.csv:3: expected 18 fields, found 3"),
        (
            lambda lines: [lines[0], lines[1].replace(",50.0,", ",fifty,"), *lines[2:]],
            r"results.csv:2: the row's check fails \(a cut or edited row\)",
        ),
        (lambda lines: ["a,b", *lines[1:]], r"results.csv:1: header"),
    ],
)
def test_corrupt_file_reports_the_line(tmp_path, mutate, match) -> None:
    store = ResultsStore(tmp_path / "results.csv")
    store.append([row("k1"), row("k2")])
    lines = store.path.read_text().splitlines()
    store.path.write_text("\n".join(mutate(lines)) + "\n")
    with pytest.raises(ResultsCorruptError, match=match):
        store.load()
    with pytest.raises(ResultsCorruptError):  # appending never drops the unreadable rows either
        store.append([row("k3")])


def test_rows_written_before_env_was_recorded_read_with_env_empty_and_are_kept(tmp_path) -> None:
    store = ResultsStore(tmp_path / "results.csv")
    old = row("k0")
    store.path.write_text(",".join(LEGACY_COLUMNS) + "\n" + ",".join(f'"{old[c]}"' for c in LEGACY_COLUMNS) + "\n")
    df = store.load()
    assert list(df.columns) == list(COLUMNS) and df["env"].tolist() == [""] and df["value"].tolist() == [50.0]
    store.append([row("k1")])  # rewritten with the new header; the old row keeps an empty env
    assert store.path.read_text().splitlines()[0] == ",".join(FILE_COLUMNS)
    assert store.load().set_index("run_key")["env"].to_dict() == {"k0": "", "k1": "0123abcd"}


def test_a_file_cut_anywhere_in_its_last_row_is_an_error(tmp_path) -> None:
    """Every cut point inside the last row of a 2-row file: never a shorter value, never a vanished row."""
    store = ResultsStore(tmp_path / "results.csv")
    store.append([row("k1"), row("k2", 70.0, env="e123456789a")])
    whole = store.path.read_text()
    start = whole.rindex("\n", 0, len(whole) - 1) + 1
    for cut in range(start + 1, len(whole)):
        store.path.write_text(whole[:cut])
        with pytest.raises(ResultsCorruptError, match="results.csv:3"):
            store.load()
    store.path.write_text(whole)
    assert len(store.load()) == 2


def test_a_value_edited_by_hand_fails_its_check(tmp_path) -> None:
    store = ResultsStore(tmp_path / "results.csv")
    store.append([row("k1", 50.0)])
    store.path.write_text(store.path.read_text().replace(",50.0,", ",51.0,"))
    with pytest.raises(ResultsCorruptError, match="results.csv:2: the row's check fails"):
        store.load()

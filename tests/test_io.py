"""Atomic writes leave either the old or the new file, never a partial one or a temp file."""

from __future__ import annotations

import pytest

from rqbench.io import write_atomic


def test_write_replace_and_no_leftovers(tmp_path) -> None:
    path = tmp_path / "sub" / "rows.csv"
    write_atomic(path, "a\n")
    write_atomic(path, b"b\n")
    write_atomic(path, lambda f: f.write(b"c\n"))
    assert path.read_text() == "c\n"
    assert [p.name for p in path.parent.iterdir()] == ["rows.csv"]


def test_failure_keeps_old_content(tmp_path) -> None:
    path = tmp_path / "rows.csv"
    write_atomic(path, "old\n")

    def broken(handle) -> None:
        handle.write(b"half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_atomic(path, broken)
    assert path.read_text() == "old\n" and len(list(tmp_path.iterdir())) == 1


def test_a_missing_directory_is_not_made_when_asked(tmp_path) -> None:
    path = tmp_path / "gone" / "run.lock"
    with pytest.raises(FileNotFoundError):
        write_atomic(path, "x", make_parents=False)
    assert not (tmp_path / "gone").exists()

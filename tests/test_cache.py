"""The shared cache helpers: cache root resolution and the build progress bar."""

from __future__ import annotations

from pathlib import Path

from rqbench.cache import cache_root, progress_bar


def test_cache_root_prefers_the_argument_then_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RQBENCH_CACHE", str(tmp_path / "env"))
    assert cache_root(tmp_path / "arg") == Path(tmp_path / "arg")
    assert cache_root() == Path(tmp_path / "env")


def test_progress_bar_counts_on_stderr_and_can_be_silent(capsys) -> None:
    with progress_bar("building", total=3) as advance:
        advance()
        advance(2)
    captured = capsys.readouterr()
    assert captured.out == "" and "building" in captured.err and "3/3" in captured.err
    with progress_bar("quiet", total=3, enabled=False) as advance:
        advance(3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""

"""The command line: list, demo, help, python -m."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from rqbench.cli import app

runner = CliRunner()


def test_list_shows_every_registry_with_summaries() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for word in (
        "augmentations",
        "methods",
        "modalities",
        "rq",
        "dacl",
        "imix",
        "emix",
        "mixup",
        "byola-mixup",
        "Randomized quantization",
    ):
        assert word in result.output


def test_demo_reports_at_most_bins_values() -> None:
    result = runner.invoke(app, ["demo", "--aug", "rq(bins=5)", "--batch", "8", "--size", "16"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "5 (of 256 pixels)" in result.output and "True" in result.output


def test_demo_bad_spec_exits_with_message() -> None:
    result = runner.invoke(app, ["demo", "--aug", "rqq"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and "unknown augmentation 'rqq'" in result.output


def test_help_on_every_command() -> None:
    for args in (["--help"], ["list", "--help"], ["demo", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output


def test_python_dash_m() -> None:
    out = subprocess.run([sys.executable, "-m", "rqbench", "--help"], capture_output=True, text=True, check=True)
    assert "list" in out.stdout and "demo" in out.stdout


def test_bad_data_found_while_running_is_one_error_line_not_a_traceback(tmp_path) -> None:
    args = [
        "run",
        "dabs",
        "--method",
        "infonce",
        "--aug",
        "rq",
        "--set",
        "data.domain=chest",
        "--results",
        str(tmp_path),
        "--no-progress",
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "error: unknown DABS domain 'chest'. Did you mean 'chexpert'?" in result.output
    assert (
        "Traceback" not in result.output and result.exception is not None and isinstance(result.exception, SystemExit)
    )


def test_input_errors_keep_their_builtin_base() -> None:
    from modalities.dabs.domains import DomainDataError
    from modalities.images.data import DataUnavailableError
    from rqbench.augment import SpecError
    from rqbench.errors import InputError
    from rqbench.registry import UnknownNameError

    for kind, builtin in (
        (DomainDataError, ValueError),
        (DataUnavailableError, RuntimeError),
        (SpecError, ValueError),
        (UnknownNameError, KeyError),
    ):
        assert issubclass(kind, InputError) and issubclass(kind, builtin)


def test_a_bug_still_shows_its_traceback(monkeypatch, tmp_path) -> None:
    import rqbench.runner

    def broken(*args, **kwargs):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(rqbench.runner, "run", broken)
    result = runner.invoke(app, ["run", "blobs", "--results", str(tmp_path), "--no-progress"], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and isinstance(result.exception, ValueError)

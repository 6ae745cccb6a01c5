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
    for word in ("augmentations", "methods", "modalities", "rq", "dacl", "imix", "emix", "mixup", "byola-mixup", "Randomized quantization"):
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

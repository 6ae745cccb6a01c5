"""``rqbench doctor``: versions against the lock, plugins, Debian packages, disk; and a broken plugin in
``rqbench list``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rqbench.cli import app
from rqbench.doctor import check_debian, check_disk, check_packages, default_lock_path, healthy, locked_versions
from rqbench.modality import MODALITIES
from rqbench.provenance import TRACKED_PACKAGES, environment_id, versions

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "uv.lock"
SMALL_LOCK = """
version = 1
requires-python = ">=3.10"

[[package]]
name = "numpy"
version = "2.2.6"
resolution-markers = ["python_full_version < '3.11'"]

[[package]]
name = "numpy"
version = "2.3.5"
resolution-markers = ["python_full_version >= '3.11'"]

[[package]]
name = "torch"
version = "2.11.0"
"""


def test_locked_versions_pick_the_entry_of_this_python(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(SMALL_LOCK)
    assert locked_versions(lock, python="3.10.4") == {"numpy": "2.2.6", "torch": "2.11.0"}
    assert locked_versions(lock, python="3.11.7") == {"numpy": "2.3.5", "torch": "2.11.0"}


def test_the_lock_pins_the_pytorch_trio_that_loads_together() -> None:
    locked = locked_versions(LOCK)
    assert (locked["torch"], locked["torchvision"], locked["torchaudio"]) == ("2.11.0", "0.26.0", "2.11.0")
    assert default_lock_path() == LOCK


def test_this_environment_matches_the_lock_and_every_tracked_package_imports() -> None:
    checks = check_packages(LOCK)
    assert [c for c in checks if not c.ok] == []
    assert {c.name for c in checks} >= set(TRACKED_PACKAGES)


def test_a_version_the_lock_does_not_name_fails_naming_the_package(tmp_path: Path) -> None:
    text = LOCK.read_text()
    broken = re.sub(r'(name = "torchaudio"\nversion = )"2\.11\.0"', r'\1"2.11.1"', text)
    assert broken != text
    lock = tmp_path / "uv.lock"
    lock.write_text(broken)
    failed = [c for c in check_packages(lock) if not c.ok]
    assert [c.name for c in failed] == ["torchaudio"]
    assert "the lock says 2.11.1" in failed[0].detail and "./setup.sh" in failed[0].fix
    assert not healthy(failed)
    result = CliRunner().invoke(app, ["doctor", "--lock", str(lock)], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "broken: torchaudio" in result.output


def test_debian_check_gives_the_apt_line_for_what_is_missing() -> None:
    installed = {"a": True, "b": False}.get
    (ok, missing) = check_debian({"one": ("a",), "two": ("a", "b")}, installed=installed)
    assert ok.ok and ok.name == "data one"
    assert not missing.ok and missing.required and missing.fix == "sudo apt-get install -y --no-install-recommends b"
    (unknown,) = check_debian({"x": ("a",)}, installed=lambda p: None)
    assert unknown.ok and not unknown.required


def test_setup_installs_exactly_the_debian_packages_the_modalities_declare() -> None:
    listed = {
        line.strip()
        for line in (ROOT / "debian-packages.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    declared = {p for e in MODALITIES.entries() for p in e.obj.debian_packages}
    assert listed == declared


def test_disk_check_fails_below_the_threshold_and_on_an_unwritable_cache(tmp_path: Path) -> None:
    assert check_disk(tmp_path).ok
    low = check_disk(tmp_path, min_free_gb=1e9)
    assert not low.ok and "GB free" in low.detail
    blocker = tmp_path / "file"
    blocker.write_text("")
    bad = check_disk(blocker / "cache")
    assert not bad.ok and "RQBENCH_CACHE" in bad.fix


def test_doctor_passes_here() -> None:
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "all checks passed" in result.output and "torchaudio" in result.output


def test_versions_and_environment_id() -> None:
    found = versions()
    assert set(found) == {"python", *TRACKED_PACKAGES} and found["torch"].startswith("2.11.0")
    assert re.fullmatch(r"e[0-9a-f]{10}", environment_id())
    assert environment_id({**found, "numpy": "0.0"}) != environment_id(found)


@pytest.fixture
def broken_plugin_path(tmp_path: Path) -> dict[str, str]:
    """An installed distribution (a bare dist-info) whose modality entry point does not import."""
    info = tmp_path / "broken_modality-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-modality\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[rqbench.modalities]\nbrokenmod = no_such_module_xyz.modality\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]), "COLUMNS": "250", "NO_COLOR": "1"}


def test_list_shows_a_broken_plugin_with_cause_and_fix_and_run_exits_2(
    broken_plugin_path: dict[str, str], tmp_path: Path
) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "rqbench", "list"], capture_output=True, text=True, env=broken_plugin_path
    )
    assert listed.returncode == 0, listed.stderr
    assert "brokenmod" in listed.stdout and "BROKEN plugin (no_such_module_xyz.modality)" in listed.stdout
    assert "ModuleNotFoundError" in listed.stdout and "reinstall or fix the package 'broken-modality'" in listed.stdout
    ran = subprocess.run(
        [sys.executable, "-m", "rqbench", "run", "brokenmod", "--results", str(tmp_path / "r")],
        capture_output=True,
        text=True,
        env=broken_plugin_path,
    )
    assert ran.returncode == 2 and "modality plugin 'brokenmod'" in ran.stdout and "failed to load" in ran.stdout
    assert "Traceback" not in ran.stdout + ran.stderr and not (tmp_path / "r").exists()
    doctor = subprocess.run(
        [sys.executable, "-m", "rqbench", "doctor"], capture_output=True, text=True, env=broken_plugin_path
    )
    assert doctor.returncode == 1 and "modality plugin brokenmod" in doctor.stdout

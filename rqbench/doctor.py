"""``rqbench doctor``: is this environment the one the harness runs on?

Each check returns :class:`Check` rows (ok or not, what was found, the fix). The checks: Python
and the tracked packages' versions against ``uv.lock`` (and that each imports), the device, RQ's
C++ kernel (built here if needed), the registered plugins, each modality's Debian packages, the
cache directory and free disk.
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rqbench.provenance import ABSENT, TRACKED_PACKAGES, versions
from rqbench.registry import SETUP_FIX

MIN_FREE_GB = 5.0
"""Free disk below this under the cache directory fails: a quick table's caches and checkpoints need a few GB."""
LOCK_NAME = "uv.lock"


@dataclass(frozen=True)
class Check:
    """One line of the report.

    Args:
        name: what was checked (``torchaudio``, ``modality audio``, ``disk``).
        ok: whether it passed.
        detail: what was found.
        fix: what to do when it failed ('' when ok).
        required: whether a default run needs it (a failed required check makes ``doctor`` exit 1).
    """

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def default_lock_path() -> Path:
    """``uv.lock`` of the checkout this package was installed from (absent for a plain library install)."""
    return Path(__file__).resolve().parents[1] / LOCK_NAME


def locked_versions(lock: Path, python: str | None = None) -> dict[str, str]:
    """The version ``lock`` (a ``uv.lock``) resolves for each package under this Python.

    A package resolved differently per Python version appears once per version with
    ``resolution-markers``; the entry whose markers hold for ``python`` (default: this one) wins.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    from packaging.markers import Marker

    env = {
        "python_full_version": python or platform.python_version(),
        "python_version": ".".join((python or platform.python_version()).split(".")[:2]),
    }
    out: dict[str, str] = {}
    for package in tomllib.loads(lock.read_text()).get("package", []):
        markers = package.get("resolution-markers")
        if markers and not any(Marker(m).evaluate(env) for m in markers):
            continue
        out[package["name"]] = package["version"]
    return out


def public(version: str) -> str:
    """``2.11.0+cu130`` -> ``2.11.0`` (the local build tag is not part of what the lock pins)."""
    return version.split("+", 1)[0]


def check_packages(lock: Path | None) -> list[Check]:
    """Python, then each tracked package: installed version against the lock, and that it imports."""
    checks = [Check("python", True, f"{platform.python_version()} ({sys.executable})")]
    locked = locked_versions(lock) if lock is not None and lock.exists() else {}
    if not locked:
        checks.append(
            Check(
                "lock",
                True,
                f"no {LOCK_NAME} beside the package (installed as a library): versions not compared",
                required=False,
            )
        )
    found = versions()
    for name, dists in TRACKED_PACKAGES.items():
        have = found[name]
        want = next((locked[d] for d in dists if d in locked), None)
        if have == ABSENT:
            checks.append(Check(name, False, "not installed" + (f" (lock: {want})" if want else ""), SETUP_FIX))
            continue
        if want is not None and public(have) != public(want):
            checks.append(Check(name, False, f"{have} installed, the lock says {want}", SETUP_FIX))
            continue
        error = import_error(name)  # each short name is its import name
        if error:
            checks.append(Check(name, False, f"{have} installed but does not import: {error}", SETUP_FIX))
            continue
        checks.append(Check(name, True, have + (" (matches the lock)" if want else "")))
    return checks


def import_error(module: str) -> str:
    """'' when ``module`` imports, else the error on one line."""
    try:
        importlib.import_module(module)
    except Exception as exc:  # any failure to import is the finding (OSError from a shared library included)
        return " ".join(f"{type(exc).__name__}: {exc}".split())
    return ""


def check_device() -> Check:
    """The GPU by name, or the CPU with its thread count (both fine for a default run)."""
    import torch

    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Check("device", True, f"CUDA {torch.version.cuda}: {names}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return Check(
        "device",
        True,
        f"CPU only ({cores} cores, torch uses {torch.get_num_threads()} threads); runs default to the CPU",
    )


def check_rq_kernel() -> Check:
    """RQ's C++ kernel (:mod:`rqbench.augment.native`), built here if it is not yet: optional, eager is the fallback."""
    from rqbench.augment import native

    kern = native.kernel()
    if kern is None:
        return Check(
            "rq kernel",
            False,
            f"unavailable, RQ uses the eager path on CPU: {native.unavailable_reason()}",
            "install a C++ compiler with OpenMP (Debian: g++) and run `rqbench doctor` again",
            required=False,
        )
    draws = "its draws replicate torch.rand" if kern.exact_draws else "draws with torch.rand (replica check failed)"
    return Check("rq kernel", True, f"built ({kern.path}); {draws}")


def check_plugins() -> list[Check]:
    """Every registry's plugins: each registered modality by name, and every plugin that failed to import."""
    from rqbench.augment import AUGMENTATIONS
    from rqbench.methods import METHODS
    from rqbench.modality import MODALITIES
    from rqbench.tables import TABLES

    checks = [Check(f"modality {name}", True, "imports") for name in MODALITIES.names()]
    checks += [
        Check(f"{registry.kind}s", True, f"{len(registry)} registered") for registry in (AUGMENTATIONS, METHODS, TABLES)
    ]
    for registry in (MODALITIES, AUGMENTATIONS, METHODS, TABLES):
        checks += [
            Check(f"{registry.kind} plugin {f.name}", False, f"{f.target} failed to load: {f.cause}", f.fix)
            for f in registry.failures()
        ]
    return checks


def dpkg_installed(package: str) -> bool | None:
    """Whether Debian ``package`` is installed; ``None`` where there is no ``dpkg-query`` (not Debian)."""
    if shutil.which("dpkg-query") is None:
        return None
    out = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    return out.returncode == 0 and "ok installed" in out.stdout


def check_debian(
    needs: Mapping[str, Iterable[str]], installed: Callable[[str], bool | None] = dpkg_installed
) -> list[Check]:
    """Each modality's Debian packages (``needs``: modality -> packages), with the ``apt-get`` line for those
    missing."""
    checks = []
    for modality, packages in needs.items():
        state = {p: installed(p) for p in packages}
        missing = [p for p, ok in state.items() if ok is False]
        if any(ok is None for ok in state.values()):
            checks.append(
                Check(
                    f"data {modality}",
                    True,
                    "not a Debian system: cannot check " + ", ".join(state),
                    "see ../shared/DATA.md for the data files",
                    required=False,
                )
            )
        elif missing:
            fix = "sudo apt-get install -y --no-install-recommends " + " ".join(missing)
            checks.append(Check(f"data {modality}", False, "missing Debian package(s): " + ", ".join(missing), fix))
        elif state:
            checks.append(Check(f"data {modality}", True, ", ".join(state)))
    return checks


def modality_packages() -> dict[str, tuple[str, ...]]:
    """Registered modality -> its :attr:`~rqbench.modality.Modality.debian_packages`."""
    from rqbench.modality import MODALITIES

    return {e.name: e.obj.debian_packages for e in MODALITIES.entries()}


def check_disk(cache: Path, min_free_gb: float = MIN_FREE_GB) -> Check:
    """The cache directory is writable (created if missing) and its disk has ``min_free_gb`` free."""
    try:
        cache.mkdir(parents=True, exist_ok=True)
        probe = cache / f".doctor-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return Check("cache", False, f"{cache} is not writable: {exc}", "set RQBENCH_CACHE to a writable directory")
    free = shutil.disk_usage(cache).free / 2**30
    detail = f"{cache}: {free:.1f} GB free"
    if free < min_free_gb:
        return Check(
            "cache",
            False,
            f"{detail} (under {min_free_gb:g} GB)",
            "free disk space or set RQBENCH_CACHE to a larger disk",
        )
    return Check("cache", True, detail)


def run_checks(lock: Path | None = None, cache: Path | None = None) -> list[Check]:
    """Every check, in report order."""
    from rqbench.cache import cache_root

    return [
        *check_packages(lock if lock is not None else default_lock_path()),
        check_device(),
        check_rq_kernel(),
        *check_plugins(),
        *check_debian(modality_packages()),
        check_disk(cache if cache is not None else cache_root()),
    ]


def healthy(checks: Iterable[Check]) -> bool:
    """Whether every required check passed."""
    return all(c.ok or not c.required for c in checks)


__all__ = [
    "Check",
    "check_debian",
    "check_device",
    "check_disk",
    "check_packages",
    "check_plugins",
    "healthy",
    "locked_versions",
    "run_checks",
]

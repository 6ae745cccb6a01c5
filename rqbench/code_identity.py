"""The code identity of a run's components, part of its key: a component's ``version`` (its author
bumps it when its math changes) and, for a component from outside rqbench's own packages (a local
plugin file, another package), a hash of its source file, so editing it never reuses old results."""

from __future__ import annotations

import functools
import hashlib
import inspect
from pathlib import Path

_OWN_PACKAGES = tuple(Path(__file__).resolve().parents[1] / name for name in ("rqbench", "modalities"))
DEFAULT_VERSION = 1


def is_builtin(component: object) -> bool:
    """Whether ``component`` (a class or function) is defined in rqbench's own packages."""
    path = _source_path(component)
    return path is not None and any(path.is_relative_to(root) for root in _OWN_PACKAGES)


def _source_path(component: object) -> Path | None:
    try:
        source = inspect.getsourcefile(component)  # type: ignore[arg-type]
    except TypeError:  # built-in objects have no source file
        return None
    return Path(source).resolve() if source else None


@functools.lru_cache(maxsize=256)
def _file_hash(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def source_hash(component: object) -> str:
    """12 hex digits of the sha256 of the file defining ``component`` ('' if it has none)."""
    path = _source_path(component)
    if path is None or not path.is_file():
        return ""
    return _file_hash(path, path.stat().st_mtime_ns)


def identity(component: object) -> str | None:
    """``None`` for a built-in at :data:`DEFAULT_VERSION` (keys of runs before versions existed stay
    the same); otherwise ``v<version>`` and/or ``src:<hash>`` for a component from outside rqbench."""
    version = getattr(component, "version", DEFAULT_VERSION)
    parts = [] if version == DEFAULT_VERSION else [f"v{version}"]
    if not is_builtin(component):
        parts.append(f"src:{source_hash(component)}")
    return "+".join(parts) or None


def code_identity(components: dict[str, object]) -> tuple[tuple[str, str], ...]:
    """``(("aug:negate", "src:..."), ...)``: the components (``{role:name: object}``) whose identity is not
    default, sorted."""
    found = ((name, identity(obj)) for name, obj in components.items())
    return tuple(sorted((name, ident) for name, ident in found if ident is not None))


__all__ = ["DEFAULT_VERSION", "code_identity", "identity", "is_builtin", "source_hash"]

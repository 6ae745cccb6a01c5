"""Named registries that plugins fill: augmentations, methods, modalities.

A :class:`Registry` maps a short name (as typed on the command line) to a class.
Entries are added with the :meth:`Registry.register` decorator inside the module
that defines them, or by third-party packages through a Python entry-point
group (e.g. ``rqbench.augmentations``), which is loaded lazily on first lookup.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from rqbench.errors import InputError

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError, InputError):
    """A name that is not in a registry; the message lists what exists."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered object with its name and one-line summary."""

    name: str
    obj: T
    summary: str


def first_line(doc: str | None) -> str:
    """The first non-empty line of a docstring ('' if there is none)."""
    for line in (doc or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


SETUP_FIX = "run ./setup.sh to reinstall the locked environment (uv.lock), then `rqbench doctor`"


@dataclass(frozen=True)
class PluginFailure:
    """A plugin entry point that failed to import: what it is, why, and how to fix it.

    Args:
        name: the entry point's name (e.g. ``audio``).
        target: what it points at (``modalities.audio.modality``).
        distribution: the installed distribution that declares it (``rqbench`` for the built-ins).
        cause: the exception, as ``Type: message``.
    """

    name: str
    target: str
    distribution: str
    cause: str

    @property
    def fix(self) -> str:
        """What to do about it: reinstall the locked environment (built-ins) or the providing package."""
        if self.distribution == "rqbench":
            return SETUP_FIX
        return f"reinstall or fix the package {self.distribution!r} that provides it, then `rqbench doctor`"

    def describe(self, kind: str) -> str:
        """One line: ``modality plugin 'audio' (modalities.audio.modality) failed to load: <cause>. Fix: ...``."""
        return f"{kind} plugin {self.name!r} ({self.target}) failed to load: {self.cause}. Fix: {self.fix}"


class Registry(Generic[T]):
    """A name -> object table with an entry-point group for plugins.

    Args:
        kind: what the entries are, used in messages ("augmentation").
        group: the ``importlib.metadata`` entry-point group to load plugins from.
        builtins: modules to import before the first lookup; importing them runs
            their ``@register`` decorators.
    """

    def __init__(self, kind: str, group: str | None = None, builtins: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._entries: dict[str, Entry[T]] = {}
        self._failed: dict[str, PluginFailure] = {}
        self._loaded = False

    def register(self, name: str, *, summary: str | None = None) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name``; a duplicate name is an error."""
        if not name or not name.replace("-", "_").replace("_", "a").isalnum():
            raise ValueError(f"{self.kind} name must be alphanumeric with '-' or '_', got {name!r}")

        def decorate(obj: T) -> T:
            existing = self._entries.get(name)
            if existing is not None and existing.obj is not obj:
                raise ValueError(f"{self.kind} {name!r} is already registered to {existing.obj!r}")
            self._entries[name] = Entry(
                name, obj, summary if summary is not None else first_line(getattr(obj, "__doc__", None))
            )
            return obj

        return decorate

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for module in self._builtins:
            importlib.import_module(module)
        if self.group is None:
            return
        for ep in importlib.metadata.entry_points(group=self.group):
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not take the others down with it: it is reported
                dist = ep.dist.name if ep.dist is not None else "unknown"
                cause = " ".join(f"{type(exc).__name__}: {exc}".split())
                self._failed[ep.name] = PluginFailure(ep.name, ep.value, dist, cause)
                continue
            # An entry point may name a module (which registers itself) or the object.
            if not isinstance(obj, types.ModuleType) and ep.name not in self._entries:
                self.register(ep.name)(obj)

    def get(self, name: str) -> T:
        """The object registered as ``name``; unknown names raise :class:`UnknownNameError`."""
        self._load()
        try:
            return self._entries[name].obj
        except KeyError:
            raise UnknownNameError(self._unknown_message(name)) from None

    def _unknown_message(self, name: str) -> str:
        if name in self._failed:
            return self._failed[name].describe(self.kind)
        close = difflib.get_close_matches(name, self._entries, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(self._entries)) or "(none registered)"
        plural = self.kind[:-1] + "ies" if self.kind.endswith("y") else self.kind + "s"
        broken = "".join(f" It may come from a broken plugin: {f.describe(self.kind)}" for f in self._failed.values())
        return f"unknown {self.kind} {name!r}.{hint} Registered {plural}: {known}.{broken}"

    def failures(self) -> list[PluginFailure]:
        """The plugins of this registry's entry-point group that failed to import, sorted by name."""
        self._load()
        return [self._failed[k] for k in sorted(self._failed)]

    def entries(self) -> list[Entry[T]]:
        """All entries, sorted by name."""
        self._load()
        return [self._entries[k] for k in sorted(self._entries)]

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return [e.name for e in self.entries()]

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._entries)

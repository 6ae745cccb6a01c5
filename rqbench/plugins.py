"""Local plugins: a one-file augmentation, method or modality used without packaging it.

``rqbench --plugin my_aug.py ...`` (repeatable) and ``RQBENCH_PLUGINS=my_aug.py:pkg.module`` import
the files and modules before the command runs; importing them runs their ``@register`` decorators.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from rqbench.errors import InputError

ENV = "RQBENCH_PLUGINS"


class PluginImportError(ImportError, InputError):
    """A ``--plugin`` file or module that cannot be imported; the message names it and the cause."""


def import_plugin(target: str) -> ModuleType:
    """Import ``target``: a ``.py`` file path (as a module named after the file) or a module name."""
    path = Path(target)
    try:
        if target.endswith(".py") or os.sep in target:
            if not path.is_file():
                raise PluginImportError(f"plugin {target!r}: no such file")
            name = path.stem
            if name in sys.modules and getattr(sys.modules[name], "__file__", None) == str(path.resolve()):
                return sys.modules[name]
            spec = importlib.util.spec_from_file_location(name, path.resolve())
            if spec is None or spec.loader is None:
                raise PluginImportError(f"plugin {target!r}: not a Python file")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # so its classes have a module (and a source file for the run key)
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(target)
    except PluginImportError:
        raise
    except Exception as exc:  # any failure while importing the plugin is the user's to see, in one line
        sys.modules.pop(path.stem, None)
        raise PluginImportError(
            f"plugin {target!r} failed to import: {type(exc).__name__}: {' '.join(str(exc).split())}"
        ) from None


def plugin_targets(given: Iterable[str] = (), environ: dict[str, str] | None = None) -> list[str]:
    """``RQBENCH_PLUGINS`` entries (``os.pathsep``-separated), then ``given``, without repeats."""
    env = (environ if environ is not None else dict(os.environ)).get(ENV, "")
    return list(dict.fromkeys([*(t for t in env.split(os.pathsep) if t.strip()), *given]))


def load_plugins(given: Iterable[str] = ()) -> list[ModuleType]:
    """Import every plugin of :func:`plugin_targets`."""
    return [import_plugin(t) for t in plugin_targets(given)]


__all__ = ["ENV", "PluginImportError", "import_plugin", "load_plugins", "plugin_targets"]

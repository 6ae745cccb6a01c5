"""The registry of paper tables: ``rqbench table NAME`` and ``rqbench bench NAME`` look names up here.

The built-in tables live in :mod:`rqbench.tables.paper_tables` (imported on first lookup);
other packages can add tables through the ``rqbench.tables`` entry-point group.
"""

from __future__ import annotations

from rqbench.registry import Registry
from rqbench.tables.spec import TableSpec

TABLES: Registry[TableSpec] = Registry("table", group="rqbench.tables", builtins=("rqbench.tables.paper_tables",))


def register_table(spec: TableSpec) -> TableSpec:
    """Register ``spec`` under ``spec.name`` (its title is the summary ``rqbench list`` shows)."""
    if not isinstance(spec, TableSpec):
        raise TypeError(f"a table must be a TableSpec, got {spec!r}")
    return TABLES.register(spec.name, summary=spec.title)(spec)


def get_table(name: str) -> TableSpec:
    """The table registered as ``name``; an unknown name raises an error listing the known ones."""
    return TABLES.get(name)

"""Tables as files: a :class:`~rqbench.tables.spec.TableSpec` (claims included) written in YAML.

The YAML holds the same fields as the Python specs, by the same names; only the label fields
are required, every other field has the dataclass's default::

    name: blobs-yaml                      # where the rendered files go: RESULTS/tables/NAME_PRESET.md
    title: "Blobs: RQ on the noise view"
    modality: blobs                       # a registered modality
    row_header: augmentation
    rows:                                 # RowSpec: label, paper_row, method, aug, pretrain, overrides, protocol, x
      - {label: scratch, pretrain: false}
      - {label: noise, method: moco, aug: blobs-noise}
      - {label: noise + RQ, method: moco, aug: "blobs-noise+rq(bins=4)"}
    columns:                              # ColumnSpec: label, paper_column, protocol, metric, label_fraction,
      - {label: linear top1, protocol: linear}   # dataset, method, overrides, average_of
    claims:                               # Claim: id, a, b, column, direction, sentence, paper_effect, ...
      - {id: RQ helps, a: noise + RQ, b: noise, column: linear top1, direction: 1}

``overrides`` is a mapping of run-config settings (``{data.domain: text}``). Every name is checked
before anything runs, one :class:`TableSpecError` per mistake naming the file, the field and the
fix: unknown modality, method, augmentation, protocol, metric, field, and claims naming rows or
columns the table does not have. :func:`resolve_table` turns a command-line table argument (a
registered name or a ``.yaml`` path) into its spec; :func:`dump_table` writes any spec as YAML
(the paper tables round-trip: ``load_table(dump_table(t)) == t``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from rqbench.errors import InputError
from rqbench.tables.claim import Claim
from rqbench.tables.spec import NO_AUG, PROTOCOLS, SCRATCH_METHOD, ColumnSpec, RowSpec, TableSpec

YAML_SUFFIXES = (".yaml", ".yml")
"""File endings that make a table argument a path."""

_TABLE_FIELDS = ("name", "title", "modality", "rows", "columns", "paper_table", "kind", "row_header", "x_label",
                 "y_label", "notes", "claims")  # fmt: skip
_ROW_FIELDS = tuple(f.name for f in fields(RowSpec))
_COLUMN_FIELDS = tuple(f.name for f in fields(ColumnSpec))
_CLAIM_FIELDS = tuple(f.name for f in fields(Claim) if f.name != "table")
_REQUIRED = {"table": ("name", "title", "modality", "rows", "columns"), "row": ("label",), "column": ("label",),
             "claim": ("id", "a", "b", "column")}  # fmt: skip


class TableSpecError(ValueError, InputError):
    """A table spec file that cannot be loaded; the message names the file, the field and the fix."""


def known_metrics() -> tuple[str, ...]:
    """Every metric a result row can carry: the score metrics of the probes and the segmentation mIoUs."""
    from rqbench.evaluate.metrics import SCORE_METRICS
    from rqbench.evaluate.seg_protocol import SEG_METRICS

    return (*SCORE_METRICS.names(), *SEG_METRICS)


def check_augmentation(aug: str, modality: str) -> None:
    """Build ``aug`` for ``modality`` as a run would (names, arguments and their values, stage order);
    a :class:`ValueError` (``SpecError``) names what is wrong."""
    from rqbench.modality import MODALITIES

    MODALITIES.get(modality)().pipeline(aug)


# ---------------------------------------------------------------- dump
def _plain(value: Any) -> Any:
    """Tuples as lists (YAML has no tuples)."""
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def _default(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else MISSING


def _changed(obj: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The init fields of dataclass ``obj`` that differ from their defaults (those without a default always)."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if f.name in skip or not f.init or value == _default(f):
            continue
        if f.name == "overrides":
            value = {k: _plain(v) for k, v in value}
        out[f.name] = _plain(value)
    return out


def table_to_dict(spec: TableSpec) -> dict[str, Any]:
    """``spec`` as plain data (the YAML schema); fields left at their defaults are omitted."""
    out = _changed(spec, skip=("rows", "columns", "claims", "paper_table"))
    if spec.paper_table is not None:
        out["paper_table"] = spec.paper_table
    rows = []
    for row in spec.rows:
        data = _changed(row)
        if not row.pretrain:  # the random-init row's method and aug are implied
            data.pop("method", None)
            data.pop("aug", None)
        rows.append(data)
    out["rows"] = rows
    out["columns"] = [_changed(c) for c in spec.columns]
    if spec.claims:
        claims = []
        for claim in spec.claims:
            data = _changed(claim, skip=("table",))
            data["a"] = claim.a[0] if len(claim.a) == 1 else list(claim.a)
            data["b"] = claim.b[0] if len(claim.b) == 1 else list(claim.b)
            data["paper_effect"] = claim.paper_effect  # kept even when None: absent means "from the paper"
            if claim.paper_column == claim.column:
                data.pop("paper_column", None)
            claims.append(data)
        out["claims"] = claims
    return out


def dump_table(spec: TableSpec) -> str:
    """``spec`` as a YAML document (:func:`load_table` reads it back to an equal spec)."""
    text: str = yaml.safe_dump(table_to_dict(spec), sort_keys=False, allow_unicode=True, width=120)
    return text


# ---------------------------------------------------------------- load
class _Reader:
    """Checks one spec document field by field; every error names ``source`` and the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str, fix: str) -> TableSpecError:
        return TableSpecError(f"{self.source}: {where}: {problem}; {fix}")

    def mapping(self, value: Any, where: str, kind: str) -> dict[str, Any]:
        allowed = {"table": _TABLE_FIELDS, "row": _ROW_FIELDS, "column": _COLUMN_FIELDS, "claim": _CLAIM_FIELDS}[kind]
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping of {kind} fields, got {type(value).__name__}",
                            f"write it as 'key: value' lines ({', '.join(allowed)})")  # fmt: skip
        data = {str(k): v for k, v in value.items()}
        for key in data:
            if key not in allowed:
                raise self.fail(f"{where}.{key}" if where else key, f"unknown {kind} field {key!r}",
                                f"use one of: {', '.join(allowed)}")  # fmt: skip
        for key in _REQUIRED[kind]:
            if data.get(key) in (None, "", []):
                raise self.fail(where or key, f"the {kind} has no {key!r}", f"add '{key}: ...'")
        return data

    def items(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list) or not value:
            raise self.fail(where, "expected a non-empty list", f"write {where} as a list of '- ...' entries")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise self.fail(where, f"expected text, got {value!r}", "quote it")
        return str(value)

    def labels(self, value: Any, where: str) -> tuple[str, ...]:
        values = value if isinstance(value, list) else [value]
        return tuple(self.text(v, where) for v in values)

    def overrides(self, value: Any, where: str) -> tuple[tuple[str, Any], ...]:
        if value is None:
            return ()
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping of settings, got {value!r}", "write e.g. {data.domain: text}")
        return tuple((str(k), _hashable(v)) for k, v in value.items())

    def checked(self, where: str, check: Callable[[], object], fix: str) -> None:
        try:
            check()
        except (KeyError, ValueError) as exc:
            raise self.fail(where, str(exc).rstrip("."), fix) from None


def _hashable(value: Any) -> Any:
    return tuple(_hashable(v) for v in value) if isinstance(value, list) else value


def _row(r: _Reader, value: Any, where: str, modality: str) -> RowSpec:
    from rqbench.methods import METHODS

    data = r.mapping(value, where, "row")
    data["label"] = r.text(data["label"], f"{where}.label")
    where = f"{where} ({data['label']!r})"
    method, aug = data.get("method"), data.get("aug")
    if data.get("pretrain", True) is not False:
        if method is not None and method != SCRATCH_METHOD:
            r.checked(f"{where}.method", lambda: METHODS.get(str(method)), "use a registered method (rqbench list)")
        if aug is not None:
            r.checked(f"{where}.aug", lambda: check_augmentation(str(aug), modality),
                      "use registered augmentations of this modality (rqbench list), or load your plugin with "
                      "--plugin FILE.py")  # fmt: skip
        if method is not None and aug is None:
            raise r.fail(where, "a row with a method needs an aug", f"add 'aug: {NO_AUG}' for no augmentation")
    protocol = data.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        raise r.fail(f"{where}.protocol", f"unknown protocol {protocol!r}", f"use one of: {', '.join(PROTOCOLS)}")
    data["overrides"] = r.overrides(data.get("overrides"), f"{where}.overrides")
    try:
        return RowSpec(**data)
    except (TypeError, ValueError) as exc:
        raise r.fail(where, str(exc), "fix the row's fields") from None


def _column(r: _Reader, value: Any, where: str) -> ColumnSpec:
    data = r.mapping(value, where, "column")
    data["label"] = r.text(data["label"], f"{where}.label")
    where = f"{where} ({data['label']!r})"
    protocol = data.get("protocol")
    if protocol is not None and protocol not in PROTOCOLS:
        raise r.fail(f"{where}.protocol", f"unknown protocol {protocol!r}", f"use one of: {', '.join(PROTOCOLS)}")
    metric = data.get("metric", "top1")
    metrics = known_metrics()
    if metric is not None and metric not in metrics:
        raise r.fail(f"{where}.metric", f"unknown metric {metric!r}", f"use one of: {', '.join(metrics)}")
    fraction = data.get("label_fraction", 1.0)
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise r.fail(f"{where}.label_fraction", f"expected a number in (0, 1], got {fraction!r}", "e.g. 0.01 for 1 %")
    data["overrides"] = r.overrides(data.get("overrides"), f"{where}.overrides")
    if "average_of" in data:
        data["average_of"] = r.labels(data["average_of"], f"{where}.average_of")
    try:
        return ColumnSpec(**data)
    except (TypeError, ValueError) as exc:
        raise r.fail(where, str(exc), "fix the column's fields") from None


def _claim(r: _Reader, value: Any, where: str, spec: TableSpec) -> Claim:
    from rqbench.tables.claims import paper_effect

    data = r.mapping(value, where, "claim")
    where = f"{where} ({data['id']!r})"
    rows = {row.label: row for row in spec.rows}
    measured = [label for label, row in rows.items() if row.has_runs]
    columns = [c.label for c in spec.columns]
    a, b = r.labels(data["a"], f"{where}.a"), r.labels(data["b"], f"{where}.b")
    for side, labels in (("a", a), ("b", b)):
        for label in labels:
            if label not in measured:
                why = "is a paper-only row" if label in rows else "is not a row of the table"
                raise r.fail(f"{where}.{side}", f"{label!r} {why}", f"use a measured row: {', '.join(measured)}")
    for key in ("column", "paper_column"):
        named = data.get(key)
        if named is not None and str(named) not in columns:
            raise r.fail(f"{where}.{key}", f"{named!r} is not a column of the table",
                         f"use one of: {', '.join(columns)}")  # fmt: skip
    direction = data.get("direction", 1)
    if direction not in (1, -1) or isinstance(direction, bool):
        raise r.fail(f"{where}.direction", f"expected 1 or -1, got {direction!r}", "1: a above b, -1: a below b")
    column = str(data["column"])
    effect = data["paper_effect"] if "paper_effect" in data else paper_effect(spec, a, b, column)
    try:
        return Claim(
            spec.name, str(data["id"]), a, b, column, int(direction), effect, str(data.get("sentence", "")),
            bool(data.get("on_paper_metric", True)), str(data.get("paper_column") or ""),
        )  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise r.fail(where, str(exc), "fix the claim's fields") from None


def table_from_dict(data: Any, source: str = "<table spec>") -> TableSpec:
    """The :class:`TableSpec` of a parsed YAML document; a :class:`TableSpecError` names the first mistake."""
    from rqbench.modality import MODALITIES

    r = _Reader(source)
    top = r.mapping(data, "", "table")
    modality = r.text(top["modality"], "modality")
    if modality not in MODALITIES:
        raise r.fail("modality", f"unknown modality {modality!r}",
                     f"use one of: {', '.join(MODALITIES.names())}, or load its plugin with --plugin")  # fmt: skip
    rows = tuple(_row(r, v, f"rows[{i}]", modality) for i, v in enumerate(r.items(top["rows"], "rows")))
    columns = tuple(_column(r, v, f"columns[{i}]") for i, v in enumerate(r.items(top["columns"], "columns")))
    options = {k: top[k] for k in ("paper_table", "kind", "row_header", "x_label", "y_label") if k in top}
    notes = top.get("notes") or []
    notes = [notes] if isinstance(notes, str) else notes
    if not isinstance(notes, list):
        raise r.fail("notes", f"expected a list of lines, got {notes!r}", "write each note as a '- ...' line")
    try:
        spec = TableSpec(
            name=r.text(top["name"], "name"), title=r.text(top["title"], "title"), modality=modality, rows=rows,
            columns=columns, notes=tuple(str(n) for n in notes), **options,
        )  # fmt: skip
    except (TypeError, ValueError, KeyError) as exc:
        raise r.fail("table", str(exc).strip("'\""), "fix the rows and columns named") from None
    claims = top.get("claims") or []
    if not isinstance(claims, list):
        raise r.fail("claims", "expected a list", "write each claim as a '- {id: ..., a: ..., b: ..., column: ...}'")
    found = tuple(_claim(r, v, f"claims[{i}]", spec) for i, v in enumerate(claims))
    try:
        return replace(spec, claims=found)
    except ValueError as exc:
        raise r.fail("claims", str(exc), "give every claim its own id") from None


def load_table(text: str, source: str = "<table spec>") -> TableSpec:
    """The :class:`TableSpec` of a YAML document (``source`` names it in errors)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TableSpecError(f"{source}: not valid YAML ({' '.join(str(exc).split())}); fix the syntax") from None
    return table_from_dict(data, source)


def load_table_file(path: str | Path) -> TableSpec:
    """The :class:`TableSpec` of a YAML file."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise TableSpecError(f"{path}: cannot read the table spec ({exc.strerror}); check the path") from None
    return load_table(text, str(path))


def is_table_file(arg: str) -> bool:
    """Whether a table argument names a file (ends in ``.yaml`` / ``.yml``) rather than a registered table."""
    return arg.lower().endswith(YAML_SUFFIXES)


def resolve_table(arg: str) -> TableSpec:
    """A command line's table: a registered name (``table1``) or a path to a YAML spec (``my_table.yaml``).

    A file's table may not take a registered table's name (its outputs would overwrite that table's).
    """
    from rqbench.tables.registry import TABLES

    if not is_table_file(arg):
        return TABLES.get(arg)
    spec = load_table_file(arg)
    if spec.name in TABLES:
        raise TableSpecError(
            f"{arg}: name: {spec.name!r} is a registered table; give the file's table a name of its own"
        )
    return spec


__all__ = [
    "YAML_SUFFIXES",
    "TableSpecError",
    "check_augmentation",
    "dump_table",
    "is_table_file",
    "known_metrics",
    "load_table",
    "load_table_file",
    "resolve_table",
    "table_from_dict",
    "table_to_dict",
]

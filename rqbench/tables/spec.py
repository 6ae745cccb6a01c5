"""Declarative paper tables: which runs a table needs and which result rows fill each cell.

A :class:`TableSpec` is rows x columns. A :class:`RowSpec` names a pretraining config
(method, augmentation spec, random init or not, overrides); a :class:`ColumnSpec` names an
evaluation (protocol, metric, label fraction, dataset) and may add to the run config
(``method`` for tables whose columns are methods, ``overrides`` for tables whose columns
are separately pretrained domains). A cell is the row's run evaluated the column's way;
:func:`runs_for` lists the distinct runs a set of tables needs, and
:mod:`rqbench.tables.render` fills the cells from result rows.

Paper-only rows (``method`` and ``aug`` both ``None``) and paper-only tables have no runs:
they show the published number and a missing cell for rqbench.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from rqbench.augment.spec import SpecError, parse_spec
from rqbench.evaluate.protocol import PROTOCOLS as PROTOCOLS  # re-exported by rqbench.tables
from rqbench.results import CELL_COLUMNS, COLUMNS
from rqbench.tables.claim import Claim
from rqbench.tables.paper_numbers import PAPER_TABLES, PaperValue, paper_value

SCRATCH_METHOD = "scratch"
"""The ``method`` of a random-init run (``pretrain=False``); its ``aug`` is ``"none"`` and its epochs 0."""

NO_AUG = "none"
"""The empty augmentation spec."""


RESULT_COLUMNS = COLUMNS  # the results store's columns (one row per measurement)

# Result columns a cell is selected on through dedicated fields; overrides may not set them.
_FIXED_KEYS = frozenset({*CELL_COLUMNS, "run_key"})

Overrides = tuple[tuple[str, Any], ...]
"""Extra run-config settings as sorted ``(key, value)`` pairs (hashable, so runs deduplicate)."""


def canonical_aug(spec: str) -> str:
    """The canonical form of an augmentation spec (sorted arguments, no spaces, ``none`` if empty)."""
    return str(parse_spec(spec))


def _normalize_overrides(value: Overrides | Mapping[str, Any], where: str) -> Overrides:
    pairs = list(value.items()) if isinstance(value, Mapping) else list(value)
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{where}: override keys repeat: {keys}")
    for key, val in pairs:
        if not isinstance(key, str) or not key:
            raise ValueError(f"{where}: override keys must be non-empty strings, got {key!r}")
        if key in _FIXED_KEYS:
            raise ValueError(f"{where}: {key!r} cannot be an override; set it through the spec's own field")
        try:
            hash(val)
        except TypeError:
            raise ValueError(
                f"{where}: override {key!r} must be hashable (use a tuple, not a list), got {val!r}"
            ) from None
    return tuple(sorted(pairs))


def _merge_overrides(a: Overrides, b: Overrides, where: str) -> Overrides:
    merged = dict(a)
    for key, val in b:
        if key in merged and merged[key] != val:
            raise ValueError(
                f"{where}: the row and the column set override {key!r} differently ({merged[key]!r} vs {val!r})"
            )
        merged[key] = val
    return tuple(sorted(merged.items()))


@dataclass(frozen=True)
class RunTemplate:
    """One pretraining config a table needs, without the seed (see :class:`RunRequest`).

    ``pretrain=False`` is a random-init encoder: no pretraining, ``method`` is
    :data:`SCRATCH_METHOD` and ``aug`` is ``"none"``.
    """

    modality: str
    method: str
    aug: str
    pretrain: bool = True
    overrides: Overrides = ()

    def with_seed(self, seed: int) -> RunRequest:
        """This config run with ``seed``."""
        return RunRequest(self.modality, self.method, self.aug, self.pretrain, self.overrides, seed)


@dataclass(frozen=True)
class RunRequest:
    """One run to do: a config and a seed. Equal requests are the same run."""

    modality: str
    method: str
    aug: str
    pretrain: bool
    overrides: Overrides
    seed: int

    @property
    def config(self) -> RunTemplate:
        """The config without the seed."""
        return RunTemplate(self.modality, self.method, self.aug, self.pretrain, self.overrides)


@dataclass(frozen=True)
class EvalRequest:
    """One evaluation of a run's encoder: protocol, label fraction, metric, dataset (``None``: the
    modality's evaluation dataset for the preset)."""

    protocol: str
    label_fraction: float
    metric: str
    dataset: str | None = None


@dataclass(frozen=True)
class RowSpec:
    """A table row: a display label, the paper's row label, and the run config it needs.

    Args:
        label: the row label shown in rendered tables (unique within a table).
        paper_row: the row's label in the paper table (``None``: the paper has no such row).
        method: registered method name; may come from the columns instead (Table 3).
        aug: augmentation spec string, canonicalized (``"rrc+rq(bins=8)"``, ``"none"``).
            ``method`` and ``aug`` both ``None`` (with ``pretrain=True``) is a paper-only row.
        pretrain: ``False`` for a random-init ("scratch") row; its run is method
            :data:`SCRATCH_METHOD`, aug ``"none"``, whatever the columns say.
        overrides: extra run-config settings, a dict or ``(key, value)`` pairs. Keys that are
            result columns (``epochs``, ``backbone``) also select result rows.
        protocol: the evaluation protocol when rows, not columns, differ in it (Tables 6, 7).
        x: the row's position on a figure's x axis (Figure 5: number of bins).
    """

    label: str
    paper_row: str | None = None
    method: str | None = None
    aug: str | None = None
    pretrain: bool = True
    overrides: Overrides = ()
    protocol: str | None = None
    x: float | None = None

    def __post_init__(self) -> None:
        where = f"row {self.label!r}"
        if not self.label:
            raise ValueError("a row needs a label")
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ValueError(f"{where}: unknown protocol {self.protocol!r}; protocols: {', '.join(PROTOCOLS)}")
        object.__setattr__(self, "overrides", _normalize_overrides(self.overrides, where))
        if not self.pretrain:
            if self.method not in (None, SCRATCH_METHOD) or self.aug not in (None, NO_AUG, ""):
                raise ValueError(f"{where}: a random-init row (pretrain=False) takes no method or augmentation")
            object.__setattr__(self, "method", SCRATCH_METHOD)
            object.__setattr__(self, "aug", NO_AUG)
            return
        if self.method is not None and self.aug is None:
            raise ValueError(f"{where}: a row with a method needs an aug spec (use 'none' for no augmentation)")
        if self.aug is not None:
            try:
                object.__setattr__(self, "aug", canonical_aug(self.aug))
            except SpecError as exc:
                raise ValueError(f"{where}: {exc}") from None

    @property
    def has_runs(self) -> bool:
        """Whether rqbench measures this row (``False`` for a paper-only row)."""
        return self.aug is not None


@dataclass(frozen=True)
class ColumnSpec:
    """A table column: a display label, the paper's column label, and which results fill it.

    Args:
        label: the column label shown in rendered tables (unique within a table).
        paper_column: the column's label in the paper table (``None``: no paper number, shown "—").
        protocol: evaluation protocol (one of :data:`PROTOCOLS`), unless the rows give it.
        metric: metric name of the result rows (``top1``, ``c_miou``, ``i_miou``).
        label_fraction: fraction of labelled training data of the evaluation, in (0, 1].
        dataset: evaluation dataset; ``None`` accepts any, but one cell must then see one dataset.
        method: the method of every cell in this column (when the table's columns are methods).
        overrides: run-config settings every cell of this column adds (e.g. a DABS domain).
        average_of: labels of other columns; this column is their per-seed mean (Tables 9, 10).
    """

    label: str
    paper_column: str | None = None
    protocol: str | None = None
    metric: str | None = "top1"
    label_fraction: float = 1.0
    dataset: str | None = None
    method: str | None = None
    overrides: Overrides = ()
    average_of: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"column {self.label!r}"
        if not self.label:
            raise ValueError("a column needs a label")
        if self.protocol is not None and self.protocol not in PROTOCOLS:
            raise ValueError(f"{where}: unknown protocol {self.protocol!r}; protocols: {', '.join(PROTOCOLS)}")
        if not 0.0 < float(self.label_fraction) <= 1.0:
            raise ValueError(f"{where}: label_fraction must be in (0, 1], got {self.label_fraction!r}")
        object.__setattr__(self, "label_fraction", float(self.label_fraction))
        object.__setattr__(self, "overrides", _normalize_overrides(self.overrides, where))
        object.__setattr__(self, "average_of", tuple(self.average_of))

    @property
    def is_average(self) -> bool:
        """Whether this column averages other columns."""
        return bool(self.average_of)


@dataclass(frozen=True)
class CellSpec:
    """One resolved cell: its row and column, the run and evaluation it reads, its paper key.

    ``run`` and ``evaluation`` are ``None`` for paper-only rows and for average columns.
    """

    row: RowSpec
    column: ColumnSpec
    run: RunTemplate | None
    evaluation: EvalRequest | None
    paper_key: tuple[str, str, str] | None

    @property
    def key(self) -> tuple[str, str]:
        """``(row label, column label)``."""
        return (self.row.label, self.column.label)

    @property
    def paper(self) -> PaperValue:
        """The published value (``None`` when the paper has none or the cell has no paper key)."""
        return None if self.paper_key is None else paper_value(*self.paper_key)

    def filters(self) -> dict[str, Any]:
        """Result-column equalities that select this cell's result rows (``{}`` if it reads none)."""
        if self.run is None or self.evaluation is None:
            return {}
        out: dict[str, Any] = {
            "modality": self.run.modality,
            "method": self.run.method,
            "aug": self.run.aug,
            "protocol": self.evaluation.protocol,
            "metric": self.evaluation.metric,
            "label_fraction": self.evaluation.label_fraction,
        }
        if self.evaluation.dataset is not None:
            out["dataset"] = self.evaluation.dataset
        out.update((k, v) for k, v in self.run.overrides if k in RESULT_COLUMNS)
        return out


@dataclass(frozen=True)
class TableSpec:
    """A paper table (or figure) as rows x columns; validated on construction.

    Args:
        name: registry name (``"table1"``, ``"figure5"``).
        title: display title ("Table 1: ...").
        modality: the registered modality its runs use.
        rows, columns: the table's rows and columns in display order.
        paper_table: the :data:`~rqbench.tables.paper_numbers.PAPER_TABLES` entry its paper
            keys refer to (default: ``name``).
        kind: ``"table"`` or ``"figure"`` (a figure's rows set ``x``).
        row_header: heading of the row-label column.
        x_label, y_label: axis labels of a figure.
        notes: remarks printed under the rendered table.
        claims: comparisons the table makes (:class:`~rqbench.tables.claim.Claim`), judged by
            ``rqbench claims``; each names measured rows and columns of this table (a claim's
            ``table`` may be left ``""``: it becomes ``name``). The paper tables' claims live in
            :data:`rqbench.tables.claims.CLAIMS` instead.
    """

    name: str
    title: str
    modality: str
    rows: tuple[RowSpec, ...]
    columns: tuple[ColumnSpec, ...]
    paper_table: str | None = None
    kind: Literal["table", "figure"] = "table"
    row_header: str = ""
    x_label: str = ""
    y_label: str = ""
    notes: tuple[str, ...] = ()
    claims: tuple[Claim, ...] = ()
    _cells: tuple[CellSpec, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.paper_table is None and self.name in PAPER_TABLES:
            object.__setattr__(self, "paper_table", self.name)  # a table of our own has no paper counterpart
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "notes", tuple(self.notes))
        if self.kind not in ("table", "figure"):
            raise ValueError(f"{self.name}: kind must be 'table' or 'figure', got {self.kind!r}")
        for what, labels in (("row", [r.label for r in self.rows]), ("column", [c.label for c in self.columns])):
            if len(set(labels)) != len(labels):
                raise ValueError(f"{self.name}: duplicate {what} labels: {labels}")
        object.__setattr__(self, "_cells", tuple(self._resolve(r, c) for r in self.rows for c in self.columns))
        self._check_unambiguous()
        object.__setattr__(self, "claims", tuple(self._check_claim(c) for c in self.claims))
        ids = [c.id for c in self.claims]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.name}: duplicate claim ids: {ids}")

    def _check_claim(self, claim: Claim) -> Claim:
        """``claim`` with its table set to this one; an error unless it names measured rows and real columns."""
        if not isinstance(claim, Claim):
            raise TypeError(f"{self.name}: a claim must be a Claim, got {claim!r}")
        if claim.table not in ("", self.name):
            raise ValueError(f"{self.name}: claim {claim.id!r} belongs to table {claim.table!r}")
        rows = {r.label: r for r in self.rows}
        measured = [label for label, r in rows.items() if r.has_runs]
        for label in claim.rows:
            if label not in measured:
                why = "is a paper-only row (no runs)" if label in rows else "is not a row of the table"
                raise ValueError(
                    f"{self.name}: claim {claim.id!r}: {label!r} {why}; use one of the measured rows: "
                    f"{', '.join(measured)}"
                )
        columns = [c.label for c in self.columns]
        for label in (claim.column, claim.paper_column):
            if label not in columns:
                raise ValueError(
                    f"{self.name}: claim {claim.id!r}: column {label!r} is not a column of the table; "
                    f"columns: {', '.join(columns)}"
                )
        return claim if claim.table else replace(claim, table=self.name)

    def _resolve(self, row: RowSpec, col: ColumnSpec) -> CellSpec:
        where = f"{self.name}, row {row.label!r}, column {col.label!r}"
        paper_key = None
        if row.paper_row is not None and col.paper_column is not None:
            assert self.paper_table is not None
            paper_key = (self.paper_table, row.paper_row, col.paper_column)
            try:
                paper_value(*paper_key)
            except KeyError as exc:
                raise ValueError(f"{where}: {exc}") from None
        if col.is_average:
            known = {c.label for c in self.columns if not c.is_average}
            bad = [a for a in col.average_of if a not in known]
            if bad:
                raise ValueError(f"{where}: averages unknown columns {bad}; columns: {sorted(known)}")
            return CellSpec(row, col, None, None, paper_key)
        if not row.has_runs:
            return CellSpec(row, col, None, None, paper_key)
        if row.pretrain:
            if row.method is not None and col.method is not None and row.method != col.method:
                raise ValueError(f"{where}: the row's method {row.method!r} and the column's {col.method!r} differ")
            method = row.method or col.method
            if method is None:
                raise ValueError(f"{where}: no method (set it on the row or on the column)")
        else:
            method = SCRATCH_METHOD
        if row.protocol is not None and col.protocol is not None and row.protocol != col.protocol:
            raise ValueError(f"{where}: the row's protocol {row.protocol!r} and the column's {col.protocol!r} differ")
        protocol = row.protocol or col.protocol
        if protocol is None:
            raise ValueError(f"{where}: no protocol (set it on the row or on the column)")
        if col.metric is None:
            raise ValueError(f"{where}: the column has no metric")
        assert row.aug is not None
        overrides = _merge_overrides(row.overrides, col.overrides, where)
        run = RunTemplate(self.modality, method, row.aug, row.pretrain, overrides)
        evaluation = EvalRequest(protocol, col.label_fraction, col.metric, col.dataset)
        return CellSpec(row, col, run, evaluation, paper_key)

    def _check_unambiguous(self) -> None:
        seen: dict[tuple[tuple[str, Any], ...], CellSpec] = {}
        for cell in self._cells:
            if cell.run is None:
                continue
            key = tuple(sorted(cell.filters().items()))
            other = seen.setdefault(key, cell)
            if other is not cell and other.run != cell.run:
                raise ValueError(
                    f"{self.name}: cells {other.key} and {cell.key} need different runs but select the same result "
                    f"rows; distinguish them by a result column (dataset, or an override such as epochs)"
                )

    def cells(self) -> tuple[CellSpec, ...]:
        """Every cell, row by row."""
        return self._cells

    def cell(self, row: str, column: str) -> CellSpec:
        """The cell at ``(row label, column label)``."""
        for c in self._cells:
            if c.key == (row, column):
                return c
        raise KeyError(f"{self.name} has no cell ({row!r}, {column!r})")

    def runs(self) -> tuple[RunTemplate, ...]:
        """The distinct run configs of this table, in first-use order."""
        return tuple(dict.fromkeys(c.run for c in self._cells if c.run is not None))


def _as_tables(tables: TableSpec | Iterable[TableSpec]) -> list[TableSpec]:
    return [tables] if isinstance(tables, TableSpec) else list(tables)


def runs_for(tables: TableSpec | Iterable[TableSpec], seeds: int | Iterable[int]) -> list[RunRequest]:
    """The distinct runs that ``tables`` need, each with every seed.

    ``seeds`` is a count (seeds ``0 .. seeds-1``) or explicit seeds. A config shared by two
    rows or two tables is one run. Order: seed-major (every config with the first seed,
    then every config with the next), so a partial bench already fills every cell once.
    """
    if isinstance(seeds, int):
        if seeds < 0:
            raise ValueError(f"seeds must be >= 0, got {seeds}")
        seed_list = list(range(seeds))
    else:
        seed_list = list(dict.fromkeys(int(s) for s in seeds))
    configs = dict.fromkeys(cfg for table in _as_tables(tables) for cfg in table.runs())
    return [cfg.with_seed(seed) for seed in seed_list for cfg in configs]


def evals_for(tables: TableSpec | Iterable[TableSpec], run: RunTemplate | RunRequest) -> tuple[EvalRequest, ...]:
    """The distinct evaluations that the cells of ``tables`` read from ``run``'s encoder."""
    config = run.config if isinstance(run, RunRequest) else run
    found = (
        c.evaluation for t in _as_tables(tables) for c in t.cells() if c.run == config and c.evaluation is not None
    )
    return tuple(dict.fromkeys(found))

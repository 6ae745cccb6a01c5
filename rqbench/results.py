"""The results store: each run's rows in its own directory (``runs/<key>/rows.csv``, the source of
truth, written atomically by the one process that holds the run), and ``results.csv``, an index of
every run's rows that :func:`rebuild_index` recreates from the run directories (so run directories
copied from several machines into one tree merge with no conflict). Files are read strictly.

Every row records what produced it (config, seed, commit, hardware, package versions, wall time) so a table
cell can be traced to the runs behind it. A corrupt file is an error naming the line:
rows are never silently dropped.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import math
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from rqbench.errors import InputError
from rqbench.io import write_atomic

COLUMNS: tuple[str, ...] = (
    "modality",
    "dataset",
    "method",
    "aug",
    "backbone",
    "preset",
    "epochs",
    "seed",
    "protocol",
    "label_fraction",
    "metric",
    "value",
    "commit",
    "hardware",
    "wall_time_s",
    "run_key",
    "env",
)
"""``env``: :func:`rqbench.provenance.environment_id` of the package versions (``done.json`` lists them)."""
CELL_COLUMNS: tuple[str, ...] = (
    "modality",
    "dataset",
    "method",
    "aug",
    "preset",
    "seed",
    "protocol",
    "label_fraction",
    "metric",
    "value",
)
"""The columns a table needs to place a measurement in a cell (a subset of :data:`COLUMNS`)."""
LEGACY_COLUMNS: tuple[str, ...] = COLUMNS[:-1]
"""The header before ``env`` was recorded: such rows read with ``env`` empty (unrecorded)."""
CHECK = "check"
FILE_COLUMNS: tuple[str, ...] = (*COLUMNS, CHECK)
"""The file's columns: every row ends with a check of its other fields, so a row cut anywhere
(a crash or a full disk mid-write, a careless edit) is an error naming its line, never a shorter value."""


def row_check(fields: list[str]) -> str:
    """8 hex digits of the sha256 of a row's fields as written (joined with the unit separator)."""
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:8]


NUMERIC = {"epochs": int, "seed": int, "label_fraction": float, "value": float, "wall_time_s": float}


class ResultsCorruptError(ValueError, InputError):
    """The results file cannot be read; the message names the file and line."""


class ResultsStore:
    """``results.csv`` under a results directory.

    Args:
        path: the CSV file (created on the first append).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock so concurrent runs do not lose each other's rows."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(self.path.suffix + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_rows(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        text = self.path.read_text()
        if text and not text.endswith("\n"):
            last = text.count("\n") + 1
            raise ResultsCorruptError(
                f"{self.path}:{last}: the last row is cut (no line end): the file was torn while being written; "
                f"delete that line and run `rqbench bench` again to redo its run"
            )
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None:
            return []
        legacy = tuple(header) == LEGACY_COLUMNS
        checked = tuple(header) == FILE_COLUMNS
        if tuple(header) not in (COLUMNS, LEGACY_COLUMNS, FILE_COLUMNS):
            raise ResultsCorruptError(
                f"{self.path}:1: header {header} differs from the expected columns {list(FILE_COLUMNS)}"
            )
        rows = []
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue
            if len(fields) != len(header):
                raise ResultsCorruptError(
                    f"{self.path}:{line}: expected {len(header)} fields, found {len(fields)}: {fields}"
                )
            if checked:
                *fields, check = fields
                if row_check(fields) != check:
                    raise ResultsCorruptError(
                        f"{self.path}:{line}: the row's check fails (a cut or edited row): {fields}; "
                        "delete the line and run `rqbench bench` again to redo its run"
                    )
            row: dict[str, Any] = dict(zip(COLUMNS, [*fields, ""] if legacy else fields))
            for name, kind in NUMERIC.items():
                try:
                    row[name] = kind(row[name])
                except ValueError:
                    raise ResultsCorruptError(
                        f"{self.path}:{line}: column {name!r} is not a number: {row[name]!r}"
                    ) from None
            if not math.isfinite(row["value"]):
                raise ResultsCorruptError(f"{self.path}:{line}: value is {row['value']}")
            rows.append(row)
        return rows

    def load(self) -> pd.DataFrame:
        """All rows as a DataFrame with :data:`COLUMNS` (empty if there is no file)."""
        return pd.DataFrame(self._read_rows(), columns=list(COLUMNS))

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add ``rows`` atomically; rows of a run key already present are replaced, not duplicated."""
        new = [dict(r) for r in rows]
        for row in new:
            missing = [c for c in COLUMNS if c not in row]
            if missing:
                raise ValueError(f"result row lacks column(s) {', '.join(missing)}: {row}")
        keys = {r["run_key"] for r in new}
        with self._locked():
            self.write([r for r in self._read_rows() if r["run_key"] not in keys] + new)

    def write(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace the file with ``rows`` (checked format), atomically."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(FILE_COLUMNS)
        for row in rows:
            fields = [str(row[c]) for c in COLUMNS]
            writer.writerow([*fields, row_check(fields)])
        write_atomic(self.path, buffer.getvalue())

    def rows_for(self, run_key: str) -> pd.DataFrame:
        """The rows one run produced."""
        df = self.load()
        return df[df["run_key"] == run_key]


RUN_ROWS = "rows.csv"
"""A run's own rows, in its run directory."""


def run_rows(run_dir: Path) -> ResultsStore:
    """The store of one run's rows (``run_dir/rows.csv``)."""
    return ResultsStore(Path(run_dir) / RUN_ROWS)


def rebuild_index(root: Path) -> int:
    """Rewrite ``root/results.csv`` from every ``root/runs/*/rows.csv`` (runs in key order); the row count.

    A run directory without ``rows.csv`` (unfinished) contributes nothing; a corrupt one is an error
    naming its file and line.
    """
    rows: list[dict[str, Any]] = []
    runs = Path(root) / "runs"
    for path in sorted(runs.glob(f"*/{RUN_ROWS}")) if runs.is_dir() else []:
        rows += run_rows(path.parent)._read_rows()
    ResultsStore(Path(root) / "results.csv").write(rows)
    return len(rows)

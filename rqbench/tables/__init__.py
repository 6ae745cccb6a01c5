"""Paper tables: the published numbers as data, declarative table specs, and rendering.

* :mod:`~rqbench.tables.paper_numbers`: every number of Tables 1-10 (and what Figure 5's
  text states), keyed by ``(table, row, column)``;
* :mod:`~rqbench.tables.spec`: :class:`TableSpec` / :class:`RowSpec` / :class:`ColumnSpec`,
  :func:`runs_for` (the runs a table needs) and :func:`evals_for`;
* :mod:`~rqbench.tables.paper_tables`: the paper's tables, registered in :data:`TABLES`;
* :mod:`~rqbench.tables.render`: :func:`render` (Markdown / CSV / LaTeX) and :func:`plot_figure`;
* :mod:`~rqbench.tables.claims`: the paper's claims (:data:`CLAIMS`) and :func:`evaluate_claims`;
* :mod:`~rqbench.tables.yaml_spec`: tables as YAML files (:func:`load_table_file`, :func:`dump_table`,
  :func:`resolve_table`: a registered name or a ``.yaml`` path);
* :mod:`~rqbench.tables.setting`: each modality's paper setting (:data:`SETTINGS`), for ``rqbench compare``.

Example::

    from rqbench.tables import TABLES, render, runs_for
    table = TABLES.get("table1")
    runs = runs_for(table, seeds=3)            # what `rqbench bench table1` runs
    print(render(table, results, "quick").to_markdown())
"""

from rqbench.io import write_atomic
from rqbench.tables.claims import CLAIMS, Claim, ClaimResult, GainResult, claims_for, evaluate_claims, pretraining_gains
from rqbench.tables.paper_numbers import PAPER_NUMBERS, PAPER_TABLES, PaperTable, PaperValue, paper_table, paper_value
from rqbench.tables.registry import TABLES, get_table, register_table
from rqbench.tables.render import CSV_COLUMNS, MISSING, RenderedTable, default_caption, plot_figure, render
from rqbench.tables.spec import (
    NO_AUG,
    PROTOCOLS,
    RESULT_COLUMNS,
    SCRATCH_METHOD,
    CellSpec,
    ColumnSpec,
    EvalRequest,
    RowSpec,
    RunRequest,
    RunTemplate,
    TableSpec,
    canonical_aug,
    evals_for,
    runs_for,
)
from rqbench.tables.yaml_spec import TableSpecError, dump_table, load_table, load_table_file, resolve_table

__all__ = [
    "CLAIMS",
    "CSV_COLUMNS",
    "MISSING",
    "NO_AUG",
    "PAPER_NUMBERS",
    "PAPER_TABLES",
    "PROTOCOLS",
    "RESULT_COLUMNS",
    "SCRATCH_METHOD",
    "TABLES",
    "CellSpec",
    "Claim",
    "ClaimResult",
    "ColumnSpec",
    "EvalRequest",
    "GainResult",
    "PaperTable",
    "PaperValue",
    "RenderedTable",
    "RowSpec",
    "RunRequest",
    "RunTemplate",
    "TableSpec",
    "TableSpecError",
    "canonical_aug",
    "claims_for",
    "default_caption",
    "dump_table",
    "evals_for",
    "evaluate_claims",
    "get_table",
    "load_table",
    "load_table_file",
    "paper_table",
    "paper_value",
    "plot_figure",
    "pretraining_gains",
    "register_table",
    "render",
    "resolve_table",
    "runs_for",
    "write_atomic",
]

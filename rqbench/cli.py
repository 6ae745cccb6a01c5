"""The ``rqbench`` command line (typer + rich)."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from rqbench.config import RunConfig
from rqbench.errors import InputError
from rqbench.launch import LAUNCHERS, LaunchError, Resources
from rqbench.loggers import check_loggers
from rqbench.settings import SettingError

if TYPE_CHECKING:
    from rqbench.augment.base import Augmentation
    from rqbench.tables import RenderedTable, TableSpec
    from rqbench.tables.matching import Matched

app = typer.Typer(
    name="rqbench",
    help="Benchmark Randomized Quantization and baseline augmentations for self-supervised learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
console = Console(soft_wrap=True)  # an error stays one line however narrow the terminal


@contextlib.contextmanager
def _device_errors() -> Iterator[None]:
    """A GPU out of memory as one ``error:`` line with what to try, exit status 2."""
    import torch

    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "CUDA out of memory"
        console.print(
            f"[red]error:[/red] the GPU ran out of memory ({escape(first)}); lower the batch size "
            "(--set batch_size=...), run on more GPUs (torchrun), or use --device cpu"
        )
        raise typer.Exit(2) from None


@contextlib.contextmanager
def _preemptible() -> Iterator[None]:
    """A run stopped by SIGTERM / SIGUSR1 (checkpoint written): one line, requeue under Slurm, exit status 3."""
    from rqbench.train.preemption import EXIT_PREEMPTED, Preempted, requeue_slurm_job

    try:
        yield
    except Preempted as exc:
        requeued = " (Slurm job requeued)" if requeue_slurm_job() else ""
        console.print(f"preempted: {escape(str(exc))}{requeued}")
        raise typer.Exit(EXIT_PREEMPTED) from None


@contextlib.contextmanager
def _reported(*kinds: type[Exception]) -> Iterator[None]:
    """Errors of ``kinds`` (default: :class:`~rqbench.errors.InputError`) as one ``error:`` line and exit
    status 2, no traceback."""
    caught = kinds or (InputError,)
    try:
        yield
    except caught as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


@app.callback()
def main_options(
    plugin: list[str] = typer.Option(
        [],
        "--plugin",
        help="Import a plugin file (my_aug.py) or module before the command (repeatable; also $RQBENCH_PLUGINS).",
    ),
) -> None:
    """Benchmark Randomized Quantization and baseline augmentations for self-supervised learning."""
    from rqbench.plugins import load_plugins

    with _reported():
        load_plugins(plugin)


@app.command("export")
def export_command(
    key: str = typer.Argument(..., help="Run key (see `rqbench runs`)."),
    out: Path = typer.Option(
        Path("backbone.pt"), "--out", help="Where to write the backbone (a .json is written beside it)."
    ),
    results: Path = typer.Option(Path("results"), help="Results directory."),
) -> None:
    """Write a run's pretrained encoder (normalization included) as a plain state_dict plus a JSON of how to build it.

    Load it with `rqbench.load_backbone("backbone.pt")`, or `torch.load(path, weights_only=True)`."""
    from rqbench.export import export_backbone, metadata_path

    with _reported():
        written = export_backbone(results / "runs" / key, out)
    console.print(f"written: {written} and {metadata_path(written)}")


@app.command("list")
def list_registered() -> None:
    """Show the registered augmentations, methods, modalities and tables, one line each."""
    from rqbench.augment import AUGMENTATIONS
    from rqbench.methods import METHODS
    from rqbench.modality import MODALITIES
    from rqbench.tables import TABLES

    for title, registry in (
        ("augmentations", AUGMENTATIONS),
        ("methods", METHODS),
        ("modalities", MODALITIES),
        ("tables", TABLES),
    ):
        table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
        table.add_column("name", style="cyan", no_wrap=True)
        if registry is AUGMENTATIONS:
            table.add_column("stage")
            table.add_column("modality")
        table.add_column("summary")
        entries = registry.entries()
        for e in entries:
            aug = cast("type[Augmentation]", e.obj)  # read only for AUGMENTATIONS' entries
            extra = [aug.stage.name.lower(), aug.modality or "any"] if registry is AUGMENTATIONS else []
            table.add_row(e.name, *extra, e.summary)
        blank = [""] * (len(table.columns) - 2)
        for failure in registry.failures():  # a plugin that did not import: in red, with its cause and the fix
            table.add_row(
                f"[red]{escape(failure.name)}[/red]",
                *blank,
                f"[red]BROKEN plugin ({escape(failure.target)}): {escape(failure.cause)}[/red]"
                f"\nfix: {escape(failure.fix)}",
            )
        if not entries and not registry.failures():
            table.add_row(*(["(none registered yet)"] + [""] * (len(table.columns) - 1)))
        console.print(table)


@app.command()
def doctor(
    lock: Path | None = typer.Option(
        None, help="Lock file to compare versions with (default: uv.lock of this checkout)."
    ),
) -> None:
    """Check the environment: versions against the lock, device, plugins, Debian data packages, cache and disk."""
    from rqbench.doctor import run_checks

    checks = run_checks(lock=lock)
    table = Table(title="rqbench doctor", title_justify="left", header_style="bold")
    for col in ("", "check", "found", "fix"):
        table.add_column(col)
    for c in checks:
        mark = "[green]ok[/green]" if c.ok else ("[red]FAIL[/red]" if c.required else "[yellow]warn[/yellow]")
        table.add_row(mark, escape(c.name), escape(c.detail), escape(c.fix))
    console.print(table)
    broken = [c.name for c in checks if not c.ok and c.required]
    if broken:
        console.print(f"[red]error:[/red] broken: {escape(', '.join(broken))} (fixes above)")
        raise typer.Exit(1)
    console.print("[green]all checks passed[/green]")


@app.command()
def demo(
    spec: str = typer.Option("rq(bins=8)", "--aug", help="Augmentation spec to apply, e.g. 'rq(bins=5)' or 'dacl'."),
    batch: int = typer.Option(256, help="Batch size of the demo batch."),
    size: int = typer.Option(32, help="Image side of the demo batch (B, 3, size, size)."),
    seed: int = typer.Option(0, help="Seed of the demo batch and of the augmentation draws."),
) -> None:
    """Apply an augmentation spec to a batch of smooth random RGB images and report what it did."""
    import torch

    from rqbench.augment import SpecError, build_pipeline

    gen = torch.Generator().manual_seed(seed)
    with _reported(SpecError):
        pipeline = build_pipeline(spec, generator=gen)
    # Smooth images: low-resolution noise upsampled, so channels have structure to quantize.
    low = torch.rand(batch, 3, 4, 4, generator=gen)
    x = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    start = time.perf_counter()
    y, info = pipeline.mix(pipeline(x))
    elapsed = time.perf_counter() - start
    flat_in, flat_out = x.flatten(2), y.flatten(2)
    distinct = max(len(torch.unique(flat_out[i, c])) for i in range(min(batch, 16)) for c in range(3))
    table = Table(title=f"{pipeline.spec} on {tuple(x.shape)} float32", title_justify="left")
    for col in ("max distinct values per channel", "inside [min, max]", "mean |x' - x|", "time"):
        table.add_column(col)
    inside = bool(
        (
            (flat_out >= flat_in.amin(-1, keepdim=True) - 1e-6) & (flat_out <= flat_in.amax(-1, keepdim=True) + 1e-6)
        ).all()
    )
    table.add_row(
        f"{distinct} (of {size * size} pixels)",
        str(inside),
        f"{(y - x).abs().mean().item():.4f}",
        f"{elapsed * 1e3:.1f} ms",
    )
    console.print(table)
    if info is not None:
        console.print(f"mixing: partner of sample 0 is {int(info.partner[0])}, weight {float(info.weight[0]):.3f}")


def parse_overrides(items: list[str]) -> dict[str, object]:
    """``["epochs=5", "eval={'knn_k': 50}"]`` -> ``{"epochs": 5, "eval": {"knn_k": 50}}`` (Python literals;
    bare words are strings)."""
    import ast

    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"--set expects key=value, got {item!r}")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def _resolved_config(
    modality: str,
    method: str,
    aug: str,
    preset: str,
    seed: int,
    pretrain: bool,
    overrides: list[str],
    config: Path | None,
    init_from: Path | None = None,
) -> RunConfig:
    """The run config of the CLI options: ``--config`` YAML fields, then ``--set`` overrides, on the named preset."""
    from rqbench.distributed import launched_world_size
    from rqbench.runner import make_config

    fields = read_preset_file(config) if config is not None else {}
    return make_config(
        modality,
        method,
        aug,
        preset,
        seed,
        pretrain,
        world_size=launched_world_size(),
        init_from=init_from,
        **{**fields, **parse_overrides(overrides)},
    )


def read_preset_file(path: Path) -> dict[str, object]:
    """The preset fields of a YAML file (as ``--print-config`` writes them), checked like ``--set`` values."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SettingError(f"--config {path}: cannot read it ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SettingError(f"--config {path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(data, dict):
        raise SettingError(f"--config {path}: expected a mapping of preset fields, got {type(data).__name__}")
    return data


@app.command("run")
def run_command(
    modality: str = typer.Argument(..., help="Registered modality (see `rqbench list`)."),
    method: str = typer.Option("moco", help="Registered method: moco, byol, ..."),
    aug: str = typer.Option("rq", help="Augmentation spec, e.g. 'rrc+rq(bins=8)'."),
    preset: str = typer.Option("quick", help="Preset of the modality: quick (this CPU) or paper."),
    seed: int = typer.Option(0, help="Seed of every random source."),
    scratch: bool = typer.Option(False, "--scratch", help="Evaluate a randomly initialized encoder (no pretraining)."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a preset field: --set epochs=5 (repeatable; type-checked)."
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML file of preset fields (as --print-config writes), applied before --set."
    ),
    print_config: bool = typer.Option(
        False, "--print-config", help="Print the resolved preset as YAML (with the run and pretraining keys) and exit."
    ),
    results: Path = typer.Option(Path("results"), help="Results directory (runs/ and results.csv)."),
    device: str | None = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    resume: bool = typer.Option(True, help="Continue from the run's checkpoint if one exists."),
    force: bool = typer.Option(False, "--force", help="Run again even if finished; its rows are replaced."),
    progress: bool = typer.Option(True, help="Show progress (a bar on a terminal, plain lines otherwise)."),
    logger: list[str] = typer.Option([], "--logger", help="Logger beside TensorBoard: wandb (repeatable)."),
    log_every: float = typer.Option(
        30.0, "--log-every", min=0.0, help="Seconds between progress lines off a terminal."
    ),
    init_from: Path | None = typer.Option(
        None, "--init-from", help="Start from an exported backbone (rqbench export); with --scratch: evaluate it."
    ),
) -> None:
    """Pretrain and evaluate one config, append its rows to the results (runs under torchrun too).

    A finished pretraining that differs only in evaluation settings is evaluated again, not retrained."""
    with _reported(ValueError, KeyError, ImportError):
        cfg = _resolved_config(modality, method, aug, preset, seed, not scratch, overrides, config, init_from)
        check_loggers(logger)
    if print_config:
        _print_config(cfg)
        return
    options = RunOptions(tuple(logger), log_every, init_from)
    _execute(cfg, results, device, options, resume=resume, progress=progress, force=force, evaluate_only=False)


@app.command("eval")
def eval_command(
    modality: str = typer.Argument(..., help="Registered modality."),
    method: str = typer.Option("moco", help="Method of the stored pretraining."),
    aug: str = typer.Option("rq", help="Augmentation spec of the stored pretraining."),
    preset: str = typer.Option("quick", help="Preset of the stored pretraining."),
    seed: int = typer.Option(0, help="Seed of the stored pretraining."),
    overrides: list[str] = typer.Option(
        [], "--set", help="Preset overrides; change eval.* settings to re-score (--set eval.knn_k=50)."
    ),
    config: Path | None = typer.Option(None, "--config", help="YAML file of preset fields, applied before --set."),
    results: Path = typer.Option(Path("results"), help="Results directory."),
    device: str | None = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    force: bool = typer.Option(False, "--force", help="Evaluate again even if this evaluation finished."),
) -> None:
    """Evaluate a stored pretrained encoder under the current (or overridden) evaluation settings; never pretrains."""
    with _reported(ValueError, KeyError):
        cfg = _resolved_config(modality, method, aug, preset, seed, True, overrides, config)
    _execute(cfg, results, device, RunOptions(), resume=True, progress=True, force=force, evaluate_only=True)


def _print_config(cfg: RunConfig) -> None:
    import yaml

    console.print(f"# run key {cfg.key}, pretraining key {cfg.pretrain_key}", markup=False, highlight=False)
    console.print(yaml.safe_dump(cfg.preset.to_dict(), sort_keys=True), markup=False, highlight=False, end="")


@dataclass(frozen=True)
class RunOptions:
    """How a run is watched and where its encoder starts (none of it changes a finished run's rows)."""

    loggers: tuple[str, ...] = ()
    log_every: float = 30.0
    init_from: Path | None = None


def _execute(
    cfg: RunConfig,
    results: Path,
    device: str | None,
    options: RunOptions,
    *,
    resume: bool,
    progress: bool,
    force: bool,
    evaluate_only: bool,
) -> None:
    from rqbench.distributed import init_distributed
    from rqbench.runner import Workspace, run

    with _reported(ValueError):
        env = init_distributed(device)
    workspace = Workspace(results)
    if options.init_from is not None and env.is_main:
        workspace.stage_init(cfg, options.init_from)
    if env.is_main:
        if workspace.is_done(cfg) and not force:
            status = "finished already: reusing its rows (--force runs it again)"
        elif cfg.pretrain and not force and (source := workspace.finished_pretraining(cfg)) is not None:
            status = f"evaluating the finished pretraining of run {source.name} (no pretraining)"
        else:
            status = f"run directory {workspace.run_dir(cfg)}"
        console.print(
            f"[bold]{cfg.modality}[/bold] {cfg.method} aug={cfg.aug} preset={cfg.preset.name} seed={cfg.seed}: "
            f"{escape(status)}"
        )
    with _reported(), _device_errors(), _preemptible():  # bad data found while loading it, a GPU OOM, a signal
        rows = run(
            cfg,
            workspace,
            env,
            resume=resume,
            progress=progress,
            force=force,
            evaluate_only=evaluate_only,
            loggers=options.loggers,
            log_every=options.log_every,
        )
    if env.is_main and len(rows):
        table = Table(title=f"results of run {cfg.key}", title_justify="left")
        for col in ("dataset", "protocol", "label_fraction", "metric", "value"):
            table.add_column(col)
        for r in rows.itertuples():
            table.add_row(str(r.dataset), str(r.protocol), f"{r.label_fraction:g}", str(r.metric), f"{r.value:.2f}")
        console.print(table)


@app.command("bench")
def bench_command(
    table: str = typer.Argument(
        ..., help="Table to fill: table1, table3, table4, figure5, table6, table7, table9, table10."
    ),
    preset: str = typer.Option("quick", help="Preset of every run."),
    seeds: int = typer.Option(3, min=1, help="Seeds per config (0..seeds-1); with --until-decided, the first look's."),
    results: Path = typer.Option(Path("results"), help="Results directory (runs/, results.csv, tables/)."),
    device: str | None = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    progress: bool = typer.Option(True, help="Show progress bars."),
    until_decided: bool = typer.Option(
        False,
        "--until-decided",
        help="Add seeds in looks, only to the runs of undecided claims (rqbench/sequential.py).",
    ),
    budget: str | None = typer.Option(None, help="With --until-decided: time to spend on the table, e.g. 2h, 90m."),
    max_seeds: int = typer.Option(12, min=2, help="With --until-decided: seeds per run at the last look."),
    shard_of: str = typer.Option(
        "0/1", "--shard", help="Run share i of n ('i/n'): n bench processes given 0/n..n-1/n split the table's runs."
    ),
    launcher: str = typer.Option("inline", help="inline (this process), local (submitit, --jobs at once) or slurm."),
    jobs: int = typer.Option(1, min=1, help="Jobs at once (local), or the job array's parallelism (slurm)."),
    status: bool = typer.Option(
        False, "--status", help="Show each run's state (pending/running/done/failed) and exit."
    ),
    resources_file: Path | None = typer.Option(None, "--resources", help="YAML file of job resources (see below)."),
    partition: str | None = typer.Option(None, help="Slurm partition."),
    account: str | None = typer.Option(None, help="Slurm account."),
    constraint: str | None = typer.Option(None, help="Slurm node constraint."),
    gpus_per_run: int | None = typer.Option(None, help="GPUs per run (torchrun starts one process each)."),
    processes: int | None = typer.Option(None, help="Processes per run without GPUs (gloo)."),
    nodes: int | None = typer.Option(None, help="Nodes per run."),
    cpus: int | None = typer.Option(None, help="CPUs per job task."),
    time_min: int | None = typer.Option(None, "--time", help="Time limit per job, minutes."),
    mem_gb: int | None = typer.Option(None, "--mem", help="Memory per node, GB."),
    sbatch: list[str] = typer.Option([], "--sbatch", help="Extra #SBATCH option as key=value (repeatable)."),
) -> None:
    """Run every config a paper table needs that has not finished yet, then render the table.

    With --launcher local or slurm each missing run is a job (submitit; a job array per table on
    Slurm), with torchrun inside a job that uses several processes; --status shows every run's state.
    --shard splits an inline bench over machines without a scheduler.

    --until-decided: the first look runs every row with --seeds seeds; then, at up to 5 planned looks
    up to --max-seeds, only the runs of the paper-metric claims still undecided get more seeds, until
    every claim is decided or --budget (CPU time of this process) is spent. Tests use Pocock's constant
    nominal level so the overall error rate stays 5 %; the design and its looks are kept in
    RESULTS/tables/NAME_PRESET_sequential.json (a stopped bench resumes from it)."""

    from rqbench.distributed import init_distributed, launched_world_size
    from rqbench.results import rebuild_index
    from rqbench.runner import Workspace, make_config, parse_shard, shard
    from rqbench.tables import runs_for
    from rqbench.tables.yaml_spec import resolve_table

    with _reported(ValueError, KeyError):
        spec = resolve_table(table)
        requests = runs_for(spec, seeds)
        given: dict[str, Any] = {
            "partition": partition, "account": account, "constraint": constraint, "gpus_per_run": gpus_per_run,
            "processes": processes, "nodes": nodes, "cpus": cpus, "time_min": time_min, "mem_gb": mem_gb,
        }  # fmt: skip
        resources = _resources(resources_file, given, sbatch)
        if launcher not in LAUNCHERS:
            raise LaunchError(f"unknown launcher {launcher!r}; launchers: {', '.join(LAUNCHERS)}")
        world = launched_world_size() if launcher == "inline" else resources.nodes * resources.procs_per_node
        made = [
            make_config(r.modality, r.method, r.aug, preset, r.seed, r.pretrain, world_size=world, **dict(r.overrides))
            for r in requests
        ]
        configs = shard(made, *parse_shard(shard_of))
        design, budget_s = _sequential_options(until_decided, budget, seeds, max_seeds)
        if design is not None:
            from rqbench.tables.claims import claims_for

            if launcher != "inline" or shard_of != "0/1" or status:
                raise ValueError("--until-decided runs inline on one machine: drop --launcher/--shard/--status")
            if not claims_for(spec):
                raise ValueError(f"{spec.name} has no claims to decide; --until-decided needs a table with claims")
        if launcher != "inline" or status:
            _launch_or_status(table, requests, configs, preset, results, launcher, resources, jobs, status)
            return
        env = init_distributed(device)
    if design is not None:
        with _reported(ValueError, KeyError), _device_errors(), _preemptible():
            _until_decided(spec, preset, results, design, budget_s, env, progress, world)
        _print_headline(results, preset, env.world_size, env.is_main)
        return
    share = "" if shard_of == "0/1" else f" (shard {shard_of})"
    _run_inline(f"{spec.name}{share}", configs, Workspace(results), env, progress)
    if env.is_main:
        with _reported(ValueError, KeyError):
            rebuild_index(results)  # results.csv from every run directory's rows.csv
            _render(table, preset, results, env.world_size)
        _print_headline(results, preset, env.world_size, env.is_main)


def _sequential_options(
    until_decided: bool, budget: str | None, seeds: int, max_seeds: int
) -> tuple[Any, float | None]:
    """``(design, budget seconds)`` of ``--until-decided`` (``(None, None)`` without it); bad options raise."""
    from rqbench.sequential import SequentialDesign, parse_budget

    if not until_decided:
        if budget is not None:
            raise ValueError("--budget applies to --until-decided only; add --until-decided or drop --budget")
        return None, None
    return SequentialDesign(first_seeds=seeds, max_seeds=max_seeds), parse_budget(budget) if budget else None


def _run_inline(label: str, configs: list[RunConfig], workspace: Any, env: Any, progress: bool) -> None:
    """Run the configs not finished yet, one after another in this process, with a progress bar; a run
    another process holds is skipped (it finishes there)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rqbench.runlock import RunLockedError
    from rqbench.runner import run

    todo = [c for c in configs if not workspace.is_done(c)]
    if env.is_main:
        console.print(f"{label}: {len(configs)} runs, {len(configs) - len(todo)} finished already, {len(todo)} to do")
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not (progress and env.is_main),
    )
    with _reported(), _device_errors(), _preemptible(), bar:
        task = bar.add_task(f"{label} runs", total=len(todo))
        for cfg in todo:
            try:
                run(cfg, workspace, env, progress=progress)
            except RunLockedError as exc:  # another process works on it: it is done once, there
                console.print(f"skipped: {escape(str(exc))}")
            bar.advance(task)


def _print_headline(results: Path, preset: str, world_size: int, is_main: bool) -> None:
    """The main job's last line: the verdict counts over every table with results (``rqbench report``)."""
    if not is_main:
        return
    from rqbench.report import headline

    with contextlib.suppress(ValueError, KeyError, InputError):
        console.print(headline(results, preset, world_size), markup=False, highlight=False, soft_wrap=True)


WAIT_S = 15.0
"""How often ``--until-decided`` looks again at a run another bench is doing."""


def _until_decided(
    spec: TableSpec,
    preset: str,
    results: Path,
    design: Any,
    budget_s: float | None,
    env: Any,
    progress: bool,
    world: int,
) -> None:
    """``bench --until-decided``: run look by look (rules in :mod:`rqbench.sequential`), resumable."""
    import statistics

    from rqbench.results import rebuild_index
    from rqbench.runlock import RunLockedError
    from rqbench.runner import Workspace, make_config, run
    from rqbench.sequential import (
        Look,
        SequentialState,
        cpu_seconds,
        load_state,
        round_budget_ok,
        state_path,
        undecided,
    )
    from rqbench.tables.claims import claims_for, claims_markdown, evaluate_claims, pretraining_gains

    path = state_path(results, spec.name, preset)
    state = load_state(results, spec.name, preset) or SequentialState(spec.name, preset, design)
    if state.design != design:
        raise ValueError(
            f"{path} holds a design with --seeds {state.design.first_seeds} --max-seeds {state.design.max_seeds}; "
            f"rerun with those to resume it, or delete the file to start a new design"
        )
    claim_runs = {
        c.id: {cell.run for cell in spec.cells() if cell.run is not None and cell.row.label in c.rows
               and cell.column.label == c.column}
        for c in claims_for(spec)
    }  # fmt: skip
    workspace = Workspace(results)
    spent_before, began = state.spent_s, cpu_seconds()
    durations: list[float] = []
    wanted = list(dict.fromkeys(spec.runs()))  # the first look runs every row (the random-init row too)
    nominal = design.nominal_alpha
    if env.is_main:
        console.print(
            f"{spec.name} until decided: looks at {', '.join(map(str, design.looks))} seeds, Pocock constant "
            f"{design.constant:.3f} (nominal level {nominal:.4f}, overall {design.alpha:g})"
            + (f", CPU budget {budget_s / 3600:.2f} h ({state.spent_s / 3600:.2f} h spent)" if budget_s else "")
        )

    def judge() -> list[Any]:
        rebuild_index(results)
        rendered, _ = _rendered(spec, preset, results, world)
        return evaluate_claims(spec, rendered.per_seed, alpha=nominal)

    state.stopped = ""
    for number, seeds in enumerate(design.looks):
        todo = [
            cfg
            for t in wanted
            for s in range(seeds)
            if not workspace.is_done(
                cfg := make_config(t.modality, t.method, t.aug, preset, s, t.pretrain, world_size=world,
                                   **dict(t.overrides))
            )
        ]  # fmt: skip
        elsewhere = []
        for cfg in todo:
            estimate = statistics.median(durations) if durations else 0.0
            if not round_budget_ok(state.spent_s, budget_s, estimate):
                state.stopped = f"CPU budget spent at look {number + 1} ({state.spent_s / 3600:.2f} h)"
                break
            started = cpu_seconds()
            try:
                run(cfg, workspace, env, progress=progress)
                durations.append(cpu_seconds() - started)
            except RunLockedError as exc:  # another bench (a table sharing the run) works on it
                console.print(f"waiting for it at the look: {escape(str(exc))}")
                elsewhere.append(cfg)
            state.spent_s = spent_before + cpu_seconds() - began
            if env.is_main:
                state.save(path)
        while elsewhere and not state.stopped:  # the look needs those runs too
            elsewhere = [c for c in elsewhere if not workspace.is_done(c) and workspace.run_dir(c).joinpath(
                "run.lock").exists()]  # fmt: skip
            if elsewhere:
                time.sleep(WAIT_S)
        if not env.is_main:
            continue
        found = judge()
        left = undecided((r.claim.id, r.verdict, r.claim.on_paper_metric) for r in found)
        state.spent_s = spent_before + cpu_seconds() - began
        look = Look(seeds, left, len(todo), round(state.spent_s, 1))
        state.looks = [*state.looks[:number], look]
        paper = [r for r in found if r.claim.on_paper_metric]
        console.print(
            f"look {number + 1}/{len(design.looks)} ({seeds} seeds): {len(paper) - len(left)} of {len(paper)} "
            f"paper-metric claims decided; undecided: {', '.join(left) or 'none'}"
        )
        if not left:
            state.stopped = state.stopped or f"every paper-metric claim decided at look {number + 1}"
        elif number == len(design.looks) - 1:
            state.stopped = state.stopped or f"max seeds ({seeds}) reached"
        state.save(path)
        if state.stopped:
            break
        wanted = list(dict.fromkeys(t for cid in left for t in claim_runs[cid]))
    if env.is_main:
        console.print(f"stopped: {state.stopped}; state in {path}")
        rendered = _render(spec, preset, results, world)
        found = evaluate_claims(spec, rendered.per_seed, alpha=nominal)
        text = claims_markdown(spec, found, pretraining_gains(spec, rendered.per_seed))
        console.print(text, markup=False, highlight=False, soft_wrap=True)


def _resources(path: Path | None, given: dict[str, Any], sbatch: list[str]) -> Resources:
    """Job resources: the YAML file's fields, then the flags given."""
    base = Resources.from_yaml(path) if path is not None else Resources()
    extra = dict(base.sbatch)
    for item in sbatch:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LaunchError(f"--sbatch expects key=value (e.g. qos=high), got {item!r}")
        extra[key] = value
    return dataclasses.replace(base, **{k: v for k, v in given.items() if v is not None}, sbatch=extra)


def _launch_or_status(
    table: str,
    requests: list[Any],
    configs: list[RunConfig],
    preset: str,
    results: Path,
    launcher: str,
    resources: Resources,
    jobs: int,
    status: bool,
) -> None:
    """``--status``: every run's state; else submit the missing runs as jobs (and, locally, wait and render)."""
    from rqbench.launch import launch, run_command
    from rqbench.results import rebuild_index
    from rqbench.runner import Workspace
    from rqbench.runs_index import run_state
    from rqbench.tables.yaml_spec import resolve_table

    workspace = Workspace(results)
    by_key = {c.key: r for c, r in zip(configs, requests)}
    if status:
        view = Table(title=f"{table}: {len(configs)} runs", title_justify="left", header_style="bold")
        for col in ("key", "method", "aug", "seed", "state", "where"):
            view.add_column(col)
        for cfg in configs:
            state, where = run_state(workspace.run_dir(cfg))
            view.add_row(cfg.key, cfg.method, escape(cfg.aug), str(cfg.seed), state, escape(where))
        console.print(view)
        return
    todo = [c for c in configs if not workspace.is_done(c)]
    commands = []
    for cfg in todo:
        r = by_key[cfg.key]
        commands.append(
            run_command(r.modality, r.method, r.aug, preset, r.seed, r.pretrain, r.overrides, results, resources)
        )
    folder = results / "launcher" / resolve_table(table).name
    console.print(
        f"{table}: {len(configs)} runs, {len(configs) - len(todo)} finished already, {len(todo)} submitted ({launcher})"
    )
    with _reported(ValueError, RuntimeError):
        submitted = launch(commands, launcher, folder, resources, jobs) if commands else []
    if launcher == "slurm":
        ids = ", ".join(sorted({j.job_id.split("_")[0] for j in submitted}))
        console.print(f"submitted job array {ids}; logs in {folder}; watch with `rqbench bench {table} --status`")
        return
    with _reported(ValueError, KeyError):
        rebuild_index(results)
        _render(table, preset, results, resources.nodes * resources.procs_per_node)


def _rendered(table: str | TableSpec, preset: str, results: Path, world_size: int = 1) -> tuple[RenderedTable, Matched]:
    """The table (a name, a YAML file or a spec) filled from the results of its preset (``match_runs`` then
    ``render``), and the match."""
    from rqbench.report import fill_table
    from rqbench.results import ResultsStore
    from rqbench.tables.yaml_spec import resolve_table

    spec = resolve_table(table) if isinstance(table, str) else table
    return fill_table(spec, ResultsStore(results / "results.csv").load(), preset, results / "runs", world_size)


def _render(table: str | TableSpec, preset: str, results: Path, world_size: int = 1) -> RenderedTable:
    from rqbench.tables import plot_figure

    rendered, matched = _rendered(table, preset, results, world_size)
    spec = rendered.table
    written = rendered.write(results / "tables")
    if spec.kind == "figure":
        png = results / "tables" / f"{spec.name}_{preset}.png"
        written["png"] = plot_figure(spec, matched.rows, png, preset=preset, caption=rendered.caption)
    console.print(rendered.to_markdown(), markup=False, highlight=False, soft_wrap=True)
    if matched.ignored:
        console.print(matched.report(spec.name), markup=False, highlight=False, soft_wrap=True)
    console.print(f"written: {', '.join(str(p) for p in written.values())}")
    return rendered


@app.command("table")
def table_command(
    table: str = typer.Argument(..., help="Table to render (see `rqbench list`), or a YAML table spec file."),
    preset: str = typer.Option("quick", help="Preset whose results fill the table."),
    results: Path = typer.Option(Path("results"), help="Results directory."),
    world_size: int = typer.Option(
        1, min=1, help="Processes the table's runs pretrained with (runs with another count are left out)."
    ),
) -> None:
    """Render a paper table from the results (Markdown, CSV, LaTeX; PNG for figures), the paper's numbers beside ours.

    A cell takes only runs whose whole resolved configuration is the table's preset for that
    cell; other runs of the table's rows are counted and named with the settings that differ.
    Under a table with claims (see `rqbench claims`): each claim's verdict and the pretraining gain."""
    from rqbench.sequential import nominal_alpha
    from rqbench.tables.claims import claims_for, claims_markdown, evaluate_claims, pretraining_gains

    with _reported(ValueError, KeyError):
        rendered = _render(table, preset, results, world_size)
        if claims_for(rendered.table):
            alpha = nominal_alpha(results, rendered.table, preset)
            found = evaluate_claims(rendered.table, rendered.per_seed, alpha=alpha)
            gains = pretraining_gains(rendered.table, rendered.per_seed)
            console.print(claims_markdown(rendered.table, found, gains), markup=False, highlight=False, soft_wrap=True)


@app.command("claims")
def claims_command(
    tables: list[str] | None = typer.Argument(
        None, help="Tables to judge, by name or YAML table spec file (default: every paper table with claims)."
    ),
    preset: str = typer.Option("quick", help="Preset whose results are judged."),
    results: Path = typer.Option(Path("results"), help="Results directory."),
    world_size: int = typer.Option(1, min=1, help="Processes the table's runs pretrained with."),
    csv_path: Path | None = typer.Option(None, "--csv", help="Write every claim's statistics and verdict as CSV."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the claims, gains and counts as JSON."),
) -> None:
    """The paper's claims tested on the results: per claim the paired difference over seeds, its 95 % interval,
    Holm-adjusted p and verdict; per table the pretraining gain over random init; the counts per verdict.

    The per-seed values behind the verdicts go to RESULTS/tables/NAME_PRESET_seeds.csv; the rules are in
    rqbench/stats.py."""
    from rqbench.io import write_atomic
    from rqbench.sequential import nominal_alpha
    from rqbench.tables import claims

    found: list[claims.ClaimResult] = []
    gains: list[claims.GainResult] = []
    with _reported(ValueError, KeyError):
        for name in tables or list(claims.CLAIMS):
            rendered, matched = _rendered(name, preset, results, world_size)
            spec = rendered.table
            if not claims.claims_for(spec):
                raise ValueError(f"{spec.name} has no claims; tables with claims: {', '.join(claims.CLAIMS)}")
            part = claims.evaluate_claims(spec, rendered.per_seed, alpha=nominal_alpha(results, spec, preset))
            part_gains = claims.pretraining_gains(spec, rendered.per_seed)
            seeds = rendered.per_seed.to_csv(index=False, lineterminator="\n")
            written = write_atomic(results / "tables" / f"{spec.name}_{preset}_seeds.csv", seeds)
            text = claims.claims_markdown(spec, part, part_gains)
            if matched.ignored:  # why a claim's rows may have no seeds
                text += "\n" + matched.report(spec.name) + "\n"
            console.print(text, markup=False, highlight=False, soft_wrap=True)
            console.print(f"per-seed values: {written}\n")
            found += part
            gains += part_gains
    counts = claims.counts_markdown(found)
    console.print("Verdict counts:\n" + counts, markup=False, highlight=False, soft_wrap=True)
    if csv_path is not None:
        csv_text = claims.results_frame(found).to_csv(index=False, lineterminator="\n")
        console.print(f"written: {write_atomic(csv_path, csv_text)}")
    if json_path is not None:
        console.print(f"written: {write_atomic(json_path, claims.claims_json(found, gains, preset=preset))}")


@app.command("compare")
def compare_command(
    augs: list[str] = typer.Argument(..., help="Augmentation specs to compare, e.g. negate 'rq(bins=2)'."),
    modalities: str = typer.Option(
        "images,audio,points,dabs", help="Comma-separated modalities (each needs a paper setting)."
    ),
    against: list[str] | None = typer.Option(
        None,
        "--against",
        help="Augmentations to compare with, comma-separated or repeated (default per modality: the paper's "
        "domain-agnostic set; the base view alone and RQ with the paper's bins are always in).",
    ),
    method: str | None = typer.Option(None, help="Method of every run (default: each modality's paper method)."),
    preset: str = typer.Option("quick", help="Preset of every run."),
    seeds: int = typer.Option(3, min=1, help="Seeds per config (0..seeds-1); with --until-decided, the first look's."),
    results: Path = typer.Option(Path("results"), help="Results directory (runs/, results.csv, tables/)."),
    device: str | None = typer.Option(None, help="cpu or cuda (default: cuda when available)."),
    progress: bool = typer.Option(True, help="Show progress."),
    until_decided: bool = typer.Option(
        False, "--until-decided", help="Per modality, add seeds only to the runs of undecided AUG - RQ claims."
    ),
    budget: str | None = typer.Option(None, help="With --until-decided: CPU time per modality, e.g. 2h."),
    max_seeds: int = typer.Option(12, min=2, help="With --until-decided: seeds per run at the last look."),
) -> None:
    """Compare augmentations with the paper's domain-agnostic ones and RQ on every modality, in one command.

    Each augmentation is added to the modality's base view where the paper's tables put RQ, so runs they
    finished are reused; only missing runs run (here, one after another). Writes per modality
    RESULTS/tables/compare_MODALITY_PRESET.{md,csv,tex} (and its spec as compare_MODALITY.yaml, which
    `rqbench table` and `rqbench claims` accept) with compare_MODALITY_views_PRESET.png (real samples and
    each compared augmentation's views, as `rqbench show`), and the cross-modal summary
    RESULTS/tables/compare_summary_PRESET.{md,csv,tex,png}: the gain over the base view with its 95 %
    interval and the verdict against RQ (at a sequential design's nominal level where one chose seed counts).
    With --until-decided each modality's table is seeded as `bench --until-decided` does (its claims: each
    augmentation - RQ), --budget per modality."""
    from rqbench import compare, stats
    from rqbench.distributed import init_distributed, launched_world_size
    from rqbench.io import write_atomic
    from rqbench.results import rebuild_index
    from rqbench.runner import Workspace
    from rqbench.sequential import nominal_alpha
    from rqbench.tables.yaml_spec import dump_table

    with _reported(ValueError, KeyError):
        chosen = compare.split_terms(against) if against else None
        specs = compare.compare_specs(augs, compare.split_terms([modalities]), chosen, method)
        world = launched_world_size()
        configs = compare.compare_configs(specs, seeds, preset, world)
        design, budget_s = _sequential_options(until_decided, budget, seeds, max_seeds)
        env = init_distributed(device)
    if design is not None:
        with _reported(ValueError, KeyError), _device_errors(), _preemptible():
            for spec in specs:
                _until_decided(spec, preset, results, design, budget_s, env, progress, world)
    else:
        _run_inline("compare", configs, Workspace(results), env, progress)
    if not env.is_main:
        return
    with _reported(ValueError, KeyError):
        rebuild_index(results)
        rendered = []
        for spec in specs:
            filled = _render(spec, preset, results, env.world_size)
            write_atomic(results / "tables" / f"{spec.name}.yaml", dump_table(spec))
            rendered.append(filled)
        alpha = min((nominal_alpha(results, r.table, preset) for r in rendered), default=stats.ALPHA)
        summary = compare.summarize(rendered, alpha)
        written = compare.write_summary(summary, results / "tables", preset)
        pictures, no_pictures = compare.write_views(specs, results / "tables", preset)
    console.print(compare.summary_markdown(summary, preset), markup=False, highlight=False, soft_wrap=True)
    console.print(f"written: {', '.join(str(p) for p in [*written.values(), *pictures.values()])}")
    for modality, why in no_pictures.items():
        console.print(f"no view pictures for {modality}: {why}")


@app.command("show")
def show_command(
    modality: str = typer.Argument(..., help="Registered modality."),
    aug: list[str] = typer.Option(
        [],
        "--aug",
        help="Augmentation spec, one picture row each (repeatable; default: the modality's show_specs).",
    ),
    n: int = typer.Option(8, min=1, help="Number of real samples (columns)."),
    preset: str = typer.Option("quick", help="Preset whose data is shown."),
    seed: int = typer.Option(0, help="Seed of the sample choice and the augmentation draws."),
    out: Path | None = typer.Option(None, help="PNG path (default results/figures/MODALITY_views.png)."),
) -> None:
    """Draw real samples and their augmented views (like the paper's Figures 2, 4 and 6)."""
    from rqbench.augment.spec import validate_spec
    from rqbench.modality import MODALITIES

    with _reported(ValueError, KeyError, NotImplementedError):
        instance = MODALITIES.get(modality)()
        chosen = instance.preset(preset)
        specs = aug or list(instance.show_specs)
        for spec in specs:
            validate_spec(spec, modality)
        path = instance.show(chosen, specs, n, out or Path("results") / "figures" / f"{modality}_views.png", seed)
    console.print(f"written: {path}")


results_app = typer.Typer(help="The results index (results.csv).", no_args_is_help=True)
app.add_typer(results_app, name="results")


@results_app.command("rebuild")
def results_rebuild(results: Path = typer.Option(Path("results"), help="Results directory.")) -> None:
    """Rebuild results.csv from every run directory's rows.csv (after copying runs from other machines)."""
    from rqbench.results import rebuild_index

    with _reported(ValueError):
        count = rebuild_index(results)
    console.print(f"results.csv: {count} rows from {results / 'runs'}")


runs_app = typer.Typer(
    help="List and remove runs of a results directory.", no_args_is_help=False, invoke_without_command=True
)
app.add_typer(runs_app, name="runs")


@runs_app.callback()
def runs_list(
    ctx: typer.Context,
    results: Path = typer.Option(Path("results"), help="Results directory."),
    modality: str | None = typer.Option(None, help="Only runs of this modality."),
    method: str | None = typer.Option(None, help="Only runs of this method."),
    aug: str | None = typer.Option(None, help="Only runs with this augmentation spec."),
    status: str | None = typer.Option(None, help="Only runs with this status: done, partial or failed."),
) -> None:
    """List runs: key, modality, method, aug, seed, world size, status, wall time, size on disk."""
    from rqbench.runs_index import STATUSES, list_runs

    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in STATUSES:
        console.print(f"[red]error:[/red] --status must be one of {', '.join(STATUSES)}, got {escape(status)!r}")
        raise typer.Exit(2)
    infos = list_runs(results, modality=modality, method=method, aug=aug, status=status)
    table = Table(title=f"{len(infos)} run(s) in {results / 'runs'}", title_justify="left", header_style="bold")
    for col in ("key", "modality", "method", "aug", "seed", "world", "status", "wall", "size"):
        table.add_column(col)
    colour = {"done": "green", "partial": "yellow", "failed": "red"}
    for i in infos:
        wall = f"{i.wall_time_s:.0f} s" if i.wall_time_s is not None else ""
        table.add_row(
            i.key,
            i.modality,
            i.method,
            escape(i.aug),
            str(i.seed),
            str(i.world_size),
            f"[{colour[i.status]}]{i.status}[/]",
            wall,
            f"{i.size_bytes / 2**20:.1f} MB",
        )
    console.print(table)


@runs_app.command("rm")
def runs_rm(
    keys: list[str] = typer.Argument(None, help="Run keys to remove."),
    failed: bool = typer.Option(False, "--failed", help="Remove every failed run."),
    results: Path = typer.Option(Path("results"), help="Results directory."),
) -> None:
    """Remove runs by key, or every failed run (--failed)."""
    from rqbench.runs_index import list_runs, remove_run

    infos = {i.key: i for i in list_runs(results)}
    chosen = [i for i in infos.values() if i.status == "failed"] if failed else []
    unknown = [k for k in keys or [] if k not in infos]
    if unknown:
        console.print(
            f"[red]error:[/red] no run {escape(unknown[0])!r} in {results / 'runs'} (`rqbench runs` lists them)"
        )
        raise typer.Exit(2)
    chosen += [infos[k] for k in keys or [] if infos[k] not in chosen]
    if not chosen:
        console.print("[red]error:[/red] name run keys to remove, or --failed for every failed run")
        raise typer.Exit(2)
    for info in chosen:
        remove_run(info)
        console.print(
            f"removed {info.key} ({info.status}, {info.modality} {info.method} {escape(info.aug)} seed {info.seed})"
        )


@app.command("report")
def report_command(
    preset: str = typer.Option("quick", help="Preset whose results are reported."),
    results: Path = typer.Option(Path("results"), help="Results directory (only read)."),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for REPORT.md and report.html (default: the results directory)."
    ),
    world_size: int = typer.Option(1, min=1, help="Processes the tables' runs pretrained with."),
) -> None:
    """Write the reproduction report: REPORT.md and report.html (offline, every figure) with each table that has
    results, its claims and verdicts, pretraining gains, CPU time and figures; the verdict counts at the top."""
    from rqbench.report import collect, headline_of, write_report

    with _reported(ValueError, KeyError):
        report = collect(results, preset, world_size)
        written = write_report(report, out if out is not None else results)
    console.print(headline_of(report), markup=False, highlight=False, soft_wrap=True)
    console.print(f"written: {', '.join(str(p) for p in written)}", markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point of the ``rqbench`` script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

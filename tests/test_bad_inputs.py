"""A fuzz suite of bad inputs: each is one clear error (exit 2 on the CLI, a ValueError/TypeError naming
the argument in the API), never a traceback, and nothing is trained or written."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from rqbench.cli import app

runner = CliRunner()
RUN = ["run", "blobs", "--no-progress"]

# (arguments, a fragment of the one error line)
CLI_CASES: list[tuple[list[str], str]] = [
    (["run", "nope"], "unknown modality 'nope'"),
    ([*RUN, "--method", "simclr"], "unknown method 'simclr'"),
    ([*RUN, "--preset", "paper"], "has no preset 'paper'"),
    ([*RUN, "--aug", "rqq"], "unknown augmentation 'rqq'"),
    ([*RUN, "--aug", "rq(bins=0)"], "bins must be >= 1"),
    ([*RUN, "--aug", "rq(bins=2)(p=1)"], "one argument list per term"),
    ([*RUN, "--aug", "rq(bins=1000000000)"], "bins must be <= 65536"),
    ([*RUN, "--aug", "rq(bins=2"], "unbalanced '('"),
    ([*RUN, "--aug", "rq(bins=2))"], "unbalanced ')'"),
    ([*RUN, "--aug", "rq+"], "empty term"),
    ([*RUN, "--aug", "+rq"], "empty term"),
    ([*RUN, "--aug", "rq(8)"], "arguments must be named"),
    ([*RUN, "--aug", "rq(bins=2,bins=3)"], "given twice"),
    ([*RUN, "--aug", "rq(nosuch=1)"], "has no argument 'nosuch'"),
    ([*RUN, "--aug", "imix+emix"], "more than one mixing augmentation"),
    ([*RUN, "--aug", "imix+rq"], "must come before"),
    ([*RUN, "--aug", "none+rq"], "'none' cannot be combined"),
    ([*RUN, "--aug", "rq(p=2)"], "p must lie in [0, 1]"),
    ([*RUN, "--aug", "rq(spacing=weird)"], "spacing"),
    ([*RUN, "--aug", "rq(values=weird)"], "values"),
    ([*RUN, "--aug", "dacl(alpha=2)"], "dacl alpha must lie in [0, 1]"),
    ([*RUN, "--aug", "mixup(alpha=-1)"], "mixup alpha must be a finite number > 0"),
    ([*RUN, "--aug", "rq(bins=x)"], "bins"),
    ([*RUN, "--aug", "rq(bins=__import__)"], "bins"),
    ([*RUN, "--aug", "rrc+rq"], "specific to the 'images' modality"),
    ([*RUN, "--aug", "rq(channel_dim=9)"], "fails on the blobs data"),
    ([*RUN, "--set", "epochs=1.5"], "epochs must be a whole number, got 1.5"),
    ([*RUN, "--set", "epochs=abc"], "epochs must be a whole number, got 'abc'"),
    ([*RUN, "--set", "epochs=-1"], "epochs = -1: must be >= 0"),
    ([*RUN, "--set", "batch_size=0"], "batch_size = 0: must be >= 1"),
    ([*RUN, "--set", "batch_size=300"], "batch_size = 300: must be at most the pretraining set's 256 samples"),
    ([*RUN, "--set", "lr=0"], "lr = 0.0: must be > 0"),
    ([*RUN, "--set", "lr=-1"], "lr = -1.0: must be > 0"),
    ([*RUN, "--set", "weight_decay=-0.1"], "weight_decay = -0.1: must be >= 0"),
    ([*RUN, "--set", "momentum=2"], "momentum = 2.0: must be in [0, 1]"),
    ([*RUN, "--set", "warmup_epochs=-5"], "warmup_epochs = -5.0: must be in [0, epochs = 2]"),
    ([*RUN, "--set", "warmup_epochs=10"], "warmup_epochs = 10.0: must be in [0, epochs = 2]"),
    ([*RUN, "--set", "schedule=poly"], "schedule = 'poly': must be cosine or step"),
    ([*RUN, "--set", "lr_scaling=maybe"], "lr_scaling must be true or false"),
    ([*RUN, "--set", "amp=sometimes"], "amp must be true or false"),
    ([*RUN, "--set", "nosuch=1"], "unknown preset field(s) nosuch"),
    ([*RUN, "--set", "eval.nosuch=1"], "unknown evaluation setting 'nosuch'"),
    ([*RUN, "--set", "eval.knn_k=0"], "eval.knn_k = 0: must be >= 1"),
    ([*RUN, "--set", "eval.protocols=('nosuch',)"], "eval.protocols = ('nosuch',): must be a non-empty tuple"),
    ([*RUN, "--set", "eval.protocols=()"], "eval.protocols = (): must be a non-empty tuple"),
    ([*RUN, "--set", "eval.label_fractions=(2.0,)"], "eval.label_fractions = (2.0,): must be"),
    ([*RUN, "--set", "eval.label_fractions=(0.0,)"], "eval.label_fractions = (0.0,): must be"),
    ([*RUN, "--set", "eval.label_fractions=0.5"], "eval.label_fractions must be a tuple"),
    ([*RUN, "--set", "eval.val_fraction=1.5"], "eval.val_fraction = 1.5: must be in [0, 1)"),
    ([*RUN, "--set", "eval.patience=3"], "eval.patience = 3: must be >= 1, with eval.val_fraction > 0"),
    ([*RUN, "--set", "eval.linear_epochs=0"], "eval.linear_epochs = 0: must be >= 1"),
    ([*RUN, "--set", "eval.knn_temperature=0"], "eval.knn_temperature = 0.0: must be > 0"),
    ([*RUN, "--set", "eval.monitor_every=0"], "eval.monitor_every = 0: must be >= 1"),
    ([*RUN, "--set", "checkpoint_every=-1"], "checkpoint_every = -1: must be >= 0"),
    ([*RUN, "--set", "num_workers=-2"], "num_workers = -2: must be >= 0"),
    ([*RUN, "--set", "milestones=(-1,)"], "milestones = (-1,): must be epochs >= 0"),
    ([*RUN, "--set", "data.n=0"], "the pretraining set is empty"),
    ([*RUN, "--set", "epochs"], "--set expects key=value"),
    ([*RUN, "--device", "gpu"], "unknown device 'gpu'"),
    ([*RUN, "--device", "nosuch"], "unknown device 'nosuch'"),
    ([*RUN, "--logger", "nosuch"], "unknown logger 'nosuch'"),
    ([*RUN, "--init-from", "missing.pt"], "cannot read the backbone's metadata"),
    ([*RUN, "--config", "missing.yaml"], "--config missing.yaml: cannot read it"),
    (["bench", "table99"], "unknown table 'table99'"),
    (["bench", "blobs-table", "--shard", "2/2"], "0 <= i < n"),
    (["bench", "blobs-table", "--shard", "x"], "shard must look like 'i/n'"),
    (["table", "table99"], "unknown table 'table99'"),
    (["runs", "--status", "nosuch"], "--status must be one of"),
    (["runs", "rm", "nosuch"], "no run 'nosuch'"),
    (["runs", "rm"], "name run keys to remove"),
    (["export", "nosuch"], "is not a run directory"),
    (["eval", "blobs", "--aug", "rq(bins=3)"], "no finished pretraining"),
    (["show", "blobs"], "does not draw pictures"),
    (["--plugin", "missing_plugin.py", "list"], "plugin 'missing_plugin.py': no such file"),
    (["--plugin", "no_such_module_xyz", "list"], "plugin 'no_such_module_xyz' failed to import"),
    (["demo", "--aug", "rq(bins=-3)"], "bins must be >= 1"),
]
if torch.cuda.is_available():  # pragma: no cover - only without a GPU is cuda a bad device
    CLI_CASES = [c for c in CLI_CASES if "--device" not in c[0]]
else:
    CLI_CASES.append(([*RUN, "--device", "cuda"], "this machine has no CUDA GPU"))


@pytest.mark.parametrize(("args", "fragment"), CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_cli_bad_input_is_one_clear_line(args: list[str], fragment: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    results = ["--results", str(tmp_path / "results")] if args[0] in ("run", "bench", "table", "eval", "export") else []
    if args[0] == "runs":
        results = ["--results", str(tmp_path / "results")]
    result = runner.invoke(app, [*args, *results], env={"COLUMNS": "300"})
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # an error line, not a crash
    assert fragment in text and "Traceback" not in result.output, result.output
    assert text.count("error:") <= 1
    trained = list((tmp_path / "results").rglob("metrics.jsonl")) + list((tmp_path / "results").rglob("checkpoint.pt"))
    assert not trained and not (tmp_path / "results" / "results.csv").exists()


def test_cli_config_file_errors(tmp_path: Path) -> None:
    bad_yaml, not_mapping = tmp_path / "bad.yaml", tmp_path / "list.yaml"
    bad_yaml.write_text("epochs: [1, 2\n")
    not_mapping.write_text("- 1\n- 2\n")
    for path, fragment in ((bad_yaml, "not valid YAML"), (not_mapping, "expected a mapping of preset fields")):
        result = runner.invoke(app, [*RUN, "--config", str(path), "--results", str(tmp_path)], env={"COLUMNS": "300"})
        assert result.exit_code == 2 and fragment in result.output and "Traceback" not in result.output


def _api_cases() -> list[tuple[str, object, type[BaseException], str]]:
    from rqbench.augment import RandomizedQuantization, build_pipeline, parse_spec, randomized_quantization
    from rqbench.augment.base import Stage
    from rqbench.augment.views import Views
    from rqbench.config import RunConfig
    from rqbench.distributed import check_device
    from rqbench.export import load_backbone
    from rqbench.plugins import import_plugin
    from rqbench.preset import EvalSettings, Preset
    from rqbench.runner import make_config
    from rqbench.settings import coerce, parse_bool

    preset = make_config("blobs", "moco", "none").preset
    return [
        ("RQ bins=0", lambda: RandomizedQuantization(bins=0), ValueError, "bins"),
        ("RQ bins str", lambda: RandomizedQuantization(bins="8"), TypeError, "bins"),
        ("RQ p=2", lambda: RandomizedQuantization(8, p=2.0), ValueError, "p must lie in [0, 1]"),
        ("RQ spacing", lambda: RandomizedQuantization(8, spacing="weird"), ValueError, "spacing"),
        (
            "RQ int input",
            lambda: randomized_quantization(torch.ones(2, 3, dtype=torch.int64), 4),
            TypeError,
            "floating-point",
        ),
        ("RQ NaN input", lambda: randomized_quantization(torch.tensor([[math.nan, 1.0]]), 4), ValueError, "NaN"),
        ("RQ not a tensor", lambda: randomized_quantization([1.0, 2.0], 4), TypeError, "torch.Tensor"),
        ("spec not a string", lambda: parse_spec(123), ValueError, "must be a string"),
        ("spec unknown", lambda: build_pipeline("nosuch"), ValueError, "unknown augmentation 'nosuch'"),
        ("stage order", lambda: build_pipeline("none", order=(Stage.VIEW, Stage.VIEW)), ValueError, "once each"),
        ("preset epochs", lambda: Preset(name="x", epochs=-1, batch_size=8), ValueError, "epochs = -1"),
        ("preset schedule", lambda: Preset(name="x", epochs=1, batch_size=8, schedule="poly"), ValueError, "schedule"),
        ("eval protocol", lambda: EvalSettings(protocols=("nosuch",)), ValueError, "eval.protocols"),
        ("eval fractions", lambda: EvalSettings(label_fractions=(1.5,)), ValueError, "eval.label_fractions"),
        ("override unknown", lambda: preset.with_overrides(nosuch=1), ValueError, "unknown preset field"),
        ("override type", lambda: preset.with_overrides(epochs="abc"), ValueError, "epochs must be a whole number"),
        (
            "override dotted",
            lambda: preset.with_overrides(**{"eval.nosuch": 1}),
            ValueError,
            "unknown evaluation setting",
        ),
        ("make_config modality", lambda: make_config("nope", "moco", "none"), ValueError, "unknown modality"),
        ("world size", lambda: RunConfig("blobs", "moco", "none", preset, world_size=0), ValueError, "world_size"),
        (
            "stage_order",
            lambda: RunConfig("blobs", "moco", "none", preset, stage_order=("x", "y")),
            ValueError,
            "stage_order",
        ),
        ("views", lambda: Views((torch.ones(1),), (), ()), ValueError, "as many queries"),
        ("coerce int", lambda: coerce(1.5, int, "epochs"), ValueError, "epochs must be a whole number"),
        ("parse bool", lambda: parse_bool("maybe", "amp"), ValueError, "amp must be true or false"),
        ("device", lambda: check_device("gpu"), ValueError, "unknown device 'gpu'"),
        ("plugin", lambda: import_plugin("missing_plugin.py"), ImportError, "no such file"),
        ("backbone", lambda: load_backbone("missing.pt"), ValueError, "cannot read the backbone's metadata"),
    ]


API_NAMES = [name for name, *_ in _api_cases()]


@pytest.mark.parametrize("name", API_NAMES)
def test_api_bad_input_raises_a_clear_error(name: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _, call, kind, fragment = next(c for c in _api_cases() if c[0] == name)
    with pytest.raises(kind) as info:
        call()  # type: ignore[operator]
    assert fragment in str(info.value)


def test_a_corrupt_checkpoint_is_one_clear_error(tmp_path: Path) -> None:
    from rqbench.train.checkpoint import CheckpointCorruptError, load_checkpoint

    path = tmp_path / "checkpoint.pt"
    for content in (b"", b"garbage" * 10):
        path.write_bytes(content)
        with pytest.raises(CheckpointCorruptError, match="cannot be read.*delete it"):
            load_checkpoint(path, "key")
    torch.save({"config_key": "key", "step": 3}, path)
    path.write_bytes(path.read_bytes()[:20])  # truncated
    with pytest.raises(CheckpointCorruptError):
        load_checkpoint(path, "key")


def test_an_empty_split_is_never_cached(tmp_path: Path) -> None:
    import datasets

    from rqbench.cache import EmptySplitError, write_entry

    with pytest.raises(EmptySplitError, match="empty test split; nothing was cached"):
        write_entry(
            tmp_path / "entry",
            {"train": datasets.Dataset.from_dict({"x": [1]}), "test": datasets.Dataset.from_dict({"x": []})},
            {},
        )
    assert not (tmp_path / "entry").exists()


def test_a_run_whose_rows_were_lost_is_not_finished(tmp_path: Path) -> None:
    from rqbench.runner import Workspace, make_config, run

    cfg = make_config("blobs", "moco", "rq(bins=4)", epochs=1)
    run(cfg, Workspace(tmp_path), progress=False)
    (tmp_path / "runs" / cfg.key / "rows.csv").unlink()  # done.json stays
    assert not Workspace(tmp_path).is_done(cfg)
    rows = run(cfg, Workspace(tmp_path), progress=False)  # re-evaluates its checkpoint, no pretraining
    assert len(rows) == 3 and Workspace(tmp_path).is_done(cfg)


def test_the_suite_tries_at_least_sixty_bad_inputs() -> None:
    assert len(CLI_CASES) + len(API_NAMES) + 6 >= 60

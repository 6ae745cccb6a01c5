"""Presets: every hyperparameter of a run at one scale (``quick`` for a CPU, ``paper`` for the paper's)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rqbench.settings import SettingError, check_range, coerce, field_types

PROTOCOLS: tuple[str, ...] = ("linear", "knn", "finetune", "linear_seg", "finetune_seg", "lincls")
"""Every evaluation protocol: classification tasks run linear / knn / finetune / lincls, segmentation tasks the
``_seg`` ones. ``lincls`` is a recipe of the linear evaluation (MoCo-v3's, on the frozen network with
random crops) and reports its rows as protocol ``linear``, so a table's linear column reads whichever
recipe the preset uses; a preset runs one of the two."""
SCHEDULES: tuple[str, ...] = ("cosine", "step")


@dataclass(frozen=True)
class EvalSettings:
    """How a pretrained encoder is evaluated downstream.

    Args:
        protocols: any of ``"linear"``, ``"knn"``, ``"finetune"`` (classification tasks) and
            ``"linear_seg"``, ``"finetune_seg"`` (segmentation tasks); each task runs those of its kind.
        label_fractions: fractions of the training labels for the linear probe (1.0 = all).
        linear_epochs, linear_lr, linear_weight_decay: the linear probe on frozen standardized features.
        val_fraction: fraction of the probe's training features held out for model selection
            (the best-validation weights are kept; 0 keeps the last epoch's), as BYOL-A's protocol.
        patience: early stopping: stop after this many epochs without a better validation
            accuracy (needs ``val_fraction > 0``); ``None`` trains all ``linear_epochs``.
        knn_k, knn_temperature: weighted kNN (k = 200, T = 0.1 as InstDisc / solo-learn).
        finetune_epochs, finetune_lr, finetune_weight_decay: end-to-end fine-tuning.
        batch_size: batch size of feature extraction and fine-tuning.
        seg_label_fractions: label fractions of the segmentation protocols (``linear_seg``,
            ``finetune_seg``); ``None`` uses ``label_fractions``.
        seg_linear_epochs: epochs of the segmentation probe (two FC layers on frozen point
            features); ``None`` uses ``linear_epochs``.
        lincls_epochs, lincls_lr, lincls_batch_size, lincls_momentum, lincls_weight_decay: the ``lincls``
            protocol (:mod:`rqbench.evaluate.lincls`, MoCo-v3's ``main_lincls.py``: SGD on the frozen
            network with random training views; ``lincls_lr`` is the base rate, scaled by batch / 256).
            The defaults are the reference's (90 epochs, 0.1, 1024, 0.9, 0).
        monitor_every: during pretraining, every this many epochs, the kNN top-1 of the current
            encoder on the modality's first classification task is logged (``monitor/knn_top1``;
            solo-learn's and lightly's online monitor); ``None``: no monitor. It never changes the
            pretraining (the global RNG is kept aside while it runs).
        label_draws: a low-label (fraction < 1) linear probe, classification or segmentation, is
            fitted on this many seeded, stratified label subsets and its scores averaged
            (:func:`rqbench.evaluate.splits.draw_seed`; 1: one subset, as before this setting).
        cv_folds: ``None``: probes fit on the task's training split and score its test split.
            ``k``: the frozen-feature protocols (``linear``, ``knn``) pool both splits' labelled
            samples and average over repeated stratified ``k``-fold (for small test sets;
            :func:`rqbench.evaluate.splits.repeated_stratified_kfold`).
        cv_repeats: fold assignments of the repeated k-fold (with ``cv_folds``).
    """

    protocols: tuple[str, ...] = ("linear", "knn")
    label_fractions: tuple[float, ...] = (1.0,)
    linear_epochs: int = 100
    linear_lr: float = 1e-2
    linear_weight_decay: float = 0.0
    val_fraction: float = 0.0
    patience: int | None = None
    knn_k: int = 200
    knn_temperature: float = 0.1
    finetune_epochs: int = 10
    finetune_lr: float = 1e-3
    finetune_weight_decay: float = 1e-4
    batch_size: int = 256
    seg_label_fractions: tuple[float, ...] | None = None
    seg_linear_epochs: int | None = None
    monitor_every: int | None = None
    label_draws: int = 1
    cv_folds: int | None = None
    cv_repeats: int = 1
    lincls_epochs: int = 90
    lincls_lr: float = 0.1
    lincls_batch_size: int = 1024
    lincls_momentum: float = 0.9
    lincls_weight_decay: float = 0.0

    def __post_init__(self) -> None:
        unknown = [p for p in self.protocols if p not in PROTOCOLS]
        check_range(
            bool(self.protocols) and not unknown,
            "eval.protocols",
            self.protocols,
            f"a non-empty tuple of {', '.join(PROTOCOLS)}",
        )
        check_range(
            not {"linear", "lincls"} <= set(self.protocols),
            "eval.protocols",
            self.protocols,
            "at most one linear-evaluation recipe: 'linear' (frozen-feature probe) or 'lincls' (MoCo-v3's), "
            "both report as protocol 'linear'",
        )
        for name in ("label_fractions", "seg_label_fractions"):
            fractions = getattr(self, name)
            if fractions is not None:
                check_range(
                    bool(fractions) and all(0 < f <= 1 for f in fractions),
                    f"eval.{name}",
                    fractions,
                    "a non-empty tuple of fractions in (0, 1]",
                )
        for name in ("linear_epochs", "knn_k", "batch_size", "lincls_epochs", "lincls_batch_size"):
            check_range(getattr(self, name) >= 1, f"eval.{name}", getattr(self, name), ">= 1")
        check_range(self.finetune_epochs >= 0, "eval.finetune_epochs", self.finetune_epochs, ">= 0")
        for name in ("linear_lr", "knn_temperature", "finetune_lr", "lincls_lr"):
            check_range(getattr(self, name) > 0, f"eval.{name}", getattr(self, name), "> 0")
        for name in ("linear_weight_decay", "finetune_weight_decay", "lincls_weight_decay"):
            check_range(getattr(self, name) >= 0, f"eval.{name}", getattr(self, name), ">= 0")
        check_range(0 <= self.lincls_momentum <= 1, "eval.lincls_momentum", self.lincls_momentum, "in [0, 1]")
        check_range(0 <= self.val_fraction < 1, "eval.val_fraction", self.val_fraction, "in [0, 1)")
        if self.patience is not None:
            check_range(
                self.patience >= 1 and self.val_fraction > 0,
                "eval.patience",
                self.patience,
                ">= 1, with eval.val_fraction > 0",
            )
        if self.monitor_every is not None:
            check_range(
                self.monitor_every >= 1,
                "eval.monitor_every",
                self.monitor_every,
                ">= 1 (epochs), or None for no monitor",
            )
        if self.seg_linear_epochs is not None:
            check_range(self.seg_linear_epochs >= 1, "eval.seg_linear_epochs", self.seg_linear_epochs, ">= 1")
        check_range(self.label_draws >= 1, "eval.label_draws", self.label_draws, ">= 1")
        check_range(
            self.cv_folds is None or self.cv_folds >= 2, "eval.cv_folds", self.cv_folds, ">= 2, or None (no k-fold)"
        )
        check_range(self.cv_repeats >= 1, "eval.cv_repeats", self.cv_repeats, ">= 1")


@dataclass(frozen=True)
class Preset:
    """All hyperparameters of one scale of a modality.

    Args:
        name: ``"quick"``, ``"paper"``, ...
        epochs: pretraining epochs.
        batch_size: global batch size (split evenly over processes).
        steps: pretrain exactly this many optimizer steps (a step-based recipe such as DABS's 100,000)
            instead of ``epochs * steps_per_epoch``; the learning-rate and momentum schedules then run
            over ``steps``, the data order continues past the end of an epoch with the next epoch's
            permutation, and ``epochs`` decides nothing about pretraining (warm-up and step milestones
            stay in epochs of the data). ``None`` (default): ``epochs`` decides.
        optimizer: a name in :data:`rqbench.train.optim.OPTIMIZERS` (``sgd``, ``adamw``, ``lars``).
        lr: base learning rate; with ``lr_scaling`` the rate used is ``lr * batch_size / 256``.
        weight_decay, momentum: optimizer settings (momentum for SGD / LARS).
        warmup_epochs: linear warm-up before the schedule.
        schedule: ``"cosine"`` (to 0) or ``"step"`` (divide by 10 at each of ``milestones`` epochs).
        methods: per-method keyword arguments (projector sizes, temperature, momentum...).
        backbone: keyword arguments of the modality's backbone factory.
        data: modality-specific data settings (subset sizes, crop size...).
        amp: mixed precision; ``None`` means on for CUDA (bf16 when supported), off on CPU.
        sync_bn: convert BatchNorm to SyncBatchNorm under DDP on GPUs.
        checkpoint_every: write a checkpoint every this many steps (and always at the end).
        num_workers: data-loading worker processes.
        eval: downstream evaluation settings.
    """

    name: str
    epochs: int
    batch_size: int
    steps: int | None = None
    optimizer: str = "adamw"
    lr: float = 1e-3
    lr_scaling: bool = True
    weight_decay: float = 0.0
    momentum: float = 0.9
    warmup_epochs: float = 0.0
    schedule: str = "cosine"
    milestones: tuple[int, ...] = ()
    methods: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    backbone: Mapping[str, Any] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    amp: bool | None = None
    sync_bn: bool = True
    checkpoint_every: int = 100
    num_workers: int = 0
    eval: EvalSettings = field(default_factory=EvalSettings)

    def __post_init__(self) -> None:
        check_range(self.epochs >= 0, "epochs", self.epochs, ">= 0")
        check_range(self.batch_size >= 1, "batch_size", self.batch_size, ">= 1")
        check_range(self.steps is None or self.steps >= 1, "steps", self.steps, ">= 1, or None (epochs decide)")
        check_range(self.schedule in SCHEDULES, "schedule", self.schedule, " or ".join(SCHEDULES))
        check_range(self.lr > 0, "lr", self.lr, "> 0")
        check_range(self.weight_decay >= 0, "weight_decay", self.weight_decay, ">= 0")
        check_range(0 <= self.momentum <= 1, "momentum", self.momentum, "in [0, 1]")
        check_range(
            0 <= self.warmup_epochs <= max(self.epochs, 0),
            "warmup_epochs",
            self.warmup_epochs,
            f"in [0, epochs = {self.epochs}]",
        )
        check_range(all(m >= 0 for m in self.milestones), "milestones", self.milestones, "epochs >= 0")
        check_range(self.checkpoint_every >= 0, "checkpoint_every", self.checkpoint_every, ">= 0 (0: only at the end)")
        check_range(self.num_workers >= 0, "num_workers", self.num_workers, ">= 0")

    def with_overrides(self, **overrides: Any) -> Preset:
        """A copy with top-level fields replaced (``eval`` may be a dict of its fields).

        A dotted key sets one entry inside a field and keeps the rest: ``data.domain="text"``
        (mapping fields ``methods``, ``backbone``, ``data``, nested as deep as the dots go) or
        ``eval.linear_epochs=50``. Dotted keys apply after the plain ones.
        """
        names = {f.name for f in dataclasses.fields(self)}
        dotted = {k: overrides.pop(k) for k in [k for k in overrides if "." in k]}
        types, eval_types = field_types(Preset), field_types(EvalSettings)
        for key, value in list(overrides.items()):
            if key in names and key != "eval":
                overrides[key] = coerce(value, types[key], key)
        for key, value in list(dotted.items()):
            section, _, rest = key.partition(".")
            if section == "eval" and rest in eval_types:
                dotted[key] = coerce(value, eval_types[rest], key)
        for key, value in dotted.items():
            section, _, rest = key.partition(".")
            if section not in names or not rest:
                raise SettingError(
                    f"unknown preset field {key!r}; a dotted key starts with one of: {', '.join(sorted(names))}"
                )
            current = overrides.get(section, getattr(self, section))
            if section == "eval":
                fields = dataclasses.asdict(current) if isinstance(current, EvalSettings) else dict(current)
                if rest not in fields:
                    raise SettingError(
                        f"unknown evaluation setting {rest!r} in {key!r}; settings: {', '.join(sorted(fields))}"
                    )
                overrides["eval"] = {**fields, rest: value}
            elif isinstance(current, Mapping):
                overrides[section] = _set_path(current, rest.split("."), value, key)
            else:
                raise ValueError(
                    f"preset field {section!r} is not a mapping; set it whole ({section}=...), not {key!r}"
                )
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise SettingError(
                f"unknown preset field(s) {', '.join(unknown)}; preset fields are: {', '.join(sorted(names))}"
            )
        if isinstance(overrides.get("eval"), Mapping):
            given = dict(overrides["eval"])
            bad = sorted(set(given) - set(eval_types))
            if bad:
                raise SettingError(
                    f"unknown evaluation setting(s) {', '.join(bad)}; settings: {', '.join(sorted(eval_types))}"
                )
            overrides["eval"] = dataclasses.replace(
                self.eval, **{k: coerce(v, eval_types[k], f"eval.{k}") for k, v in given.items()}
            )
        return dataclasses.replace(self, **overrides)

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> Preset:
        """The preset :meth:`to_dict` wrote (a run's ``config.json``); fields it lacks take their defaults."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items() if k != "eval"}
        evals: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.get("eval", {}).items()}
        return cls(**values, eval=EvalSettings(**evals))

    def method_kwargs(self, method: str) -> dict[str, Any]:
        """The keyword arguments this preset gives ``method`` (empty if none)."""
        return dict(self.methods.get(method, {}))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        out: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return out

    def key_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` less the fields added after runs existed, while they hold their defaults.

        Run keys hash this, so adding a field (with a default that reproduces the old behaviour)
        does not orphan finished runs; a run that sets the new field gets a new key.
        """
        out = self.to_dict()
        for section, defaults in ADDED_LATER.items():
            fields = out[section] if section else out
            for name, default in defaults.items():
                if fields.get(name) == default:
                    del fields[name]
        return out


# Fields added to the presets after results were recorded, with the default that behaves as
# before their time: {section ("" for top level): {field: default}}. Append, never edit.
ADDED_LATER: dict[str, dict[str, Any]] = {
    "eval": {
        "val_fraction": 0.0,
        "patience": None,
        "seg_label_fractions": None,
        "seg_linear_epochs": None,
        "monitor_every": None,
        "label_draws": 1,
        "cv_folds": None,
        "cv_repeats": 1,
        "lincls_epochs": 90,
        "lincls_lr": 0.1,
        "lincls_batch_size": 1024,
        "lincls_momentum": 0.9,
        "lincls_weight_decay": 0.0,
    },
    "": {"steps": None},
}


def _set_path(mapping: Mapping[str, Any], path: list[str], value: Any, key: str) -> dict[str, Any]:
    """A copy of ``mapping`` with ``value`` at the nested ``path`` (missing levels are created)."""
    out = dict(mapping)
    head, rest = path[0], path[1:]
    if not head:
        raise ValueError(f"empty name in preset key {key!r}")
    if not rest:
        out[head] = value
        return out
    inner = out.get(head, {})
    if not isinstance(inner, Mapping):
        raise ValueError(f"cannot set {key!r}: {head!r} holds {type(inner).__name__}, not a mapping")
    out[head] = _set_path(inner, rest, value, key)
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value

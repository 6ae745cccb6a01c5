"""A run's full configuration and its stable key (the run directory's name)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rqbench.augment.base import Stage
from rqbench.augment.spec import DEFAULT_STAGE_ORDER, check_stage_order, parse_spec
from rqbench.preset import Preset


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a run's result.

    Args:
        modality: registered modality name.
        method: registered method name (``moco``, ``byol``...).
        aug: augmentation spec; stored in canonical form.
        preset: the resolved preset (overrides applied).
        seed: the seed of every random source.
        pretrain: ``False`` evaluates a randomly initialized encoder (the "scratch" row).
        stage_order: the order of the spec's view and channel stages, as stage names
            (``("channel", "view")``), when it differs from the default view -> channel for
            this spec (see :func:`rqbench.runner.make_config`); ``None`` is the default order.
            Part of the key only when set, so runs in the default order keep their keys.
        world_size: the number of processes that pretrain (DDP changes the result: batch
            statistics and summation order). Part of the key only when not 1.
        init_from: ``sha256:<12 hex>`` of an exported backbone (``--init-from``) the encoder starts
            from instead of a random initialization; the file is kept in the run directory as
            ``init_backbone.pt``. Part of the key only when set.
        code: the code identity of the run's components that are not built-ins at version 1
            (:func:`rqbench.code_identity.code_identity`). Part of the key only when not empty.
    """

    modality: str
    method: str
    aug: str
    preset: Preset
    seed: int = 0
    pretrain: bool = True
    stage_order: tuple[str, ...] | None = None
    world_size: int = 1
    code: tuple[tuple[str, str], ...] = ()
    init_from: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "aug", str(parse_spec(self.aug)))
        object.__setattr__(self, "code", tuple(tuple(pair) for pair in self.code))
        if isinstance(self.world_size, bool) or not isinstance(self.world_size, int) or self.world_size < 1:
            raise ValueError(f"world_size must be a positive int, got {self.world_size!r}")
        if self.stage_order is not None:
            names = tuple(self.stage_order)
            try:
                check_stage_order(tuple(Stage[n.upper()] for n in names))
            except (KeyError, AttributeError):
                raise ValueError(f"stage_order names stages 'view' and 'channel', got {names}") from None
            object.__setattr__(self, "stage_order", names)

    @property
    def order(self) -> tuple[Stage, ...]:
        """The stage order the pipeline runs in (:data:`~rqbench.augment.spec.DEFAULT_STAGE_ORDER` unless set)."""
        if self.stage_order is None:
            return DEFAULT_STAGE_ORDER
        return tuple(Stage[n.upper()] for n in self.stage_order)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the content of ``config.json``)."""
        return {
            "modality": self.modality,
            "method": self.method,
            "aug": self.aug,
            "preset": self.preset.to_dict(),
            "seed": self.seed,
            "pretrain": self.pretrain,
            **({"stage_order": list(self.stage_order)} if self.stage_order is not None else {}),
            **({"world_size": self.world_size} if self.world_size != 1 else {}),
            **({"code": [list(pair) for pair in self.code]} if self.code else {}),
            **({"init_from": self.init_from} if self.init_from is not None else {}),
        }

    @classmethod
    def from_dict(cls, fields: Mapping[str, Any]) -> RunConfig:
        """The config :meth:`to_dict` wrote (a run directory's ``config.json``)."""
        order = fields.get("stage_order")
        return cls(
            fields["modality"],
            fields["method"],
            fields["aug"],
            Preset.from_dict(fields["preset"]),
            fields["seed"],
            fields["pretrain"],
            tuple(order) if order is not None else None,
            int(fields.get("world_size", 1)),
            tuple(tuple(pair) for pair in fields.get("code", ())),
            fields.get("init_from"),
        )

    @property
    def key(self) -> str:
        """A stable 16-hex-digit hash of :meth:`to_dict` (sorted-key JSON), less fields added
        later while at their defaults (:meth:`rqbench.preset.Preset.key_dict`)."""
        blob = json.dumps({**self.to_dict(), "preset": self.preset.key_dict()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def pretrain_key(self) -> str:
        """A stable hash of everything that decides the pretrained encoder: :attr:`key` without the
        evaluation settings. Runs that differ only in how they are evaluated share it (and one pretraining)."""
        fields = {**self.to_dict(), "preset": {k: v for k, v in self.preset.key_dict().items() if k != "eval"}}
        blob = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def epochs(self) -> int:
        """Pretraining epochs (0 for a scratch run)."""
        return self.preset.epochs if self.pretrain else 0

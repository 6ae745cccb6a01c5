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
    """

    modality: str
    method: str
    aug: str
    preset: Preset
    seed: int = 0
    pretrain: bool = True
    stage_order: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "aug", str(parse_spec(self.aug)))
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
        )

    @property
    def key(self) -> str:
        """A stable 16-hex-digit hash of :meth:`to_dict` (sorted-key JSON), less fields added
        later while at their defaults (:meth:`rqbench.preset.Preset.key_dict`)."""
        blob = json.dumps({**self.to_dict(), "preset": self.preset.key_dict()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def epochs(self) -> int:
        """Pretraining epochs (0 for a scratch run)."""
        return self.preset.epochs if self.pretrain else 0

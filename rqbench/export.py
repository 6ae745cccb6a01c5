"""Pretrained backbones out of rqbench and back in: a plain ``state_dict`` (normalization included)
that loads with ``torch.load(..., weights_only=True)``, and a JSON saying how to build the module."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from rqbench.config import RunConfig
from rqbench.errors import InputError
from rqbench.io import write_atomic
from rqbench.modality import MODALITIES
from rqbench.preset import Preset
from rqbench.train.checkpoint import load_checkpoint

FORMAT = 1
CHECKPOINT = "checkpoint.pt"


class ExportError(ValueError, InputError):
    """A run that has no encoder to export (random init, no checkpoint), or a bad backbone file."""


def encoder_state(method_state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """The state of ``Method.encoder`` within a method's state: ``backbone.*`` alone, or, with an
    input embedding, ``embedding.*`` / ``encoder.*`` as :class:`~rqbench.embedding.EmbeddedBackbone` names them."""
    backbone = {k.removeprefix("backbone."): v for k, v in method_state.items() if k.startswith("backbone.")}
    embedding = {
        k.removeprefix("input_embedding."): v for k, v in method_state.items() if k.startswith("input_embedding.")
    }
    if not embedding:
        return backbone
    return {**{f"embedding.{k}": v for k, v in embedding.items()}, **{f"encoder.{k}": v for k, v in backbone.items()}}


def metadata_path(path: Path) -> Path:
    """``backbone.pt`` -> ``backbone.json``."""
    return path.with_suffix(".json")


def export_backbone(run_dir: Path, out: Path) -> Path:
    """Write the pretrained encoder of the finished run in ``run_dir`` to ``out`` (+ ``out`` with ``.json``)."""
    config = run_dir / "config.json"
    if not config.exists():
        raise ExportError(f"{run_dir} is not a run directory (no config.json); `rqbench runs` lists the runs")
    cfg = RunConfig.from_dict(json.loads(config.read_text()))
    if not cfg.pretrain:
        raise ExportError(f"run {cfg.key} is a random-init (scratch) run: there are no pretrained weights to export")
    state = load_checkpoint(run_dir / CHECKPOINT, cfg.key)
    if state is None:
        raise ExportError(
            f"run {cfg.key} has no {CHECKPOINT} (checkpoints are not committed with the results); "
            "run it again with `rqbench run ... --force` to get one"
        )
    encoder, feature_dim = MODALITIES.get(cfg.modality)().backbone(cfg.preset)
    encoder.load_state_dict(encoder_state(state["method"]))
    weights = {k: v.detach().cpu().contiguous() for k, v in encoder.state_dict().items()}
    write_atomic(out, lambda handle: torch.save(weights, handle))
    meta = {
        "format": FORMAT,
        "modality": cfg.modality,
        "feature_dim": feature_dim,
        "preset": cfg.preset.to_dict(),
        "run_key": cfg.key,
        "method": cfg.method,
        "aug": cfg.aug,
        "seed": cfg.seed,
        "step": int(state["step"]),
        "build": "rqbench.load_backbone(path) or MODALITIES.get(modality)().backbone(Preset.from_dict(preset))",
    }
    write_atomic(metadata_path(out), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return out


def read_metadata(path: Path) -> dict[str, Any]:
    """The JSON beside an exported backbone (``ExportError`` naming the file when it is missing or bad)."""
    meta_file = metadata_path(Path(path))
    try:
        meta: dict[str, Any] = json.loads(meta_file.read_text())
    except (OSError, ValueError) as exc:
        raise ExportError(
            f"{meta_file}: cannot read the backbone's metadata ({exc}); export it with `rqbench export`"
        ) from None
    if meta.get("format") != FORMAT:
        raise ExportError(f"{meta_file}: format {meta.get('format')!r}, this rqbench reads format {FORMAT}")
    return meta


def load_backbone(path: str | Path, map_location: str | torch.device = "cpu") -> nn.Module:
    """The exported encoder at ``path``, built and loaded, in eval mode: ``rqbench.load_backbone("backbone.pt")``."""
    meta = read_metadata(Path(path))
    encoder, _ = MODALITIES.get(meta["modality"])().backbone(Preset.from_dict(meta["preset"]))
    encoder.load_state_dict(torch.load(path, map_location=map_location, weights_only=True))
    return encoder.eval()


def load_encoder_weights(encoder: nn.Module, path: Path, modality: str) -> None:
    """Load an exported backbone into ``encoder`` (``--init-from``); the modality must match."""
    meta = read_metadata(path)
    if meta["modality"] != modality:
        raise ExportError(f"{path} holds a {meta['modality']!r} backbone, not one for the {modality!r} modality")
    try:
        encoder.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except RuntimeError as exc:
        raise ExportError(f"{path} does not fit this run's backbone: {' '.join(str(exc).split())[:300]}") from None


__all__ = ["ExportError", "encoder_state", "export_backbone", "load_backbone", "load_encoder_weights", "read_metadata"]

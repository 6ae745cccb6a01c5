"""Augmentation spec strings: ``rq``, ``rq(bins=5)``, ``rrc+rq(bins=8,p=0.5)``, ``dacl(alpha=0.5)``.

A spec is parsed once into an :class:`AugSpec` (a tuple of :class:`AugTerm`), validated
against the registry, and built into an :class:`AugmentationPipeline`. ``none`` (or an
empty string) is the empty spec.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import torch
from torch import Tensor, nn

from rqbench.augment.base import Augmentation, ChannelLayout, MixInfo, MixingAugmentation, OnChannels, Stage
from rqbench.augment.registry import AUGMENTATIONS
from rqbench.augment.views import Views
from rqbench.errors import InputError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_INJECTED = ("channel_dim", "batch_dims", "channels", "generator")
Scalar = bool | int | float | str | None


class SpecError(ValueError, InputError):
    """A malformed or invalid augmentation spec; the message names the bad part."""


@dataclass(frozen=True)
class AugTerm:
    """One ``name(key=value, ...)`` term of a spec."""

    name: str
    kwargs: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:
        if not self.kwargs:
            return self.name
        return f"{self.name}({','.join(f'{k}={_format(v)}' for k, v in self.kwargs)})"


@dataclass(frozen=True)
class AugSpec:
    """A parsed spec: terms in order. ``str(spec)`` is canonical (sorted arguments)."""

    terms: tuple[AugTerm, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        return "+".join(str(t) for t in self.terms) or "none"

    def __iter__(self) -> Iterator[AugTerm]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)


def _format(value: Any) -> str:
    if isinstance(value, str):
        return value if _NAME.match(value) else repr(value)
    if isinstance(value, tuple):
        return "(" + ",".join(_format(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise SpecError(f"unbalanced ')' at position {i} in augmentation spec {text!r}")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise SpecError(f"unbalanced '(' in augmentation spec {text!r}")
    parts.append(text[start:])
    return parts


def _literal(node: ast.expr, where: str) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, str, type(None))):
        return node.value
    if isinstance(node, ast.Name):  # bare words are strings: spacing=uniform
        return {"true": True, "false": False, "none": None}.get(node.id.lower(), node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, where)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_literal(e, where) for e in node.elts)
    raise SpecError(f"{where}: values must be numbers, words, strings or tuples, got {ast.unparse(node)!r}")


def _parse_term(text: str, spec: str) -> AugTerm:
    text = text.strip()
    if not text:
        raise SpecError(f"empty term in augmentation spec {spec!r} (two '+' in a row, or a leading/trailing '+')")
    name, paren, rest = text.partition("(")
    name = name.strip()
    if not _NAME.match(name):
        raise SpecError(f"bad augmentation name {name!r} in spec {spec!r}")
    if not paren:
        return AugTerm(name)
    if not rest.rstrip().endswith(")"):
        raise SpecError(f"term {text!r} in spec {spec!r} must end with ')'")
    args = rest.rstrip()[:-1]
    try:
        call = ast.parse(f"_({args})", mode="eval").body
    except SyntaxError as exc:
        raise SpecError(f"cannot parse the arguments of {text!r} in spec {spec!r}: {exc.msg}") from None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "_"):
        # e.g. rq(bins=2)(p=1): a second argument list would silently replace the first
        raise SpecError(f"term {text!r} in spec {spec!r}: one argument list per term, e.g. {name}(bins=8,p=0.5)")
    if call.args:
        raise SpecError(f"term {text!r}: arguments must be named, e.g. {name}(bins=8)")
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise SpecError(f"term {text!r}: '**' is not allowed")
        if kw.arg in kwargs:
            raise SpecError(f"term {text!r}: argument {kw.arg!r} given twice")
        kwargs[kw.arg] = _literal(kw.value, f"term {text!r}, argument {kw.arg!r}")
    return AugTerm(name, tuple(sorted(kwargs.items())))


def parse_spec(spec: str | AugSpec) -> AugSpec:
    """Parse a spec string (``"rrc+rq(bins=8,p=0.5)"``); syntax errors raise :class:`SpecError`.

    Names are not checked here (see :func:`validate_spec`), so a spec can be parsed
    before plugins are loaded.
    """
    if isinstance(spec, AugSpec):
        return spec
    if not isinstance(spec, str):
        raise SpecError(f"an augmentation spec must be a string, got {type(spec).__name__}")
    return _parse_text(spec)


@functools.lru_cache(maxsize=1024)
def _parse_text(spec: str) -> AugSpec:
    """:func:`parse_spec` of a string, parsed once per process (an :class:`AugSpec` is immutable)."""
    text = spec.strip()
    if text.lower() in ("", "none"):
        return AugSpec()
    terms = tuple(_parse_term(t, spec) for t in _split_top(text, "+"))
    if any(t.name.lower() == "none" for t in terms):
        raise SpecError(f"'none' cannot be combined with other terms in spec {spec!r}")
    return AugSpec(terms)


def _accepted(cls: type) -> list[str]:
    params = inspect.signature(cls).parameters.values()
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "generator"]


def validate_spec(spec: str | AugSpec, modality: str | None = None) -> AugSpec:
    """Check names, arguments, modality and stage order of a spec without building it.

    Raises :class:`SpecError` naming the bad term and listing what exists.
    """
    parsed = parse_spec(spec)
    last = Stage.VIEW
    mixing = []
    for term in parsed:
        try:
            cls = AUGMENTATIONS.get(term.name)
        except KeyError as exc:
            raise SpecError(str(exc)) from None
        if cls.modality is not None and modality is not None and cls.modality != modality:
            raise SpecError(
                f"augmentation {term.name!r} is specific to the {cls.modality!r} modality, not {modality!r}"
            )
        accepted = _accepted(cls)
        unknown = [k for k, _ in term.kwargs if k not in accepted]
        if unknown:
            raise SpecError(
                f"augmentation {term.name!r} has no argument {unknown[0]!r}; "
                f"it accepts: {', '.join(accepted) or '(none)'}"
            )
        if cls.stage < last:
            raise SpecError(
                f"in spec {str(parsed)!r}, {term.name!r} ({cls.stage.name.lower()} stage) must come before "
                f"{last.name.lower()}-stage terms: order is view, then channel, then mixing"
            )
        last = cls.stage
        if cls.stage is Stage.MIXING:
            mixing.append(term.name)
    if len(mixing) > 1:
        raise SpecError(f"spec {str(parsed)!r} has more than one mixing augmentation: {', '.join(mixing)}")
    return parsed


def build_augmentation(
    term: AugTerm,
    layout: ChannelLayout = ChannelLayout(),
    generator: torch.Generator | None = None,
) -> Augmentation:
    """Instantiate one term, filling ``channel_dim``/``batch_dims``/``channels``/``generator`` from
    the context when the class takes them and the spec does not set them. A channel-stage class that takes
    no ``channels`` is confined to the layout's channels by :class:`~rqbench.augment.base.OnChannels`
    when the layout names some (point clouds: xyz), so no augmentation touches a modality's ids."""
    cls = AUGMENTATIONS.get(term.name)
    params = inspect.signature(cls).parameters
    context = {
        "channel_dim": layout.channel_dim,
        "batch_dims": layout.batch_dims,
        "channels": layout.channels,
        "generator": generator,
    }
    kwargs = {k: v for k, v in context.items() if k in params and k in _INJECTED}
    kwargs.update(dict(term.kwargs))
    try:
        aug = cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"bad arguments in {str(term)!r}: {exc}") from None
    if cls.stage is Stage.CHANNEL and layout.channels is not None and "channels" not in params:
        return OnChannels(aug, layout.channel_dim, layout.channels)
    return aug


DEFAULT_STAGE_ORDER: tuple[Stage, ...] = (Stage.VIEW, Stage.CHANNEL)
"""Modality views, then the channel stage (images, points, DABS); the mixing step always comes last."""


def check_stage_order(order: tuple[Stage, ...]) -> tuple[Stage, ...]:
    """``order`` if it holds the VIEW and CHANNEL stages once each (mixing is always last), else ``ValueError``."""
    if sorted(order) != [Stage.VIEW, Stage.CHANNEL]:
        raise ValueError(
            f"a stage order holds the view and channel stages once each, got {[s.name.lower() for s in order]}"
        )
    return tuple(order)


class AugmentationPipeline(nn.Module):
    """A built spec: modality views, channel-stage transforms, and an optional mixing step.

    :meth:`views` makes a step's views: every view of the batch goes through the VIEW and
    CHANNEL stages in the modality's ``order`` (each stage over all views before the next,
    so random draws come in a fixed order), then the mixing augmentation (i-Mix) makes the
    query views. ``forward(x)`` applies the channel stage alone and :meth:`mix` the mixing step.
    """

    def __init__(
        self,
        spec: AugSpec,
        view: list[Augmentation],
        channel: list[Augmentation],
        mixing: MixingAugmentation | None,
        order: tuple[Stage, ...] = DEFAULT_STAGE_ORDER,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.view = nn.Sequential(*view)
        self.channel = nn.Sequential(*channel)
        self.mixing = mixing
        self.order = check_stage_order(order)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the channel-stage augmentations in spec order."""
        out: Tensor = self.channel(x)
        return out

    def mix(self, x: Tensor) -> tuple[Tensor, MixInfo | None]:
        """Apply the mixing augmentation, if any: ``(mixed, MixInfo)`` or ``(x, None)``."""
        if self.mixing is None:
            return x, None
        mixed: tuple[Tensor, MixInfo | None] = self.mixing(x)
        return mixed

    def views(
        self,
        batch: Tensor,
        n_views: int = 2,
        indices: Tensor | None = None,
        embed: Callable[[Tensor], Tensor] | None = None,
        premade: bool = False,
    ) -> Views:
        """``n_views`` views of ``batch``: the stages in :attr:`order`, then mixing.

        Args:
            batch: a batch of samples as the dataset gives them.
            n_views: how many views (a method's :attr:`~rqbench.methods.base.Method.num_views`).
            indices: the samples' dataset indices, handed on in :attr:`Views.indices`.
            embed: an input embedding run where the channel stage begins (DABS's token
                embedding: the channel stage acts on its output); ``None`` for none.
            premade: ``batch`` is ``(B, n_views, ...)``, view ``i`` begun in the data loader as
                ``batch[:, i]`` (:class:`~rqbench.modality.LoaderViews`); the stages go on from there.
        """
        if n_views < 1:
            raise ValueError(f"n_views must be at least 1, got {n_views}")
        if premade and (batch.ndim < 2 or batch.shape[1] != n_views):
            raise ValueError(f"premade views: expected a batch (B, {n_views}, ...), got shape {tuple(batch.shape)}")
        xs = list(batch.unbind(1)) if premade else [batch] * n_views
        for stage in self.order:
            if stage is Stage.VIEW:
                xs = [apply_views(self.view, x, i) for i, x in enumerate(xs)]
            else:
                if embed is not None:
                    xs = [embed(x) for x in xs]
                xs = [self.channel(x) for x in xs]
        mixed = [self.mix(x) for x in xs]
        return Views(tuple(m for m, _ in mixed), tuple(xs), tuple(info for _, info in mixed), indices)

    def with_view(self, view: nn.Sequential) -> AugmentationPipeline:
        """This pipeline with its VIEW stage replaced by ``view`` (the other stages' modules are shared)."""
        views = [cast(Augmentation, m) for m in view]
        channel = [cast(Augmentation, m) for m in self.channel]
        return AugmentationPipeline(self.spec, views, channel, self.mixing, self.order)

    def extra_repr(self) -> str:
        order = ", ".join(s.name.lower() for s in self.order)
        return f"spec={str(self.spec)!r}, order=({order})"


def build_pipeline(
    spec: str | AugSpec,
    *,
    layout: ChannelLayout = ChannelLayout(),
    modality: str | None = None,
    generator: torch.Generator | None = None,
    order: tuple[Stage, ...] = DEFAULT_STAGE_ORDER,
) -> AugmentationPipeline:
    """Validate and build ``spec`` for a modality whose channel stage has ``layout`` and whose stages run in
    ``order``."""
    parsed = validate_spec(spec, modality)
    stages: dict[Stage, list[Augmentation]] = {s: [] for s in Stage}
    for term in parsed:
        aug = build_augmentation(term, layout, generator)
        stages[type(aug).stage].append(aug)
    mixing = stages[Stage.MIXING][0] if stages[Stage.MIXING] else None
    assert mixing is None or isinstance(mixing, MixingAugmentation)
    return AugmentationPipeline(parsed, stages[Stage.VIEW], stages[Stage.CHANNEL], mixing, order)


def applied_order(spec: str | AugSpec, order: tuple[Stage, ...]) -> tuple[Stage, ...]:
    """The stages of ``order`` that ``spec`` has terms in: the order that shapes its views.

    Two orders give the same views for a spec exactly when their applied orders are equal
    (a spec with terms in one stage only is applied the same way in every order).
    """
    present = {AUGMENTATIONS.get(t.name).stage for t in parse_spec(spec)}
    return tuple(s for s in order if s in present)


def _takes_index(module: nn.Module) -> bool:
    try:
        return "index" in inspect.signature(module.forward).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return False


def apply_views(view_augs: nn.Module, x: Tensor, index: int) -> Tensor:
    """View number ``index`` of batch ``x``: each child of ``view_augs`` (an ``nn.Sequential``,
    e.g. ``pipeline.view``) applied in order, given ``index`` when its ``forward`` takes one.

    A module that is not an ``nn.Sequential`` is applied as the only view augmentation;
    an empty sequence returns ``x`` unchanged.
    """
    modules = list(view_augs) if isinstance(view_augs, nn.Sequential) else [view_augs]
    for module in modules:
        x = module(x, index) if _takes_index(module) else module(x)
    return x

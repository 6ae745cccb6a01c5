"""Typed settings: a value given on the command line or in a YAML file, checked and converted to the
type a preset field declares (``int``, ``float``, ``bool``, ``str``, tuples, mappings, ``X | None``)."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

from rqbench.errors import InputError


class SettingError(ValueError, InputError):
    """A setting with the wrong type, a value out of range, or an unknown name; the message names it."""


TRUE = frozenset({"true", "yes", "on", "1"})
FALSE = frozenset({"false", "no", "off", "0"})


def parse_bool(value: object, name: str) -> bool:
    """``True``/``False``, ``1``/``0``, or the words true/false/yes/no/on/off in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE | FALSE:
        return value.strip().lower() in TRUE
    raise SettingError(f"{name} must be true or false (also yes/no, on/off, 1/0), got {value!r}")


def _describe(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def coerce(value: object, tp: Any, name: str) -> Any:
    """``value`` as type ``tp`` (a resolved annotation), or :class:`SettingError` naming ``name``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null")):
            if type(None) in options:
                return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return coerce(value, option, name)
            except SettingError as exc:
                errors.append(str(exc))
        raise SettingError(
            errors[0]
            if len(errors) == 1
            else f"{name} must be one of {', '.join(map(_describe, options))}, got {value!r}"
        )
    if tp is Any or tp is object:
        return value
    if tp is bool:
        return parse_bool(value, name)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        raise SettingError(f"{name} must be a whole number, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise SettingError(f"{name} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise SettingError(f"{name} must be a word or string, got {value!r}")
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise SettingError(f"{name} must be a tuple such as (1.0,) or [1.0], got {value!r}")
        inner = args[0] if args else Any
        return tuple(coerce(v, inner, f"{name}[{i}]") for i, v in enumerate(value))
    if origin in (Mapping, dict) or tp in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise SettingError(f"{name} must be a mapping such as {{'key': value}}, got {value!r}")
        return dict(value)
    return value


def field_types(cls: type) -> dict[str, Any]:
    """The resolved annotation of every dataclass field of ``cls``."""
    return typing.get_type_hints(cls)


def check_range(ok: bool, name: str, value: object, allowed: str) -> None:
    """:class:`SettingError` ``"<name> = <value>: must be <allowed>"`` unless ``ok``."""
    if not ok:
        raise SettingError(f"{name} = {value!r}: must be {allowed}")


__all__ = ["SettingError", "check_range", "coerce", "field_types", "parse_bool"]

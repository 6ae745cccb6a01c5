"""The generic registry and its entry-point plugins."""

from __future__ import annotations

import importlib.metadata

import pytest

from rqbench.registry import Registry, UnknownNameError


def test_register_get_names_and_summary() -> None:
    reg: Registry[type] = Registry("widget")

    @reg.register("b")
    class B:
        """Second widget.

        More text."""

    @reg.register("a", summary="first")
    class A:
        pass

    assert reg.names() == ["a", "b"] and reg.get("b") is B and "a" in reg and len(reg) == 2
    assert [e.summary for e in reg.entries()] == ["first", "Second widget."]


def test_unknown_name_is_a_clear_error() -> None:
    reg: Registry[type] = Registry("widget")
    reg.register("alpha")(int)
    with pytest.raises(
        UnknownNameError, match="unknown widget 'alpah'. Did you mean 'alpha'\\? Registered widgets: alpha"
    ):
        reg.get("alpah")
    with pytest.raises(ValueError):  # also a ValueError, for callers that catch those
        reg.get("zzz")


def test_bad_or_duplicate_names() -> None:
    reg: Registry[type] = Registry("widget")
    reg.register("x")(int)
    with pytest.raises(ValueError, match="already registered"):
        reg.register("x")(float)
    with pytest.raises(ValueError, match="alphanumeric"):
        reg.register("a b")


def test_entry_point_plugins_are_loaded(monkeypatch) -> None:
    ep = importlib.metadata.EntryPoint(name="plugged", value="collections:OrderedDict", group="test.widgets")
    real = importlib.metadata.entry_points

    def fake(**kwargs):
        return [ep] if kwargs.get("group") == "test.widgets" else real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    reg: Registry[type] = Registry("widget", group="test.widgets")
    from collections import OrderedDict

    assert reg.get("plugged") is OrderedDict


def test_a_broken_plugin_is_recorded_with_cause_and_fix_and_named_when_requested(monkeypatch) -> None:
    ep = importlib.metadata.EntryPoint(name="broken", value="no_such_module_xyz", group="test.broken")
    real = importlib.metadata.entry_points
    monkeypatch.setattr(
        importlib.metadata, "entry_points", lambda **kw: [ep] if kw.get("group") == "test.broken" else real(**kw)
    )
    reg: Registry[type] = Registry("widget", group="test.broken")
    reg.register("fine")(int)
    assert reg.names() == ["fine"]
    (failure,) = reg.failures()
    assert (failure.name, failure.target) == ("broken", "no_such_module_xyz")
    assert failure.cause.startswith("ModuleNotFoundError: No module named 'no_such_module_xyz'")
    assert "Fix:" in failure.describe("widget") and "rqbench doctor" in failure.fix
    with pytest.raises(
        UnknownNameError,
        match="widget plugin 'broken' \\(no_such_module_xyz\\) failed to load: ModuleNotFoundError.*Fix:",
    ):
        reg.get("broken")
    # a name the broken plugin may have provided under another name points at it too
    with pytest.raises(
        UnknownNameError, match="unknown widget 'other'.*It may come from a broken plugin: widget plugin 'broken'"
    ):
        reg.get("other")

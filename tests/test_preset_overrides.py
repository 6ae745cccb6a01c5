"""Dotted preset overrides: one entry inside a mapping field or the evaluation settings."""

from __future__ import annotations

import pytest

from rqbench.preset import Preset


def _preset() -> Preset:
    return Preset(
        name="p", epochs=1, batch_size=4, data={"domain": "images", "size": 28}, methods={"moco": {"temperature": 0.2}}
    )


def test_dotted_key_sets_one_entry_and_keeps_the_rest() -> None:
    out = _preset().with_overrides(**{"data.domain": "text"})
    assert out.data == {"domain": "text", "size": 28}
    assert _preset().data["domain"] == "images"  # the original is untouched


def test_nested_and_new_keys() -> None:
    out = _preset().with_overrides(
        **{"methods.moco.temperature": 1.0, "methods.byol.momentum": 0.9, "backbone.dim": 64}
    )
    assert out.methods == {"moco": {"temperature": 1.0}, "byol": {"momentum": 0.9}}
    assert out.backbone == {"dim": 64}


def test_dotted_eval_and_plain_keys_together() -> None:
    out = _preset().with_overrides(epochs=3, **{"eval.linear_epochs": 7, "data.size": 32})
    assert (out.epochs, out.eval.linear_epochs, out.data["size"]) == (3, 7, 32)
    assert out.eval.knn_k == _preset().eval.knn_k


def test_dotted_applies_on_top_of_a_plain_replacement() -> None:
    out = _preset().with_overrides(data={"a": 1}, **{"data.b": 2})
    assert out.data == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    "key, match",
    [
        ("nope.x", "unknown preset field"),
        ("eval.nope", "unknown evaluation setting"),
        ("epochs.x", "not a mapping"),
        ("data.size.x", "holds int"),
    ],
)
def test_bad_dotted_keys(key: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _preset().with_overrides(**{key: 1})


def test_key_dict_unchanged_without_overrides() -> None:
    assert _preset().with_overrides().key_dict() == _preset().key_dict()

"""DABS domains: registry, bad input, and the small real sets (sensors, medical)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modalities.dabs.domains import DOMAINS, PAPER_DOMAIN, fit_count, load_domain
from modalities.dabs.sensors import DomainDataError, check_finite, resample_series
from rqbench.registry import UnknownNameError


def test_registry_names_the_paper_domains() -> None:
    for name in (
        "natural_images",
        "text",
        "speech",
        "sensors",
        "medical",
        "captioned_images",
        "cifar10",
        "wikitext103",
    ):
        assert name in DOMAINS and PAPER_DOMAIN[name]
    assert PAPER_DOMAIN["medical"] == "Chest x-rays"


def test_unknown_domain() -> None:
    with pytest.raises(UnknownNameError, match="unknown DABS domain 'texts'.*Did you mean 'text'"):
        load_domain("texts", {})


def test_missing_values_are_refused() -> None:
    with pytest.raises(DomainDataError, match="demo: series 1 has missing values"):
        check_finite([np.zeros((2, 5)), np.array([[0.0, np.nan]])], "demo")


def test_resample_and_pad_channels() -> None:
    out = resample_series([np.array([[0.0, 1.0]]), np.array([[0.0, 2.0, 4.0], [1.0, 1.0, 1.0]])], 5, 3)
    assert out.shape == (2, 5, 3)
    assert np.allclose(out[0, :, 0], [0, 0.25, 0.5, 0.75, 1]) and np.all(out[0, :, 1:] == 0)
    assert np.allclose(out[1, :, 0], [0, 1, 2, 3, 4]) and np.allclose(out[1, :, 1], 1)


def test_fit_count_cycles_and_subsamples() -> None:
    x = torch.arange(5)
    assert fit_count(x, 12, 0).tolist()[:10] == list(range(5)) * 2 and len(fit_count(x, 12, 0)) == 12
    assert len(fit_count(x, 3, 0)) == 3 and torch.equal(fit_count(x, 3, 0), fit_count(x, 3, 0))


def test_sensors_and_medical_load() -> None:
    s = load_domain("sensors", {"pretrain_samples": 64})
    assert s.pretrain.shape == (64, 60, 12) and [t.name for t in s.tasks] == ["japanese_vowels", "basic_motions"]
    assert s.tasks[0].num_classes == 9 and s.embedding(8)(s.pretrain[:2]).shape == (2, 12, 8)
    m = load_domain("medical", {})
    assert m.tasks[0].name == "pig_cvp" and m.tasks[0].num_classes == 52 and "CheXpert" in m.info["substitution"]
    assert m.embedding(8)(m.pretrain[:2]).shape == (2, 50, 8)

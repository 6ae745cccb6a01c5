"""The RandomizedQuantization module: pipelines, devices, determinism, construction errors."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms import v2

from rqbench.augment import RandomizedQuantization, randomized_quantization


def test_module_matches_functional_with_same_generator_state() -> None:
    x = torch.randn(4, 3, 8, 8)
    rq = RandomizedQuantization(bins=6, generator=torch.Generator().manual_seed(5))
    expected = randomized_quantization(x, 6, generator=torch.Generator().manual_seed(5))
    assert torch.equal(rq(x), expected)


def test_inside_a_torchvision_per_image_pipeline() -> None:
    pipeline = v2.Compose([v2.CenterCrop(8), RandomizedQuantization(bins=3, channel_dim=0, batch_dims=0)])
    image = torch.rand(3, 12, 12)
    out = pipeline(image)
    assert out.shape == (3, 8, 8)
    assert max(len(torch.unique(out[c])) for c in range(3)) <= 3


@pytest.mark.parametrize(
    ("shape", "kwargs"),
    [
        ((8, 3, 32, 32), {}),
        ((3, 32, 32), {"channel_dim": -3, "batch_dims": 0}),
        ((8, 1, 64, 96), {}),
        ((2048, 3), {"channel_dim": -1, "batch_dims": 0}),
        ((4, 2048, 3), {"channel_dim": -1}),
        ((4, 128, 64), {"channel_dim": -1}),
    ],
)
def test_every_modality_layout(shape, kwargs) -> None:
    rq = RandomizedQuantization(bins=5, **kwargs)
    x = torch.randn(shape)
    out = rq(x)
    assert out.shape == x.shape and out.is_contiguous()
    channel_dim = kwargs.get("channel_dim", 1)
    per_channel = (
        out.movedim(channel_dim, -1).reshape(-1, x.shape[channel_dim]) if kwargs.get("batch_dims", 1) == 0 else None
    )
    if per_channel is not None:
        assert max(len(torch.unique(per_channel[:, c])) for c in range(per_channel.shape[1])) <= 5


def test_construction_errors_are_early_and_named() -> None:
    with pytest.raises(ValueError, match="bins must be >= 1"):
        RandomizedQuantization(bins=0)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        RandomizedQuantization(p=2)
    with pytest.raises(ValueError, match="channel_dim 0 is a batch dimension"):
        RandomizedQuantization(channel_dim=0)
    with pytest.raises(ValueError, match="unknown spacing"):
        RandomizedQuantization(spacing="geometric")


def test_repr_lists_settings() -> None:
    assert "bins=8" in repr(RandomizedQuantization()) and "spacing='random'" in repr(RandomizedQuantization())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_cuda_matches_cpu_with_a_cpu_generator(dtype) -> None:
    x = torch.randn(16, 3, 32, 32).to(dtype)
    cpu = randomized_quantization(x, 8, generator=torch.Generator().manual_seed(0))
    gpu = randomized_quantization(x.cuda(), 8, generator=torch.Generator().manual_seed(0))
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu)

"""The MID-Net method: banks as buffers, updates, no gradient into banks, errors."""

import pytest
import torch
import torch.nn.functional as F

from modalities.points.backbone import OctreeUNet
from modalities.points.midnet import MIDNet
from rqbench.augment.base import MixInfo
from rqbench.augment.views import Views
from rqbench.methods import METHODS


def clouds(b: int = 4, n: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xyz = F.normalize(torch.randn(b, n, 3, generator=g), dim=-1) * 0.8
    seg = torch.randint(0, 8, (b, n, 1), generator=g).float()
    return torch.cat([xyz, F.normalize(xyz, dim=-1), seg], dim=-1)


def method(num_samples: int = 10) -> MIDNet:
    torch.manual_seed(0)
    return MIDNet(OctreeUNet(depth=4, channels=(8, 16), point_dim=8), 16, num_samples=num_samples, segments=8)


def test_registered_takes_num_samples_and_logs_its_bank_momentum() -> None:
    import inspect

    assert METHODS.get("midnet") is MIDNet
    assert "num_samples" in inspect.signature(MIDNet).parameters  # the trainer passes it by signature
    m = method()
    assert m.momentum is None and m.momentum_update(0, 10) is None  # no EMA branch to log
    assert m.log_values() == {"bank_momentum": 0.5}


def test_banks_are_unit_buffers_in_state_dict() -> None:
    m = method()
    state = m.state_dict()
    assert state["shape_bank"].shape == (10, 16) and state["point_bank"].shape == (10, 8, 8)
    assert torch.allclose(m.shape_bank.norm(dim=1), torch.ones(10))
    assert not any(p is m.shape_bank or p is m.point_bank for p in m.parameters())


def test_forward_updates_only_batch_rows_by_momentum() -> None:
    m = method()
    x = clouds()
    idx = torch.tensor([1, 3, 5, 7])
    before_shape, before_point = m.shape_bank.clone(), m.point_bank.clone()
    m.eval()  # BatchNorm in eval: the features below are the ones the update used
    with torch.no_grad():
        shape, _points = m.backbone.features(x)
    loss = m(Views.of(x, x, indices=idx))
    loss.backward()
    expected = F.normalize(0.5 * F.normalize(shape, dim=1) + 0.5 * before_shape[idx], dim=1)
    assert torch.allclose(m.shape_bank[idx], expected, atol=1e-5)
    others = torch.tensor([0, 2, 4, 6, 8, 9])
    assert torch.equal(m.shape_bank[others], before_shape[others])
    assert torch.equal(m.point_bank[others], before_point[others])
    assert torch.allclose(m.point_bank.norm(dim=2), torch.ones(10, 8), atol=1e-5)
    assert m.shape_bank.grad is None and m.point_bank.grad is None
    assert all(p.grad is not None for p in m.backbone.parameters() if p.requires_grad)


def test_clear_errors() -> None:
    m = method()
    x = clouds()
    with pytest.raises(ValueError, match="indices"):
        m(Views.of(x, x))
    with pytest.raises(ValueError, match="mixing"):
        m(Views((x, x), (x, x), (MixInfo(torch.arange(4), torch.ones(4)), None), torch.arange(4)))
    bad = x.clone()
    bad[0, 0, 6] = 8
    with pytest.raises(ValueError, match="segment ids"):
        m(Views.of(bad, bad, indices=torch.arange(4)))
    with pytest.raises(TypeError, match="features"):
        MIDNet(torch.nn.Linear(3, 3), 3, num_samples=4)


def test_point_bank_update_worked_by_hand() -> None:
    """One shape, two segments, momentum 0.5; old rows e1 (segment 0) and e2 (segment 1).

    Segment 0: points (3, 0), (0, 1) -> normalized mean at 45 degrees; the new row bisects 0 and 45:
    (cos 22.5, sin 22.5). Segment 1: points (0, 2), (-1, 0) -> 135 degrees; bisecting 90 and 135: 112.5.
    Averaging the raw features (version 1) gave 9.2 and 103.3 degrees instead.
    """
    assert MIDNet.version == 2
    torch.manual_seed(0)
    m = MIDNet(OctreeUNet(depth=4, channels=(8, 16), point_dim=2), 4, num_samples=3, segments=2)
    m.point_bank.copy_(torch.eye(2).expand(3, 2, 2))
    points = torch.tensor([[[3.0, 0.0], [0.0, 1.0], [0.0, 2.0], [-1.0, 0.0]]])
    m.update_banks(torch.randn(1, 4), points, torch.tensor([[0, 0, 1, 1]]), torch.tensor([1]))
    deg = torch.deg2rad(torch.tensor([22.5, 112.5]))
    torch.testing.assert_close(m.point_bank[1], torch.stack([deg.cos(), deg.sin()], dim=1))
    assert torch.equal(m.point_bank[[0, 2]], torch.eye(2).expand(2, 2, 2))

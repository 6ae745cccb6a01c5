"""The audio modality's parts that need no corpus: AudioNTT2020, post-normalization, audio-rrc."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modalities.audio.backbone import AudioEncoder, AudioNTT2020, PostNorm, audio_encoder
from modalities.audio.views import AudioRandomResizedCrop, crop_boxes
from rqbench.augment import AUGMENTATIONS, SpecError, Stage, build_pipeline
from rqbench.augment.base import ChannelLayout

LAYOUT = ChannelLayout(channel_dim=1, batch_dims=1)


# --------------------------------------------------------------------------------------------
# AudioNTT2020


def test_audio_ntt2020_has_byol_a_structure_and_2048_d_output() -> None:
    torch.manual_seed(0)
    net = AudioNTT2020()
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == [
        (1, 64, (3, 3), (1, 1)),
        (64, 64, (3, 3), (1, 1)),
        (64, 64, (3, 3), (1, 1)),
    ]
    assert [type(m) for m in net.features] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d] * 3
    assert [type(m) for m in net.fc] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU]
    assert (net.fc[0].in_features, net.fc[0].out_features, net.fc[3].out_features, net.fc[2].p) == (
        512,
        2048,
        2048,
        0.3,
    )
    net.eval()
    with torch.no_grad():
        assert net(torch.randn(3, 1, 64, 96)).shape == (3, 2048)
        assert net.frames(torch.randn(2, 1, 64, 96)).shape == (2, 12, 2048)
        assert net(torch.randn(2, 1, 64, 401)).shape == (2, 2048)  # a whole 4 s clip


def test_width_is_a_parameter_and_bad_inputs_are_refused() -> None:
    encoder, dim = audio_encoder(d=48, channels=8)
    assert dim == 48 and isinstance(encoder, AudioEncoder) and isinstance(encoder.post_norm, PostNorm)
    encoder.eval()
    assert encoder(torch.randn(2, 1, 64, 96)).shape == (2, 48)
    with pytest.raises(ValueError, match="multiple of 8"):
        AudioNTT2020(n_mels=60)
    with pytest.raises(ValueError, match=r"\(B, 1, 64, T\)"):
        encoder(torch.randn(2, 1, 32, 96))
    with pytest.raises(ValueError, match="at least 8 frames"):
        encoder(torch.randn(2, 1, 64, 4))


def test_embedding_is_mean_plus_max_over_time_known_answer() -> None:
    net = AudioNTT2020(d=2)
    frames = torch.tensor(
        [[[1.0, 2.0], [3.0, -1.0], [5.0, 0.0]], [[0.0, 0.0], [0.0, 4.0], [-2.0, 2.0]]]
    )  # (B=2, T'=3, d=2)
    net.frames = lambda x: frames  # type: ignore[method-assign]
    out = net(torch.zeros(2, 1, 64, 24))
    expected = torch.tensor([[3.0 + 5.0, 1.0 / 3.0 + 2.0], [-2.0 / 3.0 + 0.0, 2.0 + 4.0]])
    torch.testing.assert_close(out, expected)


class _Const(nn.Module):
    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value


def test_frames_flatten_in_mel_then_channel_order() -> None:
    """Frame t of the fc input is the (mel, channel) block of time step t (BYOL-A's order)."""
    net = AudioNTT2020(d=4, channels=2)
    conv_out = torch.arange(2 * 3 * 4, dtype=torch.float32).view(1, 2, 3, 4)  # (B, C=2, F'=3, T'=4)
    net.features = _Const(conv_out)
    net.fc = nn.Identity()
    h = net.frames(torch.zeros(1, 1, 64, 32))
    assert h.shape == (1, 4, 6)
    for t in range(4):
        assert h[0, t].tolist() == [conv_out[0, c, f, t].item() for f in range(3) for c in range(2)]


# --------------------------------------------------------------------------------------------
# Post-normalization


def test_post_norm_gives_zero_mean_unit_std_per_batch_and_is_identity_in_eval() -> None:
    norm = PostNorm()
    assert not list(norm.parameters())
    x = 3.0 + 5.0 * torch.randn(16, 1, 64, 96, dtype=torch.float64)
    y = norm(x)
    assert abs(float(y.mean())) < 1e-10 and abs(float(y.std()) - 1.0) < 1e-10
    two = torch.cat([x, 10 + 0.1 * x], dim=1)  # statistics per channel
    z = norm(two)
    for c in range(2):
        assert abs(float(z[:, c].mean())) < 1e-10 and abs(float(z[:, c].std()) - 1.0) < 1e-10
    norm.eval()
    assert norm(x) is x


def test_the_encoder_sees_post_normalized_inputs() -> None:
    """In training mode the encoder's output ignores the batch's offset and scale (post-norm first)."""
    torch.manual_seed(0)
    encoder, _ = audio_encoder(d=16, channels=4, dropout=0.0)
    encoder.train()
    x = torch.randn(8, 1, 64, 96, dtype=torch.float64)
    encoder.double()
    torch.testing.assert_close(encoder(x), encoder(2.5 * x - 7.0))


# --------------------------------------------------------------------------------------------
# audio-rrc


def test_audio_rrc_is_a_registered_audio_view() -> None:
    cls = AUGMENTATIONS.get("audio-rrc")
    assert cls is AudioRandomResizedCrop and cls.stage is Stage.VIEW and cls.modality == "audio"
    pipeline = build_pipeline("audio-rrc+rq(bins=5)", layout=LAYOUT, modality="audio")
    assert isinstance(pipeline.view[0], AudioRandomResizedCrop) and len(pipeline.channel) == 1
    with pytest.raises(SpecError, match="specific to the 'audio' modality"):
        build_pipeline("audio-rrc", layout=LAYOUT, modality="images")


def test_audio_rrc_keeps_the_shape_and_draws_per_sample() -> None:
    x = torch.randn(1, 1, 64, 96).expand(8, 1, 64, 96).contiguous()  # eight copies of one log-mel
    rrc = AudioRandomResizedCrop(generator=torch.Generator().manual_seed(0))
    y = rrc(x)
    assert y.shape == x.shape and y.dtype == x.dtype and torch.isfinite(y).all()
    assert len({tuple(y[i].flatten()[:50].tolist()) for i in range(8)}) == 8  # every sample cropped differently
    again = AudioRandomResizedCrop(generator=torch.Generator().manual_seed(0))(x)
    torch.testing.assert_close(y, again)  # the generator decides everything
    assert rrc(x[0]).shape == (1, 64, 96)  # one log-mel
    assert rrc(x.to(torch.bfloat16)).dtype == torch.bfloat16


def test_audio_rrc_without_scaling_is_the_identity() -> None:
    x = torch.randn(4, 1, 64, 96)
    rrc = AudioRandomResizedCrop(freq_scale=(1.0, 1.0), time_scale=(1.0, 1.0), canvas=(1.0, 1.0))
    torch.testing.assert_close(rrc(x), x)


def test_audio_rrc_crop_boxes_follow_byol_a() -> None:
    """Heights int(U(0.6, 1.5) * 64) clipped to the 64-band canvas, widths int(U(0.6, 1.5) * 96) <= 144,
    inside the canvas."""
    u = torch.rand(5000, 4, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    boxes = crop_boxes(u, (64, 96), (64, 144), (0.6, 1.5), (0.6, 1.5))
    top, left, h, w = boxes.unbind(1)
    assert int(h.min()) == int(0.6 * 64) and int(h.max()) == 64 and int(w.min()) >= 57 and int(w.max()) == 143
    assert bool((top >= 0).all() and (left >= 0).all() and (top + h <= 64).all() and (left + w <= 144).all())
    assert abs(float((h == 64).double().mean()) - 5 / 9) < 0.03  # draws above 1.0 keep every band
    position = (left.double() + 0.5) / (144 - w + 1).double()  # uniform over the positions where the crop fits
    assert abs(float(position.mean()) - 0.5) < 0.02 and float(position.min()) < 0.05 and float(position.max()) > 0.95


def test_audio_rrc_fills_the_canvas_around_the_log_mel() -> None:
    """A full-canvas crop squeezes the log-mel into the middle two thirds of the frames, fill around it."""
    x = torch.full((2, 1, 64, 96), 5.0)
    rrc = AudioRandomResizedCrop(freq_scale=(1.0, 1.0), time_scale=(1.5, 1.5), canvas=(1.0, 1.5), fill=-1.0)
    y = rrc(x)
    assert torch.allclose(y[..., :10], torch.tensor(-1.0)) and torch.allclose(y[..., 40:56], torch.tensor(5.0))


def test_audio_rrc_arguments_are_checked() -> None:
    for bad in ({"freq_scale": (0.0, 1.0)}, {"time_scale": (1.5, 0.6)}, {"canvas": (0.5, 1.5)}, {"time_scale": 3}):
        with pytest.raises(ValueError):
            AudioRandomResizedCrop(**bad)
    with pytest.raises(ValueError, match=r"\(B, C, F, T\)"):
        AudioRandomResizedCrop()(torch.randn(64, 96))

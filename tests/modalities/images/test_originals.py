"""Paper-scale images: the originals cache, views cut from whole images in the loader, MoCo-v3's transforms."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image

from modalities.images import Images
from modalities.images.loader_crops import AfterCrop, CentreView, RandomView, split_views
from modalities.images.originals import (
    ORIGINALS_FORMAT,
    EncodedImages,
    decode,
    load_originals,
    originals_entry_name,
    to_float,
    to_tensor,
)
from modalities.images.views import MoCoV3Full, crop_box, crop_params
from rqbench.augment.base import ChannelLayout
from rqbench.augment.spec import build_pipeline
from rqbench.drawn import Drawn, ViewStack, keyed_generator
from rqbench.evaluate.protocol import evaluate_encoder
from rqbench.runner import make_config
from rqbench.train import pretrain
from rqbench.train.batches import stack_views

LAYOUT = ChannelLayout(channel_dim=1, batch_dims=1)


def jpeg_folder(root: Path, per_class: int = 4, classes: tuple[str, ...] = ("a", "b")) -> Path:
    """Seeded JPEGs of several sizes and aspect ratios in ``root/<class>/``."""
    rng = np.random.default_rng(0)
    for c in classes:
        for i in range(per_class):
            path = root / c / f"{i}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            pixels = rng.integers(0, 256, (40 + 9 * i, 64 - 5 * i, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(path, quality=90)
    return root


def test_originals_keep_the_file_bytes_and_a_versioned_entry(tmp_path) -> None:
    root = jpeg_folder(tmp_path / "pics")
    encoded = load_originals("folder", root=root, cache_dir=tmp_path / "cache")
    assert (encoded.num_classes, encoded.channels, len(encoded.train) + len(encoded.test)) == (2, 3, 8)
    files = {p.read_bytes() for p in root.rglob("*.jpg")}
    images = EncodedImages(encoded.train)
    assert all(images[i][0] in files for i in range(len(images)))  # the original JPEG bytes, not re-encoded
    (entry,) = [p.name for p in (tmp_path / "cache" / "images").iterdir()]
    assert entry.startswith("folder-originals-")
    key = {"format": "the folder's key"}
    assert originals_entry_name("folder", key) != originals_entry_name("folder", {**key, "x": 1})
    assert ORIGINALS_FORMAT == 1  # bump it (and so every entry name) when the stored layout changes


def test_random_view_is_torchvision_at_the_same_crop(tmp_path) -> None:
    """Known answer: decode + torchvision's resized_crop + hflip + ToTensor at the drawn crop and coin."""
    data = (jpeg_folder(tmp_path / "p") / "a" / "3.jpg").read_bytes()
    image = Image.open(io.BytesIO(data)).convert("RGB")
    view = RandomView((24, 24), 3, scale_min=0.2)
    for seed in range(6):
        got = view(data, torch.Generator().manual_seed(seed))
        g = torch.Generator().manual_seed(seed)
        top, left, h, w = crop_params(g, 1, image.height, image.width, 0.2)[0].tolist()
        flip = bool(torch.rand(1, generator=g, dtype=torch.float64)[0] < 0.5)
        want = TF.resized_crop(image, top, left, h, w, [24, 24])
        want = TF.hflip(want) if flip else want
        torch.testing.assert_close(got, T.ToTensor()(want), rtol=0, atol=0)


def test_crop_box_is_crop_params_for_one_image() -> None:
    for seed in range(300):
        for height, width, scale_min, ratio in ((300, 400, 0.08, (3 / 4, 4 / 3)), (10, 400, 0.5, (3 / 4, 4 / 3))):
            box = crop_box(torch.Generator().manual_seed(seed), height, width, scale_min, ratio)
            params = crop_params(torch.Generator().manual_seed(seed), 1, height, width, scale_min, ratio)
            assert box == tuple(params[0].tolist())


def test_centre_view_is_resize_256_then_centre_crop_224(tmp_path) -> None:
    """MoCo-v3's validation view (main_lincls.py L290-L291) on a 300 x 250 image."""
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (250, 300, 3), dtype=np.uint8)).save(buffer, "PNG")
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    want = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor()])(image)
    got = CentreView((224, 224), 3)(buffer.getvalue())
    assert got.shape == (3, 224, 224)
    torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_split_views_moves_the_leading_crop_to_the_loader() -> None:
    def split(spec: str):
        pipeline = build_pipeline(spec, layout=LAYOUT, modality="images", generator=torch.Generator())
        return split_views(pipeline.view, 224, 3)

    rrc = split("rrc(scale_min=0.2)+cj+rq(bins=8)")
    assert isinstance(rrc.make.view, RandomView) and rrc.make.view.scale_min == 0.2 and rrc.make.view.size == (224, 224)
    assert [type(m).__name__ for m in rrc.rest] == ["ColorJitter"]
    assert isinstance(split("rq").make.view, CentreView) and len(split("rq").rest) == 0
    assert isinstance(split("cr+cj").make.view, CentreView) and len(split("cr+cj").rest) == 1
    full = split("full")
    assert isinstance(full.make.view, RandomView) and isinstance(full.rest[0], AfterCrop)
    x = torch.rand(2, 3, 8, 8)
    assert full.rest[0](x, 1).shape == x.shape  # the rest of full keeps the cut view's size
    assert isinstance(full.rest[0].full, MoCoV3Full)


def test_keyed_views_do_not_depend_on_the_worker(tmp_path) -> None:
    encoded = load_originals("folder", root=jpeg_folder(tmp_path / "p"), cache_dir=tmp_path / "c")
    pipeline = build_pipeline("rrc", layout=LAYOUT, modality="images", generator=torch.Generator())
    split = split_views(pipeline.view, 16, 3)
    made = Drawn(EncodedImages(encoded.train), ViewStack(split.make, 2, split.prepare))
    first = made[(0, 0, 5, 1)]
    assert first.shape == (2, 3, 16, 16) and not torch.equal(first[0], first[1])
    torch.testing.assert_close(made[(0, 0, 5, 1)], first, rtol=0, atol=0)  # the key alone decides
    assert not torch.equal(made[(0, 0, 6, 1)], first)  # another step, another crop
    loader = torch.utils.data.DataLoader(made, batch_sampler=[[(0, 0, 5, 1), (0, 0, 5, 2)]], num_workers=1)
    torch.testing.assert_close(next(iter(loader))[0], first, rtol=0, atol=0)
    assert keyed_generator(1, 2).initial_seed() != keyed_generator(2, 1).initial_seed()


def test_paper_preset_on_originals_pretrains_and_runs_lincls(tmp_path, monkeypatch) -> None:
    """The paper preset's data path (originals, views cut in the loader) and its lincls protocol on a
    tiny JPEG folder with a small backbone: two pretraining steps, then a one-epoch lincls."""
    monkeypatch.setenv("RQBENCH_CACHE", str(tmp_path / "cache"))
    root = jpeg_folder(tmp_path / "pics", per_class=6)
    cfg = make_config(
        "images", "moco", "rrc+rq(bins=8)", "paper", 0, True,
        batch_size=4,
        backbone={"name": "small-resnet", "widths": (4, 8, 8)},
        methods={"moco": {"proj_hidden": 16, "proj_dim": 8, "pred_hidden": 16}},
        data={"source": "folder", "root": str(root), "size": 32, "originals": True},
        **{"eval.lincls_epochs": 1, "eval.lincls_batch_size": 4},
    )  # fmt: skip
    assert cfg.preset.eval.protocols == ("lincls",) and Images.presets["paper"].data["originals"] is True
    result = pretrain(cfg, Images(), tmp_path / "run", progress=False, max_steps=2)
    assert result.steps == 2
    (task,) = Images().tasks(cfg.preset)
    assert task.test[0][0].shape == (3, 32, 32) and task.train_views is not None
    view, label = task.train_views[(0, 1, 0, 0)]
    assert view.shape == (3, 32, 32) and label in (0, 1)
    rows = evaluate_encoder(
        result.method.encoder, result.method.feature_dim, Images(), cfg.preset, 0, torch.device("cpu")
    )
    assert [(r["protocol"], r["dataset"]) for r in rows] == [("linear", "folder")]  # the tables' linear column
    assert 0 <= rows[0]["value"] <= 100


def test_decode_composites_transparency_and_greys() -> None:
    buffer = io.BytesIO()
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 0] = 255
    Image.fromarray(rgba).save(buffer, "PNG")  # red, fully transparent: white
    assert np.asarray(decode(buffer.getvalue(), 3)).tolist() == [[[255, 255, 255]] * 2] * 2
    assert decode(buffer.getvalue(), 1).mode == "L"


def test_a_source_without_originals_says_which_can(tmp_path) -> None:
    with pytest.raises(ValueError, match="cannot keep original images.*folder"):
        load_originals("mnist", root=str(tmp_path), cache_dir=tmp_path)


def test_fake_originals_are_the_fake_pixels(tmp_path) -> None:
    from modalities.images.data import dataset_arrays, load_images

    encoded = load_originals("fake", train_size=6, test_size=3, cache_dir=tmp_path)
    pixels, labels = dataset_arrays(load_images("fake", train_size=6, test_size=3, cache_dir=tmp_path).train)
    images = EncodedImages(encoded.train)
    for i in range(len(images)):
        data, label = images[i]
        assert label == labels[i]
        assert np.array_equal(np.asarray(decode(data, 3)).transpose(2, 0, 1), pixels[i])  # PNG: lossless


def test_loader_views_leave_the_workers_as_pixels_and_finish_as_to_tensor(tmp_path) -> None:
    """Known answer: the workers' uint8 views, made float by ``finish``, are ToTensor's views bit for bit."""
    x = torch.arange(256, dtype=torch.uint8).view(1, 16, 16)
    want = T.ToTensor()(Image.fromarray(x[0].numpy()))
    torch.testing.assert_close(to_float(x), want, rtol=0, atol=0)  # every byte value
    encoded = load_originals("folder", root=jpeg_folder(tmp_path / "p"), cache_dir=tmp_path / "c")
    pipeline = build_pipeline("rrc", layout=LAYOUT, modality="images", generator=torch.Generator())
    split = split_views(pipeline.view, 16, 3)
    made = Drawn(EncodedImages(encoded.train), ViewStack(split.make, 2, split.prepare))
    batch = stack_views([made[(0, 0, 5, i)] for i in range(3)])
    assert batch.dtype == torch.uint8 and batch.shape == (3, 2, 3, 16, 16)
    views = split.start(batch)
    assert views.dtype == torch.float32 and views[:, 1].is_contiguous()
    for i in range(3):  # the float view of the same key, drawn the same way
        g = keyed_generator(0, 0, 5, i)
        data = EncodedImages(encoded.train)[i][0]
        image = decode(data, 3)
        for v in range(2):
            torch.testing.assert_close(views[i, v], to_tensor(split.make.view.image(image, g)), rtol=0, atol=0)

"""Inputs that used to crash or mislead: bounded memory, NaN images, failed fits,
clear errors for mixed labels, bad checkpoints and {-1, +1} labels."""

import io
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
from PIL import Image  # noqa: E402

from sktransfer.backbones._spec import ImagePreprocessing  # noqa: E402
from sktransfer.engine._preprocess import ImageTransform  # noqa: E402
from sktransfer.io import decode_image  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "preprocess_reference.npz"
CONFIGS = {
    "bilinear_224_256": ImagePreprocessing(
        crop_size=(224, 224), resize_size=256, interpolation="bilinear"
    ),
    "bicubic_224_256": ImagePreprocessing(
        crop_size=(224, 224), resize_size=256, interpolation="bicubic"
    ),
}


def _png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _blocky_images():
    """The images of tests/data/preprocess_reference.npz (random 8-px blocks)."""
    rng = np.random.default_rng(11)
    shapes = [(300, 400), (480, 640), (720, 1280), (250, 750), (640, 480), (97, 389)]
    out = []
    for h, w in shapes:
        base = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
        out.append(np.kron(base, np.ones((8, 8, 1), dtype=np.uint8))[:h, :w])
    return out


def _old_transform(image, config):
    """The preprocessing before the fix: resize the whole image, then crop."""
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional

    mode = InterpolationMode(config.interpolation)
    image = functional.resize(
        image, [config.resize_size], interpolation=mode, antialias=True
    )
    image = functional.center_crop(image, list(config.crop_size)).clamp(0, 1)
    mean = torch.tensor(config.mean).view(-1, 1, 1)
    return (image - mean) / torch.tensor(config.std).view(-1, 1, 1)


# -- 9. memory bounded by the crop size, whatever the aspect ratio -----------
_MEMORY_PROBE = textwrap.dedent(
    """
    import io, resource, sys, warnings
    import numpy as np, torch
    from PIL import Image
    from sktransfer import ImageEmbedder
    from sktransfer.backbones import get_backbone
    from sktransfer.backbones._spec import ImagePreprocessing
    import dataclasses

    torch.set_num_threads(1)
    spec = dataclasses.replace(
        get_backbone("toy-image"),
        preprocessing=ImagePreprocessing(crop_size=(224, 224), resize_size=256),
    )
    normal = np.full((300, 400, 3), 128, dtype=np.uint8)
    embedder = ImageEmbedder(backbone=spec).fit([normal])
    embedder.transform([normal])  # warm up every allocation of a transform
    buffer = io.BytesIO()
    Image.fromarray(np.full((1, 20000), 200, dtype=np.uint8)).save(buffer, "PNG")
    png = buffer.getvalue()
    # the old path allocated 15.7 GB here: cap the address space so that a
    # regression fails this process instead of exhausting the machine
    vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0])
    headroom = 1 << 30
    resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + headroom, -1))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = embedder.transform([normal, png])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert np.isfinite(out).all() and out.shape[0] == 2
    print("PNG_BYTES", len(png))
    print("PEAK_GROWTH_KB", after - before)
    print("WARNINGS", [str(w.message) for w in caught])
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc, RLIMIT_AS")
def test_1x20000_png_embeds_with_bounded_memory():
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = dict(
        line.split(" ", 1) for line in result.stdout.splitlines() if " " in line
    )
    assert int(lines["PNG_BYTES"]) < 1000
    # peak resident memory grew by under 200 MB (the old path needed 15.7 GB)
    assert int(lines["PEAK_GROWTH_KB"]) < 200 * 1024
    assert "image at index 1 is 1x20000 pixels" in lines["WARNINGS"]


def test_resize_never_exceeds_the_stretch_limit():
    from sktransfer.engine._preprocess import MAX_STRETCH, _cut_to_crop

    config = CONFIGS["bicubic_224_256"]
    shapes = [(1, 20000), (20000, 1), (3, 20000), (7, 50000), (256, 1025), (97, 389)]
    for shape in shapes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the >20:1 ones warn
            image = decode_image(np.zeros((*shape, 3), dtype=np.uint8), 0)
        cut, size, _ = _cut_to_crop(image, config)
        resized = ImageTransform(config)(image)
        assert resized.shape == (3, 224, 224)
        assert 256 in size and max(size) <= 2 * MAX_STRETCH * 256
        assert cut.shape[-2:] != shape


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_normal_aspect_ratios_unchanged_from_the_stored_old_path(name):
    import torch

    reference = np.load(REFERENCE)
    transform = ImageTransform(CONFIGS[name])
    for i, image in enumerate(_blocky_images()[:5]):  # aspect ratios up to 3:1
        out = transform(decode_image(image, i))
        pooled = torch.nn.functional.adaptive_avg_pool2d(out[None], 16)[0]
        np.testing.assert_allclose(pooled.numpy(), reference[f"{name}_{i}"], atol=1e-5)
        np.testing.assert_allclose(
            out[:, 112, :].numpy(), reference[f"{name}_{i}_row"], atol=1e-5
        )


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("shape", [(97, 389), (60, 600), (1800, 90), (257, 2100)])
def test_elongated_images_match_the_old_path_to_resampling_precision(name, shape):
    # a smooth image: the cut crop may sit up to half an output pixel away
    config = CONFIGS[name]
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    image = np.stack(
        [
            0.5 + 0.4 * np.sin(cols / 13.0) * np.cos(rows / 17.0),
            0.5 + 0.4 * np.cos(cols / 29.0 + rows / 23.0),
            np.linspace(0.1, 0.9, shape[1])[None, :].repeat(shape[0], 0),
        ],
        axis=-1,
    ).astype(np.float32)
    decoded = decode_image(image, 0)
    new, old = ImageTransform(config)(decoded), _old_transform(decoded, config)
    # normalised units (std ~0.225): 0.05 is about 1% of the [0, 1] range
    assert float((new - old).abs().mean()) < 0.02
    assert float((new - old).abs().max()) < 0.15


def test_absurd_aspect_ratio_warns_with_its_index():
    with pytest.warns(UserWarning, match=r"image at index 3 is 1x20000 pixels"):
        decode_image(np.zeros((1, 20000), dtype=np.uint8), 3)
    with pytest.warns(UserWarning, match=r"index 0 is 900x40 pixels"):
        decode_image(np.zeros((900, 40), dtype=np.uint8), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decode_image(np.zeros((40, 800), dtype=np.uint8), 0)  # 20:1 is fine


def test_augmented_training_path_is_bounded_too():
    from sktransfer.engine._augment import TrainImageTransform

    config = CONFIGS["bilinear_224_256"]
    image = decode_image(np.full((1, 20000), 9, dtype=np.uint8), 0)
    assert TrainImageTransform(config)(image).shape == (3, 224, 224)


# -- 10. mode-F PIL images: NaN / inf rejected with the index, clipping said --
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_mode_f_image_with_nan_or_inf_is_rejected_with_its_index(bad):
    from sktransfer import ImageEmbedder

    values = np.full((16, 16), 0.5, dtype=np.float32)
    values[3, 4] = bad
    image = Image.fromarray(values, mode="F")
    good = Image.fromarray(np.full((16, 16), 0.5, dtype=np.float32), mode="F")
    with pytest.raises(ValueError, match=r"PIL image at index 2.*NaN or infinite"):
        decode_image(image, 2)
    embedder = ImageEmbedder(backbone="toy-image").fit([good, good, image])
    with pytest.raises(ValueError, match=r"index 2.*NaN or infinite"):
        embedder.transform([good, good, image])
    assert np.isfinite(embedder.transform([good, good])).all()


def test_mode_f_values_are_scaled_and_clipped_as_documented():
    values = np.array([[-3.0, 0.0, 0.5, 4.0]], dtype=np.float32)
    decoded = decode_image(Image.fromarray(values, mode="F"), 0).numpy()[0, 0]
    # over 1: divided by the maximum (4); negative: clipped to 0
    np.testing.assert_allclose(decoded, [0.0, 0.0, 0.125, 1.0])
    in_range = np.array([[-0.2, 0.25, 1.0]], dtype=np.float32)
    decoded = decode_image(Image.fromarray(in_range, mode="F"), 0).numpy()[0, 0]
    np.testing.assert_allclose(decoded, [0.0, 0.25, 1.0])

"""Image and text inputs: every format decodes right, every bad input is named."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer.io import check_image_input, check_text_input, decode_image

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (20, 30, 3), dtype=np.uint8)


def _decoded(item):
    return decode_image(item, 0).numpy().transpose(1, 2, 0)


def _png_bytes(image, **save_kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save_kwargs)
    return buffer.getvalue()


def test_rgb_sources_agree(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(RGB).save(path)
    expected = RGB / 255.0
    for item in (
        str(path),
        path,
        path.read_bytes(),
        Image.fromarray(RGB),
        RGB,
        RGB.transpose(2, 0, 1),  # channels first
        RGB.astype(np.float32) / 255,
        RGB.astype(np.uint16) * 257,
    ):
        np.testing.assert_allclose(_decoded(item), expected, atol=1e-6)


def test_grayscale_palette_cmyk_16bit():
    gray = RNG.integers(0, 256, (10, 12), dtype=np.uint8)
    np.testing.assert_allclose(
        _decoded(Image.fromarray(gray)), np.repeat(gray[:, :, None], 3, 2) / 255.0
    )
    palette = Image.fromarray(RGB).convert("P")
    np.testing.assert_allclose(
        _decoded(palette), np.asarray(palette.convert("RGB")) / 255.0, atol=1e-6
    )
    cmyk = Image.fromarray(RGB).convert("CMYK")
    assert _decoded(cmyk).shape == (20, 30, 3)
    np.testing.assert_allclose(
        _decoded(cmyk), np.asarray(cmyk.convert("RGB")) / 255.0, atol=1e-6
    )
    deep = gray.astype(np.uint16) * 257  # 16-bit grayscale, full range
    decoded = _decoded(Image.fromarray(deep))
    np.testing.assert_allclose(decoded[:, :, 0], gray / 255.0, atol=1e-4)
    png16 = Image.open(io.BytesIO(_png_bytes(Image.fromarray(deep))))
    np.testing.assert_allclose(_decoded(png16)[:, :, 1], gray / 255.0, atol=1e-4)


def test_alpha_is_composited_on_white():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[:2, :, 3] = 255  # top half opaque black, bottom half transparent
    decoded = _decoded(Image.fromarray(rgba, "RGBA"))
    assert decoded[:2].max() == 0.0 and decoded[2:].min() == 1.0
    np.testing.assert_allclose(_decoded(rgba), decoded)
    la = Image.fromarray(rgba, "RGBA").convert("LA")
    np.testing.assert_allclose(_decoded(la), decoded)


def test_exif_orientation_is_applied():
    image = Image.fromarray(RGB)  # 20 x 30 (H x W)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    decoded = _decoded(buffer.getvalue())
    assert decoded.shape == (30, 20, 3)


def test_array_batches():
    items, _ = check_image_input(RNG.integers(0, 256, (5, 3, 16, 16), dtype=np.uint8))
    assert items.shape == (5, 16, 16, 3)
    items, _ = check_image_input(RNG.integers(0, 256, (5, 16, 16), dtype=np.uint8))
    assert _decoded(items[0]).shape == (16, 16, 3)
    with pytest.raises(ValueError, match=r"shape \(5, 7, 16, 16\)"):
        check_image_input(np.zeros((5, 7, 16, 16), np.uint8))
    with pytest.raises(ValueError, match="5 dimensions"):
        check_image_input(np.zeros((1, 2, 3, 4, 5), np.uint8))
    with pytest.raises(
        ValueError, match=r"index 1 is a float array.*must lie in \[0, 1\]"
    ):
        decode_image(np.full((4, 4), 255.0), 1)
    with pytest.raises(ValueError, match="index 2 contains NaN"):
        decode_image(np.full((4, 4), np.nan), 2)
    with pytest.raises(ValueError, match=r"index 0 has shape \(5, 5, 7\)"):
        decode_image(np.zeros((5, 5, 7)), 0)


@pytest.mark.parametrize("embedder", [ImageEmbedder(backbone="toy-image")])
def test_bad_image_files_name_index_and_path(tmp_path, embedder):
    good = tmp_path / "good.png"
    Image.fromarray(RGB).save(good)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    folder = tmp_path / "folder"
    folder.mkdir()
    embedder.fit([str(good)])
    cases = [
        (tmp_path / "missing.png", FileNotFoundError, "index 1.*missing.png"),
        (truncated, ValueError, "index 1.*truncated.png"),
        (text, ValueError, "index 1.*notes.png"),
        (empty, ValueError, "index 1.*empty.jpg.*0 bytes"),
        (folder, ValueError, "index 1.*folder.*directory"),
        (b"", ValueError, "index 1.*empty"),
        (b"garbage", ValueError, "could not decode the image at index 1"),
        (42, ValueError, "index 1 is a int"),
        (None, ValueError, "index 1 is a NoneType"),
    ]
    for bad, error, message in cases:
        with pytest.raises(error, match=message):
            embedder.transform([str(good), bad])


def test_bad_collections():
    embedder = ImageEmbedder(backbone="toy-image")
    with pytest.raises(ValueError, match="bare str"):
        embedder.fit("photo.jpg")
    with pytest.raises(ValueError, match="empty input"):
        embedder.fit([])
    with pytest.raises(ValueError, match="empty input"):
        embedder.fit(np.zeros((0, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="one-column DataFrame"):
        embedder.fit(pd.DataFrame({"a": ["x"], "b": ["y"]}))


def test_text_validation():
    assert check_text_input(pd.Series(["a", "b"], name="t")) == (["a", "b"], "t")
    assert check_text_input(pd.DataFrame({"t": ["a"]}))[1] == "t"
    assert check_text_input(np.array(["a", "b"]))[0] == ["a", "b"]
    embedder = TextEmbedder(backbone="toy-text")
    with pytest.raises(ValueError, match="bare str"):
        embedder.fit("hello")
    with pytest.raises(ValueError, match="index 1 is missing"):
        embedder.fit(["a", None])
    with pytest.raises(ValueError, match="index 2 is missing.*nan"):
        embedder.fit(pd.Series(["a", "b", np.nan]))
    with pytest.raises(ValueError, match="index 0 is a int"):
        embedder.fit([3, "a"])
    with pytest.raises(ValueError, match="empty input"):
        embedder.fit([])

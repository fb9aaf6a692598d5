"""Property tests of the cache keys: equal keys mean equal decoded inputs.

Pairs are built the way collisions happen: an input and a variant of it that
keeps as much as possible (the same indices with another palette, the same
pixels with another EXIF orientation, the same bytes read as another dtype or
shape, one value changed), or an exact copy. Whenever two keys are equal the
decoded images must be equal, byte for byte; a copy that decodes the same
must share its key.
"""

import copy

import numpy as np
import pytest
from PIL import Image

from sktransfer.engine._keys import image_cache_key, text_cache_key
from sktransfer.io import decode_image

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
from hypothesis import given, settings  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
DTYPES = ["uint8", "uint16", "float16", "float32", "float64", "bool", "int16"]
MODES = ["1", "L", "LA", "P", "PA", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]


def _decoded(item):
    pixels = decode_image(item, 0).numpy()
    return pixels.shape, pixels.tobytes()


def _check_pair(first, second):
    key_1, key_2 = image_cache_key(first), image_cache_key(second)
    assert key_1 is not None and key_2 is not None
    if key_1 == key_2:
        assert _decoded(first) == _decoded(second)
    duplicate = copy.deepcopy(first)  # a PIL copy drops an EXIF set in memory
    if _decoded(duplicate) == _decoded(first):
        assert image_cache_key(duplicate) == key_1


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    height, width = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    shape = (height, width) if channels is None else (height, width, channels)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype.kind == "f":
        return rng.random(shape).astype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    high = 256 if dtype.itemsize == 1 or dtype.kind == "i" else 65536
    return rng.integers(0, high, shape).astype(dtype)


def _variant_array(array, kind, rng):
    if kind == "copy":
        return array.copy()
    if kind == "one value":
        out = array.copy()
        flat = out.reshape(-1)
        flat[rng.integers(flat.size)] = 0 if flat[0] else 1
        if out.dtype.kind == "f":
            flat[0] = 0.5 if flat[0] != 0.5 else 0.25
        return out
    if kind == "transposed":  # same bytes, other shape when not square
        return np.ascontiguousarray(array).reshape(array.shape[1::-1] + array.shape[2:])
    same_bytes = {"bool": "uint8", "float16": "uint16", "int16": "uint16"}
    if array.dtype.name in same_bytes:  # same bytes and shape, other dtype
        return array.view(same_bytes[array.dtype.name])
    if array.dtype == np.uint8 and array.max() < 128:
        return array.view(np.int8)  # decodes the same: may share or not
    return array.astype("float32" if array.dtype != np.float32 else "float64")


@SETTINGS
@given(arrays())
def test_array_keys(array):
    for kind in ("copy", "one value", "transposed", "dtype"):
        _check_pair(array, _variant_array(array, kind, np.random.default_rng(0)))


@st.composite
def pil_images(draw):
    mode = draw(st.sampled_from(MODES))
    size = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    seed = draw(st.integers(0, 2**32 - 1))
    orientation = draw(st.sampled_from([None, 1, 2, 3, 4, 5, 6, 7, 8]))
    return _pil(mode, size, seed, orientation)


def _pil(mode, size, seed, orientation=None, palette_seed=None):
    rng = np.random.default_rng(seed)
    probe = Image.new(mode, (1, 1))
    n_bytes = len(probe.tobytes()) * size[0] * size[1]
    image = Image.frombytes(mode, size, rng.bytes(n_bytes))
    if mode == "F":  # finite values, as real float images have
        values = rng.random((size[1], size[0])).astype(np.float32) * 2
        image = Image.fromarray(values, mode="F")
    if mode in ("P", "PA"):
        palette_rng = np.random.default_rng(
            seed if palette_seed is None else palette_seed
        )
        image.putpalette(palette_rng.integers(0, 256, 768).tolist())
    if orientation is not None:
        image.getexif()[0x0112] = orientation
    return image


def _variants_pil(image, seed):
    duplicate = image.copy()
    duplicate.getexif().update(image.getexif())
    yield duplicate
    if image.mode in ("P", "PA"):  # same indices, another palette
        variant = image.copy()
        variant.putpalette(np.random.default_rng(seed).integers(0, 256, 768).tolist())
        yield variant
    rotated = image.copy()  # same pixels, another EXIF orientation
    rotated.getexif()[0x0112] = int(seed % 8) + 1
    yield rotated
    yield image.convert("RGB")


@SETTINGS
@given(pil_images(), st.integers(0, 2**32 - 1))
def test_pil_keys(image, seed):
    for variant in _variants_pil(image, seed):
        _check_pair(image, variant)


@SETTINGS
@given(st.binary(max_size=64), st.binary(max_size=64))
def test_bytes_keys(first, second):
    assert (image_cache_key(first) == image_cache_key(second)) == (first == second)
    assert image_cache_key(bytearray(first)) == image_cache_key(first)


def test_files_share_the_key_of_their_bytes(tmp_path):
    rng = np.random.default_rng(0)
    blobs = [rng.bytes(n) for n in (0, 1, 5, 1 << 20, (1 << 20) + 1)]
    blobs.append(blobs[-1][:-1] + bytes([blobs[-1][-1] ^ 1]))  # last byte differs
    keys = []
    for i, blob in enumerate(blobs):
        path = tmp_path / f"{i}.bin"
        path.write_bytes(blob)
        keys.append(image_cache_key(path))
        assert keys[-1] == image_cache_key(blob) == image_cache_key(str(path))
    assert len(set(keys)) == len(blobs)


@SETTINGS
@given(
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.text(st.characters(exclude_categories=()), max_size=12),
)
def test_text_keys(first, second):
    # lone surrogates included: keyed losslessly, never an encoding error
    assert (text_cache_key(first) == text_cache_key(second)) == (first == second)

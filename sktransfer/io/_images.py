"""Validate image collections and decode one image to a float RGB tensor.

Every decoded image is a ``float32`` tensor ``(3, H, W)`` in [0, 1], whatever
it came from: a file path, bytes, a PIL image or an array. Grayscale is
repeated to three channels, alpha is composited onto white, palette, CMYK and
16-bit images are converted, and EXIF orientation is applied. 32-bit PIL
images (modes ``I`` and ``F``) are read as intensities: values over the range
(255 or 65535 for ``I``, 1.0 for ``F``) scale the image by its maximum,
negative values are clipped to 0 (black), and NaN or infinite values are
rejected with the image's index.

`decode_pixels` does the decoding with Pillow and NumPy only (no torch, no
random numbers, no warning), so the inference loop can run it in a
background thread; `decode_image` adds the aspect-ratio warning and wraps
the result in a tensor.
"""

import io
import math
import warnings
from pathlib import Path

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.io._sequence import as_item_list

__all__ = [
    "check_image_input",
    "decode_image",
    "decode_image_array",
    "decode_pixels",
    "pixels_to_tensor",
]

_CHANNELS = (1, 3, 4)
# long side / short side over which a square centre crop keeps under 5% of
# an image: such an image gets a warning naming its index
MAX_ASPECT_RATIO = 20


def _describe(item):
    if isinstance(item, (str, Path)):
        return f"path {str(item)!r}"
    if isinstance(item, (bytes, bytearray)):
        return f"{len(item)} bytes"
    return type(item).__name__


def _channel_axis(shape, where):
    """Which axis holds channels for an image of ``shape`` (2-D or 3-D)."""
    if len(shape) == 2:
        return None
    if len(shape) == 3:
        if shape[-1] in _CHANNELS:
            return -1
        if shape[0] in _CHANNELS:
            return 0
    raise ValueError(
        f"image {where} has shape {tuple(shape)}: expected (H, W), (H, W, C) or "
        f"(C, H, W) with C in {_CHANNELS}"
    )


def check_image_input(X):
    """Validate a collection of images without decoding them.

    Parameters
    ----------
    X : sequence, ndarray, Series or one-column DataFrame
        File paths (str or Path), bytes, PIL images or arrays; or a numeric
        array of images shaped ``(N, H, W)``, ``(N, H, W, C)`` or
        ``(N, C, H, W)`` with ``C`` in (1, 3, 4).

    Returns
    -------
    items : list or ndarray
        Indexable images; a numeric batch stays one array, moved to
        channels-last.
    column_name : str or None
        The column or Series name, when there is one.
    """
    if isinstance(X, np.ndarray) and X.dtype != object and X.ndim in (3, 4):
        if X.shape[0] == 0:
            raise ValueError("empty input: no image to embed (got 0 images)")
        if X.ndim == 4:
            if X.shape[-1] in _CHANNELS:
                pass
            elif X.shape[1] in _CHANNELS:
                X = np.moveaxis(X, 1, -1)
            else:
                raise ValueError(
                    f"image array has shape {X.shape}: expected (N, H, W), "
                    f"(N, H, W, C) or (N, C, H, W) with C in {_CHANNELS}"
                )
        _check_dtype(X.dtype, "array")
        return X, None
    if isinstance(X, np.ndarray) and X.dtype != object and X.ndim not in (1,):
        raise ValueError(
            f"image array has {X.ndim} dimensions (shape {X.shape}): expected a "
            f"batch shaped (N, H, W), (N, H, W, C) or (N, C, H, W), or a 1-D "
            f"collection of paths"
        )
    items, name = as_item_list(X, "image")
    PIL_Image = _pil_image_class()
    for index, item in enumerate(items):
        if isinstance(item, (str, Path, bytes, bytearray, np.ndarray)):
            continue
        if PIL_Image is not None and isinstance(item, PIL_Image):
            continue
        raise ValueError(
            f"image input at index {index} is a {type(item).__name__} ({item!r:.80}): "
            f"expected a file path, bytes, a PIL image or an array"
        )
    return items, name


def _pil_image_class():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow comes with the torch extra
        return None
    return Image.Image


def _check_dtype(dtype, where):
    if not (
        np.issubdtype(dtype, np.integer)
        or np.issubdtype(dtype, np.floating)
        or dtype == np.bool_
    ):
        raise ValueError(f"image {where} has dtype {dtype}: expected uint8 or float")


def _array_to_float(array, where):
    """Scale an image array to float32 in [0, 1]."""
    _check_dtype(array.dtype, where)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(
                f"image {where} is an integer array with values in [{low}, {high}]; "
                f"use uint8 (0-255), uint16 (0-65535) or floats in [0, 1]"
            )
        return array.astype(np.float32) / 255.0
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise ValueError(f"image {where} contains NaN or infinite values")
    low, high = float(array.min()), float(array.max())
    if low < -1e-3 or high > 1 + 1e-3:
        raise ValueError(
            f"image {where} is a float array with values in [{low:.4g}, {high:.4g}]; "
            f"float images must lie in [0, 1] (divide by 255, or pass uint8)"
        )
    return np.clip(array, 0.0, 1.0)


def _to_rgb(array):
    """(H, W) or (H, W, C) float -> (H, W, 3) float, alpha composited on white."""
    if array.ndim == 2:
        array = array[:, :, None]
    channels = array.shape[-1]
    if channels == 1:
        return np.repeat(array, 3, axis=-1)
    if channels == 4:
        alpha = array[:, :, 3:4]
        return array[:, :, :3] * alpha + (1.0 - alpha)
    return array


def _pil_to_float(image):
    """A PIL image -> (H, W, 3) float32 in [0, 1], honouring EXIF orientation."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        array = np.asarray(image).astype(np.float64)
        scale = 65535.0 if (mode.startswith("I;16") or array.max() > 255) else 255.0
        array = np.clip(array / scale, 0.0, 1.0)
    elif mode == "F":
        array = np.asarray(image, dtype=np.float32)
        if not np.isfinite(array).all():
            raise ValueError("the mode-F image contains NaN or infinite values")
        if array.size and float(array.max()) > 1.0:
            array = array / float(array.max())
        array = np.clip(array, 0.0, 1.0)
    elif mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
        mode == "P" and "transparency" in image.info
    ):
        array = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
    else:
        rgb = image if mode == "RGB" else image.convert("RGB")
        array = np.asarray(rgb, dtype=np.float32)
        array /= 255.0  # in place: the same values as ``array / 255.0``
    return _to_rgb(array.astype(np.float32, copy=False))


def _draft(image, min_short_side):
    """Let Pillow decode a large JPEG at 1/2, 1/4 or 1/8 scale (in the DCT).

    The scale is the smallest whose shorter side stays >= ``min_short_side``;
    other formats and JPEGs under twice ``min_short_side`` decode at full size.
    """
    if image.format != "JPEG" or not min_short_side:
        return
    width, height = image.size
    short = min(width, height)
    if short < 2 * min_short_side:
        return
    factor = min_short_side / short
    image.draft(image.mode, (math.ceil(width * factor), math.ceil(height * factor)))


def _open_pil(item, index, draft=None):
    Image = import_optional("PIL.Image")
    if isinstance(item, (str, Path)):
        path = Path(item).expanduser()
        where = f"at index {index} ({str(item)!r})"
        if not path.exists():
            raise FileNotFoundError(f"image file not found {where}")
        if path.is_dir():
            raise ValueError(f"expected an image file {where}, found a directory")
        if path.stat().st_size == 0:
            raise ValueError(f"image file {where} is empty (0 bytes)")
        source = path
    else:
        where = f"at index {index} ({len(item)} bytes)"
        if len(item) == 0:
            raise ValueError(f"image bytes at index {index} are empty (0 bytes)")
        source = io.BytesIO(bytes(item))
    try:
        with Image.open(source) as image:
            _draft(image, draft)
            image.load()
            return _pil_to_float(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(
            f"could not decode the image {where}: {type(exc).__name__}: {exc}"
        ) from exc


def decode_pixels(item, index, draft=None):
    """Decode one image to a ``float32`` array ``(3, H, W)`` in [0, 1].

    Pillow and NumPy only: no torch call, no random number, no warning, so
    it may run in a background thread. The errors are those of
    `decode_image`, naming ``index`` (and the path).

    Parameters
    ----------
    item : str, Path, bytes, PIL.Image.Image or ndarray
        The image.
    index : int
        Its position in the input, for error messages.
    draft : int, optional
        JPEG files and bytes whose shorter side is at least twice ``draft``
        are decoded at a reduced scale (``PIL.Image.draft``: 1/2, 1/4 or
        1/8, in the DCT) keeping a shorter side >= ``draft``: much faster
        for photos far larger than the network's input, close to (not equal
        to) the full decode. None decodes at full size.

    Returns
    -------
    pixels : ndarray of shape (3, H, W), dtype float32, C-contiguous
    """
    if isinstance(item, np.ndarray):
        where = f"at index {index}"
        axis = _channel_axis(item.shape, where)
        if axis == 0:
            item = np.moveaxis(item, 0, -1)
        array = _to_rgb(_array_to_float(item, where))
    elif isinstance(item, (str, Path, bytes, bytearray)):
        array = _open_pil(item, index, draft)
    else:
        try:
            array = _pil_to_float(item)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"could not convert the PIL image at index {index}: {exc}"
            ) from exc
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"image at index {index} is empty (shape {array.shape})")
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def pixels_to_tensor(pixels, index):
    """`decode_pixels`'s array as a tensor (shared memory), warning if elongated.

    Parameters
    ----------
    pixels : ndarray of shape (3, H, W)
    index : int
        The image's position in the input, for the warning.

    Returns
    -------
    image : torch.Tensor
    """
    torch = import_optional("torch")
    _warn_if_elongated(pixels.shape[1:], index, stacklevel=4)
    return torch.from_numpy(pixels)


def decode_image(item, index, draft=None):
    """Decode one image to a ``float32`` tensor ``(3, H, W)`` in [0, 1].

    Parameters
    ----------
    item : str, Path, bytes, PIL.Image.Image or ndarray
        The image.
    index : int
        Its position in the input, for error messages.
    draft : int, optional
        Decode large JPEGs at a reduced scale (see `decode_pixels`).

    Returns
    -------
    image : torch.Tensor
    """
    return pixels_to_tensor(decode_pixels(item, index, draft), index)


def decode_image_array(item, index):
    """Decode one image to a ``float32`` array ``(3, H, W)``, without torch.

    What `decode_image` returns (full-size decode, the same warning), as a
    NumPy array: the torch-free fast start runs on it.

    Parameters
    ----------
    item : str, Path, bytes, PIL.Image.Image or ndarray
        The image.
    index : int
        Its position in the input, for error messages.

    Returns
    -------
    image : ndarray of shape (3, H, W), dtype float32
    """
    pixels = decode_pixels(item, index)
    _warn_if_elongated(pixels.shape[1:], index, stacklevel=4)
    return pixels


def _warn_if_elongated(shape, index, stacklevel=3):
    """Warn when the centre crop can keep only a sliver of the image."""
    height, width = shape
    if max(height, width) > MAX_ASPECT_RATIO * min(height, width):
        warnings.warn(
            f"image at index {index} is {height}x{width} pixels (aspect ratio "
            f"over {MAX_ASPECT_RATIO}:1): a square centre crop keeps under "
            f"{100 // MAX_ASPECT_RATIO}% of it, so it is embedded from its "
            f"central part only. Crop or pad it to a sensible shape first",
            UserWarning,
            stacklevel=stacklevel,
        )

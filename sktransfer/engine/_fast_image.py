"""Image preprocessing in NumPy and Pillow, equal to `ImageTransform` without torch.

The torch-free fast start (`sktransfer.engine._fast_record`) feeds an
exported graph directly; its preprocessing must give what
`sktransfer.engine._preprocess.ImageTransform` gives. Both resize with the
same antialiased separable filter: torch's ``interpolate(antialias=True)``
is a port of Pillow's ``ImagingResample`` (same support, same bicubic
``a = -0.5``, same weight normalisation, the horizontal pass first), and
Pillow resamples 32-bit float images (mode ``F``) without rounding or
clipping. Pillow accumulates in double precision where torch uses float32,
so the two differ by float rounding only (1e-6 to 4e-5); `preprocessing_gap`
measures it, and a record is written only when it is below
`MAX_PREPROCESSING_GAP` for the configuration at hand.
"""

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.engine._preprocess import _cut_to_crop

__all__ = [
    "MAX_PREPROCESSING_GAP",
    "NumpyImageTransform",
    "preprocessing_gap",
    "supports",
]

# largest |difference| allowed between the two preprocessings on the probes:
# uniform noise is the worst case for float32 rounding in torch's resampling
# (up to 4e-5 measured for EfficientNet-Lite0 at 224, 96 and 300 px, after
# the division by std 0.5); photos differ by 1e-6 to 1e-5, and the features
# by under 1e-5 (cosine 1.0); a broken port differs by 1e-2 or more
MAX_PREPROCESSING_GAP = 1e-4
_FILTERS = ("bilinear", "bicubic")


def supports(preprocessing):
    """Whether `NumpyImageTransform` reproduces ``preprocessing`` (its filter)."""
    return preprocessing is not None and preprocessing.interpolation in _FILTERS


def _resized_size(height, width, size):
    """The output size torchvision's ``resize`` computes for ``size``."""
    if len(size) == 2:
        return int(size[0]), int(size[1])
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = int(size[0]), int(size[0] * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def _resize(image, size, interpolation):
    """Antialiased resize of a float (3, H, W) array, as torchvision's on tensors."""
    Image = import_optional("PIL.Image")
    height, width = image.shape[-2:]
    new_height, new_width = _resized_size(height, width, size)
    if (new_height, new_width) == (height, width):
        return image
    resample = Image.Resampling.BICUBIC
    if interpolation == "bilinear":
        resample = Image.Resampling.BILINEAR
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(channel, dtype=np.float32)).resize(
                (new_width, new_height), resample=resample
            ),
            dtype=np.float32,
        )
        for channel in image
    ]
    return np.stack(channels)


def _center_crop(image, crop_size):
    """torchvision's ``center_crop``: zero padding when the crop is larger."""
    crop_height, crop_width = crop_size
    height, width = image.shape[-2:]
    if crop_height > height or crop_width > width:
        left = (crop_width - width) // 2 if crop_width > width else 0
        top = (crop_height - height) // 2 if crop_height > height else 0
        right = (crop_width - width + 1) // 2 if crop_width > width else 0
        bottom = (crop_height - height + 1) // 2 if crop_height > height else 0
        image = np.pad(image, ((0, 0), (top, bottom), (left, right)))
        height, width = image.shape[-2:]
        if (crop_height, crop_width) == (height, width):
            return image
    top = int(round((height - crop_height) / 2.0))
    left = int(round((width - crop_width) / 2.0))
    return image[:, top : top + crop_height, left : left + crop_width]


class NumpyImageTransform:
    """`ImageTransform` on NumPy arrays: resize, centre crop, clamp, normalise.

    Parameters
    ----------
    preprocessing : ImagePreprocessing
        With a ``"bilinear"`` or ``"bicubic"`` filter (see `supports`).
    """

    def __init__(self, preprocessing):
        if not supports(preprocessing):
            raise ValueError(
                f"no NumPy preprocessing for interpolation="
                f"{getattr(preprocessing, 'interpolation', None)!r}; "
                f"supported: {_FILTERS}"
            )
        self.preprocessing = preprocessing
        self._mean = np.asarray(preprocessing.mean, dtype=np.float32).reshape(-1, 1, 1)
        self._std = np.asarray(preprocessing.std, dtype=np.float32).reshape(-1, 1, 1)

    def __call__(self, image):
        """A float (3, H, W) array in [0, 1] -> the network input (3, h, w)."""
        config = self.preprocessing
        image, size, anchor = _cut_to_crop(image, config)
        image = _resize(image, size, config.interpolation)
        if anchor is not None:  # the crop along the (cut) long side
            axis, start = anchor
            length = config.crop_size[axis]
            image = np.take(image, range(start, start + length), axis=axis)
        image = _center_crop(image, config.crop_size)
        image = np.clip(image, 0.0, 1.0)
        return ((image - self._mean) / self._std).astype(np.float32, copy=False)


def _probe_images():
    """Images of several shapes: square, landscape, portrait, tiny, elongated."""
    generator = np.random.default_rng(0)
    shapes = [(3, 97, 131), (3, 240, 180), (3, 17, 23), (3, 9, 400), (3, 300, 11)]
    return [generator.random(shape, dtype=np.float32) for shape in shapes]


def preprocessing_gap(preprocessing):
    """Largest |NumPy - torch| preprocessing difference on probe images.

    Runs both `NumpyImageTransform` and the torch `ImageTransform` (so torch
    must be importable: this runs on the normal path, when a record is
    written).

    Parameters
    ----------
    preprocessing : ImagePreprocessing

    Returns
    -------
    gap : float
        ``inf`` when the shapes differ.
    """
    torch = import_optional("torch")
    from sktransfer.engine._preprocess import ImageTransform

    fast, reference = NumpyImageTransform(preprocessing), ImageTransform(preprocessing)
    gap = 0.0
    for image in _probe_images():
        expected = reference(torch.from_numpy(image.copy())).numpy()
        got = fast(image)
        if got.shape != expected.shape:
            return float("inf")
        gap = max(gap, float(np.abs(got - expected).max()))
    return gap

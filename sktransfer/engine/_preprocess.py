"""Image preprocessing from a backbone's `ImagePreprocessing` (tensor based)."""

import math

from sktransfer._optional import import_optional

__all__ = ["DRAFT_MARGIN", "ImageTransform", "MAX_STRETCH"]

# The resized image's long side may reach MAX_STRETCH times the larger of the
# resize and crop sizes; a longer one is first cut to the part the centre crop
# keeps (aspect ratios over about 4:1 with the usual crops), whose resized
# length is under crop + (2 * reach + 2) / step <= crop + 6 * resize_size + 1:
# so no resized image is ever longer than 8 * max(resize_size, crop) pixels.
MAX_STRETCH = 4
# JPEGs decoded with ``jpeg_draft`` keep a shorter side of at least this
# many times the larger of the resize and crop sizes
DRAFT_MARGIN = 2
# input pixels kept beyond the crop on each side, per unit of the filter's
# reach, so that the resampling filter sees the same neighbours
_FILTER_REACH = {"nearest": 1, "bilinear": 1, "bicubic": 2}


class ImageTransform:
    """Resize the shorter side, centre-crop, normalise: a float (3, H, W) in [0, 1].

    The same steps whatever the image came from (path, bytes, PIL, array), so
    an image gives the same embedding from any of them. Picklable, so it runs
    in DataLoader worker processes.

    Memory stays bounded by the crop size whatever the aspect ratio: when the
    resized image's long side would exceed ``MAX_STRETCH`` times the larger of
    ``resize_size`` and the crop, the image is first cut, along its long
    side, to the centred part the crop keeps (plus the resampling filter's
    reach), then resized and cropped as usual. Images up to that ratio go
    through the plain resize-then-crop unchanged.

    Parameters
    ----------
    preprocessing : ImagePreprocessing
    jpeg_draft : bool, default=False
        Decode JPEGs much larger than needed at a reduced scale (see
        `draft_size`), which changes their pixels slightly.
    """

    def __init__(self, preprocessing, jpeg_draft=False):
        self.preprocessing = preprocessing
        self.jpeg_draft = jpeg_draft

    @property
    def draft_size(self):
        """Shorter side large JPEGs are decoded at, at least (None: full size).

        ``DRAFT_MARGIN`` times the larger of the resize and crop sizes, so
        the antialiased resize still averages two or more decoded pixels per
        output pixel.
        """
        if not self.jpeg_draft:
            return None
        config = self.preprocessing
        return DRAFT_MARGIN * max(config.resize_size, *config.crop_size)

    def __call__(self, image):
        torch = import_optional("torch")
        functional = import_optional("torchvision.transforms.v2.functional")
        modes = import_optional("torchvision.transforms")
        config = self.preprocessing
        image, size, anchor = _cut_to_crop(image, config)
        interpolation = modes.InterpolationMode(config.interpolation)
        image = functional.resize(
            image, size, interpolation=interpolation, antialias=True
        )
        if anchor is not None:  # the crop along the (cut) long side
            axis, start = anchor
            length = config.crop_size[axis]
            image = image.narrow(axis, start, length)
        image = functional.center_crop(image, list(config.crop_size))
        image = image.clamp_(0.0, 1.0)
        mean = torch.tensor(config.mean, dtype=image.dtype).view(-1, 1, 1)
        std = torch.tensor(config.std, dtype=image.dtype).view(-1, 1, 1)
        return (image - mean) / std


def _cut_to_crop(image, config):
    """``image``, cut along its long side if resizing it whole is too big, and its size.

    Returns the image, the ``size`` to resize it to and ``(axis, start)`` of
    the crop along the long side of the resized cut: ``[resize_size]`` (the
    shorter side) and None for an uncut image. The cut spans what the centre crop of
    the whole resized image keeps, in input pixels, plus the filter's reach
    on each side; it is resized at the scale of the whole image, and the
    crop start is the pixel nearest to the whole image's crop start, so the
    crop lands on the same place to within half an output pixel.
    """
    height, width = image.shape[-2:]
    short, long = min(height, width), max(height, width)
    new_long = int(config.resize_size * long / short)  # as torchvision resizes
    limit = MAX_STRETCH * max(config.resize_size, *config.crop_size)
    if new_long <= limit:
        return image, [config.resize_size], None
    crop_long = config.crop_size[1] if width >= height else config.crop_size[0]
    step = long / new_long  # input pixels per output pixel
    reach = _FILTER_REACH.get(config.interpolation, 2) * max(step, 1.0)
    anchor = round((new_long - crop_long) / 2)  # the centre crop's, as torchvision
    first = (anchor + 0.5) * step - 0.5  # its first pixel, in input coordinates
    start = max(0, math.floor(first - reach))
    stop = min(long, math.ceil(first + crop_long * step + reach))
    out = max(crop_long, round((stop - start) / step))
    anchor = round((first + 0.5 - start) * out / (stop - start) - 0.5)
    anchor = min(max(anchor, 0), out - crop_long)
    if width >= height:
        return image[..., :, start:stop], [config.resize_size, out], (-1, anchor)
    return image[..., start:stop, :], [out, config.resize_size], (-2, anchor)

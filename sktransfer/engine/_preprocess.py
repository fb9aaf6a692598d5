"""Image preprocessing from a backbone's `ImagePreprocessing` (tensor based)."""

from sktransfer._optional import import_optional

__all__ = ["ImageTransform"]


class ImageTransform:
    """Resize the shorter side, centre-crop, normalise: a float (3, H, W) in [0, 1].

    The same steps whatever the image came from (path, bytes, PIL, array), so
    an image gives the same embedding from any of them. Picklable, so it runs
    in DataLoader worker processes.

    Parameters
    ----------
    preprocessing : ImagePreprocessing
    """

    def __init__(self, preprocessing):
        self.preprocessing = preprocessing

    def __call__(self, image):
        torch = import_optional("torch")
        functional = import_optional("torchvision.transforms.v2.functional")
        modes = import_optional("torchvision.transforms")
        config = self.preprocessing
        interpolation = modes.InterpolationMode(config.interpolation)
        image = functional.resize(
            image, [config.resize_size], interpolation=interpolation, antialias=True
        )
        image = functional.center_crop(image, list(config.crop_size))
        image = image.clamp_(0.0, 1.0)
        mean = torch.tensor(config.mean, dtype=image.dtype).view(-1, 1, 1)
        std = torch.tensor(config.std, dtype=image.dtype).view(-1, 1, 1)
        return (image - mean) / std

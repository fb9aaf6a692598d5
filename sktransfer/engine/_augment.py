"""Training-time image augmentation matching a backbone's preprocessing."""

from sktransfer._optional import import_optional

__all__ = ["TrainImageTransform"]


class TrainImageTransform:
    """Random resized crop + horizontal flip, then the backbone's normalisation.

    The training counterpart of `sktransfer.engine._preprocess.ImageTransform`,
    built from the same `ImagePreprocessing` (crop size, interpolation, mean
    and std from the weights' data config), as timm's training transform is:
    a random crop covering ``scale`` of the image area with an aspect ratio in
    ``ratio``, resized to the crop size, flipped left-right with probability
    ``flip``. Randomness comes from torch's generator, so a seeded fit is
    reproducible (also in DataLoader workers, which torch seeds). Picklable.

    Parameters
    ----------
    preprocessing : ImagePreprocessing
    scale : tuple of float, default=(0.35, 1.0)
        Range of the crop's area as a fraction of the image.
    ratio : tuple of float, default=(3/4, 4/3)
        Range of the crop's aspect ratio.
    flip : float, default=0.5
        Probability of a horizontal flip.
    """

    def __init__(
        self, preprocessing, scale=(0.35, 1.0), ratio=(3 / 4, 4 / 3), flip=0.5
    ):
        self.preprocessing = preprocessing
        self.scale = scale
        self.ratio = ratio
        self.flip = flip

    def __call__(self, image):
        torch = import_optional("torch")
        v2 = import_optional("torchvision.transforms.v2")
        modes = import_optional("torchvision.transforms")
        config = self.preprocessing
        crop = v2.RandomResizedCrop(
            list(config.crop_size),
            scale=self.scale,
            ratio=self.ratio,
            interpolation=modes.InterpolationMode(config.interpolation),
            antialias=True,
        )
        image = crop(image)
        if self.flip and float(torch.rand(())) < self.flip:
            image = image.flip(-1)
        image = image.clamp(0.0, 1.0)
        mean = torch.tensor(config.mean, dtype=image.dtype).view(-1, 1, 1)
        std = torch.tensor(config.std, dtype=image.dtype).view(-1, 1, 1)
        return (image - mean) / std

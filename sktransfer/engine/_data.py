"""Datasets that decode and preprocess inputs lazily, one item at a time."""

from sktransfer._optional import import_optional

torch = import_optional("torch")

__all__ = ["ImageDataset", "TensorRowsDataset"]


class ImageDataset(torch.utils.data.Dataset):
    """Decode + preprocess ``items[positions[i]]`` on access (in workers if any).

    ``dataset[i]`` is ``finish(i, decode(i))``: `decode` is Pillow and NumPy
    only (what a background thread may run, see
    `sktransfer.engine._prefetch`), `finish` makes the tensor and applies
    the transform.

    Parameters
    ----------
    items : list or ndarray
        Images as accepted by `sktransfer.io.decode_image`.
    transform : callable
        Float (3, H, W) tensor -> network input tensor.
    positions : sequence of int, optional
        The subset of items to serve, in order (defaults to all).
    """

    def __init__(self, items, transform, positions=None):
        self.items = items
        self.transform = transform
        self.positions = list(range(len(items))) if positions is None else positions

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, i):
        return self.finish(i, self.decode(i))

    def decode(self, i):
        """Item ``i`` decoded to a float32 ``(3, H, W)`` array (no torch call)."""
        from sktransfer.io import decode_pixels

        index = self.positions[i]
        draft = getattr(self.transform, "draft_size", None)  # large JPEGs
        return decode_pixels(self.items[index], index, draft)

    def finish(self, i, pixels):
        """The network input of item ``i`` from its decoded ``pixels``."""
        from sktransfer.io import pixels_to_tensor

        return self.transform(pixels_to_tensor(pixels, self.positions[i]))


class TensorRowsDataset(torch.utils.data.Dataset):
    """Rows of a 2-D float array as tensors."""

    def __init__(self, array, positions=None):
        self.array = array
        self.positions = list(range(len(array))) if positions is None else positions

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, i):
        return torch.from_numpy(self.array[self.positions[i]])

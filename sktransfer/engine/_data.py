"""Datasets that decode and preprocess inputs lazily, one item at a time."""

from sktransfer._optional import import_optional

torch = import_optional("torch")

__all__ = ["ImageDataset", "TensorRowsDataset"]


class ImageDataset(torch.utils.data.Dataset):
    """Decode + preprocess ``items[positions[i]]`` on access (in workers if any).

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
        from sktransfer.io import decode_image

        index = self.positions[i]
        draft = getattr(self.transform, "draft_size", None)  # large JPEGs
        return self.transform(decode_image(self.items[index], index, draft))


class TensorRowsDataset(torch.utils.data.Dataset):
    """Rows of a 2-D float array as tensors."""

    def __init__(self, array, positions=None):
        self.array = array
        self.positions = list(range(len(array))) if positions is None else positions

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, i):
        return torch.from_numpy(self.array[self.positions[i]])

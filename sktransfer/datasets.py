"""Where the project's shared real datasets live (used by tests and benchmarks)."""

import os
from pathlib import Path

__all__ = [
    "FASHION_MNIST_CLASSES",
    "fashion_mnist_available",
    "load_fashion_mnist",
    "load_movietweetings",
    "shared_data_dir",
]


def shared_data_dir():
    """Return the folder of shared real datasets, or None when it is absent.

    The location is read from the ``SKTRANSFER_DATA`` environment variable and
    falls back to ``../shared/data`` relative to the current directory and to
    the repository root.

    Returns
    -------
    path : pathlib.Path or None
        The folder, or None when no such folder exists.
    """
    candidates = []
    if os.environ.get("SKTRANSFER_DATA"):
        candidates.append(Path(os.environ["SKTRANSFER_DATA"]))
    candidates.append(Path.cwd() / ".." / "shared" / "data")
    candidates.append(Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path.resolve()
    return None


FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


def _read_idx(path):
    import gzip

    import numpy as np

    with gzip.open(path, "rb") as handle:
        data = handle.read()
    n_dims = data[3]
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims)
    )
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * n_dims).reshape(shape)


def fashion_mnist_available(folder=None):
    """Whether Fashion-MNIST is installed (Debian package ``dataset-fashion-mnist``)."""
    folder = Path(
        folder or os.environ.get("SKTRANSFER_FASHION_MNIST", FASHION_MNIST_DIR)
    )
    return (folder / "train-images-idx3-ubyte.gz").is_file()


def load_fashion_mnist(split="train", folder=None):
    """Load Fashion-MNIST from the Debian package ``dataset-fashion-mnist``.

    Install it with ``apt-get install dataset-fashion-mnist`` (idx files under
    ``/usr/share/datasets/fashion-mnist/``), or point ``folder`` or the
    ``SKTRANSFER_FASHION_MNIST`` environment variable at a folder holding the
    four ``*-idx*-ubyte.gz`` files.

    Parameters
    ----------
    split : {"train", "test"}
        60,000 training or 10,000 test images.
    folder : str or Path, optional
        Where the idx files are.

    Returns
    -------
    images : ndarray of shape (n, 28, 28), dtype uint8
    labels : ndarray of shape (n,), dtype int64
        Class indices; names in ``FASHION_MNIST_CLASSES``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(
        folder or os.environ.get("SKTRANSFER_FASHION_MNIST", FASHION_MNIST_DIR)
    )
    prefix = "train" if split == "train" else "t10k"
    images_path = folder / f"{prefix}-images-idx3-ubyte.gz"
    if not images_path.is_file():
        raise FileNotFoundError(
            f"Fashion-MNIST not found at {str(images_path)!r}; install it with "
            f"'apt-get install dataset-fashion-mnist' or set SKTRANSFER_FASHION_MNIST"
        )
    images = _read_idx(images_path)
    labels = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz").astype("int64")
    return images, labels


def load_movietweetings(folder=None):
    """Load MovieTweetings-100K from the shared data folder.

    Parameters
    ----------
    folder : str or Path, optional
        The folder holding ``ratings.dat`` and ``movies.dat``; defaults to
        ``rec/movietweetings-100k`` under `shared_data_dir`.

    Returns
    -------
    ratings : pandas.DataFrame
        Columns ``user``, ``item`` (str), ``rating`` and ``time``.
    item_text : pandas.Series
        ``"<title>. Genres: <genre>, <genre>"`` per movie, indexed by item id.

    Raises
    ------
    FileNotFoundError
        When the folder is absent.
    """
    import pandas as pd

    if folder is None:
        root = shared_data_dir()
        folder = None if root is None else root / "rec" / "movietweetings-100k"
    if folder is None or not Path(folder).is_dir():
        raise FileNotFoundError(
            f"MovieTweetings-100K not found (looked in {str(folder)!r}); set "
            f"SKTRANSFER_DATA to the shared data folder or pass folder="
        )
    folder = Path(folder)
    ratings = pd.read_csv(
        folder / "ratings.dat", sep="::", engine="python",
        names=["user", "item", "rating", "time"], dtype={"item": str},
    )  # fmt: skip
    movies = pd.read_csv(
        folder / "movies.dat", sep="::", engine="python",
        names=["item", "title", "genres"], dtype={"item": str}, encoding="utf-8",
    )  # fmt: skip
    genres = movies.genres.fillna("").str.replace("|", ", ")
    text = movies.title + ". Genres: " + genres
    return ratings, pd.Series(text.to_numpy(), index=movies.item.to_numpy())

"""What ``sktransfer embed`` reads: a folder of images or a text column of a table."""

import os
from pathlib import Path

from sktransfer.cli._errors import CommandError, UsageError
from sktransfer.cli._names import display_name

__all__ = ["IMAGE_SUFFIXES", "TABLE_SUFFIXES", "FolderScan", "input_kind", "read_table"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")


def input_kind(source, column):
    """``"folder"`` or ``"table"``, or a clear error when ``source`` is neither."""
    source = Path(source)
    if source.is_dir():
        if column:
            raise UsageError("--column applies to a CSV/Parquet input, not a folder")
        return "folder"
    if source.is_file():
        if not column:
            raise UsageError("embedding a CSV/Parquet file needs --column TEXT_COLUMN")
        return "table"
    if source.suffix.lower() in TABLE_SUFFIXES:
        raise CommandError(f"no such file: {str(source)!r}")
    if os.path.lexists(source):  # a broken link, a socket, ...
        raise CommandError(
            f"{str(source)!r} is neither a folder of images nor a regular file"
        )
    raise CommandError(f"no such file or folder: {str(source)!r}")


class FolderScan:
    """The files under a folder (recursively, sorted), images and others.

    Parameters
    ----------
    root : Path
        The folder.

    Attributes
    ----------
    images : list of Path
        Files with an image suffix (case-insensitive), in sorted order.
    others : list of Path
        Every other file, which is not embedded but is counted and named.
    """

    def __init__(self, root):
        self.root = Path(root)
        files = sorted(p for p in self.root.rglob("*") if p.is_file())
        self.images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        self.others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
        if not self.images:
            raise CommandError(
                f"no image files ({', '.join(IMAGE_SUFFIXES)}) under "
                f"{str(self.root)!r}; {self._others_text()}"
            )

    def relative(self, path):
        """The path of one file relative to the folder, as a str."""
        return str(path.relative_to(self.root))

    def _others_text(self, shown=3):
        if not self.others:
            return "no other files"
        names = [display_name(self.relative(p)) for p in self.others[:shown]]
        more = ", ..." if len(self.others) > shown else ""
        return (
            f"{len(self.others)} other file(s) not embedded ({', '.join(names)}{more})"
        )

    def summary(self):
        """One line: how many files were found, and which are not images."""
        total = len(self.images) + len(self.others)
        return (
            f"found {total} file(s) under {display_name(self.root)}: "
            f"{len(self.images)} image(s), {self._others_text()}"
        )


def read_table(path, column):
    """Read a CSV/TSV/Parquet file and check that it has ``column``."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    if column not in frame.columns:
        raise CommandError(
            f"column {column!r} not in {str(path)!r} (columns: {list(frame.columns)})"
        )
    return frame

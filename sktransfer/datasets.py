"""Where the project's shared real datasets live (used by tests and benchmarks)."""

import os
from pathlib import Path

__all__ = ["shared_data_dir"]


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

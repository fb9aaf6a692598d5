"""Progress on long work: one convention for every estimator.

``verbose="auto"`` (the default of every estimator) shows progress when the
work is long and someone is watching: stderr is a terminal or the code runs
in a notebook, in the main thread of the main process (not in a joblib or
Dask worker, so a grid search prints nothing), and the ``CI`` environment
variable is unset. ``verbose=0`` / ``False`` never shows anything, ``1`` /
``True`` always does.

What is shown: one tqdm bar per job, labelled "embedding images",
"embedding texts" or "training epoch 3/10"; fine-tuning adds skorch's epoch
table, printed without ANSI colour codes unless stdout is a terminal.
"""

import multiprocessing
import os
import re
import sys
import threading

from sktransfer._optional import import_optional

__all__ = [
    "LONG_BATCHES",
    "plain_print",
    "progress",
    "progress_bar",
    "show_progress",
]

# with verbose="auto", inference shows a bar from this many batches on (256
# items at the default batch size of 32: seconds on a CPU)
LONG_BATCHES = 8

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _in_notebook():
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    ipython = shell.get_ipython() if hasattr(shell, "get_ipython") else None
    return type(ipython).__name__ == "ZMQInteractiveShell"


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def watched():
    """Whether a person is watching this process's output (see module doc)."""
    if os.environ.get("CI"):
        return False
    if multiprocessing.current_process().name != "MainProcess":
        return False  # loky / multiprocessing workers (joblib, Dask nannies)
    if threading.current_thread() is not threading.main_thread():
        return False  # joblib's threading backend, Dask's threaded workers
    return _in_notebook() or _is_terminal(sys.stderr)


def show_progress(verbose, n_batches=None):
    """Whether to show progress for ``verbose`` and a job of ``n_batches``.

    Parameters
    ----------
    verbose : "auto", bool or int
        The estimator's ``verbose`` parameter.
    n_batches : int or None, default=None
        Size of the job; None means long (training).

    Returns
    -------
    show : bool
    """
    if isinstance(verbose, str):  # "auto"
        long = n_batches is None or n_batches >= LONG_BATCHES
        return long and watched()
    return bool(verbose)


def progress(iterable, *, total, desc, verbose, unit="batch", leave=True):
    """``iterable`` wrapped in a tqdm bar when `show_progress` says so.

    Parameters
    ----------
    iterable : iterable
    total : int
        Number of steps (batches).
    desc : str
        Label, in the house style: "embedding images", "training epoch 3/10".
    verbose : "auto", bool or int
    unit : str, default="batch"
    leave : bool, default=True
        Keep the finished bar on screen.

    Returns
    -------
    iterable : iterable
        The same items.
    """
    if not show_progress(verbose, total):
        return iterable
    return progress_bar(iterable, total=total, desc=desc, unit=unit, leave=leave)


def progress_bar(iterable=None, **kwargs):
    """A tqdm bar (the notebook widget in a notebook), written to stderr."""
    module = "tqdm.auto" if _in_notebook() else "tqdm"
    return import_optional(module).tqdm(iterable, **kwargs)


def plain_print(*args, **kwargs):
    """``print``, without ANSI colour codes unless stdout is a terminal.

    skorch's epoch table colours its columns; in a log file or a CI log the
    codes would show as ``^[[32m``.
    """
    if not _is_terminal(sys.stdout):
        args = [_ANSI.sub("", str(arg)) for arg in args]
    print(*args, **kwargs)

"""Validate text inputs."""

import math

from sktransfer.io._sequence import as_item_list

__all__ = ["check_text_input"]


def _is_missing(item):
    """NaN, pandas.NA, NaT."""
    if isinstance(item, float):
        return math.isnan(item)
    try:
        import pandas as pd

        return item is pd.NA or item is pd.NaT
    except ImportError:  # pragma: no cover - pandas is a dependency
        return False


def _check_encodable(text, index):
    """Reject lone surrogates (no tokenizer takes them) naming where they are."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"text input at index {index} contains a lone surrogate "
            f"({text[exc.start]!r} at character {exc.start}), which is not valid "
            f"Unicode text; decode raw bytes with errors='replace' (or "
            f"'backslashreplace') before embedding"
        ) from None


def check_text_input(X):
    """Validate a 1-D collection of strings.

    Parameters
    ----------
    X : list, tuple, ndarray, Series or one-column DataFrame of str

    Returns
    -------
    texts : list of str
    column_name : str or None

    Raises
    ------
    ValueError
        On a bare string, an empty collection, or any item that is None, NaN,
        not a string or a string with a lone surrogate (as undecodable bytes
        become with ``errors="surrogateescape"``); the message names the
        position and the value.
    """
    items, name = as_item_list(X, "text")
    for index, item in enumerate(items):
        if isinstance(item, str):
            if not item.isascii():
                _check_encodable(item, index)
            continue
        if item is None or _is_missing(item):
            raise ValueError(
                f"text input at index {index} is missing ({item!r}); fill or drop "
                f"missing texts before embedding"
            )
        raise ValueError(
            f"text input at index {index} is a {type(item).__name__} ({item!r}), "
            f"not a str"
        )
    return items, name

"""Turn a user's 1-D collection (list, array, Series, one-column frame) into a list."""

import numpy as np

__all__ = ["as_item_list"]


def as_item_list(X, what):
    """Return ``(items, column_name)`` for a 1-D collection of raw inputs.

    Parameters
    ----------
    X : list, tuple, ndarray, pandas Series or one-column DataFrame
        The collection.
    what : str
        What the items are, for error messages ("image", "text").

    Returns
    -------
    items : list
    column_name : str or None
        The column or Series name, when there is one.
    """
    if isinstance(X, (str, bytes)):
        raise ValueError(
            f"expected a 1-D collection of {what} inputs (list, array, Series or "
            f"one-column DataFrame), got a bare {type(X).__name__}: {str(X)[:80]!r}. "
            f"Wrap it in a list: [x]"
        )
    name = None
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"expected a one-column DataFrame of {what} inputs, got "
                f"{X.shape[1]} columns {list(X.columns)}; select the column first"
            )
        name = str(X.columns[0])
        items = X.iloc[:, 0].tolist()
    elif hasattr(X, "iloc"):  # Series
        name = None if X.name is None else str(X.name)
        items = X.tolist()
    elif isinstance(X, np.ndarray):
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
        if X.ndim != 1:
            raise ValueError(
                f"expected a 1-D array of {what} inputs, got shape {X.shape}"
            )
        items = X.tolist()
    else:
        try:
            items = list(X)
        except TypeError:
            raise ValueError(
                f"expected a 1-D collection of {what} inputs, got {type(X).__name__}"
            ) from None
    if len(items) == 0:
        raise ValueError(f"empty input: no {what} to embed (got 0 items)")
    return items, name

"""Turn a user's 1-D collection (list, array, Series, one-column frame) into a list.

Dataframes and series of any library are accepted: pandas directly, the
others (polars, pyarrow, modin, cuDF, ...) through narwhals when it is
installed (scikit-learn >= 1.9 depends on it), and any frame that speaks the
dataframe interchange protocol through pandas.
"""

import numpy as np

__all__ = ["as_item_list", "frame_column"]


def _narwhals():
    try:
        import narwhals.stable.v1 as nw
    except ImportError:  # pragma: no cover - narwhals comes with scikit-learn
        return None
    return nw


class _Table:
    """A dataframe or series of any library, seen through one small interface."""

    def __init__(self, columns, name, values):
        self.columns = columns  # list of names for a frame, None for a series
        self.name = name  # the series name
        self._values = values  # position -> list of values

    def values(self, position=0):
        return self._values(position)


def _as_table(X):
    """``X`` as a `_Table` when it is a dataframe or series, else None."""
    if isinstance(X, (list, tuple, np.ndarray)):
        return None
    if hasattr(X, "iloc"):  # pandas (or a pandas look-alike)
        if getattr(X, "ndim", 1) == 2:
            return _Table(list(X.columns), None, lambda i: X.iloc[:, i].tolist())
        return _Table(None, X.name, lambda i: X.tolist())
    nw = _narwhals()
    if nw is not None:
        wrapped = nw.from_native(
            X, eager_only=True, allow_series=True, pass_through=True
        )
        if isinstance(wrapped, nw.DataFrame):
            columns = list(wrapped.columns)
            return _Table(
                columns, None, lambda i: wrapped.get_column(columns[i]).to_list()
            )
        if isinstance(wrapped, nw.Series):
            return _Table(None, wrapped.name, lambda i: wrapped.to_list())
    if hasattr(X, "__dataframe__"):  # the dataframe interchange protocol
        import pandas as pd

        return _as_table(pd.api.interchange.from_dataframe(X))
    return None


def frame_column(X):
    """The column names of ``X`` when it is a 2-D dataframe, else None.

    Parameters
    ----------
    X : object
        Any input.

    Returns
    -------
    columns : list or None
        The columns of a dataframe (of any library); None for anything else,
        a Series included.
    """
    table = _as_table(X)
    return None if table is None else table.columns


def refuse_bare_string(X, expected):
    """Raise a ValueError when ``X`` is a bare str or bytes, not a collection.

    A bare string would otherwise pass for a collection of its characters.
    ``expected`` says what was expected, for the message.
    """
    if isinstance(X, str | bytes):
        raise ValueError(
            f"expected {expected}, got a bare {type(X).__name__}: {str(X)[:80]!r}. "
            "Wrap it in a list: [x]"
        )


def as_item_list(X, what):
    """Return ``(items, column_name)`` for a 1-D collection of raw inputs.

    Parameters
    ----------
    X : list, tuple, ndarray, Series or one-column dataframe
        The collection; series and dataframes of pandas, polars, pyarrow and
        other libraries are accepted.
    what : str
        What the items are, for error messages ("image", "text").

    Returns
    -------
    items : list
    column_name : str or None
        The column or Series name, when there is one.
    """
    refuse_bare_string(
        X,
        f"a 1-D collection of {what} inputs (list, array, Series or one-column "
        "DataFrame)",
    )
    name = None
    table = _as_table(X)
    if table is not None and table.columns is not None:
        if len(table.columns) != 1:
            raise ValueError(
                f"expected a one-column DataFrame of {what} inputs, got "
                f"{len(table.columns)} columns {table.columns}; select the column "
                f"first"
            )
        name = str(table.columns[0])
        items = table.values(0)
    elif table is not None:  # a Series
        name = None if table.name is None else str(table.name)
        items = table.values()
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


def record_column(estimator, X):
    """Remember the column name of raw inputs, as ``feature_names_in_``.

    Raw inputs (paths, texts, images) are one column, but unlike numeric
    features they have no ``n_features_in_`` (as scikit-learn's text
    vectorizers): tools that probe ``predict(np.zeros((1, n_features_in_)))``
    (MAPIE) would feed them numbers. ``feature_names_in_`` is set when ``X``
    is a dataframe whose column name is a string.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted.
    X : object
        Its raw input.
    """
    for name in ("n_features_in_", "feature_names_in_"):
        if name in vars(estimator):
            delattr(estimator, name)
    columns = frame_column(X)
    if columns and isinstance(columns[0], str):
        estimator.feature_names_in_ = np.asarray(list(columns), dtype=object)


def check_column(estimator, X):
    """Raise when ``X`` is a dataframe whose column differs from the fitted one.

    Parameters
    ----------
    estimator : fitted estimator
        Has ``feature_names_in_`` when it was fitted on a named column.
    X : object
        The raw input now given.
    """
    columns = frame_column(X)
    fitted = getattr(estimator, "feature_names_in_", None)
    if columns is not None and fitted is not None and list(columns) != list(fitted):
        raise ValueError(
            f"{type(estimator).__name__} was fitted on column {list(fitted)} but "
            f"received column {list(columns)}"
        )

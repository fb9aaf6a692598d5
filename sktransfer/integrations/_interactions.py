"""Read interaction tables (user, item, weight) into ids and a sparse matrix.

Private helpers shared by :class:`~sktransfer.integrations.ImplicitRecommender`,
its splitter and its scorers. Ids may be any hashable scalar (int, str, ...);
they are factorized into contiguous integer codes, sorted when sortable.
"""

from collections.abc import Hashable
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

__all__ = []


def show(value):
    """repr of an id for messages (numpy scalars as plain Python values)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def is_dataframe(X):
    return isinstance(X, pd.DataFrame)


def check_ids(values, what):
    """Return ``values`` as a 1-D array of hashable, non-missing ids.

    Raises a ValueError naming ``what`` and the first bad position for NaN /
    infinite / None ids, and a TypeError for unhashable ids (lists, dicts).
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = np.asarray(list(values), dtype=object)
    if arr.dtype.kind in "US":  # numpy strings -> Python str, like pandas
        arr = arr.astype(object)
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            kind = "NaN" if np.isnan(arr[pos]) else "infinity"
            raise ValueError(f"{what} ids contain {kind} (first at position {pos}).")
    elif arr.dtype.kind == "O":
        for pos, value in enumerate(arr):
            if not isinstance(value, Hashable):
                raise TypeError(
                    f"{what} ids must be hashable scalars: each argument must be a "
                    f"string or a number, got {type(value).__name__} at position "
                    f"{pos}."
                )
            missing = value is None or value is pd.NA or value is pd.NaT
            if missing or (isinstance(value, Real) and not np.isfinite(value)):
                raise ValueError(
                    f"{what} ids contain a missing value ({value!r}, first at "
                    f"position {pos}); NaN / None is not a valid id."
                )
    return arr


def check_positive_int(value, name):
    """Raise a ValueError naming ``name`` unless ``value`` is an int >= 1."""
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")


def check_weights(weights, n_rows, what, where=None):
    """Return ``weights`` as a float64 1-D array of finite non-negative values.

    Errors name ``what`` and the first bad position, as ``where(position)``
    says it (``"row <position>"`` by default).
    """
    if where is None:

        def where(pos):
            return f"row {pos}"

    w = np.asarray(weights)
    if w.ndim != 1 or w.shape[0] != n_rows:
        raise ValueError(
            f"{what} must be 1-D with one value per interaction row ({n_rows}); "
            f"got shape {w.shape}."
        )
    try:
        w = w.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numeric; got dtype {w.dtype}.") from exc
    bad = ~np.isfinite(w)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what} contains NaN or infinity (first at {where(pos)}).")
    if (w < 0).any():
        pos = int(np.flatnonzero(w < 0)[0])
        raise ValueError(
            f"{what} must be non-negative (implicit feedback); got {show(w[pos])} at "
            f"{where(pos)}."
        )
    return w


def pair_columns(X, user_col, item_col, what="X"):
    """Return (users, items) id arrays from a DataFrame or a 2-D array.

    A DataFrame's columns are found by name; an array's first two columns are
    the user and item ids (further columns are ignored, like a DataFrame's).
    """
    if is_dataframe(X):
        missing = [c for c in (user_col, item_col) if c not in X.columns]
        if missing:
            raise ValueError(
                f"{what} has no column {show(missing[0])} (user_col={user_col!r}, "
                f"item_col={item_col!r}); its columns are {list(X.columns)}."
            )
        users, items = X[user_col].to_numpy(), X[item_col].to_numpy()
    else:
        if X.ndim != 2 or X.shape[1] < 2:
            raise ValueError(
                f"{what} must hold (user, item) pairs in its first 2 columns; got "
                f"{X.shape[1] if X.ndim == 2 else X.ndim} feature(s) "
                f"(shape={X.shape})."
            )
        users, items = X[:, 0], X[:, 1]
    return check_ids(users, "user"), check_ids(items, "item")


def factorize(ids):
    """Return (codes, uniques); uniques sorted when the ids are sortable."""
    try:
        codes, uniques = pd.factorize(ids, sort=True)
    except TypeError:  # mixed, unorderable types: order of first appearance
        codes, uniques = pd.factorize(ids, sort=False)
    return codes, np.asarray(uniques)


def _compact(matrix):
    """Duplicates summed, float32 values and int32 indices (implicit's layout)."""
    matrix.sum_duplicates()
    matrix = matrix.astype(np.float32)
    matrix.indices = matrix.indices.astype(np.int32)
    matrix.indptr = matrix.indptr.astype(np.int32)
    return matrix


def build_matrix(users, items, weights):
    """Aggregate (user, item, weight) rows into a CSR matrix.

    Rows with weight 0 are dropped first (their ids are not registered unless
    they occur elsewhere); duplicate (user, item) rows are summed.

    Returns
    -------
    matrix : csr_matrix of float32, shape (n_users, n_items)
    user_ids, item_ids : ndarray
    """
    keep = weights > 0
    if not keep.any():
        raise ValueError(
            "All interaction weights are zero (or there are no interactions): "
            "at least one interaction with a positive weight is needed."
        )
    users, items, weights = users[keep], items[keep], weights[keep]
    u_codes, user_ids = factorize(users)
    i_codes, item_ids = factorize(items)
    matrix = sp.csr_matrix(
        (weights, (u_codes, i_codes)), shape=(len(user_ids), len(item_ids))
    )
    return _compact(matrix), user_ids, item_ids


def matrix_from_sparse(X):
    """Check a user-item sparse matrix; ids are its row and column indices."""
    # a copy: eliminate_zeros and sum_duplicates work in place
    matrix = sp.csr_matrix(X, dtype=np.float64, copy=True)
    if matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise ValueError(
            f"The user-item matrix is empty (shape={matrix.shape}); at least one "
            "user and one item are needed."
        )

    def entry(pos):  # position in matrix.data -> (row, column)
        row = int(np.searchsorted(matrix.indptr, pos, side="right")) - 1
        return f"entry ({row}, {int(matrix.indices[pos])})"

    check_weights(
        matrix.data, matrix.data.shape[0], "The user-item matrix's values", entry
    )
    matrix.eliminate_zeros()
    if matrix.nnz == 0:
        raise ValueError(
            "All values of the user-item matrix are zero: at least one interaction "
            "with a positive weight is needed."
        )
    matrix = _compact(matrix)
    return matrix, np.arange(matrix.shape[0]), np.arange(matrix.shape[1])


def read_interactions(est, X, sample_weight):
    """Read ``fit``'s X (DataFrame, array or sparse matrix) into a CSR matrix.

    Returns ``(matrix, user_ids, item_ids)``; sets ``est.n_features_in_`` for
    an array X (through ``validate_data``) and removes it otherwise.
    """
    if hasattr(est, "n_features_in_"):
        del est.n_features_in_
    if sp.issparse(X):
        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not used with a sparse user-item matrix: its "
                "values are the weights."
            )
        return matrix_from_sparse(X)
    if is_dataframe(X):
        if len(X) == 0:
            raise ValueError("The interaction table X is empty (0 rows).")
        users, items = pair_columns(X, est.user_col, est.item_col)
        if est.weight_col is not None:
            if sample_weight is not None:
                raise ValueError(
                    "Give weights by weight_col or sample_weight, not both."
                )
            if est.weight_col not in X.columns:
                raise ValueError(f"X has no column weight_col={est.weight_col!r}.")
            sample_weight = X[est.weight_col].to_numpy()
    else:
        X = validate_data(est, X, dtype=None, ensure_all_finite=True)
        users, items = pair_columns(X, est.user_col, est.item_col)
    if sample_weight is None:
        weights = np.ones(len(users))
    else:
        name = "sample_weight" if est.weight_col is None else repr(est.weight_col)
        weights = check_weights(sample_weight, len(users), f"The weights ({name})")
    return build_matrix(users, items, weights)


def lookup(index, ids):
    """Integer codes of ``ids`` in a pandas Index; -1 where unknown."""
    if len(ids) == 0:
        return np.empty(0, dtype=np.intp)
    return np.asarray(index.get_indexer(ids), dtype=np.intp)


def known_codes(est, users, items=None):
    """Positions of ``users`` (and ``items``) in a fitted recommender's catalogue.

    Unknown ids get -1, or raise with ``handle_unknown="error"``.
    """
    u = lookup(pd.Index(est.users_), users)
    i = None if items is None else lookup(pd.Index(est.items_), items)
    if est.handle_unknown == "error":
        for what, ids, codes in (("user", users, u), ("item", items, i)):
            if codes is not None and (codes < 0).any():
                bad = ids[np.flatnonzero(codes < 0)[0]]
                raise ValueError(
                    f"Unknown {what} id {show(bad)} (handle_unknown='error'); set "
                    "handle_unknown='popularity' for a fallback."
                )
    return u, i


def candidate_positions(est, items):
    """Catalogue positions of the candidate ``items`` of ``est.recommend``."""
    items = check_ids(items, "item")
    positions = lookup(pd.Index(est.items_), items)
    if len(positions) == 0 or (positions < 0).any():
        bad = items[np.flatnonzero(positions < 0)[0]] if len(positions) else "(none)"
        raise ValueError(f"Candidate item {show(bad)} is not in the catalogue.")
    return positions

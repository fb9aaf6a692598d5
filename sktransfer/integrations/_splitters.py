"""PerUserHoldout: hold out part of each user's interactions (for ``cv=``)."""

from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state

from sktransfer.integrations._interactions import check_ids, is_dataframe

__all__ = ["PerUserHoldout"]


class PerUserHoldout(BaseCrossValidator):
    """Per-user holdout of interaction rows, at random or by time.

    Every user with at least two interactions gets part of them in the test
    fold, and keeps at least one in the training fold, so that each test
    user is known to the recommender; users with a single interaction stay
    entirely in training. Usable as ``cv=`` in ``GridSearchCV``,
    ``cross_validate`` etc. over an interactions DataFrame, together with a
    scorer from :func:`make_ranking_scorer`.

    Parameters
    ----------
    test_size : float or int, default=0.2
        A float in (0, 1): the share of each user's interactions held out,
        rounded up (at least 1). An int: that many interactions per user.
        Either way at most ``n_user_interactions - 1``.
    by : {"random", "time"}, default="random"
        ``"random"`` holds out random interactions; ``"time"`` holds out each
        user's latest ones (by ``time_col``; ties keep row order, the later
        row counting as later).
    time_col : hashable or None, default=None
        Column of timestamps (any sortable values); required for ``by="time"``.
        For an array ``X``, a column number.
    user_col : hashable, default="user"
        Column of user ids of a DataFrame ``X``; an array ``X`` uses column 0.
    n_splits : int, default=1
        Number of repeated random holdouts (``by="random"`` only: the time
        holdout is a single split).
    random_state : int, RandomState instance or None, default=None
        Seed of the random holdouts.

    Examples
    --------
    >>> import pandas as pd
    >>> from sktransfer.integrations import PerUserHoldout
    >>> X = pd.DataFrame({"user": ["a", "a", "a", "b", "b", "c"],
    ...                   "item": [1, 2, 3, 1, 4, 2],
    ...                   "time": [10, 30, 20, 5, 1, 7]})
    >>> train, test = next(PerUserHoldout(test_size=1, by="time",
    ...                                   time_col="time").split(X))
    >>> test.tolist()
    [1, 3]
    """

    def __init__(
        self,
        test_size=0.2,
        *,
        by="random",
        time_col=None,
        user_col="user",
        n_splits=1,
        random_state=None,
    ):
        if isinstance(test_size, bool) or not (
            (isinstance(test_size, Integral) and test_size >= 1)
            or (isinstance(test_size, Real) and 0 < test_size < 1)
        ):
            raise ValueError(
                "test_size must be a float in (0, 1) or an int >= 1; got "
                f"{test_size!r}."
            )
        if by not in ("random", "time"):
            raise ValueError(f"by must be 'random' or 'time'; got {by!r}.")
        if by == "time" and time_col is None:
            raise ValueError("by='time' needs time_col, the column of timestamps.")
        if not isinstance(n_splits, Integral) or n_splits < 1:
            raise ValueError(f"n_splits must be an int >= 1; got {n_splits!r}.")
        if by == "time" and n_splits != 1:
            raise ValueError(
                f"by='time' gives a single split (it is deterministic); got "
                f"n_splits={n_splits}."
            )
        self.test_size = test_size
        self.by = by
        self.time_col = time_col
        self.user_col = user_col
        self.n_splits = n_splits
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
            ``n_splits``.
        """
        return self.n_splits

    def _column(self, X, col, what):
        if sp.issparse(X):
            raise ValueError(
                "PerUserHoldout splits interaction rows: pass a DataFrame or an "
                "(n, 2+) array of (user, item, ...) rows, not a sparse matrix."
            )
        if is_dataframe(X):
            if col not in X.columns:
                raise ValueError(
                    f"X has no column {col!r} ({what}); its columns are "
                    f"{list(X.columns)}."
                )
            return X[col].to_numpy()
        X = np.asarray(X, dtype=object) if not hasattr(X, "ndim") else X
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D; got shape {X.shape}.")
        return X[:, 0 if what == "user_col" else col]

    def _iter_test_indices(self, X=None, y=None, groups=None):
        users = check_ids(self._column(X, self.user_col, "user_col"), "user")
        n = len(users)
        if n == 0:
            raise ValueError("X is empty: there are no interactions to split.")
        codes = pd.factorize(users)[0]
        counts = np.bincount(codes)
        if isinstance(self.test_size, Integral):
            n_test = np.minimum(self.test_size, counts - 1)
        else:
            n_test = np.minimum(np.ceil(self.test_size * counts), counts - 1)
        rng = check_random_state(self.random_state)
        for _ in range(self.n_splits):
            if self.by == "random":
                key = rng.random_sample(n)
            else:
                times = self._column(X, self.time_col, "time_col")
                if pd.isna(times).any():
                    raise ValueError(f"time column {self.time_col!r} contains NaN.")
                key = np.argsort(np.argsort(times, kind="stable"), kind="stable")
            # random: the first rows by key are held out; time: the last ones
            key = -key if self.by == "time" else key
            order = np.lexsort((key, codes))
            starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
            rank = np.arange(n) - starts[codes[order]]
            test = order[rank < n_test[codes[order]]]
            yield np.sort(test)

"""Ranking metrics at a cut-off k, and scorers for model selection.

The functions take, for each user, the collection of relevant items and the
ranked list of recommended items. The scorers made by
:func:`make_ranking_scorer` are ``scoring=`` callables for ``GridSearchCV`` /
``cross_validate``: given a fitted recommender and held-out interactions,
they recommend for every held-out user and compare with that user's items.
"""

import numpy as np
import pandas as pd

from sktransfer.integrations._interactions import (
    check_positive_int,
    is_dataframe,
    pair_columns,
)

__all__ = [
    "make_ranking_scorer",
    "map_at_k",
    "ndcg_at_k",
    "precision_at_k",
    "recall_at_k",
]


def _per_user(relevant, recommended, k):
    """Yield (hits, n_relevant) per user with at least one relevant item."""
    check_positive_int(k, "k")
    if len(relevant) != len(recommended):
        raise ValueError(
            f"relevant and recommended must have one entry per user; got "
            f"{len(relevant)} and {len(recommended)}."
        )
    found = False
    for rel, rec in zip(relevant, recommended, strict=True):
        rel = set(rel.ravel().tolist() if isinstance(rel, np.ndarray) else rel)
        if not rel:
            continue
        found = True
        seen, hits = set(), []
        rec = rec.ravel().tolist() if isinstance(rec, np.ndarray) else list(rec)
        for item in rec[:k]:
            hits.append(item in rel and item not in seen)
            seen.add(item)
        yield np.asarray(hits, dtype=bool), len(rel)
    if not found:
        raise ValueError("No user has a relevant item: the metric is undefined.")


def _mean_over_users(user_score, relevant, recommended, k):
    """Mean of ``user_score(hits, n_relevant, k)`` over the users with relevant items.

    ``hits`` is the boolean vector of the top-k recommendations that are
    relevant (a repeat counts once), best first.
    """
    return float(
        np.mean([user_score(h, n, k) for h, n in _per_user(relevant, recommended, k)])
    )


# per-user scores: (hits, n_relevant, k) -> float


def _precision(hits, n_relevant, k):
    return hits.sum() / k


def _recall(hits, n_relevant, k):
    return hits.sum() / n_relevant


def _ndcg(hits, n_relevant, k):
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = discounts[: len(hits)][hits].sum()
    return dcg / discounts[: min(k, n_relevant)].sum()


def _average_precision(hits, n_relevant, k):
    precisions = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return precisions[hits].sum() / min(k, n_relevant)


def precision_at_k(relevant, recommended, k=10):
    """Mean precision@k: the share of the top k recommendations that are relevant.

    Parameters
    ----------
    relevant : sequence of collections
        Relevant item ids of each user. Users with none are skipped.
    recommended : sequence of sequences (or 2-D array)
        Ranked item ids of each user, best first. A list shorter than ``k``
        still divides by ``k``; a repeated item counts once.
    k : int, default=10
        Cut-off.

    Returns
    -------
    score : float
        Mean over the users with at least one relevant item.

    Examples
    --------
    >>> from sktransfer.integrations import precision_at_k
    >>> precision_at_k([{"a", "b"}], [["a", "c", "b", "d"]], k=2)
    0.5
    """
    return _mean_over_users(_precision, relevant, recommended, k)


def recall_at_k(relevant, recommended, k=10):
    """Mean recall@k: the share of a user's relevant items found in the top k.

    Parameters
    ----------
    relevant, recommended, k
        As in :func:`precision_at_k`.

    Returns
    -------
    score : float
        Mean over the users with at least one relevant item.

    Examples
    --------
    >>> from sktransfer.integrations import recall_at_k
    >>> recall_at_k([{"a", "b"}], [["a", "c", "b", "d"]], k=2)
    0.5
    """
    return _mean_over_users(_recall, relevant, recommended, k)


def ndcg_at_k(relevant, recommended, k=10):
    """Mean NDCG@k with binary relevance.

    DCG sums ``1 / log2(rank + 1)`` over the relevant items among the top k
    (ranks from 1); it is divided by the DCG of an ideal list, which puts
    ``min(k, n_relevant)`` relevant items first.

    Parameters
    ----------
    relevant, recommended, k
        As in :func:`precision_at_k`.

    Returns
    -------
    score : float
        Mean over the users with at least one relevant item, in [0, 1].

    Examples
    --------
    >>> from sktransfer.integrations import ndcg_at_k
    >>> round(ndcg_at_k([{"a", "b"}], [["c", "a"]], k=2), 4)
    0.3869
    """
    return _mean_over_users(_ndcg, relevant, recommended, k)


def map_at_k(relevant, recommended, k=10):
    """Mean average precision at k (MAP@k).

    A user's AP@k sums precision@i over the ranks i <= k that hold a relevant
    item, divided by ``min(k, n_relevant)``.

    Parameters
    ----------
    relevant, recommended, k
        As in :func:`precision_at_k`.

    Returns
    -------
    score : float
        Mean over the users with at least one relevant item, in [0, 1].

    Examples
    --------
    >>> from sktransfer.integrations import map_at_k
    >>> round(map_at_k([{"a", "b"}], [["a", "c", "b"]], k=3), 4)
    0.8333
    """
    return _mean_over_users(_average_precision, relevant, recommended, k)


_METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
}


def relevant_by_user(X, user_col="user", item_col="item"):
    """Group held-out pairs: (unique user ids, list of item-id arrays)."""
    if not is_dataframe(X):
        X = np.asarray(X, dtype=object) if not hasattr(X, "ndim") else X
    users, items = pair_columns(X, user_col, item_col, what="The held-out X")
    codes, uniques = pd.factorize(users, sort=False)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    groups = [items[order[a:b]] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return np.asarray(uniques), groups


class _RankingScorer:
    """Callable ``scorer(estimator, X, y=None)`` for a ranking metric at k."""

    def __init__(self, metric, k, filter_seen):
        self.metric = metric
        self.k = k
        self.filter_seen = filter_seen

    def __call__(self, estimator, X, y=None, sample_weight=None, **kwargs):
        func = _METRICS.get(self.metric, self.metric)
        users, relevant = relevant_by_user(
            X,
            getattr(estimator, "user_col", "user"),
            getattr(estimator, "item_col", "item"),
        )
        recommended = estimator.recommend(users, n=self.k, filter_seen=self.filter_seen)
        return func(relevant, recommended, k=self.k)

    def __repr__(self):
        name = self.metric if isinstance(self.metric, str) else self.metric.__name__
        return (
            f"make_ranking_scorer({name!r}, k={self.k}, filter_seen={self.filter_seen})"
        )


def make_ranking_scorer(metric="ndcg", *, k=10, filter_seen=True):
    """Make a ``scoring=`` callable that ranks held-out interactions.

    The scorer takes ``(estimator, X, y=None)``: ``X`` holds held-out
    (user, item) pairs (a DataFrame with the estimator's ``user_col`` /
    ``item_col``, or an ``(n, 2)`` array). Each user's held-out items are the
    relevant ones (binary relevance, weights ignored); the estimator's
    ``recommend(users, n=k, filter_seen=filter_seen)`` gives the ranking, so
    training items are not recommended again. Greater is better.

    Parameters
    ----------
    metric : {"ndcg", "precision", "recall", "map"} or callable, default="ndcg"
        A metric name, or a function ``(relevant, recommended, k) -> float``.
    k : int, default=10
        Cut-off.
    filter_seen : bool, default=True
        Passed to ``recommend``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.model_selection import cross_validate
    >>> from sktransfer.integrations import (
    ...     ImplicitRecommender, PerUserHoldout, make_ranking_scorer)
    >>> X = pd.DataFrame({"user": [0, 0, 0, 1, 1, 1, 2, 2, 2],
    ...                   "item": [0, 1, 2, 0, 1, 3, 1, 2, 3]})
    >>> cv = PerUserHoldout(test_size=1, random_state=0)
    >>> res = cross_validate(ImplicitRecommender(factors=2, random_state=0), X,
    ...                      cv=cv, scoring=make_ranking_scorer("recall", k=2))
    >>> res["test_score"].shape
    (1,)
    """
    if not (callable(metric) or metric in _METRICS):
        raise ValueError(
            f"metric must be one of {sorted(_METRICS)} or a callable; got {metric!r}."
        )
    check_positive_int(k, "k")
    return _RankingScorer(metric, k, bool(filter_seen))

"""ImplicitRecommender: implicit's matrix factorization as a scikit-learn estimator."""

from collections.abc import Hashable
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import HasMethods, Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sktransfer._fitting import restore_on_failure
from sktransfer.integrations import _content_bridge as bridge
from sktransfer.integrations._implicit_fit import MODELS, fit_implicit
from sktransfer.integrations._interactions import (
    candidate_positions,
    check_ids,
    check_positive_int,
    is_dataframe,
    known_codes,
    pair_columns,
    read_interactions,
    show,
)
from sktransfer.integrations._ranking import make_ranking_scorer
from sktransfer.integrations._topk import rank_known_users

__all__ = ["ImplicitRecommender"]

_TRANSFORMER = HasMethods(["fit_transform", "transform"])
_DEPRECATED = Hidden(StrOptions({"deprecated"}))  # a renamed parameter's old name


class ImplicitRecommender(BaseEstimator):
    """Implicit-feedback recommender over `implicit`'s matrix factorizations.

    Wraps ``implicit``'s CPU models (ALS, BPR, logistic MF) in the
    scikit-learn contract: ``fit`` takes an interaction table, ``predict``
    scores (user, item) pairs, :meth:`recommend` ranks items for users. Ids may
    be any hashable values (ints, strings). With item content, items that no
    one has interacted with yet (cold items) get factors from their content
    through a regressor trained on the warm items: the transfer bridge.

    Conventions converted from implicit's: ids instead of matrix row / column
    numbers; unknown users get a documented answer instead of an IndexError;
    threads are fixed (``num_threads=1``) so a given ``random_state`` gives
    identical factors; recommendations are ids, scores stay available.

    Parameters
    ----------
    model : {"als", "bpr", "lmf"}, default="als"
        ``implicit.cpu.als.AlternatingLeastSquares``,
        ``implicit.cpu.bpr.BayesianPersonalizedRanking`` or
        ``implicit.cpu.lmf.LogisticMatrixFactorization``.
    factors : int, default=64
        Number of latent factors (BPR / LMF add bias columns to the factor
        matrices, as implicit does).
    regularization, iterations : float / int or None, default=None
        None keeps implicit's default for the chosen model.
    learning_rate : float or None, default=None
        BPR and LMF only; None keeps implicit's default.
    alpha : float or None, default=None
        ALS only: confidence scaling of the weights; None keeps implicit's 1.0.
    model_params : dict or None, default=None
        Further keyword arguments for the implicit class (e.g.
        ``{"use_cg": False}``).
    num_threads : int, default=1
        Threads for implicit. With 1, a given ``random_state`` reproduces the
        factors exactly; more threads are faster, but BPR and LMF then update
        in parallel and are no longer bit-reproducible. 0 means all cores.
    random_state : int, RandomState instance or None, default=None
        Seed of the factor initialization and sampling. An int is passed to
        implicit unchanged, so results equal raw implicit's with that seed.
    user_col, item_col : hashable, default="user", "item"
        Column names of the user and item ids when ``X`` is a DataFrame.
    weight_col : hashable or None, default=None
        Column of non-negative interaction weights in a DataFrame ``X``; None
        gives every row weight 1.
    content_embedder : transformer or None, default=None
        Turns the ``item_content`` given to ``fit`` into a numeric matrix, e.g.
        ``TextEmbedder()``; None means ``item_content`` is already numeric.
    content_model : regressor or None, default=None
        Multi-output regressor from content embeddings to item factors,
        fitted on the warm items; None means ``Ridge(alpha=1.0)``.
    handle_unknown : {"popularity", "error"}, default="popularity"
        What unknown ids get. ``"popularity"``: :meth:`recommend` gives an
        unknown user the most popular items; :meth:`predict` scores an unknown
        user's pairs by item popularity (share of training users), and a
        known user's pair with an unknown item as the average warm item (an
        unknown user with an unknown item scores 0).
        ``"error"``: a ValueError naming the first unknown id.
    item_content_encoder : transformer or None
        Deprecated name of ``content_embedder`` (renamed in 0.1, removed in
        0.2): its value is used, with a FutureWarning at ``fit``.
    verbose : "auto", bool or int, default="auto"
        implicit's progress bar in ``fit``. With "auto", shown when someone
        watches (a terminal or a notebook; never in joblib or Dask workers,
        nor when the ``CI`` variable is set); 0 or False never, True or any
        other int always.

    Attributes
    ----------
    model_ : implicit model
        The fitted implicit model (warm items only).
    users_ : ndarray of shape (n_users,)
        Known user ids; row ``k`` of ``user_factors_`` belongs to ``users_[k]``.
    items_ : ndarray of shape (n_items,)
        Catalogue item ids: the warm items, then the cold items from content.
    user_factors_, item_factors_ : ndarray of float32
        Latent factors; cold items' rows are predicted from content.
    cold_items_ : ndarray
        Ids of the items whose factors come from content (may be empty).
    item_popularity_ : ndarray of shape (n_items,)
        Number of distinct training users per catalogue item (0 for cold items).
    user_items_ : scipy.sparse.csr_matrix of shape (n_users, n_items)
        Aggregated training interactions, used to filter seen items.
    content_embedder_, content_model_ : estimator or None
        Fitted clones, when ``item_content`` was given.
    n_features_in_ : int
        Number of columns of an array ``X`` seen in ``fit`` (``predict`` wants
        the same layout). Absent after fitting on a DataFrame or sparse matrix.

    See Also
    --------
    sktransfer.integrations.PerUserHoldout : Per-user holdout splitter for ``cv=``.
    sktransfer.integrations.make_ranking_scorer : NDCG@k etc. for ``scoring=``.

    Notes
    -----
    ``fit`` input, three forms: a DataFrame with ``user_col``, ``item_col``
    (and ``weight_col``) columns, other columns ignored; an array whose first
    two columns are (user, item) pairs, further columns ignored likewise (ids
    of mixed types are better given in a DataFrame), weights by
    ``sample_weight``; or a users x items scipy sparse matrix, whose row and
    column numbers are the ids (``predict`` still takes pairs). Duplicate
    (user, item) rows are summed; rows of weight 0 are dropped; negative, NaN
    or infinite weights and an empty table are errors. Ids are sorted when
    they are sortable, so the row order of ``X`` does not change the model.

    ``fit(X, item_content=...)``: ``item_content`` is a Series or DataFrame
    indexed by item id (or a dict). Content items absent from ``X`` become
    cold items of the catalogue; ``content_model`` is fitted from the warm
    items' content embeddings to their factors and predicts the cold items'
    factors, so they can be recommended from day one. :meth:`add_items` does
    the same for items that arrive after ``fit``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sktransfer.integrations import ImplicitRecommender
    >>> X = pd.DataFrame({"user": ["ann", "ann", "bob", "bob", "cy"],
    ...                   "item": ["a", "b", "b", "c", "a"]})
    >>> rec = ImplicitRecommender(factors=4, iterations=5, random_state=0).fit(X)
    >>> [list(r) for r in rec.recommend(["cy", "nobody"], n=2)]
    [['b', 'c'], ['a', 'b']]
    >>> rec.predict(pd.DataFrame({"user": ["ann"], "item": ["c"]})).shape
    (1,)
    """

    _parameter_constraints = {
        "model": [StrOptions(set(MODELS))],
        "factors": [Interval(Integral, 1, None, closed="left")],
        "regularization": [Interval(Real, 0, None, closed="left"), None],
        "iterations": [Interval(Integral, 1, None, closed="left"), None],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "alpha": [Interval(Real, 0, None, closed="neither"), None],
        "model_params": [dict, None],
        "num_threads": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "user_col": [Hashable],
        "item_col": [Hashable],
        "weight_col": [Hashable, None],
        "content_embedder": [_TRANSFORMER, None],
        "content_model": [HasMethods(["fit", "predict"]), None],
        "handle_unknown": [StrOptions({"popularity", "error"})],
        "item_content_encoder": [_TRANSFORMER, None, _DEPRECATED],
        "verbose": ["verbose", StrOptions({"auto"})],
    }

    def __init__(
        self,
        model="als",
        *,
        factors=64,
        regularization=None,
        iterations=None,
        learning_rate=None,
        alpha=None,
        model_params=None,
        num_threads=1,
        random_state=None,
        user_col="user",
        item_col="item",
        weight_col=None,
        content_embedder=None,
        content_model=None,
        handle_unknown="popularity",
        item_content_encoder="deprecated",
        verbose="auto",
    ):
        self.model = model
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.model_params = model_params
        self.num_threads = num_threads
        self.random_state = random_state
        self.user_col = user_col
        self.item_col = item_col
        self.weight_col = weight_col
        self.content_embedder = content_embedder
        self.content_model = content_model
        self.handle_unknown = handle_unknown
        self.item_content_encoder = item_content_encoder
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # a users x items interaction matrix
        return tags

    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, *, sample_weight=None, item_content=None):
        """Factorize the interactions; give cold items factors from content.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_interactions, >= 2) or sparse matrix
            Interactions; see the class Notes for the three accepted forms.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_interactions,), default=None
            Interaction weights for an array ``X`` (a DataFrame uses
            ``weight_col`` instead).
        item_content : Series, DataFrame or dict, default=None
            Item content indexed by item id, for the content bridge.

        Returns
        -------
        self : ImplicitRecommender
            The fitted recommender.
        """
        embedder = bridge.content_embedder(self)
        matrix, user_ids, item_ids = read_interactions(self, X, sample_weight)
        self.model_ = fit_implicit(self, matrix)
        self.users_, self.items_ = user_ids, item_ids
        self.user_factors_ = np.asarray(self.model_.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(self.model_.item_factors, dtype=np.float32)
        self.user_items_ = matrix
        self.item_popularity_ = np.diff(matrix.tocsc().indptr).astype(np.int64)
        self.cold_items_ = item_ids[:0]
        self.content_embedder_ = self.content_model_ = None
        if item_content is not None:
            table = bridge.content_table(item_content)
            bridge.fit_content_bridge(self, table, embedder)
        return self

    def add_items(self, item_content):
        """Add new items to the catalogue, with factors predicted from content.

        Parameters
        ----------
        item_content : Series, DataFrame or dict
            Content of the new items, indexed by item id, in the form given to
            ``fit``. Ids already in the catalogue are an error.

        Returns
        -------
        self : ImplicitRecommender
            The recommender, with the new items in ``items_`` and
            ``cold_items_``.
        """
        check_is_fitted(self)
        if self.content_model_ is None:
            raise ValueError(
                "add_items needs the content bridge: fit with item_content first."
            )
        table = bridge.content_table(item_content)
        known = pd.Index(self.items_).get_indexer(table.index) >= 0
        if known.any():
            raise ValueError(
                f"Item {show(table.index[known][0])} is already in the catalogue."
            )
        emb = bridge.embed(table, self.content_embedder_, fit=False)
        bridge.append_items(self, table.index.to_numpy(), emb)
        return self

    def predict(self, X):
        """Score (user, item) pairs; higher means more likely to interact.

        Parameters
        ----------
        X : DataFrame with ``user_col`` and ``item_col``, or array-like
            The pairs to score; an array has the column layout seen in ``fit``
            (user, item first).

        Returns
        -------
        scores : ndarray of shape (n,)
            Dot products of the user and item factors; unknown ids as set
            by ``handle_unknown``.
        """
        check_is_fitted(self)
        if sp.issparse(X):
            raise TypeError(
                "predict takes (user, item) pairs, not a sparse user-item matrix."
            )
        if not is_dataframe(X):
            X = validate_data(self, X, dtype=None, ensure_all_finite=True, reset=False)
        users, items = pair_columns(X, self.user_col, self.item_col)
        u, i = known_codes(self, users, items)
        scores = np.zeros(len(u), dtype=np.float64)
        both = (u >= 0) & (i >= 0)
        U, V = self.user_factors_, self.item_factors_
        scores[both] = np.einsum("ij,ij->i", U[u[both]], V[i[both]], dtype=np.float64)
        new_item = (u >= 0) & (i < 0)
        scores[new_item] = U[u[new_item]] @ self.model_.item_factors.mean(axis=0)
        new_user = (u < 0) & (i >= 0)
        scores[new_user] = self.item_popularity_[i[new_user]] / len(self.users_)
        return scores

    def recommend(
        self, users, n=10, *, filter_seen=True, items=None, return_scores=False
    ):
        """Top-``n`` item ids for each user.

        Parameters
        ----------
        users : 1-D array-like of user ids
            The users; an empty sequence gives an empty list.
        n : int, default=10
            Number of items per user.
        filter_seen : bool, default=True
            Leave out items the user interacted with in training.
        items : 1-D array-like of item ids or None, default=None
            Candidate items (all catalogue items when None).
        return_scores : bool, default=False
            Also return the scores.

        Returns
        -------
        recommended : list of ndarray
            One array of at most ``n`` item ids per user, best first (shorter
            when fewer unseen candidates remain). Unknown users get the most
            popular candidates (see ``handle_unknown``).
        scores : list of ndarray
            Only when ``return_scores=True``.
        """
        check_is_fitted(self)
        if isinstance(users, str | bytes) or np.ndim(users) != 1:
            raise ValueError(
                f"users must be a 1-D sequence of user ids; got {users!r}. "
                "Wrap a single id in a list."
            )
        check_positive_int(n, "n")
        users = check_ids(users, "user")
        cand = None if items is None else candidate_positions(self, items)
        u = known_codes(self, users)[0]
        out_ids, out_scores = [None] * len(users), [None] * len(users)
        known = np.flatnonzero(u >= 0)
        ranked = rank_known_users(
            self.user_factors_, self.item_factors_, self.user_items_, u[known],
            cand, n, filter_seen=filter_seen,
        )  # fmt: skip
        positions = np.arange(len(self.items_)) if cand is None else cand
        for j, top, scores in ranked:
            out_ids[known[j]], out_scores[known[j]] = (
                self.items_[positions[top]],
                scores,
            )
        pop = self.item_popularity_[positions] / len(self.users_)
        top = np.argsort(-pop, kind="stable")[:n]
        for r in np.flatnonzero(u < 0):
            out_ids[r], out_scores[r] = self.items_[positions[top]], pop[top]
        return (out_ids, out_scores) if return_scores else out_ids

    def score(self, X, y=None):
        """NDCG@10 of :meth:`recommend` against held-out interactions ``X``.

        Parameters
        ----------
        X : DataFrame or array-like
            Held-out (user, item) pairs, in the layout of :meth:`predict`: each
            user's items are the relevant ones.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean NDCG@10 over the users of ``X`` (seen training items filtered).
        """
        check_is_fitted(self)
        if not is_dataframe(X) and not sp.issparse(X):
            X = validate_data(self, X, dtype=None, ensure_all_finite=True, reset=False)
        return make_ranking_scorer("ndcg", k=10)(self, X)

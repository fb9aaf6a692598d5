"""ImplicitRecommender, PerUserHoldout and the ranking metrics, on real implicit."""

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_validate

implicit = pytest.importorskip("implicit")

from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402

from sktransfer import ImplicitRecommender  # noqa: E402
from sktransfer.datasets import load_movietweetings  # noqa: E402
from sktransfer.integrations import (  # noqa: E402
    PerUserHoldout,
    make_ranking_scorer,
    map_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)


def make_interactions(n_users=120, n_items=60, per_user=8, seed=0):
    """Users pick the items whose content-driven latent vectors suit them.

    Returns the interactions (string ids) and the item content (a DataFrame
    of 12 numeric columns indexed by item id), from which the item latent
    vectors are a linear function: the content bridge can learn it.
    """
    rng = np.random.default_rng(seed)
    content = rng.normal(size=(n_items, 12))
    item_latent = content @ rng.normal(size=(12, 6))
    user_latent = rng.normal(size=(n_users, 6))
    utility = user_latent @ item_latent.T + rng.gumbel(size=(n_users, n_items))
    top = np.argsort(-utility, axis=1)[:, :per_user]
    items = np.array([f"i{j:03d}" for j in range(n_items)], dtype=object)
    users = np.array([f"u{k:03d}" for k in range(n_users)], dtype=object)
    X = pd.DataFrame({"user": np.repeat(users, per_user), "item": items[top.ravel()]})
    return X, pd.DataFrame(content, index=items)


@pytest.fixture(scope="module")
def interactions():
    return make_interactions()


def small(**params):
    params = {"factors": 8, "iterations": 10, "random_state": 0, **params}
    return ImplicitRecommender(**params)


# --- conventions -------------------------------------------------------------


def test_fit_attributes_and_string_ids(interactions):
    X, _ = interactions
    rec = small()
    assert rec.fit(X) is rec
    assert rec.users_.tolist() == sorted(X.user.unique())
    assert rec.items_.tolist() == sorted(X.item.unique())
    assert rec.user_factors_.shape == (len(rec.users_), 8)
    assert rec.item_factors_.dtype == np.float32
    assert len(rec.cold_items_) == 0 and rec.content_model_ is None
    assert not hasattr(rec, "n_features_in_")  # DataFrame: columns by name
    assert rec.item_popularity_.sum() == len(X)
    recs = rec.recommend(["u000", "u001"], n=5)
    assert len(recs) == 2 and all(r.shape == (5,) for r in recs)
    seen = set(X.loc[X.user == "u000", "item"])
    assert not seen & set(recs[0])
    assert all(isinstance(i, str) for i in recs[0])


def test_predict_matches_factors_and_ranking(interactions):
    X, _ = interactions
    rec = small().fit(X)
    pairs = pd.DataFrame({"user": ["u003"] * 3, "item": ["i000", "i001", "i002"]})
    u = rec.users_.tolist().index("u003")
    expected = rec.item_factors_[:3] @ rec.user_factors_[u]
    assert_allclose(rec.predict(pairs), expected, rtol=1e-5)
    # an (n, 2) array gives the same scores
    assert_allclose(rec.predict(pairs.to_numpy()), expected, rtol=1e-5)
    ids, scores = rec.recommend(["u003"], n=4, return_scores=True)
    best = pd.DataFrame({"user": ["u003"] * 4, "item": ids[0]})
    assert_allclose(rec.predict(best), scores[0], rtol=1e-5)
    assert np.all(np.diff(scores[0]) <= 0)


@pytest.mark.parametrize("model", ["als", "bpr", "lmf"])
def test_same_seed_same_factors(interactions, model):
    X, _ = interactions
    a = small(model=model).fit(X)
    b = small(model=model).fit(X.sample(frac=1, random_state=1))  # row order
    assert_array_equal(a.user_factors_, b.user_factors_)
    assert_array_equal(a.item_factors_, b.item_factors_)


def test_equals_raw_implicit(interactions):
    X, _ = interactions
    rec = small(regularization=0.05).fit(X)
    raw = AlternatingLeastSquares(
        factors=8, iterations=10, regularization=0.05, random_state=0, num_threads=1
    )
    raw.fit(rec.user_items_, show_progress=False)
    assert_array_equal(rec.item_factors_, raw.item_factors)
    ids, _ = raw.recommend(np.arange(5), rec.user_items_[:5], N=10)
    ours = rec.recommend(rec.users_[:5], n=10)
    assert_array_equal(np.vstack(ours), rec.items_[ids])


def test_sparse_matrix_input_equals_integer_ids(interactions):
    X, _ = interactions
    u = pd.factorize(X.user, sort=True)[0]
    i = pd.factorize(X.item, sort=True)[0]
    matrix = sp.csr_matrix((np.ones(len(X)), (u, i)))
    a = small().fit(matrix)
    b = small().fit(pd.DataFrame({"user": u, "item": i}))
    assert_array_equal(a.users_, np.arange(matrix.shape[0]))
    assert_array_equal(a.item_factors_, b.item_factors_)
    with pytest.raises(TypeError, match="sparse"):
        a.predict(matrix)


def test_duplicates_are_summed_and_weights_used():
    X = pd.DataFrame({"user": [1, 1, 1, 2, 2, 3], "item": [10, 10, 20, 20, 30, 10]})
    summed = pd.DataFrame(
        {"user": [1, 1, 2, 2, 3], "item": [10, 20, 20, 30, 10], "w": [2, 1, 1, 1, 1]}
    )
    a = small().fit(X)
    b = small(weight_col="w").fit(summed)
    assert_array_equal(a.user_factors_, b.user_factors_)
    assert a.user_items_[0, 0] == 2
    c = small().fit(summed[["user", "item"]].to_numpy(), sample_weight=summed.w)
    assert_array_equal(a.user_factors_, c.user_factors_)
    # a zero weight drops the row (and an id seen only there)
    d = small(weight_col="w").fit(summed.assign(w=[2, 1, 1, 0, 1]))
    assert 30 not in d.items_.tolist()


def test_unknown_users_and_items():
    X = pd.DataFrame({"user": ["a", "a", "b", "b", "c"], "item": list("xyyzx")})
    rec = small(factors=2).fit(X)
    # unknown user: most popular items (ties by id)
    recs = rec.recommend(["nobody", "c"], n=2)
    assert recs[0].tolist() == ["x", "y"]
    scores = rec.predict(pd.DataFrame({"user": ["nobody"] * 3, "item": list("xyz")}))
    assert_allclose(scores, [2 / 3, 2 / 3, 1 / 3])
    # known user, unknown item: the average warm item
    s = rec.predict(pd.DataFrame({"user": ["a"], "item": ["new"]}))
    assert_allclose(s, rec.user_factors_[0] @ rec.item_factors_.mean(axis=0), rtol=1e-5)
    strict = small(factors=2, handle_unknown="error").fit(X)
    with pytest.raises(ValueError, match="Unknown user id 'nobody'"):
        strict.recommend(["a", "nobody"])
    with pytest.raises(ValueError, match="Unknown item id 'new'"):
        strict.predict(pd.DataFrame({"user": ["a"], "item": ["new"]}))


def test_recommend_options(interactions):
    X, _ = interactions
    rec = small().fit(X)
    assert rec.recommend([]) == []
    assert rec.recommend([], return_scores=True) == ([], [])
    seen = X.loc[X.user == "u005", "item"].tolist()
    n_items = len(rec.items_)
    top = rec.recommend(["u005"], n=n_items + 5, filter_seen=False)[0]
    assert len(top) == n_items and set(seen) <= set(top)
    # all candidates seen: nothing left to recommend
    assert len(rec.recommend(["u005"], items=seen)[0]) == 0
    cands = ["i000", "i001", "i002"]
    got = rec.recommend(["u005"], n=2, items=cands, filter_seen=False)[0]
    assert set(got) <= set(cands) and len(got) == 2
    with pytest.raises(ValueError, match="1-D sequence"):
        rec.recommend("u005")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        rec.recommend(["u005"], n=0)
    with pytest.raises(ValueError, match="not in the catalogue"):
        rec.recommend(["u005"], items=["nope"])


@pytest.mark.parametrize(
    "X, params, match",
    [
        (pd.DataFrame({"user": [], "item": []}), {}, "empty"),
        (
            pd.DataFrame({"user": [1], "item": [2], "w": [-1.0]}),
            {"weight_col": "w"},
            "non-negative",
        ),
        (
            pd.DataFrame({"user": [1], "item": [2], "w": [np.nan]}),
            {"weight_col": "w"},
            "NaN",
        ),
        (
            pd.DataFrame({"user": [1], "item": [2], "w": [0.0]}),
            {"weight_col": "w"},
            "zero",
        ),
        (pd.DataFrame({"user": ["a", None], "item": [2, 3]}), {}, "missing value"),
        (pd.DataFrame({"user": [1.0, np.nan], "item": [2, 3]}), {}, "NaN"),
        (pd.DataFrame({"user": ["a", "b"], "item": ["x", pd.NA]}), {}, "missing"),
        (pd.DataFrame({"u": [1], "item": [2]}), {}, "no column 'user'"),
        (pd.DataFrame({"user": [1], "item": [2]}), {"weight_col": "w"}, "weight_col"),
        (pd.DataFrame({"user": [1], "item": [2]}), {"model": "svd"}, "model"),
        (
            pd.DataFrame({"user": [1], "item": [2]}),
            {"model": "bpr", "alpha": 2.0},
            "alpha",
        ),
        (
            pd.DataFrame({"user": [1], "item": [2]}),
            {"learning_rate": 0.1},
            "learning_rate",
        ),
        (
            pd.DataFrame({"user": [1], "item": [2]}),
            {"model_params": {"factors": 3}},
            "model_params",
        ),
        (np.array([[1], [2]]), {}, r"1 feature\(s\)"),
    ],
)
def test_bad_input_errors(X, params, match):
    with pytest.raises(ValueError, match=match):
        small(**params).fit(X)


def test_other_errors():
    X = pd.DataFrame({"user": [1, 2], "item": [3, 4], "w": [1.0, 1.0]})
    with pytest.raises(ValueError, match="not both"):
        small(weight_col="w").fit(X, sample_weight=[1, 1])
    with pytest.raises(ValueError, match="sample_weight"):
        small().fit(sp.csr_matrix(np.eye(3)), sample_weight=[1, 1, 1])
    with pytest.raises(ValueError, match="non-negative"):
        small().fit(sp.csr_matrix(-np.eye(3)))
    with pytest.raises(TypeError, match="hashable"):
        small().fit(pd.DataFrame({"user": [[1]], "item": [2]}))
    with pytest.raises(NotFittedError):
        small().recommend([1])
    with pytest.raises(ValueError, match="fit with item_content"):
        small().fit(X).add_items({5: [1.0]})


def test_bad_weights_empty_and_zero_matrices():
    pairs = np.array([[1, 2], [3, 4]])
    for weights, match in [
        ([1.0, np.nan], r"sample_weight\) contains NaN or infinity \(first at row 1"),
        ([1.0, np.inf], "NaN or infinity"),
        ([1.0, -2.0], r"non-negative \(implicit feedback\); got -2.0 at row 1"),
        ([1.0], "one value per interaction row"),
    ]:
        with pytest.raises(ValueError, match=match):
            small().fit(pairs, sample_weight=weights)
    with pytest.raises(ValueError, match="0 sample"):
        small().fit(np.empty((0, 2)))
    # a sparse matrix's bad value is named by its (row, column)
    with pytest.raises(ValueError, match=r"NaN or infinity \(first at entry \(1, 2\)"):
        small().fit(sp.csr_matrix(np.array([[1.0, 0, 0], [0, 0, np.nan]])))
    with pytest.raises(ValueError, match=r"got -1.0 at entry \(0, 1\)"):
        small().fit(sp.csr_matrix(np.array([[0, -1.0], [1.0, 0]])))
    with pytest.raises(ValueError, match=r"user-item matrix is empty \(shape=\(0, 3\)"):
        small().fit(sp.csr_matrix((0, 3)))
    with pytest.raises(ValueError, match="All values of the user-item matrix are zero"):
        small().fit(sp.csr_matrix((2, 3)))


def test_sparse_input_is_not_modified():
    X = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 1.0]]))
    X.data[1] = 0.0  # an explicit zero, which fit drops from its own copy
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    rec = small(factors=2).fit(X)
    assert rec.user_items_.nnz == 3
    for array, saved in zip((X.data, X.indices, X.indptr), before, strict=True):
        assert_array_equal(array, saved)


def test_pickle_round_trip(interactions):
    X, content = interactions
    rec = small().fit(X, item_content=content)
    back = pickle.loads(pickle.dumps(rec))
    users = ["u000", "u010", "unknown"]
    assert_array_equal(
        np.vstack(back.recommend(users)), np.vstack(rec.recommend(users))
    )
    assert_array_equal(back.predict(X.head(20)), rec.predict(X.head(20)))
    assert clone(rec).get_params()["factors"] == 8


# --- the content bridge (cold start) -----------------------------------------


def cold_split(X, content, frac=0.2, seed=0):
    items = np.array(sorted(X.item.unique()), dtype=object)
    rng = np.random.default_rng(seed)
    cold = set(rng.choice(items, size=int(frac * len(items)), replace=False))
    is_cold = X.item.isin(cold)
    return X[~is_cold], X[is_cold], sorted(cold)


def test_cold_start_bridge_beats_random(interactions):
    X, content = interactions
    train, test, cold = cold_split(X, content)
    rec = small(factors=6, iterations=15).fit(train, item_content=content)
    # the held-out items, plus any item no one picked at all
    assert set(cold) <= set(rec.cold_items_)
    assert set(rec.cold_items_) == set(content.index) - set(train.item)
    assert set(rec.items_) == set(content.index)
    assert isinstance(rec.content_model_, Ridge)
    users = test.user.unique()
    relevant = [set(test.loc[test.user == u, "item"]) for u in users]
    recs = rec.recommend(users, n=5, items=cold)
    bridge_recall = recall_at_k(relevant, recs, k=5)
    rng = np.random.default_rng(0)
    random_recs = [rng.permutation(cold)[:5] for _ in users]
    random_recall = recall_at_k(relevant, random_recs, k=5)
    assert bridge_recall > random_recall + 0.1, (bridge_recall, random_recall)
    # cold items also compete with warm ones in a plain recommend call
    assert any(set(r) & set(cold) for r in rec.recommend(users, n=10))


def test_bridge_content_forms_and_add_items(interactions):
    X, content = interactions
    train, _, cold = cold_split(X, content)
    new = content.loc[cold[:3]]
    known = content.drop(index=cold[:3])
    as_series = pd.Series(list(known.to_numpy()), index=known.index)
    as_dict = dict(zip(known.index, known.to_numpy(), strict=True))
    factors = []
    for form in (known, as_series, as_dict):
        rec = small().fit(train, item_content=form)
        factors.append(rec.item_factors_)
    assert_allclose(factors[0], factors[1])
    assert_allclose(factors[0], factors[2])
    n = len(rec.items_)
    rec.add_items(new)
    assert len(rec.items_) == n + 3 and rec.user_items_.shape[1] == n + 3
    assert set(cold[:3]) <= set(rec.cold_items_)
    assert rec.recommend(["u000"], items=cold[:3], n=3)[0].shape == (3,)
    with pytest.raises(ValueError, match="already in the catalogue"):
        rec.add_items(new)


def test_bridge_errors(interactions):
    X, content = interactions
    with pytest.raises(ValueError, match="content_embedder is None"):
        small().fit(X, item_content=pd.Series(["a film"] * 3, index=X.item[:3]))
    with pytest.raises(ValueError, match="no warm item"):
        small().fit(X, item_content=pd.DataFrame([[1.0]], index=["zzz"]))
    with pytest.raises(ValueError, match="indexed by item id"):
        small().fit(X, item_content=content.to_numpy())
    with pytest.raises(ValueError, match="duplicates"):
        small().fit(X, item_content=pd.concat([content, content]))


def test_bridge_with_text_embedder(interactions):
    pytest.importorskip("sentence_transformers")
    from sktransfer import TextEmbedder

    X, content = interactions
    train, _, cold = cold_split(X, content)
    texts = pd.Series([f"film number {i}" for i in content.index], index=content.index)
    rec = small(content_embedder=TextEmbedder(backbone="toy-text"))
    rec.fit(train, item_content=texts)
    assert set(cold) <= set(rec.cold_items_)
    assert rec.content_embedder_ is not rec.content_embedder
    rec.add_items(pd.Series(["a brand new film"], index=["brand-new"]))
    assert "brand-new" in rec.recommend(["u000"], items=["brand-new", cold[0]])[0]


def test_item_content_encoder_is_the_deprecated_name_of_content_embedder(
    interactions,
):
    pytest.importorskip("sentence_transformers")
    from sktransfer import TextEmbedder

    X, content = interactions
    texts = pd.Series([f"film number {i}" for i in content.index], index=content.index)
    embedder = TextEmbedder(backbone="toy-text")
    new = small(content_embedder=embedder).fit(X, item_content=texts)
    old = small(item_content_encoder=embedder)
    assert old.get_params()["content_embedder"] is None  # stored verbatim
    with pytest.warns(FutureWarning, match="renamed content_embedder") as record:
        old.fit(X, item_content=texts)
    assert record[0].filename == __file__  # points at the caller's line
    assert_allclose(old.item_factors_, new.item_factors_)
    assert isinstance(old.content_embedder_, TextEmbedder)
    with pytest.raises(ValueError, match="set only content_embedder"):
        small(content_embedder=embedder, item_content_encoder=embedder).fit(X)
    # the default of the old name is the "deprecated" marker: no warning
    assert small().get_params()["item_content_encoder"] == "deprecated"


# --- ranking metrics, by hand ------------------------------------------------


def test_ranking_metrics_by_hand():
    relevant = [{"a", "b", "c"}, {"x"}, set()]  # the third user is skipped
    recommended = [["a", "d", "b", "e"], ["y", "z", "w", "x"], ["a"]]
    k = 3
    # user 1: hits at ranks 1 and 3; user 2: none in the top 3
    assert precision_at_k(relevant, recommended, k) == pytest.approx((2 / 3 + 0) / 2)
    assert recall_at_k(relevant, recommended, k) == pytest.approx((2 / 3 + 0) / 2)
    dcg = 1 + 1 / math.log2(4)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(relevant, recommended, k) == pytest.approx(dcg / idcg / 2)
    ap = (1 / 1 + 2 / 3) / 3
    assert map_at_k(relevant, recommended, k) == pytest.approx(ap / 2)
    # at k=4 user 2 finds x at rank 4
    assert recall_at_k(relevant, recommended, 4) == pytest.approx((2 / 3 + 1) / 2)
    assert ndcg_at_k(relevant, recommended, 4) == pytest.approx(
        (dcg / idcg + 1 / math.log2(5)) / 2
    )
    assert map_at_k(relevant, recommended, 4) == pytest.approx((ap + 1 / 4) / 2)
    # a 2-D array works, a perfect ranking scores 1, a repeat counts once
    assert ndcg_at_k([{1, 2}], np.array([[2, 1, 3]]), k=2) == 1.0
    assert precision_at_k([{1}], [[1, 1]], k=2) == 0.5


def test_ranking_metric_errors():
    with pytest.raises(ValueError, match="k must be"):
        ndcg_at_k([{1}], [[1]], k=0)
    with pytest.raises(ValueError, match="one entry per user"):
        ndcg_at_k([{1}], [[1], [2]])
    with pytest.raises(ValueError, match="No user has a relevant item"):
        recall_at_k([set()], [[1]])
    with pytest.raises(ValueError, match="metric must be"):
        make_ranking_scorer("auc")


# --- splitter, scorers, model selection --------------------------------------


def test_per_user_holdout_random(interactions):
    X, _ = interactions
    X = pd.concat([X, pd.DataFrame({"user": ["solo"], "item": ["i000"]})])
    cv = PerUserHoldout(test_size=0.25, n_splits=2, random_state=0)
    splits = list(cv.split(X))
    assert cv.get_n_splits() == 2 and len(splits) == 2
    for train, test in splits:
        assert len(np.intersect1d(train, test)) == 0
        assert len(train) + len(test) == len(X)
        counts = X.iloc[test].user.value_counts()
        assert (counts == math.ceil(0.25 * 8)).all()  # 8 per user -> 2 held out
        assert "solo" not in counts.index  # single interaction: training only
    assert not np.array_equal(splits[0][1], splits[1][1])
    again = list(PerUserHoldout(test_size=0.25, n_splits=2, random_state=0).split(X))
    assert_array_equal(again[0][1], splits[0][1])


def test_per_user_holdout_by_time():
    X = pd.DataFrame(
        {
            "user": ["a", "a", "a", "a", "b", "b", "c"],
            "item": [1, 2, 3, 4, 1, 2, 3],
            "t": [4, 1, 3, 2, 5, 5, 9],
        }
    )
    cv = PerUserHoldout(test_size=2, by="time", time_col="t")
    train, test = next(cv.split(X))
    assert test.tolist() == [0, 2, 5]  # a's two latest; b: tie -> the later row
    # an array: users in column 0, time_col a column number
    train2, test2 = next(
        PerUserHoldout(test_size=2, by="time", time_col=2).split(X.to_numpy())
    )
    assert_array_equal(test2, test)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"test_size": 0}, "test_size"),
        ({"test_size": 1.5}, "test_size"),
        ({"by": "rating"}, "by must be"),
        ({"by": "time"}, "time_col"),
        ({"by": "time", "time_col": "t", "n_splits": 3}, "single split"),
        ({"n_splits": 0}, "n_splits"),
    ],
)
def test_per_user_holdout_errors(params, match):
    with pytest.raises(ValueError, match=match):
        PerUserHoldout(**params)


def test_scorer_and_score_match_the_metric(interactions):
    X, _ = interactions
    train, test = next(PerUserHoldout(random_state=0).split(X))
    rec = small().fit(X.iloc[train])
    held = X.iloc[test]
    users = held.user.unique()
    relevant = [set(held.loc[held.user == u, "item"]) for u in users]
    recs = rec.recommend(users, n=5)
    for name, func in [
        ("ndcg", ndcg_at_k),
        ("recall", recall_at_k),
        ("precision", precision_at_k),
        ("map", map_at_k),
    ]:
        scorer = make_ranking_scorer(name, k=5)
        assert scorer(rec, held) == pytest.approx(func(relevant, recs, k=5))
    assert rec.score(held) == pytest.approx(
        ndcg_at_k(relevant, rec.recommend(users, n=10), k=10)
    )
    assert "ndcg" in repr(make_ranking_scorer())


def test_grid_search_and_cross_validate(interactions):
    X, _ = interactions
    cv = PerUserHoldout(test_size=0.25, random_state=0)
    search = GridSearchCV(
        small(), {"factors": [2, 8]}, cv=cv, scoring=make_ranking_scorer("ndcg", k=5)
    )
    search.fit(X)
    assert search.best_params_["factors"] in (2, 8)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    res = cross_validate(
        small(),
        X,
        cv=PerUserHoldout(n_splits=2, random_state=0),
        scoring={
            "ndcg": make_ranking_scorer(),
            "recall": make_ranking_scorer("recall"),
        },
    )
    assert res["test_ndcg"].shape == (2,) and (res["test_recall"] > 0).all()
    # without scoring=, GridSearchCV uses ImplicitRecommender.score (NDCG@10)
    default = GridSearchCV(small(), {"factors": [4]}, cv=cv).fit(X)
    assert default.best_score_ > 0


# --- real data ---------------------------------------------------------------


@pytest.fixture(scope="module")
def movietweetings(shared_data):
    folder = shared_data / "rec" / "movietweetings-100k"
    if not folder.is_dir():
        pytest.skip("movietweetings-100k not found")
    ratings, _ = load_movietweetings(folder)
    return ratings


@pytest.mark.slow
def test_movietweetings_time_holdout(movietweetings):
    X = movietweetings
    cv = PerUserHoldout(test_size=0.2, by="time", time_col="time")
    train, test = next(cv.split(X))
    held = X.iloc[test]
    assert (
        held.groupby("user").time.min()
        >= X.iloc[train].groupby("user").time.max()[held.user.unique()]
    ).all()
    rec = ImplicitRecommender(
        factors=16, regularization=1.0, alpha=20.0, iterations=10, random_state=0
    ).fit(X.iloc[train])
    assert rec.items_.dtype == object and "0004936" in set(rec.items_)  # zeros kept
    users = held.user.unique()
    relevant = held.groupby("user", sort=False).item.agg(set)[users].tolist()
    ours = ndcg_at_k(relevant, rec.recommend(users, n=10), k=10)
    # far above chance (about 0.001 over some 10,000 movies)
    assert ours > 0.02
    assert make_ranking_scorer()(rec, held) == pytest.approx(ours)

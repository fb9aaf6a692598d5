"""The solved head: `solve_head` against scikit-learn, and its use by the fine-tuners."""

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, Ridge

from sktransfer.finetune._head import L2_GRID, solve_head


def _softmax(weight, bias, X):
    logits = X @ weight.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_solved_head_matches_logistic_regression(n_classes):
    X, y = make_classification(
        400, 12, n_informative=6, n_classes=n_classes, random_state=0
    )
    weights = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    l2 = 0.01
    weight, bias = solve_head(X, y, l2=l2, sample_weight=weights)
    reference = LogisticRegression(
        C=1 / (l2 * weights.sum()), tol=1e-10, max_iter=10_000
    ).fit(X, y, sample_weight=weights)
    assert weight.shape == (n_classes, 12) and weight.dtype == np.float32
    np.testing.assert_allclose(
        _softmax(weight, bias, X), reference.predict_proba(X), atol=1e-4
    )
    if n_classes == 2:  # one logistic regression as two symmetric softmax rows
        np.testing.assert_allclose(weight[1] - weight[0], reference.coef_[0], atol=1e-3)
        np.testing.assert_allclose(weight[0], -weight[1])
    else:
        np.testing.assert_allclose(weight, reference.coef_, atol=1e-3)


def test_class_weight_equals_the_matching_sample_weight():
    X, y = make_classification(300, 8, weights=[0.8, 0.2], random_state=1)
    by_class = solve_head(X, y, l2=0.01, class_weight={0: 1.0, 1: 4.0})
    by_sample = solve_head(X, y, l2=0.01, sample_weight=np.where(y == 1, 4.0, 1.0))
    np.testing.assert_allclose(by_class[0], by_sample[0], atol=1e-4)
    balanced = solve_head(X, y, l2=0.01, class_weight="balanced")
    plain = solve_head(X, y, l2=0.01)
    minority = (_softmax(*balanced, X)[:, 1] > 0.5).sum()
    assert minority > (_softmax(*plain, X)[:, 1] > 0.5).sum()


def test_ridge_closed_form_matches_sklearn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    Y = X[:, :2] * [1.0, -2.0] + rng.normal(size=(200, 2)) * 0.1
    weights = rng.uniform(0.5, 2.0, 200)
    weight, bias = solve_head(X, Y, "regression", l2=0.05, sample_weight=weights)
    reference = Ridge(alpha=0.05 * weights.sum()).fit(X, Y, sample_weight=weights)
    np.testing.assert_allclose(weight, reference.coef_, atol=1e-5)
    np.testing.assert_allclose(bias, reference.intercept_, atol=1e-5)


def test_auto_picks_a_grid_value_that_depends_on_the_data():
    X, y = make_classification(300, 20, n_informative=3, flip_y=0.3, random_state=0)
    noisy = solve_head(X, y, return_l2=True)[2]
    X, y = make_classification(300, 20, n_informative=10, class_sep=3, random_state=0)
    clean = solve_head(X, y, return_l2=True)[2]
    assert noisy in L2_GRID and clean in L2_GRID
    assert noisy > clean  # more noise, more regularisation
    # one row of a class: no folds, the documented fallback
    assert solve_head(X[:3], [0, 0, 1], return_l2=True)[2] == 1e-3


def test_selection_rules_follow_their_definitions():
    branches = set()
    for seed in range(4):
        X, y = make_classification(
            90, 20, n_informative=8, class_sep=1.5, flip_y=0.0, random_state=seed
        )
        picked = {
            rule: solve_head(X, y, rule=rule, random_state=seed, return_l2=True)[2]
            for rule in ("one-se", "min", "anchor")
        }
        # one-SE: the strongest penalty within one SE of the lowest loss
        assert picked["min"] <= picked["one-se"]
        # anchor: the grid value nearest LogisticRegression's C=1, else one-SE's
        nearest = min(L2_GRID, key=lambda l2: abs(np.log(l2 * len(y))))
        assert picked["anchor"] in (nearest, picked["one-se"])
        branches.add(picked["anchor"] == nearest != picked["one-se"])
    assert branches == {True, False}  # both cases happen on these data


def test_bad_inputs_name_what_is_wrong():
    X = np.ones((4, 2))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite values in rows \[2\]"):
        solve_head(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="l2 must be"):
        solve_head(np.ones((4, 2)), [0, 1, 0, 1], l2="best")
    with pytest.raises(ValueError, match="task must be"):
        solve_head(np.ones((4, 2)), [0, 1, 0, 1], task="ranking")
    with pytest.raises(ValueError, match="rule must be one of .*anchor"):
        solve_head(np.ones((4, 2)), [0, 1, 0, 1], rule="max")


# -- inside the fine-tuners --------------------------------------------------------
torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sktransfer import ImageClassifier, ImageRegressor, TextClassifier  # noqa: E402


def _numeric(n=120, seed=0):
    X, y = make_classification(n, 6, n_informative=4, n_classes=3, random_state=seed)
    return X.astype(np.float32), y


class _HeadAtStart(skorch.callbacks.Callback):
    """Records the head's weights when training starts (in a class attribute:
    the estimator trains a deep copy of its callbacks)."""

    seen = []

    def on_train_begin(self, net, **kwargs):
        type(self).seen.append(net.module_.head.weight.detach().clone().numpy())


@pytest.mark.usefixtures("one_torch_thread")
def test_head_strategy_is_logistic_regression_on_the_features():
    X, y = _numeric()
    clf = ImageClassifier("toy-numeric", head_l2=0.01, random_state=0).fit(X, y)
    features = clf.transform(X)
    reference = LogisticRegression(
        C=1 / (0.01 * len(y)), tol=1e-10, max_iter=10_000
    ).fit(features, y)
    # the toy's 16 features of 6 inputs are nearly collinear: a flat optimum
    # (objectives equal to 1e-9, probabilities to ~4e-4)
    np.testing.assert_allclose(
        clf.predict_proba(X), reference.predict_proba(features), atol=2e-3
    )
    assert clf.head_l2_ == 0.01 and len(clf.history_) == 1
    auto = ImageClassifier("toy-numeric", random_state=0).fit(X, y)
    assert auto.head_l2_ in L2_GRID
    reg = ImageRegressor("toy-numeric", head_l2=0.1).fit(X, y * 2.0)
    ridge = Ridge(alpha=0.1 * len(y)).fit(reg.transform(X), (y * 2.0 - y.mean() * 2))
    np.testing.assert_allclose(
        reg.predict(X) - y.mean() * 2, ridge.predict(reg.transform(X)), atol=1e-3
    )


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize("strategy", ["top", "full", "gradual"])
def test_lp_ft_starts_from_the_solved_probe(strategy):
    X, y = _numeric()
    probe = ImageClassifier("toy-numeric", head_l2=0.01).fit(X, y)
    params = dict(
        strategy=strategy,
        unfreeze=1,
        head_l2=0.01,
        validation_fraction=None,
        max_epochs=2 if strategy == "gradual" else 1,  # gradual: head-only first
        random_state=0,
        callbacks=[_HeadAtStart()],
    )
    _HeadAtStart.seen = []
    lpft = ImageClassifier("toy-numeric", **params).fit(X, y)
    ImageClassifier("toy-numeric", **params, head_init="random").fit(X, y)
    at_start, random_start = _HeadAtStart.seen
    probe_weight = probe._module.head.weight.detach().numpy()
    np.testing.assert_allclose(at_start, probe_weight, atol=1e-6)
    assert not np.allclose(random_start, probe_weight, atol=1e-2)
    assert lpft.head_l2_ == 0.01
    # and the backbone did move
    assert not np.allclose(lpft.transform(X), probe.transform(X))


@pytest.mark.usefixtures("one_torch_thread")
def test_transform_names_pandas_and_fit_transform_trains_once():
    pd = pytest.importorskip("pandas")
    texts = ["a good film", "a great film", "a bad film", "an awful film"] * 10
    labels = ["pos", "pos", "neg", "neg"] * 10
    clf = TextClassifier("toy-text", strategy="full", max_epochs=2, random_state=0)
    _HeadAtStart.seen = []
    out = clf.set_params(callbacks=[_HeadAtStart()]).fit_transform(texts, labels)
    assert len(_HeadAtStart.seen) == 1  # one training run
    assert out.dtype == np.float32 and out.shape == (40, clf._module.head.in_features)
    np.testing.assert_allclose(out, clf.transform(texts), atol=1e-6)
    names = clf.get_feature_names_out()
    assert names[0] == "textclassifier0" and len(names) == out.shape[1]
    frame = clone(clf).set_output(transform="pandas").fit(texts, labels)
    assert isinstance(frame.transform(texts[:3]), pd.DataFrame)
    assert list(frame.transform(texts[:3]).columns) == list(names)
    pipe = make_pipeline(
        TextClassifier("toy-text", strategy="full", max_epochs=2, random_state=0),
        HistGradientBoostingClassifier(max_iter=20),
    )
    assert pipe.fit(texts, labels).score(texts, labels) > 0.9

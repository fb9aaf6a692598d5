"""Domain adaptation on embeddings: adapters, source selection, scorers, splits."""

import numpy as np
import pytest
import scipy.io
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import Normalizer
from sklearn.svm import SVC

from sktransfer.adapt import (
    CORALAdapter,
    DomainStandardScaler,
    ImportanceWeightedScorer,
    ImportanceWeightingAdapter,
    PredictionEntropyScorer,
    SelectSource,
    SourceTargetKFold,
    SubspaceAlignmentAdapter,
    TCAAdapter,
    make_da_pipeline,
)
from sktransfer.adapt._scorers import call_in_domain

ADAPTERS = [
    CORALAdapter,
    SubspaceAlignmentAdapter,
    TCAAdapter,
    DomainStandardScaler,
]


def _shifted(rng, n_source=120, n_target=90, d=4):
    """Two classes; the target is the source stretched, rotated and moved."""
    Xs = rng.normal(size=(n_source, d))
    ys = (Xs[:, 0] + 0.5 * Xs[:, 1] > 0).astype(int)
    A = np.diag([2.0, 0.5, 1.0, 1.5][:d]) @ np.linalg.qr(rng.normal(size=(d, d)))[0]
    Xt_clean = rng.normal(size=(n_target, d))
    yt = (Xt_clean[:, 0] + 0.5 * Xt_clean[:, 1] > 0).astype(int)
    Xt = Xt_clean @ A + 1.0
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(n_target, dtype=int)]
    domain = np.r_[np.ones(n_source, dtype=int), -np.ones(n_target, dtype=int)]
    return X, y, domain, yt


class _Recorder(ClassifierMixin, BaseEstimator):
    """Remembers what it was fitted on (a real, tiny estimator, not a mock)."""

    def fit(self, X, y, sample_weight=None):
        self.X_, self.y_, self.sample_weight_ = (
            np.asarray(X),
            np.asarray(y),
            sample_weight,
        )
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


# -- numeric correctness ---------------------------------------------------------
def test_coral_gives_source_the_target_covariance_and_keeps_target(rng):
    X, y, domain, _ = _shifted(rng)
    coral = CORALAdapter(reg=0.0)
    Z = coral.fit_transform(X, y)
    source, target = domain > 0, domain < 0
    np.testing.assert_allclose(
        np.cov(Z[source], rowvar=False), np.cov(X[target], rowvar=False), atol=1e-4
    )
    np.testing.assert_allclose(Z[source].mean(0), X[target].mean(0), atol=1e-5)
    np.testing.assert_allclose(Z[target], X[target], atol=1e-6)
    # new data is target data: unchanged; as source it gets the source map
    np.testing.assert_allclose(coral.transform(X[:5]), X[:5], atol=1e-6)
    np.testing.assert_allclose(
        coral.transform(X[:5], sample_domain=np.ones(5, int)), Z[:5], atol=1e-5
    )
    assert Z.dtype == np.float32


def test_coral_regularised_by_hand(rng):
    X, y, domain, _ = _shifted(rng)
    Xs, Xt = X[domain > 0], X[domain < 0]

    def power(C, p):
        w, v = np.linalg.eigh(C)
        return (v * w**p) @ v.T

    Cs = np.cov(Xs, rowvar=False) + np.eye(4)
    Ct = np.cov(Xt, rowvar=False) + np.eye(4)
    expected = (Xs - Xs.mean(0)) @ power(Cs, -0.5) @ power(Ct, 0.5) + Xt.mean(0)
    Z = CORALAdapter(reg=1.0).fit_transform(X, y)
    np.testing.assert_allclose(Z[domain > 0], expected, rtol=1e-5, atol=1e-5)


def test_coral_and_subspace_alignment_match_skada(rng):
    with sklearn.config_context():  # importing skada switches routing on globally
        skada = pytest.importorskip("skada")
    X, y, domain, _ = _shifted(rng)
    target_mean = X[domain < 0].mean(0)
    ours = CORALAdapter(reg="auto").fit_transform(X, y)
    theirs = skada.CORALAdapter(reg="auto").fit_transform(X, y, sample_domain=domain)
    # skada centres the target too; ours leaves it in place
    np.testing.assert_allclose(ours - target_mean, theirs, atol=1e-5)

    ours = SubspaceAlignmentAdapter(n_components=3).fit_transform(X, y)
    theirs = skada.SubspaceAlignmentAdapter(n_components=3).fit_transform(
        X, y, sample_domain=domain
    )
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_subspace_alignment_by_hand(rng):
    X, y, domain, _ = _shifted(rng)
    Xs, Xt = X[domain > 0], X[domain < 0]
    Ps = PCA(2).fit(Xs)
    Pt = PCA(2).fit(Xt)
    M = Ps.components_ @ Pt.components_.T
    sa = SubspaceAlignmentAdapter(n_components=2)
    Z = sa.fit_transform(X, y)
    np.testing.assert_allclose(Z[domain > 0], Ps.transform(Xs) @ M, atol=1e-5)
    np.testing.assert_allclose(Z[domain < 0], Pt.transform(Xt), atol=1e-5)
    np.testing.assert_allclose(sa.alignment_, M, atol=1e-10)
    assert list(sa.get_feature_names_out()) == [
        "subspacealignmentadapter0",
        "subspacealignmentadapter1",
    ]


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_tca_solves_its_eigenproblem_and_matches_means(rng, kernel):
    X, y, domain, _ = _shifted(rng, n_source=60, n_target=50)
    tca = TCAAdapter(n_components=2, kernel=kernel, mu=0.1).fit(X, y)
    n = X.shape[0]
    e = np.where(domain > 0, 1 / 60, -1 / 50)
    if kernel == "linear":
        Xc = X - X.mean(0)
        A, v, size = Xc.T @ Xc, X.T @ e, X.shape[1]
    else:
        from sklearn.metrics.pairwise import rbf_kernel

        K = rbf_kernel(X, gamma=tca.gamma_)
        H = np.eye(n) - 1 / n
        A, v, size = K @ H @ K, K @ e, n
    B = np.outer(v, v) + 0.1 * np.eye(size)
    W = tca.components_
    np.testing.assert_allclose(A @ W, B @ W * tca.eigenvalues_, rtol=1e-6, atol=1e-6)
    Z = tca.transform(X)  # the map does not depend on the domain
    np.testing.assert_allclose(Z.std(0), 1.0, rtol=1e-4)
    # the domains' means are closer than along the top principal axes
    gap = np.abs(Z[domain > 0].mean(0) - Z[domain < 0].mean(0)).max()
    P = PCA(2).fit_transform(X)
    P /= P.std(0)
    assert gap < 0.5 * np.abs(P[domain > 0].mean(0) - P[domain < 0].mean(0)).max()


def test_tca_without_target_is_pca(rng):
    X = rng.normal(size=(50, 4)) * [3.0, 2.0, 1.0, 0.5]
    Z = TCAAdapter(n_components=2, missing_target="ignore").fit_transform(X)
    P = PCA(2).fit_transform(X)
    # same subspace: Z is P up to a per-component scale and sign
    np.testing.assert_allclose(np.abs(Z), np.abs(P / P.std(0)), atol=1e-5)


def test_domain_standard_scaler_per_domain(rng):
    X, y, domain, _ = _shifted(rng)
    scaler = DomainStandardScaler()
    Z = scaler.fit_transform(X, y)
    for rows in (domain > 0, domain < 0):
        np.testing.assert_allclose(Z[rows].mean(0), 0, atol=1e-6)
        np.testing.assert_allclose(Z[rows].std(0), 1, atol=1e-5)
    np.testing.assert_allclose(
        scaler.transform(X[domain < 0]), Z[domain < 0], atol=1e-6
    )
    # several domains through sample_domain; an unseen label falls back to its side
    three = np.where(domain > 0, 1, np.where(np.arange(len(X)) % 2, -1, -2))
    scaler = DomainStandardScaler().fit(X, sample_domain=three)
    Z = scaler.transform(X, sample_domain=three)
    np.testing.assert_allclose(Z[three == -2].mean(0), 0, atol=1e-6)
    np.testing.assert_allclose(
        scaler.transform(X[:3], sample_domain=[-7, -7, -7]),
        (X[:3] - scaler.target_mean_) / scaler.target_scale_,
        rtol=1e-5,
    )


@pytest.mark.parametrize("Adapter", ADAPTERS)
def test_adapters_pandas_output_and_names(rng, Adapter):
    pd = pytest.importorskip("pandas")
    X, y, _, _ = _shifted(rng)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    params = (
        {"n_components": 2} if Adapter in (SubspaceAlignmentAdapter, TCAAdapter) else {}
    )
    out = Adapter(**params).set_output(transform="pandas").fit_transform(frame, y)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(
        Adapter(**params).fit(frame, y).get_feature_names_out()
    )


# -- pipelines ---------------------------------------------------------------------
def test_downstream_estimator_sees_only_labelled_source_rows(rng):
    X, y, domain, _ = _shifted(rng)
    pipe = make_da_pipeline(CORALAdapter(), _Recorder()).fit(X, y)
    recorder = pipe[-1].estimator_
    assert recorder.X_.shape[0] == (domain > 0).sum()
    assert -1 not in recorder.y_
    np.testing.assert_allclose(
        recorder.X_, pipe[0].transform(X[domain > 0], sample_domain=1)
    )
    assert [name for name, _ in pipe.steps] == ["coraladapter", "selectsource"]


def test_make_da_pipeline_wraps_only_plain_estimators():
    iw = ImportanceWeightingAdapter(LogisticRegression())
    assert make_da_pipeline(CORALAdapter(), iw)[-1] is iw
    select = SelectSource(LogisticRegression())
    assert make_da_pipeline(select)[-1] is select
    assert isinstance(make_da_pipeline(Ridge())[-1], SelectSource)
    with pytest.raises(TypeError, match="at least one estimator"):
        make_da_pipeline()


def test_pipeline_regression_with_nan_masks(rng):
    X, _, domain, _ = _shifted(rng)
    y = np.where(domain > 0, X[:, 0] * 2.0 + 1.0, np.nan)
    pipe = make_da_pipeline(DomainStandardScaler(), CORALAdapter(), Ridge()).fit(X, y)
    assert pipe[-1].estimator_.coef_.shape == (4,)
    assert pipe.predict(X[domain < 0]).shape == ((domain < 0).sum(),)
    with pytest.raises(ValueError, match="no labelled source row"):
        SelectSource(Ridge()).fit(X, np.full(len(X), np.nan))


@pytest.mark.parametrize(
    "adapter",
    [
        CORALAdapter(),
        SubspaceAlignmentAdapter(2),
        TCAAdapter(2),
        DomainStandardScaler(),
    ],
)
def test_routing_on_and_off_agree(rng, adapter):
    X, y, domain, _ = _shifted(rng)
    off = make_da_pipeline(clone(adapter), LogisticRegression()).fit(X, y)
    expected = off.predict_proba(X)
    assert sklearn.get_config()["enable_metadata_routing"] is False
    with sklearn.config_context(enable_metadata_routing=True):
        on = make_da_pipeline(clone(adapter), LogisticRegression())
        on.fit(X, y, sample_domain=domain)
        np.testing.assert_allclose(on.predict_proba(X), expected, atol=1e-6)
        # routed sample_domain maps source rows as source rows at predict time
        as_source = on.predict_proba(X, sample_domain=domain)
        np.testing.assert_allclose(
            as_source[domain > 0],
            call_in_domain(off, "predict_proba", X[domain > 0], 1),
            atol=1e-6,
        )
    assert sklearn.get_config()["enable_metadata_routing"] is False


def test_routing_passes_sample_weight_to_the_source_rows(rng):
    X, y, domain, _ = _shifted(rng)
    weights = np.arange(len(X), dtype=float)
    # routing off: fit parameters go to the estimator, restricted to the rows
    select = SelectSource(_Recorder()).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(select.estimator_.sample_weight_, weights[domain > 0])
    with sklearn.config_context(enable_metadata_routing=True):
        recorder = _Recorder().set_fit_request(sample_weight=True)
        pipe = make_da_pipeline(CORALAdapter(), recorder)
        pipe.fit(X, y, sample_domain=domain, sample_weight=weights)
        np.testing.assert_array_equal(
            pipe[-1].estimator_.sample_weight_, weights[domain > 0]
        )


def test_importance_weights_follow_the_density_ratio(rng):
    # source N(0, 1), target N(1, 1): the true ratio is exp(x - 1/2)
    xs, xt = rng.normal(0, 1, 2000), rng.normal(1, 1, 1500)
    X = np.r_[xs, xt][:, None]
    y = np.r_[(xs > 0).astype(int), -np.ones(1500, dtype=int)]
    iw = ImportanceWeightingAdapter(_Recorder()).fit(X, y)
    true = np.exp(xs - 0.5)
    true /= true.mean()
    assert np.corrcoef(np.log(iw.weights_), np.log(true))[0, 1] > 0.99
    np.testing.assert_allclose(iw.estimator_.sample_weight_, iw.weights_)
    assert iw.weights_.mean() == pytest.approx(1.0)
    clipped = ImportanceWeightingAdapter(_Recorder(), max_weight=2.0).fit(X, y)
    assert clipped.weights_.max() < true.max()


def test_importance_weighting_corrects_covariate_shift(rng):
    # misspecified linear fit of a quadratic: weighting towards the target helps
    xs, xt = rng.normal(0, 1, 400), rng.normal(1.5, 0.5, 300)
    f = lambda x: x**2  # noqa: E731
    X = np.r_[xs, xt][:, None]
    y = np.r_[f(xs) + rng.normal(0, 0.1, 400), np.full(300, np.nan)]
    plain = make_da_pipeline(LinearRegression()).fit(X, y)
    weighted = make_da_pipeline(ImportanceWeightingAdapter(LinearRegression())).fit(
        X, y
    )
    error = lambda m: np.mean((m.predict(xt[:, None]) - f(xt)) ** 2)  # noqa: E731
    assert error(weighted) < 0.5 * error(plain)


# -- model selection ---------------------------------------------------------------
def test_source_target_kfold_keeps_domains_apart(rng):
    X, y, domain, _ = _shifted(rng)
    source, target = np.flatnonzero(domain > 0), np.flatnonzero(domain < 0)
    splits = list(SourceTargetKFold(4, shuffle=True, random_state=0).split(X, y))
    assert len(splits) == 4
    scored_source = np.concatenate([np.intersect1d(test, source) for _, test in splits])
    scored_target = np.concatenate([np.intersect1d(test, target) for _, test in splits])
    np.testing.assert_array_equal(np.sort(scored_source), source)
    np.testing.assert_array_equal(np.sort(scored_target), target)
    for train, test in splits:
        assert np.intersect1d(train, test).size == 0
        for part in (train, test):
            assert np.isin(part, source).any() and np.isin(part, target).any()
        # stratified over the source classes
        assert set(y[np.intersect1d(test, source)]) == {0, 1}
    for train, test in SourceTargetKFold(3, target="shared").split(X, y):
        assert np.isin(target, train).all() and np.isin(target, test).all()
        assert np.intersect1d(np.intersect1d(train, test), source).size == 0


def test_scorers_by_hand(rng):
    X, y, domain, _ = _shifted(rng)
    pipe = make_da_pipeline(CORALAdapter(), LogisticRegression()).fit(X, y)
    proba = pipe.predict_proba(X[domain < 0])
    entropy = -np.sum(proba * np.log(proba), axis=1).mean()
    assert PredictionEntropyScorer()(pipe, X, y) == pytest.approx(-entropy)
    # importance weights from a domain classifier that sees nothing: uniform,
    # so the score is the accuracy on the source rows mapped as source rows
    blind = make_pipeline(Normalizer(norm="max"), LogisticRegression(C=1e-12))
    score = ImportanceWeightedScorer(domain_classifier=blind)(pipe, X, y)
    source_pred = call_in_domain(pipe, "predict", X[domain > 0], 1)
    assert score == pytest.approx(np.mean(source_pred == y[domain > 0]), abs=1e-6)


@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_with_target_free_scorers(rng, routing):
    X, y, domain, _ = _shifted(rng)
    search = GridSearchCV(
        make_da_pipeline(SubspaceAlignmentAdapter(), LogisticRegression()),
        {"subspacealignmentadapter__n_components": [1, 4]},
        scoring={
            # a fixed domain classifier keeps the test fast (the default one
            # cross-validates its C on every scored fold)
            "iw": ImportanceWeightedScorer(domain_classifier=LogisticRegression(C=0.1)),
            "entropy": PredictionEntropyScorer(),
        },
        refit="iw",
        cv=SourceTargetKFold(3),
    )
    with sklearn.config_context(enable_metadata_routing=routing):
        params = {"sample_domain": domain} if routing else {}
        search.fit(X, y, **params)
    iw = search.cv_results_["mean_test_iw"]
    assert (
        np.isfinite(iw).all()
        and np.isfinite(search.cv_results_["mean_test_entropy"]).all()
    )
    # one component cannot carry the two-feature decision rule
    assert search.best_params_ == {"subspacealignmentadapter__n_components": 4}
    assert iw[1] > iw[0]


def test_cross_validate_plain_kfold_warns_about_missing_domains(rng):
    X, y, _, _ = _shifted(rng)
    with pytest.raises(ValueError, match="SourceTargetKFold"):
        ImportanceWeightedScorer()(
            make_da_pipeline(LogisticRegression()).fit(X, y), X[:50], y[:50]
        )
    scores = cross_validate(
        make_da_pipeline(CORALAdapter(), LogisticRegression()),
        X,
        y,
        cv=SourceTargetKFold(3),
        scoring=PredictionEntropyScorer(),
    )
    assert np.all(scores["test_score"] <= 0)


# -- bad input -----------------------------------------------------------------------
@pytest.mark.parametrize("Adapter", ADAPTERS)
def test_adapter_errors(rng, Adapter):
    X, y, domain, _ = _shifted(rng)
    with pytest.raises(ValueError, match="no target row.*missing_target='ignore'"):
        Adapter().fit(X, np.where(y < 0, 0, y))
    with pytest.raises(ValueError, match="no source row"):
        Adapter().fit(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="cannot tell source rows from target rows"):
        Adapter().fit(X)
    fitted = Adapter().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
        fitted.transform(X[:, :3])
    with pytest.raises(
        ValueError, match="are source rows .* but their label is masked"
    ):
        Adapter().fit(X, y, sample_domain=np.ones(len(X), dtype=int))
    with pytest.raises(ValueError, match="are target rows .* but carry a label"):
        Adapter().fit(X, np.where(y < 0, 1, y), sample_domain=domain)
    with pytest.raises(ValueError, match="got 0 at rows"):
        Adapter().fit(X, sample_domain=np.zeros(len(X), dtype=int))
    with pytest.raises(ValueError, match="one entry per row"):
        fitted.transform(X, sample_domain=domain[:10])


def test_meta_estimator_errors(rng):
    X, y, domain, _ = _shifted(rng)
    with pytest.raises(ValueError, match="no target row"):
        ImportanceWeightingAdapter(LogisticRegression()).fit(X, np.where(y < 0, 0, y))
    with pytest.raises(ValueError, match="no labelled source row"):
        SelectSource(LogisticRegression()).fit(X, np.full(len(X), -1))
    with pytest.raises(ValueError, match="requires y to be passed"):
        SelectSource(LogisticRegression()).fit(X, None)
    with pytest.raises(ValueError, match="fit accepts sample_weight"):

        class NoWeights(LogisticRegression):
            def fit(self, X, y):
                return super().fit(X, y)

        ImportanceWeightingAdapter(NoWeights()).fit(X, y)
    with pytest.raises(ValueError, match="n_components=9 is larger"):
        SubspaceAlignmentAdapter(n_components=9).fit(X, y)
    with pytest.raises(ValueError, match="needs at least 3 target rows"):
        list(SourceTargetKFold(3).split(X[:122], y[:122]))


@pytest.mark.parametrize(
    "meta",
    [
        SelectSource(LogisticRegression()),
        ImportanceWeightingAdapter(
            LogisticRegression(), domain_classifier=LogisticRegression()
        ),
    ],
    ids=["SelectSource", "ImportanceWeightingAdapter"],
)
def test_meta_estimator_bad_domains_and_widths(rng, meta):
    X, y, domain, _ = _shifted(rng)
    with pytest.raises(ValueError, match="no labelled source row"):
        clone(meta).fit(X, np.full(len(X), -1))
    with pytest.raises(
        ValueError, match="are source rows .* but their label is masked"
    ):
        clone(meta).fit(X, y, sample_domain=np.ones(len(X), dtype=int))
    with pytest.raises(ValueError, match="are target rows .* but carry a label"):
        clone(meta).fit(X, np.where(y < 0, 1, y), sample_domain=domain)
    # a target with another number of features than the fit rows
    fitted = clone(meta).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but .* is expecting 4"):
        fitted.predict(X[:, :3])


def test_pipeline_scorers_and_splitter_bad_input(rng):
    X, y, domain, _ = _shifted(rng)
    pipe = make_da_pipeline(CORALAdapter(), LogisticRegression()).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but CORALAdapter"):
        pipe.predict(X[:, :3])
    with pytest.raises(ValueError, match="no target row"):
        make_da_pipeline(CORALAdapter(), LogisticRegression()).fit(
            X, np.where(y < 0, 0, y)
        )
    source_masked = np.ones(len(X), dtype=int)
    for scorer in (ImportanceWeightedScorer(), PredictionEntropyScorer()):
        with pytest.raises(ValueError, match="but their label is masked"):
            scorer(pipe, X, y, sample_domain=source_masked)
        with pytest.raises(ValueError, match="without source rows"):
            scorer(pipe, X[120:], y[120:])
    with pytest.raises(ValueError, match="but their label is masked"):
        list(SourceTargetKFold(3).split(X, y, sample_domain=source_masked))
    with pytest.raises(ValueError, match="at least n_splits=3 source rows"):
        list(SourceTargetKFold(3).split(X, np.full(len(X), -1)))


# -- real data: Office-Caltech SURF --------------------------------------------------
def test_coral_helps_on_office_caltech_dslr_to_webcam(shared_data):
    folder = shared_data / "domain-adaptation"
    domains = {}
    for name in ("dslr", "webcam"):
        mat = scipy.io.loadmat(folder / f"{name}_SURF_L10.mat")
        fts = mat["fts"].astype(float)
        domains[name] = (fts / fts.sum(1, keepdims=True), mat["labels"].ravel())
    (Xs, ys), (Xt, yt) = domains["dslr"], domains["webcam"]
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(len(yt), dtype=int)]
    accuracy = {}
    for name, steps in {
        "no adaptation": [DomainStandardScaler()],
        "coral": [DomainStandardScaler(), CORALAdapter(reg=1.0)],
    }.items():
        pipe = make_da_pipeline(*steps, SVC(kernel="linear")).fit(X, y)
        accuracy[name] = np.mean(pipe.predict(Xt) == yt)
    assert accuracy["coral"] > accuracy["no adaptation"] + 0.05

"""OutlierDetector: pyod models under scikit-learn's outlier-detection conventions."""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_outlier_detector
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import average_precision_score, get_scorer, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pyod = pytest.importorskip("pyod")

from pyod.models.ecod import ECOD  # noqa: E402
from pyod.models.hbos import HBOS  # noqa: E402
from pyod.models.iforest import IForest  # noqa: E402
from pyod.models.knn import KNN  # noqa: E402
from pyod.models.lof import LOF  # noqa: E402
from pyod.models.pca import PCA  # noqa: E402

from sktransfer import OutlierDetector  # noqa: E402
from sktransfer.integrations import list_detectors, make_outlier_scorer  # noqa: E402

RAW = {
    "IForest": lambda **kw: IForest(random_state=0, **kw),
    "KNN": KNN,
    "LOF": LOF,
    "ECOD": ECOD,
    "PCA": PCA,
    "HBOS": HBOS,
}


@pytest.fixture
def data():
    """190 inliers around 0, 10 outliers around 5; y: +1 inlier, -1 outlier."""
    rng = np.random.default_rng(0)
    X_train = np.vstack([rng.normal(size=(190, 3)), rng.normal(5, 1, size=(10, 3))])
    X_test = np.vstack([rng.normal(size=(45, 3)), rng.normal(5, 1, size=(5, 3))])
    y_train = np.r_[np.ones(190, dtype=int), -np.ones(10, dtype=int)]
    y_test = np.r_[np.ones(45, dtype=int), -np.ones(5, dtype=int)]
    return X_train, y_train, X_test, y_test


# --- conventions, checked number by number against raw pyod ------------------


@pytest.mark.parametrize("name", sorted(RAW))
@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.3])
def test_conversions_match_raw_pyod(name, contamination, data):
    X_train, _, X_test, _ = data
    raw = RAW[name](contamination=contamination).fit(X_train)
    ours = OutlierDetector(name, contamination=contamination, random_state=0)
    labels = ours.fit_predict(X_train)

    pyod_scores = raw.decision_function(X_test)  # higher = more anomalous
    assert_allclose(ours.score_samples(X_test), -pyod_scores)
    assert ours.offset_ == pytest.approx(-raw.threshold_)
    assert_allclose(ours.decision_function(X_test), raw.threshold_ - pyod_scores)
    # pyod 0 inlier / 1 outlier -> sklearn +1 inlier / -1 outlier
    assert_array_equal(ours.predict(X_test), 1 - 2 * raw.predict(X_test))
    assert_array_equal(labels, 1 - 2 * raw.labels_)
    # negative decision <=> outlier, and outliers score lower
    assert_array_equal(ours.predict(X_test) == -1, ours.decision_function(X_test) < 0)
    scores = ours.score_samples(X_test)
    assert scores[-5:].mean() < scores[:45].mean()


@pytest.mark.parametrize("name", sorted(RAW))
def test_output_types(name, data):
    X_train, _, X_test, _ = data
    detector = OutlierDetector(name, random_state=0).fit(X_train)
    for method in ("score_samples", "decision_function", "predict"):
        out = getattr(detector, method)(X_test)
        assert out.shape == (len(X_test),)
    assert detector.predict(X_test).dtype.kind == "i"
    assert set(np.unique(detector.predict(X_test))) <= {-1, 1}
    assert detector.fit_predict(X_train).dtype.kind == "i"


def test_fit_predict_uses_training_scores(data):
    # KNN leaves a training point out of its own neighbourhood, so its training
    # labels (pyod's labels_) hold exactly `contamination` of the points, while
    # predict(X_train) scores X_train as new data (each point its own neighbour)
    X_train, _, _, _ = data
    detector = OutlierDetector("KNN", contamination=0.1)
    labels = detector.fit_predict(X_train)
    assert np.sum(labels == -1) == 20
    assert_array_equal(labels, 1 - 2 * detector.detector_.labels_)
    # for IForest, training and new-data scores coincide
    forest = OutlierDetector("IForest", contamination=0.1, random_state=0)
    assert_array_equal(forest.fit_predict(X_train), forest.predict(X_train))


def test_sklearn_tags():
    detector = OutlierDetector()
    assert is_outlier_detector(detector)
    assert detector._estimator_type == "outlier_detector"
    assert detector.__sklearn_tags__().estimator_type == "outlier_detector"


# --- how the detector is given ---------------------------------------------


def test_name_class_and_instance_agree(data):
    X_train, _, X_test, _ = data
    results = [
        OutlierDetector(detector, detector_params=params, contamination=0.05)
        .fit(X_train)
        .decision_function(X_test)
        for detector, params in [
            ("KNN", {"n_neighbors": 7}),
            (KNN, {"n_neighbors": 7}),
            (KNN(n_neighbors=7), None),
            (KNN(n_neighbors=3), {"n_neighbors": 7}),
        ]
    ]
    for result in results[1:]:
        assert_allclose(result, results[0])


def test_user_instance_is_cloned_not_modified(data):
    X_train, _, _, _ = data
    mine = KNN(n_neighbors=4, contamination=0.2)
    before = mine.get_params()
    detector = OutlierDetector(
        mine, contamination=0.05, detector_params={"method": "mean"}
    ).fit(X_train)
    assert detector.detector_ is not mine
    assert mine.get_params() == before
    assert not hasattr(mine, "decision_scores_")
    assert detector.detector_.contamination == 0.05
    assert detector.detector_.method == "mean"
    assert detector.detector_.n_neighbors == 4


def test_contamination_none_keeps_the_detectors_own(data):
    X_train, _, _, _ = data
    detector = OutlierDetector(KNN(contamination=0.2)).fit(X_train)
    assert detector.detector_.contamination == 0.2
    assert np.mean(detector.fit_predict(X_train) == -1) == pytest.approx(0.2, abs=0.01)
    assert OutlierDetector("KNN").fit(X_train).detector_.contamination == 0.1


def test_detector_params_are_searchable_on_an_instance(data):
    X_train, _, _, _ = data
    detector = OutlierDetector(KNN())
    assert "detector__n_neighbors" in detector.get_params()
    fitted = clone(detector).set_params(detector__n_neighbors=9).fit(X_train)
    assert fitted.detector_.n_neighbors == 9
    assert detector.detector.n_neighbors == 5


def test_random_state_reaches_detectors_that_take_it(data):
    X_train, _, X_test, _ = data
    ours = OutlierDetector("IForest", random_state=3).fit(X_train)
    raw = IForest(random_state=3).fit(X_train)
    assert ours.detector_.random_state == 3
    assert_allclose(ours.score_samples(X_test), -raw.decision_function(X_test))
    # a seed given to a detector without random_state is simply not passed
    OutlierDetector("KNN", random_state=3).fit(X_train)
    # a RandomState instance becomes a fixed integer seed
    seeded = OutlierDetector("IForest", random_state=np.random.RandomState(1))
    assert isinstance(seeded.fit(X_train).detector_.random_state, int)
    # None keeps the instance's own seed
    kept = OutlierDetector(IForest(random_state=5)).fit(X_train)
    assert kept.detector_.random_state == 5


def test_deep_svdd_gets_n_features(data):
    pytest.importorskip("torch")
    X_train, _, X_test, _ = data
    detector = OutlierDetector(
        "DeepSVDD", random_state=0, detector_params={"epochs": 1, "verbose": 0}
    ).fit(X_train)
    assert detector.detector_.n_features == 3
    assert detector.predict(X_test).shape == (50,)


def test_every_listed_name_is_a_pyod_detector():
    from pyod.models.base import BaseDetector

    from sktransfer.integrations._pyod import _detector_class

    assert {"IForest", "KNN", "LOF", "ECOD"} <= set(list_detectors())
    for name in ["IForest", "KNN", "LOF", "ECOD", "COPOD", "HBOS", "PCA", "OCSVM"]:
        assert issubclass(_detector_class(name), BaseDetector)


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize("contamination", [0, 0.0, -0.1, 0.51, 1, "auto"])
def test_contamination_out_of_range(contamination, data):
    X_train, _, _, _ = data
    with pytest.raises(ValueError, match=r"'contamination'.*\(0\.0, 0\.5\]"):
        OutlierDetector(contamination=contamination).fit(X_train)


def test_contamination_half_is_allowed(data):
    X_train, _, _, _ = data
    OutlierDetector("KNN", contamination=0.5).fit(X_train)


def test_detector_own_contamination_out_of_range(data):
    X_train, _, _, _ = data
    # contamination=None keeps the detector's own value, which must be in (0, 0.5]
    with pytest.raises(ValueError, match=r"float in \(0, 0\.5\]; got 'auto'"):
        OutlierDetector(IsolationForest()).fit(X_train)
    # pyod checks its own range when the instance is cloned
    knn = KNN()
    knn.contamination = 0.7
    with pytest.raises(ValueError, match=r"contamination must be in \(0, 0\.5\]"):
        OutlierDetector(knn).fit(X_train)


def test_unknown_detector_lists_the_available_ones(data):
    X_train, _, _, _ = data
    with pytest.raises(ValueError, match="Unknown pyod detector 'Nope'") as info:
        OutlierDetector("Nope").fit(X_train)
    for name in ("IForest", "KNN", "LOF", "ECOD"):
        assert name in str(info.value)
    with pytest.raises(ValueError, match="Did you mean 'IForest'"):
        OutlierDetector("iforest").fit(X_train)


def test_not_a_detector(data):
    X_train, _, _, _ = data
    with pytest.raises(ValueError, match="'detector' parameter"):
        OutlierDetector(3).fit(X_train)
    with pytest.raises(ValueError, match="'detector' parameter"):
        OutlierDetector(StandardScaler()).fit(X_train)
    # fit and decision_function but no pyod threshold_
    with pytest.raises(TypeError, match="pyod detectors"):
        OutlierDetector(IsolationForest(contamination=0.1)).fit(X_train)


@pytest.mark.parametrize("key", ["contamination", "random_state"])
def test_own_parameters_not_in_detector_params(key, data):
    X_train, _, _, _ = data
    with pytest.raises(ValueError, match=f"OutlierDetector\\({key}=...\\)"):
        OutlierDetector(detector_params={key: 0.1}).fit(X_train)


def test_unfitted_and_wrong_width(data):
    X_train, _, X_test, _ = data
    with pytest.raises(NotFittedError):
        OutlierDetector().predict(X_test)
    detector = OutlierDetector("KNN").fit(X_train)
    with pytest.raises(ValueError, match="features"):
        detector.predict(X_test[:, :2])


def test_dataframe_input_keeps_feature_names(data):
    pd = pytest.importorskip("pandas")
    X_train, _, X_test, _ = data
    frame = pd.DataFrame(X_train, columns=["a", "b", "c"])
    detector = OutlierDetector("KNN").fit(frame)
    assert_array_equal(detector.feature_names_in_, ["a", "b", "c"])
    assert_allclose(
        detector.score_samples(pd.DataFrame(X_test, columns=["a", "b", "c"])),
        OutlierDetector("KNN").fit(X_train).score_samples(X_test),
    )


def test_pickle_round_trip(data):
    X_train, _, X_test, _ = data
    for detector in (
        OutlierDetector("IForest", random_state=0),
        OutlierDetector("ECOD"),
    ):
        detector.fit(X_train)
        restored = pickle.loads(pickle.dumps(detector))
        assert_array_equal(restored.predict(X_test), detector.predict(X_test))
        assert_allclose(restored.score_samples(X_test), detector.score_samples(X_test))
        assert restored.offset_ == detector.offset_


# --- composition and model selection -----------------------------------------


def test_in_a_pipeline(data):
    X_train, _, X_test, _ = data
    pipe = make_pipeline(StandardScaler(), OutlierDetector("KNN", contamination=0.05))
    labels = pipe.fit_predict(X_train)
    assert np.sum(labels == -1) == 10
    scaled = StandardScaler().fit(X_train)
    raw = KNN(contamination=0.05).fit(scaled.transform(X_train))
    assert_array_equal(
        pipe.predict(X_test), 1 - 2 * raw.predict(scaled.transform(X_test))
    )
    assert_allclose(
        pipe.score_samples(X_test), -raw.decision_function(scaled.transform(X_test))
    )
    assert_allclose(
        pipe.decision_function(X_test),
        raw.threshold_ - raw.decision_function(scaled.transform(X_test)),
    )


def test_label_conventions_for_scorers():
    """Which ``y`` each scorer expects, checked against hand computations."""
    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(200, 2))
    # overlapping outliers, so that the AUC is neither 0.5 nor 1
    X_test = np.vstack([rng.normal(size=(80, 2)), rng.normal(1.5, 1, size=(20, 2))])
    y_test = np.r_[np.ones(80, dtype=int), -np.ones(20, dtype=int)]
    y01 = (y_test == -1).astype(int)  # pyod / ODDS convention: 1 = outlier
    detector = OutlierDetector("IForest", random_state=0).fit(X_train)
    anomaly = -detector.decision_function(X_test)
    auc = roc_auc_score(y01, anomaly)
    ap = average_precision_score(y01, anomaly)
    assert 0.6 < auc < 0.95

    # sklearn's "roc_auc" is right with y = +1 inlier / -1 outlier ...
    assert get_scorer("roc_auc")(detector, X_test, y_test) == pytest.approx(auc)
    # ... and flipped with y = 1 outlier / 0 inlier
    assert get_scorer("roc_auc")(detector, X_test, y01) == pytest.approx(1 - auc)
    # make_outlier_scorer is right with either, given the outlier label
    assert make_outlier_scorer()(detector, X_test, y_test) == pytest.approx(auc)
    roc_01 = make_outlier_scorer("roc_auc", outlier_label=1)
    assert roc_01(detector, X_test, y01) == pytest.approx(auc)
    # average precision of the outliers (sklearn's scorer measures the inliers')
    ap_scorer = make_outlier_scorer("average_precision")
    assert ap_scorer(detector, X_test, y_test) == pytest.approx(ap)
    ap_01 = make_outlier_scorer("average_precision", outlier_label=1)
    assert ap_01(detector, X_test, y01) == pytest.approx(ap)
    inlier_ap = average_precision_score(y_test == 1, -anomaly)
    assert get_scorer("average_precision")(detector, X_test, y_test) == pytest.approx(
        inlier_ap
    )
    with pytest.raises(ValueError, match="metric must be one of"):
        make_outlier_scorer("accuracy")


def test_outlier_scorer_matches_raw_pyod_despite_rounding():
    # test scores of order 1e-18 against a threshold of order 1: subtracting
    # the threshold (decision_function) rounds them all to the same value,
    # score_samples (pyod's score negated, exactly) keeps them apart, so
    # make_outlier_scorer reproduces pyod's AUC where "roc_auc" cannot
    rng = np.random.default_rng(0)
    X_train = np.vstack(
        [rng.normal(0, 1e-19, size=(170, 2)), rng.normal(0, 1, size=(30, 2))]
    )
    X = np.vstack(
        [rng.normal(0, 1e-19, size=(40, 2)), rng.normal(1e-18, 1e-19, size=(10, 2))]
    )
    y = np.r_[np.zeros(40, dtype=int), np.ones(10, dtype=int)]
    raw = KNN().fit(X_train)
    ours = OutlierDetector("KNN").fit(X_train)
    expected = roc_auc_score(y, raw.decision_function(X))
    assert expected == 1.0
    assert make_outlier_scorer("roc_auc", outlier_label=1)(ours, X, y) == expected
    assert roc_auc_score(y, -ours.decision_function(X)) == 0.5  # all tied


def _separable_with_noise():
    # inliers on a ring-free blob, outliers close by: neighbourhood size matters
    rng = np.random.default_rng(1)
    inliers = rng.normal(size=(285, 2))
    outliers = rng.normal(0, 0.4, size=(15, 2)) + rng.choice([-3, 3], size=(15, 2))
    X = np.vstack([inliers, outliers])
    y = np.r_[np.ones(285, dtype=int), -np.ones(15, dtype=int)]
    order = rng.permutation(len(X))
    return X[order], y[order]


@pytest.mark.parametrize(
    "scoring, outlier_label",
    [
        ("roc_auc", -1),
        (make_outlier_scorer("roc_auc"), -1),
        (make_outlier_scorer("roc_auc", outlier_label=1), 1),
        (make_outlier_scorer("average_precision"), -1),
        (make_outlier_scorer("average_precision", outlier_label=1), 1),
    ],
)
def test_grid_search_with_a_few_labelled_anomalies(scoring, outlier_label):
    X, y = _separable_with_noise()
    if outlier_label == 1:
        y = (y == -1).astype(int)
    grid = {
        "outlierdetector__detector": ["KNN", "LOF"],
        "outlierdetector__detector_params": [{"n_neighbors": 2}, {"n_neighbors": 20}],
    }
    pipe = make_pipeline(StandardScaler(), OutlierDetector(contamination=0.05))
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(pipe, grid, scoring=scoring, cv=cv).fit(X, y)

    # the search's scores are the per-fold metrics of the outliers, by hand
    outlier = -1 if outlier_label == -1 else 1
    metric = (
        average_precision_score
        if "average_precision" in repr(scoring)
        else roc_auc_score
    )
    for i, params in enumerate(search.cv_results_["params"]):
        expected = []
        for train, test in cv.split(X, y):
            model = clone(pipe).set_params(**params).fit(X[train])
            if isinstance(scoring, str):  # sklearn's scorer: decision_function
                anomaly = -model.decision_function(X[test])
            else:  # make_outlier_scorer: score_samples
                anomaly = -model.score_samples(X[test])
            expected.append(metric(y[test] == outlier, anomaly))
        assert search.cv_results_["mean_test_score"][i] == pytest.approx(
            np.mean(expected)
        )
    assert search.best_score_ == pytest.approx(
        max(search.cv_results_["mean_test_score"])
    )
    assert search.best_score_ > 0.9
    assert search.best_params_["outlierdetector__detector_params"] == {
        "n_neighbors": 20
    }
    assert_array_equal(np.unique(search.predict(X)), [-1, 1])


def test_cross_val_score_runs_unsupervised_fit():
    X, y = _separable_with_noise()
    scores = cross_val_score(
        OutlierDetector("KNN"), X, y, scoring="roc_auc", cv=StratifiedKFold(3)
    )
    assert np.all(scores > 0.9)


# --- after the embedders ------------------------------------------------------


def test_after_image_embedder_in_a_pipeline_and_grid_search():
    embed = pytest.importorskip("sktransfer.embed")
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    inliers = rng.integers(0, 60, size=(54, 16, 16), dtype=np.uint8)
    outliers = rng.integers(190, 256, size=(6, 16, 16), dtype=np.uint8)
    images = np.concatenate([inliers, outliers])
    y = np.r_[np.ones(54, dtype=int), -np.ones(6, dtype=int)]

    pipe = make_pipeline(
        embed.ImageEmbedder(backbone="toy-image"),
        OutlierDetector("KNN", contamination=0.1),
    )
    labels = pipe.fit_predict(images)
    assert labels.shape == (60,)
    features = embed.ImageEmbedder(backbone="toy-image").fit_transform(images)
    raw = KNN(contamination=0.1).fit(features)
    assert_array_equal(labels, 1 - 2 * raw.labels_)
    assert_allclose(pipe.score_samples(images), -raw.decision_function(features))

    grid = {
        "imageembedder__normalize": [False, True],
        "outlierdetector__detector": ["KNN", "IForest"],
        "outlierdetector__random_state": [0],
    }
    search = GridSearchCV(
        pipe,
        grid,
        scoring="roc_auc",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    ).fit(images, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_score_ > 0.9


def test_after_text_embedder_in_a_pipeline():
    embed = pytest.importorskip("sktransfer.embed")
    pytest.importorskip("torch")
    texts = [f"a short note about cats number {i}" for i in range(30)] + [
        "QUARTERLY REVENUE FORECAST SPREADSHEET ATTACHED",
        "zzzz qqqq xxxx",
    ]
    pipe = make_pipeline(
        embed.TextEmbedder(backbone="toy-text"), OutlierDetector("KNN")
    )
    pipe.fit(texts)
    assert pipe.predict(texts).shape == (32,)
    assert pipe.decision_function(texts).dtype == np.float64


# --- real data -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["IForest", "KNN", "ECOD"])
def test_odds_auc_equals_raw_pyod(name, shared_data):
    from scipy.io import loadmat
    from sklearn.model_selection import train_test_split

    mat = loadmat(shared_data / "odds" / "wbc.mat")
    X, y = mat["X"].astype(np.float64), mat["y"].ravel().astype(int)  # 1 = outlier
    X_train, X_test, _, y_test = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=0
    )
    ours = OutlierDetector(name, random_state=0).fit(X_train)
    raw = RAW[name]().fit(X_train)
    auc_ours = make_outlier_scorer("roc_auc", outlier_label=1)(ours, X_test, y_test)
    auc_raw = roc_auc_score(y_test, raw.decision_function(X_test))
    assert auc_ours == pytest.approx(auc_raw, abs=1e-12)
    assert auc_ours > 0.8

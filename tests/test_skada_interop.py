"""sktransfer and skada in each other's pipelines, scorers and splitters.

Importing skada switches metadata routing on globally, so every test runs
inside ``sklearn.config_context``, which restores the configuration after.
"""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.preprocessing import StandardScaler

from sktransfer.adapt import (
    CORALAdapter,
    ImportanceWeightedScorer,
    PredictionEntropyScorer,
    SourceTargetKFold,
    make_da_pipeline,
)
from sktransfer.adapt._scorers import call_in_domain

with sklearn.config_context():
    skada = pytest.importorskip("skada")
    from skada.metrics import PredictionEntropyScorer as SkadaEntropyScorer
    from skada.model_selection import SourceTargetShuffleSplit


@pytest.fixture(autouse=True)
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _shifted(seed=0, n_source=80, n_target=60):
    rng = np.random.default_rng(seed)
    X_source = rng.normal(size=(n_source, 2))
    X_target = rng.normal(size=(n_target, 2)) * [3.0, 0.5] + [2.0, -1.0]
    X = np.vstack([X_source, X_target])
    y = np.r_[(X_source[:, 0] > 0).astype(int), -np.ones(n_target, dtype=int)]
    domain = np.r_[np.ones(n_source, dtype=int), -np.ones(n_target, dtype=int)]
    return X, y, domain


def test_source_rows_are_scored_as_source_inside_a_skada_pipeline():
    X, y, domain = _shifted()
    pipe = skada.make_da_pipeline(
        StandardScaler(), skada.CORALAdapter(), LogisticRegression()
    ).fit(X, y, sample_domain=domain)
    source = X[:80]
    ones = np.ones(80, dtype=int)
    as_source = pipe.decision_function(source, sample_domain=ones, allow_source=True)
    as_target = pipe.decision_function(source)  # skada: new rows are target rows
    assert not np.allclose(as_source, as_target)
    # skada's selectors take **params: sample_domain reaches them by routing
    np.testing.assert_allclose(
        call_in_domain(pipe, "decision_function", source, 1), as_source
    )


def test_our_scorers_agree_with_skadas_weighting_on_a_skada_pipeline():
    X, y, domain = _shifted()
    pipe = skada.make_da_pipeline(skada.CORALAdapter(), LogisticRegression()).fit(
        X, y, sample_domain=domain
    )
    ours = ImportanceWeightedScorer()(pipe, X, y, sample_domain=domain)
    # the same model scored on its source rows mapped as source rows, unweighted
    # with an uninformative domain classifier: plain source accuracy
    plain = ImportanceWeightedScorer(domain_classifier=_Constant())(
        pipe, X, y, sample_domain=domain
    )
    pred = pipe.predict(X[:80], sample_domain=domain[:80], allow_source=True)
    assert plain == pytest.approx(np.mean(pred == y[:80]))
    assert 0.5 <= ours <= 1.0
    entropy = PredictionEntropyScorer()(pipe, X, y, sample_domain=domain)
    assert entropy <= 0


class _Constant(LogisticRegression):
    """A domain classifier that says 'no idea' (weights all equal)."""

    def fit(self, X, y, **params):
        super().fit(np.zeros((len(y), 1)), y)
        self.coef_[:] = 0.0
        self.intercept_[:] = 0.0
        return self

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)


def test_our_adapter_splitter_and_scorer_in_skadas_pipeline_and_cv():
    X, y, domain = _shifted()
    pipe = skada.make_da_pipeline(CORALAdapter(), LogisticRegression())
    result = cross_validate(
        pipe,
        X,
        y,
        cv=SourceTargetKFold(n_splits=3, shuffle=True, random_state=0),
        scoring={
            "weighted": ImportanceWeightedScorer(),
            "source": ImportanceWeightedScorer(domain_classifier=_Constant()),
        },
        params={"sample_domain": domain},
        error_score="raise",
    )
    assert np.isfinite(result["test_weighted"]).all()
    # source rows mapped as source rows: the labels are a threshold on x0
    assert (result["test_source"] > 0.85).all()  # as target rows: 0.52 to 0.63


def test_skadas_adapter_scorer_and_splitter_in_our_pipeline():
    X, y, domain = _shifted()
    pipe = make_da_pipeline(skada.CORALAdapter(), LogisticRegression())
    pipe.fit(X, y, sample_domain=domain)
    assert pipe.predict(X[80:]).shape == (60,)
    result = cross_validate(
        pipe,
        X,
        y,
        cv=SourceTargetShuffleSplit(n_splits=2, random_state=0),
        scoring=SkadaEntropyScorer(),
        params={"sample_domain": domain},
        error_score="raise",
    )
    assert np.isfinite(result["test_score"]).all()
    assert (result["test_score"] <= 0).all()

"""Density ratio ``p_target(x) / p_source(x)`` from a source-vs-target classifier.

Shared by :class:`~sktransfer.adapt.ImportanceWeightingAdapter` (weights for
training) and :class:`~sktransfer.adapt.ImportanceWeightedScorer` (weights
for model selection).
"""

import warnings

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

_EPS = 1e-6


def default_domain_classifier(cv=5):
    """Logistic regression whose C is chosen by cross-validated log-loss.

    An unregularised classifier that separates the fit rows perfectly gives
    probabilities of 0 or 1 and meaningless weights; the log-loss picks the
    regularisation under which the probabilities are calibrated.
    """
    return GridSearchCV(
        LogisticRegression(max_iter=1000),
        {"C": np.logspace(-4, 2, 7)},
        scoring="neg_log_loss",
        cv=cv,
    )


def fit_domain_classifier(classifier, X, is_target, *, cv):
    """Fit a clone of ``classifier`` to tell source (0) from target (1) rows.

    Parameters
    ----------
    classifier : classifier or None
        Probabilistic classifier; None uses
        ``default_domain_classifier(cv=cv)``.
    X : array-like of shape (n_samples, ...)
        Source and target rows.
    is_target : array-like of bool or int, shape (n_samples,)
        True (1) for the target rows.
    cv : int
        Folds of the default classifier's search for C.

    Returns
    -------
    classifier : classifier
        The fitted clone.
    """
    if classifier is None:
        classifier = default_domain_classifier(cv=cv)
    return clone(classifier).fit(X, np.asarray(is_target).astype(int))


def density_ratio_weights(
    domain_classifier, X_source, n_source, n_target, *, max_weight=None
):
    """Estimate ``p_target(x) / p_source(x)`` on source rows with a domain classifier.

    By Bayes' rule the density ratio equals the classifier's odds of "target"
    times ``n_source / n_target``. Weights are normalised to mean 1.

    Parameters
    ----------
    domain_classifier : fitted classifier
        Trained to tell source rows (class 0) from target rows (class 1);
        must have ``predict_proba``.
    X_source : array-like of shape (n_rows, n_features)
        The source rows to weight.
    n_source, n_target : int
        Numbers of source and target rows the classifier was trained on.
    max_weight : float > 0 or None, default=None
        Clip the normalised weights at this value, then normalise again.

    Returns
    -------
    weights : ndarray of shape (n_rows,)
        Importance weights, mean 1.
    """
    proba = domain_classifier.predict_proba(X_source)
    column = list(domain_classifier.classes_).index(1)
    p = np.clip(proba[:, column], _EPS, 1 - _EPS)
    if np.all(p == _EPS) or np.all(p == 1 - _EPS):
        warnings.warn(
            "The domain classifier is certain of every source row's domain (its "
            "probabilities hit the clip at 1e-6), so the importance weights are "
            "uniform and carry no information. Regularise it more.",
            UserWarning,
            stacklevel=3,
        )
    weights = p / (1 - p) * (n_source / n_target)
    weights = weights / weights.mean()
    if max_weight is not None:
        weights = np.minimum(weights, max_weight)
        weights = weights / weights.mean()
    return weights

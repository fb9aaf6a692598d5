"""Scorers for outlier detectors evaluated on a few labelled anomalies."""

import numpy as np
from sklearn.metrics import average_precision_score, make_scorer, roc_auc_score

__all__ = ["make_outlier_scorer"]

_METRICS = {"roc_auc": roc_auc_score, "average_precision": average_precision_score}


def _outlier_metric(y_true, y_normality, *, metric, outlier_label):
    is_outlier = np.asarray(y_true) == outlier_label
    # outliers are the positive class; scikit-learn's score_samples and
    # decision_function are higher for normal samples, so the anomaly score
    # is their opposite
    return _METRICS[metric](is_outlier, -np.asarray(y_normality))


def make_outlier_scorer(metric="roc_auc", *, outlier_label=-1):
    """Scorer that ranks outliers above inliers, for model selection.

    scikit-learn's outlier detectors (and :class:`~sktransfer.OutlierDetector`)
    give higher ``decision_function`` values to *normal* samples. The
    built-in ``"roc_auc"`` scorer is only right when ``y`` is +1 for inliers
    and -1 for outliers, and the built-in ``"average_precision"`` scorer then
    measures how well *inliers* are found. This scorer makes the outliers the
    positive class, whatever their label, and scores them by
    ``-score_samples``: the usual ROC-AUC and average precision of anomaly
    detection.

    Parameters
    ----------
    metric : {"roc_auc", "average_precision"}, default="roc_auc"
        The ranking metric.

    outlier_label : int, default=-1
        The value of ``y`` that marks an outlier: -1 in scikit-learn's
        convention (+1 inlier), 1 in pyod's and ODDS's (0 inlier). Every other
        value counts as an inlier.

    Returns
    -------
    scorer : callable
        A scorer ``scorer(estimator, X, y)`` for ``scoring=`` in
        :class:`~sklearn.model_selection.GridSearchCV`,
        :func:`~sklearn.model_selection.cross_val_score` and friends. It calls
        the estimator's ``score_samples``, or ``decision_function`` when there
        is none: both rank samples alike, but ``decision_function`` subtracts
        ``offset_``, whose rounding can tie (or untie) nearly equal scores.
        Each test fold must hold at least one outlier and one inlier (use
        :class:`~sklearn.model_selection.StratifiedKFold`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.model_selection import GridSearchCV, StratifiedKFold
    >>> from sktransfer import OutlierDetector
    >>> from sktransfer.integrations import make_outlier_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(190, 2)), rng.normal(5, 1, size=(10, 2))])
    >>> y = np.r_[np.zeros(190), np.ones(10)]  # pyod convention: 1 = outlier
    >>> search = GridSearchCV(
    ...     OutlierDetector("KNN"),
    ...     {"detector_params": [{"n_neighbors": 3}, {"n_neighbors": 10}]},
    ...     scoring=make_outlier_scorer("roc_auc", outlier_label=1),
    ...     cv=StratifiedKFold(5),
    ... ).fit(X, y)
    >>> bool(search.best_score_ > 0.9)
    True
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}; got {metric!r}.")
    return make_scorer(
        _outlier_metric,
        response_method=("score_samples", "decision_function"),
        metric=metric,
        outlier_label=outlier_label,
    )

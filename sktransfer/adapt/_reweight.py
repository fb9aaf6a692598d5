"""Importance weighting: source rows weighted by a domain classifier's odds."""

import inspect
from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import has_fit_parameter

from sktransfer._fitting import restore_on_failure
from sktransfer.adapt._density_ratio import (
    density_ratio_weights,
    fit_domain_classifier,
)
from sktransfer.adapt._select import _indexable, _SourceEstimator


def _accepts_sample_weight(estimator):
    """Whether ``estimator.fit`` takes ``sample_weight`` (or ``**params``)."""
    if has_fit_parameter(estimator, "sample_weight"):
        return True
    parameters = inspect.signature(estimator.fit).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


class ImportanceWeightingAdapter(_SourceEstimator):
    """Train on the source rows, weighted by how target-like they look.

    A domain classifier learns to tell the source rows from the target rows
    (all rows of ``X``); its odds give the density ratio
    ``w(x) = p_target(x) / p_source(x)`` (Shimodaira, 2000; Bickel et al.,
    2007). ``estimator`` is then fitted on the labelled source rows with
    ``sample_weight = w``, which corrects for covariate shift. Use it as the
    last step of a pipeline, after the embedder (and any other adapter).

    Parameters
    ----------
    estimator : estimator object
        Classifier or regressor whose ``fit`` accepts ``sample_weight``. A
        ``GridSearchCV`` passes it on (with metadata routing enabled, only if
        its estimator requests it: ``SVC().set_fit_request(sample_weight=True)``);
        a ``Pipeline`` only with routing enabled and ``sample_weight``
        requested by its last step.
    domain_classifier : classifier or None, default=None
        Probabilistic classifier for source (0) vs target (1). None uses a
        logistic regression whose C (1e-4 .. 1e2) is chosen by 5-fold
        cross-validated log-loss, so that its probabilities stay calibrated
        (an overfitted classifier gives useless weights).
    max_weight : float > 0 or None, default=None
        Clip the weights (after normalisation to mean 1) at this value, then
        normalise again; limits the variance an overconfident domain
        classifier brings.
    missing_target : {"raise", "ignore"}, default="raise"
        What ``fit`` does when no row is a target row. ``"ignore"`` gives
        every source row weight 1 (no adaptation).

    Attributes
    ----------
    estimator_ : estimator object
        ``estimator`` fitted on the labelled source rows with the weights.
    domain_classifier_ : classifier or None
        The fitted domain classifier (None without target rows).
    weights_ : ndarray of shape (n_labelled_source_rows,)
        The weights given to the labelled source rows, in row order.
    effective_sample_size_ : float
        ``sum(w)**2 / sum(w**2)``: how many equally weighted rows the weighted
        source is worth (the number of labelled source rows when uniform).
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    SelectSource : The same without weights.
    ImportanceWeightedScorer : The same density ratio used for model selection.

    References
    ----------
    H. Shimodaira, "Improving predictive inference under covariate shift by
    weighting the log-likelihood function", J. Statistical Planning and
    Inference 90(2), 2000. S. Bickel, M. Brueckner and T. Scheffer,
    "Discriminative learning for differing training and test distributions",
    ICML 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.adapt import ImportanceWeightingAdapter
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (100, 1)), rng.normal(1.5, 0.5, (50, 1))]
    >>> y = np.r_[(X[:100, 0] > 0.5).astype(int), -np.ones(50, dtype=int)]
    >>> clf = ImportanceWeightingAdapter(LogisticRegression()).fit(X, y)
    >>> bool(clf.weights_[X[:100, 0] > 1].mean() > clf.weights_[X[:100, 0] < 0].mean())
    True
    """

    _parameter_constraints = {
        **_SourceEstimator._parameter_constraints,
        "domain_classifier": [HasMethods(["fit", "predict_proba"]), None],
        "max_weight": [Interval(Real, 0, None, closed="neither"), None],
        "missing_target": [StrOptions({"raise", "ignore"})],
    }

    def __init__(
        self,
        estimator,
        *,
        domain_classifier=None,
        max_weight=None,
        missing_target="raise",
    ):
        self.estimator = estimator
        self.domain_classifier = domain_classifier
        self.max_weight = max_weight
        self.missing_target = missing_target

    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sample_domain=None, **fit_params):
        """Fit the domain classifier, then the weighted estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows.
        y : array-like of shape (n_samples,)
            Labels, masked (-1 / NaN) on the target rows.
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows; inferred from
            the masked labels when absent.
        **fit_params : dict
            Passed on to the estimator's ``fit`` (restricted to the labelled
            source rows); a given ``sample_weight`` is multiplied by the
            importance weights.

        Returns
        -------
        self : object
            The fitted meta-estimator.
        """
        if not _accepts_sample_weight(self.estimator):
            raise ValueError(
                f"ImportanceWeightingAdapter needs an estimator whose fit accepts "
                f"sample_weight; {type(self.estimator).__name__}.fit does not."
            )
        X = _indexable(X)
        domains, rows = self._source_rows(X, y, sample_domain)
        is_target = domains < 0
        if not is_target.any():
            if self.missing_target == "raise":
                raise ValueError(
                    "ImportanceWeightingAdapter.fit found no target row: mark the "
                    "unlabelled target rows with y = -1 (classes) or NaN "
                    "(regression), or give them a negative sample_domain. To fit "
                    "without a target (uniform weights), set "
                    "missing_target='ignore'."
                )
            self.domain_classifier_ = None
            weights = np.ones(rows.size)
        else:
            self.domain_classifier_ = fit_domain_classifier(
                self.domain_classifier, X, is_target, cv=5
            )
            weights = density_ratio_weights(
                self.domain_classifier_,
                _safe_indexing(X, rows),
                int((~is_target).sum()),
                int(is_target.sum()),
                max_weight=self.max_weight,
            )
        self.weights_ = weights
        self.effective_sample_size_ = float(weights.sum() ** 2 / (weights**2).sum())
        return self._fit_source(X, y, rows, fit_params, sample_weight=weights)

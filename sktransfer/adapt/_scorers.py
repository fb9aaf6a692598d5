"""Model-selection scores that need no target label.

Both scorers are callables ``scorer(estimator, X, y, sample_domain=None)``
for ``GridSearchCV(scoring=...)`` / ``cross_validate``. ``X`` and ``y`` are a
scored fold holding labelled source rows and unlabelled target rows (as
:class:`~sktransfer.adapt.SourceTargetKFold` makes them). With metadata
routing enabled they request ``sample_domain``; otherwise domains are read
from the masked labels.

To score source rows, the adapters of a pipeline must map them *as source
rows*; the scorers walk the pipeline and pass ``sample_domain`` to every step
whose ``transform`` names it, and, with routing on, to every step whose
routing consumes it (skada's selectors, which take ``**params``).
"""

import inspect
from numbers import Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.metadata_routing import (
    MetadataRequest,
    _routing_enabled,
    get_routing_for_object,
)
from sklearn.utils.validation import _num_samples, check_array

from sktransfer.adapt._density_ratio import (
    density_ratio_weights,
    fit_domain_classifier,
)
from sktransfer.io._domain import infer_sample_domain


def _names(method, param):
    try:
        return param in inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False


def _domain_params(obj, method, sample_domain):
    """The domain keywords ``obj.<method>`` takes: ``sample_domain`` and skada's
    ``allow_source`` (without which skada's adapters refuse source rows).

    A keyword is passed when the method's signature names it, or, with
    metadata routing on, when the object's routing consumes it (skada's
    selectors take ``**params`` and say what they consume through routing).
    """
    wanted = {"sample_domain": sample_domain, "allow_source": True}
    consumed = set()
    if _routing_enabled():
        try:
            routing = get_routing_for_object(obj)
            consumed = set(routing.consumes(method, list(wanted)))
        except (AttributeError, TypeError, ValueError):
            consumed = set()
    fn = getattr(obj, method)
    params = {k: v for k, v in wanted.items() if k in consumed or _names(fn, k)}
    if "sample_domain" not in params:
        return {}  # allow_source alone means nothing
    return params


def _transform_in_domain(step, X, sample_domain):
    if isinstance(step, Pipeline):
        for _, inner in step.steps:
            if inner is not None and inner != "passthrough":
                X = _transform_in_domain(inner, X, sample_domain)
        return X
    return step.transform(X, **_domain_params(step, "transform", sample_domain))


def call_in_domain(estimator, method, X, sample_domain):
    """Call ``estimator.<method>(X)`` with every row in the given domain.

    A :class:`~sklearn.pipeline.Pipeline` is walked step by step, passing
    ``sample_domain`` to each ``transform`` that accepts it (the adapters),
    so source rows can be scored as source rows without metadata routing.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        The model.
    method : str
        ``"predict"``, ``"predict_proba"``, ``"decision_function"``, ...
    X : array-like of shape (n_samples, ...)
        Rows, all of one domain.
    sample_domain : int
        Domain of the rows: positive = source, negative = target.

    Returns
    -------
    output : ndarray
        What ``method`` returns.
    """
    domains = np.full(_num_samples(X), sample_domain, dtype=np.int64)
    if isinstance(estimator, Pipeline):
        for _, step in estimator.steps[:-1]:
            if step is not None and step != "passthrough":
                X = _transform_in_domain(step, X, domains)
        estimator = estimator.steps[-1][1]
    params = _domain_params(estimator, method, domains)
    return getattr(estimator, method)(X, **params)


def _is_classifier(estimator):
    """``is_classifier``, looking inside pipelines and skada's selectors.

    A skada pipeline ends in a selector that does not carry its estimator's
    type: its ``base_estimator`` does.
    """
    if is_classifier(estimator):
        return True
    if isinstance(estimator, Pipeline):
        return _is_classifier(estimator.steps[-1][1])
    inner = getattr(estimator, "base_estimator", None)
    return inner is not None and _is_classifier(inner)


class _InDomain:
    """A view of a fitted model whose prediction methods see one domain."""

    def __init__(self, estimator, sample_domain):
        self._estimator = estimator
        self._sample_domain = sample_domain

    def __getattr__(self, name):
        if name in (
            "predict",
            "predict_proba",
            "predict_log_proba",
            "decision_function",
        ):
            getattr(self._estimator, name)  # AttributeError when absent

            def method(X):
                return call_in_domain(self._estimator, name, X, self._sample_domain)

            method.__name__ = name  # scikit-learn's scorers read it
            return method
        return getattr(self._estimator, name)


def _split_fold(X, y, sample_domain, owner):
    if y is None:
        raise ValueError(f"{owner} needs y, with the target labels masked.")
    domains = infer_sample_domain(y, sample_domain, _num_samples(X))
    source = np.flatnonzero(domains > 0)
    target = np.flatnonzero(domains < 0)
    if source.size == 0 or target.size == 0:
        missing = "source" if source.size == 0 else "target"
        raise ValueError(
            f"{owner} got a scored fold without {missing} rows; it needs labelled "
            "source rows and unlabelled target rows. Use "
            "sktransfer.adapt.SourceTargetKFold as cv."
        )
    return source, target


def _check_numeric_features(X):
    """The default domain classifier needs 2-D numeric X: say so up front."""
    try:
        check_array(X, accept_sparse=True, ensure_all_finite=False)
    except (TypeError, ValueError) as exc:
        shape = getattr(X, "shape", None)
        what = f"an array of shape {shape}" if shape else type(X).__name__
        raise ValueError(
            "ImportanceWeightedScorer's default domain classifier (a logistic "
            f"regression) needs 2-D numeric features, but X is {what} ({exc}). "
            "For raw images or texts, pass an embedder pipeline as "
            "domain_classifier, e.g. domain_classifier=make_pipeline("
            "ImageEmbedder(), LogisticRegression())."
        ) from None


class _DomainScorer:
    """Common part: routing request for sample_domain, repr."""

    def get_metadata_routing(self):
        """Request ``sample_domain`` for ``score`` (used when routing is on).

        Returns
        -------
        request : MetadataRequest
            The request.
        """
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param="sample_domain", alias=True)
        return request

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class ImportanceWeightedScorer(_DomainScorer):
    """Score on the labelled source rows, weighted to look like the target.

    Importance-weighted validation (Sugiyama et al., 2007): a domain
    classifier, fitted on the scored fold's source and target rows, gives
    each source row the density ratio ``p_target(x) / p_source(x)``; the
    model's score on the source rows (mapped as source rows) is then averaged
    with these weights. It estimates the target score without a target label.

    Parameters
    ----------
    scoring : str or None, default=None
        Name of a scikit-learn scorer that accepts ``sample_weight``
        (``"accuracy"``, ``"balanced_accuracy"``, ``"neg_log_loss"``,
        ``"r2"``, ...). None uses ``"accuracy"`` for classifiers and ``"r2"``
        otherwise.
    domain_classifier : classifier or None, default=None
        Source-vs-target classifier with ``predict_proba``, fitted on the
        fold's raw ``X``. None uses a logistic regression with C chosen by
        3-fold cross-validated log-loss (as :class:`ImportanceWeightingAdapter`
        does with 5 folds); give a pipeline (e.g. with an embedder) when ``X``
        is raw text or images.
    max_weight : float or None, default=None
        Clip the normalised weights at this value.

    See Also
    --------
    PredictionEntropyScorer : Scores the target rows directly.
    SourceTargetKFold : Splits that give every scored fold both domains.

    References
    ----------
    M. Sugiyama, M. Krauledat and K.-R. Mueller, "Covariate Shift Adaptation
    by Importance Weighted Cross Validation", JMLR 8, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.adapt import (
    ...     CORALAdapter, ImportanceWeightedScorer, make_da_pipeline)
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + 0.5])
    >>> y = np.r_[(X[:60, 0] > 0).astype(int), -np.ones(40, dtype=int)]
    >>> pipe = make_da_pipeline(CORALAdapter(), LogisticRegression()).fit(X, y)
    >>> 0.0 <= ImportanceWeightedScorer()(pipe, X, y) <= 1.0
    True
    """

    def __init__(self, scoring=None, *, domain_classifier=None, max_weight=None):
        self.scoring = scoring
        self.domain_classifier = domain_classifier
        self.max_weight = max_weight

    def __call__(self, estimator, X, y, sample_domain=None, **params):
        """Importance-weighted score of a fitted model on a fold.

        Parameters
        ----------
        estimator : fitted estimator
            The model (usually a domain adaptation pipeline).
        X : array-like of shape (n_samples, n_features)
            Source and target rows of the scored fold.
        y : array-like of shape (n_samples,)
            Labels, masked on the target rows.
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.
        **params : dict
            Other metadata a caller routes to scorers (skada's scorers take
            ``**params`` too); not used.

        Returns
        -------
        score : float
            Weighted score; greater is better.
        """
        if self.max_weight is not None and not (
            isinstance(self.max_weight, Real) and self.max_weight > 0
        ):
            raise ValueError(
                f"max_weight must be a positive number, got {self.max_weight!r}."
            )
        source, target = _split_fold(X, y, sample_domain, type(self).__name__)
        if self.domain_classifier is None:
            _check_numeric_features(X)
        is_target = np.zeros(_num_samples(X), dtype=int)
        is_target[target] = 1
        classifier = fit_domain_classifier(self.domain_classifier, X, is_target, cv=3)
        X_source = _safe_indexing(X, source)
        weights = density_ratio_weights(
            classifier,
            X_source,
            source.size,
            target.size,
            max_weight=self.max_weight,
        )
        scoring = self.scoring
        if scoring is None:
            scoring = "accuracy" if _is_classifier(estimator) else "r2"
        scorer = get_scorer(scoring)
        y_source = _safe_indexing(np.asarray(y), source)
        return scorer(
            _InDomain(estimator, 1), X_source, y_source, sample_weight=weights
        )


class PredictionEntropyScorer(_DomainScorer):
    """Minus the mean entropy of the predicted class probabilities on target rows.

    Confident predictions on the target domain (low entropy) are taken as a
    sign of a good adaptation (Morerio et al., 2018). Only the unlabelled
    target rows of the fold are used; their labels are never read. Greater
    is better (the score is ``-entropy``). Beware that a model can be
    confidently wrong: combine it with :class:`ImportanceWeightedScorer`.

    See Also
    --------
    ImportanceWeightedScorer : Scores the labelled source rows, weighted.

    References
    ----------
    P. Morerio, J. Cavazza and V. Murino, "Minimal-Entropy Correlation
    Alignment for Unsupervised Deep Domain Adaptation", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.adapt import PredictionEntropyScorer, make_da_pipeline
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(60, 2)), rng.normal(size=(40, 2)) + 0.5])
    >>> y = np.r_[(X[:60, 0] > 0).astype(int), -np.ones(40, dtype=int)]
    >>> pipe = make_da_pipeline(LogisticRegression()).fit(X, y)
    >>> bool(PredictionEntropyScorer()(pipe, X, y) <= 0)
    True
    """

    def __call__(self, estimator, X, y, sample_domain=None, **params):
        """Minus the mean prediction entropy on the fold's target rows.

        Parameters
        ----------
        estimator : fitted classifier
            Must have ``predict_proba``.
        X : array-like of shape (n_samples, n_features)
            Source and target rows of the scored fold.
        y : array-like of shape (n_samples,)
            Labels, masked on the target rows (only the mask is read).
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.
        **params : dict
            Other metadata a caller routes to scorers (skada's scorers take
            ``**params`` too); not used.

        Returns
        -------
        score : float
            ``-mean(entropy)``, in nats; greater is better.
        """
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                "PredictionEntropyScorer needs a classifier with predict_proba; "
                f"{type(estimator).__name__} has none."
            )
        _, target = _split_fold(X, y, sample_domain, type(self).__name__)
        proba = call_in_domain(
            estimator, "predict_proba", _safe_indexing(X, target), -1
        )
        proba = np.clip(np.asarray(proba, dtype=np.float64), 1e-12, 1.0)
        return float(np.mean(np.sum(proba * np.log(proba), axis=1)))

"""Train the downstream estimator on the labelled source rows only."""

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.pipeline import make_pipeline
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _num_samples, check_is_fitted

from sktransfer._fitting import restore_on_failure
from sktransfer.io._domain import (
    check_label_types,
    handles_masked_labels,
    infer_sample_domain,
    masked_labels,
    refuse_plus_minus_one,
    with_masked_labels,
)
from sktransfer.io._sequence import refuse_bare_string

_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function")


def _estimator_has(attr):
    def check(self):
        if hasattr(self, "estimator_"):
            return hasattr(self.estimator_, attr)
        return hasattr(self.estimator, attr)

    return check


def _fitted(name, doc):
    """A read-only property: the fitted estimator's attribute ``name``."""

    def get(self):
        check_is_fitted(self)
        return getattr(self.estimator_, name)

    return property(get, doc=doc)


_DELEGATE_DOC = """{summary}

Parameters
----------
X : array-like of shape (n_samples, n_features)
    {rows}
**params : dict
    Passed on to the estimator's ``{name}``.

Returns
-------
{returns}
"""


def _delegate(name, summary, rows, returns):
    """Method ``name`` that calls the fitted estimator's, when it has one.

    ``summary``, ``rows`` (what X holds) and ``returns`` (the numpydoc
    Returns entry) fill the method's docstring.
    """

    def method(self, X, **params):
        check_is_fitted(self)
        return getattr(self.estimator_, name)(X, **params)

    method.__name__ = name
    method.__qualname__ = f"_SourceEstimator.{name}"
    method.__doc__ = _DELEGATE_DOC.format(
        summary=summary, rows=rows, name=name, returns=returns
    )
    return available_if(_estimator_has(name))(method)


def _indexable(X):
    """X in a form whose rows ``_safe_indexing`` can select."""
    if sp.issparse(X) and X.format not in ("csr", "csc"):
        return X.tocsr()
    if not hasattr(X, "__getitem__") and hasattr(X, "__array__"):
        return np.asarray(X)
    return X


class _SourceEstimator(MetaEstimatorMixin, BaseEstimator):
    """Fit ``estimator`` on the labelled source rows; delegate the rest."""

    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints = {"estimator": [HasMethods(["fit"])]}

    def _source_rows(self, X, y, sample_domain):
        """Domains of the rows and the positions of the labelled source rows."""
        refuse_bare_string(X, "rows (an array, a frame or a 1-D collection)")
        n = _num_samples(X)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None: give the labels of the source rows, masked (-1 for classes, "
                "NaN for regression) on the target rows."
            )
        y = np.asarray(y)
        if y.dtype.kind in "fc" and np.isinf(y).any():
            raise ValueError("Input y contains infinity or a value too large.")
        domains = infer_sample_domain(y, sample_domain, n)
        masked = masked_labels(y)
        refuse_plus_minus_one(type(self).__name__, y, masked)
        rows = np.flatnonzero((domains > 0) & ~masked)
        if rows.size == 0:
            raise ValueError(
                f"{type(self).__name__}.fit found no labelled source row (Input y "
                "contains NaN or -1 in every row, or sample_domain is negative "
                "everywhere): the downstream estimator has nothing to learn from."
            )
        return domains, rows

    def _fit_source(self, X, y, rows, fit_params, sample_weight=None):
        X = _indexable(X)
        if _routing_enabled():
            routed = process_routing(self, "fit", **fit_params).estimator.fit
        else:
            routed = fit_params
        n = _num_samples(X)
        params = {
            key: _safe_indexing(value, rows)
            if hasattr(value, "__len__") and len(value) == n
            else value
            for key, value in routed.items()
        }
        if sample_weight is not None:
            if "sample_weight" in params:
                sample_weight = sample_weight * np.asarray(params["sample_weight"])
            params["sample_weight"] = sample_weight
        y_rows = _safe_indexing(np.asarray(y), rows)
        check_label_types(y_rows)
        self.estimator_ = clone(self.estimator).fit(
            _safe_indexing(X, rows), y_rows, **params
        )
        return self

    # -- delegation ----------------------------------------------------------
    predict = _delegate(
        "predict",
        "Predict with the estimator trained on the source rows.",
        "Rows to predict (already mapped by the adapters of the pipeline).",
        "y_pred : ndarray of shape (n_samples,)\n    Predictions.",
    )
    predict_proba = _delegate(
        "predict_proba",
        "Class probabilities from the estimator trained on the source rows.",
        "Rows to predict.",
        "proba : ndarray of shape (n_samples, n_classes)\n    Class probabilities.",
    )
    predict_log_proba = _delegate(
        "predict_log_proba",
        "Log class probabilities from the estimator trained on the source rows.",
        "Rows to predict.",
        "log_proba : ndarray of shape (n_samples, n_classes)\n"
        "    Log class probabilities.",
    )
    decision_function = _delegate(
        "decision_function",
        "Decision function of the estimator trained on the source rows.",
        "Rows to score.",
        "scores : ndarray of shape (n_samples,) or (n_samples, n_classes)\n"
        "    Decision function values.",
    )
    transform = _delegate(
        "transform",
        "Transform with the estimator trained on the source rows.",
        "Rows to transform.",
        "X_new : array-like\n    Transformed rows.",
    )

    @available_if(_estimator_has("score"))
    def score(self, X, y, sample_weight=None):
        """Score of the estimator on the labelled rows of ``X`` (masked rows skipped).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.
        y : array-like of shape (n_samples,)
            True labels; rows with a masked label (-1 / NaN) are left out.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            The estimator's ``score`` on the labelled rows.
        """
        check_is_fitted(self)
        X = _indexable(X)
        rows = np.flatnonzero(~masked_labels(y))
        params = {}
        if sample_weight is not None:
            params["sample_weight"] = _safe_indexing(np.asarray(sample_weight), rows)
        return self.estimator_.score(
            _safe_indexing(X, rows), _safe_indexing(np.asarray(y), rows), **params
        )

    @available_if(_estimator_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features=None):
        """Output feature names of the estimator trained on the source rows.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Passed on to the estimator's ``get_feature_names_out``.

        Returns
        -------
        feature_names_out : ndarray of str
            The estimator's output feature names.
        """
        check_is_fitted(self)
        return self.estimator_.get_feature_names_out(input_features)

    classes_ = _fitted("classes_", "Class labels of the estimator.")
    n_features_in_ = _fitted("n_features_in_", "Number of features seen in fit.")
    feature_names_in_ = _fitted("feature_names_in_", "Feature names seen in fit.")

    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")

    def get_metadata_routing(self):
        """Metadata routing: ``sample_domain`` for self, the rest to ``estimator``.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        mapping = MethodMapping().add(caller="fit", callee="fit")
        for method in (*_METHODS, "transform", "score"):
            mapping.add(caller=method, callee=method)
        return (
            MetadataRouter(owner=self.__class__.__name__)
            .add_self_request(self)
            .add(estimator=self.estimator, method_mapping=mapping)
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.transformer_tags = inner.transformer_tags
        tags.input_tags = inner.input_tags
        tags.target_tags.required = True
        tags.target_tags.single_output = inner.target_tags.single_output
        tags.target_tags.multi_output = inner.target_tags.multi_output
        # make_da_pipeline does not wrap it: it takes the masked target rows
        return with_masked_labels(tags)


class SelectSource(_SourceEstimator):
    """Fit an estimator on the labelled source rows of a domain adaptation ``X``.

    In a domain adaptation pipeline the adapters see source and target rows
    stacked in ``X``, with the target labels masked (``y = -1`` for classes,
    ``NaN`` for regression). The downstream classifier or regressor must not
    learn from the masked rows: ``SelectSource`` passes it only the rows that
    are source rows and carry a label, together with the matching rows of any
    ``sample_weight`` or other fit parameter. Prediction is delegated
    unchanged. It plays the role of skada's ``SelectSource`` selector;
    :func:`make_da_pipeline` adds it for you.

    Parameters
    ----------
    estimator : estimator object
        Any scikit-learn classifier, regressor or transformer.

    Attributes
    ----------
    estimator_ : estimator object
        The clone of ``estimator`` fitted on the labelled source rows.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    make_da_pipeline : Builds a pipeline ending in ``SelectSource``.
    ImportanceWeightingAdapter : Also weights the source rows by their
        resemblance to the target rows.

    Notes
    -----
    ``score(X, y)`` scores the labelled rows only; rows with a masked label
    are skipped. With metadata routing enabled, ``sample_domain`` is
    requested by ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.adapt import SelectSource
    >>> X = np.array([[0.0], [1.0], [3.0], [4.0], [5.0], [9.0]])
    >>> y = np.array([0, 0, 1, 1, -1, -1])
    >>> clf = SelectSource(LogisticRegression()).fit(X, y)
    >>> clf.classes_
    array([0, 1])
    >>> clf.predict([[0.5], [3.5]])
    array([0, 1])
    """

    def __init__(self, estimator):
        self.estimator = estimator

    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, *, sample_domain=None, **fit_params):
        """Fit the estimator on the rows that are source rows and labelled.

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
            Passed on to the estimator's ``fit``, restricted to the same rows
            (through metadata routing when it is enabled).

        Returns
        -------
        self : object
            The fitted meta-estimator.
        """
        _, rows = self._source_rows(X, y, sample_domain)
        return self._fit_source(X, y, rows, fit_params)


def make_da_pipeline(*steps, memory=None, verbose=False):
    """Build a domain adaptation pipeline whose last step learns from source rows.

    Like :func:`sklearn.pipeline.make_pipeline`, but the last step is wrapped
    in :class:`SelectSource` (unless it already handles masked labels, like
    :class:`SelectSource`, :class:`ImportanceWeightingAdapter` or a
    fine-tuner with ``domain_adaptation``: any estimator whose tags say
    ``handles_masked_labels``, or a pipeline ending in one), so the
    downstream estimator is trained on the labelled source rows only while
    the adapters before it see every row.

    At ``predict`` time, rows are target rows (the adapters map new data as
    target data) unless ``sample_domain`` is routed to them.

    Parameters
    ----------
    *steps : list of estimators
        Transformers (embedders, adapters, scalers, ...) then the final
        estimator.
    memory : str or object with the joblib.Memory interface, default=None
        Passed to :class:`~sklearn.pipeline.Pipeline`.
    verbose : bool, default=False
        Passed to :class:`~sklearn.pipeline.Pipeline`.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The pipeline; the final step is named after its wrapper
        (``"selectsource"``), so its parameters read
        ``selectsource__estimator__C``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sktransfer.adapt import CORALAdapter, make_da_pipeline
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) * 2])
    >>> y = np.r_[(X[:40, 0] > 0).astype(int), -np.ones(30, dtype=int)]
    >>> pipe = make_da_pipeline(CORALAdapter(), LogisticRegression()).fit(X, y)
    >>> [name for name, _ in pipe.steps]
    ['coraladapter', 'selectsource']
    >>> pipe.predict(X[40:]).shape
    (30,)
    """
    if not steps:
        raise TypeError("make_da_pipeline needs at least one estimator.")
    *transformers, last = steps
    if not handles_masked_labels(last):
        last = SelectSource(last)
    return make_pipeline(*transformers, last, memory=memory, verbose=verbose)

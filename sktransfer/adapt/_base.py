"""What every embedding-level adapter shares: domains in, float32 features out."""

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from sktransfer._fitting import restore_on_failure
from sktransfer.io._domain import infer_sample_domain, transform_sample_domain


class BaseAdapter(TransformerMixin, BaseEstimator):
    """Base class of the transformers that align a source with a target domain.

    Subclasses implement ``_fit_domains(X_source, X_target)`` and
    ``_transform_domain(X, is_source)``; this class finds the domains, checks
    the input, and takes care of ``fit_transform`` (the fit rows keep their
    fit domains) and ``transform`` (rows are target rows unless
    ``sample_domain`` says otherwise).
    """

    # sample_domain is requested by default when metadata routing is enabled
    __metadata_request__fit = {"sample_domain": True}
    __metadata_request__transform = {"sample_domain": True}

    _parameter_constraints = {"missing_target": [StrOptions({"raise", "ignore"})]}

    # -- API ---------------------------------------------------------------
    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, sample_domain=None):
        """Learn the alignment from source and target rows stacked in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows.
        y : array-like of shape (n_samples,), default=None
            Labels, masked (``-1`` for classes, ``NaN`` for regression) on the
            unlabelled target rows; only the mask is used.
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows. Inferred from
            the masked labels when absent.

        Returns
        -------
        self : object
            The fitted adapter.
        """
        self._fit(X, y, sample_domain)
        return self

    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, *, sample_domain=None):
        """Fit, then transform the fit rows, each with its own domain's map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows.
        y : array-like of shape (n_samples,), default=None
            Labels, masked on the target rows.
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out), dtype float32
            Source rows mapped as source, target rows mapped as target.
        """
        X, domains = self._fit(X, y, sample_domain)
        return self._transform(X, domains)

    def transform(self, X, *, sample_domain=None):
        """Map rows into the aligned space.

        Rows are **target** rows unless ``sample_domain`` gives them a positive
        value (skada's convention): new data at predict time is taken to come
        from the target domain.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to map.
        sample_domain : array-like of shape (n_samples,), default=None
            Positive for source rows, negative for target rows; all target
            when absent.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out), dtype float32
            The mapped rows.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        domains = transform_sample_domain(sample_domain, X.shape[0])
        return self._transform(X.astype(np.float64, copy=False), domains)

    # -- shared machinery --------------------------------------------------
    def _fit(self, X, y, sample_domain):
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        X = X.astype(np.float64, copy=False)
        domains = infer_sample_domain(y, sample_domain, X.shape[0])
        name = type(self).__name__
        if domains is None:
            if self.missing_target == "raise":
                raise ValueError(
                    f"{name}.fit cannot tell source rows from target rows: pass y "
                    "with the target labels masked (-1 for classes, NaN for "
                    "regression) or sample_domain (positive = source, negative = "
                    "target)."
                )
            domains = np.ones(X.shape[0], dtype=np.int64)
        is_source = domains > 0
        if not is_source.any():
            raise ValueError(
                f"{name}.fit found no source row: every row is masked (y = -1 / "
                "NaN) or has a negative sample_domain. Stack the labelled source "
                "rows with the target rows in X."
            )
        X_source = X[is_source]
        X_target = X[~is_source]
        if X_target.shape[0] == 0:
            if self.missing_target == "raise":
                raise ValueError(
                    f"{name}.fit found no target row: mark the unlabelled target "
                    "rows with y = -1 (classes) or NaN (regression), or give them "
                    "a negative sample_domain. To fit without a target (no "
                    "adaptation: the target is taken to be the source), set "
                    "missing_target='ignore'."
                )
            X_target = X_source
        self.n_source_fit_ = int(X_source.shape[0])
        self.n_target_fit_ = int((~is_source).sum())
        self._fit_domains(X_source, X_target, X=X, domains=domains)
        return X, domains

    def _transform(self, X, domains):
        is_source = domains > 0
        out = np.empty((X.shape[0], self._n_out()), dtype=np.float64)
        if is_source.any():
            out[is_source] = self._transform_domain(X[is_source], True)
        if (~is_source).any():
            out[~is_source] = self._transform_domain(X[~is_source], False)
        return out.astype(np.float32)

    def _n_out(self):
        return self.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class ComponentsAdapter(ClassNamePrefixFeaturesOutMixin, BaseAdapter):
    """Base class of the adapters that map rows onto ``n_components_`` new axes.

    Subclasses (subspace alignment, TCA) take an ``n_components`` parameter,
    call :meth:`_resolve_n_components` in ``_fit_domains`` and set
    ``n_components_``; their output features are named
    ``<classname>0 .. <classname>{n_components_ - 1}``.
    """

    _parameter_constraints = {
        **BaseAdapter._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
    }

    def _resolve_n_components(self, default, limit, bound, detail=""):
        """``n_components``, or ``default`` when None; at most ``limit``.

        ``bound`` says in words what ``limit`` is, for the error message, and
        ``detail`` is appended to it.
        """
        n_components = default if self.n_components is None else self.n_components
        if n_components > limit:
            raise ValueError(
                f"n_components={n_components} is larger than {bound} = {limit}{detail}."
            )
        return int(n_components)

    def _n_out(self):
        return self.n_components_

    @property
    def _n_features_out(self):
        return self.n_components_

"""Per-domain standardisation: each domain z-scored with its own statistics."""

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from sktransfer.adapt._base import BaseAdapter


def _stats(X):
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
    return mean, scale


class DomainStandardScaler(OneToOneFeatureMixin, BaseAdapter):
    """Standardise each domain with its own mean and standard deviation.

    Every domain (each distinct ``sample_domain`` value, or "source" and
    "target" when domains are read from the masked labels) is z-scored with
    its own statistics, which aligns the domains' means and per-feature
    scales. It is the preprocessing of the classic shallow domain adaptation
    protocols (features z-scored per domain before CORAL, SA, GFK, ...), and a
    cheap adapter on its own.

    At ``transform`` time rows are target rows unless ``sample_domain`` says
    otherwise. A row whose domain label was seen in ``fit`` uses that
    domain's statistics; other positive labels use the pooled source
    statistics and other negative labels (and rows without
    ``sample_domain``) the pooled target statistics.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract each domain's mean.
    with_std : bool, default=True
        Divide by each domain's standard deviation (population, as
        :class:`~sklearn.preprocessing.StandardScaler`; constant features
        are left unscaled).
    missing_target : {"raise", "ignore"}, default="raise"
        What ``fit`` does when no row is a target row. ``"ignore"`` takes the
        target to be the source: target rows are then scaled with the source
        statistics (a plain StandardScaler fitted on the source).

    Attributes
    ----------
    domain_mean_ : dict of int to ndarray of shape (n_features,)
        Mean of each domain label seen in fit.
    domain_scale_ : dict of int to ndarray of shape (n_features,)
        Standard deviation of each domain label seen in fit.
    source_mean_, target_mean_ : ndarray of shape (n_features,)
        Pooled source and target means.
    source_scale_, target_scale_ : ndarray of shape (n_features,)
        Pooled source and target standard deviations.
    n_source_fit_ : int
        Number of source rows seen in fit.
    n_target_fit_ : int
        Number of target rows seen in fit.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in fit, when X had string column names.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : One set of statistics for all rows.
    CORALAdapter : Also aligns the correlations between features.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.adapt import DomainStandardScaler
    >>> X = np.array([[0.0], [2.0], [10.0], [14.0]])
    >>> y = np.array([0, 1, -1, -1])
    >>> DomainStandardScaler().fit_transform(X, y).ravel()
    array([-1.,  1., -1.,  1.], dtype=float32)
    >>> DomainStandardScaler().fit(X, y).transform([[12.0]]).ravel()
    array([0.], dtype=float32)
    """

    _parameter_constraints = {
        **BaseAdapter._parameter_constraints,
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
    }

    def __init__(self, *, with_mean=True, with_std=True, missing_target="raise"):
        self.with_mean = with_mean
        self.with_std = with_std
        self.missing_target = missing_target

    def _fit_domains(self, X_source, X_target, *, X, domains):
        self.domain_mean_, self.domain_scale_ = {}, {}
        for label in np.unique(domains):
            mean, scale = _stats(X[domains == label])
            self.domain_mean_[int(label)] = mean
            self.domain_scale_[int(label)] = scale
        self.source_mean_, self.source_scale_ = _stats(X_source)
        self.target_mean_, self.target_scale_ = _stats(X_target)

    def _transform(self, X, domains):
        out = np.empty_like(X)
        for label in np.unique(domains):
            rows = domains == label
            key = int(label)
            if key in self.domain_mean_:
                mean, scale = self.domain_mean_[key], self.domain_scale_[key]
            elif key > 0:
                mean, scale = self.source_mean_, self.source_scale_
            else:
                mean, scale = self.target_mean_, self.target_scale_
            Z = X[rows]
            if self.with_mean:
                Z = Z - mean
            if self.with_std:
                Z = Z / scale
            out[rows] = Z
        return out.astype(np.float32)

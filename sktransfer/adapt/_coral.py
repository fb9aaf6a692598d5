"""CORAL: correlation alignment (Sun, Feng and Saenko, AAAI 2016)."""

from numbers import Real

import numpy as np
from sklearn.base import OneToOneFeatureMixin
from sklearn.covariance import ledoit_wolf
from sklearn.utils._param_validation import Interval, StrOptions

from sktransfer.adapt._base import BaseAdapter


def _covariance(X, reg):
    """Covariance of the rows of X, regularised as ``reg`` says."""
    n, d = X.shape
    if reg == "auto":
        # Ledoit-Wolf on standardised features, rescaled (as skada does)
        scale = X.std(axis=0)
        scale[scale == 0] = 1.0
        if n < 2:
            return np.diag(scale**2)
        shrunk = ledoit_wolf((X - X.mean(axis=0)) / scale)[0]
        return scale[:, None] * shrunk * scale[None, :]
    cov = np.cov(X, rowvar=False).reshape(d, d) if n > 1 else np.zeros((d, d))
    return cov + reg * np.eye(d)


def _matrix_power(C, power):
    """``C ** power`` for a symmetric positive semi-definite C (eigenvalues floored)."""
    vals, vecs = np.linalg.eigh((C + C.T) / 2)
    floor = max(vals.max(initial=0.0), 1e-300) * 1e-12
    vals = np.maximum(vals, floor)
    return (vecs * vals**power) @ vecs.T


class CORALAdapter(OneToOneFeatureMixin, BaseAdapter):
    """Correlation alignment: give the source rows the target's covariance.

    CORAL (Sun, Feng and Saenko, 2016) whitens the source features with the
    source covariance and re-colours them with the target covariance::

        x_source -> (x_source - mean_source) Cs^(-1/2) Ct^(1/2) + mean_target

    Target rows are left unchanged, so a downstream estimator trained on the
    mapped source rows is applied to target data as it is. Use it after an
    embedder, and before :class:`~sktransfer.adapt.SelectSource` (or use
    :func:`~sktransfer.adapt.make_da_pipeline`), which trains the downstream
    estimator on the labelled source rows only.

    Read more in the domain adaptation section of the user guide.

    Parameters
    ----------
    reg : float >= 0 or "auto", default="auto"
        Covariance regularisation. A float is added to the diagonal of both
        covariances, as in the paper (``reg=1`` on z-scored features is the
        paper's setting). ``"auto"`` uses Ledoit-Wolf shrinkage on
        standardised features, which does not depend on the features' scale
        (skada's default). Same name, different float: here ``C + reg * I``
        (the paper's ridge, any ``reg >= 0``, 0 for none); in skada's
        ``CORALAdapter`` a float in [0, 1] is a shrinkage coefficient,
        ``(1 - reg) * C + reg * trace(C) / d * I``, and None means none. The
        two agree on ``"auto"``.
    missing_target : {"raise", "ignore"}, default="raise"
        What ``fit`` does when no row is a target row. ``"raise"`` raises a
        ValueError; ``"ignore"`` takes the target to be the source, so the
        map is the identity (no adaptation).

    Attributes
    ----------
    source_mean_ : ndarray of shape (n_features,)
        Mean of the source rows.
    target_mean_ : ndarray of shape (n_features,)
        Mean of the target rows.
    coef_ : ndarray of shape (n_features, n_features)
        The map ``Cs^(-1/2) Ct^(1/2)`` applied to centred source rows.
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
    SubspaceAlignmentAdapter : Aligns PCA subspaces instead of covariances.
    TCAAdapter : Learns a shared subspace that matches the domains' means.

    Notes
    -----
    Metadata routing: ``sample_domain`` is requested by ``fit`` and
    ``transform`` by default; with ``sklearn.set_config(
    enable_metadata_routing=True)`` it can be passed to ``Pipeline.fit``.
    Without routing, domains are read from the masked labels, and at
    ``transform`` / ``predict`` time every row is a target row.

    References
    ----------
    B. Sun, J. Feng and K. Saenko, "Return of Frustratingly Easy Domain
    Adaptation", AAAI 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.adapt import CORALAdapter
    >>> rng = np.random.default_rng(0)
    >>> X_source = rng.normal(size=(100, 3))
    >>> X_target = rng.normal(size=(80, 3)) * [1.0, 3.0, 0.5] + 2.0
    >>> X = np.vstack([X_source, X_target])
    >>> y = np.r_[rng.integers(0, 2, 100), -np.ones(80, dtype=int)]
    >>> Xt = CORALAdapter(reg=0.0).fit_transform(X, y)
    >>> # the mapped source rows now have the target's covariance and mean
    >>> np.allclose(np.cov(Xt[:100], rowvar=False), np.cov(X[100:], rowvar=False))
    True
    >>> np.allclose(Xt[:100].mean(axis=0), X[100:].mean(axis=0), atol=1e-5)
    True
    """

    _parameter_constraints = {
        **BaseAdapter._parameter_constraints,
        "reg": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
    }

    def __init__(self, reg="auto", *, missing_target="raise"):
        self.reg = reg
        self.missing_target = missing_target

    def _fit_domains(self, X_source, X_target, **_):
        self.source_mean_ = X_source.mean(axis=0)
        self.target_mean_ = X_target.mean(axis=0)
        cov_source = _covariance(X_source, self.reg)
        cov_target = _covariance(X_target, self.reg)
        self.coef_ = _matrix_power(cov_source, -0.5) @ _matrix_power(cov_target, 0.5)

    def _transform_domain(self, X, is_source):
        if not is_source:
            return X
        return (X - self.source_mean_) @ self.coef_ + self.target_mean_

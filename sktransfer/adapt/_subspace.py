"""Subspace alignment (Fernando, Habrard, Sebban and Tuytelaars, ICCV 2013)."""

from sklearn.decomposition import PCA

from sktransfer.adapt._base import ComponentsAdapter


class SubspaceAlignmentAdapter(ComponentsAdapter):
    """Subspace alignment: map the source PCA basis onto the target's.

    Each domain is projected on its own top ``n_components`` principal axes
    (``Ps`` for the source, ``Pt`` for the target); the source coordinates are
    then aligned with the target axes by ``M = Ps^T Pt`` (Fernando et al.,
    2013)::

        x_source -> (x_source - mean_source) Ps M
        x_target -> (x_target - mean_target) Pt

    The result matches skada's ``SubspaceAlignmentAdapter``. Rows are target
    rows at ``transform`` time unless ``sample_domain`` says otherwise.

    Parameters
    ----------
    n_components : int or None, default=None
        Dimension of the subspaces. None keeps
        ``min(n_source_rows, n_target_rows, n_features)``.
    missing_target : {"raise", "ignore"}, default="raise"
        What ``fit`` does when no row is a target row. ``"ignore"`` takes the
        target to be the source: both domains are then projected on the
        source's principal axes (plain PCA, no adaptation).

    Attributes
    ----------
    components_source_ : ndarray of shape (n_components_, n_features)
        Principal axes of the source rows.
    components_target_ : ndarray of shape (n_components_, n_features)
        Principal axes of the target rows.
    alignment_ : ndarray of shape (n_components_, n_components_)
        ``M = Ps^T Pt``, the alignment of the source axes with the target's.
    source_mean_ : ndarray of shape (n_features,)
        Mean of the source rows.
    target_mean_ : ndarray of shape (n_features,)
        Mean of the target rows.
    n_components_ : int
        Number of components kept.
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
    CORALAdapter : Aligns covariances in the original feature space.
    TCAAdapter : Learns one subspace shared by both domains.

    References
    ----------
    B. Fernando, A. Habrard, M. Sebban and T. Tuytelaars, "Unsupervised
    Visual Domain Adaptation Using Subspace Alignment", ICCV 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.adapt import SubspaceAlignmentAdapter
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(60, 5)), rng.normal(size=(40, 5)) + 1])
    >>> y = np.r_[rng.integers(0, 2, 60), -np.ones(40, dtype=int)]
    >>> SubspaceAlignmentAdapter(n_components=2).fit_transform(X, y).shape
    (100, 2)
    """

    def __init__(self, n_components=None, *, missing_target="raise"):
        self.n_components = n_components
        self.missing_target = missing_target

    def _fit_domains(self, X_source, X_target, **_):
        (ns, d), nt = X_source.shape, X_target.shape[0]
        limit = min(ns, nt, d)
        n_components = self._resolve_n_components(
            limit, limit, f"min(n_source_rows={ns}, n_target_rows={nt}, n_features={d})"
        )
        pca_source = PCA(n_components, svd_solver="full").fit(X_source)
        pca_target = PCA(n_components, svd_solver="full").fit(X_target)
        self.components_source_ = pca_source.components_
        self.components_target_ = pca_target.components_
        self.source_mean_ = pca_source.mean_
        self.target_mean_ = pca_target.mean_
        self.alignment_ = self.components_source_ @ self.components_target_.T
        self.n_components_ = n_components

    def _transform_domain(self, X, is_source):
        if is_source:
            return (X - self.source_mean_) @ self.components_source_.T @ self.alignment_
        return (X - self.target_mean_) @ self.components_target_.T

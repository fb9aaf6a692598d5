"""Transfer component analysis (Pan, Tsang, Kwok and Yang, IEEE TNN 2011)."""

from numbers import Real

import numpy as np
import scipy.linalg
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.utils._param_validation import Interval, StrOptions

from sktransfer.adapt._base import ComponentsAdapter

_KERNELS = {"linear", "rbf", "laplacian", "poly", "sigmoid", "cosine"}


def _top_generalized_eigvecs(A, B, n_components):
    """Top eigenvectors of ``A w = lambda B w`` (A symmetric PSD, B SPD)."""
    n = A.shape[0]
    vals, vecs = scipy.linalg.eigh(
        (A + A.T) / 2, (B + B.T) / 2, subset_by_index=[n - n_components, n - 1]
    )
    order = np.argsort(vals)[::-1]
    return np.maximum(vals[order], 0.0), vecs[:, order]


class TCAAdapter(ComponentsAdapter):
    """Transfer component analysis: a subspace where the domains' means match.

    TCA (Pan et al., 2011) looks for ``n_components`` directions ``W`` that
    keep the variance of the pooled data while making the (kernel) mean of
    the source rows close to the mean of the target rows. ``W`` holds the
    leading eigenvectors of ``(K L K + mu I)^(-1) K H K``, where ``K`` is the
    kernel matrix of the fit rows, ``L`` the maximum mean discrepancy matrix
    and ``H`` the centring matrix. Every row, source or target, is mapped the
    same way: ``x -> k(x, X_fit) W``; so ``transform`` does not depend on the
    domain of the rows.

    With ``kernel="linear"`` the same problem is solved in the primal (a
    ``n_features x n_features`` eigenproblem, ``x -> (x - mean) A``), which
    stays cheap for many rows. Other kernels solve the ``n x n`` dual
    problem, cubic in the number of fit rows, and keep the fit rows to map
    new data: use them on a few thousand rows at most.

    Components are scaled to unit variance over the fit rows (the paper's
    constraint ``W^T K H K W = I``, times the number of rows).

    Parameters
    ----------
    n_components : int or None, default=None
        Number of transfer components. None keeps ``min(n_samples,
        n_features)`` for the linear kernel and ``min(n_samples, 100)``
        otherwise.
    kernel : {"linear", "rbf", "laplacian", "poly", "sigmoid", "cosine"}, \
            default="linear"
        Kernel between rows.
    gamma : float or None, default=None
        Kernel coefficient for "rbf", "laplacian", "poly" and "sigmoid".
        None uses ``1 / (n_features * X.var())`` (scikit-learn's "scale").
    mu : float > 0, default=1.0
        Trade-off: larger values weigh keeping the variance (and the
        regulariser) more than matching the domain means. Its scale follows
        the squared scale of the features (linear) or of the kernel.
    missing_target : {"raise", "ignore"}, default="raise"
        What ``fit`` does when no row is a target row. ``"ignore"`` takes the
        target to be the source: the mean-matching term vanishes and TCA is
        plain (kernel) PCA.

    Attributes
    ----------
    components_ : ndarray of shape (n_features, n_components_) or \
            (n_fit_rows, n_components_)
        Projection: primal directions (linear kernel) or dual coefficients.
    eigenvalues_ : ndarray of shape (n_components_,)
        Generalised eigenvalues of the kept components, largest first.
    mean_ : ndarray of shape (n_features,)
        Mean of the fit rows (linear kernel only; None otherwise).
    X_fit_ : ndarray of shape (n_fit_rows, n_features) or None
        Fit rows kept to compute kernels on new data (non-linear kernels).
    gamma_ : float or None
        Kernel coefficient used.
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
    SubspaceAlignmentAdapter : Aligns the two domains' PCA subspaces.

    Notes
    -----
    skada's ``TransferComponentAnalysisAdapter`` solves
    ``(I + mu K L K)^(-1) K H K``, so its ``mu`` plays the role of ``1 / mu``
    here (the paper's parametrisation).

    References
    ----------
    S. J. Pan, I. W. Tsang, J. T. Kwok and Q. Yang, "Domain Adaptation via
    Transfer Component Analysis", IEEE Transactions on Neural Networks 22(2),
    2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer.adapt import TCAAdapter
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(60, 5)), rng.normal(size=(40, 5)) + 2])
    >>> y = np.r_[rng.integers(0, 2, 60), -np.ones(40, dtype=int)]
    >>> Z = TCAAdapter(n_components=2).fit_transform(X, y)
    >>> Z.shape
    (100, 2)
    >>> bool(abs(Z[:60].mean(0) - Z[60:].mean(0)).max() < 0.1)
    True
    """

    _parameter_constraints = {
        **ComponentsAdapter._parameter_constraints,
        "kernel": [StrOptions(_KERNELS)],
        "gamma": [Interval(Real, 0, None, closed="neither"), None],
        "mu": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_components=None,
        *,
        kernel="linear",
        gamma=None,
        mu=1.0,
        missing_target="raise",
    ):
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.mu = mu
        self.missing_target = missing_target

    def _fit_domains(self, X_source, X_target, *, X, domains):
        is_source = domains > 0
        n, d = X.shape
        ns, nt = is_source.sum(), (~is_source).sum()
        # MMD matrix L = e e^T with e = 1/ns on source rows, -1/nt on target rows
        e = np.where(is_source, 1.0 / ns, -1.0 / nt) if nt else np.zeros(n)
        linear = self.kernel == "linear"
        limit = min(n, d) if linear else n
        default = limit if linear else min(n, 100)
        n_components = self._resolve_n_components(
            default,
            limit,
            "min(n_samples, n_features)" if linear else "n_samples",
            f" for kernel={self.kernel!r}",
        )
        if linear:
            self.mean_ = X.mean(axis=0)
            Xc = X - self.mean_
            # primal: (X^T H X) a = lambda (X^T L X + mu I) a
            A = Xc.T @ Xc
            v = X.T @ e
            B = np.outer(v, v) + self.mu * np.eye(d)
            self.X_fit_ = None
            self.gamma_ = None
        else:
            self.mean_ = None
            var = X.var()
            self.gamma_ = self.gamma or (1.0 / (d * var) if var > 0 else 1.0)
            K = self._kernel(X, X)
            HK = K - K.mean(axis=0)
            A = HK.T @ HK  # K H K
            v = K @ e
            B = np.outer(v, v) + self.mu * np.eye(n)  # K L K + mu I
            self.X_fit_ = X
        vals, vecs = _top_generalized_eigvecs(A, B, n_components)
        # scale each direction to unit variance over the fit rows
        variance = np.einsum("ij,ij->j", vecs, A @ vecs) / n
        self.components_ = vecs / np.sqrt(np.where(variance > 0, variance, 1.0))
        self.eigenvalues_ = vals
        self.n_components_ = n_components

    def _kernel(self, X, Y):
        params = {} if self.kernel == "cosine" else {"gamma": self.gamma_}
        return pairwise_kernels(X, Y, metric=self.kernel, **params)

    def _transform_domain(self, X, is_source):
        if self.kernel == "linear":
            return (X - self.mean_) @ self.components_
        return self._kernel(X, self.X_fit_) @ self.components_

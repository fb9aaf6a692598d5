"""Solve a linear head on frozen features: the convex problem, to convergence.

A linear head on features that do not change is a convex problem, so it is
solved, not trained: multinomial logistic regression with an L2 penalty by
full-batch L-BFGS (scipy's L-BFGS-B on centred, scaled coordinates; the
feature products in float32, everything else in float64), or the closed form
of ridge regression. Both minimise the weighted mean loss plus the penalty,

    sum_i s_i * loss_i / sum_i s_i  +  l2 / 2 * ||W||^2

(the intercept is not penalised), which is scikit-learn's objective with
``C = 1 / (l2 * sum_i s_i)`` for `~sklearn.linear_model.LogisticRegression`
(``1 / (l2 * n_samples)`` without sample weights) and ``alpha = l2 *
sum_i s_i`` for `~sklearn.linear_model.Ridge`. Two classes are solved as one
logistic regression (scikit-learn's binary objective) and returned as two
symmetric softmax rows, ``[-w / 2, w / 2]``, whose softmax is its sigmoid.

``l2="auto"`` picks the strength by K-fold cross-validation on the same
features along a grid (validation log loss for classes, mean squared error
for targets; the larger strength on ties), warm-starting each solve from the
previous one; features are computed once, so this costs solves only. The
folds' solves stop at a loose tolerance (they only rank the strengths) and
the final solve starts from their mean, so ``"auto"`` costs about as much as
one `~sklearn.linear_model.LogisticRegression` fit (measured in
``benchmarks/results/head_vs_probe.md``).
"""

import copy

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_expit
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.class_weight import compute_class_weight
from threadpoolctl import threadpool_limits

__all__ = ["L2_GRID", "choose_l2", "solve_head"]

# candidate strengths for l2="auto" (mean-loss convention: C = 1 / (l2 n))
L2_GRID = tuple(np.logspace(-6, 0, 13))
# the path stops once the validation loss rose this many grid steps past its best
_PATIENCE = 2
# the cross-validation's solves only rank the strengths: on large problems
# (features x classes over _CV_LARGE) they stop at a loose tolerance, which keeps
# "auto" near one LogisticRegression fit (measured: Fashion-MNIST, 2,000 x
# 1,280 x 10 classes, the same choice as at 1e-4 in a third of the time);
# small ones are cheap to solve as tightly as before
_CV_TOL, _CV_TOL_LARGE, _CV_LARGE, _CV_MAX_ITER = 1e-5, 1e-3, 1_000_000, 200
_TASKS = ("classification", "regression")


def solve_head(
    features,
    y,
    task="classification",
    l2="auto",
    *,
    sample_weight=None,
    class_weight=None,
    n_classes=None,
    cv=5,
    max_iter=1000,
    tol=1e-6,
    random_state=0,
    return_l2=False,
):
    """The linear head minimising the L2-penalised loss on ``features``.

    Parameters
    ----------
    features : array-like of shape (n_samples, n_features)
        Frozen features (e.g. a backbone's pooled outputs).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        ``task="classification"``: class indices ``0 .. n_classes - 1``;
        ``"regression"``: numeric targets.
    task : {"classification", "regression"}, default="classification"
        Multinomial logistic regression or least squares.
    l2 : float >= 0 or "auto", default="auto"
        Penalty strength in the mean-loss convention above; ``"auto"`` picks
        it from `L2_GRID` by ``cv``-fold cross-validation.
    sample_weight : array-like of shape (n_samples,), default=None
        Per-sample weights of the loss.
    class_weight : dict, "balanced", array-like or None, default=None
        Classification only: weights per class index (multiplied with
        ``sample_weight``); ``"balanced"`` as in scikit-learn.
    n_classes : int, default=None
        Number of classes (rows of the head); ``max(y) + 1`` when None.
    cv : int, default=5
        Folds of ``l2="auto"`` (fewer when a class has fewer rows).
    max_iter, tol : int, float
        L-BFGS iterations and projected-gradient tolerance.
    random_state : int, default=0
        Shuffling of the folds of ``l2="auto"``.
    return_l2 : bool, default=False
        Also return the strength used (the chosen one with ``"auto"``).

    Returns
    -------
    weight : ndarray of shape (n_outputs, n_features), float32
        The head's weight, laid out as ``torch.nn.Linear.weight``.
    bias : ndarray of shape (n_outputs,), float32
    l2 : float
        Only with ``return_l2=True``.
    """
    X, y, weights = _prepare(features, y, task, sample_weight, class_weight, n_classes)
    with _threads(X):
        if isinstance(l2, str):
            if l2 != "auto":
                raise ValueError(f"l2 must be a float >= 0 or 'auto', got {l2!r}")
            l2, start = _choose(X, y, task, weights, cv, random_state)
        elif not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be a float >= 0 or 'auto', got {l2!r}")
        else:
            start = None
        coef = _solve(X, y, weights, task, float(l2), start, max_iter, tol)
    weight, bias = _as_linear(coef, task)
    return (weight, bias, float(l2)) if return_l2 else (weight, bias)


def choose_l2(
    features, y, task="classification", *, sample_weight=None, cv=5, random_state=0
):
    """The strength from `L2_GRID` with the best ``cv``-fold validation loss.

    ``y`` and ``sample_weight`` as prepared by `solve_head` (class indices
    with the class weights folded into ``sample_weight``). With too few rows
    to split (a class with one row), the middle of the grid's useful range,
    ``1e-3``, is returned.
    """
    X = np.asarray(features, dtype=np.float64)
    weights = (
        np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    )
    return _choose(X, y, task, weights, cv, random_state)[0]


def _choose(X, y, task, weights, cv, random_state):
    """`choose_l2`, and the folds' mean solution at that strength (a warm
    start for the final solve, which then needs far fewer iterations)."""
    folds = _folds(y, task, cv, random_state)
    if folds is None:
        return 1e-3, None
    # one scaling for every fold (a preconditioner only needs to be close)
    total = weights.sum() if weights.sum() > 0 else 1.0
    scaling = _Scaling(X, weights / total) if task != "regression" else None
    grid = sorted(L2_GRID, reverse=True)  # strong to weak: warm starts help
    columns = 1 if task == "regression" or y.n_classes == 2 else y.n_classes
    tol = _CV_TOL_LARGE if X.size * columns > _CV_LARGE else _CV_TOL
    coefs = [None] * len(folds)
    losses, means = [], []
    for l2 in grid:
        total = 0.0
        for k, (train, valid) in enumerate(folds):
            # classes: the fold's float32 rows only (no float64 copy)
            rows, part = (
                (X[train], None) if scaling is None else (None, scaling.rows(train))
            )
            coefs[k] = _solve(rows, y[train], weights[train], task, l2, coefs[k],
                              _CV_MAX_ITER, tol, part)  # fmt: skip
            total += _loss(X[valid], y[valid], weights[valid], task, coefs[k])
        losses.append(total)
        means.append(np.mean(coefs, axis=0))
        if len(losses) - 1 - int(np.argmin(losses)) >= _PATIENCE:
            break  # past the minimum: the weakest penalties cost the most
    losses = np.asarray(losses)
    best = np.flatnonzero(losses <= losses.min() * (1 + 1e-9))[0]
    return float(grid[best]), means[best]


def _threads(X):
    """One BLAS thread for small problems: L-BFGS's many tiny vector
    operations are slower with threads (measured 5x on 2 cores)."""
    return threadpool_limits(1 if X.size < 5_000_000 else None)


def _logsumexp(logits):
    top = logits.max(axis=1)
    return top + np.log(np.exp(logits - top[:, None]).sum(axis=1))


# -- preparation -----------------------------------------------------------------
def _prepare(features, y, task, sample_weight, class_weight, n_classes):
    if task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got {task!r}")
    X = np.asarray(features, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"features must be a 2-D array, got shape {X.shape}")
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if len(bad):
        raise ValueError(f"features have non-finite values in rows {bad[:10].tolist()}")
    weights = (
        np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, float)
    )
    if weights.shape != (len(X),):
        raise ValueError(
            f"sample_weight has shape {weights.shape}; expected ({len(X)},)"
        )
    if task == "regression":
        y = np.asarray(y, dtype=np.float64)
        return X, y.reshape(len(X), -1), weights
    y = np.asarray(y).astype(np.int64)
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"y must hold class indices in [0, {n_classes}), got {y}")
    if class_weight is not None:
        if isinstance(class_weight, str) and class_weight == "balanced":
            present = np.unique(y)
            per_class = np.zeros(n_classes)
            per_class[present] = compute_class_weight("balanced", classes=present, y=y)
        elif isinstance(class_weight, dict):
            per_class = np.array([class_weight.get(k, 1.0) for k in range(n_classes)])
        else:
            per_class = np.asarray(class_weight, dtype=np.float64)
        weights = weights * per_class[y]
    return X, _Classes(y, n_classes), weights


class _Classes(np.ndarray):
    """Class indices that remember how many classes there are."""

    def __new__(cls, y, n_classes):
        out = np.asarray(y, dtype=np.int64).view(cls)
        out.n_classes = n_classes
        return out

    def __array_finalize__(self, obj):
        self.n_classes = getattr(obj, "n_classes", None)


def _folds(y, task, cv, random_state):
    n = len(y)
    if task == "classification":
        counts = np.bincount(np.asarray(y), minlength=y.n_classes)
        smallest = counts[counts > 0].min()
        if smallest < 2 or (counts > 0).sum() < 2:
            return None
        splitter = StratifiedKFold(
            min(cv, smallest), shuffle=True, random_state=random_state
        )
        return list(splitter.split(np.zeros(n), np.asarray(y)))
    if n < 4:
        return None
    splitter = KFold(min(cv, n // 2), shuffle=True, random_state=random_state)
    return list(splitter.split(np.zeros(n)))


# -- the solvers -------------------------------------------------------------------
def _solve(X, y, weights, task, l2, start, max_iter, tol, scaling=None):
    """Coefficients ``(n_features + 1, n_columns)``, the intercept last.

    Classes with a ``scaling`` of these rows given: ``X`` is not read.
    """
    if task == "regression":
        return _ridge(X, y, weights, l2)
    columns = 1 if y.n_classes == 2 else y.n_classes
    total = weights.sum() if weights.sum() > 0 else 1.0  # a fold of zero weights
    w = weights / total
    if columns == 1:
        target = np.where(np.asarray(y) == 1, 1.0, -1.0)[:, None]
    else:
        target = np.eye(columns)[np.asarray(y)]
    if scaling is None:
        scaling = _Scaling(X, w)
    problem = _Preconditioned(scaling, w, l2, target)
    if start is None:
        start = np.zeros((scaling.X32.shape[1] + 1, columns))
    result = minimize(
        problem.objective,
        problem.to_solver(start),
        jac=True,
        method="L-BFGS-B",
        options={
            "maxiter": max_iter,
            "gtol": tol,
            "ftol": 64 * np.finfo(float).eps,
            "maxls": 50,
        },
    )
    return problem.from_solver(result.x)


class _Scaling:
    """The features' weighted column means and spreads, computed once.

    The solver's variables are ``v = w * s`` and ``c = b + mu @ w`` with
    ``s = sqrt(var + l2)``, a linear change of variables: the minimum is
    the same, but L-BFGS then needs far fewer iterations than on raw
    features with large means and unequal scales (measured: 2.5x fewer on
    EfficientNet features). ``X`` is never centred in memory: ``X @ w - mu @
    w`` is the centred product. The products run in float32 (``X32``), the
    loss and its gradient are accumulated in float64.
    """

    def __init__(self, X, w):
        self.X32 = np.asarray(X, dtype=np.float32)
        self.mu = w @ X
        self.var = np.maximum(w @ (X * X) - self.mu**2, 0.0)

    def rows(self, index):
        """The same scaling on some of the rows (a fold)."""
        part = copy.copy(self)
        part.X32 = self.X32[index]
        return part


class _Preconditioned:
    """The penalised logistic loss in the coordinates of a `_Scaling`.

    ``target`` is the one-hot matrix, or the signs (+1 / -1) as one column
    for two classes; ``w`` the sample weights, summing to one.
    """

    def __init__(self, scaling, w, l2, target):
        self.X, self.mu, self.w, self.l2 = scaling.X32, scaling.mu, w, l2
        self.s = np.sqrt(scaling.var + max(l2, 1e-12))[:, None]
        self.target = target
        self.binary = target.shape[1] == 1

    def to_solver(self, coef):
        weight, bias = coef[:-1], coef[-1]
        return np.vstack([weight * self.s, bias + self.mu @ weight]).ravel()

    def from_solver(self, theta):
        weight, c = self._split(theta)
        return np.vstack([weight, c - self.mu @ weight])

    def _split(self, theta):
        theta = theta.reshape(len(self.s) + 1, self.target.shape[1])
        return theta[:-1] / self.s, theta[-1]

    def objective(self, theta):
        weight, c = self._split(theta)
        logits = (self.X @ weight.astype(np.float32)).astype(np.float64)
        logits += c - self.mu @ weight
        w, target = self.w, self.target
        if self.binary:
            z = target[:, 0] * logits[:, 0]
            loss = -(w @ log_expit(z))
            grad_logits = (-w * target[:, 0] * np.exp(log_expit(-z)))[:, None]
        else:
            log_norm = _logsumexp(logits)
            loss = w @ (log_norm - (logits * target).sum(axis=1))
            grad_logits = (np.exp(logits - log_norm[:, None]) - target) * w[:, None]
        loss += 0.5 * self.l2 * np.sum(weight * weight)
        column_sums = grad_logits.sum(axis=0)
        grad_weight = (self.X.T @ grad_logits.astype(np.float32)).astype(np.float64)
        grad_weight += self.l2 * weight - np.outer(self.mu, column_sums)
        grad = np.vstack([grad_weight / self.s, column_sums])
        return loss, grad.ravel()


def _ridge(X, y, weights, l2):
    w = weights / (weights.sum() if weights.sum() > 0 else 1.0)
    x_mean, y_mean = w @ X, w @ y
    Xc, yc = X - x_mean, y - y_mean
    gram = Xc.T @ (Xc * w[:, None]) + l2 * np.eye(X.shape[1])
    weight = np.linalg.lstsq(gram, Xc.T @ (yc * w[:, None]), rcond=None)[0]
    return np.vstack([weight, y_mean - x_mean @ weight])


def _loss(X, y, weights, task, coef):
    """Weighted mean validation loss (log loss or squared error)."""
    logits = X @ coef[:-1] + coef[-1]
    if task == "regression":
        per_row = ((y - logits) ** 2).sum(axis=1)
    elif coef.shape[1] == 1:
        sign = np.where(np.asarray(y) == 1, 1.0, -1.0)
        per_row = -log_expit(sign * logits[:, 0])
    else:
        log_norm = _logsumexp(logits)
        per_row = log_norm - logits[np.arange(len(y)), np.asarray(y)]
    total = weights.sum()
    return float(weights @ per_row / total) if total > 0 else 0.0


def _as_linear(coef, task):
    weight, bias = coef[:-1].T, coef[-1]
    if task == "classification" and coef.shape[1] == 1:  # sigmoid as a softmax
        weight = np.vstack([-weight / 2, weight / 2])
        bias = np.array([-bias[0] / 2, bias[0] / 2])
    return weight.astype(np.float32), bias.astype(np.float32)

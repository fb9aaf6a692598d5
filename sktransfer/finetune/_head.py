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

``l2="auto"`` picks the strength by K-fold cross-validation (3 folds) on
the same features along a grid (validation log loss for classes, mean
squared error for targets), warm-starting each solve from the previous one,
with the one-standard-error rule: the strongest penalty whose mean
validation loss is within one standard error of the lowest. Features are
computed once, so this costs solves only. The folds' solves stop at a loose
tolerance (they only rank the strengths) and the final solve starts from
their mean, so ``"auto"`` costs about as much as one
`~sklearn.linear_model.LogisticRegression` fit (measured in
``benchmarks/results/head_vs_probe_splits.md``).
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_expit
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils.class_weight import compute_class_weight
from threadpoolctl import threadpool_limits

from sktransfer.finetune._lbfgs import Preconditioned, Scaling, logsumexp

__all__ = ["L2_GRID", "choose_l2", "solve_head"]

# candidate strengths for l2="auto" (mean-loss convention: C = 1 / (l2 n))
L2_GRID = tuple(np.logspace(-6, 0, 13))
# the path stops once the validation loss rose this many grid steps past its best
_PATIENCE = 2
# the cross-validation's solves only rank the strengths, so they stop at a
# loose tolerance and a few iterations: on the rt-polarity, sentiment and
# Fashion-MNIST features (10 splits each) 1e-3 chose the same strengths as
# 1e-5 in half the time (benchmarks/results/head_vs_probe_splits.md)
_CV_TOL, _CV_MAX_ITER = 1e-3, 200
# the one-standard-error rule: the strongest penalty whose mean validation
# loss is within this many standard errors (over the folds) of the lowest;
# the lowest alone picked too weak a penalty on the sentiment sets (-0.003
# accuracy against LogisticRegression(C=1) over 10 splits, -0.0007 with it)
_SE_RULE = 1.0
_TIE = 1e-9  # relative: equal losses (e.g. a one-fold CV) pick the stronger
_TASKS = ("classification", "regression")
_RULES = ("one-se", "min", "anchor")


def solve_head(
    features,
    y,
    task="classification",
    l2="auto",
    *,
    sample_weight=None,
    class_weight=None,
    n_classes=None,
    cv=3,
    rule="one-se",
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
    cv : int, default=3
        Folds of ``l2="auto"`` (fewer when a class has fewer rows).
    rule : {"one-se", "min", "anchor"}, default="one-se"
        How ``l2="auto"`` picks from the validation losses: the strongest
        penalty within one standard error of the lowest, or the lowest.
        ``"min"`` for a head that fine-tuning starts from (LP-FT): on weak
        features the flat loss curve lets ``"one-se"`` pick a penalty so
        strong that the head passes almost no gradient to the backbone
        (measured: a randomly initialised CNN on Fashion-MNIST fine-tuned
        to chance, 0.51, against 0.76 with ``"min"``). ``"anchor"``: the
        grid strength nearest scikit-learn's ``C=1`` (``1 / sum(sample_weight)``)
        while its loss is within one standard error of the lowest, else as
        ``"one-se"`` (``benchmarks/results/head_fewshot_anchor.md``).
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
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}, got {rule!r}")
    X, y, weights = _prepare(features, y, task, sample_weight, class_weight, n_classes)
    with _threads(X):
        if isinstance(l2, str):
            if l2 != "auto":
                raise ValueError(f"l2 must be a float >= 0 or 'auto', got {l2!r}")
            l2, start = _choose(X, y, task, weights, cv, random_state, rule)
        elif not np.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be a float >= 0 or 'auto', got {l2!r}")
        else:
            start = None
        coef = _solve(X, y, weights, task, float(l2), start, max_iter, tol)
    weight, bias = _as_linear(coef, task)
    return (weight, bias, float(l2)) if return_l2 else (weight, bias)


def choose_l2(
    features, y, task="classification", *, sample_weight=None, cv=3, random_state=0
):
    """The strength from `L2_GRID` chosen by ``cv``-fold validation loss.

    The strongest penalty whose mean validation loss is within one standard
    error of the lowest (the one-standard-error rule).

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


def _choose(X, y, task, weights, cv, random_state, rule="one-se"):
    """`choose_l2`, and the folds' mean solution at that strength (a warm
    start for the final solve, which then needs far fewer iterations)."""
    folds = _folds(y, task, cv, random_state)
    if folds is None:
        return 1e-3, None
    # one scaling for every fold (a preconditioner only needs to be close)
    total = weights.sum() if weights.sum() > 0 else 1.0
    scaling = Scaling(X, weights / total) if task != "regression" else None
    grid = sorted(L2_GRID, reverse=True)  # strong to weak: warm starts help
    tol = _CV_TOL
    coefs = [None] * len(folds)
    losses, spreads, means = [], [], []
    for l2 in grid:
        fold_losses = []
        for k, (train, valid) in enumerate(folds):
            # classes: the fold's float32 rows only (no float64 copy)
            rows, part = (
                (X[train], None) if scaling is None else (None, scaling.rows(train))
            )
            coefs[k] = _solve(rows, y[train], weights[train], task, l2, coefs[k],
                              _CV_MAX_ITER, tol, part)  # fmt: skip
            fold_losses.append(
                _loss(X[valid], y[valid], weights[valid], task, coefs[k])
            )
        losses.append(np.mean(fold_losses))
        spreads.append(np.std(fold_losses, ddof=1) / np.sqrt(len(folds)))
        means.append(np.mean(coefs, axis=0))
        if len(losses) - 1 - int(np.argmin(losses)) >= _PATIENCE:
            break  # past the minimum: the weakest penalties cost the most
    losses = np.asarray(losses)
    lowest = int(np.argmin(losses))
    spread = (
        spreads[lowest]
        if np.isfinite(spreads[lowest]) and rule in ("one-se", "anchor")
        else 0.0
    )
    margin = max(_SE_RULE * spread, _TIE * abs(losses[lowest]))
    if rule == "anchor":  # scikit-learn's C=1 unless worse by > one SE
        anchor = int(np.argmin(np.abs(np.log(grid) + np.log(total))))
        if anchor < len(losses) and losses[anchor] <= losses[lowest] + margin:
            return float(grid[anchor]), means[anchor]
    best = np.flatnonzero(losses <= losses[lowest] + margin)[0]
    return float(grid[best]), means[best]


def _threads(X):
    """One BLAS thread for small problems: L-BFGS's many tiny vector
    operations are slower with threads (measured 5x on 2 cores)."""
    return threadpool_limits(1 if X.size < 5_000_000 else None)


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
        scaling = Scaling(X, w)
    problem = Preconditioned(scaling, w, l2, target)
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
        log_norm = logsumexp(logits)
        per_row = log_norm - logits[np.arange(len(y)), np.asarray(y)]
    total = weights.sum()
    return float(weights @ per_row / total) if total > 0 else 0.0


def _as_linear(coef, task):
    weight, bias = coef[:-1].T, coef[-1]
    if task == "classification" and coef.shape[1] == 1:  # sigmoid as a softmax
        weight = np.vstack([-weight / 2, weight / 2])
        bias = np.array([-bias[0] / 2, bias[0] / 2])
    return weight.astype(np.float32), bias.astype(np.float32)

"""Build and fit the implicit model behind ImplicitRecommender (private)."""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state

from sktransfer._optional import import_optional
from sktransfer.engine._progress import show_progress

__all__ = []

# model name -> (module, class) of implicit's CPU implementations
MODELS = {
    "als": ("implicit.cpu.als", "AlternatingLeastSquares"),
    "bpr": ("implicit.cpu.bpr", "BayesianPersonalizedRanking"),
    "lmf": ("implicit.cpu.lmf", "LogisticMatrixFactorization"),
}


def implicit_kwargs(est):
    """Keyword arguments for the implicit class, from the estimator's params."""
    kwargs = {"factors": est.factors, "num_threads": est.num_threads}
    for name in ("regularization", "iterations", "learning_rate", "alpha"):
        value = getattr(est, name)
        if value is None:
            continue
        if (name == "alpha" and est.model != "als") or (
            name == "learning_rate" and est.model == "als"
        ):
            allowed = "'als'" if name == "alpha" else "'bpr' or 'lmf'"
            raise ValueError(
                f"{name}={value!r} applies to model={allowed} only; got "
                f"model={est.model!r}."
            )
        kwargs[name] = value
    for key in est.model_params or {}:
        if key in kwargs or key in ("random_state", "factors", "num_threads"):
            raise ValueError(
                f"model_params sets {key!r}, which is a parameter of "
                "ImplicitRecommender itself: set it there."
            )
    kwargs.update(est.model_params or {})
    seed = est.random_state
    if seed is not None and not isinstance(seed, Integral):
        # implicit takes an int seed (passed unchanged, so results match raw
        # implicit's); a RandomState instance gives one draw
        seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
    kwargs["random_state"] = seed
    return kwargs


def fit_implicit(est, matrix):
    """Fit implicit's CPU model on a users x items CSR matrix.

    BLAS is limited to one thread during the fit, as implicit recommends
    (its own threads are ``num_threads``).
    """
    module, class_name = MODELS[est.model]
    cls = getattr(import_optional(module), class_name)
    threadpoolctl = import_optional("threadpoolctl")
    kwargs = implicit_kwargs(est)
    with threadpoolctl.threadpool_limits(1, "blas"):
        model = cls(**kwargs)
        model.fit(matrix, show_progress=show_progress(est.verbose))
    return model

"""A fit that raises never leaves a half-fitted estimator behind."""

import functools

__all__ = ["restore_on_failure"]


def restore_on_failure(fit):
    """Decorate a ``fit``-like method: if it raises, undo what it set.

    The estimator's attributes are put back as they were before the call, so
    an estimator that was unfitted stays unfitted (``check_is_fitted`` and
    every method after ``fit`` raise ``NotFittedError``), and a fitted one
    keeps its previous fit intact: a fit replaces its fitted attributes
    rather than modifying them. The exception: with ``warm_start=True`` a
    refit updates the fitted model in place, so a warm refit that raises
    leaves the estimator unfitted rather than holding a half-trained model.

    Parameters
    ----------
    fit : callable
        ``fit(self, *args, **kwargs)``, or ``fit_transform`` /
        ``fit_predict``.

    Returns
    -------
    wrapper : callable
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            if getattr(self, "warm_start", False) is True:
                unfit(self)
            raise

    return wrapper


def unfit(estimator):
    """Drop every fitted attribute, public or private, keeping the parameters.

    What stays: the constructor's (and routed) parameters, and what
    scikit-learn's own API set before ``fit`` (``set_output``, metadata
    requests).
    """
    params = set(estimator.get_params(deep=False))
    state = vars(estimator)
    for name in list(state):
        if name in params or name.startswith(("_sklearn", "_metadata_request")):
            continue
        del state[name]

"""Find every public estimator, so that the common tests cover them all."""

import inspect

from sklearn.base import BaseEstimator

__all__ = ["all_estimators"]


def all_estimators():
    """Return the public estimators of sktransfer.

    Every class exported by ``sktransfer`` (``sktransfer.__all__``) and by its
    public subpackages' ``__all__`` that derives from
    :class:`sklearn.base.BaseEstimator`.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs sorted by name.
    """
    import importlib

    import sktransfer

    found = {}
    modules = [sktransfer] + [
        importlib.import_module(f"sktransfer.{sub}") for sub in _PUBLIC_SUBPACKAGES
    ]
    for module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseEstimator)
                and not name.startswith("_")
            ):
                found[name] = obj
    return sorted(found.items())


# subpackages whose __all__ lists public estimators (beyond the top level)
_PUBLIC_SUBPACKAGES = ["embed", "integrations", "adapt", "finetune"]

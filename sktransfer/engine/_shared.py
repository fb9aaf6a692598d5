"""Models loaded once per process and shared by the estimators that use them.

Frozen backbones named in the registry are immutable in use (eval mode, no
gradients), so every estimator in a process with the same fingerprint and
device can use one loaded copy: a grid search's clones, the tasks of a Dask
worker, repeated unpickling. At most ``MAX_MODELS`` stay loaded (least
recently used first out).
"""

import threading
from collections import OrderedDict

__all__ = ["clear_shared_models", "shared_model"]

MAX_MODELS = 4
_MODELS = OrderedDict()
_LOCK = threading.Lock()


def shared_model(key, load):
    """Return the model stored under ``key``, loading it with ``load()`` once."""
    with _LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
    model = load()
    with _LOCK:
        model = _MODELS.setdefault(key, model)
        _MODELS.move_to_end(key)
        while len(_MODELS) > MAX_MODELS:
            _MODELS.popitem(last=False)
    return model


def clear_shared_models():
    """Forget every shared model (frees their memory once unreferenced)."""
    with _LOCK:
        _MODELS.clear()

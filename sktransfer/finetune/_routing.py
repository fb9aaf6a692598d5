"""skorch-style ``prefix__param`` arguments of the fine-tuning estimators."""

import inspect

__all__ = ["ROUTED_PREFIXES", "RoutedParamsMixin"]

# prefixes of the ``prefix__param`` arguments routed to the skorch net
ROUTED_PREFIXES = (
    "optimizer",
    "criterion",
    "callbacks",
    "iterator_train",
    "iterator_valid",
)


class RoutedParamsMixin:
    """Extra ``prefix__param`` keyword arguments, stored as they are, shown by
    ``get_params``, accepted by ``set_params`` and routed to the skorch net."""

    @classmethod
    def _init_param_names(cls):
        signature = inspect.signature(cls.__init__)
        return {
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind != p.VAR_KEYWORD
        }

    def _routed_params(self):
        named = self._init_param_names()
        return {
            key: value
            for key, value in vars(self).items()
            if key not in named and not key.startswith("_") and not key.endswith("_")
        }

    def get_params(self, deep=True):
        """Parameters of this estimator, ``prefix__param`` routed ones included."""
        params = super().get_params(deep=deep)
        params.update(self._routed_params())
        return params

    def set_params(self, **params):
        """Set parameters; ``prefix__param`` names are stored for the skorch net."""
        named = self._init_param_names()
        routed = {
            k: v for k, v in params.items() if k not in named and _routed_prefix(k)
        }
        for key, value in routed.items():
            setattr(self, key, value)
        rest = {k: v for k, v in params.items() if k not in routed}
        if rest:
            super().set_params(**rest)
        return self

    def _check_routed_params(self):
        for key in self._routed_params():
            if not _routed_prefix(key):
                raise ValueError(
                    f"{type(self).__name__} got an unexpected parameter {key!r}. "
                    f"Extra parameters are routed to skorch and must start with "
                    f"one of {[p + '__' for p in ROUTED_PREFIXES]}"
                )


def _routed_prefix(key):
    prefix, sep, rest = key.partition("__")
    return bool(sep and rest) and prefix in ROUTED_PREFIXES

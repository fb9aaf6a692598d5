"""Wrap a headless backbone so that it returns pooled features from chosen layers."""

import threading

from sktransfer._optional import import_optional
from sktransfer.backbones._spec import POOLINGS

torch = import_optional("torch")

__all__ = ["FeatureExtractor", "pool_features"]


class _StopForward(Exception):
    """Raised by a hook once every requested layer has been captured."""


def pool_features(output, pooling):
    """Pool a layer output to ``(N, D)``.

    4-D ``(N, C, H, W)`` maps are pooled over space, 3-D ``(N, T, D)`` token
    sequences over tokens (``"cls"`` takes the first token); 2-D outputs are
    returned as they are. ``"cls"`` of a 4-D map raises: a feature map has no
    class token.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if isinstance(output, (tuple, list)):
        output = output[0]
    if output.ndim == 2:
        return output
    if output.ndim == 4:
        if pooling == "cls":
            raise ValueError(
                f"pooling='cls' takes the first token of a (N, T, D) sequence, but "
                f"this layer gives a 4-D feature map of shape {tuple(output.shape)}; "
                "use 'avg', 'max' or 'avgmax' for convolutional layers"
            )
        flat, dim = output.flatten(2), 2
    elif output.ndim == 3:
        flat, dim = output, 1
        if pooling == "cls":
            return output[:, 0]
    else:
        return output.flatten(1)
    if pooling == "max":
        return flat.amax(dim)
    if pooling == "avgmax":
        return torch.cat([flat.mean(dim), flat.amax(dim)], dim=1)
    return flat.mean(dim)


class FeatureExtractor(torch.nn.Module):
    """Pooled penultimate features, or pooled outputs of named layers concatenated.

    Parameters
    ----------
    model : torch.nn.Module
        A headless backbone; its ``forward`` returns pooled penultimate features
        (timm models: ``forward_features`` + ``forward_head(pre_logits=True)``).
    layers : list of str, optional
        Names from ``model.named_modules()``; their outputs are pooled and
        concatenated in this order. The forward pass stops after the last one.
    pooling : {"avg", "max", "avgmax", "cls"}
        Pooling of the layer outputs.
    """

    def __init__(self, model, layers=None, pooling="avg"):
        super().__init__()
        self.model = model
        self.layers = list(layers or [])
        self.pooling = pooling
        self._local = threading.local()  # captured outputs, per calling thread
        modules = dict(model.named_modules())
        missing = [name for name in self.layers if name not in modules]
        if missing:
            available = [name for name, _ in model.named_children()]
            raise ValueError(
                f"layer(s) {missing} not found in the backbone; top-level layers "
                f"are {available} (any name from model.named_modules() works)"
            )
        for name in self.layers:
            modules[name].register_forward_hook(self._hook(name))

    def _hook(self, name):
        def hook(module, inputs, output):
            captured = getattr(self._local, "captured", None)
            if captured is None:  # a forward pass not started by this extractor
                return
            captured[name] = output
            if len(captured) == len(self.layers):
                raise _StopForward

        return hook

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_local", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    def forward(self, x):
        if not self.layers:
            model = self.model
            if hasattr(model, "forward_head") and hasattr(model, "forward_features"):
                out = model.forward_head(model.forward_features(x), pre_logits=True)
            else:
                out = model(x)
            return pool_features(out, self.pooling)
        self._local.captured = captured = {}
        try:
            self.model(x)
        except _StopForward:
            pass
        finally:
            self._local.captured = None
        return torch.cat(
            [pool_features(captured[name], self.pooling) for name in self.layers], 1
        )

"""The torch module that runs a Keras image model on the engine's batches."""

import numpy as np

from sktransfer._optional import import_optional

torch = import_optional("torch")

__all__ = ["KerasImageModule"]


class KerasImageModule(torch.nn.Module):
    """A Keras image model as a torch module taking ``(N, C, H, W)`` batches.

    Parameters
    ----------
    model : keras.Model
        Channels-last image model.
    channels : {1, 3}
        Channels the model takes; RGB batches are averaged to one channel for a
        1-channel model.
    """

    def __init__(self, model, channels=3):
        super().__init__()
        self.channels = channels
        if isinstance(model, torch.nn.Module):  # Keras' torch backend
            self.keras = model
        else:  # TensorFlow or JAX: not a torch module, called on numpy batches
            self.__dict__["keras"] = model
        # variables Keras never trains (BatchNorm moving statistics)
        self._fixed = {v.path for v in model.weights if not v.trainable}
        keras = import_optional("keras")  # imported already: the model is Keras'
        self._batchnorms = [
            layer
            for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.BatchNormalization)
        ]

    def untrainable_parameters(self):
        """Names of parameters that no strategy may train (moving statistics)."""
        return {
            name
            for name, _ in self.named_parameters()
            if name.rpartition("_torch_params.")[2] in self._fixed
        }

    def _sync_batchnorm(self):
        """A BatchNorm layer whose scale and shift are frozen runs in inference mode.

        Keras runs a layer with ``trainable=False`` in inference mode, so its
        moving statistics do not drift while the layers around it train.
        """
        for layer in self._batchnorms:
            trained = [
                variable.value.requires_grad
                for variable in (layer.gamma, layer.beta)
                if variable is not None
            ]
            layer.trainable = any(trained)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        if self.channels == 1:
            x = x.mean(dim=3, keepdim=True)
        model = self.keras
        if isinstance(model, torch.nn.Module):
            if self.training:
                self._sync_batchnorm()
            out = model(x.contiguous(), training=self.training)
        else:
            out = import_optional("keras").ops.convert_to_numpy(
                model(x.detach().cpu().numpy(), training=False)
            )
            out = torch.from_numpy(np.asarray(out, dtype=np.float32)).to(x.device)
        if out.ndim == 4:  # a channels-last feature map: back to (N, C, H, W)
            out = out.permute(0, 3, 1, 2)
        return out

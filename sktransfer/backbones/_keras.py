"""Keras 3 models as image backbones.

A ``keras.Model`` instance, a ``.keras`` file or a TensorFlow SavedModel folder
becomes a `BackboneSpec` whose module is a `KerasImageModule`: a
``torch.nn.Module`` that takes the engine's ``(N, C, H, W)`` batches, hands the
model channels-last pixels and returns its output. On Keras' torch backend the
Keras model is itself a ``torch.nn.Module``, so its variables are parameters of
the wrapper and fine-tuning trains them like any torch backbone; on the
TensorFlow and JAX backends the model's own call runs batch by batch (frozen
features only).

Keras is imported only when one of these is given, never by ``import
sktransfer``. When Keras is not imported yet and ``KERAS_BACKEND`` is unset,
the torch backend is chosen (torch is what sktransfer installs).
"""

import hashlib
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.backbones._spec import BackboneSpec, ImagePreprocessing

__all__ = [
    "import_keras",
    "KerasArchive",
    "is_keras_model",
    "is_keras_path",
    "keras_backend",
    "keras_spec",
    "pack_keras_backbone",
    "unpack_keras_backbone",
]

DEFAULT_SIZE = 224


def import_keras():
    """Import Keras, choosing the torch backend when nothing else was chosen."""
    if "keras" not in sys.modules:
        os.environ.setdefault("KERAS_BACKEND", "torch")
    return import_optional("keras")


def keras_backend():
    """The backend of the imported Keras (``"torch"``, ``"tensorflow"``, ``"jax"``)."""
    return import_keras().backend.backend()


def is_keras_model(value):
    """Whether ``value`` is a ``keras.Model`` (without importing Keras)."""
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.Model)


def is_keras_path(value):
    """Whether ``value`` names a ``.keras`` file or a TensorFlow SavedModel folder."""
    if not isinstance(value, (str, os.PathLike)):
        return False
    path = Path(value).expanduser()
    if path.suffix == ".keras":
        return True
    return path.is_dir() and (path / "saved_model.pb").is_file()


def load_keras(path):
    """Load a ``.keras`` file (``safe_mode=True``) or a SavedModel folder."""
    keras = import_keras()
    path = Path(path).expanduser()
    if path.suffix == ".keras":
        if not path.is_file():
            raise FileNotFoundError(f"no such Keras file: {str(path)!r}")
        if not zipfile.is_zipfile(path):
            raise ValueError(
                f"{str(path)!r} is not a Keras archive (a .keras file is a zip "
                "written by model.save)"
            )
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    try:
        import_optional("tensorflow")
    except ImportError as exc:
        raise ImportError(
            f"{str(path)!r} is a TensorFlow SavedModel folder; reading it needs "
            "the 'tensorflow' package (pip install tensorflow)"
        ) from exc
    layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    return _saved_model_as_model(keras, layer)


def _saved_model_as_model(keras, layer):
    spec = getattr(layer, "_call_signature", None) or {}
    shape = getattr(spec, "shape", None) or (None, None, None, 3)
    inputs = keras.Input(shape=tuple(shape[1:]))
    outputs = layer(inputs)
    if isinstance(outputs, dict):
        outputs = next(iter(outputs.values()))
    return keras.Model(inputs, outputs)


def archive_bytes(model):
    """The model as the bytes of a ``.keras`` archive."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        model.save(path)
        return path.read_bytes()


def model_from_bytes(data):
    """A model from ``.keras`` archive bytes, loaded with ``safe_mode=True``."""
    keras = import_keras()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(data)
        return keras.saving.load_model(path, safe_mode=True, compile=False)


def _to_numpy(value):
    if hasattr(value, "detach"):  # a torch tensor (Keras' torch backend)
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _identity(model):
    """Hash of the model's class, configuration and every variable's values."""
    digest = hashlib.sha256()
    digest.update(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    config = json.dumps(model.get_config(), sort_keys=True, default=repr)
    if " at 0x" in config:
        return None  # a function or object identified by its address: no stable key
    digest.update(config.encode())
    for variable in model.weights:
        digest.update(variable.path.encode())
        digest.update(np.ascontiguousarray(_to_numpy(variable.value)))
    return digest.hexdigest()


def _image_size(model):
    shape = model.inputs[0].shape if getattr(model, "inputs", None) else None
    if shape is None or len(shape) != 4:
        raise ValueError(
            "a Keras image backbone needs a 4-D channels-last input "
            f"(batch, height, width, channels); this model's input is {shape}"
        )
    height, width, channels = shape[1], shape[2], shape[3]
    if channels not in (1, 3):
        raise ValueError(
            f"a Keras image backbone must take 1 or 3 channels, not {channels}"
        )
    return (height or DEFAULT_SIZE, width or DEFAULT_SIZE), channels


def keras_preprocessing(model, mean=None, std=None, scale=None):
    """Keras' pixel convention: float RGB in [0, 255] at the model's input size.

    Keras Applications models rescale inside the model, so by default the
    pixels are only resized (shorter side to the input size) and centre-cropped.
    Pixels in ``[0, scale]`` are normalised as ``(pixel - mean) / std``.
    """
    (height, width), _ = _image_size(model)
    scale = 255.0 if scale is None else float(scale)
    mean = np.broadcast_to(np.asarray(0.0 if mean is None else mean, float), 3)
    std = np.broadcast_to(np.asarray(1.0 if std is None else std, float), 3)
    if scale <= 0 or not np.all(std > 0):
        raise ValueError(f"scale and std must be positive, got {scale} and {std}")
    return ImagePreprocessing(
        crop_size=(int(height), int(width)),
        resize_size=int(min(height, width)),
        interpolation="bilinear",
        mean=tuple(float(m / scale) for m in mean),  # on pixels scaled to [0, 1]
        std=tuple(float(s / scale) for s in std),
    )


def _feature_model(model, layer):
    """The model cut at ``layer`` (a layer name), or the model itself."""
    if layer is None:
        return model
    keras = import_keras()
    names = [each.name for each in model.layers]
    if layer not in names:
        raise ValueError(
            f"layer {layer!r} not found in the Keras model; its layers are "
            f"{names[-8:]} (last 8 of {len(names)})"
        )
    return keras.Model(model.inputs, model.get_layer(layer).output)


def keras_spec(model, *, name=None, layer=None, mean=None, std=None, scale=None):
    """Spec of a Keras image model (instance, ``.keras`` file or SavedModel folder).

    Parameters
    ----------
    model : keras.Model, str or Path
        The model, or where it is saved.
    name : str, optional
        Registry name; by default ``"keras:<model name>"``.
    layer : str, optional
        Name of the layer whose output is the features (e.g. the layer before
        a classification head). By default the model's output.
    mean, std, scale : optional
        Pixels are floats in ``[0, scale]`` normalised as ``(pixel - mean) /
        std``; by default ``[0, 255]`` as they are (Keras Applications models
        rescale inside the model).

    Returns
    -------
    spec : BackboneSpec
        Family ``"keras"``; its builder returns a `KerasImageModule` holding a
        copy of the model, so the user's model is never changed.
    """
    source = None
    if not is_keras_model(model):
        source = str(Path(model).expanduser())
        model = load_keras(model)
    model = _feature_model(model, layer)
    _, channels = _image_size(model)
    identity = _identity(model)
    output_shape = tuple(model.outputs[0].shape) if model.outputs else ()
    blob = archive_bytes(model)

    def build(pretrained=True, keep_head=False, n_features=None):
        copy = model_from_bytes(blob)
        if not pretrained:
            copy = import_keras().models.clone_model(copy)  # fresh initial weights
        from sktransfer.backbones._keras_module import KerasImageModule

        return KerasImageModule(copy, channels=channels)

    return BackboneSpec(
        name=name or f"keras:{model.name}",
        modality="image",
        builder=build,
        weights_id=identity,
        preprocessing=keras_preprocessing(model, mean, std, scale),
        output_dim=output_shape[-1] if len(output_shape) == 2 else None,
        family="keras",
        offline=True,
        description=f"Keras model {model.name!r}"
        + (f" from {source}" if source else ""),
        extra={"source": source, "layer": layer, "backend": keras_backend()},
    )


class KerasArchive:
    """A Keras model held as ``.keras`` bytes, for pickles (loaded safely).

    Keras' own pickling reloads with ``safe_mode=False``; estimators store their
    Keras backbone as this instead and turn it back with `unpack_backbone`.
    """

    def __init__(self, data):
        self.data = data

    def load(self):
        return model_from_bytes(self.data)


def _swap(state, convert):
    """Apply ``convert`` to ``state``'s values and those of its dict values.

    One converted object per original object, so a model referenced twice (the
    ``backbone`` parameter and its copy in ``_fitted_params``) is still one
    object after a round trip.
    """
    done = {}

    def swap(value):
        if id(value) not in done:
            done[id(value)] = (value, convert(value))
        return done[id(value)][1]

    for key, value in list(state.items()):
        if isinstance(value, dict):
            state[key] = {k: swap(v) for k, v in value.items()}
        else:
            state[key] = swap(value)
    return state


def pack_keras_backbone(state):
    """Keras models in an estimator's pickled state -> `KerasArchive` bytes."""
    if "keras" not in sys.modules:
        return state
    return _swap(
        state,
        lambda v: KerasArchive(archive_bytes(v)) if is_keras_model(v) else v,
    )


def unpack_keras_backbone(state):
    """`KerasArchive` values of an unpickled state -> models (``safe_mode=True``)."""
    return _swap(state, lambda v: v.load() if isinstance(v, KerasArchive) else v)

"""The backbone registry: names -> specs, and resolution of any backbone value."""

import sys
import threading
from pathlib import Path

from sktransfer.backbones._spec import MODALITIES, BackboneSpec

__all__ = ["backbone_modality", "get_backbone", "list_backbones", "register_backbone"]

# name -> (factory returning a BackboneSpec, modality, description)
_FACTORIES = {}
_SPECS = {}
_REPLACED = set()  # built-in names that register_backbone replaced
_LOCK = threading.Lock()


def _builtin():
    from sktransfer.backbones import _offline, _toy

    entries = {}
    for variant in (0, 1, 2):
        entries[f"tf_efficientnet_lite{variant}"] = (
            lambda v=variant: _offline.efficientnet_lite_spec(v),
            "image",
            f"EfficientNet-Lite{variant} ImageNet (offline, packaged weights)",
        )
    entries["all-MiniLM-L6-v2"] = (
        _offline.minilm_spec,
        "text",
        "sentence-transformers all-MiniLM-L6-v2, 384-d (offline, packaged weights)",
    )
    for spec in _toy.toy_specs():
        entries[spec.name] = (lambda s=spec: s, spec.modality, spec.description)
    return entries


_ALIASES = {"sentence-transformers/all-MiniLM-L6-v2": "all-MiniLM-L6-v2"}


def _ensure_builtin():
    if not _FACTORIES:
        with _LOCK:
            if not _FACTORIES:
                _FACTORIES.update(_builtin())


def list_backbones(modality=None):
    """Names of the registered backbones.

    Registered names are the ones that work offline (weights shipped in
    installed packages), the toy backbones and those added with
    `register_backbone`. Any torchvision name (``"resnet50"``,
    ``"torchvision:resnet50:IMAGENET1K_V2"``), timm name (``"timm:resnet18"``)
    or sentence-transformers id (``"sentence-transformers/all-mpnet-base-v2"``)
    or folder is accepted as well; those download their weights when online.

    Parameters
    ----------
    modality : {"image", "text", "numeric"}, optional
        Only list backbones of this modality.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> from sktransfer import list_backbones
    >>> "tf_efficientnet_lite0" in list_backbones("image")
    True
    """
    _ensure_builtin()
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
    return sorted(
        name for name, (_, mod, _) in _FACTORIES.items() if modality in (None, mod)
    )


def describe_backbones():
    """``(name, modality, description)`` for each registered backbone."""
    _ensure_builtin()
    return [(name, mod, desc) for name, (_, mod, desc) in sorted(_FACTORIES.items())]


def register_backbone(
    name,
    spec=None,
    *,
    architecture=None,
    checkpoint=None,
    overwrite=False,
    layer=None,
    mean=None,
    std=None,
    scale=None,
):
    """Register a backbone under a name.

    Either give a ready `BackboneSpec` (or a zero-argument callable returning
    one), a Keras image model (a ``keras.Model``, a ``.keras`` file or a
    TensorFlow SavedModel folder), or an ``architecture`` plus a local
    ``checkpoint`` file of weights.

    Parameters
    ----------
    name : str
        The registry name.
    spec : BackboneSpec or callable, optional
        The spec, or a factory called on first use.
    architecture : str, optional
        A resolvable backbone name whose architecture and preprocessing the
        checkpoint's weights fit, e.g. ``"timm:resnet18"`` or ``"resnet18"``.
    checkpoint : str or Path, optional
        Weights saved with ``torch.save(model.state_dict(), path)``; loaded
        with ``weights_only=True``.
    overwrite : bool, default=False
        Replace an existing registration of the same name.
    layer : str, optional
        Keras models only: the layer whose output is the features (e.g. the
        one before a classification head). By default the model's output.
    mean, std : sequence of 3 floats, optional
        Keras models only: per-channel normalisation of the pixels after
        scaling, ``(pixel - mean) / std``. Default 0 and 1.
    scale : float, optional
        Keras models only: pixels are floats in ``[0, scale]``. Default 255
        (Keras Applications models rescale inside the model).

    Returns
    -------
    spec : BackboneSpec

    Examples
    --------
    >>> from sktransfer import get_backbone, register_backbone
    >>> spec = register_backbone("my-toy", get_backbone("toy-image"), overwrite=True)
    >>> spec.modality
    'image'
    """
    _ensure_builtin()
    if not isinstance(name, str) or not name:
        raise ValueError(f"backbone name must be a non-empty string, got {name!r}")
    if name in _FACTORIES and not overwrite:
        raise ValueError(
            f"a backbone named {name!r} is already registered; pass overwrite=True"
        )
    if (spec is None) == (checkpoint is None):
        raise ValueError("give either spec or architecture and checkpoint")
    keras_options = {"layer": layer, "mean": mean, "std": std, "scale": scale}
    built = _build_spec(name, spec, architecture, checkpoint, keras_options)
    with _LOCK:
        _FACTORIES[name] = (lambda: built, built.modality, built.description)
        _SPECS.pop(name, None)
        _REPLACED.add(name)
    return built


def _build_spec(name, spec, architecture, checkpoint, keras_options):
    """The `BackboneSpec` that `register_backbone`'s arguments describe."""
    if _is_keras(spec):
        from sktransfer.backbones._keras import keras_spec

        return keras_spec(spec, name=name, **keras_options)
    if any(value is not None for value in keras_options.values()):
        raise ValueError(
            "layer, mean, std and scale apply to Keras models only; a torch "
            "backbone's preprocessing comes from its weights"
        )
    if checkpoint is not None:
        if architecture is None:
            raise ValueError("a checkpoint needs the architecture it belongs to")
        from sktransfer.backbones._module import checkpoint_spec

        return checkpoint_spec(name, get_backbone(architecture), checkpoint)
    if isinstance(spec, BackboneSpec):
        return spec
    if not callable(spec):
        raise TypeError(f"spec must be a BackboneSpec or a callable, got {spec!r}")
    built = spec()
    if not isinstance(built, BackboneSpec):
        raise TypeError(
            f"spec factory returned {type(built).__name__}, not BackboneSpec"
        )
    return built


def registered_as(backbone):
    """``(name, kind)``: ``kind`` is ``"builtin"`` (unreplaced), ``"user"`` or None.

    Reads the registry only: nothing is built, and no torch import.
    """
    _ensure_builtin()
    name = _ALIASES.get(backbone, backbone)
    if name in _REPLACED:
        return name, "user"
    return name, ("builtin" if name in _FACTORIES else None)


def backbone_modality(backbone, default="image"):
    """The modality of a backbone value without building or downloading it."""
    _ensure_builtin()
    if isinstance(backbone, BackboneSpec):
        return backbone.modality
    if isinstance(backbone, str):
        name = _ALIASES.get(backbone, backbone)
        if name in _FACTORIES:
            return _FACTORIES[name][1]
    return default


def get_backbone(backbone, modality=None):
    """Resolve a backbone value to its `BackboneSpec` (without building it).

    Parameters
    ----------
    backbone : str, Path, BackboneSpec, torch.nn.Module or nn.Module class
        Resolved in this order: a spec as is; a module instance or class; a
        registered name; an existing path (a sentence-transformers folder);
        ``"torchvision:<arch>[:<WEIGHTS>]"``, ``"timm:<name>"``,
        ``"st:<id>"`` or ``"hf:<id>"``; a bare torchvision model name
        (``"resnet50"``, weights ``"DEFAULT"``, or ``"resnet50:IMAGENET1K_V2"``);
        a bare timm name; an id with a slash (sentence-transformers).
    modality : {"image", "text", "numeric"}, optional
        For modules: what the module consumes (default ``"image"``).

    Returns
    -------
    spec : BackboneSpec

    Examples
    --------
    >>> from sktransfer import get_backbone
    >>> spec = get_backbone("toy-image")
    >>> spec.modality, spec.preprocessing.crop_size
    ('image', (32, 32))
    """
    _ensure_builtin()
    if isinstance(backbone, BackboneSpec):
        return backbone
    if _is_keras(backbone):
        from sktransfer.backbones._keras import keras_spec

        return keras_spec(backbone)
    if not isinstance(backbone, (str, Path)):
        from sktransfer.backbones._module import module_spec

        return module_spec(backbone, modality=modality or "image")
    name = _ALIASES.get(str(backbone), str(backbone))
    if name in _FACTORIES:
        with _LOCK:
            if name not in _SPECS:
                _SPECS[name] = _FACTORIES[name][0]()
            return _SPECS[name]
    return _resolve_external(name)


def _is_keras(value):
    """A Keras model, ``.keras`` file or SavedModel folder (Keras not imported)."""
    if isinstance(value, (str, Path)):
        path = Path(value).expanduser()
        return path.suffix == ".keras" or (path / "saved_model.pb").is_file()
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(value, keras.Model)


def _resolve_external(name):
    from sktransfer.backbones import _hub

    path = Path(name).expanduser()
    if path.exists():
        if path.is_dir() and (path / "modules.json").is_file():
            return _hub.sentence_transformers_spec(str(path))
        raise ValueError(
            f"backbone path {name!r} is not a sentence-transformers folder (no "
            f"modules.json). For a weights file use "
            f"register_backbone(name, architecture=..., checkpoint={name!r})"
        )
    prefix, _, rest = name.partition(":")
    if prefix == "torchvision":
        arch, _, weights = rest.partition(":")
        return _hub.torchvision_spec(arch, weights or "DEFAULT")
    if prefix == "timm":
        return _hub.timm_spec(rest)
    if prefix in ("st", "hf"):
        return _hub.sentence_transformers_spec(rest)
    from sktransfer._optional import import_optional

    tv_models = import_optional("torchvision.models")
    arch, _, weights = name.partition(":")
    if arch in tv_models.list_models(module=tv_models):
        return _hub.torchvision_spec(arch, weights or "DEFAULT")
    timm = import_optional("timm")
    if timm.is_model(name.split(".")[0]):
        return _hub.timm_spec(name)
    if "/" in name:
        return _hub.sentence_transformers_spec(name)
    raise ValueError(
        f"unknown backbone {name!r}: not a registered name ({list_backbones()}), "
        f"not a path, and not a torchvision, timm or sentence-transformers name"
    )

"""Backbones from a user's own module (instance or class) or a checkpoint file."""

import copy
import inspect

from sktransfer._optional import import_optional
from sktransfer.backbones._spec import BackboneSpec, ImagePreprocessing

__all__ = ["checkpoint_spec", "module_spec"]

IMAGENET_PREPROCESSING = ImagePreprocessing(
    crop_size=(224, 224),
    resize_size=256,
    interpolation="bilinear",
    mean=(0.485, 0.456, 0.406),
    std=(0.229, 0.224, 0.225),
)


def _module_identity(module):
    """``(weights_id, extra)`` of a module: its content hash, or None and why."""
    from sktransfer.backbones._fingerprint import module_sha256, qualified_name

    if type(module).__name__ == "OptimizedModule":  # torch.compile: same outputs
        module = module._orig_mod
    try:
        digest = module_sha256(module)
    except Exception as exc:  # noqa: BLE001 - any failure means: do not cache
        reason = (
            f"no stable fingerprint of {type(module).__name__}: "
            f"{type(exc).__name__}: {exc}"
        )
        return None, {"uncacheable_reason": reason}
    return f"module:{qualified_name(type(module))}:sha256:{digest}", {}


def _preprocessing_of(module):
    cfg = getattr(module, "pretrained_cfg", None) or getattr(
        module, "default_cfg", None
    )
    if cfg and "input_size" in cfg:
        from timm.data import resolve_data_config

        return ImagePreprocessing.from_timm_config(
            resolve_data_config({}, pretrained_cfg=dict(cfg))
        )
    return IMAGENET_PREPROCESSING


def module_spec(module, modality="image", preprocessing=None):
    """Spec of a user's ``nn.Module`` instance or class.

    The module is used as given: its ``forward`` must return the features
    (or a timm-style ``forward_features`` / ``forward_head`` pair, used with
    ``pre_logits=True``). An instance is deep-copied when built, so the
    user's object is never moved or switched to eval mode. A class is
    instantiated once, with no arguments, and that instance is used.

    The weights id is a hash of what defines the module's output: the class
    and code of each submodule, every parameter and buffer (persistent or
    not), the configuration attributes (``global_pool``, timm's
    ``pretrained_cfg``, ...), forward hooks and ``repr(module)``. When part of
    it has no stable description (a ``repr`` with a memory address, an
    attribute that is an opaque object), ``weights_id`` is None and the spec
    is not ``cacheable``.

    Parameters
    ----------
    module : torch.nn.Module or type
        The module or its class.
    modality : {"image", "text", "numeric"}
        What the module consumes. Text modules map a list of strings to a
        tensor.
    preprocessing : ImagePreprocessing, optional
        Image preprocessing; by default the module's timm config if it has
        one, else ImageNet's (224 px crop of a 256 px resize).
    """
    torch = import_optional("torch")
    is_class = inspect.isclass(module)
    if not (
        (is_class and issubclass(module, torch.nn.Module))
        or isinstance(module, torch.nn.Module)
    ):
        raise TypeError(
            f"expected a torch.nn.Module instance or class, got {type(module).__name__}"
        )
    instance = module() if is_class else module
    name = f"module:{type(instance).__name__}"

    def build(pretrained=True, keep_head=False, n_features=None):
        return copy.deepcopy(instance).eval()  # the instance that was hashed

    if modality == "image" and preprocessing is None:
        preprocessing = _preprocessing_of(instance)
    weights_id, extra = _module_identity(instance)
    return BackboneSpec(
        name=name,
        modality=modality,
        builder=build,
        weights_id=weights_id,
        extra=extra,
        preprocessing=preprocessing if modality == "image" else None,
        family="timm" if hasattr(instance, "forward_head") else "module",
        offline=True,
        description=f"user module {type(instance).__name__}",
    )


def checkpoint_spec(name, architecture, checkpoint):
    """Spec of an architecture whose weights come from a local checkpoint file.

    Parameters
    ----------
    name : str
        Name under which it is registered.
    architecture : BackboneSpec
        The resolved spec of the architecture the weights fit (the registry
        resolves names such as ``"timm:resnet18"``); its preprocessing is
        reused.
    checkpoint : str or Path
        A ``state_dict`` saved with ``torch.save``, loaded with
        ``weights_only=True`` (no code is executed). A dict with a
        ``"state_dict"`` key is accepted too. A classifier head in the file is
        ignored when building a headless backbone.
    """
    from pathlib import Path

    from sktransfer.backbones._fingerprint import file_sha256

    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {str(path)!r}")
    base = architecture

    def build(pretrained=True, keep_head=False):
        model = base.build(pretrained=False, keep_head=True)
        if pretrained:
            from sktransfer.backbones._checkpoint import read_state_dict

            where = f"checkpoint file {str(path)!r}"
            state = read_state_dict(path, where, unwrap=True)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                raise ValueError(
                    f"checkpoint {str(path)!r} does not match architecture "
                    f"{base.name!r}: {exc}"
                ) from exc
        if not keep_head:
            _strip_head(model, base.family)
        return model.eval()

    return BackboneSpec(
        name=name,
        modality=base.modality,
        builder=build,
        # the architecture too: the same file fits models that differ in
        # configuration (timm's resnet18 with global_pool="avg" or "max")
        weights_id=f"{base.name}:{base.family}:sha256:{file_sha256(path)}",
        preprocessing=base.preprocessing,
        output_dim=base.output_dim,
        family=base.family,
        offline=True,
        description=f"{base.name} with weights from {path}",
        extra={"checkpoint": str(path), "architecture": base.name},
    )


def _strip_head(model, family):
    if family == "timm":
        model.reset_classifier(0)
    elif family == "torchvision":
        from sktransfer.backbones._hub import strip_torchvision_head

        strip_torchvision_head(model)

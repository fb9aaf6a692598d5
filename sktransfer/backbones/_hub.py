"""Backbones that download their weights when online: torchvision, timm, HF ids.

Each builder runs the library's own loading code (which reads the local cache
first). When the weights are neither cached nor downloadable, the error is a
`BackboneNotAvailableError` that says so and names the offline backbones.
"""

from sktransfer._optional import import_optional
from sktransfer.backbones._spec import BackboneSpec, ImagePreprocessing
from sktransfer.exceptions import BackboneNotAvailableError

__all__ = [
    "sentence_transformers_spec",
    "strip_torchvision_head",
    "timm_spec",
    "torchvision_spec",
]

OFFLINE_HINT = (
    "Backbones that work with no network: 'tf_efficientnet_lite0', "
    "'tf_efficientnet_lite1', 'tf_efficientnet_lite2' (images) and "
    "'all-MiniLM-L6-v2' (text); see sktransfer.list_backbones()."
)

_TORCHVISION_HEADS = ("fc", "classifier", "heads", "head")


def not_available(name, exc):
    """The error raised when a downloadable backbone cannot be loaded."""
    return BackboneNotAvailableError(
        f"could not load the weights of backbone {name!r}: they are not in the "
        f"local cache and downloading them failed ({type(exc).__name__}: {exc}). "
        f"Connect to the network once to cache them, or use a local checkpoint "
        f"(register_backbone(..., checkpoint=path)). {OFFLINE_HINT}"
    )


def strip_torchvision_head(model):
    """Replace a torchvision classifier's final head with ``Identity``."""
    torch = import_optional("torch")
    for attribute in _TORCHVISION_HEADS:
        if isinstance(getattr(model, attribute, None), torch.nn.Module):
            setattr(model, attribute, torch.nn.Identity())
            return model
    raise ValueError(
        f"cannot find the classification head of {type(model).__name__} "
        f"(looked for attributes {_TORCHVISION_HEADS})"
    )


def torchvision_spec(arch, weights="DEFAULT"):
    """Spec of a torchvision classification model with a weight enum.

    Parameters
    ----------
    arch : str
        A name from ``torchvision.models.list_models()``, e.g. ``"resnet50"``.
    weights : str
        A member of the model's weight enum, e.g. ``"IMAGENET1K_V2"``, or
        ``"DEFAULT"``.
    """
    models = import_optional("torchvision.models")
    enum = models.get_model_weights(arch)
    try:
        weight = enum[weights.upper()] if weights.upper() != "DEFAULT" else enum.DEFAULT
    except KeyError:
        raise ValueError(
            f"torchvision model {arch!r} has no weights {weights!r}; available: "
            f"{[w.name for w in enum]}"
        ) from None
    name = f"torchvision:{arch}:{weight.name}"

    def build(pretrained=True, keep_head=False):
        try:
            model = models.get_model(arch, weights=weight if pretrained else None)
        except (OSError, RuntimeError, ValueError) as exc:
            raise not_available(name, exc) from exc
        if not keep_head:
            strip_torchvision_head(model)
        return model.eval()

    return BackboneSpec(
        name=name,
        modality="image",
        builder=build,
        weights_id=f"torchvision:{weight}:{weight.url.rsplit('/', 1)[-1]}",
        preprocessing=ImagePreprocessing.from_torchvision_transforms(
            weight.transforms()
        ),
        output_dim=None,
        family="torchvision",
        offline=False,
        description=f"torchvision {arch} with weights {weight}",
        extra={"url": weight.url, "arch": arch},
    )


def timm_spec(model_name, checkpoint_file=None):
    """Spec of a timm model (``"resnet18"``, ``"vit_small_patch16_224.augreg_in21k"``).

    Parameters
    ----------
    model_name : str
        A timm model name, optionally with a pretrained tag.
    checkpoint_file : str or Path, optional
        Load the weights from this local file through timm's own loader
        (``pretrained_cfg_overlay={"file": ...}``) instead of the hub.
    """
    timm = import_optional("timm")
    from timm.data import resolve_data_config

    if not timm.is_model(model_name.split(".")[0]):
        raise ValueError(f"{model_name!r} is not a timm model name")
    try:
        pretrained_cfg = timm.models.get_pretrained_cfg(model_name).to_dict()
    except (AttributeError, RuntimeError):
        pretrained_cfg = {}
    config = resolve_data_config({}, pretrained_cfg=pretrained_cfg)
    name = f"timm:{model_name}"

    def build(pretrained=True, keep_head=False):
        overlay = {"file": str(checkpoint_file)} if checkpoint_file else None
        try:
            model = timm.create_model(
                model_name, pretrained=pretrained, pretrained_cfg_overlay=overlay
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise not_available(name, exc) from exc
        if not keep_head:
            model.reset_classifier(0)
        return model.eval()

    if checkpoint_file:
        from sktransfer.backbones._fingerprint import file_sha256

        weights_id = f"sha256:{file_sha256(checkpoint_file)}"
    else:
        weights_id = f"timm:{model_name}:{pretrained_cfg.get('hf_hub_id', '')}"
    return BackboneSpec(
        name=name,
        modality="image",
        builder=build,
        weights_id=weights_id,
        preprocessing=ImagePreprocessing.from_timm_config(config),
        output_dim=None,
        family="timm",
        offline=bool(checkpoint_file),
        description=f"timm {model_name}",
        extra={"timm_name": model_name},
    )


def sentence_transformers_spec(model_id):
    """Spec of a sentence-transformers model: a hub id or a local folder."""
    from pathlib import Path

    local = Path(model_id).expanduser()
    is_folder = local.is_dir()
    name = str(local.resolve()) if is_folder else model_id

    def build(pretrained=True):
        from sktransfer.backbones._offline import load_sentence_transformer

        if not pretrained:
            raise ValueError("sentence-transformers backbones load pretrained weights")
        try:
            return load_sentence_transformer(name)
        except (OSError, RuntimeError, ValueError) as exc:
            if is_folder:
                raise ValueError(
                    f"folder {name!r} is not a loadable sentence-transformers "
                    f"model: {exc}"
                ) from exc
            raise not_available(name, exc) from exc

    weights_id, extra = f"hf:{model_id}", {}
    if is_folder:
        from sktransfer.backbones._fingerprint import folder_identity

        weights_id, extra = folder_identity(local)
    return BackboneSpec(
        name=name,
        modality="text",
        builder=build,
        weights_id=weights_id,
        extra=extra,
        family="sentence-transformers",
        offline=is_folder,
        description=f"sentence-transformers model {name}",
    )

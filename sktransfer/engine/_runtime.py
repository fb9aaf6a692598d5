"""CPU runtimes for frozen forward passes: the interface, the registry, the export.

A frozen backbone's forward pass (the module the inference loop calls, with
its layer extraction and pooling, or a sentence-transformers model's
transformer + pooling + normalisation) is exported once to ONNX with dynamic
batch (and sequence) axes, stored in a per-user folder, and run by ONNX
Runtime or OpenVINO. Tokenisation, decoding and preprocessing stay in Python.

Exports are keyed by the backbone fingerprint, the module's type and
structure, the input names, the ONNX opset and the torch version, written
atomically (temporary file + ``os.replace``, so concurrent processes never
read half a file) and reused by every later process.
"""

import hashlib
import importlib.util
import os
import tempfile
import warnings
from pathlib import Path

from sktransfer._optional import import_optional

__all__ = [
    "EXACT_COSINE",
    "LOSSY_COSINE",
    "RUNTIMES",
    "Runtime",
    "export_key",
    "export_onnx",
    "prune_exports",
    "runtime_folder",
    "weights_digest",
]

RUNTIMES = ("auto", "torch", "onnx", "openvino")
OPSET = 17
# features equal to torch fp32 to this cosine count as exact; lossy precisions
# are checked against a looser floor that catches a broken export, not the loss
EXACT_COSINE = 0.9999
LOSSY_COSINE = {"bf16": 0.99, "int8": 0.8}


class Runtime:
    """A loaded inference session of an exported ONNX graph.

    Subclasses set ``name``, ``package`` (the module whose presence means the
    runtime is installed) and ``precisions`` (those it runs), and implement
    ``__init__(path, precision, threads, folder=None, calibration=None,
    modality=None)`` (``calibration``: a callable returning network inputs,
    for static int8; ``modality``: what the graph reads) and ``run(feeds)``;
    ``path`` attribute: the file loaded.
    """

    name = None
    package = None
    precisions = ("fp32",)

    @classmethod
    def installed(cls):
        """Whether the runtime's package can be imported (without importing it)."""
        return importlib.util.find_spec(cls.package) is not None

    def run(self, feeds):
        """Run the graph on ``{input name: ndarray}``; return the output array."""
        raise NotImplementedError


def runtime_folder():
    """Where exported graphs live (one per-user folder, shared by processes).

    ``$SKTRANSFER_HOME/runtimes`` when set, else
    ``$XDG_CACHE_HOME/sktransfer/runtimes`` (``~/.cache/sktransfer/runtimes``).
    """
    home = os.environ.get("SKTRANSFER_HOME")
    if home:
        return Path(home).expanduser() / "runtimes"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "sktransfer" / "runtimes"


def export_key(fingerprint, module, inputs):
    """A folder name for one export: what makes the graph differ."""
    torch = import_optional("torch")
    digest = hashlib.sha256()
    kind = type(module)
    for part in (
        fingerprint,
        f"{kind.__module__}.{kind.__qualname__}",
        repr(module),
        repr(inputs),
        OPSET,
        torch.__version__.split("+")[0],
    ):
        digest.update(str(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


def weights_digest(module):
    """A hash of ``module``'s state (names, dtypes, shapes and bytes of every tensor).

    What keys the export of a fitted (fine-tuned) network: equal digests mean
    equal weights and buffers.
    """
    torch = import_optional("torch")
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


def prune_exports(folder, keep, min_age_s=3600.0):
    """Remove all but the ``keep`` most recently written export folders in ``folder``.

    For exports that are made per fitted network (fine-tuned weights), which
    would otherwise pile up. A folder written in the last ``min_age_s`` seconds
    is never removed, so a concurrent process does not lose the file it is
    about to load (a lost file is exported again).
    """
    import shutil
    import time

    folder = Path(folder)
    if not folder.is_dir():
        return
    entries = []
    for entry in folder.iterdir():
        try:
            if entry.is_dir():
                entries.append((entry.stat().st_mtime, entry))
        except OSError:  # removed meanwhile by another process
            continue
    entries.sort(reverse=True)
    now = time.time()
    for mtime, entry in entries[keep:]:
        if now - mtime >= min_age_s:
            shutil.rmtree(entry, ignore_errors=True)


def export_onnx(module, example, dynamic_axes, path):
    """Export ``module`` to ``path`` (ONNX) unless it is there already.

    Parameters
    ----------
    module : torch.nn.Module
        Called as ``module(*example.values())``; returns one 2-D tensor.
    example : dict of str to torch.Tensor
        Example inputs, by input name.
    dynamic_axes : dict
        ``{input name: {axis: axis name}}`` for the axes that vary.
    path : Path
        Destination; written to a temporary file first, then renamed.

    Returns
    -------
    path : Path
    """
    torch = import_optional("torch")
    path = Path(path)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".onnx")
    os.close(handle)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # the TorchScript exporter announces its deprecation and warns about
            # traced Python conditions; the export is checked against torch after
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                tuple(example.values()),
                tmp,
                input_names=list(example),
                output_names=["features"],
                dynamic_axes={**dynamic_axes, "features": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_derive(source, destination, write):
    """Write ``destination`` from ``source`` with ``write(source, tmp)``, atomically."""
    destination = Path(destination)
    if destination.is_file():
        return destination
    handle, tmp = tempfile.mkstemp(
        dir=destination.parent, prefix=".tmp-", suffix=destination.suffix
    )
    os.close(handle)
    try:
        write(Path(source), Path(tmp))
        os.replace(tmp, destination)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return destination

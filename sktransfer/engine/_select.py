"""Choosing the runtime of a frozen forward pass: export once, check, fall back.

``"auto"`` tries, on the CPU, OpenVINO then ONNX Runtime (the order measured
in ``benchmarks/results/runtimes.md``; the reverse for texts at int8),
keeping the first that is installed,
exports and gives the same features as torch; on CUDA, with ``compile`` set,
for numeric toy backbones, or when neither is installed it is torch. An
explicit runtime is used when it works; when its export or its check fails,
one ``RuntimeWarning`` says why and torch runs instead.

Loaded sessions are shared per process (`sktransfer.engine._shared`), so the
export check runs once per process and the grid-search clones, Dask tasks and
unpickled copies reuse the session.
"""

import functools
import threading
import warnings

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.engine._runtime import (
    EXACT_COSINE,
    LOSSY_COSINE,
    export_key,
    export_onnx,
)

__all__ = ["runtime_candidates", "select_runner"]

AUTO_ORDER = ("openvino", "onnx")
# int8: OpenVINO runs the statically quantized image copies faster and closer
# to torch, ONNX Runtime the dynamically quantized text ones (OpenVINO's rate
# end to end: 1.35x ONNX Runtime's for EfficientNet-Lite0, 0.36x for MiniLM;
# benchmarks/results/runtimes.md)
INT8_ORDER = {"image": ("openvino", "onnx"), "text": ("onnx", "openvino")}
# calibration inputs the int8 check compares with torch
_CALIBRATION_PROBES = 4
_WARNED = set()
_LOCK = threading.Lock()


def _runtime_classes():
    from sktransfer.engine._onnx import OnnxRuntime
    from sktransfer.engine._openvino import OpenVINORuntime

    return {"onnx": OnnxRuntime, "openvino": OpenVINORuntime}


class _Classes(dict):
    """``{name: Runtime subclass}``, filled on first use (imports stay cheap)."""

    def __missing__(self, name):
        self.update(_runtime_classes())
        return dict.__getitem__(self, name)


RUNTIME_CLASSES = _Classes()


class NotExactError(ValueError):
    """The runtime's features differ from torch's beyond the tolerance."""


def runtime_candidates(runtime, precision, device, modality, compiled):
    """The runtimes to try, in order; empty means torch.

    Raises
    ------
    ValueError
        An explicit runtime that cannot apply (CUDA device, ``compile`` set,
        a precision it does not run).
    ImportError
        An explicit runtime whose package is not installed (names the extra).
    """
    if precision == "int8" and runtime == "torch":  # int8 copies of an export
        raise ValueError(
            "precision='int8' needs runtime='onnx', 'openvino' or 'auto', got "
            "runtime='torch'"
        )
    if runtime == "torch":
        return []
    if runtime == "auto":
        if device.type != "cpu" or compiled or modality == "numeric":
            return []
        order = INT8_ORDER[modality] if precision == "int8" else AUTO_ORDER
        return [
            name
            for name in order
            if precision in RUNTIME_CLASSES[name].precisions
            and RUNTIME_CLASSES[name].installed()
        ]
    runtime_class = RUNTIME_CLASSES[runtime]
    if device.type != "cpu":
        raise ValueError(
            f"runtime={runtime!r} runs on the CPU but device is {str(device)!r}; "
            "use runtime='torch' or 'auto' on CUDA"
        )
    if compiled:
        raise ValueError(
            f"compile applies to runtime='torch' only; got runtime={runtime!r} "
            "with compile set"
        )
    if precision not in runtime_class.precisions:
        raise ValueError(
            f"runtime={runtime!r} runs precision in {runtime_class.precisions}, "
            f"got precision={precision!r}"
        )
    import_optional(runtime_class.package)
    return [runtime]


def _min_cosine(out, reference):
    if out.shape != reference.shape:
        return -1.0
    norms = np.linalg.norm(out, axis=1) * np.linalg.norm(reference, axis=1)
    dots = (out.astype(np.float64) * reference).sum(1)
    both_zero = (np.abs(out).max(1) == 0) & (np.abs(reference).max(1) == 0)
    cosines = np.where(both_zero, 1.0, dots / np.maximum(norms, 1e-30))
    return float(cosines.min())


def _check(runtime, graph, precision, calibration=None):
    """Compare with torch fp32 on the graph's probe inputs (random, or for a
    calibrated int8 copy the first calibration inputs: real images)."""
    floor = EXACT_COSINE if precision == "fp32" else LOSSY_COSINE[precision]
    probe, reference = graph.probe, graph.reference
    if calibration is not None:
        torch = import_optional("torch")
        (name,) = probe
        probe = {name: calibration()[:_CALIBRATION_PROBES]}
        with torch.inference_mode():
            reference = graph.module(torch.from_numpy(probe[name])).float().numpy()
    cosine = _min_cosine(np.asarray(runtime.run(probe)), reference)
    if not cosine >= floor:
        raise NotExactError(
            f"features differ from torch fp32 (cosine {cosine:.6f} < {floor})"
        )


def _build(name, precision, threads, path, graph, calibration=None, modality=None):
    """Export (unless cached), load and check; a cached file failing is redone once."""
    runtime_class = RUNTIME_CLASSES[name]
    if precision != "int8":
        calibration = None
    for attempt in range(2):
        cached = path.is_file()
        g = graph()
        export_onnx(g.module, g.example, g.dynamic_axes, path)
        try:
            runtime = runtime_class(
                path,
                precision,
                threads,
                folder=path.parent,
                calibration=calibration,
                modality=modality,
            )
            _check(runtime, g, precision, calibration)
        except Exception:
            if not cached or attempt:
                raise
            for stale in path.parent.glob("model*.onnx"):
                stale.unlink(missing_ok=True)
            continue
        return g.make_runner(runtime)
    raise AssertionError("unreachable")  # pragma: no cover


def select_runner(
    model,
    *,
    runtime,
    precision,
    device,
    modality,
    compiled,
    folder,
    fingerprint,
    prompt=None,
    example_shape=None,
    calibration=None,
):
    """The runner of the first runtime that works, or ``(None, "torch")``.

    Parameters
    ----------
    model : torch.nn.Module
        The eager torch model (image feature extractor or sentence model).
    runtime, precision : str
        The estimator's parameters (precision already resolved).
    device : torch.device
    modality : {"image", "text", "numeric"}
    compiled : bool
        Whether ``compile`` is set (then ``"auto"`` means torch).
    folder : Path
        The runtimes folder (see `runtime_folder`).
    fingerprint : str
        The backbone fingerprint at fp32 (exports do not depend on precision).
    prompt : str, optional
        Text prompt (part of the probe inputs).
    example_shape : tuple of int, optional
        Shape of one input tensor (image and numeric models).
    calibration : callable, optional
        Returns network inputs (an array of ``example_shape`` rows) for a
        statically quantized int8 copy (images); without it int8 is dynamic.

    Returns
    -------
    runner : object or None
        What the embedder calls instead of the torch model (None: torch).
    name : str
        The runtime used.
    """
    from sktransfer.engine._runners import graph_of
    from sktransfer.engine._shared import shared_model

    names = runtime_candidates(runtime, precision, device, modality, compiled)
    if not names:
        return None, "torch"
    torch = import_optional("torch")
    threads = torch.get_num_threads()
    key = export_key(fingerprint, model, [modality, example_shape])
    path = folder / key / "model.onnx"
    graph = functools.cache(lambda: graph_of(model, modality, prompt, example_shape))
    if graph() is None:  # e.g. a text module that tokenises inside forward
        if runtime != "auto":
            _warn_once(
                (str(folder), key, tuple(names), precision),
                runtime,
                [f"{type(model).__name__} has no exportable forward pass"],
            )
        return None, "torch"
    errors = []
    for name in names:
        try:
            runner = shared_model(
                ("runtime", str(folder), key, name, precision, threads),
                lambda name=name: _build(
                    name, precision, threads, path, graph, calibration, modality
                ),
            )
        except Exception as error:  # noqa: BLE001 - reported, torch runs instead
            errors.append(f"{name}: {type(error).__name__}: {_first_line(error)}")
            continue
        return runner, name
    _warn_once((str(folder), key, tuple(names), precision), runtime, errors)
    return None, "torch"


def _first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else ""


def _warn_once(key, runtime, errors):
    with _LOCK:
        if key in _WARNED:
            return
        _WARNED.add(key)
    warnings.warn(
        f"runtime={runtime!r} could not run this backbone ({'; '.join(errors)}); "
        "running on torch instead. Pass runtime='torch' to skip "
        "the attempt.",
        RuntimeWarning,
        stacklevel=4,
    )

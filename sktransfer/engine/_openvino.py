"""OpenVINO (CPU plugin) under the embedders."""

import threading

from sktransfer._optional import import_optional
from sktransfer.engine._runtime import Runtime

__all__ = ["OpenVINORuntime"]

# OpenVINO's CPU plugin runs bf16 by default on CPUs that support it, so fp32
# is asked for explicitly (exact); bf16 is the explicit lossy choice; int8 runs
# the quantized copy (its int8 parts in int8, the rest in f32)
_HINTS = {"fp32": "f32", "bf16": "bf16", "int8": "f32"}


class OpenVINORuntime(Runtime):
    """An OpenVINO compiled model of an exported ONNX graph, on the CPU.

    Parameters
    ----------
    path : Path
        The ONNX file (read directly by OpenVINO).
    precision : {"fp32", "bf16", "int8"}
        The CPU plugin's inference precision hint; ``"int8"`` loads the int8
        copy of the export (`sktransfer.engine._onnx.int8_file`, made with
        ONNX Runtime's quantization tools).
    threads : int
        Inference threads (the torch thread count, for like-for-like use).
    folder : Path
        Where OpenVINO keeps its compiled-model cache, so later processes
        skip the compilation.
    calibration : callable, optional
        Network inputs for static int8 quantization (images).
    """

    name = "openvino"
    package = "openvino"
    precisions = ("fp32", "bf16", "int8")

    def __init__(
        self, path, precision, threads, folder=None, calibration=None, modality=None
    ):
        ov = import_optional("openvino")
        if precision == "int8":
            from sktransfer.engine._onnx import int8_file

            path = int8_file(path, calibration)
        self.path = path  # the file loaded (the fast start's record names it)
        core = ov.Core()
        config = {
            "INFERENCE_PRECISION_HINT": _HINTS[precision],
            "INFERENCE_NUM_THREADS": int(threads),
            "PERFORMANCE_HINT": "LATENCY",
        }
        if folder is not None:
            config["CACHE_DIR"] = str(folder / "openvino-cache")
        self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.request = self.compiled.create_infer_request()
        self._lock = threading.Lock()  # one infer request: one call at a time

    def run(self, feeds):
        with self._lock:
            return self.request.infer(feeds)[0].copy()

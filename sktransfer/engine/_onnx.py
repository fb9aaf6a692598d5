"""ONNX Runtime (CPU execution provider) under the embedders."""

import logging

from sktransfer._optional import import_optional
from sktransfer.engine._runtime import Runtime, atomic_derive

__all__ = ["OnnxRuntime"]


def _quantize(source, destination):
    """Dynamic int8 quantization of the matrix products (transformer layers).

    Convolutions are left in fp32: their dynamic quantization (ConvInteger)
    loses too much (cosine 0.55 to torch for EfficientNet-Lite0).
    """
    quantization = import_optional("onnxruntime.quantization")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # shape-inference chatter on dynamic axes
    try:
        quantization.quantize_dynamic(
            str(source),
            str(destination),
            weight_type=quantization.QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
        )
    finally:
        root.setLevel(level)


class OnnxRuntime(Runtime):
    """An ONNX Runtime session of an exported graph.

    ``precision="int8"`` runs a copy with dynamic int8 quantization of the
    weights (``onnxruntime.quantization.quantize_dynamic``), derived once from
    the fp32 export and stored beside it.

    Parameters
    ----------
    path : Path
        The ONNX file.
    precision : {"fp32", "int8"}
    threads : int
        Intra-op threads (the torch thread count, for like-for-like use).
    folder : Path
        The export folder (unused: ONNX Runtime keeps no compiled cache).
    """

    name = "onnx"
    package = "onnxruntime"
    precisions = ("fp32", "int8")

    @classmethod
    def prepare(cls, onnx_path, precision):
        if precision != "int8":
            return onnx_path
        return atomic_derive(
            onnx_path, onnx_path.with_name("model.int8.onnx"), _quantize
        )

    def __init__(self, path, precision, threads, folder=None):
        ort = import_optional("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 4  # failures surface as exceptions
        self.path = self.prepare(path, precision)  # the file loaded
        self.session = ort.InferenceSession(
            str(self.path),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )

    def run(self, feeds):
        return self.session.run(None, feeds)[0]

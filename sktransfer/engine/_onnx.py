"""ONNX Runtime (CPU execution provider) under the embedders."""

from sktransfer._optional import import_optional
from sktransfer.engine._runtime import Runtime, atomic_derive

__all__ = ["OnnxRuntime", "int8_file"]


# Whether ONNX Runtime's intra-op threads spin-wait between runs (its
# default), by input modality. For images the decode-ahead thread runs beside
# the session and spinning threads take its core, so they sleep between runs
# (1.17x to 1.40x end to end); texts run nothing beside the session, and
# sleeping there ran 0.81x to 0.98x, so they spin. Measured in
# benchmarks/results/ort_spinning.md.
SPIN = {"image": False, "text": True, "numeric": True}


def int8_file(onnx_path, calibration=None):
    """The int8 copy of ``onnx_path`` to load, derived from it once.

    Static quantization (`sktransfer.engine._quantize.quantize_static`)
    when ``calibration`` (a callable returning network inputs) is given or
    its file is there already (a fast start, which has no calibration
    inputs); dynamic quantization of the matrix products otherwise.
    """
    from sktransfer.engine import _quantize

    static = onnx_path.with_name(
        f"model.int8-static-v{_quantize.CALIBRATION_VERSION}.onnx"
    )
    if calibration is not None:
        return atomic_derive(
            onnx_path,
            static,
            lambda source, tmp: _quantize.quantize_static(source, tmp, calibration()),
        )
    if static.is_file():
        return static
    return atomic_derive(
        onnx_path, onnx_path.with_name("model.int8.onnx"), _quantize.quantize_dynamic
    )


class OnnxRuntime(Runtime):
    """An ONNX Runtime session of an exported graph.

    ``precision="int8"`` runs an int8 copy derived once from the fp32 export
    and stored beside it (see `int8_file`).

    Parameters
    ----------
    path : Path
        The ONNX file.
    precision : {"fp32", "int8"}
    threads : int
        Intra-op threads (the torch thread count, for like-for-like use).
    folder : Path
        The export folder (unused: ONNX Runtime keeps no compiled cache).
    calibration : callable, optional
        Network inputs for static int8 quantization (images).
    modality : {"image", "text", "numeric"}, optional
        What the graph reads: whether its threads spin between runs (`SPIN`).
    """

    name = "onnx"
    package = "onnxruntime"
    precisions = ("fp32", "int8")

    def __init__(
        self, path, precision, threads, folder=None, calibration=None, modality=None
    ):
        ort = import_optional("onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 4  # failures surface as exceptions
        if not SPIN.get(modality, True):
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # the file loaded, which a fast start's record names (`int8_file` of an
        # int8 copy is that copy)
        self.path = int8_file(path, calibration) if precision == "int8" else path
        self.session = ort.InferenceSession(
            str(self.path),
            sess_options=options,
            providers=["CPUExecutionProvider"],
        )

    def run(self, feeds):
        return self.session.run(None, feeds)[0]

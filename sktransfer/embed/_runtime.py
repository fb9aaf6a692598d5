"""The ``runtime`` parameter of the embedders: what runs the frozen forward pass."""

import functools

from sklearn.utils._param_validation import StrOptions

from sktransfer.engine._device import PRECISIONS
from sktransfer.engine._runtime import RUNTIMES

__all__ = ["RUNTIME_CONSTRAINTS", "RuntimeMixin", "with_runtime_doc"]

RUNTIME_CONSTRAINTS = {
    "runtime": [StrOptions(set(RUNTIMES))],
    "precision": [StrOptions({*PRECISIONS, "int8"})],
}

# the ``runtime`` and ``precision`` entries of the embedders' docstrings
_RUNTIME_DOC = """\
    runtime : {"auto", "torch", "onnx", "openvino"}, default="auto"
        What runs the frozen forward pass. ``"onnx"`` (ONNX Runtime) and
        ``"openvino"`` run a graph exported once per backbone (cached on
        disk) on the CPU, several times faster than torch eager there.
        ``"auto"``: OpenVINO, else ONNX Runtime, when installed (the
        ``cpu-runtimes`` extra) and exact for this backbone (features equal
        to torch fp32 to a cosine >= 0.9999, checked at fit); torch on CUDA,
        with ``compile`` set, or when neither is installed. If the export or
        the check fails, one ``RuntimeWarning`` says why and torch runs.
        ``runtime_`` says what is used. See :ref:`cpu-runtimes`. Once a
        configuration has run on an export, a fresh process fits and
        transforms from that export without importing torch (a checked
        record beside it; ``SKTRANSFER_FAST_START=0`` turns this off).
    precision : {"auto", "fp32", "bf16", "fp16", "int8"}, default="auto"
        ``"auto"``: fp32 on CPU; autocast bf16 (or fp16) on CUDA. ``"bf16"``
        on the CPU runs OpenVINO's bf16 when it is the runtime (else torch
        autocast); ``"int8"`` runs an int8 copy of the export on OpenVINO
        or ONNX Runtime (images: statically quantized, activation ranges
        calibrated once on fixed sample photos; texts: the matrix products
        dynamically quantized). Lossy precisions change the fingerprint
        (cache key); an exact runtime does not.
"""


def with_runtime_doc(cls):
    """Put the shared ``runtime`` / ``precision`` entries in ``cls``'s docstring."""
    cls.__doc__ = cls.__doc__.replace("    <runtime and precision>\n", _RUNTIME_DOC)
    return cls


class RuntimeMixin:
    """Run the frozen forward pass on torch, ONNX Runtime or OpenVINO.

    Put before `BaseEmbedder` in the bases. After the torch model is loaded
    and probed, `sktransfer.engine._select.select_runner` picks the runtime
    (exported once per backbone fingerprint and checked against torch),
    ``runtime_`` reports it, and the fingerprint gains the runtime's name only
    for a lossy precision (an exact runtime shares torch's cache entries).
    """

    def _load_model(self):
        self.__dict__.pop("runtime_", None)
        super()._load_model()
        self.batch_size_ = self._batch_size()
        return self._spec.fingerprint(**self._fingerprint_options())

    def _batch_size(self):
        """``batch_size``, with ``"auto"`` resolved for the device and runtime."""
        from sktransfer.engine._batch import resolve_batch_size

        return resolve_batch_size(
            self.batch_size,
            self._device,
            self.__dict__.get("runtime_", "torch"),
            self._spec.modality,
        )

    def _fingerprint_options(self):
        options = super()._fingerprint_options()
        runtime = self.__dict__.get("runtime_")
        if runtime not in (None, "torch") and options["precision"] != "fp32":
            options["runtime"] = runtime
        return options

    def _example_shape(self):
        if self._spec.modality == "image":
            return (3, *self._preprocessing().crop_size)
        if self._spec.modality == "numeric":
            return (self.n_features_in_,)
        return None

    def _calibration(self):
        """For image models at int8: the calibration inputs, made when needed."""
        if self._spec.modality != "image" or self._precision != "int8":
            return None
        from sktransfer.engine._quantize import calibration_images

        transform = self._transform_fn()
        return functools.cache(lambda: calibration_images(transform))

    def _make_runner(self, shared_key=None):
        from sktransfer.engine._compile import compile_options
        from sktransfer.engine._runtime import runtime_folder
        from sktransfer.engine._select import select_runner

        exact = {**self._fingerprint_options(), "precision": "fp32"}
        exact.pop("runtime", None)
        runner, name = select_runner(
            self._model,
            runtime=self.runtime,
            precision=self._precision,
            device=self._device,
            modality=self._spec.modality,
            compiled=compile_options(self.compile) is not None,
            folder=runtime_folder(),
            fingerprint=self._spec.fingerprint(**exact),
            prompt=getattr(self, "prompt", None),
            example_shape=self._example_shape(),
            calibration=self._calibration(),
        )
        self.runtime_ = name
        if runner is None:
            if self._precision == "int8":  # ONNX Runtime failed: torch runs fp32
                self._precision = "fp32"
            return super()._make_runner(shared_key)
        return runner

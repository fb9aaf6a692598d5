"""Int8 copies of an exported graph: dynamic for transformers, static for CNNs.

Both are derived once from the fp32 export by ``onnxruntime.quantization``
and stored beside it (`sktransfer.engine._runtime.atomic_derive`); ONNX
Runtime and OpenVINO both run the files.

- Dynamic (`quantize_dynamic`): the matrix products' weights in int8, their
  activations quantized on the fly. What transformers need; convolutions stay
  fp32 (their dynamic quantization, ConvInteger, gave a cosine of 0.55 to
  torch for EfficientNet-Lite0).
- Static (`quantize_static`): weights per output channel and activations per
  tensor, in QDQ format, with activation ranges calibrated once on
  `calibration_images`: crops of the two photos scikit-learn ships, through
  the backbone's own preprocessing. Fixed, so the file depends on the
  backbone only, never on the data a user fits. Measured in
  ``benchmarks/results/runtimes.md``.
"""

import logging

import numpy as np

from sktransfer._optional import import_optional

__all__ = [
    "CALIBRATION_VERSION",
    "calibration_images",
    "quantize_dynamic",
    "quantize_static",
]

# part of the static file's name: a change of the calibration set or the
# quantization settings must not reuse an older file
CALIBRATION_VERSION = 1
_CROPS_PER_PHOTO = 16
_BATCH = 8


class _QuietRoot:
    """The root logger at ERROR meanwhile (shape-inference chatter on dynamic axes)."""

    def __enter__(self):
        root = logging.getLogger()
        self.level = root.level
        root.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        logging.getLogger().setLevel(self.level)


def quantize_dynamic(source, destination):
    """Dynamic int8 quantization of the matrix products (``MatMul``, ``Gemm``)."""
    quantization = import_optional("onnxruntime.quantization")
    with _QuietRoot():
        quantization.quantize_dynamic(
            str(source),
            str(destination),
            weight_type=quantization.QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
        )


def quantize_static(source, destination, calibration):
    """Static int8 quantization (QDQ) with ranges calibrated on ``calibration``.

    Parameters
    ----------
    source, destination : Path
        The fp32 ONNX file (one input, ``"x"``) and the file to write.
    calibration : ndarray of shape (n, ...), float32
        Network inputs whose activations set the ranges (min / max).
    """
    quantization = import_optional("onnxruntime.quantization")
    calibration = np.ascontiguousarray(calibration, dtype=np.float32)

    class Reader(quantization.CalibrationDataReader):
        def __init__(self):
            self.batches = iter(
                {"x": calibration[i : i + _BATCH]}
                for i in range(0, len(calibration), _BATCH)
            )

        def get_next(self):
            return next(self.batches, None)

    prepared = destination.with_name(destination.stem + ".pre.onnx")
    try:
        with _QuietRoot():
            # shape inference and folding first, as onnxruntime recommends
            quantization.quant_pre_process(str(source), str(prepared))
            quantization.quantize_static(
                str(prepared),
                str(destination),
                Reader(),
                quant_format=quantization.QuantFormat.QDQ,
                per_channel=True,
                # 7-bit weights: u8 x s8 products saturate on CPUs without
                # VNNI (AVX2 only: cosine 0.53 to torch on an AMD EPYC)
                reduce_range=True,
                activation_type=quantization.QuantType.QUInt8,
                weight_type=quantization.QuantType.QInt8,
                calibrate_method=quantization.CalibrationMethod.MinMax,
            )
    finally:
        prepared.unlink(missing_ok=True)


def calibration_images(transform):
    """Network inputs for calibration: crops of scikit-learn's two sample photos.

    ``_CROPS_PER_PHOTO`` crops per photo, from a quarter of its height to all
    of it, every other one mirrored and every fourth one grey, each through
    ``transform`` (the embedder's preprocessing). Deterministic.

    Parameters
    ----------
    transform : callable
        A float ``(3, H, W)`` tensor in [0, 1] -> the network input.

    Returns
    -------
    images : ndarray of shape (32, 3, h, w), float32
    """
    torch = import_optional("torch")
    from sklearn.datasets import load_sample_images

    generator = np.random.default_rng(0)
    inputs = []
    for photo in load_sample_images().images:
        height, width = photo.shape[:2]
        for k in range(_CROPS_PER_PHOTO):
            scale = generator.uniform(0.25, 1.0)
            crop_h = int(height * scale)
            crop_w = int(min(width, crop_h * generator.uniform(0.8, 1.25)))
            top = generator.integers(0, height - crop_h + 1)
            left = generator.integers(0, width - crop_w + 1)
            crop = photo[top : top + crop_h, left : left + crop_w].astype(np.float32)
            if k % 2:
                crop = crop[:, ::-1]
            if k % 4 == 3:
                crop = np.repeat(crop.mean(axis=2, keepdims=True), 3, axis=2)
            pixels = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))
            inputs.append(np.asarray(transform(pixels / 255.0), dtype=np.float32))
    return np.stack(inputs)

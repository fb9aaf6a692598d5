"""precision="int8": static quantization for images, dynamic for texts, on both runtimes."""

import warnings

import numpy as np
import pytest

from sktransfer import ImageEmbedder, TextEmbedder

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytestmark = pytest.mark.usefixtures("runtime_home")

IMAGES = np.random.default_rng(0).integers(0, 255, (6, 40, 40, 3), dtype=np.uint8)
TEXTS = ["a good film", "bad", "the acting is fine; the script is not"]
RUNTIMES = ["onnx", "openvino"]


def _min_cosine(a, b):
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(((a * b).sum(1) / norms).min())


def _ops(path):
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_image_int8_runs_a_statically_quantized_copy(runtime):
    if runtime == "openvino":
        pytest.importorskip("openvino")
    fp32 = ImageEmbedder("toy-image", runtime="torch").fit(IMAGES)
    est = ImageEmbedder("toy-image", runtime=runtime, precision="int8").fit(IMAGES)
    assert est.runtime_ == runtime and est.fingerprint_ != fp32.fingerprint_
    path = est._runner.runtime.path
    assert path.name == "model.int8-static-v1.onnx"
    ops = _ops(path)
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    assert _min_cosine(est.transform(IMAGES), fp32.transform(IMAGES)) > 0.9


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_text_int8_runs_a_dynamically_quantized_copy(runtime):
    if runtime == "openvino":
        pytest.importorskip("openvino")
    pytest.importorskip("sentence_transformers")
    from sktransfer.backbones import get_backbone

    model = get_backbone("all-MiniLM-L6-v2").build()
    encoder = model[0].auto_model.encoder
    encoder.layer = encoder.layer[:1]
    fp32 = TextEmbedder(model, runtime="torch").fit(TEXTS)
    est = TextEmbedder(model, runtime=runtime, precision="int8").fit(TEXTS)
    assert est.runtime_ == runtime
    path = est._runner.runtime.path
    assert path.name == "model.int8.onnx" and "MatMulInteger" in _ops(path)
    assert _min_cosine(est.transform(TEXTS), fp32.transform(TEXTS)) > 0.9


def test_auto_int8_prefers_openvino_for_images_and_onnx_for_texts():
    pytest.importorskip("openvino")
    from sktransfer.engine._select import runtime_candidates

    cpu = torch.device("cpu")
    assert runtime_candidates("auto", "int8", cpu, "image", False)[0] == "openvino"
    assert runtime_candidates("auto", "int8", cpu, "text", False)[0] == "onnx"
    assert runtime_candidates("auto", "fp32", cpu, "text", False)[0] == "openvino"
    est = ImageEmbedder("toy-image", precision="int8").fit(IMAGES)
    assert est.runtime_ == "openvino"


def test_calibration_inputs_are_fixed_photos_through_the_preprocessing():
    from sktransfer.engine._quantize import calibration_images

    est = ImageEmbedder("toy-image", runtime="torch").fit(IMAGES)
    first = calibration_images(est._transform_fn())
    again = calibration_images(est._transform_fn())
    crop = est._preprocessing().crop_size
    assert first.shape == (32, 3, *crop) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert len({row.tobytes() for row in first}) == 32  # distinct crops


def test_a_failed_quantization_falls_back_to_torch_and_leaves_no_file(
    monkeypatch, runtime_home
):
    from sktransfer.engine import _quantize

    def broken(source, destination, calibration):
        destination.write_bytes(b"half a file")
        raise RuntimeError("calibration failed")

    monkeypatch.setattr(_quantize, "quantize_static", broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = ImageEmbedder("toy-image", runtime="onnx", precision="int8").fit(IMAGES)
    assert est.runtime_ == "torch"
    messages = [str(w.message) for w in caught if w.category is RuntimeWarning]
    assert len(messages) == 1 and "calibration failed" in messages[0]
    assert not list(runtime_home.rglob("model.int8*")), "a partial int8 file is left"
    assert est.transform(IMAGES).shape[0] == len(IMAGES)


def test_int8_on_torch_is_an_error():
    with pytest.raises(ValueError, match="precision='int8' needs runtime='onnx'"):
        ImageEmbedder("toy-image", runtime="torch", precision="int8").fit(IMAGES)


@pytest.mark.slow
def test_efficientnet_lite0_int8_keeps_fashion_mnist_features_close():
    pytest.importorskip("openvino")
    from sktransfer.datasets import fashion_mnist_available, load_fashion_mnist

    if not fashion_mnist_available():
        pytest.skip("Fashion-MNIST not installed")
    images = load_fashion_mnist("test")[0][:32]
    reference = ImageEmbedder(runtime="torch").fit(images).transform(images)
    est = ImageEmbedder(precision="int8").fit(images)
    assert est.runtime_ == "openvino"
    out = est.transform(images)
    cosines = (out * reference).sum(1) / (
        np.linalg.norm(out, axis=1) * np.linalg.norm(reference, axis=1)
    )
    assert cosines.mean() > 0.9 and cosines.min() > 0.7

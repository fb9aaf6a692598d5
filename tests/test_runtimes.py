"""CPU runtimes (ONNX Runtime, OpenVINO) under the embedders: same features as torch."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from sktransfer import ImageEmbedder, TextEmbedder

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("runtime_home")

IMAGES = np.random.default_rng(0).integers(0, 255, (6, 40, 40, 3), dtype=np.uint8)
TEXTS = [
    "a good film",
    "a rather long and slow film, with too many characters and no plot at all",
    "bad",
    "a good film",
    "the acting is fine; the script is not",
]
RUNTIMES = ["onnx", "openvino"]
PACKAGES = {"onnx": "onnxruntime", "openvino": "openvino"}


def _needs(runtime):
    pytest.importorskip(PACKAGES[runtime])
    pytest.importorskip("onnx")


def _min_cosine(a, b):
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(((a * b).sum(1) / norms).min())


@pytest.fixture(scope="module")
def tiny_sentence_model():
    """all-MiniLM-L6-v2 cut to one transformer layer: a real tokenizer, fast."""
    pytest.importorskip("sentence_transformers")
    from sktransfer.backbones import get_backbone

    model = get_backbone("all-MiniLM-L6-v2").build()
    encoder = model[0].auto_model.encoder
    encoder.layer = encoder.layer[:1]
    return model


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(
    "options", [{}, {"layer": ["0", "3"], "pooling": "avgmax", "normalize": True}]
)
def test_image_runtimes_match_torch(runtime, options):
    _needs(runtime)
    reference = ImageEmbedder("toy-image", runtime="torch", **options).fit(IMAGES)
    est = ImageEmbedder("toy-image", runtime=runtime, **options).fit(IMAGES)
    assert est.runtime_ == runtime and reference.runtime_ == "torch"
    assert type(est._runner).__name__ == "TensorRunner"
    assert est.fingerprint_ == reference.fingerprint_  # exact: same cache key
    np.testing.assert_allclose(
        est.transform(IMAGES), reference.transform(IMAGES), atol=1e-5
    )
    assert est.transform(IMAGES[:1]).shape == (1, est.embedding_dim_)  # any batch


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_text_runtimes_match_torch_with_options(runtime, tiny_sentence_model):
    _needs(runtime)
    options = {"normalize": True, "max_length": 8, "prompt": "query: "}
    reference = TextEmbedder(tiny_sentence_model, runtime="torch", **options)
    est = TextEmbedder(tiny_sentence_model, runtime=runtime, batch_size=2, **options)
    Z = est.fit(TEXTS).transform(TEXTS)
    assert est.runtime_ == runtime
    np.testing.assert_allclose(Z, reference.fit(TEXTS).transform(TEXTS), atol=1e-5)
    np.testing.assert_array_equal(Z[0], Z[3])  # duplicates computed once
    longer = clone(est).set_params(max_length=None).fit(TEXTS).transform(TEXTS)
    assert not np.allclose(longer[1], Z[1])  # max_length reaches the tokenizer


def _spins(est):
    """ONNX Runtime's ``allow_spinning`` entry of the embedder's session."""
    options = est._runner.runtime.session.get_session_options()
    try:
        value = options.get_session_config_entry("session.intra_op.allow_spinning")
    except RuntimeError:  # not set: ONNX Runtime's default, which spins
        value = "1"
    return value != "0"


def test_onnx_threads_sleep_between_image_batches_and_spin_for_texts(
    tiny_sentence_model,
):
    # images: the decode thread needs the cores between runs (ort_spinning.md)
    _needs("onnx")
    image = ImageEmbedder("toy-image", runtime="onnx").fit(IMAGES)
    text = TextEmbedder(tiny_sentence_model, runtime="onnx").fit(TEXTS)
    assert image.runtime_ == text.runtime_ == "onnx"
    assert not _spins(image) and _spins(text)


def test_auto_picks_an_installed_exact_runtime_and_torch_where_it_must():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("openvino")
    assert ImageEmbedder("toy-image").fit(IMAGES).runtime_ == "openvino"
    compiled = ImageEmbedder("toy-image", compile={"backend": "eager"})
    assert compiled.fit(IMAGES).runtime_ == "torch"  # compile applies to torch
    numeric = ImageEmbedder("toy-numeric").fit(np.ones((3, 4)))
    assert numeric.runtime_ == "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # not exportable: no warning
        assert TextEmbedder("toy-text").fit(TEXTS).runtime_ == "torch"
    with pytest.warns(RuntimeWarning, match="no exportable forward pass"):
        assert TextEmbedder("toy-text", runtime="onnx").fit(TEXTS).runtime_ == "torch"


class _PythonShift(torch.nn.Module):
    """A shift read into Python: the tracer bakes the export batch's in."""

    def forward(self, x):
        pooled = x.mean((2, 3))
        return pooled + float(pooled.max())


def test_inexact_or_failing_export_falls_back_to_torch_with_one_warning(monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    est = ImageEmbedder(_PythonShift(), runtime="onnx")
    with pytest.warns(RuntimeWarning, match="differ from torch") as record:
        est.fit(IMAGES)
    assert len(record) == 1 and est.runtime_ == "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # once per process
        again = clone(est).fit(IMAGES)
    assert again.runtime_ == "torch"
    reference = ImageEmbedder(_PythonShift(), runtime="torch").fit(IMAGES)
    np.testing.assert_array_equal(again.transform(IMAGES), reference.transform(IMAGES))

    def failing_export(*args, **kwargs):
        raise RuntimeError("exporter cannot handle this op")

    monkeypatch.setattr(torch.onnx, "export", failing_export)
    with pytest.warns(RuntimeWarning, match="cannot handle this op") as record:
        est = ImageEmbedder("toy-image", runtime="auto").fit(IMAGES)
    assert len(record) == 1 and est.runtime_ == "torch"


def test_pickle_leaves_the_session_out_and_export_is_reused(runtime_home):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from sktransfer.engine._shared import clear_shared_models

    est = ImageEmbedder("toy-image", runtime="onnx").fit(IMAGES)
    Z = est.transform(IMAGES)
    (export,) = runtime_home.glob("*/model.onnx")
    stamp = export.stat().st_mtime_ns
    blob = pickle.dumps(est)
    assert len(blob) < 20_000 and b"InferenceSession" not in blob
    clear_shared_models()  # as in a new process: only the file is left
    loaded = pickle.loads(blob)
    np.testing.assert_array_equal(loaded.transform(IMAGES), Z)
    assert loaded.runtime_ == "onnx"
    other = ImageEmbedder("toy-image", runtime="onnx").fit(IMAGES[:2])
    assert other._runner is loaded._runner  # one session per process
    assert list(runtime_home.glob("*/model.onnx")) == [export]
    assert export.stat().st_mtime_ns == stamp  # no second export


def test_lossy_precisions_change_the_fingerprint(tiny_sentence_model):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("openvino")
    exact = ImageEmbedder("toy-image", runtime="torch").fit(IMAGES)
    torch_bf16 = ImageEmbedder("toy-image", runtime="torch", precision="bf16")
    ov_bf16 = ImageEmbedder("toy-image", runtime="openvino", precision="bf16")
    fingerprints = {
        exact.fingerprint_,
        torch_bf16.fit(IMAGES).fingerprint_,
        ov_bf16.fit(IMAGES).fingerprint_,
    }
    assert len(fingerprints) == 3 and ov_bf16.runtime_ == "openvino"
    assert _min_cosine(ov_bf16.transform(IMAGES), exact.transform(IMAGES)) > 0.99

    int8 = TextEmbedder(tiny_sentence_model, precision="int8").fit(TEXTS)
    fp32 = TextEmbedder(tiny_sentence_model, runtime="torch").fit(TEXTS)
    assert int8.runtime_ == "onnx" and int8.fingerprint_ != fp32.fingerprint_
    assert _min_cosine(int8.transform(TEXTS), fp32.transform(TEXTS)) > 0.9


def test_exact_runtime_shares_embedding_cache_entries_with_torch(tmp_path):
    pytest.importorskip("openvino")
    pytest.importorskip("onnx")
    first = ImageEmbedder("toy-image", runtime="openvino", cache=tmp_path / "c")
    Z = first.fit(IMAGES).transform(IMAGES)
    second = ImageEmbedder("toy-image", runtime="torch", cache=tmp_path / "c")
    second.fit(IMAGES)
    second._embed_raw = None  # every row must come from the cache
    np.testing.assert_array_equal(second.transform(IMAGES), Z)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"runtime": "tensorrt"}, "'runtime' parameter"),
        ({"runtime": "onnx", "compile": True}, "compile applies to runtime='torch'"),
        ({"runtime": "torch", "precision": "int8"}, "precision='int8' needs"),
        ({"runtime": "onnx", "precision": "bf16"}, "runs precision in"),
    ],
)
def test_runtime_parameter_errors(params, match):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("openvino")
    with pytest.raises(ValueError, match=match):
        ImageEmbedder("toy-image", **params).fit(IMAGES)


# -- real weights on real data --------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_efficientnet_lite0_runtimes_are_exact_on_fashion_mnist(runtime):
    _needs(runtime)
    from sktransfer.datasets import fashion_mnist_available, load_fashion_mnist

    if not fashion_mnist_available():
        pytest.skip("Fashion-MNIST not installed")
    images = load_fashion_mnist("test")[0][:16]
    reference = ImageEmbedder(runtime="torch", batch_size=8).fit(images)
    est = ImageEmbedder(runtime=runtime, batch_size=8).fit(images)
    assert est.runtime_ == runtime
    cosine = _min_cosine(est.transform(images), reference.transform(images))
    assert cosine >= 0.9999


@pytest.mark.slow
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_minilm_runtimes_are_exact_on_movie_reviews(runtime, shared_data):
    _needs(runtime)
    pytest.importorskip("sentence_transformers")
    path = shared_data / "rt-polarity" / "rt-polarity.pos"
    texts = path.read_text(encoding="latin-1").splitlines()[:48]
    reference = TextEmbedder(runtime="torch").fit(texts)
    est = TextEmbedder(runtime=runtime).fit(texts)
    assert est.runtime_ == runtime
    cosine = _min_cosine(est.transform(texts), reference.transform(texts))
    assert cosine >= 0.9999

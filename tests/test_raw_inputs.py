"""The raw-input core shared by the embedders and the fine-tuners.

One module resolves the backbone, records the input column, probes the output
width and sets the input tags for both families; one length-sorted loop runs
their text inference; ``prompt`` and ``image_size`` mean the same on both.
"""

import ast
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

import sktransfer
from sktransfer import (
    ImageClassifier,
    ImageEmbedder,
    ImageRegressor,
    TextClassifier,
    TextEmbedder,
    TextRegressor,
)
from sktransfer.engine import _text_inference
from sktransfer.engine._raw_inputs import RawInputMixin, at_image_size

PACKAGE = Path(sktransfer.__file__).parent
RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (8, 24, 24, 3), dtype=np.uint8)
TEXTS = ["a good film", "bad", "a good film", "an awful, long film", "ok", "bad"]
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"]
ESTIMATORS = [
    ImageEmbedder,
    TextEmbedder,
    ImageClassifier,
    ImageRegressor,
    TextClassifier,
    TextRegressor,
]
SHARED = ("_resolve_spec", "_record_column", "_check_column", "_output_dim")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


@pytest.mark.parametrize("name", SHARED)
def test_both_families_run_the_same_core_methods(name):
    implementations = {getattr(cls, name) for cls in ESTIMATORS}
    assert implementations == {getattr(RawInputMixin, name)}
    assert all(issubclass(cls, RawInputMixin) for cls in ESTIMATORS)


@pytest.mark.parametrize("cls", [TextEmbedder, TextClassifier])
def test_the_modality_error_is_the_same(cls):
    message = f"backbone 'toy-image' is a image backbone; {cls.__name__} needs a text"
    with pytest.raises(ValueError, match=message):
        cls("toy-image").fit(TEXTS, LABELS)


def _length_sorts(path):
    """Whether the module at ``path`` sorts by ``len`` (an argsort over lengths)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "argsort":
            if "len(" in ast.unparse(node):
                return True
    return False


def test_one_length_sorting_implementation():
    sorting = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if _length_sorts(path)
    ]
    assert sorting == ["engine/_text_inference.py"]


def test_length_sorted_encoding_restores_order_and_computes_duplicates_once():
    texts = ["bb", "a", "dddd", "bb", "ccc", "a", "eeeee", "ccc"]
    seen = []

    def encode(batch):
        seen.append(list(batch))
        return np.array([[len(text), ord(text[0])] for text in batch], dtype=float)

    out = _text_inference.encode_length_sorted(texts, encode)
    assert seen == [["eeeee", "dddd", "ccc", "bb", "a"]]  # distinct, longest first
    expected = [[len(text), ord(text[0])] for text in texts]
    np.testing.assert_array_equal(out, expected)  # input order
    # ties keep their input order
    assert list(_text_inference.length_order(["xy", "z", "ab", "q"])) == [0, 2, 1, 3]


def _spy(monkeypatch):
    calls = []
    original = _text_inference.run_text_inference

    def spy(module, texts, **kwargs):
        calls.append(list(texts))
        return original(module, texts, **kwargs)

    monkeypatch.setattr(_text_inference, "run_text_inference", spy)
    return calls


def test_embedders_and_fine_tuners_run_the_same_text_loop(monkeypatch):
    shuffled = ["a b c d e f", "x", "one two three", "x", "a b c d e f", "two w"]
    calls = _spy(monkeypatch)
    embedder = TextEmbedder("toy-text").fit(shuffled)
    Z = embedder.transform(shuffled)
    assert calls[-1] == list(dict.fromkeys(shuffled))  # deduplicated before
    calls.clear()
    clf = TextClassifier("toy-text", strategy="head", head_l2=1e-3)
    clf.fit(shuffled, [0, 1, 0, 1, 0, 1])
    assert calls  # the fine-tuner's features went through the same loop
    calls.clear()
    np.testing.assert_allclose(clf.transform(shuffled), Z, atol=1e-6)
    assert calls == [shuffled]  # duplicates computed once, in the loop
    np.testing.assert_array_equal(Z[1], Z[3])


def test_the_width_probe_is_shared():
    embedder = ImageEmbedder("toy-image", image_size=16).fit(IMAGES)
    clf = ImageClassifier("toy-image", image_size=16, head_l2=1e-3)
    clf.fit(IMAGES, [0, 1] * 4)
    assert embedder.embedding_dim_ == clf._get_module().head.in_features == 16
    probe = embedder._probe_input(embedder._spec)
    assert probe.shape == (1, 16, 16, 3)  # at the image_size in use
    assert clf._probe_input(clf._spec).shape == probe.shape


def test_tags_of_both_families():
    for cls in ESTIMATORS:
        raw = cls().__sklearn_tags__().input_tags
        assert not raw.two_d_array and raw.string == (cls._modality == "text")
    numeric = ImageClassifier("toy-numeric").__sklearn_tags__().input_tags
    assert numeric.two_d_array


# -- image_size on the embedder ----------------------------------------------
def test_image_embedder_image_size_matches_the_fine_tuners(tmp_path):
    default = ImageEmbedder("toy-image").fit(IMAGES)
    assert ImageEmbedder("toy-image", image_size=None).fit(IMAGES).fingerprint_ == (
        default.fingerprint_
    )  # None keeps the fingerprints (and cache entries) of before
    small = ImageEmbedder("toy-image", image_size=16, cache=tmp_path).fit(IMAGES)
    assert small.fingerprint_ != default.fingerprint_
    assert small._preprocessing() == at_image_size(default._spec.preprocessing, 16)
    Z = small.transform(IMAGES)
    assert not np.allclose(Z, default.transform(IMAGES))
    clf = ImageRegressor("toy-image", image_size=16, head_l2=1e-3)
    clf.fit(IMAGES, np.arange(8.0))
    np.testing.assert_allclose(clf.transform(IMAGES), Z, atol=1e-6)
    # the cache keeps the sizes apart
    other = ImageEmbedder("toy-image", image_size=32, cache=tmp_path).fit(IMAGES)
    reference = ImageEmbedder("toy-image", image_size=32).fit(IMAGES)
    np.testing.assert_allclose(other.transform(IMAGES), reference.transform(IMAGES))
    np.testing.assert_array_equal(small.transform(IMAGES), Z)  # read back
    with pytest.raises(ValueError, match=r"\['image_size'\] changed since fit"):
        clone(small).fit(IMAGES).set_params(image_size=32).transform(IMAGES)
    with pytest.raises(InvalidParameterError, match="image_size"):
        ImageEmbedder("toy-image", image_size=4).fit(IMAGES)


def test_image_size_reaches_an_exported_runtime():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    reference = ImageEmbedder("toy-image", image_size=16, runtime="torch").fit(IMAGES)
    est = ImageEmbedder("toy-image", image_size=16, runtime="onnx").fit(IMAGES)
    assert est.runtime_ == "onnx"
    assert est._example_shape() == (3, 16, 16)
    np.testing.assert_allclose(
        est.transform(IMAGES), reference.transform(IMAGES), atol=1e-5
    )


# -- prompt on the text fine-tuners ------------------------------------------
def test_text_fine_tuners_prompt_as_the_embedder(one_torch_thread):
    prompted = TextEmbedder("toy-text", prompt="query: ").fit(TEXTS)
    plain = TextEmbedder("toy-text").fit(TEXTS)
    for cls, y in ((TextClassifier, LABELS), (TextRegressor, np.arange(6.0))):
        est = cls("toy-text", prompt="query: ", head_l2=1e-3).fit(TEXTS, y)
        features = est.transform(TEXTS)
        np.testing.assert_allclose(features, prompted.transform(TEXTS), atol=1e-6)
        assert not np.allclose(features, plain.transform(TEXTS))
    # training batches carry the prompt too
    clf = TextClassifier("toy-text", prompt="query: ", strategy="full", max_epochs=1)
    clf.fit(TEXTS, LABELS)
    collate = clf._collate(clf._get_module(), clf._spec)
    batch, _ = collate([({"data": "hi", "sample_weight": 1.0}, 0)])
    assert batch["data"] == ["query: hi"]
    with pytest.raises(InvalidParameterError, match="prompt"):
        TextClassifier("toy-text", prompt=3).fit(TEXTS, LABELS)


@pytest.fixture(scope="module")
def tiny_sentence_model():
    """all-MiniLM-L6-v2 cut to one transformer layer: a real tokenizer, fast."""
    pytest.importorskip("sentence_transformers")
    from sktransfer.backbones import get_backbone

    model = get_backbone("all-MiniLM-L6-v2").build()
    encoder = model[0].auto_model.encoder
    encoder.layer = encoder.layer[:1]
    return model


def test_sentence_transformer_prompt_is_tokenized_as_encode_does(tiny_sentence_model):
    model = tiny_sentence_model
    embedder = TextEmbedder(model, prompt="query: ", runtime="torch").fit(TEXTS)
    clf = TextClassifier(model, prompt="query: ", head_l2=1e-3).fit(TEXTS, LABELS)
    np.testing.assert_allclose(
        clf.transform(TEXTS), embedder.transform(TEXTS), atol=1e-5
    )
    plain = TextEmbedder(model, runtime="torch").fit(TEXTS).transform(TEXTS)
    assert not np.allclose(clf.transform(TEXTS), plain, atol=1e-3)

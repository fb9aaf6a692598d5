"""Fine-tuned estimators after fit through the CPU runtimes (ONNX Runtime, OpenVINO)."""

import pickle
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from sktransfer import ImageClassifier, ImageRegressor, TextClassifier

torch = pytest.importorskip("torch")

RUNTIMES = ["onnx", "openvino"]
PACKAGES = {"onnx": "onnxruntime", "openvino": "openvino"}
IMAGES = np.random.default_rng(0).integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
LABELS = np.array(["cat", "dog"] * 10)


def _needs(runtime):
    pytest.importorskip(PACKAGES[runtime])
    pytest.importorskip("onnx")


@pytest.fixture(autouse=True)
def runtime_home(runtime_home, one_torch_thread):
    """The conftest's isolated home; fitted networks export under ``finetuned``."""
    return runtime_home / "finetuned"


def _exports(folder):
    return sorted(p.parent.name for p in folder.glob("*/model.onnx"))


def _classifier(runtime, **params):
    params = {
        "strategy": "full",
        "max_epochs": 1,
        "validation_fraction": None,
        "random_state": 0,
        **params,
    }
    return ImageClassifier("toy-image", runtime=runtime, **params)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_predictions_equal_torch(runtime, runtime_home):
    _needs(runtime)
    eager = _classifier("torch").fit(IMAGES, LABELS)
    fast = _classifier(runtime).fit(IMAGES, LABELS)
    assert eager.runtime_ == "torch" and fast.runtime_ == runtime
    assert fast._session[0] is not None
    np.testing.assert_allclose(
        fast.predict_proba(IMAGES), eager.predict_proba(IMAGES), atol=1e-5
    )
    np.testing.assert_array_equal(fast.predict(IMAGES), eager.predict(IMAGES))
    np.testing.assert_allclose(
        fast.transform(IMAGES), eager.transform(IMAGES), rtol=1e-4, atol=1e-5
    )
    assert fast.score(IMAGES, LABELS) == eager.score(IMAGES, LABELS)
    assert len(_exports(runtime_home)) == 1


def test_torch_runtime_exports_nothing(runtime_home):
    clf = _classifier("torch").fit(IMAGES, LABELS)
    assert clf.runtime_ == "torch" and clf._session[0] is None
    clf.predict(IMAGES)
    assert not runtime_home.exists()


def test_numeric_backbone_auto_is_torch_explicit_exports(runtime_home):
    _needs("onnx")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5)).astype(np.float32)
    y = X.sum(axis=1)
    params = {"max_epochs": 2, "random_state": 0}
    auto = ImageRegressor("toy-numeric", **params).fit(X, y)
    assert auto.runtime_ == "torch"
    onnx = ImageRegressor("toy-numeric", runtime="onnx", **params).fit(X, y)
    assert onnx.runtime_ == "onnx"
    np.testing.assert_allclose(onnx.predict(X), auto.predict(X), rtol=1e-5, atol=1e-5)


def test_export_reused_for_equal_weights_new_for_changed(runtime_home):
    _needs("onnx")
    from sktransfer.engine._shared import clear_shared_models

    first = _classifier("onnx").fit(IMAGES, LABELS)
    (key,) = _exports(runtime_home)
    written = (runtime_home / key / "model.onnx").stat().st_mtime_ns
    clear_shared_models()  # a new session, from the file on disk
    second = clone(first).fit(IMAGES, LABELS)  # same seed: same weights
    assert second.runtime_ == "onnx"
    assert _exports(runtime_home) == [key]
    assert (runtime_home / key / "model.onnx").stat().st_mtime_ns == written
    # warm start trains the backbone on: new weights, new export, new session
    before = second.predict_proba(IMAGES)
    second.set_params(warm_start=True).fit(IMAGES, LABELS)
    assert len(_exports(runtime_home)) == 2
    after = second.predict_proba(IMAGES)
    assert not np.allclose(before, after)
    eager = second.set_params(runtime="torch").predict_proba(IMAGES)
    assert second.runtime_ == "torch"
    np.testing.assert_allclose(after, eager, atol=1e-5)


def test_head_strategy_shares_one_export_across_fits(runtime_home):
    _needs("onnx")
    for seed in (0, 1):
        _classifier("onnx", strategy="head", random_state=seed).fit(IMAGES, LABELS)
    assert len(_exports(runtime_home)) == 1  # the backbone did not change


def test_pickle_round_trip_rebuilds_the_session(runtime_home):
    _needs("onnx")
    clf = _classifier("onnx").fit(IMAGES, LABELS)
    expected = clf.predict_proba(IMAGES)
    copy = pickle.loads(pickle.dumps(clf))
    assert copy.runtime_ == "onnx" and "_session" not in vars(copy)
    np.testing.assert_allclose(copy.predict_proba(IMAGES), expected, atol=1e-6)
    assert copy.runtime_ == "onnx" and copy._session[0] is not None
    np.testing.assert_allclose(copy.transform(IMAGES), clf.transform(IMAGES))


def test_missing_package_after_unpickling_falls_back(runtime_home, monkeypatch):
    _needs("openvino")
    clf = _classifier("openvino").fit(IMAGES, LABELS)
    expected = clf.predict_proba(IMAGES)
    blob = pickle.dumps(clf)
    monkeypatch.setitem(sys.modules, "openvino", None)  # not installed here
    copy = pickle.loads(blob)
    with pytest.warns(RuntimeWarning, match="running on torch instead"):
        proba = copy.predict_proba(IMAGES)
    assert copy.runtime_ == "torch"
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning, not one per call
        copy.predict(IMAGES)


def test_missing_package_fails_before_training(monkeypatch):
    monkeypatch.setitem(sys.modules, "openvino", None)
    clf = _classifier("openvino")
    with pytest.raises(ImportError, match="openvino"):
        clf.fit(IMAGES, LABELS)
    assert not hasattr(clf, "history_")
    auto = _classifier("auto").fit(IMAGES, LABELS)  # auto: never an error
    assert auto.runtime_ in ("onnx", "torch")


class _NumpyPooling(torch.nn.Module):
    """Features through numpy: a trace records them as constants (export is wrong)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        pooled = self.conv(x).mean(dim=(2, 3))
        return torch.from_numpy(np.tanh(pooled.detach().cpu().numpy()))


@pytest.mark.parametrize("runtime", ["auto", "onnx"])
def test_failed_export_check_falls_back_with_one_warning(runtime, runtime_home):
    _needs("onnx")
    clf = ImageClassifier(
        _NumpyPooling(), runtime=runtime, max_epochs=1, random_state=0
    )
    with pytest.warns(RuntimeWarning, match="running on torch instead") as record:
        clf.fit(IMAGES, LABELS)
    assert len([w for w in record if w.category is RuntimeWarning]) == 1
    assert clf.runtime_ == "torch"
    eager = clone(clf).set_params(runtime="torch").fit(IMAGES, LABELS)
    np.testing.assert_allclose(
        clf.predict_proba(IMAGES), eager.predict_proba(IMAGES), atol=1e-6
    )


def test_text_module_taking_strings_runs_on_torch():
    texts = ["a good film", "bad", "great fun", "boring"] * 3
    labels = [1, 0, 1, 0] * 3
    clf = TextClassifier("toy-text", max_epochs=1, random_state=0)
    clf.fit(texts, labels)
    assert clf.runtime_ == "torch"  # no exportable forward pass: auto is quiet
    explicit = clone(clf).set_params(runtime="onnx")
    if _installed("onnxruntime"):
        with pytest.warns(RuntimeWarning, match="no exportable forward pass"):
            explicit.fit(texts, labels)
        assert explicit.runtime_ == "torch"


def _installed(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_runtime_validated_at_fit():
    with pytest.raises(ValueError, match="runtime"):
        _classifier("tensorrt").fit(IMAGES, LABELS)


@pytest.mark.slow
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_minilm_text_classifier_equals_torch(runtime, runtime_home):
    _needs(runtime)
    pytest.importorskip("sentence_transformers")
    texts = [
        "a good film",
        "a rather long and slow film, with too many characters and no plot",
        "bad",
        "wonderful acting, a joy to watch",
        "the script is dull",
        "I loved every minute",
    ] * 2
    labels = [1, 0, 0, 1, 0, 1] * 2
    eager = TextClassifier(runtime="torch", random_state=0).fit(texts, labels)
    fast = TextClassifier(runtime=runtime, random_state=0).fit(texts, labels)
    assert fast.runtime_ == runtime
    np.testing.assert_allclose(
        fast.predict_proba(texts), eager.predict_proba(texts), atol=1e-4
    )
    np.testing.assert_allclose(
        fast.transform(texts), eager.transform(texts), rtol=1e-3, atol=1e-5
    )


def test_prune_keeps_recent_exports(tmp_path):
    import os
    import time

    from sktransfer.engine._runtime import prune_exports

    old = time.time() - 7200
    for i in range(5):
        folder = tmp_path / f"export{i}"
        folder.mkdir()
        (folder / "model.onnx").write_bytes(b"x")
        os.utime(folder, (old + i, old + i))
    (tmp_path / "fresh").mkdir()  # just used: never removed
    prune_exports(tmp_path, keep=2)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["export4", "fresh"]

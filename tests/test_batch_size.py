"""``batch_size="auto"`` on the embedders: the resolution rules (not timings)."""

import numpy as np
import pytest

from sktransfer import ImageEmbedder, TextEmbedder

torch = pytest.importorskip("torch")

IMAGES = np.random.default_rng(0).integers(0, 255, (5, 32, 32, 3), dtype=np.uint8)


def test_resolution_rules():
    from sktransfer.engine._batch import (
        CPU_BATCH_SIZES,
        CUDA_BATCH_SIZE,
        FALLBACK,
        resolve_batch_size,
    )

    cpu, cuda = torch.device("cpu"), torch.device("cuda", 0)
    assert resolve_batch_size(7, cpu, "openvino", "image") == 7  # given: kept
    assert resolve_batch_size(7, cuda, "torch", "text") == 7
    assert resolve_batch_size("auto", cuda, "torch", "image") == CUDA_BATCH_SIZE == 32
    for (modality, runtime), size in CPU_BATCH_SIZES.items():
        assert resolve_batch_size("auto", cpu, runtime, modality) == size
    assert resolve_batch_size("auto", cpu, "torch", "numeric") == FALLBACK
    # every runtime of both modalities was measured
    assert {r for _, r in CPU_BATCH_SIZES} == {"torch", "onnx", "openvino"}
    assert {m for m, _ in CPU_BATCH_SIZES} == {"image", "text"}


def test_default_is_auto_and_resolved_at_fit():
    from sktransfer.engine._batch import CPU_BATCH_SIZES

    assert ImageEmbedder().batch_size == "auto"
    assert TextEmbedder().batch_size == "auto"
    embedder = ImageEmbedder("toy-image", runtime="torch").fit(IMAGES)
    assert embedder.batch_size_ == CPU_BATCH_SIZES[("image", "torch")]
    fixed = ImageEmbedder("toy-image", runtime="torch", batch_size=2).fit(IMAGES)
    assert fixed.batch_size_ == 2
    np.testing.assert_allclose(
        embedder.transform(IMAGES), fixed.transform(IMAGES), rtol=1e-5, atol=1e-6
    )
    text = TextEmbedder("toy-text").fit(["a", "b"])
    assert text.batch_size_ == CPU_BATCH_SIZES[("text", text.runtime_)]
    numeric = ImageEmbedder("toy-numeric").fit(np.ones((3, 4), dtype=np.float32))
    assert isinstance(numeric.batch_size_, int)


def test_resolved_for_the_runtime_in_use(tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from sktransfer.engine._batch import CPU_BATCH_SIZES

    monkeypatch.setenv("SKTRANSFER_HOME", str(tmp_path))
    embedder = ImageEmbedder("toy-image", runtime="onnx").fit(IMAGES)
    assert embedder.runtime_ == "onnx"
    assert embedder.batch_size_ == CPU_BATCH_SIZES[("image", "onnx")]


@pytest.mark.parametrize("value", ["big", 0, 2.5])
def test_invalid_batch_size_fails_at_fit(value):
    embedder = ImageEmbedder("toy-image", batch_size=value)
    assert embedder.batch_size == value  # stored verbatim
    with pytest.raises(ValueError, match="batch_size"):
        embedder.fit(IMAGES)

"""The embedding cache, shared models and the out-of-memory back-off."""

import os
import subprocess
import sys

import joblib
import numpy as np
import pytest
import torch
from PIL import Image

from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer.engine import EmbeddingCache
from sktransfer.engine._inference import forward_with_backoff

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, (6, 20, 20, 3), dtype=np.uint8)
TEXTS = ["one", "two", "three", "two"]


def _count_embedded(est):
    calls = []
    original = est._embed_raw

    def spy(items, positions):
        calls.append(len(positions))
        return original(items, positions)

    est._embed_raw = spy
    return calls


def test_cache_serves_identical_vectors_without_recomputing(tmp_path):
    reference = TextEmbedder(backbone="toy-text").fit_transform(TEXTS)
    first = TextEmbedder(backbone="toy-text", cache=tmp_path).fit(TEXTS)
    np.testing.assert_array_equal(first.transform(TEXTS), reference)
    second = TextEmbedder(backbone="toy-text", cache=str(tmp_path)).fit(TEXTS)
    calls = _count_embedded(second)
    np.testing.assert_array_equal(second.transform(TEXTS), reference)
    assert calls == []  # all four rows (three distinct) came from disk
    second.transform(["two", "four"])
    assert calls == [1]  # only the new string


def test_cache_keys_follow_model_and_file_content(tmp_path):
    cache = tmp_path / "cache"
    path = tmp_path / "a.png"
    Image.fromarray(IMAGES[0]).save(path)
    est = ImageEmbedder(backbone="toy-image", cache=cache).fit([path])
    before = est.transform([path])
    Image.fromarray(IMAGES[1]).save(path)  # same path, new content
    os.utime(path, ns=(1, 1))
    after = est.transform([path])
    expected = ImageEmbedder(backbone="toy-image").fit_transform(IMAGES[1:2])
    np.testing.assert_allclose(after, expected, atol=1e-6)
    assert not np.allclose(before, after)
    other = ImageEmbedder(backbone="toy-image", layer="2", cache=cache).fit([path])
    assert other.fingerprint_ != est.fingerprint_
    assert other.transform([path]).shape[1] == 8
    assert len(list(cache.iterdir())) == 2  # one folder per fingerprint


def test_damaged_and_unfinished_entries_are_recomputed(tmp_path):
    est = TextEmbedder(backbone="toy-text", cache=tmp_path).fit(TEXTS)
    reference = est.transform(TEXTS)
    entries = sorted(tmp_path.rglob("*.emb"))
    assert len(entries) == 3
    entries[0].write_bytes(entries[0].read_bytes()[:-3])  # killed mid-write
    data = bytearray(entries[1].read_bytes())
    data[-1] ^= 0xFF  # flipped bit
    entries[1].write_bytes(bytes(data))
    (entries[2].parent / ".tmp-x.part").write_bytes(b"partial")  # left by a crash
    calls = _count_embedded(est)
    np.testing.assert_array_equal(est.transform(TEXTS), reference)
    assert calls == [2]
    assert EmbeddingCache(tmp_path).get(est.fingerprint_, [entries[0].stem])[1].all()


def _embed_in_process(folder, texts):
    return TextEmbedder(backbone="toy-text", cache=folder).fit(texts).transform(texts)


def test_concurrent_writers(tmp_path):
    texts = [f"sentence {i}" for i in range(200)]
    results = joblib.Parallel(n_jobs=2)(
        joblib.delayed(_embed_in_process)(tmp_path, texts[i::2] + texts)
        for i in range(4)
    )
    reference = TextEmbedder(backbone="toy-text").fit_transform(texts)
    for result in results:
        np.testing.assert_array_equal(result[-200:], reference)
    assert len(list(tmp_path.rglob("*.emb"))) == 200
    assert not list(tmp_path.rglob("*.part"))


def test_killed_process_leaves_no_corrupt_entry(tmp_path):
    code = (
        "import os, numpy as np\n"
        "from sktransfer.engine import EmbeddingCache\n"
        "import sktransfer.engine._cache as c\n"
        "original = os.replace\n"
        "def die(*a):\n"
        "    os._exit(1)\n"
        "c.os.replace = die\n"
        f"EmbeddingCache({str(tmp_path)!r}).put('fp', ['k'], np.ones((1, 4), 'float32'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    vectors, found = EmbeddingCache(tmp_path).get("fp", ["k"])
    assert vectors is None and not found.any()


def test_size_limit_and_joblib_memory(tmp_path):
    cache = EmbeddingCache(tmp_path, max_bytes=2_000)
    cache.put("fp", [f"k{i}" for i in range(40)], np.ones((40, 16), "float32"))
    assert cache.size_bytes() <= 2_000
    memory = joblib.Memory(tmp_path / "joblib", verbose=0)
    est = TextEmbedder(backbone="toy-text", cache=memory).fit(TEXTS)
    est.transform(TEXTS)
    assert list((tmp_path / "joblib" / "sktransfer-embeddings").rglob("*.emb"))
    with pytest.raises(ValueError, match="cache must be"):
        TextEmbedder(backbone="toy-text", cache=42).fit(TEXTS)


def test_named_backbones_are_loaded_once_per_process():
    a = ImageEmbedder(backbone="toy-image").fit(IMAGES)
    b = ImageEmbedder(backbone="toy-image", batch_size=3).fit(IMAGES)
    c = ImageEmbedder(backbone="toy-image", layer="2").fit(IMAGES)
    assert a._model is b._model and a._model is not c._model
    np.testing.assert_array_equal(a.transform(IMAGES), b.transform(IMAGES))


class _SmallMemoryModule(torch.nn.Module):
    """Raises CUDA's out-of-memory error for batches above ``capacity``."""

    def __init__(self, capacity):
        super().__init__()
        self.capacity = capacity
        self.sizes = []

    def forward(self, x):
        self.sizes.append(len(x))
        if len(x) > self.capacity:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (test)")
        return x * 2


def test_out_of_memory_backoff_halves_and_remembers():
    module, limit = _SmallMemoryModule(capacity=3), [16]
    x = torch.arange(16.0)[:, None]
    np.testing.assert_array_equal(
        forward_with_backoff(module, x, limit).numpy(), x.numpy() * 2
    )
    assert limit == [2]
    module.sizes.clear()
    forward_with_backoff(module, x, limit)
    assert set(module.sizes) == {2}  # no new search for the next batch
    with pytest.raises(torch.cuda.OutOfMemoryError):
        forward_with_backoff(_SmallMemoryModule(capacity=0), x, [4])

"""The embedding cache, shared models and the out-of-memory back-off."""

import errno
import os
import subprocess
import sys
import time
import warnings

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


# -- input keys (issue 11, items 3 to 5) ------------------------------------
def _reference(images, **params):
    return ImageEmbedder(backbone="toy-image", **params).fit(images).transform(images)


def _palette_image(palette_seed):
    indices = np.random.default_rng(0).integers(0, 4, (20, 20), dtype=np.uint8)
    image = Image.fromarray(indices, mode="P")
    palette = np.random.default_rng(palette_seed).integers(0, 256, 768, dtype=np.uint8)
    image.putpalette(palette.tolist())
    return image


def _oriented(orientation):
    import io

    image = Image.fromarray(IMAGES[0][:, :12])  # not square: rotating changes shape
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif)
    reopened = Image.open(io.BytesIO(buffer.getvalue()))
    reopened.load()
    return reopened


@pytest.mark.parametrize(
    "first, second",
    [
        (_palette_image(1), _palette_image(2)),  # same indices, other palette
        (_oriented(None), _oriented(6)),  # same pixels, EXIF "rotate 90"
        (IMAGES[0] / 255.0, (IMAGES[0] / 255.0).astype(np.float16).view(np.uint16)),
        (IMAGES[0].astype(np.float16) / 255, IMAGES[0].astype(np.float16).view("u2")),
    ],
    ids=["palette", "exif-orientation", "float-vs-uint16", "same-bytes-dtype"],
)
def test_inputs_decoding_differently_never_share_an_entry(tmp_path, first, second):
    est = ImageEmbedder(backbone="toy-image", cache=tmp_path).fit([first])
    est.transform([first])
    served = est.transform([second])
    np.testing.assert_allclose(served, _reference([second]), atol=1e-6)
    assert not np.allclose(served, _reference([first]), atol=1e-4)


def _bmp(path, pixels):
    Image.fromarray(pixels).save(path, "BMP")  # fixed size for a fixed shape


@pytest.mark.parametrize("cache_key", ["content", "path+stat"])
def test_file_replaced_keeping_size_and_mtime_gets_its_new_vector(tmp_path, cache_key):
    import shutil

    path, other = tmp_path / "a.bmp", tmp_path / "b.bmp"
    _bmp(path, IMAGES[0])
    _bmp(other, IMAGES[1])
    assert path.stat().st_size == other.stat().st_size
    stat = path.stat()
    os.utime(other, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    est = ImageEmbedder(backbone="toy-image", cache=tmp_path / "c", cache_key=cache_key)
    before = est.fit([path]).transform([path])
    shutil.copy2(other, path)  # what `cp -p` does: same size, same mtime
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (
        stat.st_size,
        stat.st_mtime_ns,
    )
    after = est.transform([path])
    np.testing.assert_allclose(after, _reference(IMAGES[1:2]), atol=1e-6)
    assert not np.allclose(before, after)


def test_content_keys_share_entries_between_files_and_bytes(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(IMAGES[2]).save(path)
    est = ImageEmbedder(backbone="toy-image", cache=tmp_path / "c").fit([path])
    expected = est.transform([path.read_bytes()])
    calls = _count_embedded(est)
    np.testing.assert_array_equal(est.transform([path, str(path)]), [expected[0]] * 2)
    assert calls == []  # the file's bytes were the key: served from the cache
    est.set_params(cache_key="path+stat")
    est.transform([path])
    assert calls == [1]  # another key kind: computed once
    est.transform([path])
    assert calls == [1]
    with pytest.raises(ValueError, match="cache_key"):
        ImageEmbedder(backbone="toy-image", cache_key="mtime").fit([path])


@pytest.mark.parametrize("cache_key", ["content", "path+stat"])
def test_non_utf8_file_names_are_keyed(tmp_path, cache_key):
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"caf\xe9.png"), "wb") as out:
        Image.fromarray(IMAGES[3]).save(out, "PNG")
    (name,) = os.listdir(tmp_path)  # 'caf\udce9.png', as os.listdir returns it
    paths = [os.path.join(tmp_path, name)]
    est = ImageEmbedder(backbone="toy-image", cache=tmp_path / "c", cache_key=cache_key)
    np.testing.assert_allclose(
        est.fit(paths).transform(paths), _reference(IMAGES[3:4]), atol=1e-6
    )
    calls = _count_embedded(est)
    est.transform([tmp_path / name])
    assert calls == []


@pytest.mark.parametrize("cache", [None, "folder"])
def test_lone_surrogate_text_names_its_position(tmp_path, cache):
    cache = tmp_path if cache else None
    texts = ["fine", "caf\udce9 au lait"]
    with pytest.raises(ValueError, match=r"index 1 .*lone surrogate.*character 3"):
        TextEmbedder(backbone="toy-text", cache=cache).fit(texts)


# -- failures and parameters (items 6 to 8) ----------------------------------
@pytest.mark.parametrize(
    "target, code",
    [("os.replace", errno.ENOSPC), ("tempfile.mkstemp", errno.EROFS)],
)
def test_failing_writes_warn_once_and_return_the_embeddings(
    tmp_path, monkeypatch, target, code
):
    import sktransfer.engine._cache as cache_module

    est = TextEmbedder(backbone="toy-text", cache=tmp_path).fit(TEXTS)
    est.transform(TEXTS[:2])  # two entries written before the disk fills
    module, name = target.split(".")

    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(getattr(cache_module, module), name, fail)
    calls = _count_embedded(est)
    with pytest.warns(RuntimeWarning, match=os.strerror(code)) as record:
        out = est.transform(TEXTS)
    assert str(tmp_path) in str(record[0].message) and len(record) == 1
    np.testing.assert_array_equal(
        out, TextEmbedder(backbone="toy-text").fit_transform(TEXTS)
    )
    assert calls == [1]  # "one", "two" read from the cache; "three" computed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per cache: no second warning
        est.transform(["four", "five"])
    assert calls == [1, 2]
    assert not list(tmp_path.rglob("*.part"))


def test_cache_folder_that_cannot_exist_warns_and_embeds(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a regular file where a folder should be")
    est = ImageEmbedder(backbone="toy-image", cache=blocker / "cache").fit(IMAGES)
    with pytest.warns(RuntimeWarning, match="could not write to the embedding cache"):
        out = est.transform(IMAGES)
    np.testing.assert_array_equal(out, _reference(IMAGES))
    np.testing.assert_array_equal(est.transform(IMAGES), out)


def test_set_params_cache_after_fit_takes_effect(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    est = TextEmbedder(backbone="toy-text", cache=first).fit(TEXTS)
    est.transform(["a"])
    est.set_params(cache=None)
    est.transform(["b"])
    est.set_params(cache=second)
    est.transform(["c"])
    assert len(list(first.rglob("*.emb"))) == 1
    assert len(list(second.rglob("*.emb"))) == 1
    est.set_params(cache=str(first))
    calls = _count_embedded(est)
    est.transform(["a"])
    assert calls == []


def test_clear_and_prune_remove_stale_temporary_files_only(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put("fp", ["k1", "k2"], np.ones((2, 4), "float32"))
    folder = cache._path("fp", "k1").parent
    stale, live = folder / ".tmp-dead.part", folder / ".tmp-live.part"
    for path in (stale, live):
        path.write_bytes(b"partial")
    hours_ago = time.time() - 7200
    os.utime(stale, (hours_ago, hours_ago))
    cache.prune(max_bytes=10**9)
    assert not stale.exists() and live.exists()
    assert cache.get("fp", ["k1", "k2"])[1].all()  # under the limit: entries kept
    os.utime(live, (hours_ago, hours_ago))
    cache.clear(tmp_grace=3 * 3600)
    assert live.exists() and not list(tmp_path.rglob("*.emb"))
    cache.clear()
    assert not live.exists()


@pytest.mark.slow
def test_real_weights_cached_jpegs_follow_their_content(tmp_path):
    import shutil

    from sktransfer.datasets import fashion_mnist_available, load_fashion_mnist

    if not fashion_mnist_available():
        pytest.skip("Fashion-MNIST is not installed")
    images, _ = load_fashion_mnist("test")
    paths = [tmp_path / f"{i}.jpg" for i in range(3)]
    for path, image in zip(paths, images[:3], strict=True):
        Image.fromarray(image).convert("RGB").resize((64, 64)).save(path)
    est = ImageEmbedder(cache=tmp_path / "cache").fit(paths)
    computed = est.transform(paths)
    calls = _count_embedded(est)
    np.testing.assert_array_equal(est.transform(paths), computed)
    assert calls == []
    shutil.copy2(paths[2], paths[0])  # `cp -p`: another image under the old name
    np.testing.assert_array_equal(est.transform(paths[:1]), computed[2:])
    assert calls == []  # the new content was already in the cache

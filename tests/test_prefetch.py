"""Decoding ahead in a background thread (``num_workers=0``): same results, same errors.

The decode-ahead thread (`sktransfer.engine._prefetch`) must leave
everything as the serial loop does: outputs bit for bit, the first bad item
in input order raising its own error (index and path), exceptions of the
thread raised in the caller, no thread left behind whatever stopped the
loop, torch's thread count and the random generators untouched (a
fine-tuner embeds before it trains), and it must work from several user
threads at once. ``jpeg_draft`` decodes large JPEGs at reduced scale under
its own fingerprint.
"""

import sys
import threading
from functools import partial

import numpy as np
import pytest

torch = pytest.importorskip("torch")
Image = pytest.importorskip("PIL.Image")

from sktransfer import ImageEmbedder  # noqa: E402
from sktransfer.backbones import get_backbone  # noqa: E402
from sktransfer.engine import _inference  # noqa: E402
from sktransfer.engine._data import ImageDataset  # noqa: E402
from sktransfer.engine._inference import run_inference  # noqa: E402
from sktransfer.engine._prefetch import DecodeAhead  # noqa: E402
from sktransfer.engine._preprocess import ImageTransform  # noqa: E402

CONFIG = get_backbone("toy-image").preprocessing
CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    yield


def decode_threads():
    return [t for t in threading.enumerate() if t.name == "sktransfer-decode"]


@pytest.fixture
def files(tmp_path):
    """23 distinct JPEG and PNG files of several sizes (RGB, grey, RGBA)."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(23):
        shape = (40 + 3 * i, 50 + i) + ((), (3,), (4,))[i % 3]
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        path = tmp_path / f"{i:02d}.{'png' if i % 3 == 2 else 'jpg'}"
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture
def module():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )


def infer(module, dataset, prefetch=True, batch_size=4):
    return run_inference(
        module, dataset, batch_size=batch_size, device=CPU, prefetch=prefetch
    )


def corrupt(path):
    with open(path, "r+b") as f:
        f.truncate(60)  # a header and no image data


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_outputs_equal_the_serial_loop_bit_for_bit(files, module, batch_size):
    dataset = ImageDataset(files, ImageTransform(CONFIG))
    serial = infer(module, dataset, prefetch=False, batch_size=batch_size)
    ahead = infer(module, dataset, batch_size=batch_size)
    assert np.array_equal(serial, ahead)
    with DecodeAhead(dataset, items_ahead=1, bytes_ahead=1) as one_at_a_time:
        items = [one_at_a_time[i] for i in range(len(dataset))]
    for i, item in enumerate(items):
        assert torch.equal(item, dataset[i])


def test_the_embedder_gives_the_serial_results(files, monkeypatch):
    embedder = ImageEmbedder("toy-image").fit(files)
    ahead = embedder.transform(files)
    serial_loop = partial(_inference.run_inference, prefetch=False)
    monkeypatch.setattr(_inference, "run_inference", serial_loop)
    assert np.array_equal(ahead, embedder.transform(files))


class Recording(ImageTransform):
    """Records the order in which items reach the transform (main thread)."""

    def __init__(self, preprocessing, seen):
        super().__init__(preprocessing)
        self.seen = seen

    def __call__(self, image):
        self.seen.append(float(image.sum()))
        return super().__call__(image)


@pytest.mark.parametrize("bad", [[0], [5], [9, 13], [22]])
def test_the_first_bad_file_raises_its_error_in_input_order(files, module, bad):
    for i in bad:
        corrupt(files[i])
    errors, seen = [], []
    for prefetch in (False, True):
        seen.append([])
        dataset = ImageDataset(files, Recording(CONFIG, seen[-1]))
        with pytest.raises(ValueError) as info:
            infer(module, dataset, prefetch=prefetch)
        errors.append(str(info.value))
    first = bad[0]
    assert f"at index {first} ({files[first]!r})" in errors[1]
    assert errors[0] == errors[1]
    assert seen[0] == seen[1] and len(seen[1]) == first  # the same items, in order
    assert decode_threads() == []


def test_the_embedder_names_the_bad_file(files):
    embedder = ImageEmbedder("toy-image").fit(files)
    corrupt(files[7])
    with pytest.raises(ValueError, match=r"could not decode the image at index 7"):
        embedder.transform(files)
    assert decode_threads() == []


class Failing(ImageDataset):
    def __init__(self, items, transform, fail_at, error):
        super().__init__(items, transform)
        self.fail_at, self.error = fail_at, error

    def decode(self, i):
        if i == self.fail_at:
            raise self.error
        return super().decode(i)


def test_an_exception_in_the_thread_is_raised_in_the_caller(files, module):
    error = LookupError("the decode thread failed")
    dataset = Failing(files, ImageTransform(CONFIG), fail_at=6, error=error)
    with pytest.raises(LookupError) as info:
        infer(module, dataset)
    assert info.value is error
    assert decode_threads() == []


class Raising(ImageTransform):
    def __call__(self, image):
        raise ZeroDivisionError("the transform failed")


class BrokenModule(torch.nn.Module):
    def forward(self, batch):
        raise RuntimeError("the forward pass failed")


def test_no_thread_is_left_whatever_stops_the_loop(files, module):
    with pytest.raises(ZeroDivisionError, match="the transform failed"):
        infer(module, ImageDataset(files, Raising(CONFIG)))
    assert decode_threads() == []
    with pytest.raises(RuntimeError, match="the forward pass failed"):
        infer(BrokenModule(), ImageDataset(files, ImageTransform(CONFIG)))
    assert decode_threads() == []
    infer(module, ImageDataset(files, ImageTransform(CONFIG)))
    assert decode_threads() == []


def test_an_abandoned_reader_lets_its_thread_end(files):
    reader = DecodeAhead(ImageDataset(files, ImageTransform(CONFIG)), items_ahead=2)
    reader[0], reader[1]
    (thread,) = decode_threads()
    del reader  # never closed: garbage collected
    thread.join(timeout=60)
    assert not thread.is_alive()


def test_torch_threads_and_random_state_are_unchanged(files, module):
    dataset = ImageDataset(files, ImageTransform(CONFIG))
    threads = torch.get_num_threads()
    states = {}
    for prefetch in (False, True):
        torch.manual_seed(3)
        np.random.seed(3)  # noqa: NPY002 - the global generator is the point
        infer(module, dataset, prefetch=prefetch)
        # the DataLoader draws once from torch's generator in both loops
        states[prefetch] = (torch.random.get_rng_state(), np.random.get_state()[1])  # noqa: NPY002
        assert torch.get_num_threads() == threads
    assert torch.equal(states[False][0], states[True][0])
    assert np.array_equal(states[False][1], states[True][1])
    torch.manual_seed(3)
    before = torch.random.get_rng_state()
    with DecodeAhead(dataset, items_ahead=8) as reader:  # the thread alone
        [reader[i] for i in range(len(dataset))]
    assert torch.equal(torch.random.get_rng_state(), before)


def test_the_decode_thread_never_calls_torch(files):
    calls = []

    def watch(frame, event, arg):
        if threading.current_thread().name != "sktransfer-decode":
            return
        where = frame.f_code.co_filename
        module = (getattr(arg, "__module__", None) or "") if event == "c_call" else ""
        if "torch" in where or module.startswith("torch"):
            calls.append((event, where, module))

    threading.setprofile(watch)
    try:
        dataset = ImageDataset(files, ImageTransform(CONFIG))
        with DecodeAhead(dataset, items_ahead=4) as reader:
            [reader[i] for i in range(len(dataset))]
    finally:
        threading.setprofile(None)
        sys.setprofile(None)
    assert calls == []


def test_several_user_threads_at_once(files):
    embedder = ImageEmbedder("toy-image").fit(files)
    parts = [files[i::3] for i in range(3)]
    expected = [embedder.transform(part) for part in parts]
    results, errors = {}, []

    def work(k):
        try:
            for _ in range(3):
                results[k] = embedder.transform(parts[k])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    users = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for user in users:
        user.start()
    for user in users:
        user.join()
    assert errors == []
    for k in range(3):
        assert np.array_equal(results[k], expected[k])
    assert decode_threads() == []


# -- jpeg_draft ----------------------------------------------------------
def test_jpeg_draft_off_keeps_the_fingerprint_of_before(files):
    plain = ImageEmbedder("toy-image").fit(files[:1])
    off = ImageEmbedder("toy-image", jpeg_draft=False).fit(files[:1])
    spec = get_backbone("toy-image")
    assert off.fingerprint_ == plain.fingerprint_
    assert off.fingerprint_ == spec.fingerprint(**plain._fingerprint_options())
    assert "jpeg_draft" not in plain._fingerprint_options()
    on = ImageEmbedder("toy-image", jpeg_draft=True).fit(files[:1])
    assert on.fingerprint_ != off.fingerprint_


def test_jpeg_draft_decodes_large_jpegs_close_to_the_full_decode(tmp_path, files):
    from skimage import data

    photo = np.asarray(Image.fromarray(data.astronaut()).resize((600, 520)))
    large = tmp_path / "large.jpg"
    Image.fromarray(photo).save(large, quality=92)
    png = tmp_path / "large.png"
    Image.fromarray(photo).save(png)
    inputs = [str(large), str(png), *files]
    full = ImageEmbedder("toy-image").fit(inputs).transform(inputs)
    draft = ImageEmbedder("toy-image", jpeg_draft=True).fit(inputs).transform(inputs)
    assert not np.array_equal(full[0], draft[0])  # 520 px >= 4 x 32: drafted
    cosine = full[0] @ draft[0] / np.linalg.norm(full[0]) / np.linalg.norm(draft[0])
    assert cosine > 0.99
    assert np.array_equal(full[1:], draft[1:])  # PNG and small JPEGs unchanged


def test_jpeg_draft_change_after_fit_asks_for_fit(files):
    embedder = ImageEmbedder("toy-image").fit(files[:1])
    embedder.set_params(jpeg_draft=True)
    with pytest.raises(ValueError, match=r"\['jpeg_draft'\] changed since fit"):
        embedder.transform(files[:1])

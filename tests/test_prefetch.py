"""Decoding in background threads, overlapping the forward pass (issue 14)."""

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")
PIL_Image = pytest.importorskip("PIL.Image")

from sktransfer import ImageEmbedder  # noqa: E402
from sktransfer.engine._prefetch import ThreadedBatches, decode_threads  # noqa: E402

IMAGES = np.random.default_rng(0).integers(0, 255, (7, 40, 40, 3), dtype=np.uint8)


def _decode_threads_alive():
    return [t for t in threading.enumerate() if t.name.startswith("sktransfer-decode")]


class Slow:
    """Items that finish out of order (later items first)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        threading.Event().wait(0.002 * (self.n - i))
        return torch.tensor([float(i)])


def test_batches_come_in_input_order_whatever_the_finishing_order():
    batches = list(ThreadedBatches(Slow(11), batch_size=4, threads=3))
    assert [len(b) for b in batches] == [4, 4, 3]
    assert torch.cat(batches).flatten().tolist() == [float(i) for i in range(11)]
    assert len(ThreadedBatches(Slow(11), batch_size=4)) == 3
    assert not _decode_threads_alive()


def test_decode_threads_leave_torch_its_cores():
    assert 1 <= decode_threads() <= 4


def test_threaded_decode_equals_worker_processes_and_main_process():
    est = ImageEmbedder("toy-image", runtime="torch", batch_size=3).fit(IMAGES)
    threaded = est.transform(IMAGES)
    est.set_params(num_workers=1)
    np.testing.assert_array_equal(est.transform(IMAGES), threaded)
    assert not _decode_threads_alive()


def _write(folder, n):
    paths = []
    for i in range(n):
        path = folder / f"{i}.png"
        PIL_Image.fromarray(IMAGES[i % len(IMAGES)]).save(path)
        paths.append(str(path))
    return paths


def test_first_bad_file_in_input_order_is_named(tmp_path):
    paths = _write(tmp_path, 9)
    for bad in (3, 7):  # two bad files, in the first and the third batch
        (tmp_path / f"{bad}.png").write_bytes(b"not an image")
    est = ImageEmbedder("toy-image", runtime="torch", batch_size=2).fit(paths[:1])
    with pytest.raises(ValueError, match=r"at index 3 \(.*3\.png'\)"):
        est.transform(paths)
    assert not _decode_threads_alive()  # the pool is shut down on the error


def test_missing_file_is_named_with_its_index(tmp_path):
    paths = _write(tmp_path, 4) + [str(tmp_path / "gone.png")]
    est = ImageEmbedder("toy-image", runtime="torch", batch_size=2).fit(paths[:1])
    with pytest.raises(FileNotFoundError, match=r"at index 4 \(.*gone\.png'\)"):
        est.transform(paths)


def test_a_failing_forward_pass_stops_the_decode_threads():
    from sktransfer.engine._inference import run_inference

    def broken(batch):
        raise RuntimeError("forward failed")

    broken.eval = lambda: None
    with pytest.raises(RuntimeError, match="forward failed"):
        run_inference(broken, Slow(40), batch_size=4, device=torch.device("cpu"))
    assert not _decode_threads_alive()


# -- Image.draft for JPEGs much larger than the network input ---------------


def _photo(size):
    from skimage import data, transform

    image = transform.resize(data.astronaut(), (size, size))
    return (image * 255).astype(np.uint8)


def test_decode_image_drafts_large_jpegs_only(tmp_path):
    import io

    from sktransfer.io import decode_image

    buffer = io.BytesIO()
    PIL_Image.fromarray(_photo(300)).save(buffer, format="JPEG")
    jpeg = buffer.getvalue()
    assert decode_image(jpeg, 0).shape == (3, 300, 300)
    assert decode_image(jpeg, 0, draft=64).shape == (3, 75, 75)  # 1/4 >= 64
    assert decode_image(jpeg, 0, draft=160).shape == (3, 300, 300)  # < 2x: full
    buffer = io.BytesIO()
    PIL_Image.fromarray(_photo(300)).save(buffer, format="PNG")
    assert decode_image(buffer.getvalue(), 0, draft=64).shape == (3, 300, 300)


def test_jpeg_draft_changes_the_fingerprint_and_stays_close(tmp_path):
    big, small = tmp_path / "big.jpg", tmp_path / "small.jpg"
    PIL_Image.fromarray(_photo(400)).save(big, quality=95)
    PIL_Image.fromarray(_photo(100)).save(small, quality=95)
    paths = [str(big), str(small)]
    full = ImageEmbedder("toy-image", runtime="torch").fit(paths)
    draft = ImageEmbedder("toy-image", runtime="torch", jpeg_draft=True).fit(paths)
    assert draft._transform_fn().draft_size == 64  # twice the toy's 32
    assert draft.fingerprint_ != full.fingerprint_  # another cache key
    a, b = full.transform(paths), draft.transform(paths)
    np.testing.assert_array_equal(a[1], b[1])  # 100 px: under 4x, not drafted
    assert not np.array_equal(a[0], b[0])
    cosine = a[0] @ b[0] / np.linalg.norm(a[0]) / np.linalg.norm(b[0])
    assert cosine > 0.99
    # read at fit: changing the parameter without refitting changes nothing
    full.set_params(jpeg_draft=True)
    np.testing.assert_array_equal(full.transform(paths), a)
    assert full.fit(paths).fingerprint_ == draft.fingerprint_

"""Damaged, full or unwritable runtime caches: made again, or torch with one warning.

What a killed process, a failing disk or a full disk leaves in the runtimes
folder must never answer, and must not stop an embedder from running.
"""

import errno
import tempfile
import warnings

import numpy as np
import pytest

from sktransfer import ImageEmbedder

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytestmark = pytest.mark.usefixtures("runtime_home")

IMAGES = np.random.default_rng(0).integers(0, 255, (6, 40, 40, 3), dtype=np.uint8)
FILES = {"fp32": "model.onnx", "int8": "model.int8-static-v*.onnx"}


def _as_a_new_process():
    """Drop the sessions shared in this process: only the files are left."""
    from sktransfer.engine._shared import clear_shared_models

    clear_shared_models()


def _fit(**params):
    """Fit the toy image embedder; return it and its RuntimeWarning messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = ImageEmbedder("toy-image", **params).fit(IMAGES)
    return est, [str(w.message) for w in caught if w.category is RuntimeWarning]


def _torch_features():
    return ImageEmbedder("toy-image", runtime="torch").fit(IMAGES).transform(IMAGES)


def _damage(path, how):
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    else:  # garble: same size, other bytes
        path.write_bytes(bytes(255 - b for b in data))


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("how", ["truncate", "empty", "garble"])
@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_a_damaged_cached_file_is_made_again(runtime_home, precision, how):
    first, warned = _fit(runtime="onnx", precision=precision)
    assert first.runtime_ == "onnx" and not warned
    expected = first.transform(IMAGES)
    (path,) = runtime_home.glob(f"*/{FILES[precision]}")
    _damage(path, how)
    _as_a_new_process()
    again, warned = _fit(runtime="onnx", precision=precision)
    assert again.runtime_ == "onnx" and not warned
    np.testing.assert_allclose(again.transform(IMAGES), expected, rtol=1e-5, atol=1e-5)
    assert path.stat().st_size > 1000  # written again, whole


def test_what_a_killed_export_left_is_ignored(runtime_home):
    first, _ = _fit(runtime="onnx")
    (export,) = runtime_home.glob("*/model.onnx")
    export.unlink()  # killed before the rename: only its temporary file is left
    (export.parent / ".tmp-killed.onnx").write_bytes(b"half an export")
    _as_a_new_process()
    again, warned = _fit(runtime="onnx")
    assert again.runtime_ == "onnx" and not warned and export.is_file()
    np.testing.assert_array_equal(again.transform(IMAGES), first.transform(IMAGES))


def test_a_full_disk_runs_torch_with_one_warning_and_leaves_no_file(
    monkeypatch, runtime_home
):
    monkeypatch.setattr(tempfile, "mkstemp", _disk_full)
    est, warned = _fit(runtime="onnx")
    assert est.runtime_ == "torch"
    assert len(warned) == 1 and "No space left on device" in warned[0]
    assert not [p for p in runtime_home.rglob("*") if p.is_file()]
    np.testing.assert_array_equal(est.transform(IMAGES), _torch_features())


def test_a_full_disk_for_the_int8_copy_runs_torch_fp32(monkeypatch, runtime_home):
    _fit(runtime="onnx")  # the fp32 export is there; its int8 copy cannot be
    _as_a_new_process()
    monkeypatch.setattr(tempfile, "mkstemp", _disk_full)
    est, warned = _fit(runtime="onnx", precision="int8")
    assert est.runtime_ == "torch" and est._precision == "fp32"
    assert len(warned) == 1 and "No space left on device" in warned[0]
    assert not list(runtime_home.rglob("model.int8*"))
    assert not list(runtime_home.rglob(".tmp-*"))
    np.testing.assert_array_equal(est.transform(IMAGES), _torch_features())


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_an_unwritable_folder_with_the_files_in_it_still_runs_them(
    monkeypatch, runtime_home, precision
):
    # e.g. a shared, read-only cache prepared by someone else: reading is enough
    first, _ = _fit(runtime="onnx", precision=precision)
    before = {p: p.stat().st_mtime_ns for p in runtime_home.rglob("*") if p.is_file()}
    _as_a_new_process()
    monkeypatch.setattr(tempfile, "mkstemp", _disk_full)
    again, warned = _fit(runtime="onnx", precision=precision)
    assert again.runtime_ == "onnx" and not warned
    np.testing.assert_array_equal(again.transform(IMAGES), first.transform(IMAGES))
    after = {p: p.stat().st_mtime_ns for p in runtime_home.rglob("*") if p.is_file()}
    assert after == before

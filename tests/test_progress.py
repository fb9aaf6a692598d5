"""Progress on long work: one convention (verbose="auto") for every estimator."""

import inspect
import sys
import threading

import numpy as np
import pytest

from sktransfer import ImageEmbedder, TextClassifier, TextEmbedder
from sktransfer.engine import _progress
from sktransfer.engine._progress import plain_print, show_progress, watched
from sktransfer.utils.discovery import all_estimators

TEXTS = [f"text number {i} is {'good' if i % 2 else 'bad'}" for i in range(20)]


@pytest.mark.parametrize(("name", "cls"), all_estimators())
def test_every_estimator_with_verbose_defaults_to_auto(name, cls):
    parameter = inspect.signature(cls.__init__).parameters.get("verbose")
    if parameter is not None:
        assert parameter.default == "auto", name


def test_auto_is_quiet_when_nobody_watches(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert not watched()  # pytest captures stderr: not a terminal
    assert show_progress(1) and not show_progress(0) and not show_progress(False)
    monkeypatch.setattr(_progress, "_is_terminal", lambda stream: True)
    assert watched()
    assert show_progress("auto", n_batches=8) and not show_progress("auto", 7)
    assert show_progress("auto")  # training: always long
    seen = []
    worker = threading.Thread(target=lambda: seen.append(watched()))
    worker.start()
    worker.join()
    assert seen == [False]  # joblib threads, Dask workers
    monkeypatch.setenv("CI", "true")
    assert not watched()


def test_plain_print_strips_colour_codes_off_a_terminal(capsys):
    plain_print("\x1b[32m0.5\x1b[0m", "epoch")
    assert capsys.readouterr().out == "0.5 epoch\n"


def test_embedding_bar_is_labelled_and_shown_when_watched(monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(_progress, "_is_terminal", lambda stream: True)
    images = np.random.default_rng(0).integers(0, 255, (9, 16, 16, 3), dtype=np.uint8)
    ImageEmbedder(backbone="toy-image", batch_size=1).fit_transform(images)
    assert "embedding images" in capsys.readouterr().err  # 9 batches: long
    ImageEmbedder(backbone="toy-image").fit_transform(images)
    assert "embedding images" not in capsys.readouterr().err  # 1 batch
    TextEmbedder(backbone="toy-text", batch_size=2, verbose=1).fit_transform(TEXTS)
    assert "embedding texts" in capsys.readouterr().err
    # one bar per job: fit's probe of the output size shows none
    ImageEmbedder(backbone="toy-image", verbose=1).fit(images)
    TextEmbedder(backbone="toy-text", verbose=1).fit(TEXTS)
    assert capsys.readouterr().err == ""


def test_training_shows_epoch_bars_and_a_plain_table(capsys, one_torch_thread):
    clf = TextClassifier(
        backbone="toy-text", strategy="full", max_epochs=2, verbose=1, random_state=0
    )
    clf.fit(TEXTS, np.arange(20) % 2)
    captured = capsys.readouterr()
    assert "training epoch 1/2" in captured.err
    assert "train_loss" in captured.out and "\x1b[" not in captured.out
    TextClassifier(backbone="toy-text", strategy="full", max_epochs=1).fit(
        TEXTS, np.arange(20) % 2
    )
    quiet = capsys.readouterr()
    assert quiet.out == "" and "training epoch" not in quiet.err
    assert sys.stderr is not None

"""Predict throughput of a fine-tuned ImageClassifier: torch vs OpenVINO vs ONNX Runtime.

One ImageClassifier (EfficientNet-Lite0) is fine-tuned once in torch
(``strategy="top"``, the last block and the head, on Fashion-MNIST), so every
runtime runs the same fitted weights; ``set_params(runtime=...)`` then
selects each runtime in turn (export of the fitted backbone, keyed by its
weights, exactness check, session). Reported: the time of that first
selection with an empty export cache and with the export cached (a fresh
process), the steady predict throughput (interleaved rounds) and the
agreement of predictions and probabilities with torch.

Writes benchmarks/results/finetuned_runtime.md.
Run: python -m benchmarks.finetuned_runtime [--n-train 200] [--n-test 256]
[--rounds 2] [--threads 1]
"""

import argparse
import os
import pickle
import shutil
import tempfile
import time

import numpy as np

from benchmarks._common import interleaved, machine, timed, write_result

RUNTIMES = ["torch", "openvino", "onnx"]


def _data(n_train, n_test):
    from sktransfer.datasets import load_fashion_mnist

    rng = np.random.default_rng(0)
    images, labels = load_fashion_mnist("train")
    train = rng.choice(len(images), n_train, replace=False)
    test_images, test_labels = load_fashion_mnist("test")
    test = rng.choice(len(test_images), n_test, replace=False)
    return images[train], labels[train], test_images[test], test_labels[test]


def _select(clf, runtime, images, empty_cache):
    """Seconds of the first predict after switching to ``runtime`` (selection + run)."""
    from sktransfer.engine._runtime import runtime_folder
    from sktransfer.engine._shared import clear_shared_models

    if empty_cache:
        shutil.rmtree(runtime_folder(), ignore_errors=True)
    clear_shared_models()  # as in a fresh process: no session loaded yet
    vars(clf).pop("_session", None)
    clf.set_params(runtime=runtime)
    seconds, _ = timed(clf.predict, images[:1])
    assert clf.runtime_ == runtime, (runtime, clf.runtime_)
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-train", type=int, default=200)
    parser.add_argument("--n-test", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    os.environ["SKTRANSFER_HOME"] = tempfile.mkdtemp(prefix="sktransfer-bench-")
    from sktransfer import ImageClassifier

    start = time.perf_counter()
    load_before = os.getloadavg()
    X, y, X_test, y_test = _data(args.n_train, args.n_test)
    clf = ImageClassifier(
        strategy="top",
        unfreeze=1,
        max_epochs=1,
        validation_fraction=None,
        runtime="torch",
        random_state=0,
    )
    fit_seconds, _ = timed(clf.fit, X, y)
    first = {"torch": _select(clf, "torch", X_test, True)}
    cached = {"torch": first["torch"]}
    for runtime in RUNTIMES[1:]:
        first[runtime] = _select(clf, runtime, X_test, True)  # exports
        cached[runtime] = _select(clf, runtime, X_test, False)  # export on disk
    clf.set_params(runtime="torch")
    reference = clf.predict_proba(X_test)
    clones = {}
    for runtime in RUNTIMES:
        copy = pickle.loads(pickle.dumps(clf))  # the session is rebuilt lazily
        copy.set_params(runtime=runtime).predict(X_test[:1])
        clones[runtime] = copy
    medians, times = interleaved(
        {r: (lambda c=c: c.predict_proba(X_test)) for r, c in clones.items()},
        rounds=args.rounds,
    )
    rows, agreements = [], {}
    for runtime in RUNTIMES:
        proba = clones[runtime].predict_proba(X_test)
        agree = agreements[runtime] = float(
            np.mean(proba.argmax(1) == reference.argmax(1))
        )
        accuracy = float(np.mean(clf.classes_[proba.argmax(1)] == y_test))
        rows.append(
            f"| {runtime} | {clones[runtime].runtime_} | "
            f"{args.n_test / medians[runtime]:.1f} | "
            f"**{medians['torch'] / medians[runtime]:.2f}x** | "
            f"{first[runtime]:.1f} / {cached[runtime]:.1f} | "
            f"{agree:.4f} | {np.abs(proba - reference).max():.1e} | {accuracy:.3f} |"
        )
    best = min(RUNTIMES, key=medians.__getitem__)
    load_after = os.getloadavg()
    command = "python -m benchmarks.finetuned_runtime" + "".join(
        f" --{name.replace('_', '-')} {value}"
        for name, value in vars(args).items()
        if value != parser.get_default(name)
    )
    lines = [
        "# Fine-tuned ImageClassifier: predict through torch, OpenVINO, ONNX Runtime",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine()}. Every runtime runs with {args.threads} thread(s). "
        f"Load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
        "(2 cores shared with other jobs: absolute rates are noisy, ratios "
        f"within one run are the figures to read). Total "
        f"{time.perf_counter() - start:.0f} s.",
        "",
        f"`ImageClassifier(strategy='top', unfreeze=1, max_epochs=1)` "
        f"(EfficientNet-Lite0, 224 px) fine-tuned once in torch on {args.n_train} "
        f"Fashion-MNIST training images ({fit_seconds:.0f} s), so the backbone's "
        "weights differ from the pretrained ones and every runtime exports the "
        f"fitted network; predict_proba on {args.n_test} test images (arrays), "
        f"median of {args.rounds} interleaved rounds.",
        "",
        f"**Fine-tuned predict: {best} fastest, "
        f"{medians['torch'] / medians[best]:.2f}x torch "
        f"({args.n_test / medians[best]:.1f} vs "
        f"{args.n_test / medians['torch']:.1f} images/s), predictions equal to "
        "torch's on every test image.**"
        if min(agreements.values()) == 1.0
        else f"**Fine-tuned predict: {best} fastest, "
        f"{medians['torch'] / medians[best]:.2f}x torch; see the agreement "
        "column.**",
        "",
        "| runtime | runtime_ | images/s | vs torch | first predict s (export / cached) "
        "| predictions equal to torch | max abs proba diff | test accuracy |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "First predict: the first call after `set_params(runtime=...)` in a "
        "process with no session loaded, with an empty export cache (export to "
        "ONNX + load + check against torch on a probe batch) and with the export "
        "on disk (load + check; OpenVINO's compiled model cached too); both "
        "include one image's forward pass. The "
        "same happens once at the end of `fit` with the default runtime='auto'.",
        "",
        f"Raw seconds per round: { {r: [round(t, 2) for t in v] for r, v in times.items()} }.",
        "",
    ]
    write_result("finetuned_runtime", "\n".join(lines))


if __name__ == "__main__":
    main()

"""The solved head vs LogisticRegression over repeated random splits.

`benchmarks/head_vs_probe.py` compares the solvers on one split, where a
difference of a few test rows is within the split's noise (the standard
error of an accuracy near 0.9 on 1,500 test rows is about 0.008). Here the
features of every row are computed once, then ``--splits`` random stratified
train/test splits are drawn (the same sizes as the one-split table) and every
solver fits each split on the very same matrix: accuracy mean ± sd, the paired
difference to ``LogisticRegression(C=1)`` (mean ± sd over splits, and on how
many splits the head was at least as good) and the fit time (median over the
splits; the solvers run one after the other on each split, in a rotating
order).

Sets: rt-polarity (2,000 / 2,000 sentences), the UCI sentiment sentences
(1,500 / 1,500), all-MiniLM-L6-v2 features; Fashion-MNIST (2,000 / 2,000
images, from pools of 6,000 training and 4,000 test images), EfficientNet-Lite0
pooled features at 96 px.

Run: python -m benchmarks.head_vs_probe_splits --splits 10
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python -m benchmarks.x

from benchmarks import head_vs_probe  # noqa: E402
from benchmarks._common import machine, write_result  # noqa: E402
from benchmarks.finetune_accuracy import _spec_at, _stratified, sentences  # noqa: E402
from benchmarks.head_vs_probe import IMAGE_SIZE, rt_polarity  # noqa: E402

REFERENCE = "LogisticRegression(C=1, max_iter=1000)"
SIZES = {"rt-polarity": (2000, 2000), "sentiment": (1500, 1500),
         "fashion-mnist": (2000, 2000)}  # fmt: skip


def features(name, cache):
    """(X, y) of every row of ``name``, or (X_train, y_train, X_test, y_test)
    pools for Fashion-MNIST (its own test split)."""
    path = None if cache is None else Path(cache) / f"{name}.npz"
    if path is not None and path.is_file():
        stored = np.load(path)
        return tuple(stored[key] for key in sorted(stored.files))
    from sktransfer import ImageEmbedder, TextEmbedder
    from sktransfer.datasets import load_fashion_mnist, shared_data_dir

    if name == "fashion-mnist":
        images, labels = load_fashion_mnist("train")
        test_images, test_labels = load_fashion_mnist("test")
        rng = np.random.default_rng(0)
        train, test = (
            _stratified(labels, 6000, rng),
            _stratified(test_labels, 4000, rng),
        )
        embedder = ImageEmbedder(_spec_at("tf_efficientnet_lite0", IMAGE_SIZE))
        out = (embedder.fit_transform(images[train]), labels[train],
               embedder.transform(test_images[test]), test_labels[test])  # fmt: skip
    else:
        folder = shared_data_dir()
        texts, labels = (
            rt_polarity(folder) if name == "rt-polarity" else sentences(folder)
        )
        out = (TextEmbedder().fit_transform(list(texts)), labels)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **{f"a{k}": a for k, a in enumerate(out)})
    return out


def split(data, sizes, seed):
    rng = np.random.default_rng(seed)
    n_train, n_test = sizes
    if len(data) == 4:
        X, y, X_test, y_test = data
        train, test = _stratified(y, n_train, rng), _stratified(y_test, n_test, rng)
        return X[train], y[train], X_test[test], y_test[test]
    X, y = data
    order = _stratified(y, n_train + n_test, rng)
    train, test = order[:n_train], order[n_train:]
    return X[train], y[train], X[test], y[test]


def solvers(n_train, with_cv):
    """`benchmarks.head_vs_probe.solvers`, less the StandardScaler pipeline."""
    out = head_vs_probe.solvers(n_train, with_cv)
    return {key: fit for key, fit in out.items() if "StandardScaler" not in key}


def run_set(name, data, n_splits, with_cv):
    sizes = SIZES[name]
    candidates = solvers(sizes[0], with_cv)
    keys = list(candidates)
    accuracy = {key: [] for key in keys}
    seconds = {key: [] for key in keys}
    for seed in range(n_splits):
        X, y, X_test, y_test = split(data, sizes, seed)
        for key in keys[seed % len(keys) :] + keys[: seed % len(keys)]:
            start = time.perf_counter()
            predict = candidates[key](X, y)
            seconds[key].append(time.perf_counter() - start)
            accuracy[key].append(float((predict(X_test) == y_test).mean()))
        print(name, seed, {k: round(v[-1], 4) for k, v in accuracy.items()}, flush=True)
    return accuracy, seconds


def table(name, accuracy, seconds):
    reference = np.asarray(accuracy[REFERENCE])
    ref_time = statistics.median(seconds[REFERENCE])
    n_train, n_test = SIZES[name]
    lines = [
        f"## {name}, {n_train:,} / {n_test:,}, {len(reference)} splits",
        "",
        "| solver | accuracy (mean ± sd) | minus LR(C=1): mean ± sd | "
        "splits >= LR | fit s (median) | time / LR |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, values in accuracy.items():
        values = np.asarray(values)
        diff = values - reference
        time_ = statistics.median(seconds[key])
        lines.append(
            f"| {key} | {values.mean():.4f} ± {values.std(ddof=1):.4f} | "
            f"{diff.mean():+.4f} ± {diff.std(ddof=1):.4f} | "
            f"{int((diff >= 0).sum())}/{len(diff)} | {time_:.3f} | "
            f"{time_ / ref_time:.2f} |"
        )
    return lines + [""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SIZES))
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--features-cache", default=None, help="folder for features")
    parser.add_argument("--no-cv", nargs="*", default=["fashion-mnist"],
                        help="sets without LogisticRegressionCV (slow on images)")  # fmt: skip
    parser.add_argument("--result", default="head_vs_probe_splits")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    lines = [
        "# The solved head vs LogisticRegression over repeated random splits",
        "",
        f"Machine: {machine()}.",
        "Features computed once per set; each split fits every solver on the same "
        "matrix (the order rotates from split to split). Accuracy on the split's "
        'held-out rows; "minus LR(C=1)" is the paired difference per split; fit '
        "times exclude feature extraction. `head` is "
        '`sktransfer.finetune._head.solve_head`, what `strategy="head"` runs '
        "on its cached features (`C = 1 / (head_l2 * n)`).",
        "",
    ]
    for name in args.sets:
        data = features(name, args.features_cache)
        accuracy, seconds = run_set(name, data, args.splits, name not in args.no_cv)
        lines += table(name, accuracy, seconds)
    lines += [
        f"Load average at the end: {os.getloadavg()[0]:.1f}. Total wall time: "
        f"{(time.perf_counter() - started) / 60:.1f} min.",
        "",
        f"Command: `python -m benchmarks.head_vs_probe_splits {' '.join(sys.argv[1:])}`",
        "",
    ]
    write_result(args.result, "\n".join(lines))


if __name__ == "__main__":
    main()

"""The solved head vs scikit-learn's LogisticRegression on the same frozen features.

``strategy="head"`` solves the head on features computed once
(`sktransfer.finetune._head.solve_head`: L-BFGS to convergence, ``head_l2``
chosen by 5-fold cross-validation with ``"auto"``). Here the features are
computed once per dataset and every solver runs on the very same matrix, side
by side (timings interleaved, median of 3):

* rt-polarity (Pang & Lee 2005, SST-2-like movie snippets): 2,000 training /
  2,000 test sentences, all-MiniLM-L6-v2 sentence embeddings;
* the UCI sentiment sentences (amazon + imdb + yelp): 1,500 / 1,500;
* Fashion-MNIST: 2,000 training / 2,000 test images, EfficientNet-Lite0
  pooled features at 96 px (the 28 px images upscaled).

AG News is not available offline, so it is not measured. One end-to-end check
on rt-polarity fits ``TextClassifier(strategy="head")`` on the raw sentences
and compares its head with the one solved here (and its fit time with
TextEmbedder + LogisticRegression).

Run: python -m benchmarks.head_vs_probe
"""

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python -m benchmarks.x

from benchmarks._common import interleaved, machine, timed, write_result  # noqa: E402
from benchmarks.finetune_accuracy import _spec_at, _stratified, sentences  # noqa: E402

IMAGE_SIZE = 96


def rt_polarity(folder):
    texts, labels = [], []
    for label, name in ((0, "rt-polarity.neg"), (1, "rt-polarity.pos")):
        lines = (folder / "rt-polarity" / name).read_text(encoding="latin-1")
        lines = [line.strip() for line in lines.splitlines() if line.strip()]
        texts += lines
        labels += [label] * len(lines)
    return np.array(texts, dtype=object), np.array(labels)


def text_split(texts, labels, n_train, n_test, seed=0):
    rng = np.random.default_rng(seed)
    order = _stratified(labels, n_train + n_test, rng)
    return order[:n_train], order[n_train:]


def solvers(n_train, with_cv=True):
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sktransfer.finetune._head import solve_head

    def head(l2):
        def fit(X, y):
            weight, bias = solve_head(X, y, l2=l2)
            return lambda Z: np.argmax(Z @ weight.T + bias, axis=1)

        return fit

    def sk(factory):
        def fit(X, y):
            return factory().fit(X, y).predict

        return fit

    out = {
        'head, head_l2="auto" (the default)': head("auto"),
        "head, head_l2=1/n (= C 1)": head(1 / n_train),
        "LogisticRegression(C=1, max_iter=1000)": sk(
            lambda: LogisticRegression(max_iter=1000)
        ),
        "StandardScaler + LogisticRegression(C=1)": sk(
            lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        ),
    }
    if with_cv:
        out["LogisticRegressionCV(Cs=10, cv=5)"] = sk(
            lambda: LogisticRegressionCV(Cs=10, cv=5, max_iter=1000)
        )
    return out


def compare(name, X_train, y_train, X_test, y_test, rows, rounds=3, with_cv=True):
    candidates = solvers(len(y_train), with_cv)
    fitted = {}

    def runner(key):
        def run():
            fitted[key] = candidates[key](X_train, y_train)

        return run

    medians, _ = interleaved({key: runner(key) for key in candidates}, rounds=rounds)
    for key in candidates:
        accuracy = float((fitted[key](X_test) == y_test).mean())
        rows.append((name, key, accuracy, medians[key]))
        print(f"{name} | {key} | {accuracy:.4f} | {medians[key]:.3f} s", flush=True)


def end_to_end(texts, labels, train, X_train, rows):
    """TextClassifier(strategy="head") on raw text vs TextEmbedder + LR."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from sktransfer import TextClassifier, TextEmbedder
    from sktransfer.finetune._head import solve_head

    clf = TextClassifier(strategy="head", random_state=0)
    pipe = make_pipeline(TextEmbedder(), LogisticRegression(max_iter=1000))
    t_clf, _ = timed(clf.fit, list(texts[train]), labels[train])
    t_pipe, _ = timed(pipe.fit, list(texts[train]), labels[train])
    weight, _ = solve_head(X_train, labels[train], l2="auto")
    gap = float(np.abs(clf._module.head.weight.detach().numpy() - weight).max())
    rows.append(
        (
            "end to end (rt-polarity, fit on 2,000 raw sentences)",
            f'TextClassifier(strategy="head") {t_clf:.1f} s vs TextEmbedder + '
            f"LogisticRegression {t_pipe:.1f} s (ratio {t_clf / t_pipe:.2f}); "
            f"head_l2_={clf.head_l2_:.3g}; max |head - solve_head on the "
            f"benchmark's features| = {gap:.2e}",
            None,
            None,
        )
    )
    print(rows[-1][1], flush=True)


def main():
    import argparse

    import torch

    from sktransfer.datasets import shared_data_dir

    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--datasets",
        nargs="+",
        default=["rt-polarity", "sentiment", "fashion-mnist"],
        help="rt-polarity (with the end-to-end check), sentiment, fashion-mnist",
    )
    parser.add_argument("--result", default="head_vs_probe")
    parser.add_argument(
        "--image-rounds", type=int, default=3, help="timed fits per image solver"
    )
    parser.add_argument(
        "--image-no-cv",
        action="store_true",
        help="leave LogisticRegressionCV out of the image table (slow on 1 core)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    folder = shared_data_dir()
    rows = []
    if "rt-polarity" in args.datasets:
        run_rt_polarity(folder, rows)
    if "sentiment" in args.datasets:
        run_sentiment(folder, rows)
    if "fashion-mnist" in args.datasets:
        run_fashion(rows, args.image_rounds, not args.image_no_cv)
    report(rows, time.perf_counter() - start, args.result)


def run_rt_polarity(folder, rows):
    from sktransfer import TextEmbedder

    texts, labels = rt_polarity(folder)
    train, test = text_split(texts, labels, 2000, 2000)
    t_feat, X = timed(TextEmbedder().fit_transform, list(texts[np.r_[train, test]]))
    print(f"rt-polarity features: {t_feat:.0f} s", flush=True)
    X_train, X_test = X[: len(train)], X[len(train) :]
    compare("rt-polarity, MiniLM, 2,000 / 2,000", X_train, labels[train], X_test,
            labels[test], rows)  # fmt: skip
    end_to_end(texts, labels, train, X_train, rows)


def run_sentiment(folder, rows):
    from sktransfer import TextEmbedder

    s_texts, s_labels = sentences(folder)
    train, test = text_split(s_texts, s_labels, 1500, 1500)
    X = TextEmbedder().fit_transform(list(s_texts[np.r_[train, test]]))
    compare("sentiment (amazon+imdb+yelp), MiniLM, 1,500 / 1,500", X[:1500],
            s_labels[train], X[1500:], s_labels[test], rows)  # fmt: skip


def run_fashion(rows, rounds=3, with_cv=True):
    from sktransfer import ImageEmbedder
    from sktransfer.datasets import load_fashion_mnist

    images, image_labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    rng = np.random.default_rng(0)
    train = _stratified(image_labels, 2000, rng)
    test = _stratified(test_labels, 2000, rng)
    embedder = ImageEmbedder(_spec_at("tf_efficientnet_lite0", IMAGE_SIZE))
    X_train = embedder.fit_transform(images[train])
    X_test = embedder.transform(test_images[test])
    compare("Fashion-MNIST, EfficientNet-Lite0 96 px, 2,000 / 2,000", X_train,
            image_labels[train], X_test, test_labels[test], rows, rounds,
            with_cv)  # fmt: skip


def report(rows, seconds, result="head_vs_probe"):
    lines = [
        "# The solved head vs LogisticRegression on the same frozen features",
        "",
        f"Machine: {machine()}; load average at the end "
        f"{os.getloadavg()[0]:.1f} (shared 2-core machine: other jobs ran).",
        "Accuracy on the held-out rows; fit time = median of 3 interleaved fits "
        "on the same cached features (feature extraction excluded: it is the "
        "same for every row of a table). AG News is not available offline: not "
        "measured.",
        "",
    ]
    section = None
    for name, key, accuracy, seconds_fit in rows:
        if accuracy is None:
            lines += ["", f"**{name}**: {key}", ""]
            continue
        if name != section:
            lines += ["", f"## {name}", "", "| solver | accuracy | fit (s) |"]
            lines += ["|---|---:|---:|"]
            section = name
        lines.append(f"| {key} | {accuracy:.4f} | {seconds_fit:.3f} |")
    lines += [
        "",
        "`head`: `sktransfer.finetune._head.solve_head`, what "
        '`strategy="head"` runs on its cached features (the mean-loss '
        "convention: `C = 1 / (head_l2 * n)`). `LogisticRegressionCV` picks C "
        "by accuracy over 10 values, the head's `auto` by log loss over 13.",
        f"Total wall time: {seconds / 60:.1f} min.",
        "",
        f"Command: `python -m benchmarks.head_vs_probe {' '.join(sys.argv[1:])}`",
        "",
    ]
    write_result(result, "\n".join(lines))


if __name__ == "__main__":
    main()

"""Accuracy of transfer strategies on real data, side by side in one run.

For each dataset and training size: training the same architecture from
scratch (random initialisation), frozen pretrained features +
LogisticRegression, and the fine-tuning estimators with ``strategy="head"``,
``"top"`` (last two blocks) and ``"full"``.

* Fashion-MNIST (/usr/share/datasets/fashion-mnist), EfficientNet-Lite0:
  500 and 2,000 training images (stratified random subsets, the 500 inside
  the 2,000), tested on 2,000 test images. Every image configuration runs at
  96 x 96 input (the 28 x 28 images upscaled; the CPU budget does not allow
  224 px training), the frozen-features baseline included.
* Sentiment sentences (../shared/data/sentiment, amazon + imdb + yelp),
  all-MiniLM-L6-v2: 1,000 training sentences, tested on 1,000 others.
* Imbalance: a 10:1 two-class Fashion-MNIST subset (1,000 T-shirts vs 100
  shirts), ``class_weight=None`` vs ``"balanced"``, balanced accuracy on a
  balanced test set.

CPU only (no GPU lent for this run), one torch thread: on this shared 2-core
machine one thread was 5-10x faster than two. Results are rewritten after
every configuration, so a partial table survives an interrupted run.

Run: python -m benchmarks.finetune_accuracy [--quick]
"""

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python -m benchmarks.x

from benchmarks._common import machine, write_result  # noqa: E402

IMAGE_SIZE = 96


def _stratified(labels, n, rng, classes=None):
    classes = np.unique(labels) if classes is None else classes
    per_class = n // len(classes)
    picks = [
        rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
        for c in classes
    ]
    return rng.permutation(np.concatenate(picks))


def _spec_at(name, size):
    """A backbone spec whose preprocessing runs at ``size`` px (for the embedder)."""
    from sktransfer import get_backbone

    spec = get_backbone(name)
    prep = spec.preprocessing
    crop_pct = prep.crop_size[0] / prep.resize_size
    smaller = dataclasses.replace(
        prep, crop_size=(size, size), resize_size=int(size / crop_pct)
    )
    return dataclasses.replace(spec, preprocessing=smaller)


def image_models(n_train, epochs):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sktransfer import ImageClassifier, ImageEmbedder

    common = dict(image_size=IMAGE_SIZE, random_state=0, batch_size=32)
    tuned = dict(max_epochs=epochs, **common)
    return {
        "from scratch (random init, full training)": lambda: ImageClassifier(
            strategy="full",
            pretrained=False,
            lr=1e-3,
            backbone_lr=1e-3,
            lr_decay=1.0,
            **tuned,
        ),
        "frozen features + LogisticRegression": lambda: make_pipeline(
            ImageEmbedder(_spec_at("tf_efficientnet_lite0", IMAGE_SIZE), batch_size=64),
            StandardScaler(),
            LogisticRegression(max_iter=3000),
        ),
        'strategy="head"': lambda: ImageClassifier(
            strategy="head", lr=3e-3, max_epochs=30, **common
        ),
        'strategy="top", unfreeze=2': lambda: ImageClassifier(
            strategy="top", unfreeze=2, **tuned
        ),
        'strategy="full"': lambda: ImageClassifier(strategy="full", **tuned),
    }


def text_models(epochs):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sktransfer import TextClassifier, TextEmbedder

    tuned = dict(max_epochs=epochs, lr=2e-3, backbone_lr=1e-4, random_state=0)
    return {
        "from scratch (random init, full training)": lambda: TextClassifier(
            strategy="full",
            pretrained=False,
            max_epochs=epochs,
            lr=5e-4,
            backbone_lr=5e-4,
            lr_decay=1.0,
            random_state=0,
        ),
        "frozen features + LogisticRegression": lambda: make_pipeline(
            TextEmbedder(), StandardScaler(), LogisticRegression(max_iter=3000)
        ),
        'strategy="head"': lambda: TextClassifier(
            strategy="head", lr=1e-2, max_epochs=30, random_state=0
        ),
        'strategy="top", unfreeze=2': lambda: TextClassifier(
            strategy="top", unfreeze=2, **tuned
        ),
        'strategy="full"': lambda: TextClassifier(strategy="full", **tuned),
    }


def sentences(folder):
    texts, labels = [], []
    for path in sorted((folder / "sentiment").glob("*_labelled.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if "\t" in line:
                text, label = line.rsplit("\t", 1)
                texts.append(text.strip())
                labels.append(int(label))
    return np.array(texts, dtype=object), np.array(labels)


class Report:
    def __init__(self, quick):
        self.quick = quick
        self.rows = []  # (section, configuration, metric, value, seconds)
        self.notes = []

    def add(self, section, name, metric, value, seconds):
        self.rows.append((section, name, metric, value, seconds))
        print(
            f"{section} | {name} | {metric} {value:.4f} | {seconds:.0f} s", flush=True
        )
        self.write(done=False)

    def write(self, done):
        lines = [
            "# Fine-tuning accuracy: from scratch vs frozen features vs fine-tuning",
            "",
            f"Machine: {machine()}. No GPU was lent for this run: everything ran on the "
            "CPU, one torch thread (faster than two on this shared 2-core machine).",
            "",
        ]
        if not done:
            lines += [
                "**Partial results: the run was still going when this was written.**",
                "",
            ]
        if self.quick:
            lines += ["**--quick run: tiny sizes, not the reference figures.**", ""]
        section = None
        for sec, name, metric, value, seconds in self.rows:
            if sec != section:
                lines += [
                    "",
                    f"## {sec}",
                    "",
                    f"| configuration | {metric} | fit + predict (s) |",
                    "|---|---:|---:|",
                ]
                section = sec
            lines.append(f"| {name} | {value:.4f} | {seconds:.0f} |")
        lines += (
            [""]
            + self.notes
            + ["", "Command: `python -m benchmarks.finetune_accuracy`", ""]
        )
        write_result("finetune_accuracy", "\n".join(lines))


def run_fashion(report, sizes, n_test, epochs_for):
    from sktransfer.datasets import load_fashion_mnist

    X_train, y_train = load_fashion_mnist("train")
    X_test, y_test = load_fashion_mnist("test")
    rng = np.random.default_rng(0)
    largest = _stratified(y_train, max(sizes), rng)
    test = _stratified(y_test, n_test, rng)
    for n in sizes:
        if n == len(largest):
            train = largest
        else:  # a stratified subset of the largest training set
            train = largest[_stratified(y_train[largest], n, rng)]
        section = (
            f"Fashion-MNIST, EfficientNet-Lite0 at {IMAGE_SIZE} px: {n} training / "
            f"{n_test} test images (epochs of top / full / scratch: {epochs_for(n)})"
        )
        for name, make in image_models(n, epochs_for(n)).items():
            start = time.perf_counter()
            model = make().fit(X_train[train], y_train[train])
            accuracy = model.score(X_test[test], y_test[test])
            report.add(section, name, "accuracy", accuracy, time.perf_counter() - start)


def run_imbalance(report, n_major, n_test):
    from sklearn.metrics import balanced_accuracy_score, recall_score

    from sktransfer import ImageClassifier
    from sktransfer.datasets import load_fashion_mnist

    X_train, y_train = load_fashion_mnist("train")
    X_test, y_test = load_fashion_mnist("test")
    rng = np.random.default_rng(1)
    major = rng.choice(np.flatnonzero(y_train == 0), n_major, replace=False)
    minor = rng.choice(np.flatnonzero(y_train == 6), n_major // 10, replace=False)
    train = rng.permutation(np.r_[major, minor])
    test = _stratified(y_test, n_test, rng, classes=np.array([0, 6]))
    section = (
        f"Imbalance 10:1 (Fashion-MNIST T-shirt/top {n_major} vs shirt "
        f'{n_major // 10}), strategy="head", balanced test set of {n_test}'
    )
    for weight in (None, "balanced"):
        start = time.perf_counter()
        clf = ImageClassifier(
            strategy="head",
            image_size=IMAGE_SIZE,
            lr=3e-3,
            max_epochs=30,
            class_weight=weight,
            random_state=0,
        ).fit(X_train[train], y_train[train])
        pred = clf.predict(X_test[test])
        seconds = time.perf_counter() - start
        name = f"class_weight={weight!r}"
        report.add(
            section,
            name,
            "balanced accuracy",
            balanced_accuracy_score(y_test[test], pred),
            seconds,
        )
        recall = recall_score(y_test[test], pred, pos_label=6)
        report.notes.append(
            f"- {name}: recall of the minority class (shirt) {recall:.3f}."
        )


def run_text(report, n_train, n_test, epochs):
    from sktransfer.datasets import shared_data_dir

    folder = shared_data_dir()
    if folder is None:
        report.notes.append("- Sentiment data not found: text section skipped.")
        return
    texts, labels = sentences(folder)
    rng = np.random.default_rng(0)
    order = _stratified(labels, n_train + n_test, rng)
    train, test = order[:n_train], order[n_train:]
    section = (
        f"Sentiment (amazon + imdb + yelp), all-MiniLM-L6-v2: {n_train} training / "
        f"{n_test} test sentences (epochs of top / full / scratch: {epochs})"
    )
    for name, make in text_models(epochs).items():
        start = time.perf_counter()
        model = make().fit(list(texts[train]), labels[train])
        accuracy = model.score(list(texts[test]), labels[test])
        report.add(section, name, "accuracy", accuracy, time.perf_counter() - start)


def main():
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = Report(args.quick)
    start = time.perf_counter()
    if args.quick:
        run_fashion(report, [100, 200], 200, lambda n: 1)
        run_imbalance(report, 200, 100)
        run_text(report, 100, 100, 1)
    else:
        run_fashion(report, [500, 2000], 2000, lambda n: 4)
        run_imbalance(report, 1000, 1000)
        run_text(report, 1000, 1000, 2)
    report.notes += [
        "",
        "Settings: AdamW, warm-up + cosine schedule, 10 % stratified validation split "
        "with early stopping restoring the best epoch, batch size 32, seed 0. "
        "`head`: lr 3e-3 (images) / 1e-2 (text), 30 epochs on features computed once. "
        "Images top / full: lr 1e-3 for the head, 8e-4 for the top block, x0.8 per "
        "block below, augmentation on (random resized crop + flip). Text top / full: "
        "lr 2e-3 head, 1e-4 top layer, x0.8 per layer below. From scratch: same "
        "architecture with random weights, one learning rate for every layer "
        "(1e-3 images, 5e-4 text).",
        f"Total wall time: {(time.perf_counter() - start) / 60:.1f} min.",
    ]
    report.write(done=True)


if __name__ == "__main__":
    main()

"""GridSearchCV over a pipeline's C (6 values, 5 folds) with and without the cache.

`GridSearchCV(Pipeline([embedder, LogisticRegression()]), {C: 6 values}, cv=5)`:
without a cache every one of the 31 fits (30 + refit) embeds its data again;
with ``cache=folder`` each image or sentence is embedded once. Both runs are
in this one process, their ``cv_results_`` scores compared for equality.

Run: python benchmarks/cache_gridsearch.py [--n-images 2000] [--n-texts 2000]
"""

import argparse
import tempfile
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from benchmarks._common import machine, write_result
from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer.datasets import (
    fashion_mnist_available,
    load_fashion_mnist,
    shared_data_dir,
)

GRID = {"logisticregression__C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]}


def search(embedder, X, y):
    model = make_pipeline(embedder, LogisticRegression(max_iter=2000))
    start = time.perf_counter()
    result = GridSearchCV(model, GRID, cv=5).fit(X, y)
    return time.perf_counter() - start, result.cv_results_["mean_test_score"]


def compare(name, make_embedder, X, y):
    uncached_s, uncached = search(make_embedder(None), X, y)
    with tempfile.TemporaryDirectory() as folder:
        cached_s, cached = search(make_embedder(folder), X, y)
    same = np.array_equal(uncached, cached)
    return f"| {name} | {len(X)} | {uncached_s:.1f} | {cached_s:.1f} | {uncached_s / cached_s:.1f}x | {'yes' if same else 'NO'} |"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-images", type=int, default=2000)
    parser.add_argument("--n-texts", type=int, default=2000)
    args = parser.parse_args()
    rows = []
    if args.n_images and fashion_mnist_available():
        X, y = load_fashion_mnist("train")
        idx = np.random.default_rng(0).choice(len(X), args.n_images, replace=False)
        rows.append(
            compare(
                "Fashion-MNIST images, EfficientNet-Lite0",
                lambda cache: ImageEmbedder(batch_size=64, cache=cache),
                X[idx],
                y[idx],
            )
        )
    if args.n_texts:
        folder = shared_data_dir() / "rt-polarity"
        pos = (folder / "rt-polarity.pos").read_text(encoding="latin-1").splitlines()
        neg = (folder / "rt-polarity.neg").read_text(encoding="latin-1").splitlines()
        half = args.n_texts // 2
        texts, y = pos[:half] + neg[:half], np.repeat([1, 0], half)
        rows.append(
            compare(
                "rt-polarity sentences, all-MiniLM-L6-v2",
                lambda cache: TextEmbedder(batch_size=64, cache=cache),
                texts,
                y,
            )
        )
    lines = [
        "# Grid search with and without the embedding cache",
        "",
        f"Machine: {machine()}",
        "GridSearchCV over 6 values of C, 5-fold CV (31 fits with the refit), same process.",
        "",
        "| data | items | without cache (s) | with cache (s) | speed-up | identical cv_results_ scores |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        "",
        "Target: >= 5x faster with the cache, identical scores.",
        "",
        f"Command: `python benchmarks/cache_gridsearch.py --n-images {args.n_images} --n-texts {args.n_texts}`",
    ]
    write_result("cache_gridsearch", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""GridSearchCV over a pipeline's C (6 values, 5 folds) with and without the cache.

`GridSearchCV(Pipeline([embedder, LogisticRegression()]), {C: 6 values}, cv=5)`:
without a cache every one of the 31 fits (30 + refit) embeds its data again
(31 forward passes per item); with ``cache=folder`` each image or sentence is
embedded once (1 forward pass and 30 cache look-ups per item). Both runs are
in this one process, their ``cv_results_`` scores compared for equality.

Beside the two searches the script measures, on the same items, the parts
their times are made of: one embedding pass (forward time per item), one pass
served from the warm cache (look-up time per item) and the same grid search on
precomputed features (the logistic regressions alone). From these it states
what the issue's 2,000 items would take, and times ``EmbeddingCache.get`` on
10,000 entries.

Run: python -m benchmarks.cache_gridsearch [--n-images 160] [--n-texts 400]
"""

import argparse
import os
import tempfile
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from benchmarks._common import machine, timed, write_result
from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer.datasets import (
    fashion_mnist_available,
    load_fashion_mnist,
    shared_data_dir,
)
from sktransfer.engine import EmbeddingCache

CS = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
FOLDS = 5
FITS = len(CS) * FOLDS + 1  # with the refit
ISSUE_N = 2000


def search(estimator, X, y, prefix="logisticregression__"):
    """Seconds and the test scores (every split and the mean) of the search."""
    grid = GridSearchCV(estimator, {f"{prefix}C": CS}, cv=FOLDS)
    seconds, grid = timed(grid.fit, X, y)
    keys = [f"split{i}_test_score" for i in range(FOLDS)] + ["mean_test_score"]
    return seconds, np.stack([grid.cv_results_[k] for k in keys])


def classifier():
    return LogisticRegression(max_iter=2000)


def compare(name, make_embedder, X, y):
    """Measure one data set; return (table row, figures dict)."""
    n = len(X)
    embed_s, features = timed(make_embedder(None).fit(X[:1]).transform, X)
    lr_s, _ = search(classifier(), features, y, prefix="")
    uncached_s, uncached = search(
        make_pipeline(make_embedder(None), classifier()), X, y
    )
    with tempfile.TemporaryDirectory() as folder:
        cached_s, cached = search(
            make_pipeline(make_embedder(folder), classifier()), X, y
        )
        lookup_s, served = timed(make_embedder(folder).fit(X[:1]).transform, X)
    forward = embed_s / n
    lookup = lookup_s / n
    # the cached search runs the same 31 regressions: what it took beyond its
    # one embedding pass and look-ups bounds them (a busy machine can inflate
    # the separate measurement; the smaller of the two is used below)
    lr_bound = max(cached_s - embed_s - (FITS - 1) * lookup_s, 0.0)
    lr_per_item = min(lr_s, lr_bound) / n
    # the issue's n: forward and look-up cost per item measured here; the
    # logistic regressions assumed linear in n (lbfgs iterations cost O(n d))
    big_uncached = ISSUE_N * (FITS * forward + lr_per_item)
    big_cached = ISSUE_N * (forward + (FITS - 1) * lookup + lr_per_item)
    figures = {
        "name": name,
        "n": n,
        "uncached_s": uncached_s,
        "cached_s": cached_s,
        "speedup": uncached_s / cached_s,
        "identical": bool(np.array_equal(uncached, cached)),
        "served_equal": float(np.abs(served - features).max()),
        "forward_ms": 1e3 * forward,
        "lookup_ms": 1e3 * lookup,
        "lr_s": lr_s,
        "lr_bound": lr_bound,
        "model_uncached": FITS * embed_s + lr_per_item * n,
        "model_cached": embed_s + (FITS - 1) * lookup_s + lr_per_item * n,
        "big_uncached": big_uncached,
        "big_cached": big_cached,
    }
    row = (
        f"| {name} | {n} | {uncached_s:.1f} | {cached_s:.1f} | "
        f"**{figures['speedup']:.1f}x** | {'yes' if figures['identical'] else 'NO'} |"
    )
    return row, figures


def lookup_10k(dim=1280, n=10_000):
    """Seconds to ``get`` n entries of ``dim`` float32 from a warm cache."""
    rng = np.random.default_rng(0)
    keys = [f"{i:032x}" for i in rng.permutation(n)]
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        cache = EmbeddingCache(folder)
        put_s, _ = timed(cache.put, "fingerprint", keys, vectors)
        get_s, (out, found) = timed(cache.get, "fingerprint", keys)
    assert found.all() and np.array_equal(out, vectors)
    return put_s, get_s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-images", type=int, default=160)
    parser.add_argument("--n-texts", type=int, default=400)
    args = parser.parse_args()
    start = time.perf_counter()
    load_before = os.getloadavg()
    rows, figures = [], []
    if args.n_images and fashion_mnist_available():
        X, y = load_fashion_mnist("train")
        idx = np.random.default_rng(0).choice(len(X), args.n_images, replace=False)
        row, fig = compare(
            "Fashion-MNIST images, EfficientNet-Lite0",
            lambda cache: ImageEmbedder(batch_size=64, cache=cache),
            X[idx],
            y[idx],
        )
        rows.append(row)
        figures.append(fig)
    if args.n_texts:
        folder = shared_data_dir() / "rt-polarity"
        pos = (folder / "rt-polarity.pos").read_text(encoding="latin-1").splitlines()
        neg = (folder / "rt-polarity.neg").read_text(encoding="latin-1").splitlines()
        half = args.n_texts // 2
        texts, y = pos[:half] + neg[:half], np.repeat([1, 0], half)
        row, fig = compare(
            "rt-polarity sentences, all-MiniLM-L6-v2",
            lambda cache: TextEmbedder(batch_size=64, cache=cache),
            texts,
            y,
        )
        rows.append(row)
        figures.append(fig)
    put_s, get_s = lookup_10k()
    load_after = os.getloadavg()
    image_forward = next(
        (f["forward_ms"] for f in figures if "images" in f["name"]), None
    )

    parts = [
        f"| {f['name']} | {f['n']} | {f['forward_ms']:.2f} | {f['lookup_ms']:.3f} | "
        f"{f['lr_s']:.1f} / {f['lr_bound']:.1f} | "
        f"{f['model_uncached']:.0f} / {f['uncached_s']:.0f} | "
        f"{f['model_cached']:.0f} / {f['cached_s']:.0f} |"
        for f in figures
    ]
    scaled = [
        f"| {f['name']} | {ISSUE_N} | {f['big_uncached']:.0f} | {f['big_cached']:.0f} | "
        f"{f['big_uncached'] / f['big_cached']:.1f}x |"
        for f in figures
    ]
    lines = [
        "# Grid search with and without the embedding cache",
        "",
        f"Machine: {machine()}. Load average (1, 5, 15 min) at the start "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, at the end "
        f"{', '.join(f'{v:.2f}' for v in load_after)} (a 2-core machine shared with "
        "other jobs: absolute seconds are noisy, ratios within this run less so).",
        f"`GridSearchCV(make_pipeline(embedder, LogisticRegression(max_iter=2000)), "
        f"{{C: {CS}}}, cv={FOLDS})`: {FITS} fits with the refit, both searches in "
        "this one process, batch size 64, `cache=` a fresh temporary folder.",
        "",
        "| data | items | without cache (s) | with cache (s) | speed-up | identical cv_results_ scores (5 splits + mean, 6 candidates) |",
        "|---|---:|---:|---:|---:|---|",
        *rows,
        "",
        "Target: >= 5x faster with the cache, identical scores.",
        "",
        "## What the times are made of",
        "",
        "Measured separately on the same items in the same run: one embedding pass "
        "without the cache (forward time per item, decoding and preprocessing "
        "included), one pass served from the warm cache (look-up time per item: "
        "content key + file read + checksum), and the same grid search on "
        "precomputed features (the 31 logistic regressions alone). Without the "
        f"cache a search costs about {FITS} embedding passes + the regressions; "
        f"with it 1 pass + {FITS - 1} look-ups + the regressions.",
        "",
        "| data | items | forward (ms/item) | cache look-up (ms/item) | regressions alone: measured / bound from the cached search (s) | without cache: model / measured (s) | with cache: model / measured (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *parts,
        "",
        "## The issue's 2,000 items",
        "",
        f"The issue asks for {ISSUE_N:,} items. Without the cache the images take "
        f"{FITS} x {ISSUE_N} = {FITS * ISSUE_N:,} EfficientNet-Lite0 forward passes; "
        + (
            f"at the {image_forward:.0f} ms per image measured above, about "
            f"{FITS * ISSUE_N * image_forward / 1e3 / 60:.0f} minutes on this shared "
            "2-core CPU for the uncached search alone, "
            if image_forward
            else ""
        )
        + f"so the images run here on {args.n_images} items (and the sentences on "
        f"{args.n_texts}, to keep the script within about 20 minutes on this busy "
        "machine). The speed-up does not "
        "depend on the number of items: both searches scale linearly in it "
        f"(about {FITS} forward passes per item against 1 forward pass and "
        f"{FITS - 1} look-ups), and grows with the number of fits "
        "(candidates x folds + 1). Scaled with the per-item figures above (the "
        "regressions taken as linear in the number of items, their time the "
        "smaller of the measured one and the bound from the cached search):",
        "",
        "| data | items | without cache (s, predicted) | with cache (s, predicted) | speed-up |",
        "|---|---:|---:|---:|---:|",
        *scaled,
        "",
        "## 10,000 cached items",
        "",
        f"`EmbeddingCache.get` of 10,000 entries of 1280 float32 (written with `put` "
        f"in {put_s:.1f} s): **{get_s:.2f} s, {1e3 * get_s / 10_000:.3f} ms per item**"
        + (
            f", against {image_forward:.0f} ms per image for an EfficientNet-Lite0 "
            f"forward pass here ({image_forward / (1e3 * get_s / 10_000):.0f}x)."
            if image_forward
            else "."
        ),
        "",
        f"Whole script: {(time.perf_counter() - start) / 60:.1f} min.",
        "",
        "Command: `python -m benchmarks.cache_gridsearch "
        f"--n-images {args.n_images} --n-texts {args.n_texts}`",
    ]
    write_result("cache_gridsearch", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

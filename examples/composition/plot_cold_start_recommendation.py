"""
Recommending new movies from day one: a content bridge for cold start
=====================================================================

A matrix factorization recommender (implicit's ALS) learns a latent vector
for every movie that people have watched, and nothing for a movie that no one
has watched yet: the *cold start* problem. Here transfer learning fills the
gap. A pretrained sentence encoder (:class:`~sktransfer.TextEmbedder`, the
offline ``all-MiniLM-L6-v2``) embeds each movie's title and genres; a ridge
regression learns the map from those embeddings to the ALS item factors on the
movies that have been watched, and then gives factors to the new ones, so they
can be recommended before anyone has watched them.

In scikit-learn terms it is one estimator,
``ImplicitRecommender(content_embedder=TextEmbedder(), content_model=Ridge())``
fitted with ``fit(interactions, item_content=titles)``; here the titles are
embedded once up front and passed as a DataFrame of embeddings, because a
baseline uses the same embeddings.

**Where the data come from.** No installable package ships a ratings table
with movie titles, so this example reads the MovieTweetings 100K ratings
(Dooms et al. 2013, MIT licence) from a local data folder: the one that
``SKTRANSFER_DATA`` names, else ``../shared/data``, under
``rec/movietweetings-100k/`` (``ratings.dat`` and ``movies.dat`` as
published). It keeps the 1,558 movies with at least 10 ratings, to stay
under a minute on a laptop CPU. **Without that folder** (a fresh install) the
example says so and runs on a small **synthetic** catalogue whose titles
carry the genres its made-up users like: the code and the figures then show
how the pieces fit, not how well they work on real data.
"""

# %%
# The data
# --------
# Every rating is an implicit interaction ("this user watched this movie").
# Movie ids are strings with leading zeros, kept as such.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.neighbors import KNeighborsRegressor

from sktransfer import ImplicitRecommender, TextEmbedder
from sktransfer.datasets import load_movietweetings
from sktransfer.integrations import ndcg_at_k, recall_at_k


def movietweetings(min_ratings=10):
    try:
        ratings, item_text = load_movietweetings()
    except FileNotFoundError:
        return None
    counts = ratings.item.value_counts()
    ratings = ratings[ratings.item.isin(counts[counts >= min_ratings].index)]
    titles = item_text[item_text.index.isin(set(ratings.item))]
    return ratings[["user", "item"]], titles


def synthetic(n_users=300, seed=0):
    """Users who like one or two genres; titles that name the genre."""
    rng = np.random.default_rng(seed)
    words = {
        "space adventure": ["Galaxy", "Starship", "Orbit", "Nebula", "Planet"],
        "romantic comedy": ["Wedding", "Kiss", "Valentine", "Date", "Sweetheart"],
        "horror": ["Haunting", "Curse", "Nightmare", "Graveyard", "Scream"],
        "war drama": ["Battalion", "Trenches", "Frontline", "Siege", "Armistice"],
        "animated family film": ["Puppy", "Dragon", "Toy", "Bunny", "Fairy"],
        "crime thriller": ["Heist", "Detective", "Cartel", "Alibi", "Ransom"],
    }
    genres = list(words)
    titles, item_genre = {}, []
    for g, names in enumerate(words.values()):
        for name in names:
            for part in ("", " II", " Returns", " Rising"):
                titles[f"m{len(titles):03d}"] = f"{name}{part}, a {genres[g]}"
                item_genre.append(g)
    item_genre = np.array(item_genre)
    items = np.array(list(titles), dtype=object)
    rows = []
    for u in range(n_users):
        liked = rng.choice(len(genres), size=2, replace=False)
        pool = items[np.isin(item_genre, liked)]
        for item in rng.choice(pool, size=8, replace=False):
            rows.append((f"u{u:03d}", item))
    return pd.DataFrame(rows, columns=["user", "item"]), pd.Series(titles)


data, source = movietweetings(), "MovieTweetings"
if data is None:
    print("MovieTweetings not found: using a small SYNTHETIC catalogue instead.")
    data, source = synthetic(), "SYNTHETIC catalogue"
interactions, titles = data
print(f"{len(interactions)} interactions, {interactions.user.nunique()} users, "
      f"{len(titles)} movies")  # fmt: skip
print(titles.head(3).to_string())

# %%
# Hold out 20% of the movies entirely
# -----------------------------------
# Their ratings are removed from training: for the recommender they are new
# releases. The test question: for each user who did watch some of them, are
# those among the top 10 new movies recommended?
rng = np.random.default_rng(0)
movies = np.array(sorted(titles.index), dtype=object)
cold = np.array(sorted(rng.choice(movies, size=len(movies) // 5, replace=False)))
is_cold = interactions.item.isin(set(cold))
train, test = interactions[~is_cold], interactions[is_cold]
test = test[test.user.isin(set(train.user))]
relevant = test.groupby("user").item.agg(set)
users = relevant.index.to_numpy()
print(f"{len(cold)} new movies, {len(users)} test users")

# %%
# Embed the titles
# ----------------
# ``TextEmbedder`` is frozen (``fit`` learns nothing), so embedding every
# movie once, held-out ones included, leaks nothing about their ratings.
embedder = TextEmbedder(backbone="all-MiniLM-L6-v2")
emb = pd.DataFrame(embedder.fit_transform(titles.tolist()), index=titles.index)
print(emb.shape)

# %%
# Fit the recommender with the content bridge
# -------------------------------------------
# ``item_content`` covers all movies; those absent from ``train`` become the
# cold items, with factors predicted from their embedded titles by the
# ``content_model``: a ridge regression (``Ridge()`` by default; here with its
# penalty chosen by ``RidgeCV``), or any regressor, e.g. the mean factors of the
# 10 most similar known titles.
als = dict(factors=32, regularization=1.0, alpha=20.0, iterations=15, random_state=0)
alphas = [0.1, 1.0, 10.0, 100.0]
rec = ImplicitRecommender(**als, content_model=RidgeCV(alphas=alphas))
rec.fit(train, item_content=emb)
knn = ImplicitRecommender(**als, content_model=KNeighborsRegressor(10, metric="cosine"))
knn.fit(train, item_content=emb)
print(f"{len(rec.cold_items_)} movies got their factors from their titles")

# %%
# Compare with baselines
# ----------------------
# Rank only the new movies. Random ranking, and "content popularity": a ridge
# from the same embeddings to how many users watched each known movie, one
# ranking for everyone (the best popularity guess for an unwatched movie).
warm = np.setdiff1d(rec.items_, rec.cold_items_)
counts = train.item.value_counts()[warm]
pop_model = RidgeCV(alphas=alphas).fit(emb.loc[warm], np.log1p(counts.to_numpy()))
pop_ranking = cold[np.argsort(-pop_model.predict(emb.loc[cold]))][:10]
random_recs = [rng.permutation(cold)[:10] for _ in users]

rel = relevant.tolist()
scores = {
    name: (recall_at_k(rel, recs, k=10), ndcg_at_k(rel, recs, k=10))
    for name, recs in [
        ("random", random_recs),
        ("content popularity", [pop_ranking] * len(users)),
        ("bridge: ridge", rec.recommend(users, n=10, items=cold)),
        ("bridge: 10-NN", knn.recommend(users, n=10, items=cold)),
    ]
}
for name, (recall, ndcg) in scores.items():
    print(f"{name:>20}: recall@10 = {recall:.3f}  NDCG@10 = {ndcg:.3f}")

# %%
# On MovieTweetings (the figure's title names the data it ran on), both kinds
# of content model rank the new movies far better than chance.
# Against content popularity the outcome depends on the data: among these
# fairly popular movies, popularity is a strong signal, and which movies are
# held out matters a lot (a few blockbusters carry much of the score).
# ``benchmarks/recommender.py`` compares them over three splits of the full
# catalogue, long tail included.
fig, ax = plt.subplots(figsize=(7.5, 3.5))
x = np.arange(2)
for i, (name, values) in enumerate(scores.items()):
    bars = ax.bar(x + (i - 1.5) * 0.2, values, width=0.2, label=name)
    ax.bar_label(bars, fmt="%.2f", fontsize=7)
ax.set_xticks(x, ["recall@10", "NDCG@10"])
ax.set_ylabel("score on the new movies")
ax.set_title(f"Cold-start movies ranked from their titles ({source})")
# beside the axes, so that it covers no bar
ax.legend(title="ranking", loc="upper left", bbox_to_anchor=(1.01, 1.0))
fig.tight_layout()

# %%
# What one user gets
# ------------------
# The new movies this user watched (held out), and the bridge's top 5.
user = users[np.argmax([len(r) for r in rel])]
print("watched (held out):", *titles[sorted(relevant[user])].tolist()[:5], sep="\n  ")
top5 = rec.recommend([user], n=5, items=cold)[0]
print("recommended:", *titles[top5].tolist(), sep="\n  ")

# %%
# A movie that arrives after fitting
# ----------------------------------
# ``add_items`` predicts the factors of new content with the fitted content
# model (and the fitted encoder, when one was given): no refit. Which users
# does the new movie suit best, and what did they watch?
new = "Galaxy Quest Rising (2030). Genres: Sci-Fi, Adventure"
rec.add_items(pd.DataFrame(embedder.transform([new]), index=["new-0001"]))
all_users = rec.users_
fit_scores = rec.predict(pd.DataFrame({"user": all_users, "item": "new-0001"}))
best = all_users[np.argmax(fit_scores)]
watched = titles[train.item[train.user == best]].tolist()[:6]
print(f"{new!r} suits user {best} best; they watched:", *watched, sep="\n  ")

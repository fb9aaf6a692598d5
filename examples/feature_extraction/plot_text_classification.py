"""
Text classification with few labels: sentence embeddings vs TF-IDF
==================================================================

A frozen pretrained sentence encoder (:class:`~sktransfer.TextEmbedder`, the
offline ``all-MiniLM-L6-v2``) maps each text to a 384-dimensional vector that
already encodes what the text is about. A linear model on top needs far fewer
labelled examples than one on word counts, which must see a word in the
training set to use it.

The data are real and ship with an installed package: the WordNet
definitions of the 1,000 ImageNet classes, which ``timm`` bundles
(``timm.data.ImageNetInfo``). The task: does a definition describe an
**animal**? In ImageNet-1k the classes 0 to 397 are animals (fish, birds,
reptiles, dogs, insects, ...) and 398 to 999 are everything else (objects,
food, plants, landscapes), so the labels come with the data. Only the
definition is used, not the class name: "freshwater dace-like game fish of
Europe and western Asia ..." must be recognised as an animal without the word
"tench".
"""

# %%
# The definitions
# ---------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from timm.data import ImageNetInfo

from sktransfer import TextEmbedder

info = ImageNetInfo()
definitions = np.array(
    [info.index_to_description(i, detailed=True).split(": ", 1)[1] for i in range(1000)]
)
is_animal = np.arange(1000) < 398
labels = np.where(is_animal, "animal", "not an animal")
for i in (0, 151, 309, 417, 963):
    print(f"{labels[i]:>14}: {definitions[i]}")

# %%
# 600 definitions to learn from, 400 to test on (stratified).
train_text, test_text, y_train, y_test = train_test_split(
    definitions, labels, test_size=400, stratify=labels, random_state=0
)

# %%
# Embed once, then learn from more and more labels
# ------------------------------------------------
# ``fit`` learns nothing for a frozen encoder (it loads the weights), so the
# embeddings of all texts can be computed once and reused for every training
# subset without leaking test labels. For each training size we draw five
# random labelled subsets and compare a logistic regression on the sentence
# embeddings with one on TF-IDF word and bigram weights.
embedder = TextEmbedder().fit(train_text)
Z_train, Z_test = embedder.transform(train_text), embedder.transform(test_text)
print("embeddings:", Z_train.shape, Z_train.dtype)

sizes = [10, 20, 40, 80, 160, 320, 600]
rng = np.random.default_rng(0)
scores = {"TF-IDF": [], "MiniLM embeddings": []}
for size in sizes:
    per_size = {name: [] for name in scores}
    for _ in range(5):
        # a random labelled subset with both classes present
        while True:
            subset = rng.choice(len(y_train), size, replace=False)
            if len(set(y_train[subset])) == 2:
                break
        tfidf = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            LogisticRegression(C=10, max_iter=1000),
        ).fit(train_text[subset], y_train[subset])
        per_size["TF-IDF"].append(
            balanced_accuracy_score(y_test, tfidf.predict(test_text))
        )
        linear = LogisticRegression(C=10, max_iter=1000)
        linear.fit(Z_train[subset], y_train[subset])
        per_size["MiniLM embeddings"].append(
            balanced_accuracy_score(y_test, linear.predict(Z_test))
        )
    for name in scores:
        scores[name].append(per_size[name])

fig, ax = plt.subplots(figsize=(6, 4))
for name, marker in zip(scores, ["s", "o"], strict=True):
    values = np.array(scores[name])
    ax.errorbar(
        sizes,
        values.mean(axis=1),
        yerr=values.std(axis=1),
        marker=marker,
        capsize=3,
        label=name,
    )
ax.set_xscale("log")
ax.set_xticks(sizes, [str(s) for s in sizes])
ax.axhline(0.5, color="grey", linestyle=":", label="chance")
ax.set_xlabel("labelled definitions in training")
ax.set_ylabel("balanced accuracy on 400 test definitions")
ax.set_title("Animal or not? Mean and std over 5 random subsets")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# With a handful of labels the embeddings are already far above chance while
# TF-IDF is barely above it: the encoder has learned from other text that
# "freshwater fish" and "songbird" are animals, while TF-IDF only knows the
# words of its few training definitions. The gap narrows as labels grow.
for name, values in scores.items():
    print(
        f"{name:>18}: "
        + "  ".join(
            f"{s}: {np.mean(v):.2f}" for s, v in zip(sizes, values, strict=True)
        )
    )

# %%
# The whole model as one pipeline
# -------------------------------
# In practice the encoder sits in a :class:`~sklearn.pipeline.Pipeline` that
# takes raw strings, so it can be cross-validated, grid-searched and pickled
# like any scikit-learn model. Trained on 40 labelled definitions:
subset = rng.choice(len(y_train), 40, replace=False)
model = make_pipeline(TextEmbedder(), LogisticRegression(C=10, max_iter=1000))
model.fit(train_text[subset], y_train[subset])
predicted = model.predict(test_text)
print(f"balanced accuracy: {balanced_accuracy_score(y_test, predicted):.3f}")

fig, ax = plt.subplots(figsize=(4.5, 4))
ConfusionMatrixDisplay.from_predictions(y_test, predicted, ax=ax, colorbar=False)
ax.set_title("MiniLM + logistic regression, 40 labels")
fig.tight_layout()

# %%
# Some of the test definitions it gets wrong:
wrong = np.flatnonzero(predicted != y_test)
for i in wrong[:5]:
    print(f"true: {y_test[i]}, predicted: {predicted[i]}\n    {test_text[i]}")

"""Quality on real data: frozen features + LogisticRegression vs raw inputs.

Fashion-MNIST: 2,000 training images, evaluated on 2,000 test images (fixed
random subsets), raw pixels vs EfficientNet-Lite0 features. Sentiment
sentences (amazon, imdb, yelp; ../shared/data/sentiment): 5-fold CV, TF-IDF
vs all-MiniLM-L6-v2 features.

Run: python -m benchmarks.embed_quality
"""

import time

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import machine, write_result
from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer.datasets import load_fashion_mnist, shared_data_dir


def fashion_rows():
    X_train, y_train = load_fashion_mnist("train")
    X_test, y_test = load_fashion_mnist("test")
    rng = np.random.default_rng(0)
    tr = rng.choice(len(X_train), 2000, replace=False)
    te = rng.choice(len(X_test), 2000, replace=False)
    rows = []
    raw = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    start = time.perf_counter()
    raw.fit(X_train[tr].reshape(2000, -1) / 255.0, y_train[tr])
    acc = raw.score(X_test[te].reshape(2000, -1) / 255.0, y_test[te])
    rows.append(
        (
            "Fashion-MNIST (2,000 train / 2,000 test)",
            "raw pixels + LogisticRegression",
            acc,
            time.perf_counter() - start,
        )
    )
    model = make_pipeline(
        ImageEmbedder(batch_size=64),
        StandardScaler(),
        LogisticRegression(max_iter=3000),
    )
    start = time.perf_counter()
    model.fit(X_train[tr], y_train[tr])
    acc = model.score(X_test[te], y_test[te])
    rows.append(
        (
            "Fashion-MNIST (2,000 train / 2,000 test)",
            "EfficientNet-Lite0 features + LogisticRegression",
            acc,
            time.perf_counter() - start,
        )
    )
    return rows


def sentiment_rows():
    rows = []
    folder = shared_data_dir() / "sentiment"
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    for path in sorted(folder.glob("*_labelled.txt")):
        texts, labels = [], []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if "\t" in line:
                text, label = line.rsplit("\t", 1)
                texts.append(text.strip())
                labels.append(int(label))
        y = np.array(labels)
        name = f"sentiment {path.stem.split('_')[0]} ({len(texts)} sentences, 5-fold)"
        start = time.perf_counter()
        tfidf = make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=1),
            LogisticRegression(max_iter=2000),
        )
        acc = cross_val_score(tfidf, texts, y, cv=cv).mean()
        rows.append(
            (name, "TF-IDF + LogisticRegression", acc, time.perf_counter() - start)
        )
        start = time.perf_counter()
        features = TextEmbedder().fit_transform(
            texts
        )  # frozen: same vectors in every fold
        acc = cross_val_score(
            LogisticRegression(max_iter=2000), features, y, cv=cv
        ).mean()
        rows.append(
            (
                name,
                "all-MiniLM-L6-v2 features + LogisticRegression",
                acc,
                time.perf_counter() - start,
            )
        )
    return rows


def main():
    rows = fashion_rows() + sentiment_rows()
    lines = [
        "# Quality: frozen pretrained features vs raw inputs",
        "",
        f"Machine: {machine()}",
        "",
        "| data | features | accuracy | seconds |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {d} | {f} | {a:.3f} | {s:.0f} |" for d, f, a, s in rows]
    lines += ["", "Command: `python -m benchmarks.embed_quality`"]
    write_result("embed_quality", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

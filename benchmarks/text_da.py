"""Sentiment across review sites: MiniLM embeddings, no adaptation vs adapters.

UCI "Sentiment Labelled Sentences" (Kotzias et al., KDD 2015): 1000
sentences each from amazon, imdb and yelp reviews, 500 positive and 500
negative, in ``../shared/data/sentiment/{amazon_cells,imdb,yelp}_labelled.txt``
(``sentence<TAB>label``). Each sentence is embedded once with
``sktransfer.TextEmbedder(backbone="all-MiniLM-L6-v2")`` (384-d, offline
weights); for each of the 6 (source, target) pairs, every method is one
``make_da_pipeline(...)`` on the stacked source + target embeddings (target
labels masked with -1), a logistic regression trained on the labelled source
rows and scored on all target rows.

Settings fixed beforehand: CORAL ``reg="auto"`` (Ledoit-Wolf) on the raw
embeddings; SA and TCA 64 components (TCA: linear kernel, mu = 1); IW with a
logistic-regression domain classifier. One row chooses CORAL's ``reg`` per
pair without target labels: ``GridSearchCV`` with
``ImportanceWeightedScorer`` and ``SourceTargetKFold``. One pair is also run
end to end with the embedder inside the pipeline, to check that it gives the
same accuracy as the precomputed embeddings.

Run from the repository root: ``python -m benchmarks.text_da`` (a few minutes
on 2 cores, mostly embedding). Writes ``benchmarks/results/text_da.md``.
"""

import itertools
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _da import fmt, hurt_pairs, machine, table, target_accuracy  # noqa: E402

from sktransfer import TextEmbedder  # noqa: E402
from sktransfer.adapt import (  # noqa: E402
    CORALAdapter,
    DomainStandardScaler,
    ImportanceWeightedScorer,
    ImportanceWeightingAdapter,
    SourceTargetKFold,
    SubspaceAlignmentAdapter,
    TCAAdapter,
    make_da_pipeline,
)
from sktransfer.datasets import shared_data_dir  # noqa: E402

FILES = {
    "amazon": "amazon_cells_labelled.txt",
    "imdb": "imdb_labelled.txt",
    "yelp": "yelp_labelled.txt",
}
PAIRS = [f"{s}→{t}" for s, t in itertools.permutations(FILES, 2)]


def classifier():
    return LogisticRegression(C=1.0, max_iter=2000)


def tuned_coral():
    return GridSearchCV(
        make_da_pipeline(CORALAdapter(), classifier()),
        {"coraladapter__reg": [1e-3, 1e-2, 1e-1, "auto"]},
        scoring=ImportanceWeightedScorer(),
        cv=SourceTargetKFold(3, shuffle=True, random_state=0),
    )


METHODS = {
    "NA": lambda: make_da_pipeline(classifier()),
    "NA, z-score per domain": lambda: make_da_pipeline(
        DomainStandardScaler(), classifier()
    ),
    "CORAL": lambda: make_da_pipeline(CORALAdapter(reg="auto"), classifier()),
    "CORAL, reg by IW-CV": tuned_coral,
    "SA": lambda: make_da_pipeline(SubspaceAlignmentAdapter(64), classifier()),
    "TCA": lambda: make_da_pipeline(TCAAdapter(64, mu=1.0), classifier()),
    "IW": lambda: make_da_pipeline(ImportanceWeightingAdapter(classifier())),
}


def load(folder):
    domains = {}
    for name, filename in FILES.items():
        texts, labels = [], []
        for line in (folder / filename).read_text(encoding="utf-8").splitlines():
            if line.strip():
                text, label = line.rsplit("\t", 1)
                texts.append(text.strip())
                labels.append(int(label))
        domains[name] = (texts, np.array(labels))
    return domains


def main():
    import torch

    torch.set_num_threads(2)
    folder = shared_data_dir()
    if folder is None or not (folder / "sentiment").is_dir():
        sys.exit("shared data not found: set SKTRANSFER_DATA to the shared data folder")
    domains = load(folder / "sentiment")
    start = time.perf_counter()
    embedder = TextEmbedder(backbone="all-MiniLM-L6-v2", batch_size=64)
    embedded = {}
    for name, (texts, labels) in domains.items():
        embedded[name] = (embedder.fit_transform(texts), labels)
        print(name, embedded[name][0].shape, flush=True)
    embed_seconds = time.perf_counter() - start

    results, chosen = {}, {}
    for pair in PAIRS:
        source, target = pair.split("→")
        (Xs, ys), (Xt, yt) = embedded[source], embedded[target]
        results[pair] = {}
        for name, make in METHODS.items():
            model = make()
            results[pair][name], _ = target_accuracy(model, Xs, ys, Xt, yt)
            if name == "CORAL, reg by IW-CV":
                chosen[pair] = model.best_params_["coraladapter__reg"]
        print(pair, {k: round(v, 1) for k, v in results[pair].items()}, flush=True)
    results["mean"] = {
        m: float(np.mean([results[p][m] for p in PAIRS])) for m in METHODS
    }

    # one pair end to end: raw sentences in, the embedder inside the pipeline
    (texts_s, ys), (texts_t, yt) = domains["amazon"], domains["yelp"]
    raw = make_da_pipeline(
        TextEmbedder(backbone="all-MiniLM-L6-v2", batch_size=64),
        CORALAdapter(reg="auto"),
        classifier(),
    )
    raw.fit(texts_s + texts_t, np.r_[ys, -np.ones(len(texts_t), dtype=int)])
    end_to_end = 100 * float(np.mean(raw.predict(texts_t) == yt))
    elapsed = time.perf_counter() - start

    rows = [
        [pair, *[fmt(results[pair][m]) for m in METHODS]] for pair in [*PAIRS, "mean"]
    ]
    adapters = [m for m in METHODS if m != "NA"]
    text = f"""# Sentiment across review sites (amazon / imdb / yelp), MiniLM embeddings

Produced by `python -m benchmarks.text_da` ({elapsed / 60:.1f} min, of which
{embed_seconds:.0f} s embedding the 3,000 sentences; {machine()}).
Target accuracy (%) of a logistic regression (C=1) trained on the labelled source
sentences' `TextEmbedder(backbone="all-MiniLM-L6-v2")` embeddings; every method is
one `make_da_pipeline(...)` on the stacked source + target embeddings (target labels
masked). CORAL reg="auto" (Ledoit-Wolf); SA and TCA 64 components (TCA linear, mu=1);
IW: logistic-regression domain classifier. "CORAL, reg by IW-CV" picks reg in
{{1e-3, 1e-2, 1e-1, auto}} per pair with `GridSearchCV(scoring=ImportanceWeightedScorer(),
cv=SourceTargetKFold(3))`, without target labels; chosen: {", ".join(f"{p} {r}" for p, r in chosen.items())}.

{table(["pair", *METHODS], rows)}

Compared with NA (no adaptation):

{hurt_pairs(results, "NA", adapters, PAIRS)}

End to end, raw sentences in (`make_da_pipeline(TextEmbedder(...), CORALAdapter(),
LogisticRegression())` on amazon→yelp): {end_to_end:.1f} % (precomputed embeddings:
{results["amazon→yelp"]["CORAL"]:.1f} %).
"""
    out = Path(__file__).resolve().parent / "results" / "text_da.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"[written to {out}]")


if __name__ == "__main__":
    main()

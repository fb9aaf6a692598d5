"""MNIST <-> USPS: no adaptation vs the embedding-level adapters.

The JDA protocol files (Long et al., ICCV 2013): 2000 MNIST and 1800 USPS
digits, 16 x 16 = 256 grey levels in [0, 1], labels 1..10, in
``../shared/data/domain-adaptation/{MNIST_vs_USPS,USPS_vs_MNIST}.mat``
(MATLAB v7.3, read with h5py). Rows are L2-normalised (as in the JDA code),
then every method is one ``make_da_pipeline(...)`` fitted on the stacked
source + target rows (target labels masked with -1); its classifier sees the
labelled source rows only and is scored on all target rows. Two downstream
classifiers: 1-nearest neighbour (the JDA protocol) and logistic regression.

Adapter settings are fixed beforehand (no tuning on target labels): CORAL
``reg=1`` after per-domain z-scoring, SA and TCA 30 components (TCA: RBF
kernel, mu = 1), IW with a logistic-regression domain classifier.

DANN (adversarial fine-tuning) belongs to the fine-tuning estimators and is
not run here; its row is left for them to fill.

Run from the repository root: ``python benchmarks/digits_da.py`` (about 2
minutes on 2 cores). Writes ``benchmarks/results/digits_da.md``.
"""

import sys
import time
from pathlib import Path

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _da import fmt, hurt_pairs, machine, table, target_accuracy  # noqa: E402

from sktransfer.adapt import (  # noqa: E402
    CORALAdapter,
    DomainStandardScaler,
    ImportanceWeightedScorer,
    ImportanceWeightingAdapter,
    SelectSource,
    SourceTargetKFold,
    SubspaceAlignmentAdapter,
    TCAAdapter,
    make_da_pipeline,
)
from sktransfer.datasets import shared_data_dir  # noqa: E402

TASKS = {"MNIST→USPS": "MNIST_vs_USPS.mat", "USPS→MNIST": "USPS_vs_MNIST.mat"}
CLASSIFIERS = {
    "1-NN": lambda: KNeighborsClassifier(n_neighbors=1),
    "logistic regression": lambda: LogisticRegression(C=1.0, max_iter=2000),
}


# candidates of the unsupervised selection (TCA left out: its n x n
# eigenproblem on every fold is too slow here)
CANDIDATES = [
    "passthrough",
    DomainStandardScaler(),
    CORALAdapter(),
    SubspaceAlignmentAdapter(30),
]


def methods(classifier):
    l2 = lambda: Normalizer(norm="l2")  # noqa: E731
    out = {
        "NA": lambda: make_da_pipeline(l2(), classifier()),
        "NA, z-score per domain": lambda: make_da_pipeline(
            l2(), DomainStandardScaler(), classifier()
        ),
        "CORAL": lambda: make_da_pipeline(
            l2(), DomainStandardScaler(), CORALAdapter(reg=1.0), classifier()
        ),
        # added after a first run showed the z-score recipe hurting on pixels:
        # CORAL with the library default (scale-free Ledoit-Wolf), no z-scoring
        "CORAL, default reg='auto'": lambda: make_da_pipeline(
            l2(), CORALAdapter(), classifier()
        ),
        "SA": lambda: make_da_pipeline(
            l2(), SubspaceAlignmentAdapter(30), classifier()
        ),
        "TCA": lambda: make_da_pipeline(
            l2(), TCAAdapter(30, kernel="rbf", mu=1.0), classifier()
        ),
    }
    out["adapter chosen by IW-CV"] = lambda: GridSearchCV(
        Pipeline(
            [
                ("l2", l2()),
                ("adapter", "passthrough"),
                ("clf", SelectSource(classifier())),
            ]
        ),
        {"adapter": CANDIDATES},
        scoring=ImportanceWeightedScorer(),
        cv=SourceTargetKFold(3, shuffle=True, random_state=0),
    )
    if classifier is CLASSIFIERS["logistic regression"]:
        # 1-NN takes no sample_weight
        out["IW"] = lambda: make_da_pipeline(
            l2(), ImportanceWeightingAdapter(classifier())
        )
    return out


def load(path):
    with h5py.File(path, "r") as f:
        # MATLAB stores column-major: h5py already gives rows = samples here
        Xs, Xt = (
            np.array(f["Xs"], dtype=np.float64),
            np.array(f["Xt"], dtype=np.float64),
        )
        ys, yt = (
            np.array(f["Ys"]).ravel().astype(int),
            np.array(f["Yt"]).ravel().astype(int),
        )
    if Xs.shape[0] != ys.size:  # other orientation
        Xs, Xt = Xs.T, Xt.T
    return Xs, ys, Xt, yt


def main():
    folder = shared_data_dir()
    if folder is None or not (folder / "domain-adaptation").is_dir():
        sys.exit("shared data not found: set SKTRANSFER_DATA to the shared data folder")
    data = {task: load(folder / "domain-adaptation" / f) for task, f in TASKS.items()}
    start = time.perf_counter()
    sections, chosen = [], {}
    for clf_name, classifier in CLASSIFIERS.items():
        ms = methods(classifier)
        results = {}
        for task, (Xs, ys, Xt, yt) in data.items():
            results[task] = {}
            for name, make in ms.items():
                model = make()
                acc, sec = target_accuracy(model, Xs, ys, Xt, yt)
                results[task][name] = acc
                if name == "adapter chosen by IW-CV":
                    step = model.best_params_["adapter"]
                    chosen[(clf_name, task)] = (
                        step if isinstance(step, str) else type(step).__name__
                    )
                print(clf_name, task, name, round(acc, 1), f"{sec:.1f}s", flush=True)
        tasks = list(TASKS)
        results["mean"] = {
            m: float(np.mean([results[t][m] for t in tasks])) for m in ms
        }
        rows = [[m, *[fmt(results[t][m]) for t in [*tasks, "mean"]]] for m in ms]
        rows.append(["DANN (fine-tuning; to be added)", "—", "—", "—"])
        adapters = [m for m in ms if m != "NA"]
        sections.append(
            f"## Downstream classifier: {clf_name}\n\n"
            + table(["method", *tasks, "mean"], rows)
            + "\n\nCompared with NA (L2-normalised rows, no adaptation):\n\n"
            + hurt_pairs(results, "NA", adapters, tasks)
            + "\n\nAdapter chosen by IW-CV (no target label): "
            + ", ".join(f"{t}: {chosen[(clf_name, t)]}" for t in tasks)
        )
    elapsed = time.perf_counter() - start
    shapes = ", ".join(
        f"{t}: {d[0].shape[0]} source / {d[2].shape[0]} target" for t, d in data.items()
    )
    text = (
        "# MNIST ↔ USPS: domain adaptation on pixels\n\n"
        f"Produced by `python benchmarks/digits_da.py` ({elapsed:.0f} s; {machine()}).\n"
        f"Target accuracy (%). JDA protocol files ({shapes}; 256-d, rows L2-normalised).\n"
        "Every method is one `make_da_pipeline(...)` fitted on the stacked source + target\n"
        "rows with the target labels masked; settings fixed beforehand: CORAL reg=1 after\n"
        "per-domain z-scoring, SA 30 components, TCA 30 components (RBF, mu=1), IW with a\n"
        "logistic-regression domain classifier. The row \"CORAL, default reg='auto'\" was\n"
        "added after a first run showed the z-score recipe (copied from Office-Caltech)\n"
        "hurting on pixels; it is the library default, not tuned on target labels.\n"
        '"adapter chosen by IW-CV" picks among no adapter, per-domain z-score, CORAL\n'
        "(default) and SA (30) with `GridSearchCV(scoring=ImportanceWeightedScorer(),\n"
        "cv=SourceTargetKFold(3))`. No published figures are quoted here.\n\n"
        + "\n\n".join(sections)
        + "\n"
    )
    out = Path(__file__).resolve().parent / "results" / "digits_da.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"[written to {out}]")


if __name__ == "__main__":
    main()

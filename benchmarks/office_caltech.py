"""Office-Caltech-10 SURF: no adaptation vs the embedding-level adapters.

Reproduces the protocol of Sun, Feng and Saenko, "Return of Frustratingly
Easy Domain Adaptation" (AAAI 2016), for the 12 domain pairs of
Office-Caltech-10 (amazon A, Caltech10 C, dslr D, webcam W) with the 800-d
SURF bag-of-words features:

* features L1-normalised per row, then z-scored per domain (the protocol of
  the CORAL, SA and GFK code: ``zscore`` on each domain separately);
* a linear SVM trained on the labelled source rows, its C chosen by 2-fold
  cross-validation on the source among 1e-3 .. 1e4; accuracy on the target;
* CORAL with ``Cs + I`` and ``Ct + I`` (``reg=1``), applied to the source.

Two protocols, as in the paper: "full" (Table 3: all source rows for
training, all target rows for testing) and "standard" (Table 1: 20 random
source subsets of 20 images per class, 8 when the source is dslr, averaged;
``--reps`` sets how many subsets, 5 by default to keep the run short).

The published figures are read from the paper's Tables 1 and 3 as
transcribed in twanvl/domain-adaptation, ``src/evaluation/
results_from_coral_paper.m`` (the PDF itself could not be consulted here).
In that transcription Table 1 lists six method names (NA, SVMA, DAM, GFK,
TCA, CORAL) for seven columns; the unnamed sixth column is reported as SA
(the paper compares with SA), so treat that column's label with care. NA and
CORAL are the first and last columns either way.

Every method here is one scikit-learn pipeline on the stacked source +
target rows (target labels masked with -1), built with
``sktransfer.adapt.make_da_pipeline``; the SVM only sees the labelled source
rows. SA keeps 100 components and TCA 100 (RBF kernel, mu=1): fixed a
priori, not tuned on target labels.

Run from the repository root: ``python -m benchmarks.office_caltech``
(about 50 minutes on a busy 2-core machine, mostly the SVM's C search). Writes
``benchmarks/results/office_caltech.md`` and the raw measurements to
``office_caltech.json``; ``--render`` rewrites the report from the latter.
"""

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.io import loadmat
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _da import fmt, hurt_pairs, machine, table, target_accuracy  # noqa: E402

from sktransfer.adapt import (  # noqa: E402
    CORALAdapter,
    DomainStandardScaler,
    ImportanceWeightingAdapter,
    SubspaceAlignmentAdapter,
    TCAAdapter,
    make_da_pipeline,
)
from sktransfer.datasets import shared_data_dir  # noqa: E402

DOMAINS = {"A": "amazon", "C": "Caltech10", "D": "dslr", "W": "webcam"}
PAIRS = [f"{s}→{t}" for s, t in itertools.permutations("ACDW", 2)]
PER_CLASS = {"A": 20, "C": 20, "D": 8, "W": 20}  # standard protocol source subsets
C_GRID = [1e-3, 1e-2, 1e-1, 1, 10, 100, 1e3, 1e4]

# Sun et al. 2016, Table 3 (full protocol): NA, SA, GFK, TCA, CORAL
PUBLISHED_FULL = {
    "A→C": (41.7, 37.4, 41.9, 35.2, 45.1),
    "A→D": (44.6, 36.3, 41.4, 39.5, 39.5),
    "A→W": (31.9, 39.0, 41.4, 29.5, 44.4),
    "C→A": (53.1, 44.9, 56.0, 46.8, 52.1),
    "C→D": (47.8, 39.5, 42.7, 52.2, 45.9),
    "C→W": (41.7, 41.0, 45.1, 38.6, 46.4),
    "D→A": (26.2, 32.9, 38.7, 36.2, 37.7),
    "D→C": (26.4, 34.3, 36.5, 30.1, 33.8),
    "D→W": (52.5, 65.1, 74.6, 71.2, 84.7),
    "W→A": (27.6, 34.4, 31.9, 32.2, 36.0),
    "W→C": (21.2, 31.0, 27.5, 27.9, 33.7),
    "W→D": (78.3, 62.4, 79.6, 74.5, 86.6),
    "mean": (41.1, 41.5, 46.4, 42.8, 48.8),
}
FULL_NAMES = ("NA", "SA", "GFK", "TCA", "CORAL")
# Sun et al. 2016, Table 1 (standard protocol): NA, SVMA, DAM, GFK, TCA, SA(?), CORAL
PUBLISHED_STANDARD = {
    "A→C": (35.8, 34.8, 34.9, 38.3, 40.0, 39.9, 40.3),
    "A→D": (33.1, 34.1, 34.3, 37.9, 39.1, 38.8, 38.3),
    "A→W": (24.9, 32.5, 32.5, 39.8, 40.1, 39.6, 38.7),
    "C→A": (43.7, 39.1, 39.2, 44.8, 46.7, 46.1, 47.2),
    "C→D": (39.4, 34.5, 34.7, 36.1, 41.4, 39.4, 40.7),
    "C→W": (30.0, 32.9, 33.1, 34.9, 36.2, 38.9, 39.2),
    "D→A": (26.4, 33.4, 33.5, 37.9, 39.6, 42.0, 38.1),
    "D→C": (27.1, 31.4, 31.5, 31.4, 34.0, 35.0, 34.2),
    "D→W": (56.4, 74.4, 74.7, 79.1, 80.4, 82.3, 85.9),
    "W→A": (32.3, 36.6, 34.7, 37.1, 40.2, 39.3, 37.8),
    "W→C": (25.7, 33.5, 31.2, 29.1, 33.7, 31.8, 34.6),
    "W→D": (78.9, 75.0, 68.3, 74.6, 77.5, 77.9, 84.9),
    "mean": (37.8, 41.0, 40.2, 43.4, 45.7, 45.9, 46.7),
}
STANDARD_NAMES = ("NA", "SVMA", "DAM", "GFK", "TCA", "SA(?)", "CORAL")


def linear_svm():
    """The paper's classifier: linear SVM, C by 2-fold CV on the source."""
    return GridSearchCV(SVC(kernel="linear"), {"C": C_GRID}, cv=2)


# every method: one pipeline on L1-normalised rows
METHODS = {
    "NA, pooled z-score": lambda: make_da_pipeline(
        Normalizer(norm="l1"), StandardScaler(), linear_svm()
    ),
    "NA, z-score per domain": lambda: make_da_pipeline(
        Normalizer(norm="l1"), DomainStandardScaler(), linear_svm()
    ),
    "CORAL": lambda: make_da_pipeline(
        Normalizer(norm="l1"),
        DomainStandardScaler(),
        CORALAdapter(reg=1.0),
        linear_svm(),
    ),
    "SA": lambda: make_da_pipeline(
        Normalizer(norm="l1"),
        DomainStandardScaler(),
        SubspaceAlignmentAdapter(n_components=100),
        linear_svm(),
    ),
    "TCA": lambda: make_da_pipeline(
        Normalizer(norm="l1"),
        DomainStandardScaler(),
        TCAAdapter(n_components=100, kernel="rbf", mu=1.0),
        linear_svm(),
    ),
    "IW": lambda: make_da_pipeline(
        Normalizer(norm="l1"),
        DomainStandardScaler(),
        ImportanceWeightingAdapter(linear_svm()),
    ),
}
STANDARD_METHODS = ("NA, pooled z-score", "NA, z-score per domain", "CORAL")
BASELINE = "NA, z-score per domain"


def load(folder):
    data = {}
    for key, name in DOMAINS.items():
        mat = loadmat(folder / f"{name}_SURF_L10.mat")
        data[key] = (mat["fts"].astype(np.float64), mat["labels"].ravel().astype(int))
    return data


def run_full(data):
    results, seconds = {}, {}
    for pair in PAIRS:
        (Xs, ys), (Xt, yt) = data[pair[0]], data[pair[-1]]
        results[pair] = {}
        for name, make in METHODS.items():
            acc, sec = target_accuracy(make(), Xs, ys, Xt, yt)
            results[pair][name] = acc
            seconds[name] = seconds.get(name, 0.0) + sec
        print(pair, {k: round(v, 1) for k, v in results[pair].items()}, flush=True)
    return results, seconds


def run_standard(data, reps, seed=0):
    rng = np.random.default_rng(seed)
    results = {}
    for pair in PAIRS:
        (Xs_all, ys_all), (Xt, yt) = data[pair[0]], data[pair[-1]]
        scores = {name: [] for name in STANDARD_METHODS}
        for _ in range(reps):
            rows = np.concatenate(
                [
                    rng.choice(
                        np.flatnonzero(ys_all == c), PER_CLASS[pair[0]], replace=False
                    )
                    for c in np.unique(ys_all)
                ]
            )
            for name in STANDARD_METHODS:
                acc, _ = target_accuracy(
                    METHODS[name](), Xs_all[rows], ys_all[rows], Xt, yt
                )
                scores[name].append(acc)
        results[pair] = {name: float(np.mean(v)) for name, v in scores.items()}
        print(
            pair,
            "standard",
            {k: round(v, 1) for k, v in results[pair].items()},
            flush=True,
        )
    return results


def with_mean(results, methods):
    results = dict(results)
    results["mean"] = {
        m: float(np.mean([results[p][m] for p in PAIRS])) for m in methods
    }
    return results


def _close(ours, paper, tolerance=1.5):
    verdict = "reproduced" if abs(ours - paper) <= tolerance else "NOT reproduced"
    return f"{verdict} ({ours:.1f} here vs {paper:.1f} published)"


def reading(full, standard):
    """What the tables say, worded from the measured numbers."""
    ours_gain = full["mean"]["CORAL"] - full["mean"][BASELINE]
    paper_gain = PUBLISHED_FULL["mean"][-1] - PUBLISHED_FULL["mean"][0]
    std_gain = standard["mean"]["CORAL"] - standard["mean"][BASELINE]
    std_paper_gain = PUBLISHED_STANDARD["mean"][-1] - PUBLISHED_STANDARD["mean"][0]
    lines = [
        f"- CORAL's accuracy: full protocol {_close(full['mean']['CORAL'], PUBLISHED_FULL['mean'][-1])};"
        f" standard protocol {_close(standard['mean']['CORAL'], PUBLISHED_STANDARD['mean'][-1])}.",
        f"- CORAL's gain over no adaptation: full protocol "
        f"{_close(ours_gain, paper_gain, 2.0)}; standard protocol "
        f"{_close(std_gain, std_paper_gain, 2.0)}.",
        f"- Our no-adaptation baseline, with the preprocessing the paper's code uses (L1 rows, "
        f"per-domain z-score, linear SVM with CV'd C), scores {full['mean'][BASELINE]:.1f} "
        f"(full) and {standard['mean'][BASELINE]:.1f} (standard) against the published NA "
        f"{PUBLISHED_FULL['mean'][0]:.1f} and {PUBLISHED_STANDARD['mean'][0]:.1f}: the gap in "
        "the gain comes from the baseline, not from CORAL. Per-domain z-scoring already "
        "aligns each feature's mean and variance (the diagonal of what CORAL aligns); the "
        f"pooled z-score row ({full['mean']['NA, pooled z-score']:.1f}, full) shows the "
        "baseline without it. We found no preprocessing giving the published NA figures "
        "(tried: none, L1 only, L1 + per-domain z-score, L1 + z-score with source "
        "statistics); the code of the published NA was not available.",
    ]
    for method in ("SA", "TCA", "IW"):
        gain = full["mean"][method] - full["mean"][BASELINE]
        verb = "hurts" if gain < -0.5 else ("helps" if gain > 0.5 else "changes little")
        lines.append(
            f"- {method} {verb} on average ({gain:+.1f} points, full protocol); its "
            "settings were fixed beforehand, not tuned."
        )
    lines.append(
        "- IW with the default domain classifier (logistic regression, C by 5-fold "
        "log-loss) on per-domain z-scored features: in a separate check on D→W and W→C "
        "the log-loss picked the strongest regularisation offered (C = 1e-4) and every "
        "weight was 1.000, i.e. no domain signal that generalises is left after "
        "per-domain z-scoring, and IW reduces to NA."
    )
    return "\n".join(lines)


def report(full, seconds, standard, reps, elapsed):
    names = list(METHODS)
    full = with_mean(full, names)
    rows = []
    for pair in [*PAIRS, "mean"]:
        published = PUBLISHED_FULL[pair]
        rows.append(
            [f"**{pair}**" if pair == "mean" else pair]
            + [fmt(published[0]), fmt(published[-1]), fmt(published[-1] - published[0])]
            + [fmt(full[pair][m]) for m in names]
            + [fmt(full[pair]["CORAL"] - full[pair][BASELINE])]
        )
    full_table = table(
        ["pair", "paper NA", "paper CORAL", "paper gain"]
        + names
        + ["our CORAL gain (vs per-domain NA)"],
        rows,
    )
    others = table(
        ["pair", *[f"paper {n}" for n in FULL_NAMES]],
        [[p, *[fmt(v) for v in PUBLISHED_FULL[p]]] for p in [*PAIRS, "mean"]],
    )
    standard = with_mean(standard, STANDARD_METHODS)
    std_rows = []
    for pair in [*PAIRS, "mean"]:
        pub = PUBLISHED_STANDARD[pair]
        std_rows.append(
            [pair, fmt(pub[0]), fmt(pub[-1]), fmt(pub[-1] - pub[0])]
            + [fmt(standard[pair][m]) for m in STANDARD_METHODS]
            + [fmt(standard[pair]["CORAL"] - standard[pair][BASELINE])]
        )
    std_table = table(
        [
            "pair",
            "paper NA",
            "paper CORAL",
            "paper gain",
            *STANDARD_METHODS,
            "our CORAL gain",
        ],
        std_rows,
    )
    pub_std = table(
        ["pair", *[f"paper {n}" for n in STANDARD_NAMES]],
        [[p, *[fmt(v) for v in PUBLISHED_STANDARD[p]]] for p in [*PAIRS, "mean"]],
    )
    adapters = [m for m in names if not m.startswith("NA")]
    timing = ", ".join(f"{m} {s:.0f} s" for m, s in seconds.items())
    gain_paper = PUBLISHED_FULL["mean"][-1] - PUBLISHED_FULL["mean"][0]
    gain_ours = full["mean"]["CORAL"] - full["mean"][BASELINE]
    gain_pooled = full["mean"]["CORAL"] - full["mean"]["NA, pooled z-score"]
    return f"""# Office-Caltech-10 SURF: domain adaptation on fixed features

Produced by `python -m benchmarks.office_caltech` ({elapsed / 60:.1f} min; {machine()}).
Target accuracy (%) of a linear SVM trained on the labelled source rows; every
method is one `make_da_pipeline(...)` fitted on the stacked source + target rows
(target labels masked). Protocol of Sun, Feng and Saenko, "Return of Frustratingly
Easy Domain Adaptation", AAAI 2016: rows L1-normalised, z-scored per domain,
linear SVM with C from 2-fold CV on the source (1e-3 .. 1e4), CORAL with
`Cs + I`, `Ct + I`. SA: 100 components; TCA: RBF kernel, 100 components, mu = 1
(fixed beforehand, not tuned on target labels). IW: source rows weighted by a
logistic-regression domain classifier's density ratio.

Published figures: the paper's Table 3 (full protocol) and Table 1 (standard
protocol), as transcribed in the public repository twanvl/domain-adaptation,
`src/evaluation/results_from_coral_paper.m` (the paper's PDF was not reachable
from here; the numbers were not re-typed from memory).

## Full protocol (all source rows train, all target rows test), paper Table 3

{full_table}

Mean CORAL gain: paper {gain_paper:+.1f} points over its NA; here {gain_ours:+.1f}
over NA with per-domain z-scoring (the paper's NA preprocessing) and
{gain_pooled:+.1f} over NA with one z-score for both domains.

Wall time per method, summed over the 12 pairs: {timing}.

Where adaptation does worse than NA with per-domain z-scoring:

{hurt_pairs(full, BASELINE, adapters, PAIRS)}

The paper's other columns (Table 3), for reference:

{others}

## Standard protocol (20 / 8 source images per class, {reps} random subsets), paper Table 1

{std_table}

{hurt_pairs(standard, BASELINE, ["CORAL"], PAIRS)}

The paper's Table 1 columns (column 6 is unnamed in the transcription; SA assumed):

{pub_std}

## Reading

{reading(full, standard)}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="standard-protocol subsets")
    parser.add_argument(
        "--render",
        action="store_true",
        help="only rewrite the .md from the measurements saved in office_caltech.json",
    )
    args = parser.parse_args()
    raw = Path(__file__).resolve().parent / "results" / "office_caltech.json"
    out = raw.with_suffix(".md")
    if args.render:
        saved = json.loads(raw.read_text())
        text = report(
            saved["full"],
            saved["seconds"],
            saved["standard"],
            saved["reps"],
            saved["elapsed"],
        )
        out.write_text(text)
        print(text)
        return
    folder = shared_data_dir()
    if folder is None or not (folder / "domain-adaptation").is_dir():
        sys.exit("shared data not found: set SKTRANSFER_DATA to the shared data folder")
    data = load(folder / "domain-adaptation")
    start = time.perf_counter()
    full, seconds = run_full(data)
    standard = run_standard(data, args.reps)
    elapsed = time.perf_counter() - start
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(
        json.dumps(
            {
                "full": full,
                "seconds": seconds,
                "standard": standard,
                "reps": args.reps,
                "elapsed": elapsed,
            },
            indent=1,
            ensure_ascii=False,
        )
    )
    text = report(full, seconds, standard, args.reps, elapsed)
    out.write_text(text)
    print(text)
    print(f"[written to {out}]")


if __name__ == "__main__":
    main()

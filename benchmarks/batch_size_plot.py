"""Images/s vs batch size on the CPU (EfficientNet-Lite0, ImageEmbedder), as a plot.

Every batch size embeds the same distinct photos; the sizes are timed in
interleaved rounds (1, 2, 4, ..., 1, 2, 4, ...) so that the load of a shared
machine falls on all of them alike.

Writes benchmarks/results/batch_size.png and batch_size.md.
Run: python -m benchmarks.batch_size_plot [--n 128] [--rounds 3]
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks._common import RESULTS, interleaved, machine, write_result  # noqa: E402
from benchmarks.embed_throughput import photos  # noqa: E402
from sktransfer import ImageEmbedder  # noqa: E402

SIZES = [1, 2, 4, 8, 16, 32, 64, 128]
DEFAULT = 32  # ImageEmbedder's default batch_size


def plot(sizes, rates, lows, highs, n, load, path):
    """Draw the curve (median, band from slowest to fastest round) to ``path``."""
    best = max(range(len(sizes)), key=rates.__getitem__)
    digits = 1 if max(rates) < 20 else 0
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ax.fill_between(sizes, lows, highs, color="tab:blue", alpha=0.15, lw=0)
    ax.plot(sizes, rates, marker="o", color="tab:blue", lw=2, label="median")
    for size, rate in zip(sizes, rates, strict=True):
        ax.annotate(
            f"{rate:.{digits}f}",
            (size, rate),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=9,
        )
    ax.axvline(DEFAULT, color="grey", ls="--", lw=1)
    ax.text(
        DEFAULT,
        1.14 * max(highs),
        f"default batch_size={DEFAULT} ",
        color="grey",
        fontsize=9,
        ha="right",
        va="top",
    )
    ax.plot(
        sizes[best],
        rates[best],
        marker="*",
        ms=16,
        color="tab:orange",
        ls="none",
        label=f"fastest: batch {sizes[best]}, {rates[best]:.{digits}f} images/s",
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("batch size (images per forward pass, log scale)")
    ax.set_ylabel("throughput (images / second)")
    ax.set_ylim(0, 1.18 * max(highs))
    ax.set_title(
        "ImageEmbedder throughput vs batch size on the CPU\n"
        f"EfficientNet-Lite0, 224 px, fp32, {n} photos, 2 cores "
        "(shaded: fastest to slowest round)",
        fontsize=11,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    fig.text(
        0.01,
        0.01,
        f"2 CPU cores, load average {load:.1f} at the start (above 2: other jobs "
        "shared the cores, so rates are lower; the shape of the curve is what counts).",
        fontsize=8,
        color="dimgrey",
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    images = photos(args.n)
    load_before = os.getloadavg()
    embedders = {bs: ImageEmbedder(batch_size=bs).fit(images[:1]) for bs in SIZES}
    embedders[SIZES[0]].transform(images[:8])  # warm-up (oneDNN primitives)
    medians, times = interleaved(
        {bs: (lambda e=e: e.transform(images)) for bs, e in embedders.items()},
        rounds=args.rounds,
    )
    load_after = os.getloadavg()
    rates = [args.n / medians[bs] for bs in SIZES]
    lows = [args.n / max(times[bs]) for bs in SIZES]
    highs = [args.n / min(times[bs]) for bs in SIZES]
    RESULTS.mkdir(exist_ok=True)
    plot(SIZES, rates, lows, highs, args.n, load_before[0], RESULTS / "batch_size.png")
    best = max(range(len(SIZES)), key=rates.__getitem__)
    at_default = rates[SIZES.index(DEFAULT)]
    lines = [
        "# Images/s vs batch size (CPU)",
        "",
        f"Machine: {machine()}. Load average (1, 5, 15 min) at the start "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, at the end "
        f"{', '.join(f'{v:.2f}' for v in load_after)} (a 2-core machine: "
        "above 2, other jobs shared the cores and absolute rates are noisy; the "
        "shape of the curve less so).",
        f"`ImageEmbedder(batch_size=...)` (EfficientNet-Lite0, fp32) over {args.n} "
        f"distinct 256x256 photos (arrays, so no file decoding); median of "
        f"{args.rounds} interleaved rounds.",
        "",
        "![images/s vs batch size](batch_size.png)",
        "",
        "| batch size | images/s (median) | slowest / fastest round |",
        "|---:|---:|---:|",
        *[
            f"| {bs} | {r:.1f} | {lo:.1f} / {hi:.1f} |"
            for bs, r, lo, hi in zip(SIZES, rates, lows, highs, strict=True)
        ],
        "",
        f"**Fastest: batch {SIZES[best]}, {rates[best]:.1f} images/s; "
        f"default batch {DEFAULT}: {at_default:.1f} images/s; batch 1: "
        f"{rates[0]:.1f} images/s.**",
        "",
        "Command: `python -m benchmarks.batch_size_plot"
        + (f" --n {args.n}" if args.n != 128 else "")
        + (f" --rounds {args.rounds}" if args.rounds != 3 else "")
        + "`",
    ]
    write_result("batch_size", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Images/s vs batch size on the CPU (EfficientNet-Lite0, ImageEmbedder), as a plot.

Writes benchmarks/results/batch_size.png and batch_size.md.
Run: python benchmarks/batch_size_plot.py [--n 128]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks._common import RESULTS, interleaved, machine, write_result  # noqa: E402
from benchmarks.embed_throughput import photos  # noqa: E402
from sktransfer import ImageEmbedder  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=128)
    args = parser.parse_args()
    images = photos(args.n)
    sizes = [1, 4, 8, 16, 32, 64]
    embedders = {bs: ImageEmbedder(batch_size=bs).fit(images[:1]) for bs in sizes}
    medians, _ = interleaved(
        {bs: (lambda e=e: e.transform(images)) for bs, e in embedders.items()}, rounds=2
    )
    rates = [args.n / medians[bs] for bs in sizes]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(sizes, rates, marker="o")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.set_xlabel("batch size")
    ax.set_ylabel("images / second")
    ax.set_ylim(bottom=0)
    ax.set_title(
        "ImageEmbedder throughput on the CPU\n(EfficientNet-Lite0, 224 px, fp32)"
    )
    ax.grid(alpha=0.3)
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    fig.savefig(RESULTS / "batch_size.png", dpi=120)
    lines = [
        "# Images/s vs batch size (CPU)",
        "",
        f"Machine: {machine()}",
        f"{args.n} distinct 256x256 photos, median of 2 interleaved runs.",
        "",
        "![images/s vs batch size](batch_size.png)",
        "",
        "| batch size | images/s |",
        "|---:|---:|",
        *[f"| {bs} | {r:.1f} |" for bs, r in zip(sizes, rates, strict=True)],
        "",
        "Command: `python -m benchmarks.batch_size_plot`",
    ]
    write_result("batch_size", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

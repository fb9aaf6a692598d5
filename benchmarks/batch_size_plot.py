"""Throughput vs batch size on the CPU, per runtime (torch, OpenVINO, ONNX Runtime).

Images: ImageEmbedder (EfficientNet-Lite0, fp32) over distinct photos (arrays,
so no file decoding). Texts: TextEmbedder (all-MiniLM-L6-v2, fp32) over
distinct rt-polarity sentences (length-sorted batches, as in ``encode``).
Every (runtime, batch size) pair embeds the same inputs; the pairs are timed
in interleaved rounds so that the load of a shared machine falls on all of
them alike. The fastest size per runtime is what ``batch_size="auto"``
uses on the CPU (`sktransfer.engine._batch.CPU_BATCH_SIZES`).

Writes benchmarks/results/batch_size.png and batch_size.md.
Run: python -m benchmarks.batch_size_plot [--n-images 64] [--n-texts 128]
[--rounds 2] [--threads 1]
"""

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks._common import RESULTS, interleaved, machine, write_result  # noqa: E402

SIZES = [1, 2, 4, 8, 16, 32, 64]
RUNTIMES = ["torch", "openvino", "onnx"]
COLORS = {"torch": "tab:blue", "openvino": "tab:purple", "onnx": "tab:green"}
DEFAULT = 32  # the fixed batch_size before "auto"


def measure(make, inputs, rounds):
    """``{runtime: (medians, lows, highs)}`` in items/s, per size in SIZES."""
    embedders, runtimes = {}, {}
    for runtime in RUNTIMES:
        for size in SIZES:
            embedder = make(runtime, size).fit(inputs[:1])
            embedder.transform(inputs[: min(8, len(inputs))])  # warm-up
            embedders[(runtime, size)] = embedder
            runtimes[runtime] = embedder.runtime_
    print(f"timing {len(embedders)} embedders x {rounds} rounds", flush=True)
    medians, times = interleaved(
        {key: (lambda e=e: e.transform(inputs)) for key, e in embedders.items()},
        rounds=rounds,
    )
    n = len(inputs)
    out = {}
    for runtime in RUNTIMES:
        keys = [(runtime, size) for size in SIZES]
        out[runtime] = (
            [n / medians[k] for k in keys],
            [n / max(times[k]) for k in keys],
            [n / min(times[k]) for k in keys],
        )
    return out, runtimes


def panel(ax, results, unit, title):
    top = max(max(highs) for _, _, highs in results.values())
    for runtime, (rates, lows, highs) in results.items():
        color = COLORS[runtime]
        best = max(range(len(SIZES)), key=rates.__getitem__)
        ax.fill_between(SIZES, lows, highs, color=color, alpha=0.12, lw=0)
        ax.plot(
            SIZES,
            rates,
            marker="o",
            color=color,
            lw=2,
            label=f"{runtime}: fastest {SIZES[best]} ({rates[best]:.0f} {unit}/s)",
        )
        ax.plot(SIZES[best], rates[best], marker="*", ms=15, color=color, ls="none")
    ax.axvline(DEFAULT, color="grey", ls="--", lw=1)
    ax.text(
        DEFAULT, 0.03 * top, "old default 32 ", color="grey", fontsize=8, ha="right"
    )
    ax.set_xscale("log", base=2)
    ax.set_xticks(SIZES, [str(s) for s in SIZES])
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel(f"{unit} / second")
    ax.set_ylim(0, 1.45 * top)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)


def plot(images, texts, args, load, path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    panel(
        axes[0],
        images,
        "images",
        f"ImageEmbedder, EfficientNet-Lite0, 224 px, fp32, {args.n_images} photos",
    )
    panel(
        axes[1],
        texts,
        "sentences",
        f"TextEmbedder, all-MiniLM-L6-v2, fp32, {args.n_texts} sentences",
    )
    fig.suptitle(
        f"Throughput vs batch size on the CPU per runtime ({args.threads} thread(s); "
        "shaded: slowest to fastest round; star: fastest)",
        fontsize=11,
    )
    fig.text(
        0.01,
        0.01,
        f"2-core machine shared with other jobs, load average {load:.1f} at the "
        "start: absolute rates are noisy, the shape of each curve less so.",
        fontsize=8,
        color="dimgrey",
    )
    fig.tight_layout(rect=(0, 0.04, 1, 0.95))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def table(results, unit, runtimes):
    lines = [
        f"| batch size | {' | '.join(f'{r} ({runtimes[r]}) {unit}/s' for r in RUNTIMES)} |",
        "|---:|" + "---:|" * len(RUNTIMES),
    ]
    for i, size in enumerate(SIZES):
        cells = [
            f"{results[r][0][i]:.1f} ({results[r][1][i]:.1f}-{results[r][2][i]:.1f})"
            for r in RUNTIMES
        ]
        lines.append(f"| {size} | {' | '.join(cells)} |")
    return lines


def fastest(results, unit, name):
    parts = []
    for runtime in RUNTIMES:
        rates = results[runtime][0]
        best = max(range(len(SIZES)), key=rates.__getitem__)
        at_default = rates[SIZES.index(DEFAULT)]
        parts.append(
            f"{runtime} batch {SIZES[best]} ({rates[best]:.1f} {unit}/s, "
            f"{rates[best] / at_default:.2f}x batch {DEFAULT})"
        )
    return f"**{name}: fastest {'; '.join(parts)}.**"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-images", type=int, default=64)
    parser.add_argument("--n-texts", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from benchmarks.embed_throughput import photos
    from benchmarks.text_throughput import sentences
    from sktransfer import ImageEmbedder, TextEmbedder

    start = time.perf_counter()
    load_before = os.getloadavg()
    images, image_runtimes = measure(
        lambda r, bs: ImageEmbedder(runtime=r, batch_size=bs),
        photos(args.n_images),
        args.rounds,
    )
    texts, text_runtimes = measure(
        lambda r, bs: TextEmbedder(runtime=r, batch_size=bs),
        sentences(args.n_texts),
        args.rounds,
    )
    load_after = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    plot(images, texts, args, load_before[0], RESULTS / "batch_size.png")
    command = "python -m benchmarks.batch_size_plot" + "".join(
        f" --{name.replace('_', '-')} {value}"
        for name, value in vars(args).items()
        if value != parser.get_default(name)
    )
    lines = [
        "# Throughput vs batch size per runtime (CPU)",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine()}. Every runtime runs with {args.threads} thread(s). "
        f"Load average (1, 5, 15 min) at the start "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, at the end "
        f"{', '.join(f'{v:.2f}' for v in load_after)} (a 2-core machine shared "
        "with other jobs: absolute rates are noisy; ratios within one run, and "
        f"the shape of each curve, less so). Total {time.perf_counter() - start:.0f} s.",
        "",
        f"Images: `ImageEmbedder(runtime=..., batch_size=...)` (EfficientNet-Lite0, "
        f"fp32) over {args.n_images} distinct 256x256 photos (arrays, no file "
        f"decoding). Texts: `TextEmbedder(runtime=..., batch_size=...)` "
        f"(all-MiniLM-L6-v2, fp32) over {args.n_texts} distinct rt-polarity "
        f"sentences. Median of {args.rounds} interleaved rounds (slowest-fastest "
        "round in brackets); the column header gives `runtime_` in brackets.",
        "",
        "![throughput vs batch size per runtime](batch_size.png)",
        "",
        fastest(images, "images", "Images"),
        "",
        fastest(texts, "sentences", "Texts"),
        "",
        "## Images",
        "",
        *table(images, "images", image_runtimes),
        "",
        "## Texts",
        "",
        *table(texts, "sentences", text_runtimes),
        "",
    ]
    write_result("batch_size", "\n".join(lines))


if __name__ == "__main__":
    main()

"""TextEmbedder vs SentenceTransformer.encode on the same sentences.

Real sentences from rt-polarity (../shared/data), all-MiniLM-L6-v2, the same
batch size and threads; runs alternate and the median is reported. Then a
column where half the rows repeat (each distinct sentence appears twice):
TextEmbedder embeds each distinct string once.

Run: python -m benchmarks.text_throughput [--n 2000]
"""

import argparse
import os

import numpy as np

from benchmarks._common import interleaved, machine, write_result
from sktransfer import TextEmbedder
from sktransfer.datasets import shared_data_dir


def sentences(n):
    folder = shared_data_dir() / "rt-polarity"
    lines = []
    for name in ("rt-polarity.pos", "rt-polarity.neg"):
        lines += (folder / name).read_text(encoding="latin-1").splitlines()
    rng = np.random.default_rng(0)
    unique = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    return [unique[i] for i in rng.permutation(len(unique))[:n]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    texts = sentences(args.n)
    embedder = TextEmbedder(batch_size=args.batch_size).fit(texts[:1])
    model = embedder._model  # the same SentenceTransformer object

    def encode(x):
        return model.encode(x, batch_size=args.batch_size, convert_to_numpy=True)

    diff = float(np.abs(embedder.transform(texts[:64]) - encode(texts[:64])).max())
    medians, raw = interleaved(
        {
            "SentenceTransformer.encode": lambda: encode(texts),
            "TextEmbedder.transform": lambda: embedder.transform(texts),
        },
        rounds=args.rounds,
    )
    ratio = medians["SentenceTransformer.encode"] / medians["TextEmbedder.transform"]

    half = texts[: args.n // 2]
    repeated = half + half
    np.random.default_rng(1).shuffle(repeated)
    rep_medians, rep_raw = interleaved(
        {
            "SentenceTransformer.encode (half repeated)": lambda: encode(repeated),
            "TextEmbedder.transform (half repeated)": lambda: embedder.transform(
                repeated
            ),
        },
        rounds=args.rounds,
    )
    speedup = (
        rep_medians["SentenceTransformer.encode (half repeated)"]
        / rep_medians["TextEmbedder.transform (half repeated)"]
    )
    n = args.n
    lines = [
        "# TextEmbedder vs SentenceTransformer.encode",
        "",
        f"Machine: {machine()}; load average before the run {load_before:.2f}, "
        f"after {os.getloadavg()[0]:.2f}",
        f"all-MiniLM-L6-v2, {n} rt-polarity sentences, batch size {args.batch_size}; "
        f"median of {args.rounds} interleaved runs.",
        "",
        "| pipeline | seconds | sentences/s |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {k} | {v:.2f} | {n / v:.0f} |"
        for k, v in {**medians, **rep_medians}.items()
    ]
    lines += [
        "",
        f"**Throughput ratio TextEmbedder / encode (all distinct): {ratio:.3f}** "
        f"(ratio of medians; target >= 0.97: {'met' if ratio >= 0.97 else 'NOT met'}).",
        "Per-round ratios (each round runs both back to back): "
        + ", ".join(
            f"{e / t:.3f}"
            for e, t in zip(
                raw["SentenceTransformer.encode"],
                raw["TextEmbedder.transform"],
                strict=True,
            )
        )
        + ".",
        f"**Speed-up on a column where half the rows repeat: {speedup:.2f}x** "
        f"(target >= 1.8x: {'met' if speedup >= 1.8 else 'NOT met'}).",
        f"Largest absolute difference between the two outputs: {diff:.1e}.",
        "",
        "Raw timings (s): "
        + "; ".join(
            f"{k}: {[round(t, 2) for t in v]}" for k, v in {**raw, **rep_raw}.items()
        ),
        "",
        f"Command: `python -m benchmarks.text_throughput --n {n} --rounds {args.rounds}`",
    ]
    write_result("text_throughput", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

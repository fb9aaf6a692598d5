"""``compile=True`` vs eager on the CPU: compilation time, then steady throughput.

For EfficientNet-Lite0 (ImageEmbedder) and all-MiniLM-L6-v2 (TextEmbedder),
in one process: the first ``transform`` of each (for the compiled one this
includes torch.compile's tracing and inductor's C++ code generation), then
interleaved rounds of the same ``transform`` (steady state), and the largest
difference between the two outputs.

Writes benchmarks/results/compile_check.md.
Run: python -m benchmarks.compile_check [--n-images 128] [--n-texts 1024]
"""

import argparse
import os
import time

import numpy as np

from benchmarks._common import interleaved, machine, timed, write_result
from benchmarks.embed_throughput import photos
from benchmarks.text_throughput import sentences
from sktransfer import ImageEmbedder, TextEmbedder


def measure(label, make, X, unit, rounds):
    eager = make(False).fit(X[:1])
    compiled = make(True).fit(X[:1])
    eager_first, Z_eager = timed(eager.transform, X)
    compiled_first, Z_compiled = timed(compiled.transform, X)
    medians, _ = interleaved(
        {
            "eager": lambda: eager.transform(X),
            "compiled": lambda: compiled.transform(X),
        },
        rounds=rounds,
    )
    still_compiled = compiled._runner._compiled_call_impl is not None
    n = len(X)
    return {
        "row": (
            f"| {label} | {n} {unit} | {eager_first:.1f} | {compiled_first:.1f} | "
            f"{n / medians['eager']:.1f} | {n / medians['compiled']:.1f} | "
            f"**{medians['eager'] / medians['compiled']:.2f}x** | "
            f"{np.abs(Z_eager - Z_compiled).max():.1e} |"
        ),
        "compile_s": compiled_first - eager_first,
        "still_compiled": still_compiled,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-images", type=int, default=128)
    parser.add_argument("--n-texts", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start = time.perf_counter()
    load_before = os.getloadavg()
    results = [
        measure(
            "ImageEmbedder, EfficientNet-Lite0, batch 32",
            lambda c: ImageEmbedder(batch_size=32, compile=c, runtime="torch"),
            photos(args.n_images),
            "photos",
            args.rounds,
        ),
        measure(
            "TextEmbedder, all-MiniLM-L6-v2, batch 32",
            lambda c: TextEmbedder(batch_size=32, compile=c, runtime="torch"),
            sentences(args.n_texts),
            "sentences",
            args.rounds,
        ),
    ]
    load_after = os.getloadavg()
    fallbacks = [r for r in results if not r["still_compiled"]]
    lines = [
        "# torch.compile vs eager (CPU)",
        "",
        f"Machine: {machine()}. Load average (1, 5, 15 min) at the start "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, at the end "
        f"{', '.join(f'{v:.2f}' for v in load_after)} (a 2-core machine shared with "
        "other jobs: absolute times are noisy, ratios within the run less so).",
        "`compile=False` vs `compile=True` (torch.compile defaults: inductor backend, "
        "C++ code generated and built with the system compiler), one process. "
        "First transform: the compiled model is traced and built during it (and "
        "again when a new input shape appears: the last, smaller batch; each "
        f"sentence length until dynamic shapes kick in). Steady state: median of "
        f"{args.rounds} interleaved rounds after that.",
        "",
        "| embedder | items | first transform, eager (s) | first transform, compiled (s) | eager items/s | compiled items/s | steady speed-up | max abs difference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *[r["row"] for r in results],
        "",
        "Compilation cost (first compiled transform minus first eager one): "
        + ", ".join(f"{r['compile_s']:.0f} s" for r in results)
        + ". It is paid once per process, backbone and options (the compiled "
        "model is shared by clones, as in a grid search), not per estimator.",
        "",
        (
            "Every compiled model ran compiled to the end (no fallback to eager)."
            if not fallbacks
            else f"{len(fallbacks)} compiled model(s) fell back to eager (see the warning)."
        ),
        "",
        f"Whole script: {(time.perf_counter() - start) / 60:.1f} min.",
        "",
        "Command: `python -m benchmarks.compile_check"
        + (f" --n-images {args.n_images}" if args.n_images != 128 else "")
        + (f" --n-texts {args.n_texts}" if args.n_texts != 1024 else "")
        + (f" --rounds {args.rounds}" if args.rounds != 3 else "")
        + "`",
    ]
    write_result("compile_check", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""The cost of ``sktransfer embed``'s chunks: one transform vs the CLI's loop.

``sktransfer embed`` embeds its inputs a chunk at a time (so that a bad input
costs at most its chunk, and ``--cache`` keeps each chunk as soon as it is
done). This measures what that costs against one ``transform`` over every
file, side by side in one process (interleaved rounds): fixed chunks of 64
(the CLI's first chunk, never grown: the worst case), and the CLI's policy
(start at 64, grow up to 16x a chunk until one takes about 10 s). The toy
backbone makes the forward pass nearly free, so the fixed cost of a transform
call (and of starting DataLoader workers) is as visible as it can be.

Writes benchmarks/results/cli_chunks.md.
Run: python -m benchmarks.cli_chunks [--n 2048] [--rounds 3]
"""

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks._common import interleaved, machine, write_result
from sktransfer import ImageEmbedder
from sktransfer.cli._robust import embed_in_chunks


def image_files(folder, n, size=48):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        path = Path(folder) / f"{i:05d}.png"
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(
            path
        )
        paths.append(str(path))
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2048, help="image files")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_start = os.getloadavg()
    rows, notes = [], []
    with tempfile.TemporaryDirectory() as folder:
        paths = image_files(folder, args.n)
        for workers in (0, 2):
            embedder = ImageEmbedder("toy-image", num_workers=workers).fit(paths[:1])
            Z = embedder.transform(paths)
            chunked = embed_in_chunks(embedder, paths, chunk_size=64)
            assert np.allclose(chunked.embeddings, Z, atol=1e-6)
            medians, raw = interleaved(
                {
                    "one transform": lambda e=embedder: e.transform(paths),
                    "fixed chunks of 64": lambda e=embedder: embed_in_chunks(
                        e, paths, chunk_size=64
                    ),
                    "CLI policy (64, growing to ~10 s)": lambda e=embedder: (
                        embed_in_chunks(e, paths, chunk_size=64, target_seconds=10.0)
                    ),
                },
                rounds=args.rounds,
            )
            base = medians["one transform"]
            calls = -(-args.n // 64)
            per_call = (medians["fixed chunks of 64"] - base) / (calls - 1)
            notes.append(
                f"* {workers} workers: each extra transform call costs about "
                f"{per_call:.3f} s ((fixed chunks - one transform) / {calls - 1} "
                f"extra calls), {100 * per_call / 10:.1f} % of a 10-second chunk."
            )
            for name, seconds in medians.items():
                rows.append(
                    f"| {workers} | {name} | {seconds:.2f} | {base / seconds:.2f} "
                    f"| {', '.join(f'{t:.2f}' for t in raw[name])} |"
                )
    load_end = os.getloadavg()
    text = "\n".join(
        [
            "# sktransfer embed: the cost of embedding in chunks",
            "",
            f"Machine: {machine()}. Load average (1, 5, 15 min) at the start "
            f"{', '.join(f'{x:.2f}' for x in load_start)}, at the end "
            f"{', '.join(f'{x:.2f}' for x in load_end)} (a 2-core machine shared "
            "with other jobs: absolute times are noisy, ratios within the run less "
            "so). One torch thread.",
            "",
            f"{args.n} PNG files of 48 x 48 pixels, toy-image backbone (the forward "
            "pass nearly free: the worst case for a fixed per-call cost), median of "
            f"{args.rounds} interleaved rounds. Speed ratio = one transform's time "
            "/ this row's time (1.00 = no cost). Outputs of the chunked loop equal "
            "one transform's (checked).",
            "",
            "| DataLoader workers | how | median (s) | speed ratio | rounds (s) |",
            "|---:|---|---:|---:|---|",
            *rows,
            "",
            "Each transform call starts its DataLoader workers again (the engine "
            "does not keep them between calls), so small fixed chunks are slow "
            "with workers. The CLI's chunks grow until one takes about 10 s, so "
            "a long job pays that cost a few times at its start and then a small "
            "fraction of each chunk; a job of a few seconds, as here, pays it "
            "on each of its two or three calls:",
            "",
            *notes,
            "",
            f"Command: `python -m benchmarks.cli_chunks --n {args.n} "
            f"--rounds {args.rounds}`",
            "",
        ]
    )
    write_result("cli_chunks", text)


if __name__ == "__main__":
    main()

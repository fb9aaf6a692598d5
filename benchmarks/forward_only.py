"""The network alone: each runtime's forward pass on preprocessed image batches.

No decoding, no preprocessing: EfficientNet-Lite0's inputs are prepared once
(photos through the embedder's own preprocessing), then each loaded session
(the embedder's runner, as ``transform`` calls it) runs them batch after
batch. With the decode + preprocess rate of ``benchmarks/runtimes.py`` this
bounds what end-to-end throughput can reach: serially, ``1 / (1 / forward +
1 / decode_and_preprocess)``.

Writes benchmarks/results/forward_only.md.
Run: python -m benchmarks.forward_only [--n-images 256] [--batch-size N] [--threads 2]
[--rounds 3]
"""

import argparse
import os
import time

import numpy as np
import torch

from benchmarks._common import (
    TORCH,
    interleaved,
    machine,
    runtime_settings,
    write_result,
)
from benchmarks.embed_throughput import photos
from sktransfer import ImageEmbedder
from sktransfer.engine._data import ImageDataset

SETTINGS = runtime_settings()  # int8: the static (calibrated) copy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument(
        "--batch-size", type=int, default=None, help="default: each embedder's auto"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--settings",
        nargs="+",
        default=list(SETTINGS),
        choices=list(SETTINGS),
        help="rows to run (torch eager, the reference, always runs)",
    )
    parser.add_argument("--name", default="forward_only")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    # the normal path's runner (called on tensor batches), not a fast start's
    os.environ["SKTRANSFER_FAST_START"] = "0"
    started = time.perf_counter()
    images = photos(args.n_images, size=320)
    chosen = dict.fromkeys([TORCH, *args.settings])
    embedders = {k: ImageEmbedder(**SETTINGS[k]).fit(images[:1]) for k in chosen}
    dataset = ImageDataset(images, embedders[TORCH]._transform_fn())
    inputs = torch.stack([dataset[i] for i in range(len(dataset))])

    def forward(embedder):
        runner, step = embedder._runner, args.batch_size or embedder.batch_size_
        # torch's convnet runs channels-last, as the inference loop feeds it
        layout = torch.channels_last if embedder.runtime_ == "torch" else None
        out = []
        with torch.inference_mode():
            for i in range(0, len(inputs), step):
                batch = inputs[i : i + step]
                if layout is not None:
                    batch = batch.contiguous(memory_format=layout)
                out.append(np.asarray(runner(batch)))
        return out

    medians, _ = interleaved(
        {label: (lambda e=e: forward(e)) for label, e in embedders.items()},
        rounds=args.rounds,
    )
    base = medians[TORCH]
    rows = [
        f"| {label} | {embedders[label].runtime_} | "
        f"{args.batch_size or embedders[label].batch_size_} | "
        f"{len(inputs) / seconds:.1f} | {base / seconds:.2f}x |"
        for label, seconds in medians.items()
    ]
    settings = ""
    if list(chosen) != [TORCH, *SETTINGS.keys() - {TORCH}] and set(chosen) != set(
        SETTINGS
    ):
        settings = " --settings " + " ".join(f"'{label}'" for label in args.settings)
    text = f"""# The forward pass alone (EfficientNet-Lite0, CPU)

Command: `python -m benchmarks.forward_only --n-images {args.n_images}{"" if args.batch_size is None else f" --batch-size {args.batch_size}"} --threads {args.threads} --rounds {args.rounds}{settings}{"" if args.name == "forward_only" else f" --name {args.name}"}`

Machine: {machine()}. Total {time.perf_counter() - started:.0f} s.

{len(inputs)} photos (320x320) preprocessed once to {tuple(inputs.shape[1:])}
inputs, then each setting's session runs them in batches (each embedder's
``batch_size_`` unless one is given; median of {args.rounds} interleaved
rounds): no decoding, no preprocessing.

| setting | runtime_ | batch | images/s | vs torch eager |
|---|---|---:|---:|---:|
{chr(10).join(rows)}
"""
    write_result(args.name, text)


if __name__ == "__main__":
    main()

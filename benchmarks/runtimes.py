"""CPU runtimes under the embedders: torch eager vs ONNX Runtime vs OpenVINO.

Images: end to end from JPEG files (scikit-image photos written as JPEGs),
``ImageEmbedder(runtime=...).transform(paths)`` for each runtime, interleaved
rounds in one process, images/s, ratio to torch, and cosine to torch's
features; beside them the decode-only rate (decode + resize + crop +
normalise, no network), the ceiling of the end-to-end path. Text:
``SentenceTransformer.encode`` vs ``TextEmbedder(runtime=...)`` on distinct
rt-polarity sentences. Then the time to the first embedding in a fresh
process (import + load + session, the export already cached) for 3 images
and 3 sentences, with the default ``runtime="auto"`` and with torch.

Writes benchmarks/results/runtimes.md.
Run: python -m benchmarks.runtimes [--n-images 500] [--n-texts 2000] [--threads 1]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks._common import interleaved, machine, timed, write_result
from benchmarks.embed_throughput import photos
from benchmarks.text_throughput import sentences
from sktransfer import ImageEmbedder, TextEmbedder

IMAGE_RUNTIMES = {
    "torch eager": {"runtime": "torch"},
    "ONNX Runtime fp32": {"runtime": "onnx"},
    "OpenVINO fp32": {"runtime": "openvino"},
    "OpenVINO bf16 (lossy)": {"runtime": "openvino", "precision": "bf16"},
    'default (runtime="auto")': {},
}
TEXT_RUNTIMES = {
    "TextEmbedder torch": {"runtime": "torch"},
    "TextEmbedder ONNX Runtime fp32": {"runtime": "onnx"},
    "TextEmbedder OpenVINO fp32": {"runtime": "openvino"},
    "TextEmbedder ONNX Runtime int8 (lossy)": {"runtime": "onnx", "precision": "int8"},
    'TextEmbedder default (runtime="auto")': {},
}


def cosines(a, b):
    c = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return f"{c.min():.6f} / {c.mean():.6f}"


def write_jpegs(folder, n, size):
    paths = []
    for i, image in enumerate(photos(n, size=size)):
        path = Path(folder) / f"{i:04d}.jpg"
        Image.fromarray(image).save(path, quality=90)
        paths.append(str(path))
    return paths


def decode_only(paths, embedder):
    from sktransfer.engine._data import ImageDataset

    dataset = ImageDataset(paths, embedder._transform_fn())
    seconds, _ = timed(lambda: [dataset[i] for i in range(len(dataset))])
    return len(paths) / seconds


def bench_images(paths, rounds):
    embedders = {
        label: ImageEmbedder(**params).fit(paths[:1])
        for label, params in IMAGE_RUNTIMES.items()
    }
    outputs = {}

    def run(label):
        outputs[label] = embedders[label].transform(paths)

    medians, raw = interleaved(
        {label: (lambda label=label: run(label)) for label in embedders},
        rounds=rounds,
    )
    decode = decode_only(paths, embedders["torch eager"])
    base = medians["torch eager"]
    rows = [
        f"| {label} | {embedders[label].runtime_} | {len(paths) / medians[label]:.1f} "
        f"| **{base / medians[label]:.2f}x** | "
        f"{cosines(outputs[label], outputs['torch eager'])} |"
        for label in embedders
    ]
    auto = 'default (runtime="auto")'
    summary = (
        f"**Images: the default ({embedders[auto].runtime_}) runs "
        f"{base / medians[auto]:.2f}x torch eager end to end "
        f"({len(paths) / base:.1f} to {len(paths) / medians[auto]:.1f} images/s, "
        f"cosine to torch >= {cosines(outputs[auto], outputs['torch eager'])[:8]}), "
        f"{len(paths) / medians[auto] / decode:.0%} of the decode-only rate "
        f"({decode:.1f} images/s).**"
    )
    return rows, summary, raw


def bench_texts(texts, rounds):
    embedders = {
        label: TextEmbedder(**params).fit(texts[:1])
        for label, params in TEXT_RUNTIMES.items()
    }
    model = embedders["TextEmbedder torch"]._model

    def encode():
        return model.encode(texts, batch_size=32, convert_to_numpy=True)

    reference = encode()
    outputs = {label: e.transform(texts) for label, e in embedders.items()}
    medians, raw = interleaved(
        {
            "SentenceTransformer.encode": encode,
            **{
                label: (lambda e=e: e.transform(texts))
                for label, e in embedders.items()
            },
        },
        rounds=rounds,
    )
    base = medians["SentenceTransformer.encode"]
    rows = [
        f"| SentenceTransformer.encode | torch | {len(texts) / base:.1f} | 1.00x | - |"
    ]
    rows += [
        f"| {label} | {embedders[label].runtime_} | {len(texts) / medians[label]:.1f} "
        f"| **{base / medians[label]:.2f}x** | {cosines(outputs[label], reference)} |"
        for label in embedders
    ]
    auto = 'TextEmbedder default (runtime="auto")'
    int8 = "TextEmbedder ONNX Runtime int8 (lossy)"
    summary = (
        f"**Text: the default ({embedders[auto].runtime_}) runs "
        f"{base / medians[auto]:.2f}x SentenceTransformer.encode (cosine >= "
        f"{cosines(outputs[auto], reference)[:8]}); int8 {base / medians[int8]:.2f}x "
        f"at cosine >= {cosines(outputs[int8], reference)[:8]}.**"
    )
    return rows, summary, raw


FIRST = """
import time
start = time.perf_counter()
import torch
torch.set_num_threads({threads})
from sktransfer import {cls}
est = {cls}({params}).fit_transform({items})
print(time.perf_counter() - start, est.shape)
"""


def first_embedding(cls, params, items, threads):
    code = FIRST.format(cls=cls, params=params, items=items, threads=threads)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[0])


def bench_first(paths, threads):
    rows, seconds = [], {}
    images = repr(paths[:3])
    texts = repr(["a good film", "a bad film", "an odd one"])
    for cls, items in (("ImageEmbedder", images), ("TextEmbedder", texts)):
        for params in ("", "runtime='torch'"):
            seconds[cls, params] = first_embedding(cls, params, items, threads)
            rows.append(f"| {cls}({params}) | {seconds[cls, params]:.1f} |")
    torch_only = "runtime='torch'"
    summary = (
        "**First embedding in a fresh process (export cached): 3 images "
        f"{seconds['ImageEmbedder', '']:.1f} s (torch "
        f"{seconds['ImageEmbedder', torch_only]:.1f} s), 3 sentences "
        f"{seconds['TextEmbedder', '']:.1f} s (torch "
        f"{seconds['TextEmbedder', torch_only]:.1f} s).**"
    )
    return rows, summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-images", type=int, default=500)
    parser.add_argument("--n-texts", type=int, default=2000)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_jpegs(folder, args.n_images, args.size)
        image_rows, image_summary, image_raw = bench_images(paths, args.rounds)
        texts = sentences(args.n_texts)
        text_rows, text_summary, text_raw = bench_texts(texts, args.rounds)
        first_rows, first_summary = bench_first(paths, args.threads)
    load_after = os.getloadavg()
    text = f"""# CPU runtimes: torch eager vs ONNX Runtime vs OpenVINO

Command: `python -m benchmarks.runtimes --n-images {args.n_images} --n-texts {args.n_texts} --threads {args.threads} --rounds {args.rounds}`

Machine: {machine()}. Load average before {load_before[0]:.1f}, after {load_after[0]:.1f}
(2 cores shared with other jobs: absolute rates are noisy, ratios within one run are
the figures to read). Total {time.perf_counter() - start:.0f} s. Every runtime runs
with {args.threads} thread(s) (the torch thread count is passed to ONNX Runtime and
OpenVINO).

## Images: EfficientNet-Lite0, end to end from {args.n_images} JPEG files ({args.size}x{args.size})

{image_summary}

Decode-only = Pillow decode + resize + crop + normalise, no network, in the main
process (what `num_workers` spreads over cores).

| configuration | runtime_ | images/s | vs torch eager | cosine to torch (min / mean) |
|---|---|---|---|---|
{chr(10).join(image_rows)}

## Text: all-MiniLM-L6-v2 on {args.n_texts} distinct rt-polarity sentences (batch 32)

{text_summary}

| configuration | runtime_ | sentences/s | vs encode | cosine to encode (min / mean) |
|---|---|---|---|---|
{chr(10).join(text_rows)}

## Time to the first embedding in a fresh process (export cached)

{first_summary}

Import + load + session + 3 items, in a subprocess (seconds). Most of it is
importing torch / sentence-transformers and loading the weights, which every
runtime pays (the torch model provides the tokenizer and the check):

| call | seconds |
|---|---|
{chr(10).join(first_rows)}

Raw seconds per round: images {image_raw}; text {text_raw}.
"""
    write_result("runtimes", text)


if __name__ == "__main__":
    main()

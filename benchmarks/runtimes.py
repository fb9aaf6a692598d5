"""CPU runtimes under the embedders: torch eager vs ONNX Runtime vs OpenVINO.

Images: end to end from JPEG files (scikit-image photos written as JPEGs),
``ImageEmbedder(runtime=...).transform(paths)`` for each runtime at its
default ``batch_size="auto"``, interleaved rounds in one process, images/s,
ratio to today's torch eager with serial decoding, and cosine to its
features. Torch eager and the default runtime run twice: with the decode
thread (``num_workers=0``: Pillow decodes the next items in a background
thread during the forward pass) and with the serial loop of before;
``compile=True`` runs after the rounds in a process of its own, warmed up
(loading inductor slowed torch eager in the same process); the lossy rows'
accuracy is measured in ``benchmarks/runtime_accuracy.py``. Beside
them, in the same rounds, the decode-only rate (Pillow decode to float
pixels, what the thread does) and the decode + preprocess rate (+ resize,
crop, normalise, which stay in the main thread): no network. Then large
JPEGs with and without ``jpeg_draft``. Text: ``SentenceTransformer.encode``
vs ``TextEmbedder(runtime=...)`` on distinct rt-polarity sentences. Then the
time to the first embedding in a fresh process (import + load + session,
the export already cached) for 3 images and 3 sentences, with the default
``runtime="auto"`` and with torch.

Writes benchmarks/results/runtimes.md.
Run: python -m benchmarks.runtimes [--n-images 500] [--n-texts 2000] [--threads 1]
[--n-large 60] [--large-size 1600]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image

from benchmarks._common import (
    TORCH,
    interleaved,
    machine,
    runtime_settings,
    write_result,
)
from benchmarks.embed_throughput import photos
from benchmarks.text_throughput import sentences
from sktransfer import ImageEmbedder, TextEmbedder
from sktransfer.engine import _inference

# label -> (ImageEmbedder parameters, decode ahead in a thread)
BEFORE = "torch eager, serial decode (before)"
AUTO = 'default (runtime="auto")'
IMAGE_RUNTIMES = {
    BEFORE: ({"runtime": "torch"}, False),
    **{
        label: (params, True)
        for label, params in runtime_settings(lossy_mark=" (lossy)").items()
    },
    f"{AUTO}, serial decode": ({}, False),
    AUTO: ({}, True),
}
TEXT_RUNTIMES = {
    f"TextEmbedder {label}": params
    for label, params in runtime_settings(
        TORCH,
        "ONNX Runtime fp32",
        "OpenVINO fp32",
        "ONNX Runtime int8",
        "OpenVINO int8",
        lossy_mark=" (lossy)",
    ).items()
}
TEXT_RUNTIMES['TextEmbedder default (runtime="auto")'] = {}


def cosines(a, b):
    c = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return f"{c.min():.6f} / {c.mean():.6f}"


def write_jpegs(folder, n, size, prefix="photo"):
    paths = []
    for i, image in enumerate(photos(n, size=size)):
        path = Path(folder) / f"{prefix}{i:04d}.jpg"
        Image.fromarray(image).save(path, quality=90)
        paths.append(str(path))
    return paths


def transform(embedder, paths, prefetch):
    """``embedder.transform(paths)``, with the decode-ahead thread or serially.

    Both forced: the default, ``prefetch="auto"``, picks the serial loop on a
    machine with no core beside torch's threads.
    """
    chosen = partial(_inference.run_inference, prefetch=bool(prefetch))
    with mock.patch.object(_inference, "run_inference", chosen):
        return embedder.transform(paths)


def decode_rates(paths, embedder):
    """Candidates: Pillow decode only (the thread's part), and decode + preprocess."""
    from sktransfer.engine._data import ImageDataset

    dataset = ImageDataset(paths, embedder._transform_fn())
    return {
        "decode only": lambda: [dataset.decode(i) for i in range(len(dataset))],
        "decode + preprocess": lambda: [dataset[i] for i in range(len(dataset))],
    }


def bench_images(paths, rounds):
    embedders = {
        label: ImageEmbedder(**params).fit(paths[:1])
        for label, (params, _) in IMAGE_RUNTIMES.items()
    }
    outputs = {}

    def run(label):
        prefetch = IMAGE_RUNTIMES[label][1]
        outputs[label] = transform(embedders[label], paths, prefetch)

    medians, raw = interleaved(
        {
            **{label: (lambda label=label: run(label)) for label in embedders},
            **decode_rates(paths, embedders[TORCH]),
        },
        rounds=rounds,
    )
    rate = {label: len(paths) / seconds for label, seconds in medians.items()}
    rows = [
        f"| {label} | {embedders[label].runtime_} | "
        f"{'thread' if IMAGE_RUNTIMES[label][1] else 'serial'} | {rate[label]:.1f} "
        f"| **{rate[label] / rate[BEFORE]:.2f}x** | "
        f"{cosines(outputs[label], outputs[BEFORE])} |"
        for label in embedders
    ]
    compiled = len(paths) / float(np.median(compiled_seconds(paths, rounds)))
    rows.append(
        f"| torch compile (own process, after a warm-up) | torch | serial | "
        f"{compiled:.1f} | **{compiled / rate[BEFORE]:.2f}x** | - |"
    )
    rows += [
        f"| {label} (no network) | - | serial | {rate[label]:.1f} | "
        f"{rate[label] / rate[BEFORE]:.2f}x | - |"
        for label in ("decode only", "decode + preprocess")
    ]
    identical = all(
        np.array_equal(outputs[a], outputs[b])
        for a, b in ((BEFORE, TORCH), (f"{AUTO}, serial decode", AUTO))
    )
    summary = (
        f"**Images: the default ({embedders[AUTO].runtime_}, decode thread) runs "
        f"{rate[AUTO] / rate[BEFORE]:.2f}x today's torch eager with serial decode "
        f"end to end ({rate[BEFORE]:.1f} to {rate[AUTO]:.1f} images/s, cosine to "
        f"torch >= {cosines(outputs[AUTO], outputs[BEFORE])[:8]}); the thread "
        f"alone gives torch {rate[TORCH] / rate[BEFORE]:.2f}x and the "
        f"default {rate[AUTO] / rate[f'{AUTO}, serial decode']:.2f}x its serial "
        f"rate (outputs {'bit-identical' if identical else 'DIFFERENT'}). The "
        f"default reaches {rate[AUTO] / rate['decode only']:.0%} of the "
        f"decode-only rate ({rate['decode only']:.1f} images/s) and "
        f"{rate[AUTO] / rate['decode + preprocess']:.0%} of decode + preprocess "
        f"({rate['decode + preprocess']:.1f} images/s).**"
    )
    return rows, summary, raw


COMPILED = """
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[2]))
from sktransfer import ImageEmbedder
paths = json.loads(sys.argv[1])
est = ImageEmbedder(runtime="torch", compile=True).fit(paths[:1])
est.transform(paths)  # builds the code (once per process and batch shape)
seconds = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    est.transform(paths)
    seconds.append(time.perf_counter() - start)
print(json.dumps(seconds))
"""


def compiled_seconds(paths, rounds):
    """Seconds per round of ``compile=True`` in a process of its own (with
    the compiled model in the same process, torch eager ran 58.7 images/s in
    one run of this script, against 79.8 without it in the next)."""
    out = subprocess.run(
        [sys.executable, "-c", COMPILED, json.dumps(paths),
         str(torch.get_num_threads()), str(rounds)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_draft(folder, n, size, rounds):
    """Large JPEGs: the default runtime with and without ``jpeg_draft``."""
    paths = write_jpegs(folder, n, size, prefix="large")
    embedders = {
        draft: ImageEmbedder(jpeg_draft=draft).fit(paths[:1]) for draft in (False, True)
    }
    outputs = {}

    def run(draft):
        outputs[draft] = embedders[draft].transform(paths)

    medians, raw = interleaved(
        {draft: (lambda draft=draft: run(draft)) for draft in embedders},
        rounds=rounds,
    )
    rate = {draft: n / seconds for draft, seconds in medians.items()}
    return (
        f"**Large JPEGs ({n} files, {size}x{size}, default runtime "
        f"{embedders[True].runtime_}): jpeg_draft=True runs {rate[True] / rate[False]:.2f}x "
        f"jpeg_draft=False ({rate[False]:.1f} to {rate[True]:.1f} images/s); cosine to "
        f"the full decode (min / mean) {cosines(outputs[True], outputs[False])}.**"
    ), raw


def bench_texts(texts, rounds):
    embedders = {
        label: TextEmbedder(**params).fit(texts[:1])
        for label, params in TEXT_RUNTIMES.items()
    }
    model = embedders[f"TextEmbedder {TORCH}"]._model

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
    parser.add_argument("--n-large", type=int, default=60)
    parser.add_argument("--large-size", type=int, default=1600)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loads = [os.getloadavg()[0]]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_jpegs(folder, args.n_images, args.size)
        image_rows, image_summary, image_raw = bench_images(paths, args.rounds)
        loads.append(os.getloadavg()[0])
        draft_summary, draft_raw = bench_draft(
            folder, args.n_large, args.large_size, args.rounds
        )
        loads.append(os.getloadavg()[0])
        texts = sentences(args.n_texts)
        text_rows, text_summary, text_raw = bench_texts(texts, args.rounds)
        first_rows, first_summary = bench_first(paths, args.threads)
    loads.append(os.getloadavg()[0])
    load_text = ", ".join(f"{load:.1f}" for load in loads)
    text = f"""# CPU runtimes: torch eager vs ONNX Runtime vs OpenVINO

Command: `python -m benchmarks.runtimes --n-images {args.n_images} --n-texts {args.n_texts} --threads {args.threads} --rounds {args.rounds} --n-large {args.n_large} --large-size {args.large_size}`

Machine: {machine()}. Load average (1 min) before, after the images, after the
large JPEGs and at the end: {load_text} (2 cores shared with other jobs:
absolute rates are noisy, ratios within one run are the figures to read).
Total {time.perf_counter() - start:.0f} s. Every runtime runs with
{args.threads} thread(s) (the torch thread count is passed to ONNX Runtime and
OpenVINO); the decode thread comes on top of them.

## Images: EfficientNet-Lite0, end to end from {args.n_images} JPEG files ({args.size}x{args.size})

{image_summary}

"decode" says where the images are decoded: "thread" (now, with
`num_workers=0`: the next items in a background thread during the forward
pass) or "serial" (before: each item when the loop reads it). Decode only =
Pillow decode to float pixels (the thread's part); decode + preprocess adds
the resize, crop and normalisation (main thread): no network, serial. Every
row at the embedder's default `batch_size="auto"`; ratios and cosines are to
the first row.

| configuration | runtime_ | decode | images/s | vs torch eager serial (before) | cosine to it (min / mean) |
|---|---|---|---|---|---|
{chr(10).join(image_rows)}

## Large JPEGs: `jpeg_draft`

{draft_summary}

Photos upscaled to {args.large_size}x{args.large_size} (smooth content: the
cosine of real high-resolution photos may differ), EfficientNet-Lite0 (resize
256): `jpeg_draft=True` decodes them at the smallest DCT scale keeping a
shorter side of at least 512 px (1/2 for 1600 px: 800 px).

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

Raw seconds per round: images {image_raw}; large JPEGs (False: full decode,
True: draft) {draft_raw}; text {text_raw}.
"""
    write_result("runtimes", text)


if __name__ == "__main__":
    main()

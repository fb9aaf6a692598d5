"""CPU runtimes under the embedders: torch eager and compile vs ONNX Runtime vs OpenVINO.

Images: end to end from JPEG files (scikit-image photos written as JPEGs),
``ImageEmbedder(runtime=...).transform(paths)`` for each configuration,
interleaved rounds in one process: images/s, ratios to torch eager (today's
loop, decoding in background threads) and to torch eager with the previous
serial loop (decode in the main thread, then the forward pass), cosine to
torch eager's features; beside them the decode-only rate (decode + resize +
crop + normalise, no network, one thread), the ceiling of the end-to-end
path. Linear-probe accuracy (5-fold logistic regression) of each
configuration's features on Fashion-MNIST test images written as JPEG
files. Large JPEGs (``--large-size``) with and without ``jpeg_draft``. Text
(benchmarks/_runtimes_text.py): ``SentenceTransformer.encode`` vs
``TextEmbedder(runtime=...)`` on distinct rt-polarity sentences and on as
many with duplicates, and the int8 features' accuracy on the sentiment sets.
The time to the first embedding in a fresh process is measured by
benchmarks/cold_start.py.

Writes benchmarks/results/runtimes.md.
Run: python -m benchmarks.runtimes [--n-images 500] [--n-texts 2000] [--threads 2]
     [--rounds 1] [--no-compile] [--n-probe 500] [--n-large 60]
"""

import argparse
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from benchmarks._common import interleaved, machine, write_result
from benchmarks._runtimes_text import bench_texts, int8_accuracy
from benchmarks.embed_throughput import photos
from benchmarks.text_throughput import sentences
from sktransfer import ImageEmbedder

TORCH = "torch eager"
SERIAL_TORCH = "torch eager, serial decode (previous loop)"
AUTO = 'default (runtime="auto")'
SERIAL_AUTO = "default, serial decode (previous loop)"
# label -> (ImageEmbedder parameters, decode serially in the main thread)
IMAGE_RUNTIMES = {
    SERIAL_TORCH: ({"runtime": "torch"}, True),
    TORCH: ({"runtime": "torch"}, False),
    "torch compile": ({"runtime": "torch", "compile": True}, False),
    "ONNX Runtime fp32": ({"runtime": "onnx"}, False),
    "OpenVINO fp32": ({"runtime": "openvino"}, False),
    "OpenVINO bf16 (lossy)": ({"runtime": "openvino", "precision": "bf16"}, False),
    SERIAL_AUTO: ({}, True),
    AUTO: ({}, False),
}


@contextmanager
def serial_decode(serial=True):
    """The inference loop as it was: a DataLoader decoding in the main thread."""
    import sktransfer.engine._inference as inference

    threaded = inference._batches

    def loader(dataset, batch_size, num_workers, collate_fn, device):
        return torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, collate_fn=collate_fn
        )

    if serial:
        inference._batches = loader
    try:
        yield
    finally:
        inference._batches = threaded


def cosines(a, b):
    c = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return f"{c.min():.6f} / {c.mean():.6f}"


def write_jpegs(folder, images, prefix="photo"):
    paths = []
    for i, image in enumerate(images):
        path = Path(folder) / f"{prefix}{i:04d}.jpg"
        Image.fromarray(image).save(path, quality=90)
        paths.append(str(path))
    return paths


def decode_only(paths, embedder):
    """Decode + preprocess every path in one thread, no network."""
    from sktransfer.engine._data import ImageDataset

    dataset = ImageDataset(paths, embedder._transform_fn())
    return [dataset[i] for i in range(len(dataset))]


def image_embedders(labels, fit_on):
    embedders = {}
    for label in labels:
        params, _ = IMAGE_RUNTIMES[label]
        embedders[label] = ImageEmbedder(**params).fit(fit_on[:1])
        # warm up, untimed (torch compile: for both batch shapes)
        embedders[label].transform(fit_on[: 33 if params.get("compile") else 32])
    return embedders


def bench_images(paths, rounds, labels):
    embedders = image_embedders(labels, paths)
    outputs = {}

    def run(label):
        with serial_decode(IMAGE_RUNTIMES[label][1]):
            outputs[label] = embedders[label].transform(paths)

    candidates = {label: (lambda label=label: run(label)) for label in embedders}
    candidates["decode only"] = lambda: decode_only(paths, embedders[TORCH])
    medians, raw = interleaved(candidates, rounds=rounds)  # decode in the same rounds
    decode = len(paths) / medians.pop("decode only")
    base, before = medians[TORCH], medians[SERIAL_TORCH]
    rows = [
        f"| {label} | {embedders[label].runtime_} | {len(paths) / medians[label]:.1f} "
        f"| **{base / medians[label]:.2f}x** | {before / medians[label]:.2f}x | "
        f"{cosines(outputs[label], outputs[TORCH])} |"
        for label in embedders
    ]
    summary = (
        f"**Images: the default ({embedders[AUTO].runtime_}) runs "
        f"{before / medians[AUTO]:.2f}x torch eager with the previous serial loop "
        f"and {base / medians[AUTO]:.2f}x torch eager with today's loop, end to end "
        f"({len(paths) / before:.1f} and {len(paths) / base:.1f} to "
        f"{len(paths) / medians[AUTO]:.1f} images/s, cosine to torch >= "
        f"{cosines(outputs[AUTO], outputs[TORCH])[:8]}); the serial loop gave it "
        f"{len(paths) / medians[SERIAL_AUTO]:.1f}. It reaches "
        f"{len(paths) / medians[AUTO] / decode:.0%} of the one-thread decode-only "
        f"rate ({decode:.1f} images/s).**"
    )
    return rows, summary, raw, embedders


def linear_probe(folder, n, embedders):
    """Rows: 5-fold accuracy of each configuration's features on Fashion-MNIST JPEGs."""
    from sktransfer.datasets import fashion_mnist_available, load_fashion_mnist

    if not n or not fashion_mnist_available():
        return ["| (Fashion-MNIST not installed) | - | - |"]
    images, labels = load_fashion_mnist("test")
    pick = np.random.default_rng(0).permutation(len(images))[:n]
    paths = write_jpegs(folder, images[pick], prefix="fmnist")
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    probe = LogisticRegression(max_iter=3000)
    rows = []
    for label, embedder in embedders.items():
        if IMAGE_RUNTIMES[label][1]:
            continue  # the same features as its threaded twin
        features = embedder.transform(paths)
        accuracy = cross_val_score(probe, features, labels[pick], cv=cv).mean()
        rows.append(f"| {label} | {embedder.runtime_} | {accuracy:.3f} |")
    return rows


def bench_large(folder, n, size, rounds):
    """Rows: large JPEGs with the default, without and with ``jpeg_draft``."""
    if not n:
        return [], ""
    paths = write_jpegs(folder, photos(n, size=size, seed=1), prefix="large")
    embedders = {
        draft: ImageEmbedder(jpeg_draft=draft).fit(paths[:1]) for draft in (False, True)
    }
    outputs = {}

    def run(draft):
        outputs[draft] = embedders[draft].transform(paths)

    medians, _ = interleaved(
        {draft: (lambda draft=draft: run(draft)) for draft in embedders},
        rounds=rounds,
    )
    rows = [
        f"| jpeg_draft={draft} | {embedders[draft].runtime_} "
        f"| {n / medians[draft]:.1f} | {medians[False] / medians[draft]:.2f}x "
        f"| {cosines(outputs[draft], outputs[False])} |"
        for draft in embedders
    ]
    summary = (
        f"**Large JPEGs ({size}x{size}): jpeg_draft=True runs "
        f"{medians[False] / medians[True]:.2f}x the full decode, cosine to it >= "
        f"{cosines(outputs[True], outputs[False])[:8]}.**"
    )
    return rows, summary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-images", type=int, default=500)
    parser.add_argument("--n-texts", type=int, default=2000)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--n-probe", type=int, default=500)
    parser.add_argument("--n-large", type=int, default=60)
    parser.add_argument("--large-size", type=int, default=1600)
    parser.add_argument("--n-sentiment", type=int, default=1000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    labels = [k for k in IMAGE_RUNTIMES if not (args.no_compile and "compile" in k)]
    load_before = os.getloadavg()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_jpegs(folder, photos(args.n_images, size=args.size))
        image_rows, image_summary, image_raw, embedders = bench_images(
            paths, args.rounds, labels
        )
        probe_rows = linear_probe(folder, args.n_probe, embedders)
        large_rows, large_summary = bench_large(
            folder, args.n_large, args.large_size, args.rounds
        )
        texts = sentences(args.n_texts)
        text_rows, dup_rows, text_summary, text_raw, text_embedders = bench_texts(
            texts, args.rounds
        )
        int8_rows, int8_summary = int8_accuracy(text_embedders, args.n_sentiment)
    load_after = os.getloadavg()
    command = (
        f"python -m benchmarks.runtimes --n-images {args.n_images} --n-texts "
        f"{args.n_texts} --threads {args.threads} --rounds {args.rounds}"
        f"{' --no-compile' if args.no_compile else ''} --n-probe {args.n_probe} "
        f"--n-large {args.n_large} --large-size {args.large_size} "
        f"--n-sentiment {args.n_sentiment}"
    )
    nl = chr(10)
    text = f"""# CPU runtimes: torch eager and compile vs ONNX Runtime vs OpenVINO

Command: `{command}`

Machine: {machine()}. Load average before {load_before[0]:.1f}, after {load_after[0]:.1f}
(2 cores shared with other jobs: absolute rates are noisy, ratios within one run are
the figures to read). Total {time.perf_counter() - start:.0f} s. Every runtime runs
with {args.threads} thread(s) (the torch thread count is passed to ONNX Runtime and
OpenVINO).

## Images: EfficientNet-Lite0, end to end from {args.n_images} JPEG files ({args.size}x{args.size})

{image_summary}

Today's loop (`num_workers=0`) decodes the next batches in a background thread
while the network runs the current one; "serial decode (previous loop)" is the
loop before that change (a DataLoader decoding in the main thread, then the
forward pass). Decode-only = Pillow decode + resize + crop + normalise, no
network, in one thread: the rate the decode thread can feed at most.

| configuration | runtime_ | images/s | vs torch eager | vs torch eager, serial decode | cosine to torch (min / mean) |
|---|---|---|---|---|---|
{nl.join(image_rows)}

Linear probe: 5-fold logistic-regression accuracy of each configuration's
features on {args.n_probe} Fashion-MNIST test images written as JPEG files
(10 classes):

| configuration | runtime_ | accuracy |
|---|---|---|
{nl.join(probe_rows)}

### Large JPEGs: `jpeg_draft`

{large_summary}

{args.n_large} JPEGs of {args.large_size}x{args.large_size} pixels, default runtime;
`jpeg_draft=True` lets Pillow decode them at 1/2 scale (shorter side kept
>= twice the resize size, 512 for Lite0):

| configuration | runtime_ | images/s | vs full decode | cosine to the full decode (min / mean) |
|---|---|---|---|---|
{nl.join(large_rows)}

## Text: all-MiniLM-L6-v2 on {args.n_texts} rt-polarity sentences (batch 32)

{text_summary}

Distinct sentences:

| configuration | runtime_ | sentences/s | vs encode | cosine to encode (min / mean) |
|---|---|---|---|---|
{nl.join(text_rows)}

With duplicates ({args.n_texts} sentences: {args.n_texts // 2} distinct ones, each
twice, shuffled; the embedders compute each distinct string once per call):

| configuration | sentences/s | vs encode | cosine to encode (min / mean) |
|---|---|---|---|
{nl.join(dup_rows)}

### int8 on the sentiment sets

{int8_summary}

5-fold logistic-regression accuracy on each UCI sentiment domain, features of the
default (fp32, exact) vs ONNX Runtime int8:

| domain (sentences) | fp32 (default) | int8 | difference | cosine int8 to fp32 (min / mean) |
|---|---|---|---|---|
{nl.join(int8_rows)}

Raw seconds per round: images {image_raw}; text {text_raw}.
"""
    write_result("runtimes", text)


if __name__ == "__main__":
    main()

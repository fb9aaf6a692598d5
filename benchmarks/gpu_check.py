"""GPU check (one script, a few minutes): throughput, mixed precision, CPU agreement.

Measures on the first CUDA device:
* images/s of ImageEmbedder (EfficientNet-Lite0), fp32 vs mixed precision (autocast),
  and with compile=True (torch.compile, first transform timed apart);
* sentences/s of TextEmbedder (all-MiniLM-L6-v2), fp32 vs mixed precision;
* cosine similarity of GPU embeddings (both precisions) with the CPU's (>= 0.999);
* the CUDA out-of-memory back-off on a deliberately huge batch;
* a fine-tuning step time when `sktransfer.ImageClassifier` is available.

Writes benchmarks/results/gpu_check.md. Run: python -m benchmarks.gpu_check
"""

import sys
import time

import numpy as np
import torch

from benchmarks._common import machine, write_result
from sktransfer import ImageEmbedder, TextEmbedder


def cosine(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a * b).sum(1).min())


def rate(fn, n, repeats=3):
    fn()  # warm-up (cuDNN autotune, lazy init)
    torch.cuda.synchronize()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return n / best


def main():
    if not torch.cuda.is_available():
        sys.exit("no CUDA device: nothing to check")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (1024, 224, 224, 3), dtype=np.uint8)
    texts = [
        f"sentence number {i} about {'films' if i % 2 else 'food'}" for i in range(4096)
    ]
    lines = [
        "# GPU check",
        "",
        f"Machine: {machine()}",
        "",
        "| what | fp32 | mixed | cosine to CPU (fp32 / mixed) |",
        "|---|---:|---:|---:|",
    ]

    cpu_img = ImageEmbedder(device="cpu").fit(images[:1]).transform(images[:64])
    cpu_txt = TextEmbedder(device="cpu").fit(texts[:1]).transform(texts[:256])
    row = {}
    for precision in ("fp32", "auto"):
        emb = ImageEmbedder(
            device="cuda", precision=precision, batch_size=128, num_workers=4
        ).fit(images[:1])
        row[precision] = (
            rate(lambda e=emb: e.transform(images), len(images)),
            cosine(emb.transform(images[:64]), cpu_img),
        )
    lines.append(
        f"| images/s, EfficientNet-Lite0, batch 128 | {row['fp32'][0]:.0f} | {row['auto'][0]:.0f} | {row['fp32'][1]:.5f} / {row['auto'][1]:.5f} |"
    )
    compiled = ImageEmbedder(
        device="cuda", precision="auto", batch_size=128, num_workers=4, compile=True
    ).fit(images[:1])
    start = time.perf_counter()
    compiled.transform(images)  # compiles (one batch shape: 1024 = 8 x 128)
    first = time.perf_counter() - start
    lines.append(
        f"| images/s, EfficientNet-Lite0, batch 128, compile=True (first transform {first:.0f} s) | | {rate(lambda: compiled.transform(images), len(images)):.0f} | - / {cosine(compiled.transform(images[:64]), cpu_img):.5f} |"
    )
    row = {}
    for precision in ("fp32", "auto"):
        emb = TextEmbedder(device="cuda", precision=precision, batch_size=256).fit(
            texts[:1]
        )
        row[precision] = (
            rate(lambda e=emb: e.transform(texts), len(texts)),
            cosine(emb.transform(texts[:256]), cpu_txt),
        )
    lines.append(
        f"| sentences/s, MiniLM-L6, batch 256 | {row['fp32'][0]:.0f} | {row['auto'][0]:.0f} | {row['fp32'][1]:.5f} / {row['auto'][1]:.5f} |"
    )

    big = ImageEmbedder(device="cuda", batch_size=100_000).fit(images[:1])
    start = time.perf_counter()
    out = big.transform(np.repeat(images[:8], 256, axis=0))
    lines += [
        "",
        f"Out-of-memory back-off: batch_size=100000 over 2048 images finished in {time.perf_counter() - start:.1f} s, output {out.shape}.",
    ]

    try:
        from sktransfer import ImageClassifier
    except ImportError:
        lines.append("Fine-tuning step time: ImageClassifier not available.")
    else:
        y = np.arange(256) % 10
        clf = ImageClassifier(
            strategy="full", max_epochs=1, batch_size=64, device="cuda", augment=False
        )
        start = time.perf_counter()
        clf.fit(images[:256], y)
        lines.append(
            f"Fine-tuning (strategy='full', 256 images, batch 64, mixed precision): one epoch {time.perf_counter() - start:.1f} s."
        )
    lines += ["", "Command: `python -m benchmarks.gpu_check`"]
    write_result("gpu_check", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

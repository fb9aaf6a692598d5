"""What the lossy CPU settings cost in accuracy: linear probes on their features.

For each runtime / precision, the embedder's features of real labelled data,
their cosine to torch fp32, and a logistic regression's accuracy on them:

- images: EfficientNet-Lite0 on Fashion-MNIST (the first 2,000 test images,
  1,000 to train the probe, 1,000 to test it);
- texts: all-MiniLM-L6-v2 on the three shared sentiment sets (1,000
  sentences each, 5-fold cross-validated accuracy).

Speed is measured in ``benchmarks/runtimes.py``; this is the accuracy side.

Writes benchmarks/results/runtime_accuracy.md.
Run: python -m benchmarks.runtime_accuracy [--threads 2]
"""

import argparse
import time

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from benchmarks._common import TORCH, machine, runtime_settings, write_result
from benchmarks.fewshot import load_set
from sktransfer import ImageEmbedder, TextEmbedder

IMAGE_SETTINGS = runtime_settings(
    TORCH, "OpenVINO fp32", "OpenVINO bf16", "OpenVINO int8", "ONNX Runtime int8"
)  # int8 for images: the static (calibrated) copy
TEXT_SETTINGS = runtime_settings(
    TORCH, "OpenVINO fp32", "OpenVINO bf16", "ONNX Runtime int8"
)  # int8 for texts: dynamic quantization
TEXT_SETS = ("amazon", "imdb", "yelp")
N_IMAGES = 2000


def cosines(a, b):
    c = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return c.min(), c.mean()


def probe():
    return LogisticRegression(max_iter=2000)


def image_rows():
    from sktransfer.datasets import load_fashion_mnist

    images, labels = load_fashion_mnist("test")
    images, labels = images[:N_IMAGES], labels[:N_IMAGES]
    half = N_IMAGES // 2
    rows, reference = [], None
    for label, params in IMAGE_SETTINGS.items():
        est = ImageEmbedder(**params).fit(images[:1])
        features = est.transform(images)
        reference = features if reference is None else reference
        low, mean = cosines(features, reference)
        accuracy = probe().fit(features[:half], labels[:half])
        score = accuracy.score(features[half:], labels[half:])
        rows.append(
            f"| {label} | {est.runtime_} | {low:.4f} / {mean:.4f} | {score:.3f} |"
        )
        print(rows[-1], flush=True)
    return rows


def text_rows():
    data = {name: load_set(name) for name in TEXT_SETS}
    rows, reference = [], {}
    for label, params in TEXT_SETTINGS.items():
        est = TextEmbedder(**params).fit(["a"])
        cells = []
        for name, (texts, labels) in data.items():
            features = est.transform(texts)
            reference.setdefault(name, features)
            low, mean = cosines(features, reference[name])
            score = cross_val_score(probe(), features, labels, cv=5).mean()
            cells.append(f"{low:.3f} / {mean:.4f} | {score:.3f}")
        rows.append(f"| {label} | {est.runtime_} | {' | '.join(cells)} |")
        print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    images = image_rows()
    texts = text_rows()
    set_columns = " | ".join(
        f"{n}: cosine (min / mean) | {n}: accuracy" for n in TEXT_SETS
    )
    text = f"""# Accuracy of the CPU runtimes' lossy settings (linear probes)

Command: `python -m benchmarks.runtime_accuracy --threads {args.threads}`

Machine: {machine()}. Total {time.perf_counter() - started:.0f} s.

Features of real labelled data for each setting, their cosine to torch fp32
(per row: the worst and the mean), and a `LogisticRegression(max_iter=2000)`
probe's accuracy on them. int8 is static quantization for images (dynamic
for texts); the static copy calibrates its activation
ranges on fixed crops of scikit-learn's two sample photos, not on this data.
Speed: `benchmarks/results/runtimes.md`.

## Images: EfficientNet-Lite0, Fashion-MNIST (first {N_IMAGES} test images; probe fit on {N_IMAGES // 2}, tested on {N_IMAGES // 2})

| setting | runtime_ | cosine to torch fp32 (min / mean) | probe accuracy |
|---|---|---|---|
{chr(10).join(images)}

## Texts: all-MiniLM-L6-v2, the shared sentiment sets (1,000 sentences each, 5-fold CV accuracy)

| setting | runtime_ | {set_columns} |
|---|---|{"---|---|" * len(TEXT_SETS)}
{chr(10).join(texts)}
"""
    write_result("runtime_accuracy", text)


if __name__ == "__main__":
    main()

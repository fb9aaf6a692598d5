"""The text half of benchmarks/runtimes.py: MiniLM, encode vs each runtime.

Throughput on distinct sentences and on the same number with duplicates
(each distinct sentence twice, shuffled: the embedders compute each once per
call, ``SentenceTransformer.encode`` does not), cosine to ``encode``, and the
linear-probe accuracy of fp32 (the default) vs int8 features on the shared
sentiment sets (5-fold CV).
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score

from benchmarks._common import interleaved
from sktransfer import TextEmbedder
from sktransfer.datasets import shared_data_dir

TEXT_RUNTIMES = {
    "TextEmbedder torch": {"runtime": "torch"},
    "TextEmbedder ONNX Runtime fp32": {"runtime": "onnx"},
    "TextEmbedder OpenVINO fp32": {"runtime": "openvino"},
    "TextEmbedder ONNX Runtime int8 (lossy)": {"runtime": "onnx", "precision": "int8"},
    'TextEmbedder default (runtime="auto")': {},
}
AUTO = 'TextEmbedder default (runtime="auto")'
INT8 = "TextEmbedder ONNX Runtime int8 (lossy)"


def cosines(a, b):
    c = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return f"{c.min():.6f} / {c.mean():.6f}"


def with_duplicates(texts):
    """As many sentences as ``texts``: its first half, each twice, shuffled."""
    half = texts[: len(texts) // 2]
    doubled = half + half
    order = np.random.default_rng(0).permutation(len(doubled))
    return [doubled[i] for i in order]


def bench_texts(texts, rounds):
    """Rows and summary: encode vs each runtime, distinct and duplicated texts."""
    embedders = {
        label: TextEmbedder(**params).fit(texts[:1])
        for label, params in TEXT_RUNTIMES.items()
    }
    for embedder in embedders.values():  # warm up, untimed
        embedder.transform(texts[-32:])
    model = embedders["TextEmbedder torch"]._model
    model.encode(texts[-32:], batch_size=32)
    duplicated = with_duplicates(texts)
    outputs = {}

    def encode(items, tag):
        outputs["encode", tag] = model.encode(
            items, batch_size=32, convert_to_numpy=True
        )

    def embed(label, items, tag):
        outputs[label, tag] = embedders[label].transform(items)

    candidates = {
        ("encode", "distinct"): lambda: encode(texts, "distinct"),
        **{
            (label, "distinct"): (lambda label=label: embed(label, texts, "distinct"))
            for label in embedders
        },
        ("encode", "dup"): lambda: encode(duplicated, "dup"),
        (AUTO, "dup"): lambda: embed(AUTO, duplicated, "dup"),
    }
    medians, raw = interleaved(candidates, rounds=rounds)
    base = medians["encode", "distinct"]
    rows = [
        f"| SentenceTransformer.encode | torch | {len(texts) / base:.1f} | 1.00x | - |"
    ]
    for label in embedders:
        rows.append(
            f"| {label} | {embedders[label].runtime_} "
            f"| {len(texts) / medians[label, 'distinct']:.1f} "
            f"| **{base / medians[label, 'distinct']:.2f}x** | "
            f"{cosines(outputs[label, 'distinct'], outputs['encode', 'distinct'])} |"
        )
    dup_base = medians["encode", "dup"]
    dup_rows = [
        f"| SentenceTransformer.encode | {len(duplicated) / dup_base:.1f} | 1.00x | - |",
        f"| TextEmbedder default ({embedders[AUTO].runtime_}) "
        f"| {len(duplicated) / medians[AUTO, 'dup']:.1f} "
        f"| **{dup_base / medians[AUTO, 'dup']:.2f}x** "
        f"| {cosines(outputs[AUTO, 'dup'], outputs['encode', 'dup'])} |",
    ]
    summary = (
        f"**Text: the default ({embedders[AUTO].runtime_}) runs "
        f"{base / medians[AUTO, 'distinct']:.2f}x SentenceTransformer.encode on "
        f"distinct sentences (cosine >= "
        f"{cosines(outputs[AUTO, 'distinct'], outputs['encode', 'distinct'])[:8]}), "
        f"{dup_base / medians[AUTO, 'dup']:.2f}x with duplicates; int8 "
        f"{base / medians[INT8, 'distinct']:.2f}x at cosine >= "
        f"{cosines(outputs[INT8, 'distinct'], outputs['encode', 'distinct'])[:8]}.**"
    )
    raw = {f"{label} ({tag})": seconds for (label, tag), seconds in raw.items()}
    return rows, dup_rows, summary, raw, embedders


def sentiment_sets():
    """``{domain: (texts, labels)}`` of ../shared/data/sentiment."""
    sets = {}
    for path in sorted((shared_data_dir() / "sentiment").glob("*_labelled.txt")):
        texts, labels = [], []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if "\t" in line:
                text, label = line.rsplit("\t", 1)
                texts.append(text.strip())
                labels.append(int(label))
        sets[path.stem.split("_")[0]] = (texts, np.array(labels))
    return sets


def int8_accuracy(embedders, n=None):
    """Rows: 5-fold logistic-regression accuracy, default (fp32) vs int8 features."""
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    probe = LogisticRegression(max_iter=2000)
    rows, gaps = [], []
    for domain, (texts, labels) in sentiment_sets().items():
        texts, labels = texts[:n], labels[:n]
        fp32 = embedders[AUTO].transform(texts)
        int8 = embedders[INT8].transform(texts)
        accuracy = [
            cross_val_score(probe, features, labels, cv=cv).mean()
            for features in (fp32, int8)
        ]
        gaps.append(accuracy[1] - accuracy[0])
        rows.append(
            f"| {domain} ({len(texts)}) | {accuracy[0]:.3f} | {accuracy[1]:.3f} "
            f"| {accuracy[1] - accuracy[0]:+.3f} | {cosines(int8, fp32)} |"
        )
    summary = (
        f"**int8 vs fp32 linear-probe accuracy on the sentiment sets: "
        f"{min(gaps):+.3f} to {max(gaps):+.3f}.**"
    )
    return rows, summary

"""Training speed of the fine-tuning estimators against plain skorch and plain torch.

1. ``strategy="head"`` without augmentation (backbone features computed once,
   the head trained on them) vs skorch's usual recipe for a frozen backbone:
   ``NeuralNetClassifier`` over backbone + head with a ``Freezer`` callback
   (the full forward pass on every batch of every epoch). 10 epochs each.
2. One epoch of ``strategy="full"`` vs a hand-written PyTorch loop (forward,
   cross-entropy, backward, AdamW step) over the same model and the same
   batches (the same dataset, decoding and preprocessing, DataLoader, batch
   size and shuffling seed). The estimator's epoch time is skorch's ``dur``.

EfficientNet-Lite0 (pretrained) at 96 x 96 on Fashion-MNIST images; CPU only
(no GPU lent for this run), one torch thread; candidates alternate and the
median of the rounds is reported.

Run: python -m benchmarks.finetune_speed [--quick]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # python -m benchmarks.x

from benchmarks._common import machine, write_result  # noqa: E402

IMAGE_SIZE = 96
BATCH = 32


def _data(n):
    from sktransfer.datasets import load_fashion_mnist

    images, labels = load_fashion_mnist("train")
    rng = np.random.default_rng(0)
    keep = rng.choice(len(images), n, replace=False)
    return images[keep], labels[keep]


def _labelled_images(images, labels, preprocessing):
    """(image tensor, label) pairs: decoding + eval preprocessing, as the estimator."""
    import torch

    from sktransfer.engine._data import ImageDataset
    from sktransfer.engine._preprocess import ImageTransform

    class Labelled(torch.utils.data.Dataset):
        def __init__(self):
            self.images = ImageDataset(images, ImageTransform(preprocessing))

        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            return self.images[i], int(labels[i])

    return Labelled()


def _estimator(**params):
    from sktransfer import ImageClassifier

    return ImageClassifier(
        image_size=IMAGE_SIZE,
        augment=False,
        validation_fraction=None,
        batch_size=BATCH,
        random_state=0,
        **params,
    )


def head_vs_freezer(images, labels, epochs, rounds):
    import torch
    from skorch import NeuralNetClassifier
    from skorch.callbacks import Freezer

    from sktransfer.finetune._module import TransferModule

    def ours():
        _estimator(strategy="head", max_epochs=epochs).fit(images, labels)

    def skorch_freezer():
        reference = _estimator(strategy="head", max_epochs=1)
        spec = reference._resolve_spec()
        reference._spec = spec
        preprocessing = reference._preprocessing()
        torch.manual_seed(0)
        module = reference._build_module(spec, 10)
        assert isinstance(module, TransferModule)
        net = NeuralNetClassifier(
            module,
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.AdamW,
            lr=1e-3,
            max_epochs=epochs,
            batch_size=BATCH,
            train_split=None,
            iterator_train__shuffle=True,
            callbacks=[Freezer("backbone.*")],
            verbose=0,
        )
        dataset = _labelled_images(images, labels, preprocessing)
        net.fit(dataset, None)

    return _interleave({"ours": ours, "skorch_freezer": skorch_freezer}, rounds)


def full_epoch_vs_torch_loop(images, labels, rounds):
    import torch

    def ours():
        clf = _estimator(
            strategy="full",
            max_epochs=1,
            lr_decay=1.0,
            schedule="constant",
            warmup_fraction=0.0,
        ).fit(images, labels)
        return clf.history_[-1]["dur"]

    def torch_loop():
        reference = _estimator(strategy="full", max_epochs=1)
        spec = reference._resolve_spec()
        reference._spec = spec
        torch.manual_seed(0)
        module = reference._build_module(spec, 10)
        dataset = _labelled_images(images, labels, reference._preprocessing())
        loader = torch.utils.data.DataLoader(dataset, batch_size=BATCH, shuffle=True)
        optimizer = torch.optim.AdamW(module.parameters(), lr=1e-3, weight_decay=0.01)
        module.train()
        start = time.perf_counter()
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(module(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return time.perf_counter() - start

    times = {"ours": [], "torch_loop": []}
    for _ in range(rounds):
        times["ours"].append(ours())
        times["torch_loop"].append(torch_loop())
    return {k: statistics.median(v) for k, v in times.items()}, times


def _interleave(candidates, rounds):
    times = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}, times


def main():
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_head, n_full, rounds = (64, 64, 1) if args.quick else (480, 160, 3)
    images, labels = _data(max(n_head, n_full))
    head, head_raw = head_vs_freezer(images[:n_head], labels[:n_head], 10, rounds)
    full, full_raw = full_epoch_vs_torch_loop(images[:n_full], labels[:n_full], rounds)
    speedup = head["skorch_freezer"] / head["ours"]
    ratio = full["torch_loop"] / full["ours"]
    lines = [
        "# Fine-tuning speed",
        "",
        f"Machine: {machine()}. No GPU was lent for this run: CPU only, one torch "
        "thread. EfficientNet-Lite0 (pretrained) at "
        f"{IMAGE_SIZE} x {IMAGE_SIZE}, Fashion-MNIST images, batch size {BATCH}; "
        f"median of {rounds} interleaved rounds.",
        "",
        "## Frozen backbone, 10 epochs, no augmentation",
        "",
        f"{n_head} images. Whole `fit` wall time (model building included in both).",
        "",
        "| approach | seconds |",
        "|---|---:|",
        f'| `ImageClassifier(strategy="head", augment=False)` (features once) '
        f"| {head['ours']:.1f} |",
        f"| skorch `NeuralNetClassifier` + `Freezer('backbone.*')` | "
        f"{head['skorch_freezer']:.1f} |",
        "",
        f"**Speed-up: {speedup:.1f}x** (target >= 5x: {'met' if speedup >= 5 else 'NOT met'}).",
        "",
        "## One epoch of full fine-tuning",
        "",
        f"{n_full} images ({-(-n_full // BATCH)} batches), no augmentation. Epoch time "
        "only (model building excluded in both): skorch's `dur` for the estimator, "
        "the loop itself for plain torch.",
        "",
        "| approach | seconds per epoch |",
        "|---|---:|",
        f'| `ImageClassifier(strategy="full")` | {full["ours"]:.2f} |',
        f"| hand-written PyTorch loop | {full['torch_loop']:.2f} |",
        "",
        f"**Ratio (torch loop time / estimator time): {ratio:.3f}** (target >= 0.9: "
        f"{'met' if ratio >= 0.9 else 'NOT met'}).",
        "",
        f"Raw timings (s): head {head_raw}; full {full_raw}.",
        "",
        "Command: `python -m benchmarks.finetune_speed`",
        "",
    ]
    write_result("finetune_speed", "\n".join(lines))


if __name__ == "__main__":
    main()

"""TransferNet extends skorch at its seams; its bookkeeping matches skorch's own.

The same network, data, initial weights and optimizer trained by skorch's
``NeuralNetClassifier`` and by sktransfer's ``TransferClassifierNet`` (plain
tensors, unit sample weights, no accumulation) give the same history: batch
losses and sizes, batch counts and epoch losses.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")

from sktransfer.engine._training import (  # noqa: E402
    TransferClassifierNet,
    WeightedCrossEntropy,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

X = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
y = (X[:, 0] > 0).astype(np.int64)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.linear(x)


def _common():
    return dict(
        optimizer=torch.optim.SGD,
        lr=0.1,
        max_epochs=3,
        batch_size=16,
        train_split=None,
        iterator_train__shuffle=False,
        verbose=0,
    )


def _history(net):
    keys = ("train_loss", "train_batch_count")
    epochs = [{k: row[k] for k in keys} for row in net.history]
    batches = [
        [(b["train_loss"], b["train_batch_size"]) for b in row["batches"]]
        for row in net.history
    ]
    return epochs, batches


def test_history_bookkeeping_matches_skorch():
    reference = skorch.NeuralNetClassifier(
        Net, criterion=torch.nn.CrossEntropyLoss, **_common()
    ).fit(X, y)
    ours = TransferClassifierNet(Net, criterion=WeightedCrossEntropy, **_common())
    ours.fit({"data": X, "sample_weight": np.ones(len(X), np.float32)}, y)
    (ref_epochs, ref_batches), (our_epochs, our_batches) = (
        _history(reference),
        _history(ours),
    )
    assert [b[1] for b in sum(our_batches, [])] == [b[1] for b in sum(ref_batches, [])]
    for ref, mine in zip(ref_epochs, our_epochs, strict=True):
        assert mine["train_batch_count"] == ref["train_batch_count"] == 4
        assert mine["train_loss"] == pytest.approx(ref["train_loss"], rel=1e-5)
    np.testing.assert_allclose(
        [b[0] for b in sum(our_batches, [])],
        [b[0] for b in sum(ref_batches, [])],
        rtol=1e-5,
    )


def test_accumulation_steps_the_optimizer_every_k_batches_and_at_epoch_end():
    net = TransferClassifierNet(
        Net, criterion=WeightedCrossEntropy, accumulation_steps=3, **_common()
    )
    net.fit({"data": X, "sample_weight": np.ones(len(X), np.float32)}, y)
    # 4 batches an epoch: a step after batch 3, then the leftover at epoch end
    assert net.optimizer_steps_ == 2 * 3

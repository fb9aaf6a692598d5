"""The per-batch bar of a training epoch, as a skorch callback."""

import math

from sktransfer._optional import import_optional
from sktransfer.engine._progress import progress_bar

skorch = import_optional("skorch")
from skorch.callbacks import Callback  # noqa: E402

__all__ = ["EpochProgress"]


class EpochProgress(Callback):
    """One tqdm bar per epoch, labelled "training epoch 3/10", one tick a batch.

    The bar disappears at the end of the epoch, where skorch's epoch table
    prints its row.
    """

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        try:
            total = math.ceil(len(dataset_train) / net.batch_size)
        except TypeError:
            total = None
        epoch = len(net.history)
        self.bar_ = progress_bar(
            total=total,
            desc=f"training epoch {epoch}/{net.max_epochs}",
            unit="batch",
            leave=False,
        )

    def on_batch_end(self, net, training=False, **kwargs):
        bar = getattr(self, "bar_", None)
        if training and bar is not None:
            bar.update(1)

    def on_epoch_end(self, net, **kwargs):
        bar = getattr(self, "bar_", None)
        if bar is not None:
            bar.close()
            self.bar_ = None

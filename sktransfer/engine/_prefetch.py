"""Batches decoded in background threads while the forward pass runs.

With ``num_workers=0`` the inference loop reads its batches from
`ThreadedBatches`: the items of the next batches are decoded and
preprocessed in a small thread pool (Pillow's decoder and torch's resize
release the GIL) while the current batch runs through the network, so the
end-to-end rate approaches the slower of the two instead of their sum.
Each thread decodes whole batches (the overhead is per batch, so cheap items
such as numeric rows or strings lose nothing). Batches come out in input order, and an item that fails to decode raises its
own error (naming its index and path) when its batch is reached: the first
failing item in input order, as without threads.
"""

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from sktransfer._optional import import_optional

__all__ = ["ThreadedBatches", "decode_threads"]

_MAX_THREADS = 4


def decode_threads():
    """Threads decoding in the background: the cores torch's threads leave free.

    At least one (which overlaps decoding with the forward pass even when
    torch uses every core), at most four.
    """
    torch = import_optional("torch")
    free = (os.cpu_count() or 1) - torch.get_num_threads()
    return max(1, min(_MAX_THREADS, free))


class ThreadedBatches:
    """Iterate over ``dataset`` in collated batches decoded by a thread pool.

    ``threads + 1`` batches are decoded ahead of the one being consumed (two
    batches of 32 EfficientNet-Lite0 inputs hold 38 MB).

    Parameters
    ----------
    dataset : sequence
        Indexable items (``dataset[i]`` decodes item ``i``), in output order.
    batch_size : int
    collate_fn : callable, optional
        List of items -> batch; torch's ``default_collate`` by default.
    threads : int, optional
        Pool size; `decode_threads` by default.
    """

    def __init__(self, dataset, batch_size, collate_fn=None, threads=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.collate_fn = collate_fn
        self.threads = threads

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        torch = import_optional("torch")
        collate = self.collate_fn or torch.utils.data.default_collate
        threads = self.threads or decode_threads()
        starts = iter(range(0, len(self.dataset), self.batch_size))
        pool = ThreadPoolExecutor(threads, thread_name_prefix="sktransfer-decode")
        pending = deque()
        try:
            # one batch per thread decoded ahead of the one the network runs
            for _ in range(threads + 1):
                self._submit(pool, pending, starts)
            while pending:
                items = pending.popleft().result()
                self._submit(pool, pending, starts)  # keep the pool busy
                yield collate(items)  # here: a tokenising collate_fn stays serial
        finally:  # a failed item, or the consumer stopped: drop what is queued
            pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, pool, pending, starts):
        start = next(starts, None)
        if start is not None:
            stop = min(start + self.batch_size, len(self.dataset))
            pending.append(pool.submit(self._items, start, stop))

    def _items(self, start, stop):
        return [self.dataset[i] for i in range(start, stop)]

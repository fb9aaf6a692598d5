"""Decode the next images in a background thread while the forward pass runs.

With ``num_workers=0`` the inference loop reads an image dataset through
`DecodeAhead`: one background thread runs the dataset's ``decode`` (Pillow
and NumPy only; Pillow releases the GIL while it decodes) on the items
ahead of the one being read, while the main thread runs the forward pass;
the main thread then does the rest (``finish``: the warnings, the tensor,
the torch preprocessing). So the thread never calls torch (no second
OpenMP pool, ``torch.get_num_threads()`` untouched) and never draws a
random number, and the results are those of the serial loop bit for bit:
the same functions run on the same inputs, only the decode runs earlier.

The DataLoader (``num_workers=0``) still drives the loop, so batching,
collation and its one draw from torch's global random generator per pass
are unchanged: a fine-tuner that embeds before it trains (LP-FT's probe)
trains from the same random state as without the thread.

An item that fails to decode stops the thread; its exception (naming its
index and path) is raised when the loop reaches that item, after every item
before it was served: the order of the serial loop. `DecodeAhead.close`
(also on exit from its ``with`` block, and when it is garbage collected)
stops and joins the thread, whatever stopped the loop.
"""

import threading
from collections import deque

__all__ = ["BYTES_AHEAD", "DecodeAhead"]

# decoded pixels held ahead of the loop, at most (and at least one item):
# full-size float images of large photos are big (12 MP: 144 MB)
BYTES_AHEAD = 256 * 2**20


class _Ahead:
    """The state the decode thread shares with the loop (no reference to the loop)."""

    def __init__(self, decode, n_items, items_ahead, bytes_ahead):
        self.decode = decode
        self.n_items = n_items
        self.items_ahead = max(1, items_ahead)
        self.bytes_ahead = bytes_ahead
        self.ready = deque()  # decoded pixels, in item order
        self.held = 0  # their bytes
        self.error = None  # the exception of the first item that failed
        self.stopped = False
        self.condition = threading.Condition()

    def _full(self):
        return self.ready and (
            len(self.ready) >= self.items_ahead or self.held >= self.bytes_ahead
        )

    def work(self):
        for i in range(self.n_items):
            with self.condition:
                while self._full() and not self.stopped:
                    self.condition.wait()
                if self.stopped:
                    return
            try:
                pixels = self.decode(i)
            except BaseException as exc:  # raised in the loop, at item i
                with self.condition:
                    self.error = exc
                    self.condition.notify_all()
                return
            with self.condition:
                self.ready.append(pixels)
                self.held += getattr(pixels, "nbytes", 0)
                self.condition.notify_all()

    def take(self):
        """The next item's pixels, or its exception raised."""
        with self.condition:
            while not self.ready and self.error is None and not self.stopped:
                self.condition.wait()
            if self.ready:
                pixels = self.ready.popleft()
                self.held -= getattr(pixels, "nbytes", 0)
                self.condition.notify_all()
                return pixels
            if self.error is not None:
                error, self.error = self.error, None
                self.stopped = True
                raise error
            raise RuntimeError("the decode-ahead thread was stopped")

    def stop(self):
        with self.condition:
            self.stopped = True
            self.ready.clear()
            self.held = 0
            self.condition.notify_all()


class DecodeAhead:
    """``dataset[i]`` for ``i = 0, 1, 2, ...``, each decode run ahead in a thread.

    Read in order (as the DataLoader's sequential sampler does), each item
    is ``dataset.finish(i, pixels)`` of ``pixels = dataset.decode(i)``
    decoded in the background; an item read out of order is
    ``dataset[i]``, decoded on the spot.

    Parameters
    ----------
    dataset : Dataset
        With ``decode(i)`` (thread-safe, no torch), ``finish(i, pixels)``,
        ``__getitem__`` and ``__len__``.
    items_ahead : int
        Items decoded ahead of the one being read, at most (two batches:
        the next batch is ready when the forward pass of the current one
        ends).
    bytes_ahead : int, default=BYTES_AHEAD
        Bytes of decoded pixels held ahead, at most (at least one item).
    """

    def __init__(self, dataset, items_ahead, bytes_ahead=BYTES_AHEAD):
        self.dataset = dataset
        self._next = 0
        self._ahead = _Ahead(dataset.decode, len(dataset), items_ahead, bytes_ahead)
        self._thread = threading.Thread(
            target=self._ahead.work, name="sktransfer-decode", daemon=True
        )
        self._thread.start()

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        if i != self._next or self._ahead.stopped:
            return self.dataset[i]
        self._next += 1
        return self.dataset.finish(i, self._ahead.take())

    def close(self):
        """Stop the decode thread and wait for it (the item it decodes ends first)."""
        self._ahead.stop()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        ahead = getattr(self, "_ahead", None)
        if ahead is not None:
            ahead.stop()  # an abandoned reader: let the thread end

"""Embed in chunks; find the bad inputs of a failing chunk by halving it.

The inputs are embedded a chunk at a time (so that an embedder with a
``cache`` stores each chunk as soon as it is done: a run that is stopped
resumes from there), under one progress bar for the whole job. Chunks grow
until each takes about ``target_seconds``, so the cost of a transform call
(starting DataLoader workers, for instance) stays small next to the work,
on a fast GPU as on a CPU, while a stop loses at most about that long. A chunk that
fails is split in halves until the failing inputs are alone; each such input
then either stops the run (``on_error="raise"``: the first one, named by its
position) or is skipped with the error it raised (``"skip"``). Good rows keep
the input order. Only the errors that a bad input raises (``ValueError`` and
``OSError``: undecodable, truncated, unreadable, missing or empty files,
missing texts) are handled so; anything else stops the run as it is.
"""

import re
import time

import numpy as np

__all__ = ["SKIPPABLE", "BadInputError", "EmbedResult", "embed_in_chunks"]

SKIPPABLE = (ValueError, OSError)
_INDEX = re.compile(r" ?\bat index \d+")


class BadInputError(Exception):
    """The input at ``position`` could not be embedded (``on_error="raise"``)."""

    def __init__(self, position, reason):
        super().__init__(reason)
        self.position = position
        self.reason = reason


class EmbedResult:
    """Embeddings of the kept inputs and the reasons for the skipped ones.

    Attributes
    ----------
    embeddings : ndarray of shape (n_kept, dim) or None
        None when no input could be embedded.
    kept : list of int
        Positions (in the input) of the embedded rows, in order.
    skipped : list of (int, str)
        Position and reason of each input left out.
    """

    def __init__(self, embeddings, kept, skipped):
        self.embeddings = embeddings
        self.kept = kept
        self.skipped = skipped


def _reason(exc):
    """The error of a one-input chunk, without its (chunk-relative) index."""
    message = _INDEX.sub("", str(exc)).strip() or type(exc).__name__
    return " ".join(message.split())  # one line, for a TSV field


def embed_in_chunks(
    embedder,
    items,
    *,
    chunk_size,
    on_error="raise",
    progress=None,
    target_seconds=None,
    max_chunk_size=16384,
):
    """Embed ``items`` a chunk at a time; skip or stop at the bad ones.

    Parameters
    ----------
    embedder : fitted ImageEmbedder or TextEmbedder
    items : list
        File paths or texts.
    chunk_size : int
        Inputs per transform call.
    on_error : {"raise", "skip"}
        What a bad input does: raise `BadInputError` naming its position, or
        be left out and listed in the result.
    progress : callable, optional
        Called with the number of inputs done after each chunk.
    target_seconds : float, optional
        Grow the chunks (at most 16x per chunk, up to ``max_chunk_size``)
        until one takes about this long; None keeps ``chunk_size``.
    max_chunk_size : int
        The largest chunk.

    Returns
    -------
    result : EmbedResult
    """
    blocks, kept, skipped = [], [], []

    def embed_span(positions):
        try:
            block = embedder.transform([items[i] for i in positions])
        except SKIPPABLE as exc:
            if len(positions) > 1:
                middle = len(positions) // 2
                embed_span(positions[:middle])
                embed_span(positions[middle:])
            elif on_error == "raise":
                raise BadInputError(positions[0], _reason(exc)) from exc
            else:
                skipped.append((positions[0], _reason(exc)))
            return
        blocks.append(block)
        kept.extend(positions)

    start, size = 0, chunk_size
    while start < len(items):
        positions = list(range(start, min(start + size, len(items))))
        began = time.perf_counter()
        embed_span(positions)
        elapsed = time.perf_counter() - began
        if target_seconds and elapsed > 0:
            wanted = len(positions) * target_seconds / elapsed
            size = int(min(max(size, wanted), 16 * size, max_chunk_size))
        start += len(positions)
        if progress is not None:
            progress(len(positions))
    embeddings = np.concatenate(blocks) if blocks else None
    return EmbedResult(embeddings, kept, skipped)

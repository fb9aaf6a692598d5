"""Embed every input that can be embedded; set the others aside with the reason.

``--on-error skip`` embeds the inputs in chunks, so a bad input costs at most
its chunk. A chunk that fails is split in halves until the failing inputs are
alone; each is then skipped with the error it raised. The good rows keep the
input order. Only the errors that a bad input raises (``ValueError`` and
``OSError``: undecodable, truncated, unreadable, missing or empty files,
missing texts) are skipped; anything else stops the run.
"""

import re

import numpy as np

__all__ = ["SKIPPABLE", "EmbedResult", "embed_all", "embed_skipping"]

SKIPPABLE = (ValueError, OSError)
_INDEX = re.compile(r" ?\bat index \d+")


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


def embed_all(embedder, items):
    """``--on-error raise``: one transform over every input, one progress bar."""
    embeddings = embedder.transform(items)
    return EmbedResult(embeddings, list(range(len(items))), [])


def embed_skipping(embedder, items, *, chunk_size, progress=None):
    """``--on-error skip``: embed what can be embedded, in chunks.

    Parameters
    ----------
    embedder : fitted ImageEmbedder or TextEmbedder
    items : list
        File paths or texts.
    chunk_size : int
        Inputs per transform call.
    progress : callable, optional
        Called with the number of inputs done after each chunk.

    Returns
    -------
    result : EmbedResult
    """
    blocks, kept, skipped = [], [], []

    def embed_span(positions):
        try:
            block = embedder.transform([items[i] for i in positions])
        except SKIPPABLE as exc:
            if len(positions) == 1:
                skipped.append((positions[0], _reason(exc)))
                return
            middle = len(positions) // 2
            embed_span(positions[:middle])
            embed_span(positions[middle:])
            return
        blocks.append(block)
        kept.extend(positions)

    for start in range(0, len(items), chunk_size):
        positions = list(range(start, min(start + chunk_size, len(items))))
        embed_span(positions)
        if progress is not None:
            progress(len(positions))
    embeddings = np.concatenate(blocks) if blocks else None
    return EmbedResult(embeddings, kept, skipped)

"""Top-n ranking of catalogue items for known users (private)."""

import numpy as np

__all__ = []


def top_n(scores, n):
    """Row-wise indices and scores of the ``n`` best finite scores, best first.

    ``scores`` is 2-D; equal scores are ordered by index (ties at the cut-off
    are resolved by ``argpartition``, deterministically). Returns a list of
    (indices, scores) per row; -inf entries (filtered items) are dropped, so a
    row may be shorter than ``n``.
    """
    n = min(n, scores.shape[1])
    if n < scores.shape[1]:
        part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    else:
        part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=-1)
    top = np.take_along_axis(part, order, axis=1)
    top_scores = np.take_along_axis(part_scores, order, axis=1)
    n_valid = (top_scores > -np.inf).sum(axis=1)
    return [(t[:v], s[:v]) for t, s, v in zip(top, top_scores, n_valid, strict=True)]


def rank_known_users(
    user_factors,
    item_factors,
    user_items,
    codes,
    candidates,
    n,
    *,
    filter_seen,
    batch_size=1024,
):
    """Yield (row, top candidate positions, their scores) for each user code.

    ``candidates`` are catalogue positions (None: the whole catalogue); seen
    items (nonzeros of ``user_items``) get -inf and are dropped when
    ``filter_seen``.
    """
    item_f = item_factors if candidates is None else item_factors[candidates]
    for start in range(0, len(codes), batch_size):
        batch = codes[start : start + batch_size]
        scores = user_factors[batch] @ item_f.T
        if filter_seen:
            seen = user_items[batch]
            seen = (seen if candidates is None else seen[:, candidates]).tocoo()
            scores[seen.row, seen.col] = -np.inf
        for offset, (top, top_scores) in enumerate(top_n(scores, n)):
            yield start + offset, top, top_scores

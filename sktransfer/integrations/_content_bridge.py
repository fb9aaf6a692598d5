"""The transfer bridge: item content -> item latent factors, for cold items.

Private helpers of :class:`~sktransfer.integrations.ImplicitRecommender`. An
embedding of each item's content (text through a ``TextEmbedder``, images
through an ``ImageEmbedder``, any transformer, or a precomputed matrix) is
mapped to the collaborative-filtering item factors by a regressor fitted on
the warm items (those with interactions); the regressor then gives factors to
the cold items (content but no interactions).
"""

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone

from sktransfer.integrations._interactions import check_ids, show

__all__ = []


def content_table(item_content):
    """Return ``item_content`` as a Series or DataFrame indexed by item id."""
    if isinstance(item_content, dict):
        item_content = pd.Series(item_content)
    if not isinstance(item_content, pd.Series | pd.DataFrame):
        raise ValueError(
            "item_content must be a pandas Series or DataFrame indexed by item id "
            "(or a dict item id -> content), so that content rows can be matched "
            f"to item ids; got {type(item_content).__name__}. For a precomputed "
            "embedding matrix use pd.DataFrame(matrix, index=item_ids)."
        )
    if len(item_content) == 0:
        raise ValueError("item_content is empty: it must describe at least one item.")
    if not item_content.index.is_unique:
        dup = item_content.index[item_content.index.duplicated()][0]
        raise ValueError(
            f"item_content's index (the item ids) has duplicates, e.g. {show(dup)}."
        )
    return item_content


def content_embedder(est):
    """``est.content_embedder``, or the deprecated ``item_content_encoder``.

    The old name (renamed in 0.1, removed in 0.2) still works for one release:
    its value is used, with a FutureWarning; giving both is an error.
    """
    old = est.item_content_encoder
    if isinstance(old, str) and old == "deprecated":
        return est.content_embedder
    if est.content_embedder is not None:
        raise ValueError(
            "item_content_encoder is the deprecated name of content_embedder; "
            "set only content_embedder."
        )
    warnings.warn(
        "item_content_encoder was renamed content_embedder in 0.1 and will be "
        "removed in 0.2; use content_embedder.",
        FutureWarning,
        stacklevel=5,
    )
    return old


def embed(content, embedder, *, fit):
    """Embed ``content`` rows: through ``embedder`` or as precomputed numbers.

    Returns a 2-D float64 array with one row per content row.
    """
    if embedder is not None:
        emb = embedder.fit_transform(content) if fit else embedder.transform(content)
    elif isinstance(content, pd.DataFrame):
        emb = content.to_numpy()
    else:  # a Series of vectors
        try:
            emb = np.vstack([np.asarray(v, dtype=np.float64) for v in content])
        except (TypeError, ValueError) as exc:
            raise ValueError(
                "item_content holds non-numeric values but content_embedder is "
                "None: set content_embedder (e.g. TextEmbedder() for text) or "
                "pass precomputed embeddings."
            ) from exc
    emb = np.asarray(emb.toarray() if hasattr(emb, "toarray") else emb)
    try:
        emb = emb.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "item_content holds non-numeric values but content_embedder is "
            "None: set content_embedder (e.g. TextEmbedder() for text) or pass "
            "precomputed embeddings."
        ) from exc
    if emb.ndim != 2 or emb.shape[0] != len(content):
        raise ValueError(
            f"The item content embedding must be 2-D with one row per item; got "
            f"shape {emb.shape} for {len(content)} items."
        )
    if not np.isfinite(emb).all():
        raise ValueError("The item content embedding contains NaN or infinity.")
    return emb


def fit_bridge(content_model, embeddings, factors):
    """Fit a clone of ``content_model`` from embeddings to item factors."""
    if content_model is None:
        from sklearn.linear_model import Ridge

        content_model = Ridge(alpha=1.0)
    model = clone(content_model)
    model.fit(embeddings, factors)
    return model


def predict_factors(model, embeddings, n_factors):
    """Item factors predicted from content, as a float32 2-D array."""
    out = np.asarray(model.predict(embeddings), dtype=np.float32)
    return out.reshape(len(embeddings), n_factors)


def split_content(table, warm_index):
    """Split a content table into warm rows (positions in ``warm_index``) and cold.

    Returns
    -------
    warm_positions : ndarray of int
        Codes, in ``warm_index``, of the warm items that have content.
    warm_rows, cold_rows : ndarray of int
        Row positions in ``table`` of warm and cold items.
    """
    codes = np.asarray(warm_index.get_indexer(table.index), dtype=np.intp)
    warm_rows = np.flatnonzero(codes >= 0)
    cold_rows = np.flatnonzero(codes < 0)
    return codes[warm_rows], warm_rows, cold_rows


def fit_content_bridge(est, table, embedder):
    """Fit ``est``'s content embedder and content model; add its cold items.

    Sets ``content_embedder_`` and ``content_model_`` on the fitted
    recommender ``est`` and appends the content items absent from the
    interactions to its catalogue.
    """
    warm_codes, warm_rows, cold_rows = split_content(table, pd.Index(est.items_))
    if len(warm_rows) == 0:
        raise ValueError(
            "No item of item_content occurs in the interactions, so the content "
            "model has no warm item to learn from; check that the item ids have "
            "the same type (e.g. str vs int)."
        )
    est.content_embedder_ = None if embedder is None else clone(embedder)
    emb = embed(table, est.content_embedder_, fit=True)
    est.content_model_ = fit_bridge(
        est.content_model, emb[warm_rows], est.item_factors_[warm_codes]
    )
    if len(cold_rows):
        append_items(est, table.index.to_numpy()[cold_rows], emb[cold_rows])


def _concat_ids(a, b):
    if a.dtype != b.dtype:
        a, b = a.astype(object), b.astype(object)
    return np.concatenate([a, b])


def append_items(est, ids, embeddings):
    """Append items to ``est``'s catalogue with factors predicted from content."""
    factors = predict_factors(
        est.content_model_, embeddings, est.item_factors_.shape[1]
    )
    ids = check_ids(ids, "item")
    est.items_ = _concat_ids(est.items_, ids)
    est.cold_items_ = _concat_ids(est.cold_items_, ids)
    est.item_factors_ = np.vstack([est.item_factors_, factors])
    est.item_popularity_ = np.concatenate(
        [est.item_popularity_, np.zeros(len(ids), dtype=np.int64)]
    )
    m = est.user_items_
    est.user_items_ = sp.csr_matrix(
        (m.data, m.indices, m.indptr), shape=(m.shape[0], len(est.items_))
    )

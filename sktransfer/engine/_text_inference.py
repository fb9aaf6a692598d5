"""Length-sorted text inference, as sentence-transformers' ``encode`` does it.

The one place that sorts texts by length: the embedders (modules that map
strings to a tensor), the fine-tuners (their tokenised sentence encoders) and
the exported-graph runner all batch texts through it.
"""

import numpy as np

from sktransfer.engine._inference import run_inference

__all__ = ["encode_length_sorted", "length_order", "run_text_inference"]


def length_order(texts):
    """Positions of ``texts``, longest first (ties keep their input order).

    Batches of texts of similar length pad little, so a sorted pass is
    faster than one in input order.

    Parameters
    ----------
    texts : sequence of str

    Returns
    -------
    order : ndarray of int
        ``texts[order[0]]`` is the longest text.
    """
    return np.argsort([-len(text) for text in texts], kind="stable")


def encode_length_sorted(texts, encode):
    """``encode`` run once over the distinct texts, longest first, rows in input order.

    Parameters
    ----------
    texts : sequence of str
        The inputs, possibly repeated.
    encode : callable
        List of str (distinct, sorted longest first) -> 2-D array with one
        row per text, in that order.

    Returns
    -------
    out : ndarray of shape (len(texts), n_features)
        Row ``i`` is the encoding of ``texts[i]``; identical texts share
        one computation.
    """
    first = {}
    inverse = np.fromiter(
        (first.setdefault(text, len(first)) for text in texts),
        dtype=np.intp,
        count=len(texts),
    )
    distinct = list(first)
    order = length_order(distinct)
    sorted_out = np.asarray(encode([distinct[i] for i in order]))
    out = np.empty_like(sorted_out)
    out[order] = sorted_out
    return out[inverse]


def run_text_inference(
    module,
    texts,
    *,
    batch_size,
    device,
    precision="fp32",
    collate_fn=list,
    verbose=0,
    desc="embedding texts",
):
    """Embed ``texts`` with ``module`` in length-sorted batches, in input order.

    sentence-transformers' ``encode`` convention on top of the one inference
    loop (`sktransfer.engine._inference.run_inference`: eval mode, inference
    mode, each batch's output moved to the CPU): each distinct text is
    computed once, the texts are batched longest first, and the rows come
    back in input order.

    Parameters
    ----------
    module : torch.nn.Module
        Called on ``collate_fn(list of str)``.
    texts : sequence of str
    batch_size : int
    device : torch.device
    precision : {"fp32", "bf16", "fp16"}
    collate_fn : callable, default=list
        List of str -> the module's batch (``list`` keeps the strings; a
        tokenizer gives tensors).
    verbose : "auto", bool or int
        Progress bar, as in `run_inference`.
    desc : str
        Progress bar label.

    Returns
    -------
    outputs : ndarray of shape (len(texts), n_features), dtype float32
    """

    def encode(sorted_texts):
        return run_inference(
            module,
            sorted_texts,
            batch_size=batch_size,
            device=device,
            precision=precision,
            collate_fn=collate_fn,
            verbose=verbose,
            desc=desc,
        )

    return encode_length_sorted(list(texts), encode)

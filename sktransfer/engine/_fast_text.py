"""Tokenisation with the ``tokenizers`` library alone, equal to the model's own.

The torch-free fast start runs an exported sentence-transformers graph on
the token tensors a `FastTokenizer` makes: the model's fast tokenizer (its
``backend_tokenizer``, saved as JSON when the record is written), with the
padding and truncation that ``transformers`` applies at each call (pad to
the longest text, ``longest_first`` truncation at ``max_seq_length``, the
tokenizer's pad token and sides). sentence-transformers' preprocessing has
many model-dependent branches (chat templates, flattening, query
expansion), so nothing is assumed: `same_features` compares the two on
probe texts (the prompt, long texts past the limit, whitespace, accents,
emoji) and a record is written only when every tensor is equal.
"""

import numpy as np

from sktransfer._optional import import_optional

__all__ = ["FastTokenizer", "same_features", "tokenizer_settings"]

_PROBES = (
    "A fairly long sentence, with punctuation and several words, to check padding.",
    "Short one.",
    "",
    "   leading and trailing spaces   ",
    "Tabs\tand\nnew lines; UPPER lower MiXeD case.",
    "Crème brûlée, naïve café, 東京タワー, emoji 🙂👍, and ﬁ ligatures.",
)


def tokenizer_settings(model, names):
    """What a `FastTokenizer` needs from a sentence-transformers model, or None.

    Parameters
    ----------
    model : SentenceTransformer
    names : list of str
        The exported graph's input names.

    Returns
    -------
    settings : dict or None
        None when the model has no fast (``tokenizers``-backed) tokenizer.
    tokenizer_json : str or None
        The backend tokenizer, serialised.
    """
    tokenizer = getattr(model[0], "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "to_str"):
        return None, None
    max_length = getattr(model[0], "max_seq_length", None)
    settings = {
        "names": list(names),
        "max_length": None if max_length is None else int(max_length),
        "truncation_side": str(tokenizer.truncation_side),
        "padding_side": str(tokenizer.padding_side),
        "pad_id": tokenizer.pad_token_id,
        "pad_type_id": int(getattr(tokenizer, "pad_token_type_id", 0) or 0),
        "pad_token": tokenizer.pad_token,
    }
    if settings["pad_id"] is None or settings["pad_token"] is None:
        return None, None
    return settings, backend.to_str()


class FastTokenizer:
    """Token tensors for the exported graph, from the ``tokenizers`` library.

    Parameters
    ----------
    tokenizer_json : str
        The serialised backend tokenizer.
    settings : dict
        From `tokenizer_settings`.
    """

    def __init__(self, tokenizer_json, settings):
        tokenizers = import_optional("tokenizers")
        tokenizer = tokenizers.Tokenizer.from_str(tokenizer_json)
        tokenizer.no_padding()
        tokenizer.no_truncation()
        if settings["max_length"] is not None:
            tokenizer.enable_truncation(
                max_length=settings["max_length"],
                stride=0,
                strategy="longest_first",
                direction=settings["truncation_side"],
            )
        tokenizer.enable_padding(
            direction=settings["padding_side"],
            pad_id=settings["pad_id"],
            pad_type_id=settings["pad_type_id"],
            pad_token=settings["pad_token"],
        )
        self.tokenizer = tokenizer
        self.names = list(settings["names"])

    def __call__(self, texts, prompt=None):
        """``{input name: int64 array (n_texts, n_tokens)}`` of ``texts``."""
        if prompt:
            texts = [prompt + text for text in texts]
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        fields = {
            "input_ids": "ids",
            "attention_mask": "attention_mask",
            "token_type_ids": "type_ids",
        }
        return {
            name: np.asarray(
                [getattr(encoding, fields[name]) for encoding in encodings],
                dtype=np.int64,
            )
            for name in self.names
        }


def same_features(model, fast, prompt=None):
    """Whether ``fast`` gives the model's own token tensors on the probe texts.

    Parameters
    ----------
    model : SentenceTransformer
    fast : FastTokenizer
    prompt : str, optional

    Returns
    -------
    same : bool
    """
    from sktransfer.engine._runners import _sentence_features

    limit = fast.tokenizer.truncation
    words = (limit or {}).get("max_length", 512) + 16
    long_text = " ".join(f"word{i % 7}" for i in range(min(words, 100_000)))
    for batch in (list(_PROBES) + [long_text], [long_text], _PROBES[:2]):
        expected = _sentence_features(model, batch, prompt)
        got = fast(batch, prompt)
        if set(expected) != set(got):
            return False
        for name, tensor in expected.items():
            if not np.array_equal(tensor.numpy().astype(np.int64), got[name]):
                return False
    return True

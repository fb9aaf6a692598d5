"""What the embedders call when a runtime other than torch runs the forward pass.

`TensorRunner` stands in for a module taking one tensor batch (images,
numeric rows): the inference loop calls it like the torch module.
`SentenceRunner` stands in for a sentence-transformers model: it has the
``encode`` the text embedder calls, with the same length sorting, and
tokenises in Python before running the exported graph.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sktransfer._optional import import_optional

__all__ = ["Graph", "SentenceRunner", "TensorRunner", "graph_of"]

_TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_PROBE_TEXTS = (
    "A fairly long sentence, with punctuation and several words, to check padding.",
    "Short one.",
    "Mid-length text: numbers 12 and 3.5.",
)


class TensorRunner:
    """A runtime session called like a module on one tensor batch.

    Parameters
    ----------
    runtime : Runtime
        The loaded session; its graph has one input named ``"x"``.
    """

    def __init__(self, runtime):
        self.runtime = runtime

    def eval(self):
        return self

    def __call__(self, batch):
        torch = import_optional("torch")
        array = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        return torch.from_numpy(self.runtime.run({"x": array}))


def _sentence_features(model, texts, prompt=None):
    features = model.preprocess(list(texts), prompt=prompt)
    return {name: features[name] for name in _TEXT_INPUTS if name in features}


def _sentence_module(model, names):
    """The exportable part of a sentence-transformers model: tensors -> features."""
    torch = import_optional("torch")

    class SentenceGraph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            features = dict(zip(names, tensors, strict=True))
            return self.model(features)["sentence_embedding"]

    return SentenceGraph().eval()


@dataclass
class Graph:
    """What to export for a model and how to check and call the result.

    Attributes
    ----------
    module : torch.nn.Module
        Called as ``module(*example.values())``.
    example : dict of str to torch.Tensor
        Example inputs for the export, by input name.
    dynamic_axes : dict
        Axes that vary, by input name.
    probe : dict of str to ndarray
        Inputs (of other shapes than the example) compared with torch.
    reference : ndarray
        Torch fp32 features of the probe.
    make_runner : callable
        Loaded runtime -> what the embedder calls.
    """

    module: object
    example: dict
    dynamic_axes: dict
    probe: dict
    reference: np.ndarray
    make_runner: Callable


class SentenceRunner:
    """``encode`` of a sentence-transformers model through an exported graph.

    Texts are sorted by length (longest first) as ``SentenceTransformer.encode``
    does, tokenised in batches by the model's own ``preprocess`` (prompt and
    ``max_seq_length`` included), run through the graph (transformer, pooling
    and any normalisation inside it), and returned in input order.

    Parameters
    ----------
    model : SentenceTransformer or None
        The torch model (for its tokeniser); None with ``tokenize``.
    runtime : Runtime
        The loaded session.
    names : list of str
        The graph's input names.
    tokenize : callable, optional
        ``tokenize(texts, prompt)`` -> ``{name: int64 array}``, used instead
        of the model's ``preprocess`` (the torch-free fast start's
        `sktransfer.engine._fast_text.FastTokenizer`).
    """

    def __init__(self, model, runtime, names, tokenize=None):
        self.model = model
        self.runtime = runtime
        self.names = list(names)
        self.tokenize = tokenize

    def _features(self, texts, prompt):
        if self.tokenize is not None:
            return self.tokenize(texts, prompt)
        features = _sentence_features(self.model, texts, prompt)
        return {name: features[name].numpy().astype(np.int64) for name in self.names}

    def eval(self):
        return self

    def encode(
        self, texts, *, batch_size=32, prompt=None, show_progress_bar=False, **_
    ):
        from sktransfer.engine._progress import progress
        from sktransfer.engine._text_inference import length_order

        order = length_order(texts)
        starts = range(0, len(texts), batch_size)
        out = None
        for start in progress(
            starts,
            total=len(starts),
            desc="embedding texts",
            verbose=bool(show_progress_bar),  # already decided by the embedder
        ):
            chunk = [texts[i] for i in order[start : start + batch_size]]
            features = self._features(chunk, prompt)
            result = self.runtime.run({name: features[name] for name in self.names})
            if out is None:
                out = np.empty((len(texts), result.shape[1]), dtype=np.float32)
            out[order[start : start + batch_size]] = result
        if out is None:
            return np.empty((0, 0), dtype=np.float32)
        return out


def graph_of(model, modality, prompt=None, example_shape=None):
    """The `Graph` to export for ``model``, or None when it cannot be exported.

    Image (and other tensor) models take one ``"x"`` input with a dynamic
    batch axis; sentence-transformers models take their tokeniser's tensors
    with dynamic batch and token axes. Text modules that map strings to
    tensors themselves cannot be exported.
    """
    torch = import_optional("torch")
    if modality == "text":
        if not (hasattr(model, "preprocess") and hasattr(model, "encode")):
            return None
        pooling_off = any(getattr(m, "include_prompt", True) is False for m in model)
        if prompt and pooling_off:
            return None  # prompt tokens left out of the pooling: not in the graph
        names = list(_sentence_features(model, _PROBE_TEXTS[:1]))
        module = _sentence_module(model, names)
        example = _sentence_features(model, _PROBE_TEXTS[:2], prompt)
        probe = _sentence_features(model, _PROBE_TEXTS, prompt)
        with torch.inference_mode():
            reference = module(*probe.values()).float().numpy()
        return Graph(
            module,
            example,
            {name: {0: "batch", 1: "tokens"} for name in names},
            {k: v.numpy().astype(np.int64) for k, v in probe.items()},
            reference,
            lambda runtime: SentenceRunner(model, runtime, names),
        )
    generator = torch.Generator().manual_seed(0)
    example = torch.randn((2, *example_shape), generator=generator)
    probe = torch.randn((3, *example_shape), generator=generator)
    with torch.inference_mode():
        reference = model(probe).float().numpy()
    return Graph(
        model,
        {"x": example},
        {"x": {0: "batch"}},
        {"x": probe.numpy()},
        reference,
        TensorRunner,
    )

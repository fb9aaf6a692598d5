"""`TextEmbedder`: a frozen pretrained sentence encoder as a transformer."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

from sktransfer.embed._base import BaseEmbedder
from sktransfer.embed._fast import FastStartMixin
from sktransfer.embed._runtime import (
    RUNTIME_CONSTRAINTS,
    RuntimeMixin,
    with_runtime_doc,
)
from sktransfer.engine._device import autocast
from sktransfer.engine._keys import text_cache_key
from sktransfer.engine._progress import show_progress
from sktransfer.io import check_text_input

__all__ = ["TextEmbedder"]


@with_runtime_doc
class TextEmbedder(FastStartMixin, RuntimeMixin, BaseEmbedder):
    """Embed texts with a frozen pretrained sentence-transformers model.

    Wraps :meth:`sentence_transformers.SentenceTransformer.encode` (eval mode,
    inference mode, length-sorted batches, results moved to the CPU batch by
    batch, input order restored). Each distinct string is embedded once per
    call, so a column with repeated values costs only its distinct values.

    Parameters
    ----------
    backbone : str, BackboneSpec or torch.nn.Module, default="all-MiniLM-L6-v2"
        A registry name (see `sktransfer.list_backbones`), a
        sentence-transformers id (``"sentence-transformers/all-mpnet-base-v2"``,
        downloaded when online) or folder, a spec, or a module mapping a list
        of strings to a tensor. The default works offline.
    batch_size : int or "auto", default="auto"
        Texts per forward pass. ``"auto"``: 32 on CUDA; on the CPU the size
        measured fastest for all-MiniLM-L6-v2 on the runtime in use (16 on
        torch and OpenVINO, 8 on ONNX Runtime; see
        ``benchmarks/results/batch_size.md``). ``batch_size_`` gives the
        value used.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    <runtime and precision>
    normalize : bool, default=False
        L2-normalise each embedding.
    max_length : int, default=None
        Truncate texts to this many tokens; ``None`` keeps the model's own
        limit.
    prompt : str, default=None
        Text prepended to every input (e.g. ``"query: "`` for models trained
        with prompts).
    cache : str, Path, joblib.Memory or EmbeddingCache, default=None
        Keep embeddings on disk, keyed by the backbone fingerprint and each
        string, so repeated CV folds, grid points, processes and sessions never
        recompute them. Read at every transform: ``set_params(cache=...)``
        takes effect without refitting. A failed write (disk full, read-only
        folder) warns once and returns the embeddings.
    compile : bool or dict, default=False
        Run the forward pass through :func:`torch.compile` (``True``: its
        defaults; a dict: its keyword arguments, e.g. ``{"mode":
        "max-autotune", "dynamic": True}``). The first transform pays the
        compilation (about a minute for EfficientNet-Lite0 on 2 CPU cores,
        and again for new input shapes); later ones run the compiled code,
        shared by every estimator with the same backbone and options in the
        process (measured on 2 CPU cores: 1.5x the eager speed for
        EfficientNet-Lite0, no gain for MiniLM; see
        ``benchmarks/results/compile_check.md``). Outputs equal the
        eager ones up to float rounding, so the fingerprint and cache entries
        are the same. If compilation fails (e.g. no C compiler for the
        inductor backend), a ``RuntimeWarning`` says why and the model runs
        uncompiled. Never stored in a pickle: compiled again after loading.
    store_weights_in_pickle : bool, default=False
        By default a pickle stores the backbone by reference (its name) and
        reloads the weights on first use; ``True`` embeds the weights.
    verbose : "auto", bool or int, default="auto"
        Progress bar ("embedding texts"). With "auto", shown when the job is
        long (8 batches or more) and someone watches (a terminal or a
        notebook; never in joblib or Dask workers, nor when the ``CI``
        variable is set); 0 or False never, True or any other int always.

    Attributes
    ----------
    embedding_dim_ : int
        Number of output features.
    runtime_ : {"torch", "onnx", "openvino"}
        The runtime that runs the forward pass.
    batch_size_ : int
        The batch size used (``batch_size``, or what ``"auto"`` resolved
        to at fit).
    fingerprint_ : str
        Hash of backbone, weights, max_length, prompt and precision.
    n_features_in_ : int
        The width of numeric input, for numeric toy backbones only; not set
        for texts (as for scikit-learn's text vectorizers).
    feature_names_in_ : ndarray of str
        The column name, when fitted on a one-column DataFrame.

    See Also
    --------
    ImageEmbedder : The same for images.

    Notes
    -----
    ``fit`` learns nothing from the data: it validates the parameters and the
    input (strings only: None, NaN and other objects are rejected with their
    position) and loads the frozen weights.

    Examples
    --------
    >>> from sktransfer import TextEmbedder
    >>> texts = ["a good film", "a bad film", "a good film"]
    >>> embedder = TextEmbedder(backbone="toy-text").fit(texts)
    >>> Z = embedder.transform(texts)
    >>> Z.shape, bool((Z[0] == Z[2]).all())
    ((3, 16), True)
    """

    _modality = "text"
    _fast_start = True  # see sktransfer.embed._fast (not inherited)
    _model_params = ("backbone", "max_length", "prompt")

    _parameter_constraints = {
        **BaseEmbedder._parameter_constraints,
        **RUNTIME_CONSTRAINTS,
        "max_length": [None, Interval(Integral, 1, None, closed="left")],
        "prompt": [None, str],
    }

    def __init__(
        self,
        backbone="all-MiniLM-L6-v2",
        *,
        batch_size="auto",
        device="auto",
        runtime="auto",
        precision="auto",
        normalize=False,
        max_length=None,
        prompt=None,
        cache=None,
        compile=False,
        store_weights_in_pickle=False,
        verbose="auto",
    ):
        self.backbone = backbone
        self.batch_size = batch_size
        self.device = device
        self.runtime = runtime
        self.precision = precision
        self.normalize = normalize
        self.max_length = max_length
        self.prompt = prompt
        self.cache = cache
        self.compile = compile
        self.store_weights_in_pickle = store_weights_in_pickle
        self.verbose = verbose

    def _fingerprint_options(self):
        return {
            **super()._fingerprint_options(),
            "max_length": self.max_length,
            "prompt": self.prompt,
        }

    def _wrap_model(self, model, spec):
        if self.max_length is not None and hasattr(model, "max_seq_length"):
            model.max_seq_length = self.max_length
        return model

    def _check_raw(self, X):
        texts, _ = check_text_input(X)
        return texts

    def _item_key(self, items, index):
        return items[index]

    def _cache_key(self, items, index):
        return text_cache_key(items[index])

    def _embed_raw(self, items, positions, verbose=None):
        if self.__dict__.get("_fast") is not None:
            return self._fast_embed(items, positions, verbose)
        texts = [items[p] for p in positions]
        verbose = self.verbose if verbose is None else verbose
        if hasattr(self._runner, "encode"):
            return self._encode_sentence_transformer(texts, verbose)
        return self._encode_module(texts, verbose)

    def _encode_sentence_transformer(self, texts, verbose):
        with autocast(self._device, self._precision):
            out = self._runner.encode(
                texts,
                batch_size=self._batch_size(),
                convert_to_numpy=True,
                normalize_embeddings=False,
                prompt=self.prompt,
                show_progress_bar=show_progress(
                    verbose, -(-len(texts) // self._batch_size())
                ),
                device=str(self._device),
            )
        return np.asarray(out, dtype=np.float32)

    def _encode_module(self, texts, verbose):
        """Length-sorted batches through a module mapping strings to a tensor."""
        from sktransfer.engine._text_inference import run_text_inference

        if self.prompt:
            texts = [self.prompt + text for text in texts]
        return run_text_inference(
            self._runner,
            texts,
            batch_size=self._batch_size(),
            device=self._device,
            precision=self._precision,
            verbose=verbose,
        )

"""What the embedders share: fit = load the frozen backbone, transform = run it."""

import os
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from sktransfer._fitting import restore_on_failure
from sktransfer._optional import import_optional
from sktransfer.backbones._checkpoint import load_weights, save_weights
from sktransfer.backbones._keras import pack_keras_backbone, unpack_keras_backbone
from sktransfer.engine._cache import as_cache
from sktransfer.engine._compile import compile_options
from sktransfer.engine._device import PRECISIONS
from sktransfer.engine._keys import still_holds
from sktransfer.engine._raw_inputs import RawInputMixin

__all__ = ["BaseEmbedder"]


class BaseEmbedder(
    RawInputMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Base class of the embedders; subclasses say how raw inputs are read.

    Subclasses set ``_modality`` and implement ``_check_raw(X)`` (validation,
    returning the items) and ``_embed_raw(items, positions)`` (embedding the
    distinct items at ``positions``). Spec resolution, the input column, the
    probe of the output width and the input tags are the raw-input core
    shared with the fine-tuners (`sktransfer.engine._raw_inputs`).
    """

    # parameters that change the model: transform refuses to run if they
    # changed since fit
    _model_params = ("backbone",)

    _parameter_constraints = {
        "backbone": [str, object],
        "batch_size": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "device": [str, object],
        "precision": [StrOptions(set(PRECISIONS))],
        "normalize": ["boolean"],
        "cache": [None, str, os.PathLike, object],
        "compile": ["boolean", dict],
        "store_weights_in_pickle": ["boolean"],
        "verbose": ["verbose", StrOptions({"auto"})],
    }

    # -- fitting -----------------------------------------------------------
    @restore_on_failure
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Load the pretrained backbone and check the input format.

        The backbone is frozen: nothing is learned from ``X``. ``fit`` checks
        the parameters and that ``X`` is a valid collection of inputs (without
        decoding or embedding it), records its column name, and loads the
        weights.

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the embedder takes.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted embedder.
        """
        if self._fast_fit(X):  # a cached export answers without torch
            return self
        spec = self._resolve_spec()
        if spec.modality == "numeric":
            X = validate_data(self, X, dtype=np.float32, reset=True)
        else:
            self._check_raw(X)
            self._record_column(X)
        self._spec = spec
        self.__dict__.pop("_cache_for", None)  # the spec changed: decide again
        self._current_cache()  # an invalid cache fails here, an unusable one warns
        compile_options(self.compile)  # unknown torch.compile options fail here
        self.fingerprint_ = self._load_model()
        self._fitted_params = {name: getattr(self, name) for name in self._model_params}
        return self

    def _fast_fit(self, X):
        """Fit without loading the model; see `sktransfer.embed._fast`."""
        return False

    def _fingerprint_options(self):
        return {"precision": self._precision}

    def _load_model(self):
        """Load the module into ``self._model`` (shared per process) and probe it.

        Backbones given by name are loaded once per process and fingerprint
        (see `sktransfer.engine._shared`); modules and specs given as objects
        are built for this estimator alone. ``self._runner`` is what the
        forward passes call: the model itself, or a compiled copy of it when
        ``compile`` is set (shared per process too, under its own key, so
        compiled and eager estimators never swap models). Compilation does
        not change the fingerprint: the outputs are the same up to float
        rounding, so compiled and eager estimators share cache entries.
        """
        from sktransfer.engine._device import resolve_device, resolve_precision
        from sktransfer.engine._shared import shared_model

        spec = getattr(self, "_spec", None) or self._resolve_spec()
        self._spec = spec
        self._device = resolve_device(self.device)
        self._precision = resolve_precision(self.precision, self._device)
        fingerprint = spec.fingerprint(**self._fingerprint_options())

        blob = self.__dict__.pop("_weights", None)  # unpickled with its weights

        def load():
            kwargs = (
                {"n_features": self.n_features_in_}
                if spec.modality == "numeric"
                else {}
            )
            if blob is None:
                model = self._wrap_model(spec.build(**kwargs), spec)
            else:
                model = self._wrap_model(_architecture(spec, kwargs), spec)
                load_weights(model, blob)
            model = model.to(self._device).eval()
            for parameter in model.parameters():
                parameter.requires_grad_(False)
            if self._channels_last(spec):
                model = model.to(memory_format=import_optional("torch").channels_last)
            return model

        shared = (
            isinstance(self.backbone, str) and spec.modality != "numeric" and not blob
        )
        key = (fingerprint, str(self._device))
        self._model = shared_model(key, load) if shared else load()
        self._runner = self._model  # probe eagerly: compile at the first transform
        self.embedding_dim_ = self._output_dim(spec, self._model, self._run_probe)
        self._runner = self._make_runner(key if shared else None)
        return fingerprint

    def _make_runner(self, shared_key=None):
        """The module the forward passes call: ``_model``, or a compiled copy."""
        from sktransfer.engine._compile import compile_key, compiled_copy
        from sktransfer.engine._shared import shared_model

        options = compile_options(self.compile)
        if options is None:
            return self._model
        if shared_key is None:
            return compiled_copy(self._model, options)
        return shared_model(
            (*shared_key, "compiled", compile_key(options)),
            lambda: compiled_copy(self._model, options),
        )

    def _channels_last(self, spec):
        """Convnets run faster with channels-last tensors (oneDNN on CPU, cuDNN on CUDA)."""
        return spec.modality == "image"

    def _wrap_model(self, model, spec):
        return model

    def _run_probe(self, probe):
        """The embedding of the probe input (no progress bar of its own)."""
        if self._spec.modality == "numeric":
            return self._embed_numeric(probe)
        return self._embed_raw(probe, [0], verbose=0)

    @property
    def _n_features_out(self):
        return self.embedding_dim_

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Raw inputs from a named column (a one-column DataFrame, or the column
        a ColumnTransformer hands over) give ``<column>_0 .. <column>_{d-1}``,
        as skrub names its text encodings; other inputs give
        ``<classname>0 .. <classname>{d-1}``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            The input column name; defaults to ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per embedding dimension.
        """
        check_is_fitted(self, "embedding_dim_")
        names = _check_feature_names_in(self, input_features, generate_names=False)
        raw = "n_features_in_" not in vars(self)
        if raw and names is not None and len(names) == 1:
            prefix = f"{names[0]}_"
        else:
            prefix = type(self).__name__.lower()
        return np.asarray(
            [f"{prefix}{i}" for i in range(self.embedding_dim_)], dtype=object
        )

    # -- transforming ------------------------------------------------------
    def _check_unchanged(self):
        check_is_fitted(self)
        changed = [
            name
            for name, value in self._fitted_params.items()
            if getattr(self, name) is not value and getattr(self, name) != value
        ]
        if changed:
            raise ValueError(
                f"parameter(s) {changed} changed since fit; call fit again so that "
                f"the backbone is reloaded"
            )

    def _get_model(self):
        self._check_unchanged()
        if getattr(self, "_spec", None) is None:
            self._spec = self._resolve_spec()
        if getattr(self, "_model", None) is None:
            self._load_model()
        elif self.__dict__.get("_runner") is None:  # unpickled with its weights
            self._runner = self._make_runner()
        return self._runner

    def transform(self, X):
        """Embed ``X`` with the frozen backbone.

        Parameters
        ----------
        X : array-like or sequence
            Inputs of the kind the embedder takes.

        Returns
        -------
        X_out : ndarray of shape (n_samples, embedding_dim_), dtype float32
            One embedding per input, in input order; L2-normalised rows when
            ``normalize=True``.
        """
        self._get_model()
        if self._input_modality() == "numeric":
            X = validate_data(self, X, dtype=np.float32, reset=False)
            out = self._embed_numeric(X)
        else:
            self._check_column(X)
            items = self._check_raw(X)
            out = self._embed_distinct(items)
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.maximum(norms, np.finfo(np.float32).tiny)
        return out.astype(np.float32, copy=False)

    def _embed_distinct(self, items):
        """Embed each distinct item once (or read it from the cache), keep order."""
        first, inverse = {}, np.empty(len(items), dtype=np.intp)
        for index in range(len(items)):
            key = self._item_key(items, index)
            inverse[index] = first.setdefault(key, len(first))
        positions = [0] * len(first)
        for index in range(len(items) - 1, -1, -1):
            positions[inverse[index]] = index
        cache = self._current_cache()
        if cache is None:
            return self._embed_raw(items, positions)[inverse]
        keys = [self._cache_key(items, p) for p in positions]
        cached, found = cache.get(self.fingerprint_, [k or "" for k in keys])
        missing = [i for i, hit in enumerate(found) if not hit]
        if missing:
            computed = self._embed_raw(items, [positions[i] for i in missing])
            if cached is None:
                cached = np.empty((len(positions), computed.shape[1]), dtype=np.float32)
            cached[missing] = computed
            storable = [
                i
                for i in missing
                if keys[i] and still_holds(keys[i], items[positions[i]])
            ]
            cache.put(
                self.fingerprint_,
                [keys[i] for i in storable],
                cached[storable],
            )
        return cached[inverse]

    def _current_cache(self):
        """The `EmbeddingCache` of the current ``cache`` parameter, or None.

        Resolved at every transform, so ``set_params(cache=...)`` after fit
        takes effect; the object is reused while the parameter is unchanged
        (so a failed write warns once). None, with a warning, when the backbone
        has no stable fingerprint.
        """
        param = self.cache
        resolved = self.__dict__.get("_cache_for")
        if resolved is not None and (
            resolved[0] is param
            or (isinstance(param, (str, os.PathLike)) and resolved[0] == param)
        ):
            return resolved[1]
        cache = as_cache(param)
        cacheable, reason = self._cacheable() if cache is not None else (True, None)
        if not cacheable:
            warnings.warn(
                f"{type(self).__name__}: running without the cache: {reason}",
                UserWarning,
                stacklevel=3,
            )
            cache = None
        self._cache_for = (param, cache)
        return cache

    def _input_modality(self):
        return self._spec.modality

    def _cacheable(self):
        """Whether the backbone's fingerprint is stable, and why not."""
        spec = self.__dict__.get("_spec") or self._resolve_spec()
        return spec.cacheable, spec.uncacheable_reason

    def _cache_key(self, items, index):
        """Content key of one item for the cache (None: do not cache it)."""
        return None

    def _item_key(self, items, index):
        return index

    def _embed_numeric(self, X):
        from sktransfer.engine._data import TensorRowsDataset
        from sktransfer.engine._inference import run_inference

        return run_inference(
            self._runner,
            TensorRowsDataset(np.ascontiguousarray(X, dtype=np.float32)),
            batch_size=self._batch_size(),
            device=self._device,
            precision=self._precision,
            verbose=self.verbose,
        )

    # -- persistence -------------------------------------------------------
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: pickling never changes self
        model = state.pop("_model", None)
        state.pop("_runner", None)  # a compiled copy never goes in the pickle
        state.pop("_spec", None)
        state.pop("_device", None)
        if self.store_weights_in_pickle and model is not None:
            # bytes of a torch.save checkpoint of CPU tensors, not a module:
            # read back with weights_only=True, and storable by skops
            state["_weights"] = save_weights(model, model.state_dict())
        return pack_keras_backbone(state)

    def __setstate__(self, state):
        super().__setstate__(unpack_keras_backbone(state))
        if self.__dict__.get("_weights") is not None:
            self._load_model()  # the weights travelled: rebuild the model now

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


def _architecture(spec, kwargs):
    """The backbone's module without reading pretrained weights, when possible.

    timm and torchvision architectures are built empty (the stored weights are
    loaded next); other builders (toy backbones, modules, sentence-transformers
    folders) build as usual.
    """
    if spec.family in ("timm", "torchvision"):
        return spec.build(pretrained=False, **kwargs)
    return spec.build(**kwargs)

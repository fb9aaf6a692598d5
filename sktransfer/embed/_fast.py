"""The torch-free fast start of the embedders: run a cached export directly.

On the normal path, ``fit`` imports torch (and timm or
sentence-transformers), loads the weights, exports or reuses the exported
graph and checks it against torch: seconds, even when the export is
cached. When the graph was exported and checked before for exactly this
configuration, a record beside it (`sktransfer.engine._fast_record`) lets
``fit`` skip all of that: it loads the OpenVINO or ONNX Runtime session
from the export, and ``transform`` preprocesses with NumPy and Pillow
(`sktransfer.engine._fast_image`) or tokenises with the ``tokenizers``
library (`sktransfer.engine._fast_text`). Records are written only where
that preprocessing was checked equal to the torch one, for the estimator
classes that opt in (``_fast_start = True``, not inherited by subclasses),
and only for parameter values it honours (``compile`` off, weights not
stored in the pickle, a registered offline backbone or a local
sentence-transformers folder, every parameter value plain JSON).

After a fast ``fit``, the fitted attributes are those the normal path sets;
pickling, ``set_params`` and refitting work as usual, and whatever needs the
torch model loads it then.
"""

import dataclasses
import sys
import types
from pathlib import Path

import numpy as np

from sktransfer.backbones._sources import source_files, source_key
from sktransfer.engine._fast_record import (
    Unkeyable,
    canonical,
    environment,
    file_identity,
    find_record,
    gpu_visible,
    mode,
    read_record,
    write_record,
)

__all__ = ["FastStartMixin"]

_CPU = types.SimpleNamespace(type="cpu")
_FITTED = ("fingerprint_", "embedding_dim_", "runtime_", "batch_size_")


@dataclasses.dataclass
class _FastState:
    modality: str
    record: dict


class FastStartMixin:
    """Fit and transform from a fast-start record when one answers.

    Put first in the bases of an embedder that sets ``_fast_start = True``.
    """

    _fast_start = False

    # -- the key -------------------------------------------------------------
    def _fast_key(self):
        """The record key of this configuration, or None (no fast start)."""
        cls = type(self)
        if not cls.__dict__.get("_fast_start", False):
            return None
        if self.compile is not False or self.store_weights_in_pickle:
            return None
        if getattr(self, "jpeg_draft", False):  # the fast path decodes in full
            return None
        if not (isinstance(self.device, str) and self.device in ("auto", "cpu")):
            return None
        source = source_key(self.backbone)
        if source is None:
            return None
        try:
            params = {
                name: canonical(value)
                for name, value in self.get_params(deep=False).items()
            }
        except Unkeyable:
            return None
        return {
            "estimator": f"{cls.__module__}.{cls.__qualname__}",
            "params": params,
            "backbone": source,
            "device": "cpu",
            "environment": environment(),
        }

    # -- reading ---------------------------------------------------------------
    def _fast_record(self):
        """The record answering for this configuration now, or None."""
        from sktransfer.engine._runtime import runtime_folder

        if mode() == "off":
            return None
        key = self._fast_key()
        if key is None or (self.device == "auto" and gpu_visible()):
            return None
        record, _ = find_record(runtime_folder(), key)
        if record is None:
            return None
        torch = sys.modules.get("torch")
        if torch is not None and torch.get_num_threads() != record["threads"]:
            return None
        return record

    def _fast_fit(self, X):
        """Fit from a record: True when done, False for the normal path."""
        self.__dict__.pop("_fast", None)
        record = self._fast_record()
        if record is None:
            return False
        self._check_raw(X)  # the errors of the normal path, before any loading
        self._record_column(X)
        if not self._fast_attach(record):
            return False
        for name in _FITTED:
            setattr(self, name, record["fitted"][name])
        self._fitted_params = {name: getattr(self, name) for name in self._model_params}
        return True

    def _fast_attach(self, record):
        """Load the record's session as ``_runner``; False if it fails."""
        try:
            runner = _fast_runner(record)
        except Exception:  # noqa: BLE001 - the normal path runs (and says why)
            return False
        for name in ("_model", "_spec", "_device", "_cache_for"):
            self.__dict__.pop(name, None)
        self._runner = runner
        self._precision = record["precision"]
        self._fast = _FastState(record["modality"], record)
        return True

    # -- the hooks of the normal path ----------------------------------------
    def _load_model(self):
        self.__dict__.pop("_fast", None)
        fingerprint = super()._load_model()
        try:
            self._save_fast_record(fingerprint)
        except Exception:  # noqa: BLE001, S110 - a record is an optimisation only
            pass
        return fingerprint

    def _get_model(self):
        fast = self.__dict__.get("_fast")
        if fast is None and self.__dict__.get("_model") is None:
            self._fast_reattach()  # unpickled: the session is enough
            fast = self.__dict__.get("_fast")
        if fast is None:
            return super()._get_model()
        self._check_unchanged()
        return self._runner

    def _fast_reattach(self):
        """After unpickling: use a record whose fitted values are ours."""
        if not all(name in vars(self) for name in _FITTED):
            return
        record = self._fast_record()
        if record is not None and all(
            record["fitted"][name] == getattr(self, name) for name in _FITTED
        ):
            self._fast_attach(record)

    def _input_modality(self):
        fast = self.__dict__.get("_fast")
        return fast.modality if fast is not None else super()._input_modality()

    def _cacheable(self):
        if self.__dict__.get("_fast") is not None:
            return True, None  # records are written for cacheable specs only
        return super()._cacheable()

    def _batch_size(self):
        fast = self.__dict__.get("_fast")
        if fast is None:
            return super()._batch_size()
        from sktransfer.engine._batch import resolve_batch_size

        return resolve_batch_size(self.batch_size, _CPU, self.runtime_, fast.modality)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_fast", None)
        return state

    # -- the fast forward pass ----------------------------------------------
    def _fast_embed(self, items, positions, verbose):
        from sktransfer.engine._progress import progress, show_progress

        verbose = self.verbose if verbose is None else verbose
        batch_size = self._batch_size()
        if self._fast.modality == "text":
            texts = [items[p] for p in positions]
            out = self._runner.encode(
                texts,
                batch_size=batch_size,
                prompt=self.prompt,
                show_progress_bar=show_progress(verbose, -(-len(texts) // batch_size)),
            )
            return np.asarray(out, dtype=np.float32)
        starts = range(0, len(positions), batch_size)
        out = None
        for start in progress(
            starts, total=len(starts), desc="embedding images", verbose=verbose
        ):
            chunk = positions[start : start + batch_size]
            result = self._runner.run(items, chunk)
            if out is None:
                out = np.empty((len(positions), result.shape[1]), dtype=np.float32)
            out[start : start + len(chunk)] = result
        return out

    # -- writing -------------------------------------------------------------
    def _save_fast_record(self, fingerprint):
        """Write (or keep) the record of this configuration after a normal load."""
        runtime = getattr(getattr(self, "_runner", None), "runtime", None)
        path = getattr(runtime, "path", None)
        key = self._fast_key()
        if key is None or path is None or self.runtime_ not in ("openvino", "onnx"):
            return
        spec = self._spec
        if self._device.type != "cpu" or not spec.cacheable:
            return
        folder = Path(path).parent
        existing = folder / f"fast-{_digest(key)}.json"
        if existing.is_file() and read_record(existing, key)[0] is not None:
            return
        body = self._fast_body(spec, path, fingerprint)
        if body is not None:
            write_record(folder, key, body)

    def _fast_body(self, spec, path, fingerprint):
        from sktransfer.engine._fast_image import (
            MAX_PREPROCESSING_GAP,
            preprocessing_gap,
            supports,
        )

        files, folders = source_files(spec)
        if files is None:
            return None
        torch = sys.modules["torch"]
        body = {
            "modality": spec.modality,
            "runtime": self.runtime_,
            "precision": self._precision,
            "threads": torch.get_num_threads(),
            "fitted": {"fingerprint_": fingerprint, **_fitted(self)},
            "export": str(Path(path).resolve()),
            "folders": folders,
        }
        extra_files = []
        if spec.modality == "image":
            config = self._preprocessing()
            if (
                not supports(config)
                or preprocessing_gap(config) > MAX_PREPROCESSING_GAP
            ):
                return None
            body["image"] = dataclasses.asdict(config)
        elif spec.modality == "text":
            text = _text_body(self._runner, Path(path).parent, self.prompt)
            if text is None:
                return None
            body["text"], tokenizer_file = text
            extra_files.append(tokenizer_file)
        else:
            return None
        body["files"] = [file_identity(f) for f in [*files, path, *extra_files]]
        return body


def _digest(key):
    from sktransfer.engine._fast_record import key_digest

    return key_digest(key)


def _fitted(estimator):
    return {name: getattr(estimator, name) for name in _FITTED[1:]}


def _text_body(runner, folder, prompt):
    """The text part of a record and the saved tokenizer's path, or None."""
    import hashlib

    from sktransfer.engine._fast_text import (
        FastTokenizer,
        same_features,
        tokenizer_settings,
    )

    model = getattr(runner, "model", None)
    if model is None or not hasattr(runner, "names"):
        return None
    settings, serialised = tokenizer_settings(model, runner.names)
    if settings is None:
        return None
    if not same_features(model, FastTokenizer(serialised, settings), prompt):
        return None
    digest = hashlib.sha256(serialised.encode()).hexdigest()[:16]
    tokenizer_file = folder / f"tokenizer-{digest}.json"
    if not tokenizer_file.is_file():
        from sktransfer.engine._runtime import atomic_derive

        atomic_derive(
            tokenizer_file,
            tokenizer_file,
            lambda _, tmp: tmp.write_text(serialised, encoding="utf-8"),
        )
    return {"settings": settings, "tokenizer": str(tokenizer_file)}, tokenizer_file


class _ImageRunner:
    """Decode, preprocess (NumPy) and run the exported graph on chunks of items."""

    def __init__(self, runtime, transform):
        self.runtime = runtime
        self.transform = transform

    def run(self, items, positions):
        from sktransfer.io._images import decode_image_array

        batch = np.stack(
            [self.transform(decode_image_array(items[p], p)) for p in positions]
        )
        return self.runtime.run({"x": np.ascontiguousarray(batch, dtype=np.float32)})


def _fast_runner(record):
    """The runner of a record: the shared session plus its preprocessing."""
    from sktransfer.engine._select import RUNTIME_CLASSES
    from sktransfer.engine._shared import shared_model

    path = Path(record["export"])
    name, precision, threads = record["runtime"], record["precision"], record["threads"]
    runtime_class = RUNTIME_CLASSES[name]
    session = shared_model(
        ("fast-start", str(path), name, precision, threads),
        lambda: runtime_class(
            path, precision, threads, folder=path.parent, modality=record["modality"]
        ),
    )
    if record["modality"] == "text":
        from sktransfer.engine._fast_text import FastTokenizer
        from sktransfer.engine._runners import SentenceRunner

        text = record["text"]
        serialised = Path(text["tokenizer"]).read_text(encoding="utf-8")
        tokenize = FastTokenizer(serialised, text["settings"])
        return SentenceRunner(None, session, tokenize.names, tokenize=tokenize)
    from sktransfer.backbones._spec import ImagePreprocessing
    from sktransfer.engine._fast_image import NumpyImageTransform

    config = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in record["image"].items()
    }
    return _ImageRunner(session, NumpyImageTransform(ImagePreprocessing(**config)))

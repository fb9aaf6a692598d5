"""The ``runtime`` parameter of the fine-tuners: what runs the network after fit.

Training always runs in torch. At the end of ``fit`` the fitted backbone
(what ``transform`` returns, and what feeds the head) is exported to ONNX,
keyed by a hash of its actual weights, its architecture and its
preprocessing, checked against torch on a probe batch and loaded in ONNX
Runtime or OpenVINO (`sktransfer.engine._select.select_runner`: the export
cache, its atomic writes and the per-process session sharing of the
embedders). ``predict``, ``predict_proba``, ``decision_function``,
``transform`` and ``score`` then run the backbone there and the linear head
in torch on its features: one export serves both, and fits that leave the
backbone unchanged (``strategy="head"``, grid-search clones, warm-started
heads) reuse one export. Texts are tokenised in Python; only the
transformer + pooling graph is exported.
"""

import hashlib
import json
from dataclasses import asdict

import numpy as np

from sktransfer._optional import import_optional

__all__ = ["FineTunedRuntimeMixin"]

# fine-tuned exports are per fitted network: keep the most recently written few
KEEP_EXPORTS = 8


class FineTunedRuntimeMixin:
    """``runtime``: run the fitted backbone on torch, ONNX Runtime or OpenVINO.

    Put before `BaseFineTuner` in the bases. ``runtime_`` is set at the end of
    ``fit`` (the export, the check and the session happen there, once). The
    session is not pickled: an unpickled estimator rebuilds it at its first
    prediction (from the export cache when the file is there); when that
    fails (the package is missing on this machine, a CUDA device), one
    ``RuntimeWarning`` says why, torch runs and ``runtime_`` says so. A new
    ``fit`` (``warm_start`` included) drops the session and selects again;
    ``set_params(runtime=...)`` after fit takes effect at the next call.
    """

    def _fit(self, X, y, sample_weight, sample_domain=None):
        # training runs in torch: no session (nor runtime_) until it is over
        self.__dict__.pop("_session", None)
        self.__dict__.pop("runtime_", None)
        self._runtime_candidates()  # an unusable explicit runtime fails before training
        super()._fit(X, y, sample_weight, sample_domain)
        self._session = self._select_session()
        self.runtime_ = self._session[1]
        return self

    def _inference_setting(self):
        from sktransfer.engine._device import resolve_device, resolve_precision

        device = resolve_device(self.device)
        return device, resolve_precision(self.precision, device)

    def _runtime_candidates(self, spec=None):
        from sktransfer.engine._select import runtime_candidates

        device, precision = self._inference_setting()
        modality = (spec or self._resolve_spec()).modality
        return runtime_candidates(self.runtime, precision, device, modality, False)

    def _select_session(self):
        """``(runner or None, runtime name, runtime parameter)`` for the fitted network."""
        from sktransfer.engine._runtime import prune_exports, runtime_folder
        from sktransfer.engine._select import select_runner

        module = self._get_module()
        spec = self._spec
        if not self._runtime_candidates(spec):
            return None, "torch", self.runtime
        device, precision = self._inference_setting()
        model, example_shape = self._export_target(module, spec)
        folder = runtime_folder() / "finetuned"
        runner, name = select_runner(
            model,
            runtime=self.runtime,
            precision=precision,
            device=device,
            modality=spec.modality,
            compiled=False,
            folder=folder,
            fingerprint=self._weights_fingerprint(module, spec),
            example_shape=example_shape,
        )
        prune_exports(folder, keep=KEEP_EXPORTS)
        return runner, name, self.runtime

    def _export_target(self, module, spec):
        """The module to export and the shape of one input (None for texts)."""
        backbone = module.backbone
        if spec.modality == "numeric":
            return backbone, (self.n_features_in_,)
        if spec.modality == "image":
            return backbone, (3, *self._preprocessing().crop_size)
        # the SentenceTransformer (tokenised in Python, its graph exported); a
        # module taking strings is found not exportable by the selection
        return backbone.model, None

    def _weights_fingerprint(self, module, spec):
        """What the export of the fitted backbone depends on, as one hash."""
        from sktransfer.engine._runtime import weights_digest

        options = {}
        if spec.modality == "image":
            options["preprocessing"] = asdict(self._preprocessing())
        model = module.backbone.model
        if hasattr(model, "max_seq_length"):
            options["max_seq_length"] = model.max_seq_length
        payload = {
            "kind": "fine-tuned backbone",
            "name": spec.name,
            "modality": spec.modality,
            "weights": weights_digest(module.backbone),
            "options": options,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _runtime_runner(self, part):
        """The runner standing in for the fitted backbone, or None (torch)."""
        module = self.__dict__.get("_module")
        if "runtime_" not in self.__dict__ or module is None:
            return None  # not fitted, or fitting
        if part is not module and part is not module.backbone:
            return None
        session = self.__dict__.get("_session")
        if session is None or session[2] != self.runtime:
            session = self._rebuild_session()
        return session[0]

    def _rebuild_session(self):
        """After unpickling or ``set_params(runtime=...)``: select again, or warn."""
        from sktransfer.engine._select import _warn_once

        try:
            session = self._select_session()
        except (ImportError, ValueError) as error:
            _warn_once(
                ("fine-tuned", id(self), self.runtime),
                self.runtime,
                [f"{type(error).__name__}: {str(error).splitlines()[0]}"],
            )
            session = (None, "torch", self.runtime)
        self._session = session
        self.runtime_ = session[1]
        return session

    def _run(self, part, data, spec=None, positions=None, verbose=None):
        runner = self._runtime_runner(part)
        if runner is None:
            return super()._run(part, data, spec, positions, verbose)
        verbose = self.verbose if verbose is None else verbose
        features = self._runner_features(runner, data, positions, verbose)
        if part is not self._module:
            return features
        torch = import_optional("torch")
        head = self._module.head
        with torch.inference_mode():
            inputs = torch.from_numpy(features).to(head.weight.device)
            return head(inputs).float().cpu().numpy()

    def _runner_features(self, runner, data, positions, verbose):
        from sktransfer.engine._progress import show_progress

        device, precision = self._inference_setting()
        modality = self._spec.modality
        if modality == "image":
            return self._run_raw(runner, data, positions, device, precision, verbose)
        if modality == "numeric":
            return self._run_rows(runner, data, positions, device, precision, verbose)
        texts = list(data) if positions is None else [data[p] for p in positions]
        out = runner.encode(
            texts,
            batch_size=self.batch_size,
            prompt=getattr(self, "prompt", None),
            show_progress_bar=show_progress(verbose, -(-len(texts) // self.batch_size)),
        )
        return np.asarray(out, dtype=np.float32)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_session", None)  # rebuilt at the first prediction
        return state

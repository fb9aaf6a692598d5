"""What the fine-tuning estimators share: parameters, fit, prediction, pickling."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from sktransfer._optional import import_optional
from sktransfer.backbones._checkpoint import load_weights, save_weights
from sktransfer.backbones._keras import pack_keras_backbone, unpack_keras_backbone
from sktransfer.engine._device import PRECISIONS
from sktransfer.engine._raw_inputs import RawInputMixin
from sktransfer.engine._runtime import RUNTIMES
from sktransfer.finetune._da_methods import (
    DA_METHODS,
    DomainAdaptationMethod,
    method_names,
)
from sktransfer.finetune._features import FeaturesMixin
from sktransfer.finetune._persist import changed_keys
from sktransfer.finetune._routing import RoutedParamsMixin
from sktransfer.io._domain import with_masked_labels

__all__ = ["BaseFineTuner"]

STRATEGIES = ("head", "top", "full", "gradual")


class BaseFineTuner(RoutedParamsMixin, FeaturesMixin, RawInputMixin, BaseEstimator):
    """Base class of the fine-tuning estimators.

    Subclasses combine an input mixin (images or texts: ``_modality``,
    ``_validate_raw``, ``_input_dataset``, ``_collate``, ``_wrap_body``,
    ``_run_raw``, ``_augment_enabled``) with a target mixin (classification or
    regression: ``_prepare_targets``, ``_n_outputs``, ``_criterion``,
    ``_stratify``, ``_target_callbacks``). Extra ``prefix__param`` keyword
    arguments are stored as they are and routed to the skorch net at fit.
    Spec resolution, the input column, the probe of the feature width and
    the input tags are the raw-input core shared with the embedders
    (`sktransfer.engine._raw_inputs`).
    """

    # with domain adaptation, sample_domain is requested when routing is on
    __metadata_request__fit = {"sample_domain": True}

    _parameter_constraints = {
        "backbone": [str, object],
        "strategy": [StrOptions(set(STRATEGIES))],
        "head_l2": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "head_init": [StrOptions({"probe", "random"})],
        "unfreeze": [Interval(Integral, 1, None, closed="left"), StrOptions({"all"})],
        "freeze": [None, str, list],
        "freeze_epochs": [Interval(Integral, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "backbone_lr": [None, Interval(Real, 0, None, closed="neither")],
        "lr_decay": [Interval(Real, 0, 1, closed="right")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "schedule": [StrOptions({"cosine", "constant", "onecycle"})],
        "warmup_fraction": [Interval(Real, 0, 1, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "accumulation_steps": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [None, Interval(Integral, 1, None, closed="left")],
        # a live view of the registry: a method registered later is accepted
        "domain_adaptation": [
            None,
            StrOptions(DA_METHODS.keys()),
            DomainAdaptationMethod,
        ],
        "da_weight": [Interval(Real, 0, None, closed="left")],
        "pretrained": ["boolean"],
        "device": [str, object],
        "precision": [StrOptions(set(PRECISIONS))],
        "runtime": [StrOptions(set(RUNTIMES))],
        "callbacks": [None, list],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose", StrOptions({"auto"})],
    }

    # -- fitting -----------------------------------------------------------
    def _validate_X_y(self, X, y, spec, reset=True):
        """Validated inputs (items or float32 array) and y as an array."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        if spec.modality == "numeric":
            X, y = validate_data(
                self, X, y, dtype=np.float32, reset=reset, multi_output=True
            )
            return np.array(X, dtype=np.float32, order="C"), y
        data = self._validate_raw(X)
        if reset:
            self._record_column(X)
        else:
            self._check_column(X)
        y_arr = np.asarray(y)
        n_y = len(y_arr) if y_arr.ndim else 1
        if n_y != len(data):
            raise ValueError(
                f"X and y have different lengths: X has {len(data)} samples, y has "
                f"{n_y}; give one target per input"
            )
        return data, y

    def _validate_domains(self, X, y, sample_domain, spec, reset=True):
        from sktransfer.finetune._domains import validate_domains

        return validate_domains(self, X, y, sample_domain, spec, reset=reset)

    def _sample_weights(self, sample_weight, n_samples):
        if sample_weight is None:
            return np.ones(n_samples, dtype=np.float32)
        weights = _check_sample_weight(
            sample_weight,
            np.empty((n_samples, 0)),
            dtype=np.float64,
            ensure_non_negative=True,
        )
        if not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError(
                "sample_weight must be finite and have a positive sum "
                f"(got sum {weights.sum()!r})"
            )
        return weights.astype(np.float32)

    def _split(self, labels, n_samples, seed):
        """Train and validation positions (stratified on ``labels`` when possible)."""
        everything = np.arange(n_samples)
        if self.validation_fraction is None or n_samples < 2:
            return everything, None
        n_valid = min(
            n_samples - 1, max(1, round(self.validation_fraction * n_samples))
        )
        stratify = labels
        if stratify is not None:
            counts = np.bincount(stratify)
            counts = counts[counts > 0]
            k = len(counts)
            if counts.min() < 2 or n_valid < k or n_samples - n_valid < k:
                stratify = None
        train, valid = train_test_split(
            everything, test_size=n_valid, random_state=seed, stratify=stratify
        )
        return np.sort(train), np.sort(valid)

    def _fit(self, X, y, sample_weight, sample_domain=None):
        torch = import_optional("torch")
        from sktransfer.engine._device import resolve_device, resolve_precision
        from sktransfer.finetune import _contrastive, _trainer
        from sktransfer.finetune._config import training_config

        self._check_routed_params()
        spec = self._resolve_spec()
        warm = self.warm_start and getattr(self, "history_", None) is not None
        if self.domain_adaptation is None:
            if sample_domain is not None:
                raise ValueError(
                    f"{type(self).__name__}.fit got sample_domain but "
                    f"domain_adaptation=None: set domain_adaptation to "
                    f"{method_names()} to use target rows, or leave sample_domain "
                    f"out"
                )
            data, y = self._validate_X_y(X, y, spec, reset=not warm)
            source = np.ones(len(data), dtype=bool)
        else:
            data, y, source = self._validate_domains(
                X, y, sample_domain, spec, reset=not warm
            )
        n_samples = len(data)
        source_idx = np.flatnonzero(source)
        target_idx = None if source.all() else np.flatnonzero(~source)
        weights = self._sample_weights(sample_weight, n_samples)
        # fitted attributes are set only once training succeeded
        targets, weights, fitted = self._prepare_targets(y, weights[source], warm)
        stratify = self._stratify(targets)
        if target_idx is not None:
            # target rows: placeholders, never seen by the task loss
            targets, weights = _spread(targets, source), _spread(weights, source)
        n_outputs = self._n_outputs(fitted)
        device = resolve_device(self.device)
        precision = resolve_precision(self.precision, device)
        seed = int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(seed)
            if warm:
                module = self._get_module()
            else:
                module = self._build_module(spec, n_outputs)
            train_idx, valid_idx = self._split(stratify, len(source_idx), seed)
            train_idx = source_idx[train_idx]
            valid_idx = None if valid_idx is None else source_idx[valid_idx]
            trainer = _contrastive if self.strategy == "contrastive" else _trainer
            result = trainer.train(
                training_config(self, spec, n_outputs),
                module=module,
                data=data,
                targets=targets,
                weights=weights,
                train_idx=train_idx,
                valid_idx=valid_idx,
                device=device,
                precision=precision,
                history=self.history_ if warm else None,
                target_idx=target_idx,
            )
        for name, value in fitted.items():
            setattr(self, name, value)
        self._spec = spec
        self._module = module.eval()
        self._net = result.net
        self._record_stored_keys(module, result, warm)
        self.head_l2_ = result.head_l2
        self.history_ = result.net.history_
        return self

    def _record_stored_keys(self, module, result, warm):
        """The state keys a pickle stores: what training changed."""
        previous = set(getattr(self, "_trained_names", ())) if warm else set()
        self._trained_names = previous | result.trained_names
        stored = set(
            module.state_dict()
            if not self.pretrained
            else changed_keys(module, self._trained_names)
        )
        stored |= set(result.adapted_keys)  # e.g. re-estimated BatchNorm statistics
        if warm:
            stored |= set(getattr(self, "_stored_keys", ()))
        self._stored_keys = [key for key in module.state_dict() if key in stored]

    def _build_module(self, spec, n_outputs):
        from sktransfer.finetune._module import TransferModule, build_body

        torch = import_optional("torch")
        n_features = self.n_features_in_ if spec.modality == "numeric" else None
        body = build_body(spec, pretrained=self.pretrained, n_features=n_features)
        backbone = self._wrap_body(body, spec)
        dim = self._feature_dim(backbone, spec)
        return TransferModule(backbone, torch.nn.Linear(dim, n_outputs))

    def _feature_dim(self, backbone, spec):
        return self._output_dim(
            spec,
            backbone.model,
            lambda probe: self._run(backbone, probe, spec, verbose=0),
            declared=spec.output_dim,
        )

    # -- running the network ------------------------------------------------
    def _run(self, part, data, spec=None, positions=None, verbose=None):
        """Run ``part`` (the whole module or its backbone) over ``data`` (eval)."""
        from sktransfer.engine._device import resolve_device, resolve_precision

        spec = spec or self._spec
        verbose = self.verbose if verbose is None else verbose
        device = resolve_device(self.device)
        precision = resolve_precision(self.precision, device)
        part.to(device)
        if spec.modality == "numeric":
            return self._run_rows(part, data, positions, device, precision, verbose)
        return self._run_raw(part, data, positions, device, precision, verbose)

    def _run_rows(self, part, data, positions, device, precision, verbose):
        """``part`` (a module or a runtime's runner) over rows of a float array."""
        from sktransfer.engine._data import TensorRowsDataset
        from sktransfer.engine._inference import run_inference

        return run_inference(
            part,
            TensorRowsDataset(data, positions),
            batch_size=self.batch_size,
            device=device,
            precision=precision,
            verbose=verbose,
        )

    def _get_module(self):
        """The fitted network, rebuilt from the registry after unpickling."""
        module = getattr(self, "_module", None)
        if module is None:
            spec = self._resolve_spec()
            module = self._build_module(spec, self._n_outputs())
            trained = set(self._stored_keys)
            missing = [key for key in module.state_dict() if key not in trained]
            load_weights(module, self._weights, expected_missing=missing)
            self._spec, self._module = spec, module.eval()
            del self._weights
        return module

    def _outputs(self, X):
        """Raw network outputs (logits / standardised values), float32."""
        check_is_fitted(self)
        module = self._get_module()
        return self._run(module, self._validated_inputs(X))

    def _validated_inputs(self, X):
        """Inputs at prediction time: items or a float32 array."""
        if self._spec.modality == "numeric":
            X = validate_data(self, X, dtype=np.float32, reset=False)
            return np.array(X, dtype=np.float32, order="C")
        self._check_column(X)
        return self._validate_raw(X)

    @property
    def net_(self):
        """The skorch net of the last ``fit`` (callbacks, optimizer; not pickled)."""
        net = getattr(self, "_net", None)
        if net is None:
            raise AttributeError(
                "net_ is only available in the session that ran fit (it is not "
                "pickled); history_ and the fine-tuned weights are"
            )
        return net

    # -- persistence ------------------------------------------------------
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: pickling never changes self
        module = state.pop("_module", None)
        state.pop("_net", None)
        state.pop("_spec", None)
        if module is not None:
            state["_weights"] = save_weights(module, self._stored_keys)
        return pack_keras_backbone(state)

    def __setstate__(self, state):
        super().__setstate__(unpack_keras_backbone(state))

    def __sklearn_tags__(self):
        # the raw-input tags come from RawInputMixin; with domain adaptation,
        # fit takes the masked target rows itself (make_da_pipeline leaves it
        # unwrapped)
        tags = super().__sklearn_tags__()
        return with_masked_labels(tags, self.domain_adaptation is not None)


def _spread(values, source):
    """``values`` of the source rows placed in a zero array over all rows."""
    out = np.zeros((len(source), *values.shape[1:]), dtype=values.dtype)
    out[source] = values
    return out

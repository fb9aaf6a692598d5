"""The one training loop: a skorch net that knows about frozen layers and precision.

`TransferNet` is a :class:`skorch.NeuralNet` (so callbacks, history and
``prefix__param`` routing work as in skorch) with what fine-tuning a
pretrained network needs on top:

* discriminative learning rates: the optimizer is built from explicit
  ``(parameter names, lr)`` groups (head first, then backbone blocks);
* frozen layers stay frozen *and in eval mode*: every submodule whose
  parameters are all frozen is switched back to ``eval()`` after skorch puts
  the net in training mode, so frozen BatchNorm running statistics never move;
* gradient accumulation over ``accumulation_steps`` batches (the last,
  incomplete window of an epoch is stepped too);
* mixed precision: the forward pass runs under ``autocast`` in the requested
  precision and fp16 uses a ``GradScaler`` (a no-op for fp32 and bf16);
* inputs of any kind (tensors, dicts of token tensors, lists of strings) are
  moved to the device as they are and handed to the module unchanged;
* domain adaptation inside training (``domain_loss``): each training batch of
  labelled source rows is paired with a batch of unlabelled target rows drawn
  from ``target_data``; both go through the backbone (separately, so that
  BatchNorm layers see one domain at a time), the head sees the source
  features only, and ``domain_loss(source_features, target_features,
  coefficient)`` is added to the task loss.

Batches follow skorch's convention for sample weights:
``({"data": inputs, "sample_weight": weights}, targets)``; the module gets
``inputs`` and the criterion ``criterion(output, targets, weights)``. So
skorch's scoring callbacks (``EpochScoring("accuracy")``, ...) see plain
targets. `TransferClassifierNet` and `TransferRegressorNet` add skorch's
classifier / regressor behaviour (``predict``, the ``valid_acc`` column).
"""

import fnmatch

from sktransfer._optional import import_optional
from sktransfer.engine._device import autocast

torch = import_optional("torch")
skorch = import_optional("skorch")

from skorch.dataset import unpack_data  # noqa: E402
from skorch.utils import TeeGenerator  # noqa: E402

__all__ = [
    "TransferClassifierNet",
    "TransferNet",
    "TransferRegressorNet",
    "WeightedCrossEntropy",
    "WeightedMSE",
    "batch_length",
    "frozen_submodules",
    "move_to_device",
]


def move_to_device(data, device):
    """Move tensors (alone, in dicts, lists or tuples) to ``device``; keep the rest."""
    if isinstance(data, torch.Tensor):
        return data.to(device, non_blocking=True)
    if isinstance(data, dict):
        return {key: move_to_device(value, device) for key, value in data.items()}
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], torch.Tensor):
        return type(data)(move_to_device(value, device) for value in data)
    return data


def batch_length(data):
    """Number of samples in a batch of inputs (tensor, dict of tensors, list)."""
    if isinstance(data, torch.Tensor):
        return int(data.shape[0])
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, torch.Tensor):
                return int(value.shape[0])
    return len(data)


def frozen_submodules(module):
    """The largest submodules whose parameters are all frozen.

    A module with parameters, none of which requires a gradient, is returned
    whole (its children are not listed again); parameter-free modules are
    never listed on their own.
    """
    found = []

    def visit(current):
        params = list(current.parameters())
        if params and not any(p.requires_grad for p in params):
            found.append(current)
            return
        for child in current.children():
            visit(child)

    visit(module)
    return found


def _weighted_mean(losses, weight):
    return (losses * weight).sum() / weight.sum().clamp_min(1e-12)


class WeightedCrossEntropy(torch.nn.Module):
    """Cross-entropy with per-sample weights and label smoothing.

    The loss of a batch is ``sum(w_i * l_i) / sum(w_i)``, so weights of ones
    give the plain mean and scaling all weights changes nothing. Class weights
    are folded into the sample weights by the caller.
    """

    def __init__(self, label_smoothing=0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, logits, target, weight):
        losses = torch.nn.functional.cross_entropy(
            logits.float(),
            target,
            reduction="none",
            label_smoothing=self.label_smoothing,
        )
        return _weighted_mean(losses, weight)


class WeightedMSE(torch.nn.Module):
    """Mean squared error averaged over outputs, weighted over samples."""

    def forward(self, prediction, target, weight):
        errors = (prediction.float() - target) ** 2
        return _weighted_mean(errors.reshape(len(errors), -1).mean(1), weight)


def _check_user_groups(optimizer_params, named):
    """Each ``optimizer__param_groups`` pattern must match a learnable parameter."""
    for pattern, _ in optimizer_params.get("param_groups", []):
        if not any(fnmatch.fnmatch(name, pattern) for name in named):
            examples = ", ".join(list(named)[:3] + list(named)[-2:])
            raise ValueError(
                f"optimizer__param_groups pattern {pattern!r} matches no learnable "
                f"parameter; parameter names look like: {examples}"
            )


class TransferNet(skorch.NeuralNet):
    """A skorch net for fine-tuning pretrained backbones.

    Batches are ``({"data": inputs, "sample_weight": weights}, targets)``;
    the criterion is called as ``criterion(output, targets, weights)``.

    Parameters
    ----------
    module, criterion
        As in :class:`skorch.NeuralNet`.
    param_groups : list of (list of str, float), optional
        ``(parameter names of module_, learning rate)`` for each optimizer
        group. Parameters not listed are not optimised. ``None``: all
        parameters in one group at ``lr``.
    precision : {"fp32", "bf16", "fp16"}, default="fp32"
        Autocast precision of the forward passes; fp16 adds loss scaling.
    accumulation_steps : int, default=1
        Batches whose gradients are summed before each optimizer step.
    domain_loss : torch.nn.Module, optional
        Called as ``domain_loss(source_features, target_features,
        coefficient)``; returns ``(term added to the loss, value to record)``.
        ``module`` must then have ``backbone`` and ``head`` submodules, and
        ``target_data`` must be given. Its parameters (a domain classifier)
        are learnable as ``domain_loss_.<name>`` in ``param_groups``.
        ``coefficient`` is ``da_coefficient_``, set by a callback
        (`DomainLossWeight`); the value is recorded per batch as ``da_loss``
        and per epoch as ``train_da_loss``.
    target_data : torch.utils.data.Dataset, optional
        Unlabelled target items in the training items' format, served by the
        training iterator (shuffled, restarted when used up).
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(
        self,
        module,
        criterion,
        *,
        param_groups=None,
        precision="fp32",
        accumulation_steps=1,
        domain_loss=None,
        target_data=None,
        **kwargs,
    ):
        # set before skorch's __init__: afterwards skorch refuses to store a
        # torch module outside its initialize methods
        self.domain_loss = domain_loss
        self.target_data = target_data
        super().__init__(module, criterion=criterion, **kwargs)
        self.param_groups = param_groups
        self.precision = precision
        self.accumulation_steps = accumulation_steps

    # -- initialisation -----------------------------------------------------
    def initialize(self):
        super().initialize()
        self.optimizer_steps_ = 0
        self.pending_batches_ = 0
        self.da_coefficient_ = 1.0
        self.refresh_frozen()
        return self

    def initialize_module(self):
        super().initialize_module()
        if self.domain_loss is not None:
            if self.target_data is None:
                raise ValueError("domain_loss needs target_data (unlabelled rows)")
            self.domain_loss_ = self.domain_loss.to(self.device)
        return self

    def _learnable(self):
        """Learnable parameters by name (the domain loss's under ``domain_loss_.``)."""
        named = dict(self.module_.named_parameters())
        if self.domain_loss is not None:
            for name, param in self.domain_loss_.named_parameters():
                named[f"domain_loss_.{name}"] = param
        return named

    def initialize_optimizer(self, triggered_directly=None):
        named = self._learnable()
        base = (
            [(list(named), self.lr)] if self.param_groups is None else self.param_groups
        )
        _check_user_groups(self.get_params_for("optimizer"), named)
        groups, kwargs = [], {}
        for names, lr in base:
            if not names:
                continue
            # skorch's own matching of optimizer__param_groups, within each of
            # our groups: a matched parameter takes the user's options (the
            # user's lr wins over the discriminative one)
            (pgroups,), kwargs = self.get_params_for_optimizer(
                "optimizer", [(name, named[name]) for name in names]
            )
            groups += [{"lr": lr, **group} for group in pgroups]
        self.optimizer_ = self.optimizer(groups, **kwargs)
        device_type = torch.device(self.device).type
        self.scaler_ = torch.amp.GradScaler(
            device_type, enabled=self.precision == "fp16"
        )
        return self

    # -- frozen layers --------------------------------------------------------
    def set_trainable(self, names):
        """Let exactly the parameters of ``module_`` named in ``names`` train."""
        names = set(names)
        for name, parameter in self.module_.named_parameters():
            parameter.requires_grad_(name in names)
        self.refresh_frozen()

    def refresh_frozen(self):
        """Recompute which submodules are entirely frozen (kept in eval mode)."""
        self.frozen_modules_ = frozen_submodules(self.module_)

    def _set_training(self, training=True):
        super()._set_training(training)
        if training:
            for module in self.frozen_modules_:
                module.eval()

    # -- steps ------------------------------------------------------------------
    def _autocast(self):
        return autocast(torch.device(self.device), self.precision)

    def infer(self, x, **fit_params):
        if isinstance(x, dict) and "sample_weight" in x:
            x = x["data"]
        return self.module_(move_to_device(x, self.device), **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        if isinstance(X, dict) and "sample_weight" in X:
            weight = X["sample_weight"]
        else:
            weight = torch.ones(len(y_true))
        return self.criterion_(
            y_pred,
            move_to_device(y_true, self.device),
            move_to_device(weight, self.device),
        )

    def _target_batch(self):
        """The next batch of target inputs (a new shuffled pass when used up)."""
        iterator = getattr(self, "target_iterator_", None)
        batch = next(iterator, None) if iterator is not None else None
        if batch is None:
            self.target_iterator_ = iter(self.get_iterator(self.target_data, True))
            batch = next(self.target_iterator_)
        inputs, _ = unpack_data(batch)
        return inputs["data"] if isinstance(inputs, dict) else inputs

    def _adapted_forward(self, Xi, yi):
        """Task loss on the source batch plus the domain loss against a target batch."""
        source = Xi["data"] if isinstance(Xi, dict) else Xi
        target = self._target_batch()
        features = self.module_.backbone(move_to_device(source, self.device))
        y_pred = self.module_.head(features)
        task_loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        target_features = self.module_.backbone(move_to_device(target, self.device))
        term, value = self.domain_loss_(features, target_features, self.da_coefficient_)
        self.history.record_batch("da_loss", float(value))
        self.epoch_da_losses_.append(float(value))
        return y_pred, task_loss, task_loss + term

    def train_step_single(self, batch, **fit_params):
        """Forward (autocast, plus the domain loss) and backward of one batch.

        skorch's seam for what one batch computes; the loss is scaled for fp16
        and divided by ``accumulation_steps`` before ``backward``.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        with self._autocast():
            if self.domain_loss is None:
                y_pred = self.infer(Xi, **fit_params)
                loss = total = self.get_loss(y_pred, yi, X=Xi, training=True)
            else:
                y_pred, loss, total = self._adapted_forward(Xi, yi)
        self.scaler_.scale(total / self.accumulation_steps).backward()
        return {"loss": loss.detach(), "y_pred": y_pred.detach().float()}

    def train_step(self, batch, **fit_params):
        """One batch, and an optimizer step every ``accumulation_steps`` batches.

        skorch's own ``train_step`` steps the optimizer with a closure after
        every batch; gradient accumulation and fp16 loss scaling need the step
        here instead (the pattern skorch documents for accumulation).
        """
        step = self.train_step_single(batch, **fit_params)
        self.pending_batches_ += 1
        if self.pending_batches_ >= self.accumulation_steps:
            self._optimizer_step(batch)
        return step

    def _optimizer_step(self, batch):
        self.scaler_.unscale_(self.optimizer_)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(iter(self._learnable().items())),
            batch=batch,
            training=True,
        )
        self.scaler_.step(self.optimizer_)
        self.scaler_.update()
        self.optimizer_.zero_grad(set_to_none=True)
        self.pending_batches_ = 0
        self.optimizer_steps_ += 1

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        with torch.no_grad(), self._autocast():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred.float()}

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop, with the sizes of string batches counted right.

        Same bookkeeping as skorch's (``<prefix>_loss`` and
        ``<prefix>_batch_size`` per batch, ``<prefix>_batch_count`` per epoch;
        tests/test_training_seams.py compares the two), except that skorch's
        ``get_len`` takes a batch of strings for a list of sequences. After the
        loop: the last accumulated gradients are applied, the target iterator
        restarts and the epoch's mean domain loss is recorded.
        """
        if iterator is None:
            return
        self.epoch_da_losses_ = []
        batch_count, last_batch = 0, None
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            self.history.record_batch(prefix + "_loss", step["loss"].item())
            self.history.record_batch(prefix + "_batch_size", batch_length(batch[0]))
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count, last_batch = batch_count + 1, batch
        self.history.record(prefix + "_batch_count", batch_count)
        if training and self.pending_batches_:
            self._optimizer_step(last_batch)
        self.target_iterator_ = None  # each epoch starts a new pass over the target
        if training and self.epoch_da_losses_:
            mean = sum(self.epoch_da_losses_) / len(self.epoch_da_losses_)
            self.history.record("train_da_loss", mean)


class TransferClassifierNet(TransferNet, skorch.NeuralNetClassifier):
    """`TransferNet` with skorch's classifier API (``predict``, ``valid_acc``)."""


class TransferRegressorNet(TransferNet, skorch.NeuralNetRegressor):
    """`TransferNet` with skorch's regressor API."""

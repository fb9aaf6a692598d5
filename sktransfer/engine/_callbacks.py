"""Small skorch callbacks for fine-tuning: LR schedules, gradual unfreezing and
the weight of a domain adaptation loss."""

import math

from sktransfer._optional import import_optional

skorch = import_optional("skorch")

from skorch.callbacks import Callback  # noqa: E402

__all__ = [
    "DomainLossWeight",
    "GradualUnfreezing",
    "OneCycleSchedule",
    "WarmupCosineLR",
    "lr_factor",
    "total_optimizer_steps",
]


def total_optimizer_steps(net, X):
    """Optimizer steps of a whole ``fit`` of ``net`` on ``X`` (``max_epochs`` epochs).

    The last, incomplete accumulation window of an epoch is stepped too.
    """
    batch_size = net.get_params_for("iterator_train").get("batch_size", net.batch_size)
    batches = math.ceil(len(X) / batch_size) if batch_size > 0 else 1
    steps_per_epoch = math.ceil(batches / net.accumulation_steps)
    return max(1, steps_per_epoch * net.max_epochs)


def lr_factor(step, total_steps, warmup_steps, schedule="cosine"):
    """Multiplier of the base learning rates at optimizer step ``step`` (from 0).

    Linear warm-up from ``1 / warmup_steps`` to 1 over ``warmup_steps`` steps,
    then constant (``"constant"``) or cosine decay towards 0 (``"cosine"``).
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class WarmupCosineLR(Callback):
    """Warm-up then cosine (or constant) learning rates, per optimizer step.

    The schedule spans the whole ``fit`` (``max_epochs`` epochs): early
    stopping ends it sooner. Each parameter group keeps its own base rate, so
    discriminative learning rates keep their ratios. The head group's rate is
    recorded in the history as ``lr``.

    Parameters
    ----------
    warmup_fraction : float
        Fraction of the optimizer steps spent warming up (at least one step
        when > 0).
    schedule : {"cosine", "constant"}
        What follows the warm-up.
    """

    def __init__(self, warmup_fraction=0.1, schedule="cosine"):
        self.warmup_fraction = warmup_fraction
        self.schedule = schedule

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.total_steps_ = total_optimizer_steps(net, X)
        self.warmup_steps_ = (
            max(1, round(self.warmup_fraction * self.total_steps_))
            if self.warmup_fraction > 0
            else 0
        )
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        self.first_step_ = net.optimizer_steps_

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        factor = lr_factor(
            net.optimizer_steps_ - self.first_step_,
            self.total_steps_,
            self.warmup_steps_,
            self.schedule,
        )
        groups = net.optimizer_.param_groups
        for group, base in zip(groups, self.base_lrs_, strict=True):
            group["lr"] = base * factor
        net.history.record_batch("lr", groups[0]["lr"])

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


class OneCycleSchedule(Callback):
    """The one-cycle policy (Smith & Topin, 2019), per optimizer step.

    torch's :class:`~torch.optim.lr_scheduler.OneCycleLR` over the whole
    ``fit``: each parameter group's rate rises from ``base / 25`` to its base
    rate (its maximum) over the first ``warmup_fraction`` of the steps, then
    falls to ``base / 25e4``, both along cosine curves; AdamW's ``beta1``
    cycles the other way between 0.95 and 0.85. Discriminative learning rates
    keep their ratios. The head group's rate is recorded in the history as
    ``lr`` (per epoch and per batch).

    Parameters
    ----------
    warmup_fraction : float
        Fraction of the optimizer steps spent rising (torch's ``pct_start``).
    """

    def __init__(self, warmup_fraction=0.1):
        self.warmup_fraction = warmup_fraction

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        torch = import_optional("torch")
        self.total_steps_ = total_optimizer_steps(net, X)
        base_lrs = [group["lr"] for group in net.optimizer_.param_groups]
        self.scheduler_ = torch.optim.lr_scheduler.OneCycleLR(
            net.optimizer_,
            max_lr=base_lrs,
            total_steps=self.total_steps_,
            pct_start=self.warmup_fraction,
        )
        self.first_step_ = net.optimizer_steps_

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        # one scheduler step per optimizer step taken since the last batch
        done = min(self.total_steps_, net.optimizer_steps_ - self.first_step_)
        while self.scheduler_.last_epoch < done:
            self.scheduler_.step()
        net.history.record_batch("lr", net.optimizer_.param_groups[0]["lr"])

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


class DomainLossWeight(Callback):
    """Sets ``net.da_coefficient_`` before each training batch.

    ``coefficient(p)``, ``p`` the fraction of the ``fit``'s optimizer steps
    done, in [0, 1]: a domain adaptation method's schedule (DANN's ramp, a
    constant for Deep CORAL; see `sktransfer.finetune._da_methods`). The
    value is recorded per epoch as ``da_weight``.

    Parameters
    ----------
    coefficient : callable
        ``coefficient(progress) -> float``.
    """

    def __init__(self, coefficient):
        self.coefficient = coefficient

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.total_steps_ = total_optimizer_steps(net, X)
        self.first_step_ = net.optimizer_steps_

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        progress = (net.optimizer_steps_ - self.first_step_) / self.total_steps_
        net.da_coefficient_ = self.coefficient(progress)

    def on_epoch_end(self, net, **kwargs):
        net.history.record("da_weight", float(net.da_coefficient_))


class GradualUnfreezing(Callback):
    """Unfreeze parameters step by step at the start of given epochs.

    Parameters
    ----------
    stages : list of (int, collection of str)
        ``(epoch, names)``: from that epoch (counted from 0 in this ``fit``)
        the parameters of ``module_`` named in ``names`` train, and no others.
        The number of backbone blocks training is recorded as ``blocks``.
    """

    def __init__(self, stages):
        self.stages = stages

    def on_train_begin(self, net, **kwargs):
        self.epoch_ = 0
        self.current_ = None

    def on_epoch_begin(self, net, **kwargs):
        active = None
        for index, (start, _) in enumerate(self.stages):
            if start <= self.epoch_:
                active = index
        if active is not None and active != self.current_:
            net.set_trainable(self.stages[active][1])
            self.current_ = active
        net.history.record("blocks", self.current_ or 0)
        self.epoch_ += 1

"""Small skorch callbacks for fine-tuning: LR schedule and gradual unfreezing."""

import math

from sktransfer._optional import import_optional

skorch = import_optional("skorch")

from skorch.callbacks import Callback  # noqa: E402

__all__ = ["GradualUnfreezing", "WarmupCosineLR", "lr_factor"]


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
        batch_size = net.get_params_for("iterator_train").get(
            "batch_size", net.batch_size
        )
        batches = math.ceil(len(X) / batch_size) if batch_size > 0 else 1
        steps_per_epoch = math.ceil(batches / net.accumulation_steps)
        self.total_steps_ = max(1, steps_per_epoch * net.max_epochs)
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

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


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

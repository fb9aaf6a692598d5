"""One fit of a fine-tuning estimator: plan, datasets, skorch net, training.

The input is a `sktransfer.finetune._config.TrainingConfig` (the options and
the few callables that depend on the estimator's kind), the output a
`sktransfer.finetune._config.TrainResult`; the estimator is never read here.

Two paths:

* **fast path**: when no backbone parameter trains and no augmentation is
  asked for, the backbone's features are computed once (eval mode, batched,
  in the requested precision) and only the head is trained on them, so the
  epochs after the first cost almost nothing;
* **full path**: otherwise every batch runs the whole network; frozen parts
  stay in eval mode and get no gradients.

Domain adaptation (``config.adaptation``, a
`sktransfer.finetune._da_methods.DomainAdaptationMethod`) adds to either
path through the method's hooks: its checks, what it does before and after
training (AdaBN's BatchNorm statistics) and its loss module (DANN, Deep
CORAL: each source batch paired with a target batch, on the full path only,
since they need backbone parameters that train).
"""

import copy
import functools
from dataclasses import dataclass, field

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.engine._progress import plain_print, show_progress
from sktransfer.engine._progress_callback import EpochProgress
from sktransfer.finetune import _probe
from sktransfer.finetune._blocks import make_plan
from sktransfer.finetune._config import TrainResult
from sktransfer.finetune._da_methods import (
    adaptation_context,
    check_adaptation,
    method_label,
)
from sktransfer.finetune._module import BODY_PREFIX

torch = import_optional("torch")

__all__ = ["TrainResult", "train"]


class LabelledDataset(torch.utils.data.Dataset):
    """``({"data": input, "sample_weight": weight}, target)`` items (skorch's
    convention for sample weights)."""

    def __init__(self, inputs, targets, weights):
        self.inputs = inputs
        self.targets = targets
        self.weights = weights

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return {"data": self.inputs[i], "sample_weight": self.weights[i]}, self.targets[
            i
        ]


def _tensors(targets, weights, positions):
    return (
        torch.from_numpy(np.ascontiguousarray(targets[positions])),
        torch.from_numpy(np.ascontiguousarray(weights[positions], dtype=np.float32)),
    )


def _features_dataset(features, targets, weights, positions):
    target, weight = _tensors(targets, weights, positions)
    inputs = torch.from_numpy(np.ascontiguousarray(features[positions]))
    return LabelledDataset(inputs, target, weight)


def _callbacks(config, plan_stages, has_valid, fast, adversarial):
    skorch = import_optional("skorch")
    from sktransfer.engine._callbacks import (
        DomainLossWeight,
        GradualUnfreezing,
        OneCycleSchedule,
        WarmupCosineLR,
    )

    if config.schedule == "onecycle":
        schedule = OneCycleSchedule(config.warmup_fraction)
    else:
        schedule = WarmupCosineLR(config.warmup_fraction, config.schedule)
    callbacks = [("lr_schedule", schedule)]
    if adversarial:
        coefficient = functools.partial(
            config.adaptation.coefficient, weight=config.da_weight
        )
        callbacks.append(("da_weight", DomainLossWeight(coefficient)))
    if len(plan_stages) > 1 and not fast:
        callbacks.append(("unfreeze", GradualUnfreezing(plan_stages)))
    if has_valid:
        patience = config.n_iter_no_change
        callbacks.append(
            (
                "early_stopping",
                skorch.callbacks.EarlyStopping(
                    monitor="valid_loss",
                    patience=patience
                    if patience is not None
                    else config.max_epochs + 1,
                    load_best=True,
                    sink=plain_print
                    if show_progress(config.verbose)
                    else skorch.utils.noop,
                ),
            )
        )
    # deep copies of the user's callbacks, so that fit never mutates them
    return callbacks + copy.deepcopy(list(config.callbacks))


def train(
    config,
    *,
    module,
    data,
    targets,
    weights,
    train_idx,
    valid_idx,
    device,
    precision,
    history=None,
    target_idx=None,
):
    """Train ``module`` in place on ``data`` as ``config`` says.

    ``target_idx``: positions of the unlabelled target rows (domain
    adaptation); ``targets`` and ``weights`` hold placeholders there.

    Returns
    -------
    result : TrainResult
        The skorch net, the names (in ``module``) of every parameter that
        trained and the state keys the adaptation changed.
    """
    plan = _plan(config, module)
    augment = config.spec.modality != "numeric" and config.augments(bool(plan.trained))
    fast = not plan.trained and not augment
    labelled_idx = np.sort(
        train_idx if valid_idx is None else np.r_[train_idx, valid_idx]
    )
    method, context = config.adaptation, None
    if method is not None:
        context = adaptation_context(
            config, module, data, labelled_idx, target_idx, device
        )
        check_adaptation(config, plan, context)
    if show_progress(config.verbose):
        _probe.announce(config, plan, fast, len(train_idx))
    module.to(device)
    if method is not None:
        method.before_training(context)
    rows = dict(targets=targets, weights=weights, train_idx=train_idx)
    if fast:
        setup = _head_setup(config, module, data, valid_idx, target_idx, **rows)
    else:
        setup = _network_setup(
            config, module, data, plan, augment, valid_idx, target_idx,
            probe=_probe.wants_probe(config, bool(plan.trained), history is not None),
            **rows,
        )  # fmt: skip
    net = _make_net(config, setup, fast, device, precision)
    net.initialize()
    if history is not None:
        net.history_ = history
    net.set_trainable(setup.stages[0][1])
    head_l2 = setup.head_l2
    if fast:  # a convex problem on fixed features: solved, not trained
        head_l2 = _probe.record_solved_head(
            net, config, module, setup.features, targets, weights, labelled_idx
        )
    else:
        net.partial_fit(setup.train_ds)
    trained = set().union(*(names for _, names in setup.stages))
    if fast:
        trained = {f"head.{name}" for name in trained}
    adapted = ()
    if method is not None:
        method.after_training(context)
        adapted = tuple(method.state_keys(module))
    return TrainResult(
        net=net, trained_names=frozenset(trained), head_l2=head_l2, adapted_keys=adapted
    )


@dataclass
class _Setup:
    """What the skorch net trains on: data, module, optimizer groups, stages."""

    train_ds: object
    valid_ds: object
    net_module: object
    groups: list
    stages: list
    collate: object = None
    adaptation: dict = field(default_factory=dict)  # domain_loss, target_data
    features: object = None  # frozen features (head-only training)
    head_l2: object = None  # the probe's L2 (LP-FT)


def _plan(config, module):
    return make_plan(
        module.backbone.model,
        config.spec.family,
        strategy=config.strategy,
        unfreeze=config.unfreeze,
        freeze=config.freeze,
        freeze_epochs=config.freeze_epochs,
        lr=config.lr,
        backbone_lr=config.backbone_lr,
        lr_decay=config.lr_decay,
        backbone_name=config.spec.name,
    )


def _head_setup(
    config, module, data, valid_idx, target_idx, *, targets, weights, train_idx
):
    """Head only, on frozen features computed once."""
    method = config.adaptation
    if method is not None and method.build_loss(module.head.in_features) is not None:
        raise ValueError(
            f"domain_adaptation={method_label(method)} adds a loss on the "
            f"backbone's features, but strategy={config.strategy!r} computes them "
            f"once and trains the head only: set requires_trainable_backbone = "
            f"True on the method, and use strategy='top', 'full' or 'gradual'"
        )
    features = _backbone_features(config, module, data, target_idx)
    head = [name for name, _ in module.head.named_parameters()]
    return _Setup(
        train_ds=_features_dataset(features, targets, weights, train_idx),
        valid_ds=None
        if valid_idx is None
        else _features_dataset(features, targets, weights, valid_idx),
        net_module=module.head,
        groups=[(head, config.lr)],
        stages=[(0, set(head))],
        features=features,
    )


def _network_setup(
    config, module, data, plan, augment, valid_idx, target_idx, *,
    probe, targets, weights, train_idx,
):  # fmt: skip
    """The whole network (head and the backbone's trained blocks) on raw inputs."""
    head_names = [f"head.{name}" for name, _ in module.head.named_parameters()]

    def labelled(positions, augmented):
        target, weight = _tensors(targets, weights, positions)
        inputs = config.input_dataset(data, positions, augmented)
        return LabelledDataset(inputs, target, weight)

    setup = _Setup(
        train_ds=labelled(train_idx, augment),
        valid_ds=None if valid_idx is None else labelled(valid_idx, False),
        net_module=module,
        groups=[(head_names, config.lr)]
        + [
            ([BODY_PREFIX + name for name in names], rate)
            for names, rate in plan.groups
        ],
        stages=[
            (start, set(head_names) | {BODY_PREFIX + name for name in names})
            for start, names in plan.stages
        ],
        collate=config.collate(module),
    )
    method = config.adaptation
    loss = None if method is None else method.build_loss(module.head.in_features)
    if loss is not None:
        names = [f"domain_loss_.{n}" for n, _ in loss.named_parameters()]
        setup.groups.append((names, config.lr))
        setup.adaptation = {
            "domain_loss": loss,
            "target_data": labelled(target_idx, augment),
        }
    if probe:  # LP-FT: the head starts from the probe solved on frozen features
        rows = [int(i) for i in train_idx]
        setup.head_l2 = _probe.probe_head(
            config,
            module,
            config.features(module.backbone, data, positions=rows),
            targets[train_idx],
            weights[train_idx],
            start_of_training=True,
        )
    return setup


def _iterator_kwargs(config, setup, fast, device, show):
    kwargs = {"iterator_train__shuffle": True}
    if not show:
        kwargs["callbacks__print_log"] = None  # no table to build
    else:  # skorch's table, without colour codes in logs
        kwargs["callbacks__print_log__sink"] = plain_print
    if setup.collate is not None:
        kwargs["iterator_train__collate_fn"] = setup.collate
        kwargs["iterator_valid__collate_fn"] = setup.collate
    workers = config.num_workers if not fast else 0
    if workers:
        kwargs["iterator_train__num_workers"] = workers
        kwargs["iterator_valid__num_workers"] = workers
    if device.type == "cuda":
        kwargs["iterator_train__pin_memory"] = True
    return kwargs


@functools.cache
def _has_fused_adamw(device_type):
    try:
        param = torch.zeros(1, device=device_type, requires_grad=True)
        torch.optim.AdamW([param], fused=True)
    except (RuntimeError, ValueError, TypeError):
        return False
    return True


def optimizer_defaults(config, device):
    """AdamW's fused kernel where the device has one, unless the user routes
    ``optimizer__fused`` or ``optimizer__foreach``: the same updates to float
    rounding, and on the CPU the step ran 4.4x faster for all-MiniLM-L6-v2
    (the default one-tensor-at-a-time loop took a fifth of a training step).
    """
    routed = config.routed_params
    if "optimizer__fused" in routed or "optimizer__foreach" in routed:
        return {}
    return {"optimizer__fused": True} if _has_fused_adamw(device.type) else {}


def _make_net(config, setup, fast, device, precision):
    helper = import_optional("skorch.helper")

    show = show_progress(config.verbose)
    adversarial = bool(setup.adaptation)
    valid_ds = setup.valid_ds
    return config.net_class(
        setup.net_module,
        config.criterion(),
        optimizer=torch.optim.AdamW,
        lr=config.lr,
        max_epochs=config.max_epochs,
        batch_size=config.batch_size,
        train_split=None if valid_ds is None else helper.predefined_split(valid_ds),
        callbacks=_callbacks(
            config, setup.stages, valid_ds is not None, fast, adversarial
        )
        + ([("progress", EpochProgress())] if show else []),
        verbose=int(show),
        device=str(device),
        param_groups=setup.groups,
        precision=precision,
        accumulation_steps=config.accumulation_steps,
        optimizer__weight_decay=config.weight_decay,
        **setup.adaptation,
        **{
            "predict_nonlinearity": None,
            **config.net_kwargs,
            **_iterator_kwargs(config, setup, fast, device, show),
            **optimizer_defaults(config, device),
            **config.routed_params,
        },
    )


def _backbone_features(config, module, data, target_idx):
    """Backbone features of the labelled rows (every row without target rows)."""
    if target_idx is None:
        return config.features(module.backbone, data)
    labelled_idx = np.setdiff1d(np.arange(len(data)), target_idx)
    out = config.features(module.backbone, data, positions=list(labelled_idx))
    features = np.zeros((len(data), out.shape[1]), dtype=out.dtype)
    features[labelled_idx] = out
    return features

"""One fit of a fine-tuning estimator: plan, datasets, skorch net, training.

Two paths:

* **fast path**: when no backbone parameter trains and no augmentation is
  asked for, the backbone's features are computed once (eval mode, batched,
  in the requested precision) and only the head is trained on them, so the
  epochs after the first cost almost nothing;
* **full path**: otherwise every batch runs the whole network; frozen parts
  stay in eval mode and get no gradients.

Domain adaptation (``estimator.domain_adaptation``) adds to either path:
DANN and Deep CORAL pair each source batch with a target batch and add their
loss (full path only: they need backbone parameters that train); AdaBN
re-estimates the BatchNorm statistics on the source rows before training and
on the target rows after it.
"""

import copy
from dataclasses import dataclass, field

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.engine._progress import plain_print, show_progress
from sktransfer.engine._progress_callback import EpochProgress
from sktransfer.finetune import _probe
from sktransfer.finetune._adaptation import (
    adapt_batchnorm,
    check_adaptation,
    domain_loss,
)
from sktransfer.finetune._blocks import make_plan
from sktransfer.finetune._module import BODY_PREFIX

torch = import_optional("torch")

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    net: object
    trained_names: set
    head_l2: float = None  # the solved head's penalty (None: head trained by SGD)


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


def _callbacks(estimator, plan_stages, has_valid, fast, adversarial):
    skorch = import_optional("skorch")
    from sktransfer.engine._callbacks import (
        DomainLossWeight,
        GradualUnfreezing,
        OneCycleSchedule,
        WarmupCosineLR,
    )

    if estimator.schedule == "onecycle":
        schedule = OneCycleSchedule(estimator.warmup_fraction)
    else:
        schedule = WarmupCosineLR(estimator.warmup_fraction, estimator.schedule)
    callbacks = [("lr_schedule", schedule)]
    if adversarial:
        callbacks.append(
            (
                "da_weight",
                DomainLossWeight(estimator.domain_adaptation, estimator.da_weight),
            )
        )
    if len(plan_stages) > 1 and not fast:
        callbacks.append(("unfreeze", GradualUnfreezing(plan_stages)))
    if has_valid:
        patience = estimator.n_iter_no_change
        callbacks.append(
            (
                "early_stopping",
                skorch.callbacks.EarlyStopping(
                    monitor="valid_loss",
                    patience=patience
                    if patience is not None
                    else estimator.max_epochs + 1,
                    load_best=True,
                    sink=plain_print
                    if show_progress(estimator.verbose)
                    else skorch.utils.noop,
                ),
            )
        )
    # deep copies of the user's callbacks, so that fit never mutates them
    return callbacks + copy.deepcopy(list(estimator.callbacks or []))


def train(
    estimator,
    *,
    spec,
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
    """Train ``module`` in place on ``data`` as ``estimator``'s parameters say.

    ``target_idx``: positions of the unlabelled target rows (domain
    adaptation); ``targets`` and ``weights`` hold placeholders there.

    Returns
    -------
    result : TrainResult
        The skorch net and the names (in ``module``) of every parameter that
        trained.
    """
    plan = _plan(estimator, module, spec)
    augment = spec.modality != "numeric" and estimator._augment_enabled(
        bool(plan.trained)
    )
    fast = not plan.trained and not augment
    check_adaptation(estimator, spec, module, plan, target_idx)
    if show_progress(estimator.verbose):
        _probe.announce(estimator, spec, plan, fast, len(train_idx))
    module.to(device)
    rows = dict(targets=targets, weights=weights, train_idx=train_idx)
    if estimator.domain_adaptation == "adabn":
        # each domain normalised with its own statistics: the source's in training
        labelled_idx = train_idx if valid_idx is None else np.r_[train_idx, valid_idx]
        adapt_batchnorm(estimator, module, data, np.sort(labelled_idx), spec, device)
    if fast:
        setup = _head_setup(
            estimator, module, data, spec, valid_idx, target_idx, **rows
        )
    else:
        setup = _network_setup(
            estimator, module, data, spec, plan, augment, valid_idx, target_idx,
            probe=_probe.wants_probe(estimator, bool(plan.trained), history is not None),
            **rows,
        )  # fmt: skip
    net = _make_net(estimator, module, setup, fast, device, precision)
    net.initialize()
    if history is not None:
        net.history_ = history
    net.set_trainable(setup.stages[0][1])
    head_l2 = setup.head_l2
    if fast:  # a convex problem on fixed features: solved, not trained
        labelled_idx = train_idx if valid_idx is None else np.r_[train_idx, valid_idx]
        head_l2 = _probe.record_solved_head(
            net, estimator, module, setup.features, targets, weights,
            np.sort(labelled_idx),
        )  # fmt: skip
    else:
        net.partial_fit(setup.train_ds)
    trained = set().union(*(names for _, names in setup.stages))
    if fast:
        trained = {f"head.{name}" for name in trained}
    if estimator.domain_adaptation == "adabn":
        # predictions normalise with the target's statistics
        adapt_batchnorm(estimator, module, data, target_idx, spec, device)
    return TrainResult(net=net, trained_names=trained, head_l2=head_l2)


@dataclass
class _Setup:
    """What the skorch net trains on: data, module, optimizer groups, stages."""

    train_ds: object
    valid_ds: object
    net_module: object
    groups: list
    stages: list
    collate: object = None
    adaptation: dict = field(default_factory=dict)  # DANN / Deep CORAL arguments
    features: object = None  # frozen features (head-only training)
    head_l2: object = None  # the probe's L2 (LP-FT)


def _plan(estimator, module, spec):
    return make_plan(
        module.backbone.model,
        spec.family,
        strategy=estimator.strategy,
        unfreeze=estimator.unfreeze,
        freeze=estimator.freeze,
        freeze_epochs=estimator.freeze_epochs,
        lr=estimator.lr,
        backbone_lr=estimator.backbone_lr,
        lr_decay=estimator.lr_decay,
        backbone_name=spec.name,
    )


def _head_setup(
    estimator, module, data, spec, valid_idx, target_idx, *, targets, weights, train_idx
):
    """Head only, on frozen features computed once."""
    features = _backbone_features(estimator, module, data, spec, target_idx)
    head = [name for name, _ in module.head.named_parameters()]
    return _Setup(
        train_ds=_features_dataset(features, targets, weights, train_idx),
        valid_ds=None
        if valid_idx is None
        else _features_dataset(features, targets, weights, valid_idx),
        net_module=module.head,
        groups=[(head, estimator.lr)],
        stages=[(0, set(head))],
        features=features,
    )


def _network_setup(
    estimator, module, data, spec, plan, augment, valid_idx, target_idx, *,
    probe, targets, weights, train_idx,
):  # fmt: skip
    """The whole network (head and the backbone's trained blocks) on raw inputs."""
    head_names = [f"head.{name}" for name, _ in module.head.named_parameters()]

    def labelled(positions, augmented):
        target, weight = _tensors(targets, weights, positions)
        inputs = estimator._input_dataset(data, positions, augmented, spec)
        return LabelledDataset(inputs, target, weight)

    setup = _Setup(
        train_ds=labelled(train_idx, augment),
        valid_ds=None if valid_idx is None else labelled(valid_idx, False),
        net_module=module,
        groups=[(head_names, estimator.lr)]
        + [
            ([BODY_PREFIX + name for name in names], rate)
            for names, rate in plan.groups
        ],
        stages=[
            (start, set(head_names) | {BODY_PREFIX + name for name in names})
            for start, names in plan.stages
        ],
        collate=estimator._collate(module, spec),
    )
    if estimator.domain_adaptation in ("dann", "coral"):
        loss = domain_loss(estimator.domain_adaptation, module.head.in_features)
        names = [f"domain_loss_.{n}" for n, _ in loss.named_parameters()]
        setup.groups.append((names, estimator.lr))
        setup.adaptation = {
            "domain_loss": loss,
            "target_data": labelled(target_idx, augment),
        }
    if probe:  # LP-FT: the head starts from the probe solved on frozen features
        rows = [int(i) for i in train_idx]
        setup.head_l2 = _probe.probe_head(
            estimator,
            module,
            estimator._run(module.backbone, data, spec, positions=rows),
            targets[train_idx],
            weights[train_idx],
        )
    return setup


def _iterator_kwargs(estimator, setup, fast, device, show):
    kwargs = {"iterator_train__shuffle": True}
    if not show:
        kwargs["callbacks__print_log"] = None  # no table to build
    else:  # skorch's table, without colour codes in logs
        kwargs["callbacks__print_log__sink"] = plain_print
    if setup.collate is not None:
        kwargs["iterator_train__collate_fn"] = setup.collate
        kwargs["iterator_valid__collate_fn"] = setup.collate
    workers = getattr(estimator, "num_workers", 0) if not fast else 0
    if workers:
        kwargs["iterator_train__num_workers"] = workers
        kwargs["iterator_valid__num_workers"] = workers
    if device.type == "cuda":
        kwargs["iterator_train__pin_memory"] = True
    return kwargs


def _make_net(estimator, module, setup, fast, device, precision):
    helper = import_optional("skorch.helper")
    from sktransfer.engine import _training

    show = show_progress(estimator.verbose)
    adversarial = bool(setup.adaptation)
    net_class, net_kwargs = estimator._net_class(module.head.out_features)
    valid_ds = setup.valid_ds
    return getattr(_training, net_class)(
        setup.net_module,
        estimator._criterion(),
        optimizer=torch.optim.AdamW,
        lr=estimator.lr,
        max_epochs=estimator.max_epochs,
        batch_size=estimator.batch_size,
        train_split=None if valid_ds is None else helper.predefined_split(valid_ds),
        callbacks=_callbacks(
            estimator, setup.stages, valid_ds is not None, fast, adversarial
        )
        + ([("progress", EpochProgress())] if show else []),
        verbose=int(show),
        device=str(device),
        param_groups=setup.groups,
        precision=precision,
        accumulation_steps=estimator.accumulation_steps,
        optimizer__weight_decay=estimator.weight_decay,
        **setup.adaptation,
        **{
            "predict_nonlinearity": None,
            **net_kwargs,
            **_iterator_kwargs(estimator, setup, fast, device, show),
            **estimator._routed_params(),
        },
    )


def _backbone_features(estimator, module, data, spec, target_idx):
    """Backbone features of the labelled rows (every row without target rows)."""
    if target_idx is None:
        return estimator._run(module.backbone, data, spec)
    labelled_idx = np.setdiff1d(np.arange(len(data)), target_idx)
    out = estimator._run(module.backbone, data, spec, positions=list(labelled_idx))
    features = np.zeros((len(data), out.shape[1]), dtype=out.dtype)
    features[labelled_idx] = out
    return features

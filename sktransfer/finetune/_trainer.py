"""One fit of a fine-tuning estimator: plan, datasets, skorch net, training.

Two paths:

* **fast path**: when no backbone parameter trains and no augmentation is
  asked for, the backbone's features are computed once (eval mode, batched,
  in the requested precision) and only the head is trained on them, so the
  epochs after the first cost almost nothing;
* **full path**: otherwise every batch runs the whole network; frozen parts
  stay in eval mode and get no gradients.
"""

from dataclasses import dataclass

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.finetune._blocks import make_plan
from sktransfer.finetune._module import BODY_PREFIX

torch = import_optional("torch")

__all__ = ["TrainResult", "train"]


@dataclass
class TrainResult:
    net: object
    trained_names: set


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


def _callbacks(estimator, plan_stages, has_valid, fast):
    skorch = import_optional("skorch")
    from sktransfer.engine._callbacks import GradualUnfreezing, WarmupCosineLR
    from sktransfer.finetune._base import copy_callbacks

    callbacks = [
        ("lr_schedule", WarmupCosineLR(estimator.warmup_fraction, estimator.schedule))
    ]
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
                    sink=print if estimator.verbose else skorch.utils.noop,
                ),
            )
        )
    return callbacks + copy_callbacks(estimator.callbacks)


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
):
    """Train ``module`` in place on ``data`` as ``estimator``'s parameters say.

    Returns
    -------
    result : TrainResult
        The skorch net and the names (in ``module``) of every parameter that
        trained.
    """
    helper = import_optional("skorch.helper")
    from sktransfer.engine import _training

    plan = make_plan(
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
    augment = spec.modality != "numeric" and estimator._augment_enabled(
        bool(plan.trained)
    )
    fast = not plan.trained and not augment
    module.to(device)
    head_names = [f"head.{name}" for name, _ in module.head.named_parameters()]
    if fast:
        features = estimator._run(module.backbone, data, spec)
        train_ds = _features_dataset(features, targets, weights, train_idx)
        valid_ds = (
            None
            if valid_idx is None
            else _features_dataset(features, targets, weights, valid_idx)
        )
        net_module = module.head
        groups = [([name for name, _ in module.head.named_parameters()], estimator.lr)]
        stages = [(0, {name[len("head.") :] for name in head_names})]
        collate = None
    else:

        def labelled(positions, augmented):
            target, weight = _tensors(targets, weights, positions)
            inputs = estimator._input_dataset(data, positions, augmented, spec)
            return LabelledDataset(inputs, target, weight)

        train_ds = labelled(train_idx, augment)
        valid_ds = None if valid_idx is None else labelled(valid_idx, False)
        net_module = module
        groups = [(head_names, estimator.lr)] + [
            ([BODY_PREFIX + name for name in names], rate)
            for names, rate in plan.groups
        ]
        stages = [
            (start, set(head_names) | {BODY_PREFIX + name for name in names})
            for start, names in plan.stages
        ]
        collate = estimator._collate(module, spec)

    iterator_kwargs = {"iterator_train__shuffle": True}
    if not estimator.verbose:
        iterator_kwargs["callbacks__print_log"] = None  # no table to build
    if collate is not None:
        iterator_kwargs["iterator_train__collate_fn"] = collate
        iterator_kwargs["iterator_valid__collate_fn"] = collate
    workers = getattr(estimator, "num_workers", 0) if not fast else 0
    if workers:
        iterator_kwargs["iterator_train__num_workers"] = workers
        iterator_kwargs["iterator_valid__num_workers"] = workers
    if device.type == "cuda":
        iterator_kwargs["iterator_train__pin_memory"] = True
    net_class, net_kwargs = estimator._net_class(module.head.out_features)
    net = getattr(_training, net_class)(
        net_module,
        estimator._criterion(),
        optimizer=torch.optim.AdamW,
        lr=estimator.lr,
        max_epochs=estimator.max_epochs,
        batch_size=estimator.batch_size,
        train_split=None if valid_ds is None else helper.predefined_split(valid_ds),
        callbacks=_callbacks(estimator, stages, valid_ds is not None, fast),
        verbose=estimator.verbose,
        device=str(device),
        param_groups=groups,
        precision=precision,
        accumulation_steps=estimator.accumulation_steps,
        optimizer__weight_decay=estimator.weight_decay,
        **{
            "predict_nonlinearity": None,
            **net_kwargs,
            **iterator_kwargs,
            **estimator._routed_params(),
        },
    )
    net.initialize()
    if history is not None:
        net.history_ = history
    net.set_trainable(stages[0][1])
    net.partial_fit(train_ds)
    trained = set().union(*(names for _, names in stages))
    if fast:
        trained = {f"head.{name}" for name in trained}
    return TrainResult(net=net, trained_names=trained)

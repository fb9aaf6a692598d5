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

from dataclasses import dataclass

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.engine._progress import plain_print, show_progress
from sktransfer.engine._progress_callback import EpochProgress
from sktransfer.finetune import _probe
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
    from sktransfer.finetune._base import copy_callbacks

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
    method = estimator.domain_adaptation
    adversarial = method in ("dann", "coral")
    _check_adaptation(estimator, spec, module, plan, target_idx)
    if estimator.verbose:
        _probe.announce(estimator, spec, plan, fast, len(train_idx))
    module.to(device)
    head_names = [f"head.{name}" for name, _ in module.head.named_parameters()]
    adaptation = {}  # the TransferNet arguments of DANN / Deep CORAL
    head_l2 = None
    if method == "adabn":
        # each domain normalised with its own statistics: the source's in training
        labelled_idx = train_idx if valid_idx is None else np.r_[train_idx, valid_idx]
        _adapt_batchnorm(estimator, module, data, np.sort(labelled_idx), spec, device)
    if fast:
        features = _backbone_features(estimator, module, data, spec, target_idx)
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
        if adversarial:
            domain_loss = _domain_loss(method, module.head.in_features)
            groups.append(
                (
                    [f"domain_loss_.{n}" for n, _ in domain_loss.named_parameters()],
                    estimator.lr,
                )
            )
            adaptation = {
                "domain_loss": domain_loss,
                "target_data": labelled(target_idx, augment),
            }
        stages = [
            (start, set(head_names) | {BODY_PREFIX + name for name in names})
            for start, names in plan.stages
        ]
        collate = estimator._collate(module, spec)
        if _probe.wants_probe(estimator, bool(plan.trained), history is not None):
            # LP-FT: the head starts from the probe solved on frozen features
            rows = [int(i) for i in train_idx]
            head_l2 = _probe.probe_head(
                estimator,
                module,
                estimator._run(module.backbone, data, spec, positions=rows),
                targets[train_idx],
                weights[train_idx],
            )

    iterator_kwargs = {"iterator_train__shuffle": True}
    show = show_progress(estimator.verbose)
    if not show:
        iterator_kwargs["callbacks__print_log"] = None  # no table to build
    else:  # skorch's table, without colour codes in logs
        iterator_kwargs["callbacks__print_log__sink"] = plain_print
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
        callbacks=_callbacks(estimator, stages, valid_ds is not None, fast, adversarial)
        + ([("progress", EpochProgress())] if show else []),
        verbose=int(show),
        device=str(device),
        param_groups=groups,
        precision=precision,
        accumulation_steps=estimator.accumulation_steps,
        optimizer__weight_decay=estimator.weight_decay,
        **adaptation,
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
    if fast:  # a convex problem on fixed features: solved, not trained
        labelled_idx = train_idx if valid_idx is None else np.r_[train_idx, valid_idx]
        head_l2 = _probe.record_solved_head(
            net, estimator, module, features, targets, weights, np.sort(labelled_idx)
        )
    else:
        net.partial_fit(train_ds)
    trained = set().union(*(names for _, names in stages))
    if fast:
        trained = {f"head.{name}" for name in trained}
    if method == "adabn":
        # predictions normalise with the target's statistics
        _adapt_batchnorm(estimator, module, data, target_idx, spec, device)
    return TrainResult(net=net, trained_names=trained, head_l2=head_l2)


def _backbone_features(estimator, module, data, spec, target_idx):
    """Backbone features of the labelled rows (every row without target rows)."""
    if target_idx is None:
        return estimator._run(module.backbone, data, spec)
    labelled_idx = np.setdiff1d(np.arange(len(data)), target_idx)
    out = estimator._run(module.backbone, data, spec, positions=list(labelled_idx))
    features = np.zeros((len(data), out.shape[1]), dtype=out.dtype)
    features[labelled_idx] = out
    return features


def _domain_loss(method, n_features):
    from sktransfer.finetune._adaptation import CORALLoss, DANNLoss

    return DANNLoss(n_features) if method == "dann" else CORALLoss()


def _check_adaptation(estimator, spec, module, plan, target_idx):
    """Clear errors for a domain adaptation option the set-up cannot honour."""
    from sktransfer.finetune._adaptation import batchnorm_layers

    method = estimator.domain_adaptation
    if method is None:
        return
    if target_idx is None or len(target_idx) == 0:
        raise ValueError(f"domain_adaptation={method!r} needs target rows")
    if method in ("dann", "coral") and not plan.trained:
        raise ValueError(
            f"domain_adaptation={method!r} aligns the backbone's features by "
            f"training the backbone, but strategy={estimator.strategy!r} (with "
            f"freeze={estimator.freeze!r}) trains no parameter of backbone "
            f"{spec.name!r}, so the features cannot move. Use strategy='top', "
            f"'full' or 'gradual'; or domain_adaptation='adabn'; or align frozen "
            f"embeddings with an adapter (sktransfer.adapt.CORALAdapter, ...)."
        )
    if method == "adabn" and not batchnorm_layers(module.backbone):
        raise ValueError(
            f"domain_adaptation='adabn' re-estimates BatchNorm statistics on the "
            f"target rows, but backbone {spec.name!r} has no BatchNorm layer "
            f"(transformers use LayerNorm). Use domain_adaptation='dann' or "
            f"'coral' with strategy='top' or 'full' instead."
        )
    if method == "adabn" and len(target_idx) < 2:
        raise ValueError(
            "domain_adaptation='adabn' needs at least 2 target rows to estimate "
            f"BatchNorm statistics, got {len(target_idx)}"
        )


def _adapt_batchnorm(estimator, module, data, positions, spec, device):
    """AdaBN: BatchNorm statistics of ``module.backbone`` from the rows at ``positions``."""
    from sktransfer.finetune._adaptation import even_batches, reestimate_batchnorm

    positions = [int(p) for p in positions]
    dataset = estimator._input_dataset(data, positions, False, spec)
    collate = None
    if spec.modality == "text":
        from sktransfer.finetune._module import TextCollate

        collate = TextCollate(estimator._tokenizer(module), with_targets=False)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_sampler=even_batches(len(positions), estimator.batch_size),
        collate_fn=collate,
        num_workers=getattr(estimator, "num_workers", 0),
    )
    reestimate_batchnorm(module.backbone.to(device), loader, device)

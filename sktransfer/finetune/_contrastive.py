"""``strategy="contrastive"``: a contrastive fit of the body, then a solved head.

Few-shot classification as in SetFit (Tunstall et al., 2022) and supervised
contrastive learning (Khosla et al., 2020):

1. the backbone (less the ``freeze`` patterns) trains on a contrastive
   objective built from the labelled rows: pairs with a cosine-similarity
   loss (texts, by default; the whole body trains, as in SetFit) or two
   augmented views per item with the SupCon loss (images, by default; only
   the top block trains and normalisation layers stay frozen, in eval mode:
   see ``IMAGE_RECIPE`` and ``benchmarks/results/fewshot_images.md``). Each epoch is one round of freshly drawn,
   class-balanced pairs (see `sktransfer.finetune._pairs`); the loop is the
   engine's `TransferNet` (schedule, precision, callbacks, history);
2. the features of the trained body are computed once and the linear head is
   solved on them: multinomial logistic regression with an L2 penalty, by
   L-BFGS (`sktransfer.finetune._head.solve_head`).

Early stopping watches the contrastive loss on pairs of the validation rows,
only when every class has at least ``MIN_VALIDATION_PER_CLASS`` validation
rows (else they train too).
"""

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.engine._progress import plain_print, show_progress
from sktransfer.finetune._blocks import make_plan
from sktransfer.finetune._config import TrainResult
from sktransfer.finetune._da_methods import method_label
from sktransfer.finetune._module import BODY_PREFIX
from sktransfer.finetune._pairs import (
    ContrastiveModule,
    CosinePairLoss,
    PairCollate,
    PairDataset,
    SupConLoss,
    n_rounds,
    sample_pairs,
    sample_views,
)

torch = import_optional("torch")
skorch = import_optional("skorch")

__all__ = ["BODY_LR", "resolve_loss", "train"]

# default learning rate of the body (SetFit's for sentence-transformers)
BODY_LR = {"text": 2e-5, "image": 1e-4}

# Early stopping needs this many validation rows in every class; below, they
# train. At 64 sentences per class (6 or 7 validation rows per class at the
# default validation_fraction=0.1) the loss of their few pairs stopped the
# fit at an early round and cost 0.014 to 0.030 accuracy on amazon and yelp
# (benchmarks/results/fewshot_64_validation.md). 25 is a judgment: the
# larger sizes were not measured.
MIN_VALIDATION_PER_CLASS = 25

# How an image body trains (texts train the whole body, as SetFit does):
# ``top_blocks``, the number of top blocks that train (None: the whole body,
# less ``freeze``); ``freeze_norm``, normalisation layers frozen and in eval
# mode (their running statistics kept); ``crop_scale``, the area range of the
# random resized crop giving the two views. Chosen from the few-shot sweep
# (benchmarks/fewshot_images.py): the whole body with BatchNorm training lost
# 0.10 to the frozen probe on Fashion-MNIST (8 per class), the top block with
# frozen norms did not.
IMAGE_RECIPE = {"top_blocks": 1, "freeze_norm": True, "crop_scale": (0.35, 1.0)}


class NextRound(skorch.callbacks.Callback):
    """Serve the next round of pairs at the start of every epoch."""

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        dataset_train.epoch = len(net.history) - 1


def resolve_loss(loss, modality):
    """``contrastive_loss`` with ``"auto"`` resolved (SupCon for images)."""
    if loss != "auto":
        return loss
    return "supcon" if modality == "image" else "cosine"


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
    """Train ``module``'s body contrastively, then solve its head (in place).

    Same arguments and result as `sktransfer.finetune._trainer.train`.
    """
    if config.adaptation is not None:
        raise ValueError(
            f"strategy='contrastive' does not combine with domain_adaptation="
            f"{method_label(config.adaptation)}; use strategy='top' or 'full'"
        )
    seed = int(torch.randint(np.iinfo(np.int32).max, (1,)).item())
    random_state = np.random.RandomState(seed)
    if valid_idx is not None and not _enough_to_validate(targets, valid_idx):
        train_idx, valid_idx = np.sort(np.r_[train_idx, valid_idx]), None
    loss = resolve_loss(config.contrastive_loss, config.modality)
    plan = _body_plan(config, module)
    module.to(device)
    train_ds = _pair_dataset(
        config, data, targets, weights, train_idx, loss, random_state
    )
    valid_ds = None
    if valid_idx is not None:
        valid_ds = _pair_dataset(
            config, data, targets, weights, valid_idx, loss, random_state,
            validation=True,
        )  # fmt: skip
    net = _make_net(config, module, plan, loss, (train_ds, valid_ds), device, precision)
    net.initialize()
    if history is not None:
        net.history_ = history
    net.set_trainable({BODY_PREFIX + name for name in plan.trained})
    net.partial_fit(train_ds)
    labelled = train_idx if valid_idx is None else np.sort(np.r_[train_idx, valid_idx])
    l2 = _solve_head(config, module, data, targets, weights, labelled, seed)
    trained = {BODY_PREFIX + name for name in plan.trained}
    trained |= {f"head.{name}" for name, _ in module.head.named_parameters()}
    # head_l2: the strength used (chosen by CV with "auto")
    return TrainResult(net=net, trained_names=frozenset(trained), head_l2=l2)


def _enough_to_validate(targets, valid_idx):
    """Whether every class has ``MIN_VALIDATION_PER_CLASS`` validation rows."""
    counts = np.bincount(targets[valid_idx], minlength=int(targets.max()) + 1)
    return counts.min() >= MIN_VALIDATION_PER_CLASS


def _body_plan(config, module):
    spec = config.spec
    modality = "image" if config.modality == "image" else "text"
    rate = config.backbone_lr or BODY_LR[modality]
    body = module.backbone.model
    strategy, unfreeze, freeze = "full", "all", config.freeze
    if modality == "image" and spec.modality == "image":
        strategy, unfreeze, freeze = _image_recipe(body, spec, freeze)
    plan = make_plan(
        body,
        spec.family,
        strategy=strategy,
        unfreeze=unfreeze,
        freeze=freeze,
        freeze_epochs=0,
        lr=rate,
        backbone_lr=rate,
        lr_decay=1.0,  # one rate for the whole body, as SetFit
        backbone_name=spec.name,
    )
    if not plan.trained:
        raise ValueError(
            f"strategy='contrastive' trains the backbone, but freeze="
            f"{config.freeze!r} freezes every parameter of {spec.name!r}"
        )
    return plan


def _image_recipe(body, spec, freeze):
    """``IMAGE_RECIPE`` as make_plan's ``strategy``, ``unfreeze``, ``freeze``."""
    from sktransfer.finetune._blocks import _is_norm, find_blocks

    freeze = [] if freeze is None else [freeze] if isinstance(freeze, str) else freeze
    freeze = list(freeze)
    if IMAGE_RECIPE["freeze_norm"]:
        freeze += [
            f"{name}.{parameter}"
            for name, layer in body.named_modules()
            if _is_norm(layer)
            for parameter, _ in layer.named_parameters(recurse=False)
        ]
    top = IMAGE_RECIPE["top_blocks"]
    structure = find_blocks(body, spec.family) if top is not None else None
    if structure is None:
        return "full", "all", freeze or None
    return "top", min(top, len(structure.labels)), freeze or None


def _pair_dataset(
    config, data, targets, weights, positions, loss, random_state, validation=False
):
    labels = targets[positions]
    iterations = 1 if validation else config.contrastive_iterations
    if loss == "cosine":
        rounds = sample_pairs(labels, n_rounds(labels, iterations), random_state)
    else:
        rounds = sample_views(labels, iterations, random_state)
    augment = not validation and config.augments(True)
    inputs = None
    if augment and config.spec.modality == "image":
        inputs = config.image_views(data, positions, IMAGE_RECIPE["crop_scale"])
    if inputs is None:
        inputs = config.input_dataset(data, list(positions), augment)
    return PairDataset(inputs, rounds, weights[positions], loss == "cosine")


def _make_net(config, module, plan, loss, datasets, device, precision):
    from sktransfer.engine._training import TransferNet
    from sktransfer.finetune._trainer import _callbacks, optimizer_defaults

    helper = import_optional("skorch.helper")
    train_ds, valid_ds = datasets
    distance = config.contrastive_distance
    criterion = CosinePairLoss if loss == "cosine" else SupConLoss
    criterion_kwargs = {} if loss == "cosine" else {"criterion__distance": distance}
    # a list of inputs -> the backbone's batch
    collate = PairCollate(config.input_collate(module) or torch.stack)
    callbacks = _callbacks(config, [(0, set())], valid_ds is not None, True, False)
    iterator_kwargs = {
        "iterator_train__shuffle": True,
        "iterator_train__collate_fn": collate,
        "iterator_valid__collate_fn": collate,
    }
    show = show_progress(config.verbose)
    if not show:
        iterator_kwargs["callbacks__print_log"] = None
    else:  # skorch's table, without colour codes in logs
        iterator_kwargs["callbacks__print_log__sink"] = plain_print
    workers = config.num_workers
    if workers:
        iterator_kwargs["iterator_train__num_workers"] = workers
        iterator_kwargs["iterator_valid__num_workers"] = workers
    groups = [
        ([BODY_PREFIX + name for name in names], rate) for names, rate in plan.groups
    ]
    return TransferNet(
        ContrastiveModule(module.backbone, loss, distance),
        criterion,
        optimizer=torch.optim.AdamW,
        lr=groups[0][1],
        max_epochs=len(train_ds.rounds),
        batch_size=max(1, config.batch_size // 2),  # pairs: two inputs each
        train_split=None if valid_ds is None else helper.predefined_split(valid_ds),
        callbacks=[*callbacks, ("next_round", NextRound())],
        verbose=int(show),
        device=str(device),
        param_groups=groups,
        precision=precision,
        accumulation_steps=config.accumulation_steps,
        optimizer__weight_decay=config.weight_decay,
        **{
            **criterion_kwargs,
            **iterator_kwargs,
            **optimizer_defaults(config, device),
            **config.routed_params,
        },
    )


def _solve_head(config, module, data, targets, weights, positions, seed):
    """Fit ``module.head`` exactly on the trained body's features; the L2 used."""
    from sktransfer.finetune._head import solve_head

    features = config.features(module.backbone, data, positions=list(positions))
    weight, bias, l2 = solve_head(
        features,
        targets[positions],
        "classification",
        config.head_l2,
        sample_weight=weights[positions],
        n_classes=module.head.out_features,
        random_state=seed,
        return_l2=True,
    )
    with torch.no_grad():
        module.head.weight.copy_(torch.from_numpy(weight))
        module.head.bias.copy_(torch.from_numpy(bias))
    return l2

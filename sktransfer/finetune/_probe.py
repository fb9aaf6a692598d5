"""The solved head inside fine-tuning: ``strategy="head"`` and LP-FT.

* With nothing of the backbone training (``strategy="head"`` without
  augmentation: the fast path), the head is the solution of a convex problem
  on features computed once: `solve_head` replaces the epochs of AdamW.
* With ``top``, ``full`` and ``gradual`` and ``head_init="probe"``, the head
  starts from that solution on the pretrained backbone's features of the
  training rows (linear probing, then fine-tuning: LP-FT, Kumar et al., 2022),
  so the first epochs' gradients from a random head do not distort the
  pretrained features.
"""

import time

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.engine._progress import show_progress
from sktransfer.finetune._head import solve_head

__all__ = ["announce", "probe_head", "record_solved_head", "wants_probe"]


def wants_probe(config, backbone_trains, warm):
    """Whether the head starts from the solved probe before fine-tuning."""
    return backbone_trains and not warm and config.head_init == "probe"


def probe_head(config, module, features, targets, weights, start_of_training=False):
    """Solve the head on ``features`` and copy it into ``module.head``.

    ``config`` is the fit's `sktransfer.finetune._config.TrainingConfig`.
    ``start_of_training``: the head is LP-FT's starting point, so
    ``head_l2="auto"`` takes the lowest validation loss over 5 folds (see
    `solve_head`'s ``rule``), not the one-standard-error choice.

    Returns
    -------
    l2 : float
        The penalty used (chosen by cross-validation with ``head_l2="auto"``).
    """
    torch = import_optional("torch")
    start = time.perf_counter()
    task = config.task
    weight, bias, l2 = solve_head(
        features,
        targets,
        task,
        l2=config.head_l2,
        sample_weight=weights,
        n_classes=module.head.out_features if task == "classification" else None,
        random_state=0,
        return_l2=True,
        **({"cv": 5, "rule": "min"} if start_of_training else {}),
    )
    head = module.head
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(weight).to(head.weight))
        head.bias.copy_(torch.from_numpy(bias).to(head.bias))
    if show_progress(config.verbose):
        kind = "multinomial logistic" if task == "classification" else "ridge"
        print(
            f"{config.name}(strategy={config.strategy!r}): head "
            f"solved ({kind}, L-BFGS / closed form) on {len(features)} rows x "
            f"{features.shape[1]} features, l2={l2:.3g} "
            f"(C={1 / max(l2 * weights.sum(), 1e-300):.3g}) in "
            f"{time.perf_counter() - start:.2f} s"
        )
    return l2


def record_solved_head(net, config, module, features, targets, weights, rows):
    """Solve the head (fast path) and record it as one epoch of ``net``."""
    torch = import_optional("torch")
    start = time.perf_counter()
    features, targets, weights = features[rows], targets[rows], weights[rows]
    l2 = probe_head(config, module, features, targets, weights)
    with torch.no_grad():
        device = module.head.weight.device
        outputs = module.head(torch.from_numpy(features).to(device))
        target = torch.from_numpy(np.ascontiguousarray(targets)).to(device)
        weight = torch.from_numpy(np.ascontiguousarray(weights)).to(device)
        loss = net.criterion_(outputs, target, weight)
    history = net.history_
    history.new_epoch()
    history.record("epoch", len(history))
    history.record("train_loss", float(loss))
    history.record("head_l2", l2)
    history.record("dur", time.perf_counter() - start)
    return l2


def announce(config, plan, fast, n_train):
    """The verbose line that says what this fit is about to do."""
    name, spec = config.name, config.spec
    if fast:
        what = "backbone frozen, features computed once, head solved"
    else:
        trains = (
            f"{len(plan.trained)} backbone tensors ({spec.name})"
            if plan.trained
            else "the head only (augmented inputs)"
        )
        what = (
            f"training {trains} for up to {config.max_epochs} epochs, "
            f"head lr {config.lr:g}, schedule {config.schedule!r}"
        )
        if plan.trained and config.head_init == "probe":
            what = "head solved first (LP-FT), then " + what
    print(f"{name}: strategy={config.strategy!r} on {n_train} rows: {what}")

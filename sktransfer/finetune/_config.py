"""What a fine-tuning estimator hands to its trainer, and what it gets back.

The trainers (`sktransfer.finetune._trainer`, `sktransfer.finetune._contrastive`)
read a `TrainingConfig` (option values and the few callables that depend on
the estimator's kind: inputs, collation, feature extraction, loss, net class)
and return a `TrainResult`; they never read the estimator. The estimator
builds the config in ``fit`` with `training_config`.
"""

import functools
from dataclasses import dataclass, field

from sklearn.base import is_classifier

from sktransfer.finetune._da_methods import resolve_method

__all__ = ["TrainResult", "TrainingConfig", "training_config"]


@dataclass(frozen=True)
class TrainingConfig:
    """Everything one fit's training needs to know (frozen: read, never written).

    Options are the estimator's parameters of the same names (resolved:
    ``adaptation`` is a fresh `DomainAdaptationMethod` or None; the trainer
    deep-copies ``callbacks`` before use). Callables, each bound to the backbone spec:

    * ``input_dataset(data, positions, augmented)``: a dataset of network
      inputs for the rows at ``positions``;
    * ``collate(module)``: the DataLoader ``collate_fn`` of labelled batches
      (None: torch's default); ``input_collate(module)``: the same for lists
      of inputs without targets;
    * ``features(part, data, positions=None)``: ``part`` (the module or its
      backbone) run over the rows in eval mode, as a float array;
    * ``criterion()``: a fresh loss module;
    * ``augments(backbone_trains)``: whether training inputs are augmented;
    * ``image_views(data, positions, crop_scale)``: contrastive training
      images with random crops at ``crop_scale``, or None (a user's
      ``augment`` callable, or not images: ``input_dataset`` applies).
    """

    name: str  # the estimator's class name, for messages
    task: str  # "classification" or "regression"
    modality: str  # the estimator's input kind ("image", "text")
    spec: object
    strategy: str
    unfreeze: object
    freeze: object
    freeze_epochs: int
    lr: float
    backbone_lr: object
    lr_decay: float
    weight_decay: float
    schedule: str
    warmup_fraction: float
    max_epochs: int
    batch_size: int
    accumulation_steps: int
    n_iter_no_change: object
    head_l2: object
    head_init: str
    verbose: object
    num_workers: int
    callbacks: tuple
    routed_params: dict
    adaptation: object
    da_weight: float
    input_dataset: object
    collate: object
    input_collate: object
    features: object
    criterion: object
    net_class: type
    net_kwargs: dict
    augments: object
    contrastive_iterations: int = None
    contrastive_loss: str = None
    contrastive_distance: str = None
    image_views: object = None


@dataclass(frozen=True)
class TrainResult:
    """What training produced.

    Attributes
    ----------
    net : skorch.NeuralNet
        The trained net (its ``history_`` included).
    trained_names : frozenset of str
        Names (in the module) of every parameter that trained.
    head_l2 : float or None
        The solved head's penalty (None: the head trained by SGD from a
        random start).
    adapted_keys : tuple of str
        State keys changed outside training (AdaBN's re-estimated
        BatchNorm statistics), so that pickles store them.
    """

    net: object
    trained_names: frozenset
    head_l2: float = None
    adapted_keys: tuple = field(default_factory=tuple)


def training_config(estimator, spec, n_outputs):
    """The `TrainingConfig` of ``estimator``'s next fit on backbone ``spec``."""
    params = estimator.get_params(deep=False)
    net_class, net_kwargs = estimator._net_class(n_outputs)
    return TrainingConfig(
        name=type(estimator).__name__,
        task="classification" if is_classifier(estimator) else "regression",
        modality=estimator._modality,
        spec=spec,
        **{
            key: params[key]
            for key in (
                "strategy",
                "unfreeze",
                "freeze",
                "freeze_epochs",
                "lr",
                "backbone_lr",
                "lr_decay",
                "weight_decay",
                "schedule",
                "warmup_fraction",
                "max_epochs",
                "batch_size",
                "accumulation_steps",
                "n_iter_no_change",
                "head_l2",
                "head_init",
                "verbose",
                "da_weight",
            )
        },  # fmt: skip
        num_workers=params.get("num_workers", 0),  # texts have none
        callbacks=tuple(estimator.callbacks or ()),  # copied by the trainer
        routed_params=estimator._routed_params(),
        adaptation=resolve_method(estimator.domain_adaptation),
        input_dataset=functools.partial(_input_dataset, estimator, spec),
        collate=functools.partial(estimator._collate, spec=spec),
        input_collate=functools.partial(_input_collate, estimator, spec),
        features=functools.partial(_features, estimator, spec),
        criterion=estimator._criterion,
        net_class=net_class,
        net_kwargs=net_kwargs,
        augments=estimator._augment_enabled,
        contrastive_iterations=params.get("contrastive_iterations"),
        contrastive_loss=params.get("contrastive_loss"),
        contrastive_distance=params.get("contrastive_distance"),
        image_views=functools.partial(_image_views, estimator, spec),
    )


def _input_dataset(estimator, spec, data, positions, augmented):
    return estimator._input_dataset(data, positions, augmented, spec)


def _image_views(estimator, spec, data, positions, crop_scale):
    """Training images with random crops at ``crop_scale`` (contrastive views);
    None where the estimator's own augmentation applies (a callable
    ``augment``) or the inputs are not images."""
    if spec.modality != "image" or callable(getattr(estimator, "augment", None)):
        return None
    from sktransfer.engine._augment import TrainImageTransform
    from sktransfer.engine._data import ImageDataset

    views = TrainImageTransform(estimator._preprocessing(), scale=crop_scale)
    return ImageDataset(data, views, list(positions))


def _input_collate(estimator, spec, module):
    """Batches of inputs without targets: tokenized texts, else torch's default."""
    if spec.modality != "text":
        return None
    from sktransfer.finetune._module import TextCollate

    return TextCollate(estimator._tokenizer(module), with_targets=False)


def _features(estimator, spec, part, data, positions=None):
    return estimator._run(part, data, spec, positions=positions)

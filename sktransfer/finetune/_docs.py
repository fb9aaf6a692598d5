"""Parameter documentation shared by the four fine-tuning estimators."""

import textwrap

from sktransfer.finetune._da_methods import (
    DA_METHODS,
    DomainAdaptationMethod,
    describe_methods,
)

__all__ = ["CONTRASTIVE", "PARAMS", "build_docstring"]


def _entry(header, text):
    """A numpydoc parameter entry: ``header``, then ``text`` wrapped and indented."""
    body = textwrap.fill(
        text,
        width=76,
        initial_indent="    ",
        subsequent_indent="    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return f"{header}\n{body}"


def _domain_adaptation_doc():
    """The ``domain_adaptation`` entry, from the methods' registry."""
    names = ", ".join(f'"{name}"' for name in DA_METHODS)
    trainable = [
        f'``"{name}"``'
        for name, cls in DA_METHODS.items()
        if cls.requires_trainable_backbone
    ]
    return _entry(
        f"domain_adaptation : {{{names}}}, DomainAdaptationMethod or None, "
        f"default=None",
        "Unsupervised domain adaptation inside fine-tuning. ``fit`` then takes "
        "the labelled source rows and the unlabelled target rows stacked in "
        "``X``, the target rows' labels masked (``-1`` for classes, ``NaN`` for "
        "regression) and/or a ``sample_domain`` (positive: source, negative: "
        "target), as the adapters of `sktransfer.adapt` do. The task loss sees "
        "the source rows only; the validation split is drawn from them. "
        + describe_methods()
        + f" {' and '.join(trainable)} need backbone parameters that train "
        '(``strategy`` other than ``"head"``; an error otherwise). An instance '
        "of a `sktransfer.finetune.DomainAdaptationMethod` subclass is a method "
        "of one's own (copied at fit). Without it (``None``), ``-1`` is an "
        "ordinary label and ``NaN`` targets are an error.",
    )


def _da_weight_doc():
    """The ``da_weight`` entry: the loss weight of the registered methods."""
    unused = [
        f'``"{name}"``'
        for name, cls in DA_METHODS.items()
        if cls.build_loss is DomainAdaptationMethod.build_loss
    ]
    return _entry(
        "da_weight : float >= 0, default=1.0",
        "Weight of the domain loss: the (largest) coefficient of the method's "
        "loss, along its schedule (see ``domain_adaptation``). Unused by "
        f"{' and '.join(unused) or 'methods without a loss'}.",
    )


PARAMS = {
    "backbone_image": """\
backbone : str, BackboneSpec or torch.nn.Module, default="tf_efficientnet_lite0"
    A registry name (see `sktransfer.list_backbones`), a torchvision or timm
    name, a spec, or a module. The default works offline.""",
    "backbone_text": """\
backbone : str, BackboneSpec or torch.nn.Module, default="all-MiniLM-L6-v2"
    A registry name, a sentence-transformers id or folder, a spec, or a
    module mapping a list of strings to a tensor. The default works offline.
    A sentence-transformer is fine-tuned end to end: texts are tokenized with
    its own tokenizer and its ``sentence_embedding`` output feeds the head.""",
    "strategy": """\
strategy : {"head", "top", "full", "gradual"}, default="head"
    What trains besides the new linear head. ``"head"``: nothing (the
    backbone is frozen; without augmentation its features are computed once
    and the head is solved on them to convergence: multinomial logistic
    regression by L-BFGS or ridge in closed form, penalty ``head_l2``, on
    every labelled row; ``lr``, ``max_epochs``, the schedule and the
    validation split are then unused). ``"top"``: the last ``unfreeze``
    blocks. ``"full"``: the whole backbone. ``"gradual"``: the head alone for
    ``freeze_epochs`` epochs, then one more block per epoch, from the top,
    up to ``unfreeze`` blocks. Blocks are found per backbone family (timm
    stages, torchvision layers, transformer layers, ``nn.Sequential``
    children). Classifiers also take ``"contrastive"``: few-shot learning
    as in SetFit; the backbone first trains on a contrastive objective
    built from the labelled examples (texts: the whole body; images: the
    top block, normalisation layers frozen; see
    ``contrastive_iterations``, ``contrastive_loss``), then the head is
    solved on its features (see ``head_l2``).""",
    "head_l2": """\
head_l2 : float >= 0 or "auto", default="auto"
    L2 penalty of the solved head, in the mean-loss convention
    ``sum_i s_i loss_i / sum_i s_i + head_l2 / 2 * ||W||^2`` (intercept not
    penalised): scikit-learn's ``LogisticRegression(C=1 / (head_l2 *
    n_samples))`` without sample weights, ``Ridge(alpha=head_l2 *
    n_samples)`` for regressors. ``"auto"`` picks it from a grid of 13
    values (``1e-6`` to ``1``) by 3-fold cross-validation on the frozen
    features (computed once, so it costs only solves), with the
    one-standard-error rule (the strongest penalty within one standard error
    of the lowest validation loss); the probe LP-FT starts from takes the
    lowest validation loss over 5 folds instead. Used when the head is
    solved: ``strategy="head"`` without augmentation, and the probe of
    ``head_init="probe"``; the chosen value is ``head_l2_``.""",
    "head_init": """\
head_init : {"probe", "random"}, default="probe"
    Start of the head for ``"top"``, ``"full"`` and ``"gradual"``.
    ``"probe"``: linear probing, then fine-tuning (LP-FT, Kumar et al.,
    2022): the head is first solved on the pretrained backbone's features of
    the training rows (one extra forward pass), so a random head's gradients
    do not distort the pretrained features in the first epochs.
    ``"random"``: torch's default initialisation of the linear layer.""",
    "unfreeze": """\
unfreeze : int or "all", default=2
    Number of blocks, counted from the output, that train with ``"top"``
    (and that ``"gradual"`` reaches). ``"all"`` adds every block and the stem.""",
    "freeze": """\
freeze : str or list of str, default=None
    Glob patterns (``fnmatch``) over the backbone's parameter names, as in
    ``backbone.named_parameters()`` (e.g. ``"conv_stem.*"``, ``"*.bn*"``);
    matching parameters never train, whatever the strategy.""",
    "freeze_epochs": """\
freeze_epochs : int, default=1
    Head-only epochs before ``"gradual"`` starts unfreezing.""",
    "lr": """\
lr : float, default=1e-3
    Learning rate of the head (AdamW).""",
    "backbone_lr": """\
backbone_lr : float, default=None
    Learning rate of the top backbone block; ``None`` uses ``lr * lr_decay``.""",
    "lr_decay": """\
lr_decay : float in (0, 1], default=0.8
    Discriminative learning rates: each block trains at ``lr_decay`` times
    the rate of the block above it (the stem below the bottom block).""",
    "weight_decay": """\
weight_decay : float, default=0.01
    AdamW's decoupled weight decay.""",
    "schedule": """\
schedule : {"cosine", "constant", "onecycle"}, default="cosine"
    Learning rates, per optimizer step over ``max_epochs`` epochs.
    ``"cosine"``: linear warm-up, then cosine decay to zero. ``"constant"``:
    linear warm-up, then constant. ``"onecycle"``: the one-cycle policy
    (torch's ``OneCycleLR``): each rate rises from a 25th of its value to
    its value over the first ``warmup_fraction`` of the steps, then falls
    to ``1/250000`` of it, along cosine curves, while AdamW's ``beta1``
    cycles between 0.95 and 0.85.""",
    "warmup_fraction": """\
warmup_fraction : float in [0, 1), default=0.1
    Fraction of the optimizer steps spent in the linear warm-up (the rising
    phase with ``schedule="onecycle"``).""",
    "max_epochs": """\
max_epochs : int, default=10
    Maximum number of passes over the training data.""",
    "batch_size": """\
batch_size : int, default=32
    Inputs per batch, in training and inference.""",
    "accumulation_steps": """\
accumulation_steps : int, default=1
    Batches whose gradients are accumulated before each optimizer step (an
    effective batch of ``batch_size * accumulation_steps``).""",
    "validation_fraction": """\
validation_fraction : float in (0, 1), default=0.1
    Fraction of the training data held out (stratified for classifiers) to
    monitor the validation loss; the weights of the best epoch are restored
    at the end. ``None`` trains on everything for ``max_epochs`` epochs.
    ``strategy="contrastive"`` holds rows out only when every class gets at
    least 25 of them (else they train too).""",
    "n_iter_no_change": """\
n_iter_no_change : int, default=5
    Early stopping: stop after this many epochs without a better validation
    loss. ``None`` never stops early (the best epoch is still restored).""",
    "domain_adaptation": _domain_adaptation_doc(),
    "da_weight": _da_weight_doc(),
    "class_weight": """\
class_weight : dict, "balanced" or None, default=None
    Weights of the classes in the loss; ``"balanced"`` weights each class
    inversely to its frequency, as in scikit-learn. Multiplied with
    ``sample_weight``.""",
    "label_smoothing": """\
label_smoothing : float in [0, 1), default=0.0
    Label smoothing of the cross-entropy loss.""",
    "contrastive_iterations": """\
contrastive_iterations : int, default=20
    ``strategy="contrastive"``: rounds of pairs (SetFit's
    ``num_iterations``), one round per epoch. A round takes the same number
    of anchors from every class (as many as there are examples over the
    number of classes) and gives each anchor one positive pair (same class)
    and one negative pair (another class), so class imbalance does not
    skew the pairs; with the cosine loss, rounds stop once they would hold
    more pairs than there are distinct pairs. With ``"supcon"``: rounds of
    class-balanced items, each seen in two views. ``max_epochs`` is unused
    by this strategy.""",
    "contrastive_loss": """\
contrastive_loss : {"auto", "cosine", "supcon"}, default="auto"
    ``strategy="contrastive"``: ``"cosine"``, SetFit's loss (Tunstall et
    al., 2022), the squared error between the similarity of a pair and its
    label (1 same class, 0 different); ``"supcon"``, the supervised
    contrastive loss (Khosla et al., 2020, temperature 0.1, routed as
    ``criterion__temperature``) over two views of every item of a batch
    (two augmentations for images; for texts the views differ by dropout
    only). ``"auto"``: ``"cosine"`` for texts, ``"supcon"`` for images.""",
    "contrastive_distance": """\
contrastive_distance : {"cosine", "euclidean"}, default="cosine"
    ``strategy="contrastive"``: how the loss compares two L2-normalised
    embeddings: cosine similarity, or one minus their Euclidean
    distance. The body trains at one rate, ``backbone_lr`` (default 2e-5
    for texts, 1e-4 for images), in batches of ``batch_size // 2`` pairs
    (``batch_size`` inputs): for texts all of it, for images its top block
    with normalisation layers frozen in eval mode (training the whole
    image body lost to the frozen probe on few-shot images); ``lr``,
    ``lr_decay`` and ``unfreeze`` are unused; the head is then solved with
    ``head_l2`` on the trained body's features.""",
    "augment": """\
augment : "auto", bool or callable, default="auto"
    Training augmentation: a random resized crop (35-100 % of the area,
    aspect ratio 3/4-4/3) to the backbone's input size with its
    interpolation, and a horizontal flip, then its normalisation. ``"auto"``
    augments when backbone blocks train and not with ``strategy="head"``
    (which keeps the fast path). A callable is applied to each decoded image
    (float tensor (3, H, W) in [0, 1]) before the usual resize, crop and
    normalisation.""",
    "image_size": """\
image_size : int, default=None
    Train and predict at this square input size instead of the backbone's
    own (the resize keeps the backbone's crop ratio). Smaller is faster.""",
    "max_length": """\
max_length : int, default=None
    Truncate texts to this many tokens; ``None`` keeps the model's limit.""",
    "prompt": """\
prompt : str, default=None
    Text prepended to every input, in training and prediction alike (e.g.
    ``"query: "`` for models trained with prompts), as `TextEmbedder`'s
    ``prompt``: a sentence-transformer tokenizes it with the input, as its
    ``encode(prompt=...)`` does.""",
    "pretrained": """\
pretrained : bool, default=True
    ``False`` starts from randomly initialised weights of the same
    architecture: the train-from-scratch baseline.""",
    "device": """\
device : str or torch.device, default="auto"
    ``"auto"`` uses CUDA when available, else the CPU.""",
    "precision": """\
precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
    ``"auto"``: fp32 on CPU; autocast bf16 (or fp16 with loss scaling) on
    CUDA.""",
    "runtime": """\
runtime : {"auto", "torch", "onnx", "openvino"}, default="auto"
    What runs the fitted network after ``fit`` (``predict``,
    ``predict_proba``, ``decision_function``, ``transform``, ``score``);
    training always runs in torch. At the end of ``fit`` the fine-tuned
    backbone is exported to ONNX (once per distinct weights: cached on disk,
    keyed by a hash of the weights, the architecture and the preprocessing),
    checked against torch on a probe batch and loaded in ONNX Runtime or
    OpenVINO; the linear head runs in torch on its features, and texts are
    tokenised in Python. ``"auto"``: OpenVINO, else ONNX Runtime, when
    installed (the ``cpu-runtimes`` extra) and exact (features equal to
    torch fp32 to a cosine >= 0.9999); torch on CUDA, for numeric toy
    backbones, or when neither is installed. If the export or the check
    fails, one ``RuntimeWarning`` says why and torch runs. ``runtime_`` says
    what is used; an unpickled estimator rebuilds the session at its first
    prediction (torch, with one warning, where the runtime is not
    installed).""",
    "num_workers": """\
num_workers : int, default=0
    DataLoader worker processes decoding and augmenting images.""",
    "callbacks": """\
callbacks : list of skorch callbacks, default=None
    Extra skorch callbacks (instances or ``(name, callback)`` pairs), added
    after the built-in ones (``lr_schedule``, ``valid_acc``,
    ``early_stopping``, ``unfreeze``). Copied at fit, never mutated.""",
    "warm_start": """\
warm_start : bool, default=False
    Continue from the weights of the previous ``fit`` (same classes or
    outputs) instead of the pretrained backbone and a new head; the history
    continues. The optimizer starts afresh.""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seeds the head's initialisation, the validation split, shuffling,
    dropout and augmentation. A fixed value gives identical predictions on
    the CPU.""",
    "verbose": """\
verbose : "auto", bool or int, default="auto"
    Progress: a bar per epoch ("training epoch 3/10", one tick a batch)
    and skorch's epoch table (colour codes only on a terminal). With
    "auto", shown when someone watches (a terminal or a notebook; never in
    joblib or Dask workers, nor when the ``CI`` variable is set); 0 or
    False never, True or any other int always.""",
    "kwargs": """\
**kwargs
    skorch-style routed parameters: ``optimizer__<name>`` (AdamW's
    ``betas``, ...), ``criterion__<name>``, ``callbacks__<name>__<param>``,
    ``iterator_train__<name>`` and ``iterator_valid__<name>`` (DataLoader
    arguments). They work with ``set_params`` and grid searches.""",
}

COMMON_TRAINING = [
    "strategy",
    "head_l2",
    "head_init",
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
    "validation_fraction",
    "n_iter_no_change",
    "domain_adaptation",
    "da_weight",
]
CONTRASTIVE = [
    "contrastive_iterations",
    "contrastive_loss",
    "contrastive_distance",
]
COMMON_RUNTIME = [
    "pretrained",
    "device",
    "precision",
    "runtime",
    "callbacks",
    "warm_start",
    "random_state",
    "verbose",
    "kwargs",
]


def build_docstring(summary, params, attributes, see_also, notes, examples):
    """Assemble a numpydoc docstring from shared parameter entries."""
    body = "\n".join(PARAMS[name] for name in params)
    return (
        f"{summary}\n\nParameters\n----------\n{body}\n\n"
        f"Attributes\n----------\n{attributes}\n\n"
        f"See Also\n--------\n{see_also}\n\n"
        f"Notes\n-----\n{notes}\n\n"
        f"Examples\n--------\n{examples}"
    )

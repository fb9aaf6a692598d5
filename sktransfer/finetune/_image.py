"""`ImageClassifier` and `ImageRegressor`: fine-tuned pretrained image backbones."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from sktransfer.finetune._docs import (
    COMMON_RUNTIME,
    COMMON_TRAINING,
    CONTRASTIVE,
    build_docstring,
)
from sktransfer.finetune._inputs import ImageInputMixin
from sktransfer.finetune._targets import ClassifierFineTuner, RegressorFineTuner

__all__ = ["ImageClassifier", "ImageRegressor"]

_IMAGE_CONSTRAINTS = {
    "augment": [StrOptions({"auto"}), "boolean", callable],
    "image_size": [None, Interval(Integral, 8, None, closed="left")],
    "num_workers": [Interval(Integral, 0, None, closed="left")],
}

_ATTRIBUTES = """\
history_ : skorch.callbacks.History
    Per-epoch (and per-batch) records: ``train_loss``, ``valid_loss``,
    ``valid_acc`` (classifiers), ``lr``, ``dur``; with
    ``domain_adaptation="dann"`` or ``"coral"`` also ``train_da_loss`` (the
    domain loss; per batch ``da_loss``) and ``da_weight``.
net_ : TransferNet
    The skorch net of the last fit (only in the session that ran it).
runtime_ : {"torch", "onnx", "openvino"}
    What runs the fitted network (see ``runtime``), decided at the end of
    ``fit``.
head_l2_ : float or None
    The L2 penalty of the solved head (``strategy="head"``) or of the probe
    the head started from (``head_init="probe"``); None when the head was
    trained from a random start.
n_features_in_ : int
    The width of numeric input, for numeric toy backbones only: raw images
    are one column of non-numeric values, so it is not set for them (as for
    scikit-learn's text vectorizers).
feature_names_in_ : ndarray of str
    The column name, when fitted on a one-column DataFrame."""

_NOTES = """\
Images may be file paths, bytes, PIL images or arrays (uint8, or floats in
[0, 1]; (N, H, W), (N, H, W, C) or (N, C, H, W)), decoded and preprocessed
exactly as the backbone's weights expect. Frozen layers stay in eval mode, so
frozen BatchNorm statistics do not change. A pickle holds the tensors that
training changed (the head, the trained blocks) and rebuilds the rest from
the backbone registry; it loads on a CPU-only machine."""


class ImageClassifier(ImageInputMixin, ClassifierFineTuner):
    _parameter_constraints = {
        **ClassifierFineTuner._parameter_constraints,
        **_IMAGE_CONSTRAINTS,
    }

    def __init__(
        self,
        backbone="tf_efficientnet_lite0",
        *,
        strategy="head",
        head_l2="auto",
        head_init="probe",
        unfreeze=2,
        freeze=None,
        freeze_epochs=1,
        lr=1e-3,
        backbone_lr=None,
        lr_decay=0.8,
        weight_decay=0.01,
        schedule="cosine",
        warmup_fraction=0.1,
        max_epochs=10,
        batch_size=32,
        accumulation_steps=1,
        validation_fraction=0.1,
        n_iter_no_change=5,
        domain_adaptation=None,
        da_weight=1.0,
        class_weight=None,
        label_smoothing=0.0,
        contrastive_iterations=20,
        contrastive_loss="auto",
        contrastive_distance="cosine",
        augment="auto",
        image_size=None,
        pretrained=True,
        device="auto",
        precision="auto",
        runtime="auto",
        num_workers=0,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose="auto",
        **kwargs,
    ):
        self.backbone = backbone
        self.strategy = strategy
        self.head_l2 = head_l2
        self.head_init = head_init
        self.unfreeze = unfreeze
        self.freeze = freeze
        self.freeze_epochs = freeze_epochs
        self.lr = lr
        self.backbone_lr = backbone_lr
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.warmup_fraction = warmup_fraction
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.accumulation_steps = accumulation_steps
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.domain_adaptation = domain_adaptation
        self.da_weight = da_weight
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.contrastive_iterations = contrastive_iterations
        self.contrastive_loss = contrastive_loss
        self.contrastive_distance = contrastive_distance
        self.augment = augment
        self.image_size = image_size
        self.pretrained = pretrained
        self.device = device
        self.precision = precision
        self.runtime = runtime
        self.num_workers = num_workers
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(kwargs)


class ImageRegressor(ImageInputMixin, RegressorFineTuner):
    _parameter_constraints = {
        **RegressorFineTuner._parameter_constraints,
        **_IMAGE_CONSTRAINTS,
    }

    def __init__(
        self,
        backbone="tf_efficientnet_lite0",
        *,
        strategy="head",
        head_l2="auto",
        head_init="probe",
        unfreeze=2,
        freeze=None,
        freeze_epochs=1,
        lr=1e-3,
        backbone_lr=None,
        lr_decay=0.8,
        weight_decay=0.01,
        schedule="cosine",
        warmup_fraction=0.1,
        max_epochs=10,
        batch_size=32,
        accumulation_steps=1,
        validation_fraction=0.1,
        n_iter_no_change=5,
        domain_adaptation=None,
        da_weight=1.0,
        augment="auto",
        image_size=None,
        pretrained=True,
        device="auto",
        precision="auto",
        runtime="auto",
        num_workers=0,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose="auto",
        **kwargs,
    ):
        self.backbone = backbone
        self.strategy = strategy
        self.head_l2 = head_l2
        self.head_init = head_init
        self.unfreeze = unfreeze
        self.freeze = freeze
        self.freeze_epochs = freeze_epochs
        self.lr = lr
        self.backbone_lr = backbone_lr
        self.lr_decay = lr_decay
        self.weight_decay = weight_decay
        self.schedule = schedule
        self.warmup_fraction = warmup_fraction
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.accumulation_steps = accumulation_steps
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.domain_adaptation = domain_adaptation
        self.da_weight = da_weight
        self.augment = augment
        self.image_size = image_size
        self.pretrained = pretrained
        self.device = device
        self.precision = precision
        self.runtime = runtime
        self.num_workers = num_workers
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(kwargs)


_IMAGE_PARAMS = ["backbone_image", *COMMON_TRAINING]
_IMAGE_RUNTIME = [
    "augment",
    "image_size",
    *COMMON_RUNTIME[:4],
    "num_workers",
    *COMMON_RUNTIME[4:],
]

ImageClassifier.__doc__ = build_docstring(
    "Fine-tune a pretrained image backbone with a new classification head.\n\n"
    "A scikit-learn classifier built on skorch: ``fit`` trains a linear head\n"
    "(and, depending on ``strategy``, the top blocks or all of the backbone)\n"
    "with AdamW, warm-up + cosine learning rates, early stopping on a\n"
    "stratified validation split and mixed precision on CUDA.",
    _IMAGE_PARAMS + ["class_weight", "label_smoothing", *CONTRASTIVE] + _IMAGE_RUNTIME,
    "classes_ : ndarray of shape (n_classes,)\n    The labels, sorted.\n" + _ATTRIBUTES,
    "ImageRegressor : The same for numeric targets.\n"
    "ImageEmbedder : Frozen features for any scikit-learn estimator.",
    _NOTES,
    """\
>>> import numpy as np
>>> from sktransfer import ImageClassifier
>>> rng = np.random.default_rng(0)
>>> images = rng.integers(0, 255, (24, 32, 32, 3), dtype=np.uint8)
>>> labels = np.array(["cat", "dog"] * 12)
>>> clf = ImageClassifier("toy-image", max_epochs=2, random_state=0)
>>> clf.fit(images, labels).predict(images[:3]).shape
(3,)
>>> clf.classes_
array(['cat', 'dog'], dtype='<U3')""",
)

ImageRegressor.__doc__ = build_docstring(
    "Fine-tune a pretrained image backbone with a new regression head.\n\n"
    "A scikit-learn regressor built on skorch, for one or several targets\n"
    "(standardised for training, mapped back at prediction); trained like\n"
    "`ImageClassifier` with a mean squared error loss.",
    _IMAGE_PARAMS + _IMAGE_RUNTIME,
    "n_outputs_ : int\n    Number of targets.\n" + _ATTRIBUTES,
    "ImageClassifier : The same for labels.\n"
    "ImageEmbedder : Frozen features for any scikit-learn estimator.",
    _NOTES,
    """\
>>> import numpy as np
>>> from sktransfer import ImageRegressor
>>> rng = np.random.default_rng(0)
>>> images = rng.integers(0, 255, (24, 32, 32, 3), dtype=np.uint8)
>>> brightness = images.mean(axis=(1, 2, 3)) / 255
>>> reg = ImageRegressor("toy-image", max_epochs=2, random_state=0)
>>> reg.fit(images, brightness).predict(images[:3]).shape
(3,)""",
)

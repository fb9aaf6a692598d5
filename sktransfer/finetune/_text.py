"""`TextClassifier` and `TextRegressor`: fine-tuned sentence-transformers."""

from numbers import Integral

from sklearn.utils._param_validation import Interval

from sktransfer.finetune._docs import (
    COMMON_RUNTIME,
    COMMON_TRAINING,
    CONTRASTIVE,
    build_docstring,
)
from sktransfer.finetune._inputs import TextInputMixin
from sktransfer.finetune._targets import ClassifierFineTuner, RegressorFineTuner

__all__ = ["TextClassifier", "TextRegressor"]

_TEXT_CONSTRAINTS = {
    "max_length": [None, Interval(Integral, 1, None, closed="left")],
    "prompt": [None, str],
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
    The width of numeric input, for numeric toy backbones only: texts are
    one column of non-numeric values, so it is not set for them (as for
    scikit-learn's text vectorizers).
feature_names_in_ : ndarray of str
    The column name, when fitted on a one-column DataFrame."""

_NOTES = """\
Texts come as a 1-D collection of str (list, array, Series or one-column
DataFrame); None, NaN and other objects are rejected with their position.
With ``strategy="head"`` the sentence embeddings are computed once and only
the head trains; otherwise batches are tokenized with the model's tokenizer
and the transformer trains end to end (dropout on, frozen layers in eval
mode). A pickle holds the tensors that training changed and rebuilds the rest
from the backbone registry; it loads on a CPU-only machine."""


class TextClassifier(TextInputMixin, ClassifierFineTuner):
    _parameter_constraints = {
        **ClassifierFineTuner._parameter_constraints,
        **_TEXT_CONSTRAINTS,
    }

    def __init__(
        self,
        backbone="all-MiniLM-L6-v2",
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
        max_length=None,
        prompt=None,
        pretrained=True,
        device="auto",
        precision="auto",
        runtime="auto",
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
        self.max_length = max_length
        self.prompt = prompt
        self.pretrained = pretrained
        self.device = device
        self.precision = precision
        self.runtime = runtime
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(kwargs)


class TextRegressor(TextInputMixin, RegressorFineTuner):
    _parameter_constraints = {
        **RegressorFineTuner._parameter_constraints,
        **_TEXT_CONSTRAINTS,
    }

    def __init__(
        self,
        backbone="all-MiniLM-L6-v2",
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
        max_length=None,
        prompt=None,
        pretrained=True,
        device="auto",
        precision="auto",
        runtime="auto",
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
        self.max_length = max_length
        self.prompt = prompt
        self.pretrained = pretrained
        self.device = device
        self.precision = precision
        self.runtime = runtime
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        vars(self).update(kwargs)


_TEXT_PARAMS = ["backbone_text", *COMMON_TRAINING]
_TEXT_RUNTIME = ["max_length", "prompt", *COMMON_RUNTIME]

TextClassifier.__doc__ = build_docstring(
    "Fine-tune a pretrained sentence encoder with a new classification head.\n\n"
    "A scikit-learn classifier built on skorch: ``fit`` trains a linear head\n"
    "on the sentence embedding (and, depending on ``strategy``, the top\n"
    "transformer layers or all of them) with AdamW, warm-up + cosine learning\n"
    "rates, early stopping on a stratified validation split and mixed\n"
    "precision on CUDA.",
    _TEXT_PARAMS + ["class_weight", "label_smoothing", *CONTRASTIVE] + _TEXT_RUNTIME,
    "classes_ : ndarray of shape (n_classes,)\n    The labels, sorted.\n" + _ATTRIBUTES,
    "TextRegressor : The same for numeric targets.\n"
    "TextEmbedder : Frozen embeddings for any scikit-learn estimator.",
    _NOTES,
    """\
>>> from sktransfer import TextClassifier
>>> texts = ["a good film", "a great film", "a bad film", "an awful film"] * 5
>>> labels = ["pos", "pos", "neg", "neg"] * 5
>>> clf = TextClassifier("toy-text", strategy="full", max_epochs=2, random_state=0)
>>> clf.fit(texts, labels).predict(["a good film"]).shape
(1,)""",
)

TextRegressor.__doc__ = build_docstring(
    "Fine-tune a pretrained sentence encoder with a new regression head.\n\n"
    "A scikit-learn regressor built on skorch, for one or several targets\n"
    "(standardised for training, mapped back at prediction); trained like\n"
    "`TextClassifier` with a mean squared error loss.",
    _TEXT_PARAMS + _TEXT_RUNTIME,
    "n_outputs_ : int\n    Number of targets.\n" + _ATTRIBUTES,
    "TextClassifier : The same for labels.\n"
    "TextEmbedder : Frozen embeddings for any scikit-learn estimator.",
    _NOTES,
    """\
>>> from sktransfer import TextRegressor
>>> texts = ["one", "two two", "three three three", "four four four four"] * 5
>>> lengths = [len(text) for text in texts]
>>> reg = TextRegressor("toy-text", max_epochs=2, random_state=0)
>>> reg.fit(texts, lengths).predict(["two two"]).shape
(1,)""",
)

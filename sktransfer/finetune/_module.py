"""The trainable network: a backbone wrapper plus a linear head."""

import functools

from sktransfer._optional import import_optional

torch = import_optional("torch")

__all__ = [
    "BODY_PREFIX",
    "PlainBackbone",
    "PromptedTexts",
    "SentenceEmbedding",
    "TextCollate",
    "TransferModule",
    "build_body",
    "tokenizer_of",
]

# parameter names of the backbone inside TransferModule start with this
BODY_PREFIX = "backbone.model."


class TransferModule(torch.nn.Module):
    """``head(backbone(x))``; the backbone's own module is ``backbone.model``."""

    def __init__(self, backbone, head):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x):
        return self.head(self.backbone(x))


class PlainBackbone(torch.nn.Module):
    """A module whose forward already returns features (numeric, toy text)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)


class SentenceEmbedding(torch.nn.Module):
    """A SentenceTransformer as a module: tokenized batch -> sentence embedding.

    Token tensors are moved to the model's device here, so callers can hand
    over CPU batches.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, features):
        device = next(self.model.parameters()).device
        features = {
            key: value.to(device) if isinstance(value, torch.Tensor) else value
            for key, value in features.items()
        }
        return self.model(features)["sentence_embedding"]


def tokenizer_of(model, prompt=None):
    """The SentenceTransformer's tokenizing function (``preprocess`` or ``tokenize``).

    With a ``prompt``, texts are tokenized as ``encode(prompt=prompt)`` does:
    by ``preprocess(texts, prompt=prompt)`` (which also tells the pooling
    how many tokens the prompt takes), or, for models without
    ``preprocess``, by ``tokenize`` on ``prompt + text``.
    """
    if hasattr(model, "preprocess"):
        if prompt:
            return functools.partial(model.preprocess, prompt=prompt)
        return model.preprocess
    if prompt:
        return PromptedTexts(prompt, model.tokenize)
    return model.tokenize


class PromptedTexts:
    """Texts with ``prompt`` prepended, then ``tokenize`` (None: the texts).

    Parameters
    ----------
    prompt : str
    tokenize : callable or None, default=None
        List of str -> the model's batch.
    """

    def __init__(self, prompt, tokenize=None):
        self.prompt = prompt
        self.tokenize = tokenize

    def __call__(self, texts):
        texts = [self.prompt + text for text in texts]
        return texts if self.tokenize is None else self.tokenize(texts)


class TextCollate:
    """Collate labelled text items (or bare texts) into a model batch.

    Parameters
    ----------
    tokenize : callable or None
        List of str -> dict of tensors; ``None`` keeps the list of strings
        (modules that take strings).
    with_targets : bool
        Whether items are ``({"data": text, "sample_weight": w}, target)``.
    """

    def __init__(self, tokenize=None, with_targets=True):
        self.tokenize = tokenize
        self.with_targets = with_targets

    def _inputs(self, texts):
        return self.tokenize(texts) if self.tokenize is not None else texts

    def __call__(self, items):
        if not self.with_targets:
            return self._inputs(list(items))
        collate = torch.utils.data.default_collate
        inputs = {
            "data": self._inputs([x["data"] for x, _ in items]),
            "sample_weight": collate([x["sample_weight"] for x, _ in items]),
        }
        return inputs, collate([target for _, target in items])


def _reset_parameters(module):
    for submodule in module.modules():
        reset = getattr(submodule, "reset_parameters", None)
        if callable(reset):
            reset()


def build_body(spec, *, pretrained=True, n_features=None):
    """Build the backbone of ``spec``, pretrained or freshly initialised.

    With ``pretrained=False`` the same architecture gets random weights: the
    spec's own random initialisation when its builder offers one, else every
    submodule's ``reset_parameters`` (the torch default initialisation).
    """
    kwargs = {} if n_features is None else {"n_features": n_features}
    if pretrained:
        return spec.build(**kwargs)
    if spec.family in ("timm", "torchvision"):
        return spec.build(pretrained=False, **kwargs)
    body = spec.build(**kwargs)
    _reset_parameters(body)
    return body

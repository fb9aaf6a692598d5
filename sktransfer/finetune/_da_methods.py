"""Deep domain adaptation inside fine-tuning: one class per method, one registry.

A method is a `DomainAdaptationMethod` subclass: what it adds to the loss (a
module called on source and target features), the schedule of its
coefficient, what it needs from the set-up, and what it does before and
after training. `DA_METHODS` maps the names ``domain_adaptation`` accepts to
the classes; the estimators' parameter constraint and documentation are
read from it, and the trainer (`sktransfer.finetune._trainer`) runs any
method through these hooks. A new method is one class here and one entry in
`DA_METHODS`; a user may also pass an instance of their own subclass.

This module does not import torch: the estimators import it at class
definition, and ``import sktransfer`` stays light.
"""

import functools
import math
from dataclasses import dataclass

__all__ = [
    "DA_METHODS",
    "AdaBN",
    "AdaptationContext",
    "DANN",
    "DeepCORAL",
    "DomainAdaptationMethod",
    "adaptation_context",
    "check_adaptation",
    "describe_methods",
    "ganin_factor",
    "method_label",
    "method_names",
    "resolve_method",
]


@dataclass(frozen=True)
class AdaptationContext:
    """What a method's hooks see of one ``fit``.

    Attributes
    ----------
    module : torch.nn.Module
        The network being fine-tuned, with ``backbone`` and ``head``
        submodules (``head`` is a linear layer).
    backbone_name : str
        The backbone's registry name (for messages).
    device : torch.device
    n_target : int
        Number of unlabelled target rows.
    source_batches, target_batches : callable
        Without arguments, an iterable over the backbone's inputs of the
        labelled source rows (training and validation rows) or of the target
        rows, in batches of ``batch_size`` to ``2 * batch_size - 1`` rows, in
        eval preprocessing (no augmentation).
    """

    module: object
    backbone_name: str
    device: object
    n_target: int
    source_batches: object
    target_batches: object


class DomainAdaptationMethod:
    """Base class of the deep domain adaptation methods of the fine-tuners.

    Pass an instance of a subclass as ``domain_adaptation`` (it is copied at
    ``fit``, never modified), or register its class in
    ``sktransfer.finetune.DA_METHODS`` to accept it by name. Override what
    the method uses:

    * `build_loss` returns a module added to the task loss: each training
      batch of labelled source rows is paired with a batch of target rows,
      both go through the backbone, and
      ``loss(source_features, target_features, coefficient)`` returns
      ``(term added to the loss, value recorded as da_loss)``. Its
      parameters (a domain classifier, ...) learn at ``lr``.
    * `coefficient` is the ``coefficient`` passed to the loss at each
      training batch, from the fraction of the optimizer steps done.
    * `check`, `before_training` and `after_training` see an
      `AdaptationContext`; `state_keys` names the state entries that
      ``before_training`` / ``after_training`` change, so that pickles keep
      them.

    Attributes
    ----------
    name : str
        The registry name (used in messages).
    requires_trainable_backbone : bool
        Whether the method needs backbone parameters that train (an error
        with ``strategy="head"``). A method with a loss module needs them:
        frozen features are computed once, and no loss can move them.
    description : str
        The paragraph of the estimators' ``domain_adaptation`` documentation.

    Examples
    --------
    >>> import numpy as np
    >>> from sktransfer import ImageClassifier
    >>> from sktransfer.finetune import DomainAdaptationMethod
    >>> class MeanMatching(DomainAdaptationMethod):
    ...     name = "mean"
    ...     def build_loss(self, n_features):
    ...         import torch
    ...
    ...         class Loss(torch.nn.Module):
    ...             def forward(self, source, target, coefficient):
    ...                 gap = (source.mean(0) - target.mean(0)).pow(2).sum()
    ...                 return coefficient * gap, gap.detach()
    ...
    ...         return Loss()
    >>> rng = np.random.default_rng(0)
    >>> images = rng.integers(0, 255, (24, 32, 32, 3), dtype=np.uint8)
    >>> y = np.array(["cat", "dog"] * 8 + [-1] * 8, dtype=object)
    >>> clf = ImageClassifier("toy-image", strategy="full", max_epochs=2,
    ...                       domain_adaptation=MeanMatching(), random_state=0)
    >>> clf.fit(images, y).predict(images[16:]).shape
    (8,)
    """

    name = None
    requires_trainable_backbone = True
    description = ""

    def build_loss(self, n_features):
        """The loss module on ``n_features``-wide features, or None (no loss).

        Parameters
        ----------
        n_features : int
            Width of the backbone's features (the head's input).

        Returns
        -------
        loss : torch.nn.Module or None
        """
        return None

    def coefficient(self, progress, weight):
        """The loss's ``coefficient`` at ``progress`` (``weight``: ``da_weight``).

        Parameters
        ----------
        progress : float
            Fraction of the ``fit``'s optimizer steps done, in [0, 1].
        weight : float
            The estimator's ``da_weight``.

        Returns
        -------
        coefficient : float
            ``weight`` by default (a constant).
        """
        return weight

    def check(self, context):
        """Raise a ValueError for a set-up the method cannot honour.

        Parameters
        ----------
        context : AdaptationContext
        """

    def before_training(self, context):
        """Run before the first epoch (after the checks).

        Parameters
        ----------
        context : AdaptationContext
        """

    def after_training(self, context):
        """Run after the last epoch (the best epoch's weights restored).

        Parameters
        ----------
        context : AdaptationContext
        """

    def state_keys(self, module):
        """State-dict keys of ``module`` that the hooks change (pickled).

        Parameters
        ----------
        module : torch.nn.Module

        Returns
        -------
        keys : list of str
        """
        return []

    def __repr__(self):
        return f"{type(self).__name__}()"


def ganin_factor(progress):
    """DANN's weight schedule ``2 / (1 + exp(-10 p)) - 1`` at progress ``p`` in [0, 1].

    From 0 at the start of training towards 1 at its end (Ganin & Lempitsky,
    2015): the domain classifier is noisy at first, so its signal reaches the
    features gradually.
    """
    return 2.0 / (1.0 + math.exp(-10.0 * min(1.0, max(0.0, progress)))) - 1.0


class DANN(DomainAdaptationMethod):
    """Domain-adversarial training (Ganin & Lempitsky, 2015).

    A domain classifier (`sktransfer.finetune._adaptation.DANNLoss`) behind
    a gradient reversal layer, whose coefficient follows Ganin's ramp.
    """

    name = "dann"
    description = (
        '``"dann"`` (Ganin & Lempitsky, 2015): a domain classifier (MLP, two '
        "hidden layers of 256) on the backbone's features, behind a gradient "
        "reversal layer whose coefficient rises along Ganin's schedule "
        "``da_weight * (2 / (1 + exp(-10 p)) - 1)``, ``p`` the fraction of the "
        "optimizer steps done (the domain classifier itself always learns at "
        "full rate); each source batch is paired with a target batch."
    )

    def build_loss(self, n_features):
        from sktransfer.finetune._adaptation import DANNLoss

        return DANNLoss(n_features)

    def coefficient(self, progress, weight):
        return weight * ganin_factor(progress)


class DeepCORAL(DomainAdaptationMethod):
    """Deep CORAL (Sun & Saenko, 2016): covariance alignment, constant weight."""

    name = "coral"
    description = (
        '``"coral"`` (Deep CORAL, Sun & Saenko, 2016): ``da_weight`` times the '
        "distance between the source and target feature covariances, "
        "``||C_s - C_t||_F^2 / (4 d^2)``, per pair of batches."
    )

    def build_loss(self, n_features):
        from sktransfer.finetune._adaptation import CORALLoss

        return CORALLoss()


class AdaBN(DomainAdaptationMethod):
    """AdaBN (Li et al., 2016): BatchNorm statistics re-estimated per domain."""

    name = "adabn"
    requires_trainable_backbone = False
    description = (
        '``"adabn"`` (Li et al., 2016): the BatchNorm running statistics of '
        "the backbone are re-estimated on the source rows before training and "
        "on the target rows after it, so predictions normalise with the "
        "target's statistics; any strategy, but the backbone needs BatchNorm "
        "layers (an error otherwise); ``da_weight`` is unused."
    )

    def check(self, context):
        from sktransfer.finetune._adaptation import batchnorm_layers

        if not batchnorm_layers(context.module.backbone):
            others = [n for n, m in DA_METHODS.items() if m is not AdaBN]
            raise ValueError(
                f"domain_adaptation='adabn' re-estimates BatchNorm statistics on "
                f"the target rows, but backbone {context.backbone_name!r} has no "
                f"BatchNorm layer (transformers use LayerNorm). Use "
                f"domain_adaptation={' or '.join(map(repr, others))} with "
                f"strategy='top' or 'full' instead."
            )
        if context.n_target < 2:
            raise ValueError(
                "domain_adaptation='adabn' needs at least 2 target rows to "
                f"estimate BatchNorm statistics, got {context.n_target}"
            )

    def before_training(self, context):
        # each domain normalised with its own statistics: the source's in training
        self._reestimate(context, context.source_batches())

    def after_training(self, context):
        # predictions normalise with the target's statistics
        self._reestimate(context, context.target_batches())

    @staticmethod
    def _reestimate(context, batches):
        from sktransfer.finetune._adaptation import reestimate_batchnorm

        backbone = context.module.backbone.to(context.device)
        reestimate_batchnorm(backbone, batches, context.device)

    def state_keys(self, module):
        from sktransfer.finetune._adaptation import batchnorm_state_keys

        return batchnorm_state_keys(module)


# the names ``domain_adaptation`` accepts; an entry added later is accepted too
DA_METHODS = {"dann": DANN, "coral": DeepCORAL, "adabn": AdaBN}


def method_names():
    """The registered names, quoted and joined for messages."""
    names = [repr(name) for name in DA_METHODS]
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def resolve_method(value):
    """A fresh method for ``value``: a registered name, an instance or None.

    An instance is deep-copied, so that ``fit`` never changes the user's
    object.
    """
    import copy

    if value is None or isinstance(value, DomainAdaptationMethod):
        return copy.deepcopy(value)
    if value not in DA_METHODS:
        raise ValueError(
            f"domain_adaptation={value!r} is not a registered method; use "
            f"{method_names()}, None, or a DomainAdaptationMethod instance"
        )
    return DA_METHODS[value]()


def describe_methods():
    """The ``domain_adaptation`` paragraphs of the registered methods."""
    return " ".join(cls.description for cls in DA_METHODS.values())


def method_label(method):
    """How messages name ``method``: its registry name, else its repr."""
    if DA_METHODS.get(method.name) is type(method):
        return repr(method.name)
    return repr(method)


# -- the trainer's side: one fit's context and the checks every method shares --
def _input_batches(config, module, data, positions):
    """The backbone's inputs of the rows at ``positions`` (eval), batch by batch."""
    from sktransfer._optional import import_optional
    from sktransfer.finetune._adaptation import even_batches

    torch = import_optional("torch")
    positions = [int(p) for p in positions]
    return torch.utils.data.DataLoader(
        config.input_dataset(data, positions, False),
        batch_sampler=even_batches(len(positions), config.batch_size),
        collate_fn=config.input_collate(module),
        num_workers=config.num_workers,
    )


def adaptation_context(config, module, data, labelled_idx, target_idx, device):
    """The `AdaptationContext` of one fit (``config``: its ``TrainingConfig``)."""
    n_target = 0 if target_idx is None else len(target_idx)
    if n_target == 0:
        raise ValueError(
            f"domain_adaptation={method_label(config.adaptation)} needs target rows"
        )
    batches = functools.partial(_input_batches, config, module, data)
    return AdaptationContext(
        module=module,
        backbone_name=config.spec.name,
        device=device,
        n_target=n_target,
        source_batches=functools.partial(batches, labelled_idx),
        target_batches=functools.partial(batches, target_idx),
    )


def check_adaptation(config, plan, context):
    """Clear errors for a domain adaptation the set-up cannot honour."""
    method = config.adaptation
    if method.requires_trainable_backbone and not plan.trained:
        others = "".join(
            f"or domain_adaptation={name!r}; "
            for name, cls in DA_METHODS.items()
            if not cls.requires_trainable_backbone
        )
        raise ValueError(
            f"domain_adaptation={method_label(method)} aligns the backbone's "
            f"features by training the backbone, but strategy={config.strategy!r} "
            f"(with freeze={config.freeze!r}) trains no parameter of backbone "
            f"{config.spec.name!r}, so the features cannot move. Use "
            f"strategy='top', 'full' or 'gradual'; {others}or align frozen "
            f"embeddings with an adapter (sktransfer.adapt.CORALAdapter, ...)."
        )
    method.check(context)

"""The torch parts of domain adaptation inside fine-tuning: DANN, Deep CORAL, AdaBN.

The methods themselves (what each needs, its schedule, its hooks) are the
classes of `sktransfer.finetune._da_methods`; this module holds their loss
modules and the BatchNorm re-estimation.

* **DANN** (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016): a small
  domain classifier learns to tell source features from target features; a
  gradient reversal layer between the backbone and that classifier passes its
  gradient to the backbone multiplied by ``-coefficient``, so the backbone
  learns features the classifier cannot separate.
* **Deep CORAL** (Sun & Saenko, ECCV 2016 workshops): the squared Frobenius
  distance between the source and target feature covariances,
  ``||C_s - C_t||_F^2 / (4 d^2)``, added to the loss.
* **AdaBN** (Li et al., 2016): every BatchNorm layer's running statistics
  re-estimated on a domain's rows, so that each domain is normalised with
  its own statistics.
"""

import numpy as np

from sktransfer._optional import import_optional

torch = import_optional("torch")

__all__ = [
    "CORALLoss",
    "DANNLoss",
    "batchnorm_layers",
    "batchnorm_state_keys",
    "coral_loss",
    "even_batches",
    "gradient_reversal",
    "reestimate_batchnorm",
]

DISCRIMINATOR_WIDTH = 256


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, coefficient):
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output):
        return -ctx.coefficient * grad_output, None


def gradient_reversal(x, coefficient=1.0):
    """Identity forward; gradient multiplied by ``-coefficient`` backward."""
    return _GradientReversal.apply(x, float(coefficient))


class DANNLoss(torch.nn.Module):
    """Domain classifier behind a gradient reversal layer, with its BCE loss.

    The classifier is an MLP (two hidden layers of 256 ReLU units) giving the
    logit of "target". Source rows are labelled 0, target rows 1; the loss is
    the mean binary cross-entropy over both batches. It is added to the task
    loss with weight 1, so the classifier always learns at full rate, while
    the backbone receives its gradient times ``-coefficient``.

    Parameters
    ----------
    n_features : int
        Width of the backbone's features.
    """

    def __init__(self, n_features):
        super().__init__()
        width = DISCRIMINATOR_WIDTH
        self.discriminator = torch.nn.Sequential(
            torch.nn.Linear(n_features, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, 1),
        )

    def forward(self, source, target, coefficient):
        features = torch.cat([source.float(), target.float()])
        logits = self.discriminator(gradient_reversal(features, coefficient))
        domain = torch.cat(
            [
                torch.zeros(len(source), device=features.device),
                torch.ones(len(target), device=features.device),
            ]
        )
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits.squeeze(1), domain
        )
        return loss, loss.detach()


def coral_loss(source, target):
    """Deep CORAL: ``||C_s - C_t||_F^2 / (4 d^2)`` of two feature batches.

    ``C`` are the unbiased covariance matrices of the rows (Sun & Saenko's
    formula). Batches of fewer than two rows have no covariance: the loss is
    then 0.

    Parameters
    ----------
    source, target : torch.Tensor of shape (n_rows, d)

    Returns
    -------
    loss : torch.Tensor (scalar)
    """
    source, target = source.float(), target.float()
    if len(source) < 2 or len(target) < 2:
        return source.sum() * 0.0 + target.sum() * 0.0
    d = source.shape[1]
    difference = torch.cov(source.T) - torch.cov(target.T)
    return (difference * difference).sum() / (4.0 * d * d)


class CORALLoss(torch.nn.Module):
    """`coral_loss` times ``coefficient`` (a constant weight)."""

    def forward(self, source, target, coefficient):
        loss = coral_loss(source, target)
        return coefficient * loss, loss.detach()


def batchnorm_layers(module):
    """The BatchNorm layers of ``module`` that keep running statistics."""
    norm = torch.nn.modules.batchnorm._BatchNorm
    return [
        m for m in module.modules() if isinstance(m, norm) and m.track_running_stats
    ]


def batchnorm_state_keys(module):
    """State-dict keys of the running statistics of ``module``'s BatchNorm layers."""
    layers = {id(m) for m in batchnorm_layers(module)}
    keys = []
    for name, submodule in module.named_modules():
        if id(submodule) in layers:
            prefix = f"{name}." if name else ""
            keys += [prefix + key for key, _ in submodule.named_buffers(recurse=False)]
    return keys


def reestimate_batchnorm(module, batches, device):
    """Replace the BatchNorm running statistics of ``module`` by those of ``batches``.

    The statistics are reset, then accumulated as a plain average over the
    batches (``momentum=None``) with the BatchNorm layers in training mode and
    everything else in eval mode (dropout off), without gradients; the
    momenta are restored and the module left in eval mode. Like
    :func:`torch.optim.swa_utils.update_bn`, but dropout stays off.

    Parameters
    ----------
    module : torch.nn.Module
    batches : iterable
        Network inputs, batch by batch (each of at least 2 rows).
    device : torch.device
    """
    from sktransfer.engine._training import move_to_device

    layers = batchnorm_layers(module)
    momenta = [layer.momentum for layer in layers]
    module.eval()
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
        layer.train()
    try:
        with torch.no_grad():
            for batch in batches:
                module(move_to_device(batch, device))
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        module.eval()


def even_batches(n_rows, batch_size):
    """Row positions cut into batches of ``batch_size`` to ``2 * batch_size - 1`` rows.

    (One batch when there are fewer rows.) So no batch has a single row, which
    BatchNorm cannot normalise in training mode, unless there is only one.
    """
    n_batches = max(1, n_rows // batch_size)
    return [chunk.tolist() for chunk in np.array_split(np.arange(n_rows), n_batches)]

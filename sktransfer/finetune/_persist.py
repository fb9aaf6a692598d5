"""Fine-tuned weights in a pickle: only what training changed, loaded safely.

A fine-tuned estimator pickles the tensors that differ from the pretrained
reference (the head, the blocks that trained, the BatchNorm statistics of
modules that ran in training mode) as a ``torch.save`` blob of CPU tensors.
Loading (`sktransfer.backbones._checkpoint.load_weights`) reads it back with
``torch.load(weights_only=True)`` (no code runs)
and ``map_location="cpu"``, rebuilds the pretrained backbone from the
registry, and overlays the stored tensors; so a model trained on a GPU loads
on a CPU-only machine.
"""

__all__ = ["changed_keys"]


def changed_keys(module, trainable):
    """State-dict keys that training may have changed.

    Parameters
    ----------
    module : torch.nn.Module
    trainable : collection of str
        Names of the parameters of ``module`` that trained at some point.

    Returns
    -------
    keys : list of str
        Every key of ``module.state_dict()`` except those inside a submodule
        whose parameters never trained (such submodules run in eval mode, so
        their buffers do not change either).
    """
    trainable = set(trainable)
    frozen = []
    for name, submodule in module.named_modules():
        if any(name == f or name.startswith(f + ".") for f in frozen):
            continue
        names = [
            f"{name}.{param}" if name else param
            for param, _ in submodule.named_parameters()
        ]
        if names and not any(n in trainable for n in names):
            frozen.append(name)
    if "" in frozen:
        return []
    prefixes = tuple(f + "." for f in frozen)
    return [key for key in module.state_dict() if not key.startswith(prefixes)]

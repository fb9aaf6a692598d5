"""Fine-tuned weights in a pickle: only what training changed, loaded safely.

A fine-tuned estimator pickles the tensors that differ from the pretrained
reference (the head, the blocks that trained, the BatchNorm statistics of
modules that ran in training mode) as a ``torch.save`` blob of CPU tensors.
Loading reads it back with ``torch.load(weights_only=True)`` (no code runs)
and ``map_location="cpu"``, rebuilds the pretrained backbone from the
registry, and overlays the stored tensors; so a model trained on a GPU loads
on a CPU-only machine.
"""

import io

from sktransfer._optional import import_optional

__all__ = ["changed_keys", "load_weights", "save_weights"]


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


def save_weights(module, keys):
    """The tensors of ``module.state_dict()`` under ``keys``, as bytes (CPU)."""
    torch = import_optional("torch")
    state = module.state_dict()
    subset = {key: state[key].detach().to("cpu").clone() for key in keys}
    buffer = io.BytesIO()
    torch.save(subset, buffer)
    return buffer.getvalue()


def load_weights(module, blob, expected_missing=None):
    """Overlay the tensors saved by `save_weights` onto ``module``.

    Parameters
    ----------
    module : torch.nn.Module
        Built with the pretrained reference weights.
    blob : bytes
    expected_missing : collection of str, optional
        Keys allowed to be absent from the blob (they keep the reference
        weights); any other absent or unexpected key is an error.
    """
    from sktransfer.backbones._checkpoint import read_state_dict

    if not isinstance(blob, (bytes, bytearray)):
        raise ValueError(
            f"the stored fine-tuned weights are a {type(blob).__name__}, expected "
            f"the bytes written by torch.save when the estimator was pickled"
        )
    where = f"the fine-tuned weights blob ({len(blob)} bytes in the pickle)"
    state = read_state_dict(io.BytesIO(bytes(blob)), where)
    result = module.load_state_dict(state, strict=False)
    missing = set(result.missing_keys) - set(expected_missing or ())
    if missing or result.unexpected_keys:
        raise ValueError(
            f"the stored fine-tuned weights do not match the rebuilt backbone "
            f"(missing {sorted(missing)[:5]}, unexpected "
            f"{sorted(result.unexpected_keys)[:5]}); was the backbone's "
            f"registration changed since the model was saved?"
        )
    return module

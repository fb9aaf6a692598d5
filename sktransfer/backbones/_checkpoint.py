"""State dicts as bytes and back, read safely, with errors that say what was expected."""

import io
import pickle
from collections.abc import Mapping

from sktransfer._optional import import_optional

__all__ = ["load_weights", "read_state_dict", "save_weights"]


def read_state_dict(source, where, unwrap=False):
    """``torch.load(source, weights_only=True)`` of a state dict, on the CPU.

    Parameters
    ----------
    source : str, Path or file-like
        The checkpoint.
    where : str
        What it is, for error messages (``"checkpoint file '/x/y.pt'"``).
    unwrap : bool, default=False
        Accept a dict holding the state dict under ``"state_dict"`` (as
        training scripts often save).

    Returns
    -------
    state : dict of str -> torch.Tensor

    Raises
    ------
    ValueError
        When ``source`` is not a torch checkpoint (a pickle error, a truncated
        or foreign file), holds objects that ``weights_only=True`` refuses
        (no code is ever run), or is not a mapping of names to tensors.
    """
    torch = import_optional("torch")
    expected = (
        "expected a state dict saved with torch.save(model.state_dict(), ...), "
        "read with weights_only=True"
    )
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, ...
        if isinstance(exc, pickle.UnpicklingError):
            # torch's text suggests weights_only=False: never do that here
            reason = (
                "not a torch file, or it holds objects other than tensors, "
                "which weights_only=True refuses (no code is run)"
            )
        else:
            reason = (str(exc).strip().splitlines() or [""])[0]
        raise ValueError(
            f"{where} is not a valid torch checkpoint ({expected}): "
            f"{type(exc).__name__}: {reason}"
        ) from exc
    if unwrap and isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{where} holds a {type(state).__name__}; {expected}")
    bad = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if bad:
        raise ValueError(
            f"{where} is not a state dict: {bad[0]!r} holds a "
            f"{type(state[bad[0]]).__name__}, not a tensor; {expected}"
        )
    return state


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
    if not isinstance(blob, (bytes, bytearray)):
        raise ValueError(
            f"the stored weights are a {type(blob).__name__}, expected "
            f"the bytes written by torch.save when the estimator was pickled"
        )
    where = f"the stored weights blob ({len(blob)} bytes in the pickle)"
    state = read_state_dict(io.BytesIO(bytes(blob)), where)
    result = module.load_state_dict(state, strict=False)
    missing = set(result.missing_keys) - set(expected_missing or ())
    if missing or result.unexpected_keys:
        raise ValueError(
            f"the stored weights do not match the rebuilt backbone "
            f"(missing {sorted(missing)[:5]}, unexpected "
            f"{sorted(result.unexpected_keys)[:5]}); was the backbone's "
            f"registration changed since the model was saved?"
        )
    return module

"""Device and precision resolution."""

import contextlib

from sktransfer._optional import import_optional

__all__ = ["autocast", "resolve_device", "resolve_precision"]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(device):
    """``"auto"`` -> CUDA when available, else CPU; other values as torch devices."""
    torch = import_optional("torch")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available")
    return resolved


def resolve_precision(precision, device):
    """``"auto"`` -> fp32 on CPU; bf16 on CUDA when supported, else fp16."""
    torch = import_optional("torch")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def autocast(device, precision):
    """A context manager running the forward pass in the given precision."""
    if precision == "fp32":
        return contextlib.nullcontext()
    torch = import_optional("torch")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)

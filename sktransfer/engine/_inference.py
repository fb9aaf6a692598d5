"""The one batched inference loop (eval, inference mode, batches to CPU)."""

import numpy as np

from sktransfer._optional import import_optional
from sktransfer.engine._device import autocast
from sktransfer.engine._progress import progress

__all__ = ["run_inference"]


def run_inference(
    module,
    dataset,
    *,
    batch_size,
    device,
    precision="fp32",
    num_workers=0,
    collate_fn=None,
    verbose=0,
    desc="embedding",
    channels_last=False,
):
    """Run ``module`` over ``dataset`` in batches and return a float32 array.

    The module is put in eval mode and run under ``torch.inference_mode`` and
    the requested autocast precision; each batch's output is moved to the CPU
    as soon as it is computed, so memory holds one batch of inputs at a time.
    Items are decoded by the dataset, overlapping the forward pass: in
    ``num_workers`` DataLoader worker processes when > 0, else in a few
    background threads of this process (`sktransfer.engine._prefetch`).

    Parameters
    ----------
    module : torch.nn.Module
    dataset : torch.utils.data.Dataset or list
        Items in output order.
    batch_size : int
    device : torch.device
    precision : {"fp32", "bf16", "fp16"}
    num_workers : int
    collate_fn : callable, optional
    verbose : "auto", bool or int
        Show a tqdm progress bar: always when true, never when false, and with
        "auto" when the job is long and watched (see
        `sktransfer.engine._progress`).
    desc : str
        Progress bar label.
    channels_last : bool
        Convert image batches to channels-last memory format (convnets on CUDA).

    Returns
    -------
    outputs : ndarray of shape (len(dataset), n_features), dtype float32
    """
    torch = import_optional("torch")
    loader = _batches(dataset, batch_size, num_workers, collate_fn, device)
    module.eval()
    # a runtime's runner (not a torch module) reads NCHW: no layout change
    channels_last = channels_last and isinstance(module, torch.nn.Module)
    out = None
    start = 0
    limit = [batch_size]  # largest batch that fitted in GPU memory so far
    batches = iter(loader)
    try:
        with torch.inference_mode(), autocast(device, precision):
            for batch in progress(
                batches, total=len(loader), desc=desc, verbose=verbose
            ):
                if isinstance(batch, torch.Tensor):
                    batch = batch.to(device, non_blocking=True)
                    if channels_last and batch.ndim == 4:
                        batch = batch.contiguous(memory_format=torch.channels_last)
                result = forward_with_backoff(module, batch, limit)
                result = result.float().cpu().numpy()
                if out is None:
                    out = np.empty((len(dataset), result.shape[1]), dtype=np.float32)
                out[start : start + len(result)] = result
                start += len(result)
    finally:  # stops the decode threads when the forward pass failed
        getattr(batches, "close", lambda: None)()
    return out


def _batches(dataset, batch_size, num_workers, collate_fn, device):
    """Worker processes when asked, else decode threads ahead of the forward pass."""
    torch = import_optional("torch")
    if num_workers == 0:
        from sktransfer.engine._prefetch import ThreadedBatches

        return ThreadedBatches(dataset, batch_size, collate_fn)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,
        collate_fn=collate_fn,
        pin_memory=device.type == "cuda",
        persistent_workers=False,
    )


def forward_with_backoff(module, batch, limit):
    """``module(batch)``, halving the batch and retrying on CUDA out-of-memory.

    ``limit`` is a one-element list holding the largest batch size known to
    fit; it shrinks on out-of-memory and is reused for the following batches,
    so the search happens once.
    """
    torch = import_optional("torch")
    size = len(batch)
    while True:
        step = max(1, min(limit[0], size))
        try:
            if step >= size:
                return module(batch)
            return torch.cat(
                [module(batch[i : i + step]) for i in range(0, size, step)]
            )
        except torch.cuda.OutOfMemoryError:
            if step == 1:
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            limit[0] = step // 2

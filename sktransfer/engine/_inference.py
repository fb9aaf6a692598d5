"""The one batched inference loop (eval, inference mode, batches to CPU)."""

import os
from contextlib import contextmanager

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
    prefetch="auto",
):
    """Run ``module`` over ``dataset`` in batches and return a float32 array.

    The module is put in eval mode and run under ``torch.inference_mode`` and
    the requested autocast precision; each batch's output is moved to the CPU
    as soon as it is computed, so memory holds one batch of inputs at a time.
    Items are decoded by the dataset, overlapping the forward pass: in
    ``num_workers`` DataLoader worker processes when > 0; else, for a
    dataset with ``decode`` and ``finish`` (images), the decoding of the
    next items runs in a background thread (`sktransfer.engine._prefetch`),
    with results identical to the serial loop's.

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
        Convert image batches to channels-last memory format (convnets on
        CUDA); torch modules only (a runtime's runner reads NCHW).
    prefetch : bool or "auto"
        Decode ahead in a background thread when ``num_workers`` is 0
        (False: the serial loop, decoding each item when it is read).
        ``"auto"``: only when a core is left for it, i.e. on CUDA or when
        the process may use more cores than torch's intra-op threads
        (measured on 2 cores with 2 torch threads: the thread only competed
        with the forward pass, 0.93-0.98x the serial loop;
        ``benchmarks/results/runtimes.md``).

    Returns
    -------
    outputs : ndarray of shape (len(dataset), n_features), dtype float32
    """
    torch = import_optional("torch")
    if prefetch == "auto":
        prefetch = device.type == "cuda" or _cores() > torch.get_num_threads()
    with _decoded_ahead(dataset, num_workers == 0 and prefetch, batch_size) as items:
        loader = torch.utils.data.DataLoader(
            items,
            batch_size=batch_size,
            shuffle=False,
            num_workers=num_workers,
            collate_fn=collate_fn,
            pin_memory=device.type == "cuda",
            persistent_workers=False,
        )
        return _forward_all(
            module, loader, len(dataset), device, precision, verbose, desc,
            channels_last, batch_size,
        )  # fmt: skip


def _cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def _decoded_ahead(dataset, prefetch, batch_size):
    """``dataset``, read through a decode-ahead thread for image datasets.

    The thread is stopped and joined on leaving, whatever stopped the loop
    (an undecodable item, a transform or forward pass that raised).
    """
    if not (prefetch and hasattr(dataset, "decode")):
        yield dataset
        return
    from sktransfer.engine._prefetch import DecodeAhead

    # two batches ahead: the next one is ready when this forward pass ends
    with DecodeAhead(dataset, items_ahead=2 * batch_size) as ahead:
        yield ahead


def _forward_all(
    module,
    loader,
    n_items,
    device,
    precision,
    verbose,
    desc,
    channels_last,
    batch_size,
):
    """The loop over ``loader``'s batches: outputs ``(n_items, n_features)``."""
    torch = import_optional("torch")
    module.eval()
    # a runtime's runner (not a torch module) reads NCHW: no layout round trip
    channels_last = channels_last and isinstance(module, torch.nn.Module)
    out = None
    start = 0
    limit = [batch_size]  # largest batch that fitted in GPU memory so far
    with torch.inference_mode(), autocast(device, precision):
        for batch in progress(loader, total=len(loader), desc=desc, verbose=verbose):
            if isinstance(batch, torch.Tensor):
                batch = batch.to(device, non_blocking=True)
                if channels_last and batch.ndim == 4:
                    batch = batch.contiguous(memory_format=torch.channels_last)
            result = forward_with_backoff(module, batch, limit).float().cpu().numpy()
            if out is None:
                out = np.empty((n_items, result.shape[1]), dtype=np.float32)
            out[start : start + len(result)] = result
            start += len(result)
    return out


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

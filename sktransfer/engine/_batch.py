"""``batch_size="auto"``: the batch size measured fastest for the device and runtime.

On CUDA large batches keep the device busy: 32 (activations of bigger ones
gain little and risk out-of-memory on small cards; the inference loop halves
a batch that does not fit anyway). On the CPU small batches are faster: the
activations of a few inputs stay in the caches. The sizes below are the
fastest measured per modality and runtime in
``benchmarks/results/batch_size.md`` (``python -m benchmarks.batch_size_plot``,
EfficientNet-Lite0 and all-MiniLM-L6-v2, one thread, 2 shared cores):
images 4 on every runtime (torch 1.8x, ONNX Runtime 1.5x, OpenVINO 1.1x the
rate at 32), except torch eager, where an earlier run on a near-idle machine
with two threads found 8 fastest (1.4x 32) and 4 within 2% of it; texts 16
on torch and OpenVINO, 8 on ONNX Runtime (1.0x to 1.2x 32: length-sorted
batches pad little at any size, so the curve is flat from 8 to 32).
"""

__all__ = ["CPU_BATCH_SIZES", "CUDA_BATCH_SIZE", "resolve_batch_size"]

CUDA_BATCH_SIZE = 32
# (modality, runtime) -> batch size; others (numeric toy backbones): FALLBACK
CPU_BATCH_SIZES = {
    ("image", "torch"): 8,
    ("image", "openvino"): 4,
    ("image", "onnx"): 4,
    ("text", "torch"): 16,
    ("text", "openvino"): 16,
    ("text", "onnx"): 8,
}
FALLBACK = 32


def resolve_batch_size(batch_size, device, runtime, modality):
    """The batch size to run: ``batch_size`` itself, or what ``"auto"`` means.

    Parameters
    ----------
    batch_size : int or "auto"
    device : torch.device
    runtime : {"torch", "onnx", "openvino"}
        The runtime in use (``runtime_``).
    modality : {"image", "text", "numeric"}

    Returns
    -------
    batch_size : int
    """
    if batch_size != "auto":
        return int(batch_size)
    if device.type != "cpu":
        return CUDA_BATCH_SIZE
    return CPU_BATCH_SIZES.get((modality, runtime), FALLBACK)

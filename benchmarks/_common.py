"""Helpers shared by the benchmark scripts (timing, result files, machine info)."""

import os
import platform
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

# The runtime / precision settings the runtime benchmarks compare, one table
# for all of them: label -> embedder parameters.
RUNTIME_SETTINGS = {
    "torch eager fp32": {"runtime": "torch"},
    "ONNX Runtime fp32": {"runtime": "onnx"},
    "OpenVINO fp32": {"runtime": "openvino"},
    "OpenVINO bf16": {"runtime": "openvino", "precision": "bf16"},
    "OpenVINO int8": {"runtime": "openvino", "precision": "int8"},
    "ONNX Runtime int8": {"runtime": "onnx", "precision": "int8"},
}
TORCH = "torch eager fp32"


def runtime_settings(*labels, lossy_mark=""):
    """``{label: parameters}`` for these rows of ``RUNTIME_SETTINGS`` (all by default).

    ``lossy_mark`` is appended to the label of each lossy precision (for
    example ``" (lossy)"``); each call returns fresh parameter dicts.
    """
    rows = {}
    for label in labels or RUNTIME_SETTINGS:
        params = dict(RUNTIME_SETTINGS[label])
        rows[label + (lossy_mark if "precision" in params else "")] = params
    return rows


def machine():
    """One line describing where a benchmark ran."""
    import torch

    cpu = platform.processor() or platform.machine()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), {gpu}, Python {sys.version.split()[0]}"
    )


def timed(fn, *args, **kwargs):
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def interleaved(candidates, rounds=3):
    """Time each candidate ``rounds`` times, alternating them; median seconds.

    Alternating A, B, A, B, ... spreads the noise of a shared machine over all
    candidates, so their ratio is meaningful even when absolute times are not.
    """
    times = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            seconds, _ = timed(fn)
            times[name].append(seconds)
    return {name: statistics.median(values) for name, values in times.items()}, times


def write_result(name, text):
    """Write ``benchmarks/results/<name>.md`` and echo it."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(text)
    print(text)
    print(f"[written to {path}]")

"""Helpers shared by the benchmark scripts (timing, result files, machine info)."""

import os
import platform
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


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

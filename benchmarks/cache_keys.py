"""A fully cached transform of JPEG files: content keys vs stat keys vs computing.

Writes Fashion-MNIST test images as RGB JPEG files (upscaled to 224x224) to a
temporary folder, embeds them with the default `ImageEmbedder`
(EfficientNet-Lite0, offline weights) without a cache (the computing time),
then fills two caches with those vectors, one keyed by file content
(``cache_key="content"``, the default: a blake2b hash of each file's bytes)
and one by path and file status (``cache_key="path+stat"``), and times fully
cached transforms of all the files through each, interleaved. Every cached
pass must return exactly the computed vectors.

The files were just written, so they sit in the OS page cache: the timings
are for warm files (a cold disk adds the same read time to computing and to
the content key, and nothing to the stat key).

Run: python -m benchmarks.cache_keys [--n 5000] [--n-compute 5000] [--size 224]
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks._common import machine, timed, write_result
from sktransfer import ImageEmbedder
from sktransfer.datasets import load_fashion_mnist
from sktransfer.engine import EmbeddingCache
from sktransfer.engine._keys import image_cache_key


def write_jpegs(folder, n, size):
    images, _ = load_fashion_mnist("test")
    paths = []
    for i in range(n):
        image = Image.fromarray(images[i % len(images)]).convert("RGB")
        path = Path(folder) / f"{i:05d}.jpg"
        image.resize((size, size), Image.BICUBIC).save(path, quality=90)
        paths.append(str(path))
    return paths


def filled_cache(folder, embedder, paths, vectors, mode):
    """A cache holding ``vectors`` under the keys ``mode`` gives ``paths``."""
    cache = EmbeddingCache(folder)
    keys = [image_cache_key(p, mode) for p in paths]
    seconds, _ = timed(cache.put, embedder.fingerprint_, keys, vectors)
    return cache, seconds


def clock(fn):
    """``(wall seconds, CPU seconds of this process, result)`` of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def cached_rounds(candidates, rounds):
    """Wall and CPU seconds of each candidate, interleaved; medians."""
    times = {name: ([], []) for name in candidates}
    for _ in range(rounds):
        for name, fn in candidates.items():
            wall, cpu, _ = clock(fn)
            times[name][0].append(wall)
            times[name][1].append(cpu)
    medians = {
        name: (statistics.median(w), statistics.median(c))
        for name, (w, c) in times.items()
    }
    return medians, times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--n-compute", type=int, default=5000)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_jpegs(Path(tmp), args.n, args.size)
        args.kb_per_file = sum(os.path.getsize(p) for p in paths) / len(paths) / 1e3
        plain = ImageEmbedder(batch_size=32).fit(paths[:1])
        n_compute = min(args.n_compute, args.n)
        print(f"computing {n_compute} images ...", flush=True)
        wall, cpu, computed = clock(lambda: plain.transform(paths[:n_compute]))
        print(f"computed in {wall:.1f} s; filling the caches", flush=True)
        compute = (wall / n_compute, cpu / n_compute)  # per image
        if n_compute < args.n:  # cache the rest with copies of computed vectors
            rest = computed[np.arange(args.n - n_compute) % n_compute]
            computed = np.concatenate([computed, rest])
        put_s, embedders = {}, {}
        for mode in ("content", "path+stat"):
            folder = Path(tmp) / f"cache-{mode.replace('+', '-')}"
            put_s[mode] = filled_cache(folder, plain, paths, computed, mode)[1]
            embedders[mode] = ImageEmbedder(
                batch_size=32, cache=folder, cache_key=mode
            ).fit(paths[:1])
            assert np.array_equal(embedders[mode].transform(paths), computed), mode
        medians, all_times = cached_rounds(
            {
                "content": lambda: embedders["content"].transform(paths),
                "path+stat": lambda: embedders["path+stat"].transform(paths),
                "keys only (content)": lambda: [image_cache_key(p) for p in paths],
            },
            args.rounds,
        )
    report(args, (n_compute, wall, compute, medians, all_times, put_s), load_before)


def report(args, figures, load_before):
    n_compute, compute_s, (per_image, cpu_per_image), medians, all_times, put_s = (
        figures
    )
    n = args.n
    extrapolated = n_compute < n
    load = os.getloadavg()
    rows = [
        f"| computing (no cache) | {per_image * n:.1f}"
        + (" (extrapolated)" if extrapolated else "")
        + f" | {1e3 * per_image:.2f} | {1e3 * cpu_per_image:.2f} | 1.0x | 1.0x |",
    ]
    for mode in ("content", "path+stat"):
        wall, cpu = medians[mode]
        rows.append(
            f'| fully cached, `cache_key="{mode}"` | {wall:.2f} | '
            f"{1e3 * wall / n:.3f} | {1e3 * cpu / n:.3f} | "
            f"**{per_image * n / wall:.0f}x** | {cpu_per_image * n / cpu:.0f}x |"
        )
    keys_s = medians["keys only (content)"][0]
    compute_note = (
        f"Computing was timed on all {n} files in this run ({compute_s:.1f} s)."
        if not extrapolated
        else f"**Computing was timed on the first {n_compute} files only "
        f"({compute_s:.1f} s) and extrapolated per image to {n}**; the cached "
        f"passes were timed on all {n} (the files beyond the first {n_compute} "
        "were cached with copies of computed vectors: the cached passes read "
        "and check them exactly as real entries)."
    )
    content, stat = medians["content"][0], medians["path+stat"][0]
    text = "\n".join(
        [
            "# Cache keys: a fully cached transform of JPEG files",
            "",
            f"Produced by `python -m benchmarks.cache_keys --n {n} --n-compute "
            f"{args.n_compute} --size {args.size}`.",
            f"Machine: {machine()}. Load average (1, 5, 15 min) at the start "
            f"{', '.join(f'{v:.2f}' for v in load_before)}, at the end "
            f"{', '.join(f'{v:.2f}' for v in load)} (a 2-core machine shared with "
            "other jobs: wall seconds are noisy; CPU seconds of this process, "
            "also given, depend less on the load).",
            "",
            f"{n} Fashion-MNIST test images written as RGB JPEG files of "
            f"{args.size}x{args.size} (quality 90, {args.kb_per_file:.1f} kB per "
            "file on average), default `ImageEmbedder` "
            "(EfficientNet-Lite0, offline weights, batch 32, 1 torch thread). "
            f"Cached passes: median of {args.rounds} interleaved rounds; every "
            "cached pass returned exactly the vectors stored. Files are warm in "
            "the OS page cache (just written).",
            "",
            "| transform of all files | seconds | ms per image | CPU ms per image "
            "| speed-up vs computing | CPU speed-up |",
            "|---|---:|---:|---:|---:|---:|",
            *rows,
            "",
            compute_note,
            "",
            f"Content keys cost {content / stat:.2f}x the stat keys for a fully "
            f"cached pass; hashing the {n} files alone (read + blake2b) took "
            f"{keys_s:.2f} s ({1e3 * keys_s / n:.3f} ms per file). Goal: "
            "content-keyed cached transform at least 20x faster than computing.",
            "",
            f"Filling each cache ({n} entries, keys included): content "
            f"{put_s['content']:.2f} s, path+stat {put_s['path+stat']:.2f} s.",
            "",
            "All rounds, wall s: "
            + "; ".join(
                f"{name}: {', '.join(f'{t:.2f}' for t in walls)}"
                for name, (walls, _) in all_times.items()
            ),
            "",
        ]
    )
    write_result("cache_keys", text)


if __name__ == "__main__":
    main()

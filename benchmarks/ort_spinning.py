"""ONNX Runtime's spinning threads: spin-wait or sleep between runs, per modality.

ONNX Runtime's intra-op threads spin-wait after each run by default. The
library keeps that for texts and numeric rows and turns it off for images
(``sktransfer.engine._onnx.SPIN``). This compares both settings for every
session, each in fresh processes, alternated over rounds, on 2 threads:

- ``ImageEmbedder(runtime="onnx").transform`` of JPEG files end to end (the
  decode thread runs beside the session);
- ``TextEmbedder(runtime="onnx").transform`` of distinct rt-polarity
  sentences (tokenising between batches);
- ``ImageEmbedder(runtime="torch")`` and ``runtime="openvino"`` on the same
  files in the same process, after the ONNX Runtime session has run: what
  the spinning threads cost their neighbours.

Writes benchmarks/results/ort_spinning.md.
Run: python -m benchmarks.ort_spinning [--n-images 256] [--n-texts 1000] [--rounds 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from benchmarks._common import machine, write_result

ROWS = {
    "images": "ImageEmbedder onnx, JPEG files end to end (images/s)",
    "texts": "TextEmbedder onnx, sentences (sentences/s)",
    "torch after": "ImageEmbedder torch in the same process (images/s)",
    "openvino after": "ImageEmbedder openvino in the same process (images/s)",
}


def child(spin, paths, n_texts, threads):
    """One process: the rates of every row, with ``SPIN`` set as given."""
    import torch

    from benchmarks.text_throughput import sentences
    from sktransfer import ImageEmbedder, TextEmbedder
    from sktransfer.engine import _onnx

    torch.set_num_threads(threads)
    _onnx.SPIN = dict.fromkeys(_onnx.SPIN, spin)
    texts = sentences(n_texts)
    embedders = {
        "images": ImageEmbedder(runtime="onnx").fit(paths[:1]),
        "texts": TextEmbedder(runtime="onnx").fit(texts[:1]),
        "torch after": ImageEmbedder(runtime="torch").fit(paths[:1]),
        "openvino after": ImageEmbedder(runtime="openvino").fit(paths[:1]),
    }
    rates = {}
    for name, est in embedders.items():
        items = texts if name == "texts" else paths
        est.transform(items[:16])  # warm
        start = time.perf_counter()
        est.transform(items)
        rates[name] = len(items) / (time.perf_counter() - start)
        rates[f"{name} runtime_"] = est.runtime_
    return rates


def run_child(spin, paths_file, args):
    command = [
        sys.executable,
        "-m",
        "benchmarks.ort_spinning",
        "--child",
        "spin" if spin else "sleep",
        "--paths-file",
        paths_file,
        "--n-texts",
        str(args.n_texts),
        "--threads",
        str(args.threads),
    ]
    env = {**os.environ, "SKTRANSFER_FAST_START": "0"}
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=256)
    parser.add_argument("--n-texts", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=["spin", "sleep"])
    parser.add_argument("--paths-file")
    args = parser.parse_args(argv)
    if args.child:
        with open(args.paths_file) as handle:
            paths = json.load(handle)
        rates = child(args.child == "spin", paths, args.n_texts, args.threads)
        print(json.dumps(rates))
        return
    from benchmarks.runtimes import write_jpegs

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_jpegs(folder, args.n_images, 320)
        paths_file = os.path.join(folder, "paths.json")
        with open(paths_file, "w") as handle:
            json.dump(paths, handle)
        results = {True: [], False: []}
        for _ in range(args.rounds):
            for spin in (True, False):
                results[spin].append(run_child(spin, paths_file, args))
    rows = []
    for key, label in ROWS.items():
        on = statistics.median(r[key] for r in results[True])
        off = statistics.median(r[key] for r in results[False])
        runtime = results[False][0][f"{key} runtime_"]
        rows.append(f"| {label} | {runtime} | {on:.1f} | {off:.1f} | {off / on:.2f}x |")
    text = f"""# ONNX Runtime's spinning threads (spin-wait vs sleep between runs)

Command: `python -m benchmarks.ort_spinning --n-images {args.n_images} --n-texts {args.n_texts} --threads {args.threads} --rounds {args.rounds}`

Machine: {machine()}, {args.threads} threads per process. Total {time.perf_counter() - started:.0f} s.

Each cell: the median over {args.rounds} fresh processes per setting,
alternated (spin, sleep, spin, ...); in each process the rows run in this
order, after one warm-up call each, on {args.n_images} JPEG files (320x320)
and {args.n_texts} distinct sentences. "spin" is ONNX Runtime's default
(`session.intra_op.allow_spinning=1`), "sleep" its opposite; the library
sleeps for images and spins for texts and numeric rows.

| row | runtime_ | spin | sleep | sleep / spin |
|---|---|---:|---:|---:|
{chr(10).join(rows)}

Raw rates per process: spin {results[True]}; sleep {results[False]}.
"""
    write_result("ort_spinning", text)


if __name__ == "__main__":
    main()

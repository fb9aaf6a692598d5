"""Images end to end from JPEG files: the code when issue 14 was filed vs now.

Issue 14's goal for images is the default at 5x "today's torch end to end",
measured on the code of its day. This script measures that ratio side by side
in one run: ``ImageEmbedder()`` at its defaults on the same JPEG files, once
from the tree of commit `THEN` (the last commit before the runtimes, the
decode thread, ``jpeg_draft`` and ``batch_size="auto"``: torch eager, batch
32, serial decode) and once from this checkout. Each side runs in fresh
processes of its own (``git archive`` unpacks the old tree into a temporary
folder, put first on ``sys.path``), alternated, with the same thread count;
inside each process the first transform of a few files warms up, then
``transform`` of all files is timed. Medians over every timed round. The
outputs are compared by cosine (the same network and weights; the resize and
crop code changed, so small differences are expected).

Run: ``python -m benchmarks.then_now --n-images 500 --processes 3 --rounds 2``.
Results: ``benchmarks/results/then_now.md``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._common import machine, write_result
from benchmarks.runtimes import cosines, write_jpegs

ROOT = Path(__file__).resolve().parent.parent
THEN = "51f3da664e5caa05c1c727f37002738608fe3c0f"

CHILD = r"""
import json, sys, time
import numpy as np
src, paths_file, threads, rounds, out = sys.argv[1:6]
if src != "-":
    sys.path.insert(0, src)
import torch
torch.set_num_threads(int(threads))
import sktransfer
from sktransfer import ImageEmbedder
paths = json.loads(open(paths_file).read())
est = ImageEmbedder().fit(paths[:1])
est.transform(paths[:8])  # warm-up: the first batch's one-off costs
seconds = []
for _ in range(int(rounds)):
    start = time.perf_counter()
    X = est.transform(paths)
    seconds.append(time.perf_counter() - start)
np.save(out, np.asarray(X, dtype=np.float32))
print(json.dumps({"seconds": seconds, "file": sktransfer.__file__,
                  "runtime": getattr(est, "runtime_", "torch (no runtime_)")}))
"""


def unpack(commit, folder):
    """The ``sktransfer`` package of ``commit`` under ``folder``."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    archive = Path(folder) / "then.tar"
    with open(archive, "wb") as handle:
        subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "sktransfer"],
            stdout=handle, check=True,
        )  # fmt: skip
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return str(folder)


def child(src, paths_file, threads, rounds, out):
    run = subprocess.run(
        [sys.executable, "-c", CHILD, src, paths_file, str(threads), str(rounds), out],
        capture_output=True, text=True, check=True,
        cwd=tempfile.gettempdir(),  # not this checkout: the path decides the code
    )  # fmt: skip
    return json.loads(run.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=500)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--processes", type=int, default=3, help="per side")
    parser.add_argument("--rounds", type=int, default=2, help="per process")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="then-now-") as folder:
        paths = write_jpegs(folder, args.n_images, args.size)
        paths_file = str(Path(folder) / "paths.json")
        Path(paths_file).write_text(json.dumps(paths))
        then_src = unpack(THEN, Path(folder) / "then")
        sides = {f"then ({THEN[:7]})": then_src, "now (this checkout)": "-"}
        seconds, info, outputs = {s: [] for s in sides}, {}, {}
        for k in range(args.processes):
            for side, src in sides.items():
                out = str(Path(folder) / f"{len(info)}-{k}.npy")
                result = child(src, paths_file, args.threads, args.rounds, out)
                seconds[side] += result["seconds"]
                info[side] = result
                outputs[side] = np.load(out)
                print(side, result, flush=True)
                if src != "-" and not result["file"].startswith(src):
                    raise SystemExit(f"{side} imported {result['file']}, not {src}")
    then, now = sides
    rates = {s: args.n_images / statistics.median(v) for s, v in seconds.items()}
    ratio = rates[now] / rates[then]
    lines = [
        "# Images end to end from JPEG files: the code when issue 14 was filed vs now",
        "",
        f"Command: `python -m benchmarks.then_now {' '.join(sys.argv[1:])}`",
        "",
        f"Machine: {machine()}; load average at the end {os.getloadavg()} "
        "(ratios within this run are the figures to read).",
        f"{args.n_images} JPEG files ({args.size}x{args.size}), "
        f"`ImageEmbedder()` at each side's defaults (EfficientNet-Lite0), "
        f"{args.threads} torch threads, {args.processes} fresh processes per "
        f"side alternated, {args.rounds} timed transforms each after a warm-up.",
        "",
        f"**Images end to end: the default now runs {ratio:.2f}x the code of "
        f"{THEN[:7]} (torch eager, batch 32, serial decode) at its defaults "
        f"({rates[then]:.1f} to {rates[now]:.1f} images/s); cosine between "
        f"their outputs (min / mean) {cosines(outputs[then], outputs[now])}.**",
        "",
        "| side | sktransfer imported from | runtime | images/s (median) | vs then |",
        "|---|---|---|---|---|",
    ]
    for side in sides:
        where = info[side]["file"].replace(tempfile.gettempdir(), "$TMP")
        lines.append(
            f"| {side} | {where} | {info[side]['runtime']} | {rates[side]:.1f} "
            f"| **{rates[side] / rates[then]:.2f}x** |"
        )
    lines += ["", f"Raw seconds per transform: {json.dumps(seconds)}."]
    write_result("then_now", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

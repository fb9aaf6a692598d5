"""Peak resident memory while embedding 5,000 image files.

Each measurement runs in a fresh process (peak RSS from getrusage): a baseline
process that loads the model and embeds one batch, and a process that embeds
all files. The difference is what the 5,000 files cost; holding them decoded
and preprocessed would cost N x 3 x 224 x 224 x 4 bytes.

Run: python -m benchmarks.embed_memory [--n 5000]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._common import machine, write_result

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from sktransfer import ImageEmbedder
paths = sorted(str(p) for p in Path(sys.argv[1]).glob("*.jpg"))[: int(sys.argv[2])]
start = time.perf_counter()
Z = ImageEmbedder(batch_size=int(sys.argv[3])).fit(paths[:1]).transform(paths)
print(json.dumps({"n": len(paths), "shape": list(Z.shape), "seconds": time.perf_counter() - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(folder, n, batch_size):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(folder), str(n), str(batch_size)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    from PIL import Image

    from sktransfer.backbones import get_backbone

    rng = np.random.default_rng(0)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
            Image.fromarray(image).save(Path(tmp) / f"{i:05d}.jpg", quality=85)
        base = run(tmp, args.batch_size, args.batch_size)
        full = run(tmp, args.n, args.batch_size)
    load_after = os.getloadavg()
    model = get_backbone("tf_efficientnet_lite0").build()
    model_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    batch_mb = args.batch_size * 3 * 224 * 224 * 4 / 2**20
    all_mb = args.n * 3 * 224 * 224 * 4 / 2**20
    out_mb = args.n * 1280 * 4 / 2**20
    growth = full["peak_rss_mb"] - base["peak_rss_mb"]
    lines = [
        "# Peak memory while embedding image files",
        "",
        f"Machine: {machine()}. Load average (1, 5, 15 min) at the start "
        f"{', '.join(f'{v:.2f}' for v in load_before)}, at the end "
        f"{', '.join(f'{v:.2f}' for v in load_after)} (shared machine: seconds are "
        "noisy; memory is not).",
        f"tf_efficientnet_lite0, batch size {args.batch_size}, {args.n} JPEG files (128x96, random "
        "pixels), each run in a fresh process.",
        "",
        "| run | images | peak RSS (MB) | seconds |",
        "|---|---:|---:|---:|",
        f"| baseline: load model, embed one batch | {base['n']} | {base['peak_rss_mb']:.0f} | {base['seconds']:.1f} |",
        f"| embed all files | {full['n']} | {full['peak_rss_mb']:.0f} | {full['seconds']:.1f} |",
        "",
        f"Growth from {base['n']} to {full['n']} images: **{growth:.0f} MB**, of which the output "
        f"array itself is {out_mb:.0f} MB ({args.n} x 1280 float32).",
        f"For scale: model weights {model_mb:.0f} MB; one preprocessed batch {batch_mb:.0f} MB; all "
        f"{args.n} images preprocessed at once would be {all_mb:.0f} MB. "
        + (
            f"The {args.n} files cost {growth:.0f} MB, {growth / all_mb:.0%} of "
            "that: images are decoded batch by batch, and beyond the output the "
            "growth stays within two batches plus allocator slack (64 MB)."
            if growth < out_mb + 2 * batch_mb + 64
            else f"Memory grew {growth - out_mb:.0f} MB beyond the output: more than "
            "two batches and allocator slack, so something holds more than a batch."
        ),
        "",
        "Command: `python -m benchmarks.embed_memory"
        + (f" --n {args.n}" if args.n != 5000 else "")
        + (f" --batch-size {args.batch_size}" if args.batch_size != 32 else "")
        + "`",
    ]
    write_result("embed_memory", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

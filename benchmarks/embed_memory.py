"""Peak resident memory while embedding 5,000 image files.

Each measurement runs in a fresh process (peak RSS from getrusage): a baseline
process that loads the model and embeds one batch, and a process that embeds
all files. The difference is what the 5,000 files cost; holding them decoded
and preprocessed would cost N x 3 x 224 x 224 x 4 bytes.

Run: python benchmarks/embed_memory.py [--n 5000]
"""

import argparse
import json
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
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.n):
            image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
            Image.fromarray(image).save(Path(tmp) / f"{i:05d}.jpg", quality=85)
        base = run(tmp, args.batch_size, args.batch_size)
        full = run(tmp, args.n, args.batch_size)
    model = get_backbone("tf_efficientnet_lite0").build()
    model_mb = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
    batch_mb = args.batch_size * 3 * 224 * 224 * 4 / 2**20
    all_mb = args.n * 3 * 224 * 224 * 4 / 2**20
    out_mb = args.n * 1280 * 4 / 2**20
    growth = full["peak_rss_mb"] - base["peak_rss_mb"]
    lines = [
        "# Peak memory while embedding image files",
        "",
        f"Machine: {machine()}",
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
        f"{args.n} images preprocessed at once would be {all_mb:.0f} MB. Images are decoded batch by "
        "batch, so memory does not grow with the number of files beyond the output.",
        "",
        "Command: `python benchmarks/embed_memory.py`",
    ]
    write_result("embed_memory", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

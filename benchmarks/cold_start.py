"""Time to first embedding in a fresh process (issue 14): import + fit + transform.

Three sentences (TextEmbedder, all-MiniLM-L6-v2) and three photos
(ImageEmbedder, EfficientNet-Lite0), each in a new Python process, with:

(a) a cold runtimes folder (the export is made and checked),
(b) the export cached, fast start on (the record answers, no torch),
(c) the export cached, fast start off (``SKTRANSFER_FAST_START=0``).

Median of ``--repeats`` runs; the load average (``uptime``) is written
beside the figures, since other jobs share the machine.

    nice -n 5 python -m benchmarks.cold_start --repeats 3
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "cold_start.md"

_SCRIPT = textwrap.dedent(
    """
    import sys, time
    start = time.perf_counter()
    from sktransfer import ImageEmbedder, TextEmbedder
    if sys.argv[1] == "image":
        Z = ImageEmbedder().fit_transform(sys.argv[2:])
    else:
        Z = TextEmbedder().fit_transform(
            ["a cat on a mat", "a cup of coffee", "an astronaut in space"])
    print(time.perf_counter() - start, "torch" in sys.modules)
    """
)


def _images(folder):
    from PIL import Image
    from skimage import data

    paths = []
    for name, image in (
        ("cat.jpg", data.chelsea()),
        ("coffee.png", data.coffee()),
        ("rocket.jpg", data.rocket()),
    ):
        paths.append(str(folder / name))
        Image.fromarray(image).save(paths[-1])
    return paths


def _run(kind, images, home, fast):
    env = {**os.environ, "SKTRANSFER_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env["SKTRANSFER_FAST_START"] = "1" if fast else "0"
    args = [sys.executable, "-c", _SCRIPT, kind, *(images if kind == "image" else [])]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    seconds, torch = out.stdout.split()
    return float(seconds), torch == "True"


def _uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows, loads = [], [_uptime()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        images = _images(tmp)
        for kind in ("text", "image"):
            cold = []
            for repeat in range(args.repeats):
                home = tmp / f"cold-{kind}-{repeat}"
                cold.append(_run(kind, images, home, fast=True))
            warm = tmp / f"cold-{kind}-0"  # its export and record exist now
            on = [_run(kind, images, warm, fast=True) for _ in range(args.repeats)]
            off = [_run(kind, images, warm, fast=False) for _ in range(args.repeats)]
            for label, runs in (
                ("(a) cold export cache", cold),
                ("(b) warm cache, fast start", on),
                ("(c) warm cache, fast start off", off),
            ):
                times = [t for t, _ in runs]
                rows.append(
                    f"| {kind} | {label} | {statistics.median(times):.2f} | "
                    f"{', '.join(f'{t:.2f}' for t in times)} | "
                    f"{'yes' if any(t for _, t in runs) else 'no'} |"
                )
            loads.append(_uptime())
    lines = [
        "# Time to first embedding in a fresh process",
        "",
        "`python -m benchmarks.cold_start --repeats "
        f"{args.repeats}` (run at nice 5): import + `fit_transform` of 3 sentences "
        "(all-MiniLM-L6-v2) or 3 photos (EfficientNet-Lite0), each in a new "
        "process, runtime `auto` (OpenVINO here). Median and every run, in seconds.",
        "",
        "| input | export cache | median s | runs s | torch imported |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "Load (`uptime`) before, after text, after images:",
        "",
        *[f"    {line}" for line in loads],
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

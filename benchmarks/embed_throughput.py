"""ImageEmbedder throughput vs a hand-written timm inference loop.

Both start from the same pre-decoded uint8 images, use the same backbone,
batch size and threads, and must apply the backbone's preprocessing; the hand
loop does it batched with the same torch ops, then runs the forward pass under
``inference_mode``. The runs alternate (``--rounds``, 5 by default), and the ratio of
median throughputs is reported. A forward-only loop on already-normalised
tensors is shown too (the cost of the model alone). Then the same images from
JPEG files on disk, decoded in 0, 1 or 2 DataLoader workers.

Run: python -m benchmarks.embed_throughput [--n 256] [--batch-size 32]
"""

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks._common import interleaved, machine, write_result
from sktransfer import ImageEmbedder
from sktransfer.backbones import get_backbone


def photos(n, size=256, seed=0):
    """n distinct size x size RGB crops of scikit-image's bundled photos."""
    from skimage import data, transform

    sources = [
        data.chelsea(),
        data.astronaut(),
        data.coffee(),
        data.rocket(),
        data.immunohistochemistry(),
    ]
    rng = np.random.default_rng(seed)
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        src = sources[i % len(sources)]
        h, w = src.shape[:2]
        crop = int(min(h, w) * rng.uniform(0.5, 1.0))
        top, left = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
        patch = transform.resize(
            src[top : top + crop, left : left + crop], (size, size)
        )
        noise = rng.normal(0, 0.01, patch.shape)  # every image distinct
        out[i] = np.clip((patch + noise) * 255, 0, 255).astype(np.uint8)
    return out


def hand_loop(model, images, preprocessing, batch_size):
    import torchvision.transforms.v2.functional as F
    from torchvision.transforms import InterpolationMode

    mean = torch.tensor(preprocessing.mean).view(1, -1, 1, 1)
    std = torch.tensor(preprocessing.std).view(1, -1, 1, 1)
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = torch.from_numpy(images[start : start + batch_size]).permute(0, 3, 1, 2)
            x = x.float() / 255
            x = F.resize(
                x,
                [preprocessing.resize_size],
                interpolation=InterpolationMode(preprocessing.interpolation),
                antialias=True,
            )
            x = F.center_crop(x, list(preprocessing.crop_size)).clamp_(0, 1)
            x = (x - mean) / std
            outputs.append(
                model.forward_head(model.forward_features(x), pre_logits=True)
            )
    return torch.cat(outputs).numpy()


def forward_only(model, tensors, batch_size):
    with torch.inference_mode():
        return torch.cat(
            [
                model.forward_head(
                    model.forward_features(tensors[s : s + batch_size]), pre_logits=True
                )
                for s in range(0, len(tensors), batch_size)
            ]
        ).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    n, bs = args.n, args.batch_size
    load_before = os.getloadavg()[0]

    images = photos(n)
    spec = get_backbone(args.backbone)
    model = spec.build().eval()
    embedder = ImageEmbedder(backbone=args.backbone, batch_size=bs).fit(images[:1])
    ours = embedder.transform(images)
    reference = hand_loop(model, images, spec.preprocessing, bs)
    max_diff = float(np.abs(ours - reference).max())

    from sktransfer.engine._preprocess import ImageTransform
    from sktransfer.io import decode_image

    transform = ImageTransform(spec.preprocessing)
    tensors = torch.stack(
        [transform(decode_image(im, i)) for i, im in enumerate(images)]
    ).contiguous(memory_format=torch.channels_last)  # the layout ImageEmbedder uses

    medians, raw = interleaved(
        {
            "hand-written timm loop (batched preprocessing + forward)": lambda: (
                hand_loop(model, images, spec.preprocessing, bs)
            ),
            "ImageEmbedder.transform (arrays)": lambda: embedder.transform(images),
            "forward only, pre-normalised channels-last tensors": lambda: forward_only(
                model, tensors, bs
            ),
        },
        rounds=args.rounds,
    )
    names = list(medians)
    hand, mine, fwd = (medians[k] for k in names)
    ratio = hand / mine

    with tempfile.TemporaryDirectory() as tmp:
        from PIL import Image

        paths = []
        for i, image in enumerate(images):
            path = Path(tmp) / f"{i:05d}.jpg"
            Image.fromarray(image).save(path, quality=90)
            paths.append(str(path))
        file_runs = {
            f"ImageEmbedder.transform (JPEG files, num_workers={w})": (
                lambda w=w: (
                    ImageEmbedder(backbone=args.backbone, batch_size=bs, num_workers=w)
                    .fit(paths[:1])
                    .transform(paths)
                )
            )
            for w in (0, 1, 2)
        }
        file_medians, _ = interleaved(file_runs, rounds=2)

    rows = [(k, medians[k]) for k in names] + list(file_medians.items())
    lines = [
        "# ImageEmbedder throughput vs a hand-written timm loop",
        "",
        f"Machine: {machine()}; load average before the run {load_before:.2f}, "
        f"after {os.getloadavg()[0]:.2f}",
        f"Backbone `{args.backbone}`, {n} distinct 256x256 photos (crops of scikit-image's "
        f"bundled photos), batch size {bs}, same threads; median of interleaved runs.",
        "",
        "| pipeline | seconds | images/s |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {v:.2f} | {n / v:.1f} |" for k, v in rows]
    lines += [
        "",
        f"**Throughput ratio ImageEmbedder / hand-written loop: {ratio:.3f}** "
        f"(ratio of medians; target >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'}).",
        "Per-round ratios (each round runs both back to back): "
        + ", ".join(
            f"{h / m:.3f}" for h, m in zip(raw[names[0]], raw[names[1]], strict=True)
        )
        + ".",
        f"Forward pass alone is {fwd / mine:.0%} of ImageEmbedder's time; the rest is "
        f"preprocessing (resize to {spec.preprocessing.resize_size}, crop, normalise), which "
        f"both pipelines pay.",
        f"Largest absolute difference between the two pipelines' embeddings: {max_diff:.2e}.",
        "",
        "JPEG rows: decoding with PIL in DataLoader worker processes. On a 2-core machine the "
        "workers compete with the forward pass's threads, so workers help only where cores "
        "are free (more cores, or a GPU doing the forward pass).",
        "",
        "Raw timings (s): "
        + "; ".join(f"{k}: {[round(t, 2) for t in v]}" for k, v in raw.items()),
        "",
        f"Command: `python -m benchmarks.embed_throughput --n {n} --rounds {args.rounds}`",
    ]
    write_result("embed_throughput", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

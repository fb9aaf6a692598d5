"""Command line: ``sktransfer embed``, ``sktransfer backbones``, ``sktransfer demo``."""

import argparse
import sys
from pathlib import Path

__all__ = ["main"]

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _image_files(folder):
    files = sorted(
        p
        for p in Path(folder).rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )
    if not files:
        raise SystemExit(
            f"error: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) under {folder}"
        )
    return files


def _read_table(path, column):
    import pandas as pd

    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    if column not in frame.columns:
        raise SystemExit(
            f"error: column {column!r} not in {path} (columns: {list(frame.columns)})"
        )
    return frame


def _embed(args):
    import numpy as np
    import pandas as pd

    from sktransfer import ImageEmbedder, TextEmbedder

    source, output = Path(args.input), Path(args.output)
    if output.exists() and not args.overwrite:
        raise SystemExit(f"error: {output} exists; pass --overwrite to replace it")
    if output.suffix not in (".parquet", ".npy"):
        raise SystemExit("error: --output must end in .parquet or .npy")
    common = {"batch_size": args.batch_size, "device": args.device, "verbose": 1}
    if source.is_dir():
        files = _image_files(source)
        embedder = ImageEmbedder(
            backbone=args.backbone or "tf_efficientnet_lite0",
            num_workers=args.num_workers,
            **common,
        )
        keys = pd.DataFrame({"path": [str(f.relative_to(source)) for f in files]})
        Z = embedder.fit_transform([str(f) for f in files])
    elif source.is_file():
        if not args.column:
            raise SystemExit(
                "error: embedding a CSV/Parquet file needs --column TEXT_COLUMN"
            )
        frame = _read_table(source, args.column)
        embedder = TextEmbedder(backbone=args.backbone or "all-MiniLM-L6-v2", **common)
        keys = frame.drop(columns=[args.column]) if args.keep_columns else frame[[]]
        Z = embedder.fit_transform(frame[args.column])
    else:
        raise SystemExit(f"error: {source} is neither a folder of images nor a file")
    if output.suffix == ".npy":
        np.save(output, Z)
    else:
        embedding = pd.DataFrame(
            Z, columns=embedder.get_feature_names_out(), index=keys.index
        )
        pd.concat([keys, embedding], axis=1).to_parquet(output, index=False)
    print(f"wrote {Z.shape[0]} embeddings of dimension {Z.shape[1]} to {output}")


def _backbones(args):
    from sktransfer.backbones import describe_backbones

    for name, modality, description in describe_backbones():
        if args.modality in (None, modality):
            print(f"{name:<24} {modality:<8} {description}")
    print(
        "\nAlso accepted (downloaded when online): torchvision names ('resnet50', "
        "'resnet50:IMAGENET1K_V2'), timm names ('timm:convnext_tiny'), "
        "sentence-transformers ids or folders."
    )


def _demo(args):
    from sktransfer._demo import run_demo

    run_demo(backbone=args.backbone, cv=args.cv, quick=args.quick)


def build_parser():
    """The argument parser of the ``sktransfer`` command."""
    parser = argparse.ArgumentParser(prog="sktransfer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    embed = commands.add_parser(
        "embed", help="embed a folder of images, or a text column of a CSV/Parquet file"
    )
    embed.add_argument("input", help="a folder of images, or a .csv / .parquet file")
    embed.add_argument("--output", "-o", required=True, help="a .parquet or .npy file")
    embed.add_argument("--column", help="text column (for a CSV/Parquet input)")
    embed.add_argument("--backbone", help="backbone name (default: offline default)")
    embed.add_argument("--batch-size", type=int, default=32)
    embed.add_argument(
        "--num-workers", type=int, default=0, help="image decoding workers"
    )
    embed.add_argument("--device", default="auto")
    embed.add_argument(
        "--keep-columns", action="store_true", help="copy the other columns"
    )
    embed.add_argument(
        "--overwrite", action="store_true", help="replace an existing output"
    )
    embed.set_defaults(func=_embed)

    backbones = commands.add_parser("backbones", help="list the registered backbones")
    backbones.add_argument("--modality", choices=["image", "text", "numeric"])
    backbones.set_defaults(func=_backbones)

    demo = commands.add_parser(
        "demo", help="raw pixels vs pretrained features on images shipped with packages"
    )
    demo.add_argument("--backbone", default="tf_efficientnet_lite0")
    demo.add_argument("--cv", type=int, default=5)
    demo.add_argument("--quick", action="store_true", help="fewer images")
    demo.set_defaults(func=_demo)
    return parser


def main(argv=None):
    """Entry point of the ``sktransfer`` command."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

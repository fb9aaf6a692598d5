"""The argument parser of the ``sktransfer`` command (plain-text help)."""

import argparse

from sktransfer.cli._commands import run_backbones, run_demo
from sktransfer.cli._embed import run_embed

__all__ = ["build_parser"]

DESCRIPTION = (
    "Pretrained deep networks as scikit-learn estimators, from the command line."
)

EXIT_CODES = """\
exit codes: 0 success; 1 failure (a missing or unreadable input, an output
that cannot be written, a backbone that cannot load, a bad input file with
--on-error raise, nothing embedded with --on-error skip); 2 usage error (a
wrong option or value on the command line)."""

EMBED_DESCRIPTION = """\
Embed every image under a folder (recursively), or one text column of a
CSV, TSV or Parquet file, and write one row per input.

The output is checked before any work (its folder exists and is writable, it
ends in .parquet or .npy, and --overwrite is given to replace a file). Files
are written atomically: a killed run never leaves a half-written file under
the output name. A .parquet output holds a "path" column (folders) or the
other columns (--keep-columns) beside the features; a .npy output of a
folder gets its row -> path mapping in NAME.paths.txt, one path per line."""

ON_ERROR_HELP = (
    "what a bad input (a corrupt, unreadable or empty image; a missing text) "
    "does: 'raise' stops with its name and writes nothing; 'skip' writes the "
    "other rows, lists each skipped input with its reason on stderr and in "
    "NAME.skipped.tsv, and fails only when nothing could be embedded "
    "(default: %(default)s)"
)


def _int_at_least(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer, got {text!r}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}, got {value}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=28)


def _add_embed(commands, common):
    embed = commands.add_parser(
        "embed",
        parents=[common],
        formatter_class=_formatter,
        help="embed a folder of images, or a text column of a CSV/Parquet file",
        description=EMBED_DESCRIPTION,
        epilog=EXIT_CODES,
    )
    add = embed.add_argument
    add("input", help="a folder of images, or a .csv, .tsv or .parquet file")
    add("--output", "-o", required=True, help="the .parquet or .npy file to write")
    add("--column", help="the text column to embed (for a table input)")
    add(
        "--backbone",
        help="backbone name (default: tf_efficientnet_lite0 for images, "
        "all-MiniLM-L6-v2 for text; see 'sktransfer backbones')",
    )
    add(
        "--batch-size",
        type=_int_at_least(1),
        default=32,
        help="inputs per forward pass (default: %(default)s)",
    )
    add(
        "--num-workers",
        type=_int_at_least(0),
        default=0,
        help="processes decoding images beside the forward pass (default: %(default)s)",
    )
    add(
        "--device",
        default="auto",
        help="'auto' (CUDA when available), 'cpu', 'cuda', ... (default: %(default)s)",
    )
    add(
        "--keep-columns",
        action="store_true",
        help="copy the table's other columns into a .parquet output",
    )
    add(
        "--overwrite",
        action="store_true",
        help="replace an existing output (and its sidecars)",
    )
    add(
        "--cache",
        metavar="FOLDER",
        help="keep each embedding in FOLDER as soon as its chunk is done, keyed "
        "by backbone and content: a run that stopped (killed, or a bad input "
        "with --on-error raise) resumes where it was when run again with the "
        "same --cache, and later runs read what is there",
    )
    add("--on-error", choices=["raise", "skip"], default="raise", help=ON_ERROR_HELP)
    add("--quiet", "-q", action="store_true", help="no progress bar")
    embed.set_defaults(func=run_embed, parser=embed)


def build_parser():
    """The argument parser of the ``sktransfer`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        help="on failure, print the full traceback, not only the message",
    )
    parser = argparse.ArgumentParser(
        prog="sktransfer",
        description=DESCRIPTION,
        epilog=EXIT_CODES,
        formatter_class=_formatter,
    )
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )
    _add_embed(commands, common)

    backbones = commands.add_parser(
        "backbones",
        parents=[common],
        formatter_class=_formatter,
        help="list the registered backbones (defaults marked with *)",
        description="List the registered backbones; * marks the default of each modality.",
    )
    backbones.add_argument(
        "--modality",
        choices=["image", "text", "numeric"],
        help="list only this modality",
    )
    backbones.set_defaults(func=run_backbones, parser=backbones)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        formatter_class=_formatter,
        help="raw pixels vs pretrained features on images shipped with packages",
        description="Compare a linear model on raw pixels with the same model on "
        "frozen pretrained features, on small image sets that installed packages ship.",
    )
    demo.add_argument(
        "--backbone",
        default="tf_efficientnet_lite0",
        help="image backbone (default: %(default)s)",
    )
    demo.add_argument(
        "--cv",
        type=_int_at_least(2),
        default=5,
        help="cross-validation folds (default: %(default)s)",
    )
    demo.add_argument(
        "--quick", action="store_true", help="fewer images, for a fast run"
    )
    demo.set_defaults(func=run_demo, parser=demo)
    return parser

"""``main``: run one command and turn every outcome into one exit code.

0 success; 2 a usage error (argparse's own, and the ones found after
parsing, reported the same way); 1 any other failure, reported as
``error: <message>`` alone (the full traceback with ``--debug``).
"""

import sys
import traceback

from sktransfer.cli._errors import CommandError
from sktransfer.cli._parser import build_parser

__all__ = ["main"]

# Exceptions whose message says it all: printed without their type name.
_PLAIN = (ValueError, OSError)


def _message(exc):
    """The message alone when it says it all; else prefixed with the type."""
    if isinstance(exc, _PLAIN) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _complete(exc):
    """Whether the message is the whole story (no --debug hint needed)."""
    from sktransfer.exceptions import BackboneNotAvailableError

    return isinstance(exc, BackboneNotAvailableError)


def main(argv=None):
    """Entry point of the ``sktransfer`` command; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    code : int
        0 on success, 1 on failure, 2 on a usage error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args) or 0
    except CommandError as exc:
        if exc.exit_code == 2:
            args.parser.print_usage(sys.stderr)
            print(f"{args.parser.prog}: error: {exc}", file=sys.stderr)
            return 2
        if args.debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing written", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        quiet = args.debug or _complete(exc)
        hint = "" if quiet else "\n(run again with --debug for the full traceback)"
        message = str(exc) if _complete(exc) else _message(exc)
        print(f"error: {message}{hint}", file=sys.stderr)
        return 1

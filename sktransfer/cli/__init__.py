"""The ``sktransfer`` command line: embed, backbones, demo.

``main(argv)`` runs one command and returns its exit code (0 success, 1
failure, 2 usage error); the console script ``sktransfer`` calls it.
"""

from sktransfer.cli._main import main
from sktransfer.cli._parser import build_parser

__all__ = ["build_parser", "main"]

"""``python -m sktransfer.cli``: the same as the ``sktransfer`` command."""

import sys

from sktransfer.cli import main

sys.exit(main())

"""Download (or refresh) the intersphinx inventories into ``docs/_intersphinx/``.

A build with network access does this by itself for missing or week-old
inventories; run this script to refresh them all, e.g. before going offline::

    python docs/fetch_inventories.py

The inventories (``objects.inv`` of scikit-learn, numpy, torch, pyod, ...) are
the other projects' data, so they are not versioned. Offline builds use them,
so that names such as ``sklearn.pipeline.Pipeline`` are linked; without them
an offline build still succeeds, with those names unlinked.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from sktransfer_docs import intersphinx_mapping  # noqa: E402

CACHE_DIR = Path(__file__).resolve().parent / "_intersphinx"


def main():
    mapping, skipped = intersphinx_mapping(CACHE_DIR, offline=False, refresh=True)
    for name, (_, location) in mapping.items():
        print(f"{name}: {location}")
    for name in skipped:
        print(f"{name}: not available (no network?)")
    return 1 if skipped else 0


if __name__ == "__main__":
    sys.exit(main())

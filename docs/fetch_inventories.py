"""Cache the intersphinx inventories, for offline builds with links to other projects.

Run once on a machine with network access::

    python docs/fetch_inventories.py

It downloads each project's ``objects.inv`` (scikit-learn, numpy, torch, pyod,
...) into ``docs/_intersphinx/`` (ignored by git: it is the other projects'
data, not ours). Later builds, online or not, read them from there, so links
to ``sklearn.pipeline.Pipeline`` or ``numpy.ndarray`` work offline. Without
them an offline build still succeeds, with those names unlinked.
"""

import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

from sktransfer_docs import INTERSPHINX_PROJECTS  # noqa: E402

CACHE_DIR = Path(__file__).resolve().parent / "_intersphinx"


def main():
    CACHE_DIR.mkdir(exist_ok=True)
    failed = []
    for name, url in INTERSPHINX_PROJECTS.items():
        target = CACHE_DIR / f"{name}-objects.inv"
        try:
            with urllib.request.urlopen(url + "objects.inv", timeout=30) as response:
                target.write_bytes(response.read())
        except OSError as error:
            failed.append(name)
            print(f"{name}: failed ({error})")
        else:
            print(f"{name}: {target}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

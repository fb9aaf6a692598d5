"""The documentation's pages and configuration, without building the site.

The python code blocks of the user guide run as written, the intersphinx
configuration never reaches for the network offline, and the build command
is documented. The site build itself is ``tests/test_docs.py``
(``python -m pytest -m docs``).
"""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

sys.path.insert(0, str(DOCS / "_ext"))
import sktransfer_docs  # noqa: E402


def _python_blocks(path):
    """The ``.. code-block:: python`` blocks of a reST page, dedented."""
    blocks = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith(" ")):
                body.append(lines[i])
                i += 1
            blocks.append(textwrap.dedent("\n".join(body)).strip() + "\n")
        else:
            i += 1
    return blocks


# index.rst's block is the README's first one, which tests/test_readme.py runs
PAGES = sorted(
    p for p in DOCS.glob("**/*.rst") if _python_blocks(p) and p.name != "index.rst"
)


_RUN_PAGES = """
import json, sys, traceback
for page, code in json.load(open(sys.argv[1])):
    try:
        exec(compile(code, page, "exec"), {"__name__": "__main__"})
    except Exception:
        traceback.print_exc()
        sys.exit(f"the code of {page} failed")
"""


@pytest.mark.slow
def test_user_guide_code_runs(tmp_path):
    """Each page's python blocks run in order, in a fresh interpreter.

    A separate process, because the pages register backbones and change
    settings that the rest of the test session must not see.
    """
    assert {p.stem for p in PAGES} >= {"feature_extraction", "scale", "backbones"}
    pages = tmp_path / "pages.json"
    pages.write_text(
        json.dumps([[str(p), "\n".join(_python_blocks(p))] for p in PAGES])
    )
    result = subprocess.run(
        [sys.executable, "-c", _RUN_PAGES, str(pages)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"OMP_NUM_THREADS": "1", **os.environ, "MPLBACKEND": "Agg"},
        timeout=1800,  # a guard against a hang, not a performance check
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


def test_intersphinx_is_offline_safe(tmp_path):
    """Offline: cached inventories are used, projects without one are left out."""
    mapping, skipped = sktransfer_docs.intersphinx_mapping(tmp_path, offline=True)
    assert mapping == {} and "sklearn" in skipped
    (tmp_path / "sklearn-objects.inv").write_bytes(b"cached")
    mapping, skipped = sktransfer_docs.intersphinx_mapping(tmp_path, offline=True)
    assert mapping["sklearn"] == (
        sktransfer_docs.INTERSPHINX_PROJECTS["sklearn"],
        str(tmp_path / "sklearn-objects.inv"),
    )
    assert "sklearn" not in skipped and "numpy" in skipped


def test_readme_documents_the_build_command():
    command = "sphinx-build -W -b html docs docs/_build/html"
    assert command in (ROOT / "README.md").read_text()
    assert command in (DOCS / "install.rst").read_text()
    assert re.search(r"plot_gallery", (DOCS / "conf.py").read_text())

"""The documentation site builds, offline, with warnings as errors.

``test_site_builds`` runs the documented command, ``sphinx-build -W -b html
docs docs/_build/html``, with the example gallery executed, on a copy of
``docs/`` and ``examples/`` in a temporary folder (so that no earlier build's
output is reused, and the working tree is left alone). The other tests read
that build: every example ran and drew at least one figure, and every public
object has its page in the API reference. The code blocks of the user guide
run as written. On two CPU cores the build takes a few minutes: running the
examples is most of it (each is meant to take under a minute).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("**/plot_*.py"))
GENERATED = (
    "_build",
    "auto_examples",
    "gen_modules",
    "api.rst",
    "sg_execution_times.rst",
)

sys.path.insert(0, str(DOCS / "_ext"))
import sktransfer_docs  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("site")
    shutil.copytree(DOCS, work / "docs", ignore=shutil.ignore_patterns(*GENERATED))
    shutil.copytree(
        ROOT / "examples",
        work / "examples",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = {
        # one torch thread unless told otherwise: on a shared, oversubscribed
        # 2-core machine, two OpenMP threads make small convolutions (the
        # 64-pixel fine-tuning in the examples) many times slower; on an idle
        # one, one thread costs little (as in tests/test_finetune.py)
        "OMP_NUM_THREADS": "1",
        **os.environ,
        "SKTRANSFER_DOCS_OFFLINE": "1",  # the build must not depend on the network
        "MPLBACKEND": "Agg",
    }
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html"]
    result = subprocess.run(
        [*command, str(work / "docs"), str(work / "html")],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=3600,  # a guard against a hung build, not a performance check
    )
    return result, work


def test_site_builds_with_warnings_as_errors(site):
    result, work = site
    assert result.returncode == 0, (
        f"sphinx-build failed (exit {result.returncode}).\n"
        f"--- stderr (end) ---\n{result.stderr[-8000:]}\n"
        f"--- stdout (end) ---\n{result.stdout[-4000:]}"
    )
    assert (work / "html" / "index.html").is_file()
    assert "examples were executed" not in result.stdout  # the gallery really ran


@pytest.mark.parametrize(
    "example",
    EXAMPLES,
    ids=[p.relative_to(ROOT / "examples").as_posix() for p in EXAMPLES],
)
def test_example_ran_and_drew_a_figure(site, example):
    _, work = site
    sub = example.parent.relative_to(ROOT / "examples")
    gallery = work / "docs" / "auto_examples" / sub
    figures = sorted((gallery / "images").glob(f"sphx_glr_{example.stem}_*.png"))
    assert figures, f"{example.name} produced no figure"
    page = work / "html" / "auto_examples" / sub / f"{example.stem}.html"
    assert page.is_file()
    assert "Traceback" not in page.read_text(encoding="utf-8")


def test_api_reference_has_every_public_object(site):
    """Every name in a public ``__all__`` (classes and functions) has a page."""
    _, work = site
    import importlib

    import sktransfer

    expected = set()
    for name in sktransfer.__all__:
        expected.add(f"sktransfer.{name}")
    for module_name in sktransfer_docs.public_modules():
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (isinstance(obj, type) or callable(obj)):
                continue  # constants such as FASHION_MNIST_CLASSES
            if name in sktransfer.__all__ and getattr(sktransfer, name) is obj:
                continue  # documented under its top-level name
            expected.add(f"{module_name}.{name}")
    missing = sorted(
        name
        for name in expected
        if not (work / "html" / "gen_modules" / f"{name}.html").is_file()
    )
    assert not missing, f"no API page for {missing}"
    # the pages document the methods, inherited ones included
    page = (work / "html" / "gen_modules" / "sktransfer.ImageEmbedder.html").read_text()
    for method in ("fit", "transform", "fit_transform", "get_feature_names_out"):
        assert f'id="sktransfer.ImageEmbedder.{method}"' in page
    # offline, numpydoc's links to Python's and numpy's docs read as plain words
    for page in (work / "html" / "gen_modules").glob("*.html"):
        text = page.read_text()
        assert "numpy:array_like" not in text and ">python:" not in text, page.name


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

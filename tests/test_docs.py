"""The documentation site builds, offline, with warnings as errors.

Two builds of the documented command, ``sphinx-build -W -b html docs
docs/_build/html``, each on a copy of ``docs/`` and ``examples/`` in a
temporary folder (so that no earlier build's output is reused, and the
working tree is left alone):

* the **quick build**, ``-D plot_gallery=0``, in the default test run: every
  page, the API reference and the gallery pages (the examples' text and code,
  checked as reStructuredText), without running the examples. The other
  tests read it: every public object has its page, methods included, and
  every example has its gallery page. The examples themselves run in
  ``tests/test_examples.py``, in the default run too.
* the **gallery build**, with every example executed, as the site is
  published: marked ``docs``, left out of the default run (running each
  example a second time would add minutes to CI for little more than the
  figures' placement on the pages) and run with ``python -m pytest -m docs``.
  It checks that every example ran inside Sphinx and drew its figures.
"""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("**/plot_*.py"))
EXAMPLE_IDS = [p.relative_to(ROOT / "examples").as_posix() for p in EXAMPLES]
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


def _build(work, *options):
    """Run the documented build command on a fresh copy of the sources."""
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
        [*command, *options, str(work / "docs"), str(work / "html")],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=3600,  # a guard against a hung build, not a performance check
    )
    assert result.returncode == 0, (
        f"sphinx-build failed (exit {result.returncode}).\n"
        f"--- stderr (end) ---\n{result.stderr[-8000:]}\n"
        f"--- stdout (end) ---\n{result.stdout[-4000:]}"
    )
    assert (work / "html" / "index.html").is_file()
    return result


@pytest.fixture(scope="module")
def quick_site(tmp_path_factory):
    work = tmp_path_factory.mktemp("quick_site")
    return _build(work, "-D", "plot_gallery=0"), work


@pytest.fixture(scope="module")
def gallery_site(tmp_path_factory):
    work = tmp_path_factory.mktemp("gallery_site")
    return _build(work), work


def test_quick_build_passes_with_warnings_as_errors(quick_site):
    result, _ = quick_site
    assert "no examples were executed" in result.stdout  # the quick one indeed


@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_every_example_has_a_gallery_page(quick_site, example):
    _, work = quick_site
    sub = example.parent.relative_to(ROOT / "examples")
    page = work / "html" / "auto_examples" / sub / f"{example.stem}.html"
    assert page.is_file(), f"no gallery page for {example.name}"


def test_api_reference_has_every_public_object(quick_site):
    """Every name in a public ``__all__`` (classes and functions) has a page."""
    _, work = quick_site
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


@pytest.mark.docs
def test_gallery_build_runs_every_example(gallery_site):
    result, _ = gallery_site
    assert "examples were executed" not in result.stdout  # the gallery really ran


@pytest.mark.docs
@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_example_ran_and_drew_a_figure(gallery_site, example):
    _, work = gallery_site
    sub = example.parent.relative_to(ROOT / "examples")
    gallery = work / "docs" / "auto_examples" / sub
    figures = sorted((gallery / "images").glob(f"sphx_glr_{example.stem}_*.png"))
    assert figures, f"{example.name} produced no figure"
    page = work / "html" / "auto_examples" / sub / f"{example.stem}.html"
    assert page.is_file()
    assert "Traceback" not in page.read_text(encoding="utf-8")

"""Sphinx configuration of the sktransfer documentation.

Build the site (offline, warnings are errors)::

    sphinx-build -W -b html docs docs/_build/html

Quick build, without running the example gallery::

    sphinx-build -W -b html -D plot_gallery=0 docs docs/_build/html

Environment variables:

* ``SKTRANSFER_DOCS_OFFLINE=1``: never use the network for intersphinx
  inventories (use those cached in ``docs/_intersphinx/``, if any).
* ``SKTRANSFER_DOCS_RERUN=1``: re-run every example, even those whose output
  is up to date from a previous build.
"""

import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import sktransfer_docs  # noqa: E402

import sktransfer  # noqa: E402

# -- project -------------------------------------------------------------------
project = "sktransfer"
author = "The sktransfer developers"
copyright = "2025, The sktransfer developers"
release = sktransfer.__version__
version = release

# -- general -------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "_intersphinx",
    "_ext",
    "_templates",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/**/*.ipynb",
    "auto_examples/**/*.py",
    "**.codeobj.json",
]
root_doc = "index"
default_role = "py:obj"  # `sktransfer.list_backbones` in docstrings links
nitpicky = False  # links to projects without an inventory offline stay plain text

# -- API reference (generated from the packages' __all__ at every build) ------
API_OBJECTS = sktransfer_docs.write_api_reference(DOCS)
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    "BackboneSpec": "sktransfer.BackboneSpec",
    "EmbeddingCache": "sktransfer.engine.EmbeddingCache",
    "Pipeline": "sklearn.pipeline.Pipeline",
    "ndarray": "numpy.ndarray",
    "DataFrame": "pandas.DataFrame",
    "Series": "pandas.Series",
}
numpydoc_xref_ignore = {
    "of",
    "or",
    "and",
    "shape",
    "default",
    "optional",
    "in",
    "to",
    "the",
    "a",
    "an",
    "any",
    "with",
    "from",
    "one",
    "each",
    "n_samples",
    "n_features",
    "n_classes",
    "n_outputs",
    "n_components",
    "instance",
    "like",
    "None",
    "callable",
    "sequence",
    "object",
    "pairs",
    "list",
    "tuple",
    "dict",
    "int",
    "float",
    "str",
    "bool",
    "bytes",
}

# -- intersphinx (offline-safe: see sktransfer_docs.intersphinx_mapping) ------
# Inventories are read from docs/_intersphinx/ only (downloaded there first
# when the network is up), so that an offline build neither fails nor waits.
intersphinx_mapping, _skipped = sktransfer_docs.intersphinx_mapping(
    DOCS / "_intersphinx"
)
if _skipped:
    print(
        "intersphinx: no inventory for "
        + ", ".join(_skipped)
        + " (offline and not cached); their names are not linked. Run "
        "`python docs/fetch_inventories.py` once online to cache them."
    )

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sktransfer {release}"
html_static_path = []
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_show_sourcelink = False

# -- example gallery -----------------------------------------------------------
# examples run with the non-interactive backend, quiet progress bars and the
# torch threads of the machine (2 cores in CI: each example < 1 min)
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "ignore_pattern": r"__init__\.py",
    # strings (not sorting objects) keep the configuration picklable
    "subsection_order": [
        "../examples/feature_extraction",
        "../examples/composition",
        "../examples/adaptation",
        "../examples/model_selection",
        "*",  # any new folder, after these
    ],
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sktransfer",),
    "backreferences_dir": "gen_modules/backreferences",
    "abort_on_example_error": False,  # run all examples, then fail with a summary
    "only_warn_on_example_error": False,
    "run_stale_examples": os.environ.get("SKTRANSFER_DOCS_RERUN", "") not in ("", "0"),
    "min_reported_time": 0,
    "show_memory": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "download_all_examples": False,
    "plot_gallery": "True",
}


def setup(app):
    app.connect("missing-reference", sktransfer_docs.resolve_missing)
    app.connect("autodoc-process-docstring", sktransfer_docs.strip_offline_roles)
    # before numpydoc turns the docstrings into reStructuredText (priority 500)
    app.connect(
        "autodoc-process-docstring",
        sktransfer_docs.escape_type_underscores,
        priority=400,
    )

"""Sphinx helpers for the sktransfer docs.

* ``write_api_reference``: writes ``api.rst`` from the packages' ``__all__``
  lists at every build, so a new public object cannot be left out of the API
  reference (the same approach as scikit-learn's ``api_reference.py``).
* ``resolve_alias``: the ``missing-reference`` handler that lets
  ``sktransfer.adapt.CORALAdapter`` and ``sktransfer.CORALAdapter`` (or any
  private module path such as ``sktransfer.embed._image.ImageEmbedder``) link
  to the one page where the object is documented.
* ``intersphinx_mapping``: the intersphinx configuration, offline-safe.
"""

import importlib
import inspect
import os
import re
from pathlib import Path

# module -> (title, what the section is about), in the order of the API page.
# Public modules not listed here (found by `public_modules`) come after them,
# titled by their docstring, so a new public module cannot be left out.
API_SECTIONS = {
    "sktransfer.embed": (
        "Feature extraction",
        "Frozen pretrained backbones as scikit-learn transformers.",
    ),
    "sktransfer.finetune": (
        "Fine-tuning",
        "A pretrained backbone plus a new head, trained as a classifier or regressor.",
    ),
    "sktransfer.adapt": (
        "Domain adaptation",
        "Adapters, pipelines, splitters and scorers for labelled source data "
        "plus unlabelled target data (skada's conventions).",
    ),
    "sktransfer.integrations": (
        "Integrations: pyod and implicit",
        "Outlier detectors and recommenders of other libraries as scikit-learn "
        "estimators, with their metrics and splitters.",
    ),
    "sktransfer.backbones": (
        "Backbones",
        "The registry of pretrained backbones.",
    ),
    "sktransfer.engine": ("Engine", "The embedding cache."),
    "sktransfer.parallel": ("Parallel and distributed", "Dask helpers."),
    "sktransfer.io": (
        "Input checking and decoding",
        "Validation of raw image and text collections.",
    ),
    "sktransfer.datasets": (
        "Datasets",
        "Loaders for the datasets the examples and benchmarks use.",
    ),
    "sktransfer.utils.discovery": ("Utilities", "Introspection of the package."),
    "sktransfer.exceptions": ("Exceptions", "Errors raised by sktransfer."),
}


def public_modules():
    """Names of sktransfer's public modules that declare ``__all__``, in page order.

    Public: no path component starts with an underscore. The command line
    module (``sktransfer.cli``) is documented in the user guide instead.
    """
    import pkgutil

    import sktransfer

    found = []
    for info in pkgutil.walk_packages(sktransfer.__path__, "sktransfer."):
        parts = info.name.split(".")
        if any(part.startswith("_") for part in parts) or info.name == "sktransfer.cli":
            continue
        if hasattr(importlib.import_module(info.name), "__all__"):
            found.append(info.name)
    known = [name for name in API_SECTIONS if name in found]
    return known + sorted(set(found) - set(known))


def _section(module_name):
    if module_name in API_SECTIONS:
        return API_SECTIONS[module_name]
    doc = (importlib.import_module(module_name).__doc__ or module_name).strip()
    return module_name, doc.splitlines()[0]


def _is_documentable(obj):
    return inspect.isclass(obj) or inspect.isfunction(obj)


def public_objects():
    """Return ``{canonical_name: (section_module, object)}`` of every public object.

    An object exported by ``sktransfer`` itself is documented under its short
    top-level name (``sktransfer.ImageEmbedder``); the others under their
    public subpackage (``sktransfer.integrations.PerUserHoldout``). Public
    constants (``FASHION_MNIST_CLASSES``) are not objects with docstrings and
    are left out.
    """
    import sktransfer

    top_level = set(sktransfer.__all__)
    modules = public_modules()
    found = {}
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not _is_documentable(obj):
                continue
            if name in top_level and getattr(sktransfer, name) is obj:
                canonical = f"sktransfer.{name}"
            else:
                canonical = f"{module_name}.{name}"
            found.setdefault(canonical, (module_name, obj))
    for name in top_level:  # exported at the top level only
        if f"sktransfer.{name}" not in found:
            obj = getattr(sktransfer, name)
            section = next(
                (
                    m
                    for m in modules
                    if obj.__module__ == m or obj.__module__.startswith(m + ".")
                ),
                "sktransfer.exceptions",
            )
            found[f"sktransfer.{name}"] = (section, obj)
    return found


def write_api_reference(srcdir):
    """Write ``<srcdir>/api.rst``: one autosummary table per section."""
    objects = public_objects()
    lines = [
        ".. This file is generated by docs/_ext/sktransfer_docs.py at every build;",
        "   edit API_SECTIONS there, not this file.",
        "",
        ".. _api_ref:",
        "",
        "=============",
        "API reference",
        "=============",
        "",
        "Every public estimator, function and exception of sktransfer. Objects",
        "exported by the top-level package are documented under their short name",
        "(``sktransfer.ImageEmbedder``, also importable from its subpackage,",
        "``sktransfer.embed.ImageEmbedder``); the rest under their subpackage.",
        "",
        ".. currentmodule:: sktransfer",
        "",
    ]
    for module_name in public_modules():
        title, description = _section(module_name)
        names = sorted(
            canonical
            for canonical, (section, _) in objects.items()
            if section == module_name
        )
        if not names:
            continue
        lines += [
            f".. _api_{module_name.replace('.', '_')}:",
            "",
            title,
            "=" * len(title),
            "",
            f"``{module_name}``: {description}",
            "",
            ".. autosummary::",
            "   :toctree: gen_modules/",
            "   :template: object.rst",
            "",
        ]
        lines += [f"   {name.removeprefix('sktransfer.')}" for name in names]
        lines.append("")
    text = "\n".join(lines)
    path = Path(srcdir) / "api.rst"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return sorted(objects)


def _import_target(target):
    """Import the longest importable prefix of ``target``; return (obj, rest)."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module_name)
        except ImportError:
            continue
        rest = parts[cut:]
        for i, part in enumerate(rest):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                return obj, rest[i:]
        return obj, []
    return None, parts


def resolve_missing(app, env, node, contnode):
    """The ``missing-reference`` handler: aliases, and offline intersphinx targets.

    * Any import path of a public sktransfer object links to its API page.
    * A reference to a project whose inventory is unavailable offline
      (``numpy:array_like``, which numpydoc writes for "array-like") renders
      as plain text instead of raising a warning.
    """
    target = node.get("reftarget", "")
    project = target.split(":", 1)[0] if ":" in target else None
    if project in SKIPPED_PROJECTS:
        return _plain(contnode, target)
    if node.get("refdomain") != "py":
        return None
    return resolve_alias(app, env, node, contnode)


def _plain(contnode, target):
    """``contnode`` as it would read with a link: without the ``project:`` prefix.

    numpydoc writes "str" as ``:class:`python:str``` and "array-like" as
    ``:term:`numpy:array_like```, with no title: unresolved, the text would
    read "python:str".
    """
    text = contnode.astext()
    if text not in (target, target + "()"):  # :func: adds the parentheses
        return contnode  # an explicit title, e.g. "bool <python:...>"
    from docutils import nodes

    name = text.split(":", 1)[1]
    name = {"array_like": "array-like"}.get(name, name)
    plain = contnode.deepcopy()
    plain.clear()
    plain += nodes.Text(name)
    return plain


def strip_offline_roles(app, what, name, obj, options, lines):
    """The ``autodoc-process-docstring`` handler for docstrings scikit-learn wrote.

    Methods inherited from scikit-learn (``score``, ``set_output``,
    ``set_fit_request``, ...) refer to scikit-learn's user guide and glossary
    (``:ref:`metadata_routing```, ``:term:`meta-estimator```). With
    scikit-learn's inventory these link there; offline without it they would
    be undefined labels, so they become plain text.
    """
    if "sklearn" not in SKIPPED_PROJECTS:
        return
    module = getattr(obj, "__module__", None) or ""
    if not (module == "sklearn" or module.startswith("sklearn.")):
        return
    for i, line in enumerate(lines):
        line = _ROLE_WITH_TITLE.sub(r"\1", line)
        lines[i] = _ROLE_PLAIN.sub(r"``\1``", line)


def escape_type_underscores(app, what, name, obj, options, lines):
    """The ``autodoc-process-docstring`` handler run before numpydoc's.

    A numpydoc type such as ``ndarray of shape (n_features_in_,)`` is written
    as is into reStructuredText, where ``n_features_in_`` is a reference to
    an undefined target. Escaping the trailing underscore in ``name : type``
    lines keeps the text and drops the reference.
    """
    for i, line in enumerate(lines):
        match = _PARAM_LINE.match(line)
        if match:
            head, type_ = match.groups()
            lines[i] = head + _TRAILING_UNDERSCORE.sub(r"\\_", type_)


_PARAM_LINE = re.compile(r"^(\s*\**\w[\w, *]* : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=[,)\s]|$)")
# unprefixed targets only: "numpy:array_like" (numpydoc's) is left to
# resolve_missing, which knows whether numpy's inventory is there
_ROLE_WITH_TITLE = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*<[^>`:]+>`")
_ROLE_PLAIN = re.compile(r":(?:ref|term|doc):`([^`:]+)`")


def resolve_alias(app, env, node, contnode):
    """Link any import path of a public sktransfer object to its API page."""
    target = node.get("reftarget", "")
    if not target.startswith("sktransfer."):
        return None
    canonical_by_id = getattr(app, "_sktransfer_canonical", None)
    if canonical_by_id is None:
        canonical_by_id = {id(obj): name for name, (_, obj) in public_objects().items()}
        app._sktransfer_canonical = canonical_by_id
    # walk down to the documented object, then keep the attribute path below it
    parts = target.split(".")
    for cut in range(len(parts), 1, -1):
        obj, rest = _import_target(".".join(parts[:cut]))
        if obj is None or rest or id(obj) not in canonical_by_id:
            continue
        new_target = ".".join([canonical_by_id[id(obj)], *parts[cut:]])
        if new_target == target:
            return None
        domain = env.get_domain("py")
        return domain.resolve_xref(
            env,
            node["refdoc"],
            app.builder,
            node["reftype"],
            new_target,
            node,
            contnode,
        )
    return None


# -- intersphinx, offline-safe -------------------------------------------------

INTERSPHINX_PROJECTS = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "sklearn": "https://scikit-learn.org/stable/",
    "pandas": "https://pandas.pydata.org/docs/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "pyod": "https://pyod.readthedocs.io/en/latest/",
    "skorch": "https://skorch.readthedocs.io/en/stable/",
    "joblib": "https://joblib.readthedocs.io/en/stable/",
    "matplotlib": "https://matplotlib.org/stable/",
}


# projects left out of intersphinx_mapping (offline, no cached inventory)
SKIPPED_PROJECTS = set()

# a cached inventory younger than this is used without asking the network
MAX_AGE_DAYS = 7


def fetch_inventory(name, url, cache_dir, timeout=10.0):
    """Download ``<url>objects.inv`` to ``<cache_dir>/<name>-objects.inv``.

    Returns the path, or None when the download failed (written atomically,
    so a failed download never leaves a damaged file).
    """
    import tempfile
    import urllib.request

    target = Path(cache_dir) / f"{name}-objects.inv"
    try:
        with urllib.request.urlopen(url + "objects.inv", timeout=timeout) as response:
            payload = response.read()
    except OSError:
        return None
    if not payload.startswith(b"# Sphinx inventory"):
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    with os.fdopen(handle, "wb") as out:
        out.write(payload)
    os.replace(tmp, target)
    return target


def intersphinx_mapping(cache_dir, offline=None, refresh=False):
    """Build ``intersphinx_mapping`` from local inventory files only.

    Sphinx only ever reads local files, so an unreachable inventory can never
    produce a warning (which ``-W`` would turn into a failed build) nor make
    the build wait. For each project:

    1. with network access (and ``offline`` not set), an inventory missing
       from ``cache_dir`` or older than ``MAX_AGE_DAYS`` (or every one, with
       ``refresh``) is downloaded there first; after the first failed
       download, the network is taken to be down and not asked again;
    2. a cached inventory ``<cache_dir>/<project>-objects.inv`` is used (a
       stale one too, when the download failed);
    3. a project with no inventory is left out of the mapping: references to
       it render as code without a link, and ``resolve_missing`` turns
       numpydoc's links to it into plain text.

    Parameters
    ----------
    cache_dir : Path
        Folder of cached inventories (``docs/_intersphinx``, not versioned:
        they are the other projects' data).
    offline : bool, default=None
        ``True`` never uses the network; ``None`` reads the
        ``SKTRANSFER_DOCS_OFFLINE`` environment variable.
    refresh : bool, default=False
        Download every inventory, even fresh ones.

    Returns
    -------
    mapping : dict
        The ``intersphinx_mapping`` value.
    skipped : list of str
        Projects left out (no inventory).
    """
    import time

    if offline is None:
        offline = os.environ.get("SKTRANSFER_DOCS_OFFLINE", "") not in ("", "0")
    network = not offline
    mapping, skipped = {}, []
    for name, url in INTERSPHINX_PROJECTS.items():
        cached = Path(cache_dir) / f"{name}-objects.inv"
        fresh = (
            cached.is_file()
            and time.time() - cached.stat().st_mtime < MAX_AGE_DAYS * 86400
        )
        if network and (refresh or not fresh):
            network = fetch_inventory(name, url, cache_dir) is not None
        if cached.is_file():
            mapping[name] = (url, str(cached))
        else:
            skipped.append(name)
    SKIPPED_PROJECTS.clear()
    SKIPPED_PROJECTS.update(skipped)
    return mapping, skipped

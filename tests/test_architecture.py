"""House limits that keep the package easy to change (CONTRIBUTING.md, "Layers").

Read from the source with :mod:`ast`, so they hold without importing anything:

* no import cycle between modules, imports inside functions included;
* no function longer than 80 lines, no module longer than 400 lines;
* each package imports only downward:
  io -> backbones -> engine -> estimators (embed, finetune, adapt, integrations) -> cli.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sktransfer"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400

# the layer of each top-level part of the package; a module may import only from
# its own part or from a lower layer. The root package (lazy re-exports) sits on
# top of the estimators; the estimator packages share one layer but do not import
# each other.
LAYERS = {
    "_optional": 0,
    "exceptions": 0,
    "_fitting": 0,
    "io": 1,
    "backbones": 2,
    "engine": 3,
    "embed": 4,
    "finetune": 4,
    "adapt": 4,
    "integrations": 4,
    "datasets": 4,
    "parallel": 4,
    "": 5,  # the root package: lazy re-exports of the public estimators
    "_demo": 6,
    "utils": 6,
    "cli": 7,
}
SIBLINGS_MAY_IMPORT = set()  # (importer part, imported part) allowed across layer 4


def _modules():
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def _resolve(name):
    """The module of ours that ``name`` (a module or a name in one) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _imports(tree):
    """Every module of ours imported anywhere in ``tree`` (functions included)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(_resolve(n) for n in names if n.startswith("sktransfer"))
    found.discard("")
    return found


GRAPH = {name: _imports(tree) - {name} for name, tree in TREES.items()}


def _part(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.add(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert _cycles(GRAPH) == [], "modules that import each other (directly or not)"


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_every_part_has_a_layer():
    assert {_part(m) for m in MODULES} <= set(LAYERS)


def test_packages_import_only_downward():
    wrong = []
    for module, imported in GRAPH.items():
        for other in imported:
            mine, theirs = _part(module), _part(other)
            if mine == theirs or (mine, theirs) in SIBLINGS_MAY_IMPORT:
                continue
            if LAYERS[theirs] > LAYERS[mine] or (
                LAYERS[theirs] == LAYERS[mine] and mine != theirs
            ):
                wrong.append(f"{module} -> {other}")
    assert sorted(wrong) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_and_function_sizes(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module} has {lines} lines"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(TREES[module])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []

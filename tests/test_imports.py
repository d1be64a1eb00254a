"""The import graph of Khusheh's packages: no circles, and data flowing one way
(model -> scenarios -> analysis; the dashboard on the model; conf read by all)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("conf", "model", "scenarios", "analysis", "viz", "hydra_plugins")
# what each package may import of the others (besides itself)
ALLOWED = {
    "conf": set(),
    "model": {"conf"},
    "scenarios": {"conf", "model"},
    # the result format's reader and the console's progress bar (which imports nothing of the project), never the model
    "analysis": {"conf", "scenarios.results", "scenarios.progress"},
    # the dashboard builds a run from the presets as khusheh-run does (scenarios.config), then watches the model
    "viz": {"conf", "model", "scenarios.config"},
    "hydra_plugins": {"conf", "model", "scenarios"},  # the sweeper checks jobs as khusheh-run will run them
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[list[str]]:
    """Our modules that ``path`` imports, at the top or inside functions (what runs when it is called):
    for each import, the names it may mean, most specific first (``from a import b``: ``a.b``, then ``a``)."""
    own = _module(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [[a.name] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            found += [[f"{stem}.{a.name}", stem] for a in node.names]
    return [names for names in found if names[-1].split(".")[0] in PACKAGES]


def graph() -> dict[str, set[str]]:
    files = {_module(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    edges = {}
    for name, path in files.items():
        targets = set()
        for names in _imports(path):
            imported = next((n for n in names if n in files), names[-1])
            while imported and imported not in files:  # a name inside a module: keep the module
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            # a package's __init__ importing its own modules is how a package is made, not a circle
            if node == nxt.rpartition(".")[0]:
                continue
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_no_import_circles():
    assert _cycles(graph()) == []


def test_data_flows_one_way():
    wrong = []
    for module, targets in graph().items():
        package = module.split(".")[0]
        for target in targets:
            other = target.split(".")[0]
            if other != package and not any(target == a or target.startswith(a + ".") or other == a
                                             for a in ALLOWED[package]):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_the_checker_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]

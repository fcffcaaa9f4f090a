"""No import circles inside keras_textnet/ (issue 11: "one road for each job").

Every module of the package is parsed with ``ast`` (nothing is imported). An
edge A -> B is a module-level import in A of a module B of the package:
statements at the top of the module, in its ``if``/``try``/``with`` blocks and
in class bodies (they run at import time). Imports inside functions are
allowed, and ignored: they are how a module reaches another lazily.
``from __future__`` and ``if TYPE_CHECKING:`` blocks are ignored too. The test
fails, naming the circle, if any strongly connected component of the graph
holds more than one module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "keras_textnet"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE


def _modules(root: Path, package: str) -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file of the package."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = (package,) + path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return ((isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def _module_level_imports(body: list[ast.stmt]):
    """The ``Import``/``ImportFrom`` nodes that run when the module is imported."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue  # runs only when called
        elif isinstance(node, ast.ClassDef):
            yield from _module_level_imports(node.body)
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level_imports(node.body)
            yield from _module_level_imports(node.orelse)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            yield from _module_level_imports(node.body)
            for handler in node.handlers:
                yield from _module_level_imports(handler.body)
            yield from _module_level_imports(node.orelse)
            yield from _module_level_imports(node.finalbody)
        elif isinstance(node, (ast.With, ast.For, ast.While)):
            yield from _module_level_imports(node.body)
            yield from _module_level_imports(getattr(node, "orelse", []))


def _known(name: str, modules) -> str | None:
    """``name`` or its longest prefix that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """``{module: {modules of the package it imports at module level}}``."""
    modules = _modules(root, package)
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        edges = set()
        for node in _module_level_imports(tree.body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = name.split(".")
                    drop = node.level - 1 if is_package else node.level
                    base = base[:len(base) - drop] if drop else base
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if source == "__future__":
                    continue
                # `from pkg import sub` imports the module pkg.sub when there is one
                targets = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules
                           else source for alias in node.names]
            for target in targets:
                known = _known(target, modules) if target.split(".")[0] == package else None
                if known and known != name:
                    edges.add(known)
        graph[name] = edges
    return graph


def strongly_connected_components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def _cycle(graph, component: list[str]) -> list[str]:
    """One circle through the component's first module: a -> b -> ... -> a."""
    members = set(component)
    start = component[0]
    previous = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(graph[node] & members):
            if child == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return path[::-1] + [start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return component


def test_graph_sees_the_package():
    graph = import_graph()
    assert f"{PACKAGE}.models.text_net" in graph
    assert f"{PACKAGE}.charset" in graph[f"{PACKAGE}.models.text_net"]


def test_no_import_cycles():
    graph = import_graph()
    circles = [c for c in strongly_connected_components(graph) if len(c) > 1]
    messages = [" -> ".join(_cycle(graph, c)) + (f"  (component: {', '.join(c)})"
                                                  if len(c) > 2 else "")
                for c in circles]
    assert not circles, "module-level import cycles in keras_textnet/:\n  " + "\n  ".join(
        messages)


def test_cycle_finder_on_a_small_graph():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    components = [c for c in strongly_connected_components(graph) if len(c) > 1]
    assert components == [["a", "b", "c"]]
    assert _cycle(graph, components[0]) == ["a", "b", "c", "a"]


def test_graph_reads_imports_as_python_runs_them(tmp_path):
    """Relative and absolute imports, ``from pkg import module``, and what is left out."""
    files = {
        "__init__.py": "from pkg.a import A\n",
        "a.py": "from __future__ import annotations\nfrom . import b\nA = 1\n",
        "b.py": "import pkg.sub.c as c\n",
        "sub/__init__.py": "",
        "sub/c.py": ("from typing import TYPE_CHECKING\n"
                     "from ..a import A\n"
                     "if TYPE_CHECKING:\n    from pkg import d\n"
                     "try:\n    import pkg.e\nexcept ImportError:\n    pass\n"
                     "class K:\n    from pkg.sub import f\n"
                     "def later():\n    import pkg.d\n"),
        "d.py": "", "e.py": "", "sub/f.py": "import os\n",
    }
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    graph = import_graph(tmp_path / "pkg", "pkg")
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.sub.c"},
                     "pkg.sub": set(), "pkg.sub.c": {"pkg.a", "pkg.e", "pkg.sub.f"},
                     "pkg.d": set(), "pkg.e": set(), "pkg.sub.f": set()}
    circles = [c for c in strongly_connected_components(graph) if len(c) > 1]
    assert circles == [["pkg.a", "pkg.b", "pkg.sub.c"]]
    assert _cycle(graph, circles[0]) == ["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]

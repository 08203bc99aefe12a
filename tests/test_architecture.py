"""The shape of the package: no import cycle between twotrack's modules, no hidden imports of its own code.

Both checks read the source with ``ast`` (nothing is imported), over the tree ``import twotrack`` resolves to.
An edge ``a -> b`` is any import statement in ``a`` (at the top or inside a function) that names ``b``;
``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``. The cycle test
also counts what Python runs on the way: importing ``pkg.sub`` runs ``pkg/__init__`` first, so ``a`` gets an
edge to every package above ``b`` that is not already above ``a`` (a package's own ``__init__`` importing its
submodules is not a cycle; ``store`` importing ``rights.ledger`` while ``rights/__init__`` leads back to
``store`` is one, and fails depending on which is imported first).
"""

from __future__ import annotations

import ast
from pathlib import Path

import twotrack

ROOT = Path(twotrack.__file__).parent
PACKAGE = "twotrack"


def _modules() -> dict[str, tuple[Path, bool]]:
    """module name -> (file, is a package)."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for name, (path, _) in MODULES.items()}


def _nearest_module(name: str) -> str | None:
    """``name`` itself when it is a twotrack module, else its closest enclosing one (a name inside a module)."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_only(tree: ast.Module) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` blocks: imports for annotations, which never run."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the twotrack modules it imports when it runs (imports under ``if TYPE_CHECKING:`` are left out:
    a type-only back-reference, e.g. a session annotating the Workspace that creates it, loads nothing)."""
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, (_, is_package) in MODULES.items():
        type_only = _type_only(TREES[module])
        for node in ast.walk(TREES[module]):
            if id(node) in type_only:
                continue
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [_nearest_module(a.name) for a in node.names if a.name.split(".")[0] == PACKAGE]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, is_package, node)
                if source.split(".")[0] != PACKAGE:
                    continue
                for alias in node.names:
                    child = f"{source}.{alias.name}"
                    targets.append(child if child in MODULES else _nearest_module(source))
            edges[module].update(t for t in targets if t and t != module)
    return edges


def with_package_inits(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """``edges`` plus, for each ``a -> b``, ``a -> p`` for every package ``p`` above ``b`` not above ``a``."""
    out = {m: set(targets) for m, targets in edges.items()}
    for module, targets in edges.items():
        parts = module.split(".")
        own = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        for target in targets:
            tparts = target.split(".")
            out[module].update(p for p in (".".join(tparts[:i]) for i in range(1, len(tparts)))
                               if p not in own and p in MODULES)
    return out


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; -> every component of more than one module (each is a cycle)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
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
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _one_cycle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A concrete path a -> ... -> a inside a component, for the failure message."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    while True:
        nxt = sorted(edges[path[-1]] & members)
        back = [n for n in nxt if n in seen]
        if back:
            return path[path.index(back[0]):] + [back[0]]
        step = next(n for n in nxt if n not in seen)
        path.append(step)
        seen.add(step)


def test_the_walker_sees_imports():
    """Guards the cycle test against passing vacuously (a walker that finds no edges finds no cycles)."""
    edges = import_graph()
    assert len(MODULES) > 50
    assert "twotrack.run.stages" in edges["twotrack.run.pipeline"]  # from . import stages
    assert "twotrack.model" in edges["twotrack.run.stages"]  # from ..model import ...
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []
    # twotrack.cli.info -> twotrack.cli.group runs twotrack/cli/__init__ first, but info is inside twotrack.cli
    assert "twotrack.cli" not in with_package_inits(edges)["twotrack.cli.info"]
    assert "twotrack.rights" in with_package_inits(edges)["twotrack.export.run"]  # from ..rights.ledger import


def test_no_import_cycles():
    edges = with_package_inits(import_graph())
    cycles = strongly_connected(edges)
    message = "\n".join(f"{len(c)} modules: {' -> '.join(_one_cycle(c, edges))}  (all: {', '.join(c)})"
                        for c in cycles)
    assert not cycles, f"import cycles between twotrack modules:\n{message}"


def _dynamic_imports(tree: ast.AST):
    """Calls of importlib.import_module / import_module / __import__, with their first argument."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        if name in ("import_module", "__import__"):
            yield node, node.args[0]


def test_no_dynamic_imports_of_own_modules():
    """Dynamic imports are for optional third-party extras only, and must name them literally."""
    bad = []
    for module, tree in TREES.items():
        for call, arg in _dynamic_imports(tree):
            literal = arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
            if literal is None or literal.startswith(".") or literal.split(".")[0] == PACKAGE:
                bad.append(f"{module}:{call.lineno}: {ast.unparse(call)}")
    assert not bad, "twotrack modules loaded dynamically (use a plain import):\n" + "\n".join(bad)

"""The package's shape: no import cycle, and each layer imports only what the layering
allows (server -> tools -> service -> api / storage -> models, errors).

Every ``import`` in every module counts, also those inside functions (a lazy import hides a
dependency, it does not remove it); imports under ``if TYPE_CHECKING:`` count for the layering
but not for cycles, since they never run.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

PACKAGE = "imagegen_mcp"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE

#: Bottom modules: anyone may import them, and they import nothing else of the package.
BOTTOM = frozenset({"models", "catalog", "errors", "imaging", "netaddr", "redact"})
#: Layer -> the layers it must never import (lower layers never import upper ones).
NEVER_IMPORTS: dict[str, frozenset[str]] = {
    "storage": frozenset({"api", "service", "tools", "server"}),
    "api": frozenset({"service", "tools", "server"}),
    "service": frozenset({"tools", "server"}),
    "tools": frozenset({"server"}),
    # The web UI (the playground's routes, the MCP App's page): beside tools, under server.
    "web": frozenset({"server"}),
    # A stand-alone emulator of the upstream: it must not depend on the code it tests.
    "sandbox": frozenset({"server", "tools", "service", "storage"}),
}
#: Outside library -> the only layers that may import it.
ONLY_IMPORTED_BY: dict[str, frozenset[str]] = {
    "mcp": frozenset({"tools", "server"}),
    "mcp_types": frozenset({"tools", "server"}),
    # The sandbox is exempt: a dev tool with its own HTTP client, not part of the product.
    "httpx2": frozenset({"api", "sandbox"}),
    "sqlite3": frozenset({"storage"}),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports: a module of the package, or an outside dotted name
    line: int
    type_checking: bool

    def where(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.target}"


def module_names(root: Path, package: str) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                skipped.update(ast.walk(statement))
    return skipped


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    type_checking_only = _type_checking_only(tree)
    for node in ast.walk(tree):  # every statement, also inside functions and classes
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import sub`` imports the submodule when there is one.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        type_checking = node in type_checking_only
        found.extend(Import(module, t, node.lineno, type_checking) for t in dict.fromkeys(targets))
    return found


def all_imports(root: Path = SRC, package: str = PACKAGE) -> list[Import]:
    names = module_names(root, package)
    known = set(names)
    return [imp for name, path in names.items() for imp in imports_of(name, path, known)]


def import_cycles(imports: list[Import], package: str = PACKAGE) -> list[list[str]]:
    """One cycle (as a closed path) per strongly connected group of modules."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if not imp.type_checking and imp.target.split(".")[0] == package:
            graph.setdefault(imp.module, set()).add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm; the graph is small
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: list[str] = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_path_within(group, graph) for group in groups]


def _path_within(group: list[str], graph: dict[str, set[str]]) -> list[str]:
    start, members = group[0], set(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for nxt in sorted(graph.get(node, set()) & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                frontier.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def layer(name: str) -> str:
    parts = name.split(".")
    return parts[1] if parts[0] == PACKAGE and len(parts) > 1 else parts[0]


def test_the_scanner_sees_lazy_and_relative_imports_and_skips_type_checking_ones(
    tmp_path: Path,
) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import b\n")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg import c\n"
        "def f():\n    try:\n        from pkg.sub import b\n    finally:\n        pass\n"
    )
    (pkg / "sub" / "b.py").write_text("class K:\n    def m(self):\n        from ..a import f\n")
    (pkg / "c.py").write_text("import pkg.a\nimport sqlite3\n")
    imports = all_imports(pkg, "pkg")
    assert {(i.module, i.target, i.type_checking) for i in imports} == {
        ("pkg.sub", "pkg.sub.b", False),
        ("pkg.a", "typing", False),
        ("pkg.a", "pkg.c", True),
        ("pkg.a", "pkg.sub.b", False),
        ("pkg.sub.b", "pkg.a", False),
        ("pkg.c", "pkg.a", False),
        ("pkg.c", "sqlite3", False),
    }
    assert import_cycles(imports, "pkg") == [["pkg.a", "pkg.sub.b", "pkg.a"]]


def test_no_import_cycle_between_modules() -> None:
    imports = all_imports()
    line = {(imp.module, imp.target): imp.line for imp in imports if not imp.type_checking}
    cycles = [
        cycle[0] + "".join(f" -(line {line[a, b]})-> {b}" for a, b in pairwise(cycle))
        for cycle in import_cycles(imports)
    ]
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_the_bottom_modules_import_nothing_else_of_the_package() -> None:
    broken = [
        f"{imp.where()}: {layer(imp.module)} is a bottom module"
        for imp in all_imports()
        if layer(imp.module) in BOTTOM
        and layer(imp.target) != layer(imp.module)
        and imp.target.split(".")[0] == PACKAGE
    ]
    assert not broken, "\n".join(broken)


def test_lower_layers_never_import_upper_ones() -> None:
    broken = [
        f"{imp.where()}: {layer(imp.module)} must not import {layer(imp.target)}"
        for imp in all_imports()
        if imp.target.split(".")[0] == PACKAGE
        and layer(imp.target) in NEVER_IMPORTS.get(layer(imp.module), ())
    ]
    assert not broken, "\n".join(broken)


def test_mcp_httpx2_and_sqlite3_are_imported_only_by_their_layers() -> None:
    broken = [
        f"{imp.where()}: only {', '.join(sorted(allowed))} may import {library}"
        for imp in all_imports()
        for library, allowed in ONLY_IMPORTED_BY.items()
        if imp.target.split(".")[0] == library and layer(imp.module) not in allowed
    ]
    assert not broken, "\n".join(broken)


MAX_MODULE_LINES = 350


def test_no_module_is_over_350_lines() -> None:
    long = {
        name: lines
        for name, path in module_names(SRC, PACKAGE).items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"split these modules (one job each): {long}"


def test_tools_and_server_use_the_engine_s_methods_not_its_parts() -> None:
    reach = re.compile(r"engine\.(store|client|saver|poller)\b")
    broken = [
        f"{name}: line {number}: {line.strip()}"
        for name, path in module_names(SRC, PACKAGE).items()
        if layer(name) in ("tools", "server", "web") or name.endswith("service.inputs")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if reach.search(line)
    ]
    assert not broken, "give the engine a method instead:\n" + "\n".join(broken)

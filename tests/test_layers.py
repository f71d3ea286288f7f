"""Imports run one way: the layers of the house, read from the source.

Every module's imports are parsed (AST), function-level and TYPE_CHECKING ones
included, so a dependency hidden in a function body still counts:

- `compose/` imports nothing of `runtime/`;
- in `runtime/`, a module imports its own layer and the layers below, never one
  above (`RUNTIME_LAYERS`, bottom first);
- no circle among runtime modules through their module-level imports (those a
  `TYPE_CHECKING` block holds are dependencies too);
- no source file over 450 lines.

`PENDING` names what issue 15 ("The house") has still to break, each with who
does it; an entry that no longer holds fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 450
SOURCE_DIRS = ("compose", "runtime", "schemas", "tests", "bench")

# runtime/, bottom first. A layer's modules import only their own layer and those below.
RUNTIME_LAYERS: tuple[tuple[str, ...], ...] = (
    # the engine's vocabulary and the kernel: imported by everyone, importing nothing above
    ("runtime", "runtime.errors", "runtime.spec", "runtime.filters", "runtime.layout",
     "runtime.connections", "runtime.store", "runtime.linux", "runtime.dockerfile"),
    ("runtime.images", "runtime.volumes"),
    ("runtime.registry", "runtime.network"),  # registry pulls into the image store; networks know images' filters
    ("runtime.containers",),  # records, lifecycle, exec, logs, health; supervisor/ is the process births run in
    ("runtime.build",),  # Dockerfile steps run as containers, the build cache
    ("runtime.engine",),  # one state root and its stores
    ("runtime.api",),  # HTTP: the router, routes, Docker-shaped errors
    ("runtime.daemon", "runtime.__main__"),
)

# (kind, what): what issue 15 still has to remove. Kinds: "up" (importer, imported), "circle"
# (the modules of one circle, sorted), "long" (a file).
PENDING: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # the module, resolved to one of the project's
    line: int
    module_level: bool  # not inside a function (a TYPE_CHECKING block is module level)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The project module `name` refers to (`a.b.c` may be the name `c` in module `a.b`)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = importer if is_package else importer.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        yield f"{base}.{alias.name}"


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(child, name, is_package):
                    found = resolve(target, known)
                    if found is not None and found != name:
                        yield Import(name, found, child.lineno, not in_function)
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from visit(child, inside)

    yield from visit(tree, False)


@functools.cache
def all_imports(package: str) -> tuple[Import, ...]:
    """Every import in `package` of a module of compose/ or runtime/."""
    known = everything()
    return tuple(imp for name, path in modules(package).items() for imp in imports_of(name, path, known))


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, prefixes in enumerate(RUNTIME_LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{module} is in no layer of RUNTIME_LAYERS: place it"
    return rank


def _pending(kind: str) -> set[str]:
    return {what for k, what in PENDING if k == kind}


@functools.cache
def everything() -> dict[str, Path]:
    return {**modules("compose"), **modules("runtime")}


def test_compose_imports_nothing_of_runtime() -> None:
    bad = [f"{i.importer}:{i.line} imports {i.imported}" for i in all_imports("compose")
           if i.imported.split(".")[0] == "runtime"]
    assert not bad, "\n".join(bad)


def test_runtime_imports_nothing_of_compose() -> None:
    bad = [f"{i.importer}:{i.line} imports {i.imported}" for i in all_imports("runtime")
           if i.imported.split(".")[0] == "compose"]
    assert not bad, "\n".join(bad)


def test_no_runtime_import_runs_back_up() -> None:
    found = {f"{i.importer} -> {i.imported}": f"{i.importer}:{i.line}" for i in all_imports("runtime")
             if layer_of(i.imported) > layer_of(i.importer)}
    pending = _pending("up")
    bad = sorted(where + f" imports {edge.split(' -> ')[1]}" for edge, where in found.items() if edge not in pending)
    assert not bad, "imports that run back up:\n" + "\n".join(bad)
    gone = sorted(pending - found.keys())
    assert not gone, "no longer imported, remove from PENDING: " + ", ".join(gone)


def test_domains_do_not_import_the_http_layer() -> None:
    bad = [f"{i.importer}:{i.line} imports {i.imported}" for i in all_imports("runtime")
           if i.imported.startswith("runtime.api") and layer_of(i.importer) < layer_of("runtime.api")]
    assert not bad, "\n".join(bad)


def test_no_circle_among_runtime_modules() -> None:
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(modules("runtime"))
    graph.add_edges_from((i.importer, i.imported) for i in all_imports("runtime") if i.module_level)
    circles = {" ".join(sorted(c)) for c in nx.strongly_connected_components(graph) if len(c) > 1}
    pending = _pending("circle")
    bad = sorted(circles - pending)
    assert not bad, "circles of imports (each line one strongly connected set):\n" + "\n".join(bad)
    gone = sorted(pending - circles)
    assert not gone, "no longer a circle (or a different one), update PENDING:\n" + "\n".join(gone)


def test_no_source_file_over_450_lines() -> None:
    lengths = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
               for d in SOURCE_DIRS for p in sorted((ROOT / d).rglob("*.py"))}
    long = {path for path, n in lengths.items() if n > MAX_LINES}
    pending = _pending("long")
    bad = sorted(f"{path}: {lengths[path]} lines" for path in long - pending)
    assert not bad, f"over {MAX_LINES} lines:\n" + "\n".join(bad)
    gone = sorted(pending - long)
    assert not gone, f"no longer over {MAX_LINES} lines, remove from PENDING: " + ", ".join(gone)


def test_the_parser_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    """The checks above are only as good as the parser: it finds imports in function bodies,
    TYPE_CHECKING blocks and relative forms, and tells module level from function level."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "from runtime.errors import EngineError\n"
        "if TYPE_CHECKING:\n"
        "    from runtime.engine import Engine\n"
        "def f() -> None:\n"
        "    from runtime.api import errors\n"
        "    from . import spec\n"
    )
    path = ROOT / "runtime" / "filters.py"  # any runtime module's name; its text is ours
    probe = tmp_path / "probe.py"
    probe.write_text(source)
    known = modules("runtime")
    found = [(i.imported, i.module_level) for i in imports_of(module_name(path), probe, known)]
    assert found == [("runtime.errors", True), ("runtime.engine", True), ("runtime.api.errors", False),
                     ("runtime.spec", False)]

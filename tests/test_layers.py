"""The package layout is the architecture: lower layers never import higher ones, and the
imports at the top of modules form no cycle (docs/design.md)."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parent.parent / "vnsearch"

#: Layer of each top-level name under vnsearch/ (a sub-package or a module).
LAYERS = {
    "errors": 0, "document": 0, "folder": 0, "forked": 0, "text": 0,
    "codec": 1, "_whoosh_analyzer": 1,
    "ingest": 2, "dedup": 2,
    "write": 3, "search": 3,
    "index": 4,
    "cli": 5, "serve": 5, "__main__": 5,
}  # fmt: skip


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(("vnsearch", *parts))] = path
    return out


def _imports(path: pathlib.Path, modules) -> list[tuple[str, bool]]:
    """(imported vnsearch module, whether at the top of the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name.startswith("vnsearch."):
                found.append((name, node in tree.body))
                break
    return found


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) is not None))
def test_a_module_imports_only_its_own_layer_and_those_below(module):
    mine = _layer(module)
    above = [name for name, _ in _imports(MODULES[module], MODULES)
             if (_layer(name) or 0) > mine]
    assert not above, f"{module} (layer {mine}) imports {above}"


def test_every_package_has_a_layer():
    assert {m.split(".")[1] for m in MODULES if "." in m} <= set(LAYERS) | {"__init__"}


def test_the_imports_at_the_top_of_modules_form_no_cycle():
    graph = {m: {n for n, top in _imports(p, MODULES) if top and n != m}
             for m, p in MODULES.items()}
    done: set[str] = set()

    def visit(m: str, path: list[str]) -> None:
        if m in path:
            raise AssertionError("import cycle: " + " -> ".join(path[path.index(m):] + [m]))
        if m in done:
            return
        for n in graph.get(m, ()):
            visit(n, path + [m])
        done.add(m)

    for m in graph:
        visit(m, [])

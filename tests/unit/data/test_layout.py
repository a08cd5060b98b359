"""The layout of neuroethology.data: an acyclic import graph, one table of readers, one home for the names."""

from __future__ import annotations

import ast
from pathlib import Path

import neuroethology.analysis as na
import neuroethology.data as nd
from neuroethology.data import formats, io

DATA = Path(nd.__file__).parent


def _imports() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports, at module level or inside functions."""
    modules = {p.stem for p in DATA.glob("*.py")}
    graph = {}
    for path in DATA.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neuroethology.data."):
                found.add(node.module.split(".")[2])
        graph[path.stem] = (found & modules) - {path.stem}
    return graph


def test_the_modules_import_each_other_without_a_cycle():
    graph = _imports()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name not in done:
            for dep in sorted(graph[name]):
                visit(dep, (*path, name))
            done.add(name)

    for name in sorted(graph):
        visit(name, ())
    assert graph["schema"] == set()
    assert graph["geography"] == set()  # a leaf: lon/lat and date/time columns, nothing of the package
    for reader in ("_raw", "formats", "nwb"):
        assert graph[reader] <= {"schema", "model", "_raw", "geography"}, (reader, graph[reader])
    assert "io" not in graph["convert"] and "io" not in graph["pipeline"]


def test_every_format_has_one_reader():
    assert set(io.READERS) == set(formats.FORMATS)


def test_the_plural_dim_names_are_written_once():
    roots = [DATA, Path(na.__file__).parent]
    files = [p for root in roots for p in root.rglob("*.py")]
    holders = [p.name for p in files if '"keypoints": "keypoint"' in p.read_text()]
    assert holders == ["schema.py"]

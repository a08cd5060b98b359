"""The architecture checks itself: no library function over 100 lines, no library file over 600 lines.

A file may exceed 600 lines only with a reason in its module docstring or opening comment (a paragraph
beginning "Length:" that says why). No function may exceed 100 lines: the last ones were split into stages
in issue 16, and the list of exceptions this test once kept is gone.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LIBRARY = [REPO / "neuroethology", REPO / "envs", REPO / "analysis"]
MAX_FUNCTION_LINES = 100
MAX_FILE_LINES = 600


def _library_files():
    for root in LIBRARY:
        yield from sorted(root.rglob("*.py"))


def _functions(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def test_no_library_function_over_100_lines():
    found = {}
    for path in _library_files():
        rel = path.relative_to(REPO).as_posix()
        for name, lines in _functions(path):
            if lines > MAX_FUNCTION_LINES:
                found[f"{rel}::{name}"] = lines
    assert not found, f"functions over {MAX_FUNCTION_LINES} lines (split them into stages): {found}"


def test_no_library_file_over_600_lines_without_a_reason():
    unexplained = {}
    for path in _library_files():
        text = path.read_text()
        lines = len(text.splitlines())
        opening = ast.get_docstring(ast.parse(text)) or text[:2000]  # the docstring, or the opening comment
        if lines > MAX_FILE_LINES and "Length:" not in opening:
            unexplained[path.relative_to(REPO).as_posix()] = lines
    assert not unexplained, f"files over {MAX_FILE_LINES} lines with no 'Length:' reason: {unexplained}"

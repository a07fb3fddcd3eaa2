"""No module of the service imports by name at run time (`__import__`, like importlib, which
lint-imports forbids): every import is a statement, checked when the module loads and seen by
lint-imports and mypy."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "qbo_integration"


def test_no_call_to_dunder_import():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
                found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not found, found

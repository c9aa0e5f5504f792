"""The shape the code keeps (docs/architecture.md): small modules, short functions.

A module over `MODULE_LINES` or a function over `FUNCTION_LINES` outside the tests is a
sign that it does more than one thing; these tests name each one found.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "core",
    "access",
    "rules",
    "collector",
    "incident",
    "availability",
    "oncall",
    "ledger",
    "console",
    "slakeeper",
    "benchmarks",
    "tools",
)
MODULE_LINES = 400
FUNCTION_LINES = 60


def sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "versions" not in path.parts
    )


def parse(path: Path) -> ast.Module:
    """The module's syntax tree. CPython 3.11 (this .venv's 3.11.7) may raise SystemError ("AST
    constructor recursion depth mismatch") when another thread compiles at the same time
    (gh-106905): a test worker still runs a server's threads, which compile Jinja templates.
    A second parse then succeeds; a real syntax error is still raised."""
    source = path.read_text(encoding="utf-8")
    try:
        return ast.parse(source, filename=str(path))
    except SystemError:
        return ast.parse(source, filename=str(path))


def long_functions(path: Path) -> list[str]:
    tree = parse(path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            if length > FUNCTION_LINES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_the_sources_are_found() -> None:
    assert len(sources()) > 50


def test_no_module_is_over_the_limit() -> None:
    too_long = [
        f"{path.relative_to(ROOT)} ({lines} lines)"
        for path in sources()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    ]
    assert too_long == []


def test_no_function_is_over_the_limit() -> None:
    assert [found for path in sources() for found in long_functions(path)] == []

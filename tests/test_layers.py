"""The house's arrows (shared/DESIGN.md) hold: each package imports only the packages below it.

Read from the source (every ``import marginscope.x`` and ``from marginscope[.x] import …``,
inside functions too), so a lazy import cannot hide an arrow pointing up.
"""

from __future__ import annotations

import ast
from pathlib import Path

import marginscope

SRC = Path(marginscope.__file__).parent
BASE = {"errors", "config", "duckfile"}  # the shared ground: errors, settings, the DuckDB opener
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "config": {"errors"},
    "duckfile": {"errors"},
    "risk": {"errors"},
    "scenarios": {"risk"},
    "calculators": {"risk", "scenarios"},
    "market": {"risk"},
    "telemetry": {"calculators"},  # the registry of tool ids (the declarations are the source)
    "analytics": {"telemetry", "market", "calculators"},
    "report": {"analytics", "market", "telemetry"},
    "sim": {"calculators", "risk", "market", "telemetry"},
}
TOP = {"web", "cli", "__init__"}  # may import anything


def _package(path: Path) -> str:
    first = path.relative_to(SRC).parts[0]
    return first.removesuffix(".py")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == "marginscope":
                found |= {parts[1]} if len(parts) > 1 else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names
                      if a.name.startswith("marginscope.")}
    return found


def _closure(package: str) -> set[str]:
    seen, todo = set(), [package]
    while todo:
        for below in ALLOWED.get(todo.pop(), set()) | BASE:
            if below not in seen:
                seen.add(below)
                todo.append(below)
    return seen


def test_every_package_imports_only_what_is_below_it():
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        package = _package(path)
        if package in TOP:
            continue
        allowed = _closure(package) | {package}
        wrong += [f"{path.relative_to(SRC)} imports {name}" for name in _imports(path) - allowed]
    assert wrong == []


def test_the_arrows_have_no_cycle():
    for package in ALLOWED:
        assert package not in _closure(package) - BASE or package in BASE, package


def test_the_check_sees_an_arrow_pointing_up(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from marginscope.web import app\n", encoding="utf-8")
    assert _imports(bad) == {"web"}

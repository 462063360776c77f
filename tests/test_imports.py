"""Import cycles inside conformance/live: settings and scenarios once imported each other
(config checked skip names against scenarios.SCENARIOS, scenarios built requests from
config.Settings). The names now live in live/scenario_names.py; this keeps it that way."""

from __future__ import annotations

import ast
from pathlib import Path

import conformance.live
from conformance.live.scenario_names import SCENARIO_NAMES
from conformance.live.scenarios import SCENARIOS

LIVE = Path(conformance.live.__file__).parent


def _imports(path: Path) -> set[str]:
    """Sibling modules of conformance/live that ``path`` imports, at any depth (function-level
    imports count: they are cycles deferred, not cycles removed), TYPE_CHECKING blocks aside."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
    out = set()
    for node in ast.walk(tree):
        if id(node) in typing_only or not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        out |= {node.module} if node.module else {a.name for a in node.names}
    return {name for name in out if (LIVE / f"{name}.py").exists()}


def test_live_modules_import_no_cycle() -> None:
    graph = {p.stem: _imports(p) for p in LIVE.glob("*.py") if p.stem != "__init__"}
    assert "scenario_names" in graph["config"] and "scenario_names" in graph["scenarios"]

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n})) for n in graph.get(start, ()))

    cycles = sorted(m for m in graph if reaches(m, m, {m}))
    assert cycles == [], f"modules in an import cycle: {cycles}"


def test_scenario_names_are_the_scenarios() -> None:
    assert tuple(SCENARIOS) == SCENARIO_NAMES

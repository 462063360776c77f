"""ARCHITECTURE.md names every module of the package, so the map the next person reads first
stays true: a new module without its line fails here, and so does a line for a module gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conformance"


def _modules() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if "/" not in rel and path.name in ("__init__.py", "__main__.py"):
            continue  # the package itself: the whole document is about it
        found.add(rel)
    return found


def test_architecture_names_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^  - `([a-z_/]+\.py)`: \S", text, re.M))
    modules = _modules()
    assert modules - listed == set(), f"add to ARCHITECTURE.md's module list: {sorted(modules - listed)}"
    assert listed - modules == set(), f"gone, drop from ARCHITECTURE.md: {sorted(listed - modules)}"


def test_the_architecture_links_the_checklists() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert "docs/CONTRIBUTING.md" in text and (ROOT / "docs" / "CONTRIBUTING.md").is_file()

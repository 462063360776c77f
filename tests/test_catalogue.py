"""The repo tests itself: every spec rule id exists, is documented, and has a fixture that breaks it."""

from __future__ import annotations

import json
import re

import pytest

from conformance.cli import rules_markdown
from conformance.findings import ERROR, WARNING
from conformance.rules import SECTIONS, all_rules

from .conftest import FIXTURES, ROOT, SHARED


def spec_text() -> str:
    """The spec, from shared/ where present, else the copy kept in fixtures/spec/."""
    shared = SHARED / "spec" / "streaming.md"
    if shared.exists():
        return shared.read_text(encoding="utf-8")
    return (FIXTURES / "spec" / "streaming.md").read_text(encoding="utf-8")


def spec_rules() -> dict[str, bool]:
    """Rule id -> is it marked (warning) in the spec's bullet that defines it (the first bullet
    that starts with the id: later ones, such as the change log's, only mention it)."""
    out: dict[str, bool] = {}
    for line in spec_text().splitlines():
        m = re.match(r"^- `([a-z]+\.[a-z0-9-]+)`(.*)", line)
        if m:
            out.setdefault(m.group(1), "(warning" in m.group(2).split(":")[0])
    return out


def test_spec_copy_is_current() -> None:
    shared = SHARED / "spec" / "streaming.md"
    if not shared.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert (FIXTURES / "spec" / "streaming.md").read_bytes() == shared.read_bytes(), "refresh fixtures/spec/streaming.md"


def test_every_spec_rule_is_in_the_catalogue_with_its_severity() -> None:
    catalogue = {r.id: r for r in all_rules()}
    rules = spec_rules()
    assert len(rules) >= 35
    for rule_id, is_warning in rules.items():
        assert rule_id in catalogue, f"{rule_id} is in the spec but not in the catalogue"
        assert catalogue[rule_id].severity == (WARNING if is_warning else ERROR), rule_id
    extra = set(catalogue) - set(rules)
    assert all(catalogue[r].section == "suite" for r in extra), f"rules outside the spec must be suite rules: {extra}"


def test_rule_metadata_is_complete() -> None:
    for r in all_rules():
        assert r.section in SECTIONS
        assert r.title.endswith(".") and len(r.title) <= 140, r.id
        assert len(r.why) > 20, r.id
        assert r.profiles <= {"sansa", "openai"} and r.profiles


@pytest.mark.parametrize("rule", [r.id for r in all_rules()])
def test_every_rule_has_a_breaking_fixture(rule: str) -> None:
    folder = FIXTURES / "violations" / rule
    recordings = sorted(folder.glob("*.sse"))
    assert recordings, f"no fixture breaks {rule}: add one under {folder.relative_to(ROOT)}"
    for rec in recordings:
        side = rec.with_suffix(".json")
        assert side.exists(), f"{rec.name} needs a sidecar saying why it breaks {rule}"
        meta = json.loads(side.read_text(encoding="utf-8"))
        assert meta.get("why"), f"{side.name}: say why it breaks the rule"


def test_readme_rule_list_is_generated_from_the_catalogue() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert rules_markdown(all_rules()) in readme, "regenerate: python scripts/update_readme.py"


def test_conditional_severities_are_declared_and_shown_everywhere() -> None:
    """Section 11 makes compat.no-bom and compat.no-trailing-cr errors or warnings by what a
    client loses: the catalogue says so in every listing."""
    import io

    from conformance.cli import main

    conditional = {r.id: r for r in all_rules() if r.severity_note}
    assert set(conditional) == {"compat.no-bom", "compat.no-trailing-cr"}
    for rule in conditional.values():
        assert rule.severity == ERROR and rule.severity_note.startswith("error when") and "warning when" in rule.severity_note
    out = io.StringIO()
    main(["rules", "--format", "json"], out, io.StringIO())
    listed = {r["id"]: r for r in json.loads(out.getvalue())}
    assert all(listed[i]["severity_note"] == r.severity_note for i, r in conditional.items())
    assert listed["sse.done"]["severity_note"] is None
    out = io.StringIO()
    main(["rules"], out, io.StringIO())
    lines = out.getvalue().splitlines()
    assert any(line.startswith("compat.no-bom ") and " error* " in line for line in lines)
    assert any(line.strip().startswith("compat.no-bom: error when") for line in lines)
    out = io.StringIO()
    main(["rules", "compat.no-trailing-cr"], out, io.StringIO())
    assert "Severity: error when the event never dispatched is not [DONE]" in out.getvalue()
    assert f"| `compat.no-bom` | {conditional['compat.no-bom'].severity_note} |" in rules_markdown(all_rules())

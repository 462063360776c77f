"""The repo tests itself: every spec rule id exists, is documented, and has a fixture that breaks it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import rules_markdown
from conformance.findings import ERROR, WARNING
from conformance.rules import SECTIONS, Rule, all_rules

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
    # client.* rules compare real clients with the spec's reading (--clients): not spec bullets
    assert all(catalogue[r].section == "suite" or r.startswith("client.") for r in extra), f"rules outside the spec must be suite rules: {extra}"


def test_rule_metadata_is_complete() -> None:
    for r in all_rules():
        assert r.section in SECTIONS
        assert r.title.endswith(".") and len(r.title) <= 140, r.id
        assert len(r.why) > 20, r.id
        assert r.profiles <= {"sansa", "openai"} and r.profiles


@pytest.mark.parametrize("rule", [r.id for r in all_rules()])
def test_every_rule_has_a_breaking_fixture(rule: str) -> None:
    if rule.startswith("client."):
        # a client rule is broken by a replay, not by a recording alone: its breaking streams are
        # built in tests/clients_streams.py and replayed by tests/test_clients.py
        from .clients_streams import BREAKS

        assert any(f"client.{client}" == rule for _, _, client, _, _ in BREAKS), f"no stream in tests/clients_streams.py breaks {rule}"
        return
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


def test_rule_order_does_not_depend_on_import_order() -> None:
    """The catalogue's order (README table, `rules`, reports) comes from the catalogue alone.

    Modules share sections (compat and clients are both 11): ordering by registration would
    follow whichever module a test imported first. A fresh interpreter imports every rule
    module in reverse, so each pair of modules registers the other way round, and must still
    list the rules as this process does."""
    from conformance.rules import _MODULES

    imports = "; ".join(f"import conformance.rules.{name}" for name in reversed(_MODULES))
    code = f"{imports}; from conformance.rules import all_rules; print(' '.join(r.id for r in all_rules()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    here = [r.id for r in all_rules()]
    assert out == here
    # the case that failed: clients registered before compat, both section 11; compat is first in _MODULES
    assert here.index("compat.no-bom") < here.index("client.openai-python")


def _update_readme() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "scripts" / "update_readme.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_figures_and_generated_parts_are_current() -> None:
    """The rule table, the catalogue's figures, the validate example and the figures in the
    prose (rule checks per run, conditional severities) all say what the code says now."""
    script = _update_readme()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.stale(readme) == [], "regenerate: python scripts/update_readme.py"
    figures = script.figures()
    assert figures["rules"] == len(all_rules()) == figures["errors"] + figures["warnings"]
    assert f"{figures['rules']} rules: " in readme and f"{figures['rule_checks']} rule checks" in readme


def test_a_stale_readme_figure_is_caught() -> None:
    """The check can fail: a README counting one rule too few, or quoting an old check count."""
    script = _update_readme()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    n = len(all_rules())
    assert script.stale(readme.replace(f"{n} rules: ", f"{n - 1} rules: ", 1)) == ["figures"]
    checks = script.figures()["rule_checks"]
    assert script.stale(readme.replace(f"{checks} rule checks", f"{checks - 9} rule checks", 1)) == ["a figure in the prose"]
    # the live run's terminal, shown as it was when the catalogue had one rule fewer
    line = re.search(r"^  live/text .*n/a +(\d+)$", readme, re.M)
    assert line is not None
    shrunk = readme.replace(line.group(0), line.group(0)[: line.start(1) - line.start()] + str(int(line.group(1)) - 1), 1)
    assert script.stale(shrunk) == ["run-example"]


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


# --- rules ID: where a rule is defined, and its examples from the fixtures -----------------

# live-only rules that no recording under fixtures/conformant can pass: each is judged only on
# what a live run provokes (a scenario, request variants, the run itself)
NO_CONFORMANT_RECORDING = {
    "request.stream-options-accepted",
    "request.variant-accepted",
    "error.pre-stream-status",
    "run.endpoint-usable",
    "scenario.exercised",
}


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_defined_at_points_at_the_rules_registration(rule: Rule) -> None:
    from conformance.catalogue import defined_at

    path, line = defined_at(rule.check)
    assert path.startswith("conformance/rules/") and path.endswith(".py")
    source = (ROOT / path).read_text(encoding="utf-8").splitlines()
    head = "\n".join(source[line - 1 : line + 12])
    if f'"{rule.id}"' in "\n".join(source):
        assert source[line - 1].lstrip().startswith("@rule("), (path, line, source[line - 1])
        assert f'"{rule.id}"' in head, f"{path}:{line} does not register {rule.id}"
    else:  # registered in a loop (client.*): the line is where the one check they share starts
        assert source[line - 1].lstrip().startswith(("def ", "class ")), (path, line, source[line - 1])


def _decorated(obj: Any) -> Any:
    return obj


@_decorated
class _FoldLike:
    """A check written as a class, as a fold is."""


@_decorated
def _check_like(stream: object) -> list[object]:
    return []


def test_defined_at_handles_functions_classes_and_instances() -> None:
    import functools

    from conformance.catalogue import defined_at

    here = Path(__file__).resolve().relative_to(ROOT).as_posix()
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    fn = defined_at(_check_like)
    cls = defined_at(_FoldLike)
    assert fn[0] == cls[0] == here
    assert lines[fn[1] - 1] == "@_decorated" and lines[fn[1]].startswith("def _check_like")
    assert lines[cls[1] - 1] == "@_decorated" and lines[cls[1]].startswith("class _FoldLike")
    assert defined_at(_FoldLike()) == cls  # an instance: where its class is

    @functools.wraps(_check_like)
    def wrapper(stream: object) -> list[object]:
        return _check_like(stream)

    assert defined_at(wrapper) == fn  # a wrapped check: where the wrapped one is
    built = type("_Built", (_FoldLike,), {"__module__": __name__})  # one class per client, made at run time
    assert defined_at(built) == cls  # no source of its own: the base it shares


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_shows_a_breaking_and_a_conformant_example_or_says_why_not(rule: Rule) -> None:
    from conformance import judge, load
    from conformance.catalogue import breaking_example, conformant_example
    from conformance.findings import FAIL, PASS, WARN

    breaking = breaking_example(rule)
    conformant = conformant_example(rule, breaking)
    if rule.id.startswith("client."):
        assert breaking.fixture is None and conformant.fixture is None and "client" in (breaking.note or "")
        return
    # the breaking example: a fixture whose sidecar lists the rule, with the finding it really gets
    assert breaking.fixture and breaking.fixture.startswith("fixtures/violations/"), breaking.note
    meta = json.loads((ROOT / breaking.fixture).with_suffix(".json").read_text(encoding="utf-8"))
    assert rule.id in meta["expect"].get("fail", []) + meta["expect"].get("warn", [])
    assert breaking.status in (FAIL, WARN) and breaking.finding is not None
    judged = judge(load(ROOT / breaking.fixture)).result(rule.id)
    assert judged is not None and breaking.finding == judged.findings[0]
    # the conformant example: a conformant fixture where the rule applies and passes
    if rule.id in NO_CONFORMANT_RECORDING:
        assert conformant.fixture is None and "passes on no conformant fixture" in (conformant.note or "")
        return
    assert conformant.fixture and conformant.fixture.startswith("fixtures/conformant/"), conformant.note
    judged = judge(load(ROOT / conformant.fixture)).result(rule.id)
    assert judged is not None and judged.status == PASS == conformant.status
    assert conformant.excerpt


def test_rules_id_shows_where_and_both_examples_in_text_and_json() -> None:
    import io

    from conformance.cli import main

    out = io.StringIO()
    assert main(["rules", "usage.totals"], out, io.StringIO()) == 0
    text = out.getvalue()
    assert "Checked by: conformance.rules.usage." in text  # what it showed before stays
    assert "  Defined at: conformance/rules/usage.py:" in text
    assert "  Breaking example: fixtures/violations/usage.totals/" in text and "(the rule fails)" in text
    assert "      Usage does not add up." in text  # the finding's own message
    assert '"total_tokens":40' in text  # the offending bytes
    assert "  Conformant example: fixtures/conformant/" in text and "(the rule passes)" in text

    out = io.StringIO()
    assert main(["rules", "usage.totals", "client.httpx-sse", "--format", "json"], out, io.StringIO()) == 0
    usage, client = json.loads(out.getvalue())
    assert usage["id"] == "usage.totals" and usage["function"].startswith("conformance.rules.usage.")
    assert usage["defined_at"]["file"] == "conformance/rules/usage.py" and usage["defined_at"]["line"] > 0
    breaking, conformant = usage["examples"]["breaking"], usage["examples"]["conformant"]
    assert breaking["status"] == "fail" and breaking["finding"]["rule"] == "usage.totals" and breaking["excerpt"]
    assert conformant["status"] == "pass" and conformant["fixture"].startswith("fixtures/conformant/")
    assert client["examples"]["breaking"]["fixture"] is None and client["examples"]["breaking"]["note"]

    out = io.StringIO()
    main(["rules", "--format", "json"], out, io.StringIO())
    assert all("examples" not in r for r in json.loads(out.getvalue())), "the whole listing judges nothing"


def test_examples_say_so_when_the_fixtures_are_not_beside_the_code(tmp_path: Path) -> None:
    from conformance.catalogue import breaking_example, conformant_example
    from conformance.rules import get_rule

    rule = get_rule("sse.done")
    assert "no fixtures beside this installation" in (breaking_example(rule, tmp_path).note or "")
    assert "no fixtures beside this installation" in (conformant_example(rule, None, tmp_path).note or "")


def test_tests_readme_lists_every_test_file() -> None:
    """tests/README.md says where a new test goes: it lists every test file, and none that is gone."""
    text = (ROOT / "tests" / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(test_[a-z0-9_]+\.py)` \|", text, re.M))
    present = {p.name for p in (ROOT / "tests").glob("test_*.py")}
    assert present - listed == set(), f"add to tests/README.md: {sorted(present - listed)}"
    assert listed - present == set(), f"gone, drop from tests/README.md: {sorted(listed - present)}"


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_source_names_a_document_and_section_that_exist(rule: Rule) -> None:
    """A rule's source is where a reader goes to check it: the spec's section, or the project
    document (and its section) stating the principle a suite rule enforces."""
    source = rule.source
    m = re.fullmatch(r"streaming\.md section (\d+) \((.+)\)", source)
    if m:
        assert re.search(rf"^## {m.group(1)}\. {re.escape(m.group(2))}\b", spec_text(), re.M), source
        return
    document, _, where = source.partition(": ")
    path = ROOT / document
    assert path.is_file(), f"{rule.id}: source {source!r} names {document}, which the project does not have"
    heading = where.split(" (", 1)[0]
    assert re.search(rf"^#+ {re.escape(heading)}\s*$", path.read_text(encoding="utf-8"), re.M), f"{document} has no section {heading!r}"

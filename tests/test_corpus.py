"""Each rule fails on the streams that break it and stays quiet on conformant ones.

Every recording under fixtures/ carries, in its sidecar, what the suite must say about it
(``expect``: the error rules that fail and the warning rules that warn). The whole verdict
is compared, so a rule that starts firing on a stream it should not is caught as surely as
one that stops firing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import judge, load, select_rules
from conformance.findings import FAIL, WARN
from conformance.rules import Rule, all_rules, get_rule

from .conftest import FIXTURES, SHARED

VIOLATIONS = sorted((FIXTURES / "violations").rglob("*.sse"))
CONFORMANT = sorted((FIXTURES / "conformant").rglob("*.sse"))
REAL = sorted((FIXTURES / "real").glob("*.sse"))


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(FIXTURES)) for p in paths]


def _expect(path: Path) -> tuple[set[str], set[str]]:
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text(encoding="utf-8")) if side.exists() else {}
    expect = meta.get("expect", {})
    return set(expect.get("fail", [])), set(expect.get("warn", []))


def _observed(path: Path) -> tuple[set[str], set[str]]:
    verdict = judge(load(path))
    failed = {r.rule for r in verdict.results if r.status == FAIL}
    warned = {r.rule for r in verdict.results if r.status == WARN}
    return failed, warned


@pytest.mark.parametrize("path", VIOLATIONS, ids=_ids(VIOLATIONS))
def test_violation_breaks_its_rule_alone(path: Path) -> None:
    folder = path.parent.name
    fail, warn = _expect(path)
    assert fail or warn, f"{path.name}: the sidecar must say what breaks"
    if folder != "bad-input":
        rule = get_rule(folder)
        only = judge(load(path), rules=select_rules([rule.id]))
        (result,) = only.results
        # a rule with a conditional severity fails on some fixtures and warns on others: the
        # sidecar says which; a rule with one severity always reports its own
        expected = FAIL if rule.id in fail else WARN
        if rule.severity_note is None:
            assert expected == (FAIL if rule.severity == "error" else WARN), f"{path.name}: the sidecar contradicts the rule's severity"
        assert result.status == expected, (result.status, result.reason)
        assert result.findings and all(f.rule == rule.id for f in result.findings)
        if rule.severity_note is not None:
            assert all(f.severity_reason and f.severity_reason.startswith(f.severity + ":") for f in result.findings)
    assert _observed(path) == (fail, warn)


@pytest.mark.parametrize("rule", [r for r in all_rules() if r.severity_note], ids=lambda r: r.id)
def test_a_conditional_severity_has_fixtures_of_both_severities(rule: Rule) -> None:
    """Both branches of the condition are shown: a fixture that fails and one that only warns."""
    folder = FIXTURES / "violations" / rule.id
    kinds = {("fail" if rule.id in _expect(p)[0] else "warn") for p in folder.glob("*.sse")}
    assert kinds == {"fail", "warn"}, kinds


@pytest.mark.parametrize("path", CONFORMANT, ids=_ids(CONFORMANT))
def test_conformant_stream_has_no_error(path: Path) -> None:
    verdict = judge(load(path))
    assert verdict.ok, [f.to_json() for f in verdict.findings]
    fail, warn = _expect(path)
    assert not fail
    assert _observed(path) == (set(), warn)


def test_the_corpus_covers_every_feature() -> None:
    names = {p.stem for p in CONFORMANT}
    assert len(CONFORMANT) >= 15
    assert any(not p.with_suffix(".json").exists() for p in CONFORMANT), "a bare curl capture must be among them"
    for feature in ("text", "tool", "parallel", "reasoning", "structured", "error", "crlf", "comment", "bom"):
        assert any(feature in n for n in names), f"no conformant fixture for {feature}"


@pytest.mark.parametrize("path", REAL, ids=_ids(REAL))
def test_real_recorded_streams(path: Path) -> None:
    """Streams recorded from real providers (vercel/ai fixtures) get the verdicts written down for them."""
    fail, warn = _expect(path)
    assert _observed(path) == (fail, warn)


def test_real_corpus_copies_match_shared() -> None:
    shared = SHARED / "corpus" / "real"
    if not shared.exists():
        pytest.skip("shared/corpus is not beside this checkout")
    originals = sorted(shared.glob("*.sse"))
    assert [p.name for p in originals] == [p.name for p in REAL]
    for original in originals:
        assert (FIXTURES / "real" / original.name).read_bytes() == original.read_bytes()


def test_azure_prompt_filter_event_is_an_annotation_only_under_openai() -> None:
    """Azure's first event (choices: [], object: "") is skipped under openai, judged as a chunk under sansa."""
    path = FIXTURES / "real" / "azure-model-router.1.sse"
    assert judge(load(path), "openai").ok
    sansa = judge(load(path), "sansa")
    schema = sansa.result("chunk.schema")
    assert schema is not None and schema.status == FAIL and schema.findings[0].event == 0


def _make_fixtures(*args: str) -> subprocess.CompletedProcess[str]:
    script = FIXTURES.parent / "scripts" / "make_fixtures.py"
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=120)


def test_generated_fixtures_match_their_generator() -> None:
    """fixtures/conformant and fixtures/violations are exactly what scripts/make_fixtures.py
    writes: no file differs, none is missing, and no file sits there that no entry owns."""
    proc = _make_fixtures("--check")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_fixture_check_fails_on_a_changed_or_unowned_file(tmp_path: Path) -> None:
    """The --check above can fail: a changed byte and a hand-added file are both named, and a
    plain run rewrites the changed file (the unowned one is listed, never deleted)."""
    for folder in ("conformant", "violations"):
        shutil.copytree(FIXTURES / folder, tmp_path / folder)
    changed = tmp_path / "conformant" / "text.sse"
    changed.write_bytes(changed.read_bytes().replace(b"Bonjour", b"Bonsoir"))
    orphan = tmp_path / "violations" / "sse.done" / "by-hand.sse"
    orphan.write_bytes(b"data: [DONE]\n\n")

    proc = _make_fixtures("--check", "--fixtures", str(tmp_path))
    assert proc.returncode == 1
    assert "differs from the generator: fixtures/conformant/text.sse" in proc.stdout
    assert "owned by no generator entry: fixtures/violations/sse.done/by-hand.sse" in proc.stdout

    proc = _make_fixtures("--fixtures", str(tmp_path))
    assert proc.returncode == 1 and "1 written" in proc.stdout
    assert changed.read_bytes() == (FIXTURES / "conformant" / "text.sse").read_bytes()
    assert orphan.exists()

"""Gating on "no new failure": the comparison (pure), and `run`, `validate`, `diff` and the
pytest plugin using it against real runs of the embedded endpoint and real recordings."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance.baseline import annotate, compare, load_baseline, render_text, statuses_of
from conformance.cli import main
from conformance.errors import UsageError

from .conftest import USAGE, chunk, stream_body, text_stream

reference = pytest.importorskip("conformance.reference")
SCHEMA = json.loads((Path(__file__).resolve().parent.parent / "conformance" / "report" / "compliance.schema.json").read_text())
A = "role-repeated"  # breaks chunk.role-only-first on the text scenarios
B = "tool-call-no-id"  # breaks tools.first-fragment on the tool scenarios: disjoint from A


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def run_main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out, err), out.getvalue(), err.getvalue()


def failed_cases(junit: Path) -> set[str]:
    root = ET.parse(junit).getroot()
    return {f"{c.get('classname')}::{c.get('name')}" for c in root.iter("testcase") if c.find("failure") is not None}


# --- the comparison itself -------------------------------------------------------------


def doc(exchanges: dict[str, dict[str, str]]) -> dict[str, Any]:
    rules = lambda statuses: {r: {"status": s, "severity": "error", "findings": []} for r, s in statuses.items()}  # noqa: E731
    return {"format": 1, "suite": {"name": "sse-conformance", "version": "x"}, "exchanges": [{"id": i, "rules": rules(s)} for i, s in exchanges.items()]}


def test_every_failure_is_new_or_known_and_the_baseline_rest_is_accounted_for() -> None:
    base = {"live/text": {"a": "fail", "b": "fail", "c": "pass", "d": "fail"}, "live/gone": {"a": "fail"}, "live/tools": {"e": "fail"}}
    now = {"live/text": {"a": "fail", "b": "pass", "c": "fail", "d": "skipped"}, "live/tools": {"e": "n/a"}, "live/new": {"a": "fail", "w": "warn"}}
    c = compare(base, now, "old.json")
    assert c.new == (("live/new", "a"), ("live/text", "c"))
    assert c.known == (("live/text", "a"),)
    assert c.fixed == (("live/text", "b"), ("live/tools", "e"))
    assert c.unchecked == (("live/text", "d"),)  # skipped now: not a fix, not a failure
    assert c.missing == ("live/gone",)
    assert not c.ok
    assert c.mark("live/text", "a") == "known" and c.mark("live/text", "c") == "new" and c.mark("live/text", "b") is None
    assert c.mark("live/new", "w") is None  # a warning is no failure: never marked


def test_an_identical_run_has_nothing_new_and_warnings_never_count() -> None:
    statuses = {"x.sse": {"a": "fail", "b": "warn", "c": "pass"}}
    c = compare(statuses, statuses)
    assert c.ok and c.known == (("x.sse", "a"),) and not (c.new or c.fixed or c.missing)
    assert compare({}, {"x.sse": {"b": "warn"}}).ok


def test_annotate_marks_failed_rules_and_adds_the_baseline_object() -> None:
    before = doc({"e": {"a": "fail"}})
    now = doc({"e": {"a": "fail", "b": "fail", "c": "pass"}})
    annotate(now, compare(statuses_of(before), statuses_of(now), "base.json"))
    rules = now["exchanges"][0]["rules"]
    assert rules["a"]["baseline"] == "known" and rules["b"]["baseline"] == "new" and "baseline" not in rules["c"]
    assert now["baseline"] == {"path": "base.json", "ok": False, "new": [{"exchange": "e", "rule": "b"}],
                               "known": [{"exchange": "e", "rule": "a"}], "fixed": [], "unchecked": [], "missing": []}


def test_the_text_leads_with_the_new_failures() -> None:
    text = render_text(compare({"e": {"a": "fail", "z": "fail"}, "f": {}}, {"e": {"a": "fail", "b": "fail", "z": "pass"}}, "base.json"))
    lines = text.splitlines()
    assert lines[0] == "against baseline base.json: 1 new failure(s), 1 known, 1 fixed"
    assert lines[1].startswith("new failures") and lines[2] == "  e::b"
    assert "  e::z" in lines and "  f" in lines  # fixed, and the exchange this run lacks


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<?xml version='1.0'?><testsuites/>", "not a compliance.json (not JSON"),
        ('{"fixtures": []}', "not a compliance.json written by sse-conformance"),  # validate --format json: another document
        ('{"format": 2, "suite": {"name": "sse-conformance"}, "exchanges": []}', "format 2; this version reads format 1"),
        ('{"format": 1, "suite": {"name": "sse-conformance"}, "exchanges": [{"id": "x", "rules": {"a": "fail"}}]}', "not the documented shape"),
        ("[1, 2]", "not a compliance.json written by sse-conformance"),
    ],
)
def test_a_baseline_that_is_no_compliance_json_is_a_usage_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "base.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        load_baseline(path)
    code, _, err = run_main("diff", str(path), str(path))
    assert code == 2 and message in err
    code, _, err = run_main("validate", str(path), "--baseline", str(path))
    assert code == 2 and message in err
    with pytest.raises(UsageError, match="cannot be read"):
        load_baseline(tmp_path / "missing.json")


# --- end to end: run against the embedded endpoint -----------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Fault A -> baseline; A and B against it; A alone against it. Three runs, shared."""
    tmp = tmp_path_factory.mktemp("baseline")
    base = cli("run", "--fault", A, "--variants", "0", "--reports", str(tmp / "base"), "-q", cwd=tmp)
    both = cli("run", "--fault", A, "--fault", B, "--variants", "0", "--reports", str(tmp / "both"),
               "--baseline", str(tmp / "base" / "compliance.json"), "-q", "-rfx", cwd=tmp)
    same = cli("run", "--fault", A, "--variants", "0", "--reports", str(tmp / "same"), "--baseline", "base/compliance.json", "-q", cwd=tmp)
    return {"tmp": tmp, "base": base, "both": both, "same": same}


def test_a_failing_run_is_green_against_its_own_baseline(runs: dict[str, Any]) -> None:
    assert runs["base"].returncode == 1, runs["base"].stdout[-2000:]
    same = runs["same"]
    assert same.returncode == 0, same.stdout[-3000:] + same.stderr[-2000:]
    assert "no new failure, 3 known, 0 fixed" in same.stdout
    # run quiets pytest (-qq): its own summary says the verdict against the baseline
    assert "PASS against the baseline: 0 new failures (3 known, 0 fixed)" in same.stdout
    assert "chunk.role-only-first [known]" in same.stdout
    doc = json.loads((runs["tmp"] / "same" / "compliance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["ok"] is False and doc["baseline"]["ok"] is True  # still failing, nothing new
    marks = {(e["id"], r): v["baseline"] for e in doc["exchanges"] for r, v in e["rules"].items() if "baseline" in v}
    assert marks == {(f"live/{s}", "chunk.role-only-first"): "known" for s in ("text", "length", "stream-options")}


def test_one_new_fault_fails_the_run_naming_only_its_rules(runs: dict[str, Any]) -> None:
    both = runs["both"]
    assert both.returncode == 1, both.stdout[-3000:] + both.stderr[-2000:]
    tmp = runs["tmp"]
    failed = failed_cases(tmp / "both" / "junit.xml")
    assert len(failed) == 2 and {c.split("::")[1] for c in failed} == {"tools.first-fragment"}  # known ones are xfail (skipped) there
    summary = both.stdout[both.stdout.index("sse-conformance baseline"):]
    new = summary[summary.index("new failures"):summary.index("known failures")]
    assert "tools.first-fragment" in new and "chunk.role-only-first" not in new
    assert "2 new failure(s), 3 known, 0 fixed" in summary
    assert "XFAIL live/text::chunk.role-only-first - known failure (in baseline" in both.stdout
    assert "FAILED live/tool-call::tools.first-fragment - [new: not in the baseline]" in both.stdout
    doc = json.loads((tmp / "both" / "compliance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert {(p["exchange"], p["rule"]) for p in doc["baseline"]["new"]} == {("live/tool-call", "tools.first-fragment"), ("live/parallel-tools", "tools.first-fragment")}
    assert doc["exchanges"][[e["id"] for e in doc["exchanges"]].index("live/tool-call")]["rules"]["tools.first-fragment"]["baseline"] == "new"
    page = (tmp / "both" / "report.html").read_text()
    assert "Against the baseline" in page and "2 new failure(s)" in page
    assert page.count('<span class="b-new">new</span>') == 2 and page.count('<span class="b-known">known</span>') == 3
    # diff says the same, from the two files
    code, out, _ = run_main("diff", str(tmp / "base" / "compliance.json"), str(tmp / "both" / "compliance.json"))
    assert code == 1 and "2 new failure(s), 3 known, 0 fixed" in out
    code, out, _ = run_main("diff", str(tmp / "both" / "compliance.json"), str(tmp / "base" / "compliance.json"))
    assert code == 0 and "no new failure, 3 known, 2 fixed" in out and "live/tool-call::tools.first-fragment" in out
    code, out, _ = run_main("diff", "--format", "json", str(tmp / "base" / "compliance.json"), str(tmp / "both" / "compliance.json"))
    assert code == 1 and len(json.loads(out)["new"]) == 2


def test_run_refuses_a_baseline_that_is_not_a_compliance_json(tmp_path: Path) -> None:
    (tmp_path / "junit.xml").write_text("<testsuites/>")
    proc = cli("run", "--variants", "0", "--baseline", "junit.xml", "--reports", str(tmp_path / "r"), cwd=tmp_path)
    assert proc.returncode == 2 and "not a compliance.json" in proc.stderr
    assert not (tmp_path / "r").exists()  # refused before any request or report


def test_the_missing_exchanges_of_the_baseline_are_listed(runs: dict[str, Any], tmp_path: Path) -> None:
    """A baseline with an exchange this run lacks (a scenario since skipped) says so."""
    doc = json.loads((runs["tmp"] / "base" / "compliance.json").read_text())
    doc["exchanges"].append({"id": "live/retired", "ok": False, "rules": {"sse.done": {"status": "fail", "severity": "error", "findings": []}}})
    (tmp_path / "base.json").write_text(json.dumps(doc))
    code, out, _ = run_main("diff", str(tmp_path / "base.json"), str(runs["tmp"] / "same" / "compliance.json"))
    assert code == 0 and "exchanges of the baseline this run lacks (1):\n  live/retired" in out


# --- validate and the plugin on recordings -------------------------------------------


def good() -> bytes:
    return stream_body(*text_stream("hi"))


def role_repeated() -> bytes:
    chunks = text_stream("Hi")
    chunks[1]["choices"][0]["delta"]["role"] = "assistant"
    return stream_body(*chunks)


def test_validate_gates_on_a_baseline_written_by_validate_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # ids are relative to the working folder, as validate --reports writes them
    recs = tmp_path / "recs"
    recs.mkdir()
    (recs / "good.sse").write_bytes(good())
    (recs / "no-done.sse").write_bytes(stream_body(*text_stream("x"), done=False))
    proc = cli("validate", "recs", "--reports", "base", cwd=tmp_path)
    assert proc.returncode == 1
    code, out, err = run_main("validate", "recs", "--baseline", "base/compliance.json")
    assert code == 0, out + err
    assert "error   [known] sse.done" in out and "no new failure, 1 known" in out
    (recs / "role.sse").write_bytes(role_repeated())
    (recs / "no-done.sse").write_bytes(good())  # fixed since
    worse = cli("validate", "recs", "--baseline", "base/compliance.json", "--reports", "now", cwd=tmp_path)
    assert worse.returncode == 1, worse.stdout + worse.stderr
    assert "error   [new] chunk.role-only-first" in worse.stdout
    assert "1 new failure(s), 0 known, 1 fixed" in worse.stdout and "  recs/role.sse::chunk.role-only-first" in worse.stdout
    assert "  recs/no-done.sse::sse.done" in worse.stdout
    assert worse.stdout.count("against baseline") == 1  # the inner pytest run (-qq) does not repeat it
    doc = json.loads((tmp_path / "now" / "compliance.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["exchanges"][[e["id"] for e in doc["exchanges"]].index("recs/role.sse")]["rules"]["chunk.role-only-first"]["baseline"] == "new"
    assert doc["baseline"]["fixed"] == [{"exchange": "recs/no-done.sse", "rule": "sse.done"}]
    code, out, _ = run_main("validate", str(tmp_path / "recs"), "--baseline", "base/compliance.json", "--format", "json")
    assert code == 1 and json.loads(out)["baseline"]["new"] == [{"exchange": "recs/role.sse", "rule": "chunk.role-only-first"}]  # absolute path, same id


def test_validate_with_select_reports_unjudged_baseline_failures_as_unchecked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "no-done.sse").write_bytes(stream_body(*text_stream("x"), done=False))
    (tmp_path / "base.json").write_text(json.dumps(doc({"no-done.sse": {"sse.done": "fail", "chunk.role-first": "pass"}})))
    code, out, _ = run_main("validate", "no-done.sse", "--select", "chunk", "--baseline", "base.json")
    assert code == 0 and "0 fixed" in out and "not judged now" in out and "  no-done.sse::sse.done" in out


def test_the_pytest_plugin_xfails_known_failures(pytester: pytest.Pytester) -> None:
    (pytester.path / "bad.sse").write_bytes(role_repeated())
    (pytester.path / "ok.sse").write_bytes(stream_body(chunk({"role": "assistant", "content": "hi"}), chunk({}, "stop", usage=USAGE)))
    first = pytester.runpytest("--sse-fixtures", str(pytester.path), "--sse-json=base.json", "-p", "no:cacheprovider")
    assert first.ret == 1
    again = pytester.runpytest("--sse-fixtures", str(pytester.path), "--sse-baseline=base.json", "--sse-json=now.json", "-p", "no:cacheprovider", "-rx")
    assert again.ret == 0
    again.stdout.fnmatch_lines(["*XFAIL bad.sse::chunk.role-only-first - known failure (in baseline base.json)*", "*1 xfailed*"])
    assert json.loads((pytester.path / "now.json").read_text())["baseline"]["known"] == [{"exchange": "bad.sse", "rule": "chunk.role-only-first"}]
    (pytester.path / "worse.sse").write_bytes(stream_body(*text_stream("x"), done=False))
    worse = pytester.runpytest("--sse-fixtures", str(pytester.path), "--sse-baseline=base.json", "-p", "no:cacheprovider")
    assert worse.ret == 1
    worse.stdout.fnmatch_lines(["*FAILED worse.sse::sse.done - [[]new: not in the baseline[]] sse.done*", "*1 failed*1 xfailed*"])
    refused = pytester.runpytest("--sse-fixtures", str(pytester.path), "--sse-baseline=ok.sse", "-p", "no:cacheprovider")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR

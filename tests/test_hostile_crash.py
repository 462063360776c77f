"""Hostile endpoints against the run itself: no answer can crash a run or turn it green.

Every exception while capturing or judging is a finding (capture.complete or a suite rule);
each scenario is captured once, kept even when its capture or judgement failed; and
compliance.json is ok only when something was judged and nothing failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import Exchange, judge
from conformance.report.collector import ComplianceCollector

from .hostile_keys import STREAM, always_500, chunk, live_run, run_cli, serving, sse

DEEP = 100_000  # levels; json and jsonschema give up near 1,000, orjson at 1,024


def _deep(request: dict[str, Any], key: str) -> tuple[int, dict[str, str], list[bytes]]:
    """A conformant-looking stream with a payload nested DEEP levels, and the same nesting
    inside tool arguments and content (where the assembler and partial JSON read it)."""
    nested = "[" * DEEP + "]" * DEEP
    first = chunk("", role=True)
    args = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": nested}}
    with_args = chunk(None)
    with_args["choices"][0]["delta"]["tool_calls"] = [args]
    last = chunk(None, finish="stop", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})
    return 200, STREAM, sse(first, nested, chunk(nested), with_args, last)


def test_deep_nesting_is_a_finding_one_request_per_scenario_and_never_green(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    with serving(_deep) as (url, app):
        proc = live_run(url, "x", reports)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out[-3000:]
    assert "INTERNALERROR" not in out and "RecursionError" not in proc.stderr
    assert app.requests == 9  # exactly one request per scenario
    doc = json.loads((reports / "compliance.json").read_text(encoding="utf-8"))
    assert doc["ok"] is False and len(doc["exchanges"]) == 9
    for ex in doc["exchanges"]:
        assert ex["ok"] is False and ex["rules"]["sse.json-payload"]["status"] == "fail", ex["id"]


def test_validate_never_prints_a_traceback_on_deep_nesting(tmp_path: Path) -> None:
    status, headers, pieces = _deep({}, "")
    (tmp_path / "deep.sse").write_bytes(b"".join(pieces))
    for fmt in ("text", "json"):
        proc = run_cli("validate", "--format", fmt, str(tmp_path / "deep.sse"), key=None, cwd=tmp_path)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "sse.json-payload" in run_cli("validate", str(tmp_path / "deep.sse"), key=None, cwd=tmp_path).stdout


def test_recursion_anywhere_in_the_judge_is_a_finding() -> None:
    nested = "[" * DEEP + "]" * DEEP
    body = b"".join(_deep({}, "")[2])
    request = {"tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "array"}}}}
    structured = b"".join(sse(chunk("", role=True), chunk(nested), chunk(None, finish="stop", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})))
    for ex in (Exchange(body, request=request), Exchange(structured, request=request)):
        verdict = judge(ex)  # never raises
        assert not verdict.ok


def test_a_500_always_endpoint_with_a_one_letter_key_is_no_internal_error(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    with serving(always_500) as (url, app):
        proc = live_run(url, "x", reports, "--variants", "2")
    assert proc.returncode == 1 and "INTERNALERROR" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
    doc = json.loads((reports / "compliance.json").read_text(encoding="utf-8"))
    assert doc["ok"] is False and "live/text" in {ex["id"] for ex in doc["exchanges"]}
    assert 1 <= app.requests <= 9 + 2 * 4 + 4  # each scenario at most once, variants within their budget


def test_a_capture_or_judge_that_raises_is_kept_as_a_finding(pytester: pytest.Pytester) -> None:
    """An exception inside the suite's capture is a capture.complete failure of that scenario,
    captured once: the other items of the scenario do not capture again."""
    pytester.makeconftest(
        """
        import pathlib

        import conformance.items as items

        CALLS = []
        ORIGINAL = items.run_scenario

        def boom(client, settings, scenario):
            CALLS.append(scenario.name)
            raise RuntimeError("the HTTP stack fell over")

        def pytest_configure(config):
            items.run_scenario = boom

        def pytest_unconfigure(config):
            items.run_scenario = ORIGINAL  # in-process run: leave the module as found
            pathlib.Path("calls.txt").write_text(f"{len(CALLS)} {len(set(CALLS))}")
        """
    )
    result = pytester.runpytest("--endpoint", "http://127.0.0.1:9/v1", "--variants", "0", "--sse-json", "c.json", "-p", "no:cacheprovider", "-s")
    assert result.ret == 1
    assert (pytester.path / "calls.txt").read_text() == "9 9"  # one capture per scenario
    assert "INTERNALERROR" not in result.stdout.str()
    doc = json.loads((pytester.path / "c.json").read_text())
    assert doc["ok"] is False and len(doc["exchanges"]) == 9
    for ex in doc["exchanges"]:  # capture.complete (run.endpoint-usable for the plain request)
        messages = [f["message"] for r in ex["rules"].values() if r["status"] == "fail" for f in r["findings"]]
        assert any("could not capture this scenario (RuntimeError: the HTTP stack fell over)" in m for m in messages), ex["id"]


class _Config:
    def getoption(self, name: str) -> Any:
        return None


def test_compliance_is_ok_only_when_something_was_judged_and_nothing_failed() -> None:
    c = ComplianceCollector(_Config(), None, {}, active=True)  # type: ignore[arg-type]
    assert c.document()["ok"] is False  # nothing judged: not green
    payload = {"exchange": "live/text", "rule": "sse.done", "status": "n/a", "severity": "error", "reason": "r", "total": 0,
               "title": "t", "section": "3", "source": "s", "findings": []}
    report = type("R", (), {"sse": payload, "failed": False, "nodeid": "live/text::sse.done"})()
    c.pytest_runtest_logreport(report)  # type: ignore[arg-type]
    assert c.document()["ok"] is False  # only "not applicable": nothing was judged
    report.sse = {**payload, "status": "pass"}  # type: ignore[attr-defined]
    c.pytest_runtest_logreport(report)  # type: ignore[arg-type]
    assert c.document()["ok"] is True
    crashed = type("R", (), {"sse": None, "failed": True, "nodeid": "live/text::sse.utf8"})()
    c.pytest_runtest_logreport(crashed)  # type: ignore[arg-type]
    assert c.document()["ok"] is False  # an item that failed without a result is never green


def test_a_bad_sidecar_is_a_usage_error_for_that_file_only(tmp_path: Path) -> None:
    good = b"".join(sse(chunk("", role=True), chunk("hi"), chunk(None, finish="stop", usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2})))
    for name, sidecar in [("a-profile", {"profile": 42}), ("b-headers", {"headers": {"content-type": ["x"]}}), ("c-unknown", {"profile": "nope"}),
                          ("d-timing", {"timing": [[0, "soon"]]}), ("e-scenario", {"scenario": {"x": 1}}), ("f-deep", None)]:
        (tmp_path / f"{name}.sse").write_bytes(good)
        side = tmp_path / f"{name}.json"
        side.write_text("[" * DEEP + "]" * DEEP if sidecar is None else json.dumps(sidecar))
    (tmp_path / "z-good.sse").write_bytes(good)
    proc = run_cli("validate", str(tmp_path), key=None, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("sse-conformance: ") == 6
    assert "'profile' must be a profile name" in proc.stderr and "z-good.sse: ok" in proc.stdout
    # the same sidecar under pytest: the recording's items fail with the message, no traceback
    plugin = run_cli("validate", str(tmp_path / "a-profile.sse"), "--reports", str(tmp_path / "r"), key=None, cwd=tmp_path)
    assert plugin.returncode == 2 and "Traceback" not in plugin.stderr + plugin.stdout

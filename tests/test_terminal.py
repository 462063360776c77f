"""The terminal summary (conformance/terminal.py): a pure function of the compliance document."""

from __future__ import annotations

from typing import Any

from conformance.terminal import summary_lines


def rule(status: str, message: str | None = None, total: int | None = None, reason: str | None = None, severity: str = "error") -> dict[str, Any]:
    findings = [{"message": message}] if message else []
    return {"status": status, "severity": severity, "reason": reason, "total": total if total is not None else len(findings),
            "title": "t", "section": "1", "source": "s", "findings": findings}


def exchange(name: str, status: int | None = 200, **rules: dict[str, Any]) -> dict[str, Any]:
    return {"id": name, "kind": "live", "status": status, "problem": None, "rules": {k.replace("_", "."): v for k, v in rules.items()}}


def doc(*exchanges: dict[str, Any], variants: dict[str, Any] | None = None) -> dict[str, Any]:
    counts = {"pass": 0, "fail": 0, "warn": 0, "n/a": 0, "skipped": 0}
    for e in exchanges:
        for r in e["rules"].values():
            counts[r["status"]] += 1
    return {"endpoint": "http://127.0.0.1:1/v1/chat/completions", "model": "m", "profile": "sansa", "ok": counts["fail"] == 0,
            "counts": counts, "variants": variants, "exchanges": list(exchanges)}


def test_a_failing_run_names_its_failures_warnings_and_reports() -> None:
    lines = summary_lines(
        doc(
            exchange("live/text", chunk_role=rule("fail", "A later delta repeats role.\nExpected: ...\nReceived: ..."), sse_done=rule("pass")),
            exchange("live/length", chunk_role=rule("fail", "A later delta repeats role.\nExpected: x", total=3),
                     scenario_exercised=rule("warn", "finish_reason was stop, not length", severity="warning")),
            exchange("live/bad-key", 401, sse_done=rule("n/a", reason="status 401")),
        ),
        ["reports/report.html", "reports/compliance.json"],
    )
    text = "\n".join(lines)
    assert lines[0].startswith("sse-conformance: FAIL: 2 rule failures, 1 warning (endpoint http://127.0.0.1:1/v1/chat/completions, model m, profile sansa)")
    assert any(line.split()[:3] == ["live/text", "FAIL", "status"] and "pass  1  fail  1  warn  0  n/a  0" in line for line in lines)
    assert any(line.split()[:2] == ["live/bad-key", "ok"] and "status 401" in line and "n/a  1" in line for line in lines)
    # the same failure on two scenarios is one line naming both; first line of the message only
    assert "  chunk.role (live/text, live/length) [4 findings]: A later delta repeats role." in lines
    assert "Expected" not in text
    assert "warnings:" in lines and "  scenario.exercised (live/length): finish_reason was stop, not length" in lines
    assert lines[-1] == "reports: reports/report.html, reports/compliance.json"
    assert lines.index("failures:") < lines.index("warnings:") < len(lines) - 1


def test_a_passing_run_says_pass_and_lists_no_failures() -> None:
    lines = summary_lines(doc(exchange("recs/good.sse", sse_done=rule("pass"))))
    assert lines[0].startswith("sse-conformance: PASS: 0 rule failures, 0 warnings")
    assert "failures:" not in lines and "warnings:" not in lines
    assert not any(line.startswith("reports:") for line in lines)  # nothing written, nothing named


def test_long_lists_are_capped_with_how_many_more() -> None:
    many = {f"rule_{i}": rule("fail", f"message {i}") for i in range(12)}
    lines = summary_lines(doc(exchange("live/text", **many)), ["r/report.html"], limit=5)
    listed = [line for line in lines if line.startswith("  rule.")]
    assert len(listed) == 5
    assert "  ... 7 more (see r/report.html)" in lines


def test_a_message_is_cut_to_one_short_line() -> None:
    lines = summary_lines(doc(exchange("live/text", sse_done=rule("fail", "x" * 5000 + "\nsecond line"))))
    line = next(line for line in lines if line.startswith("  sse.done"))
    assert len(line) <= 200 and line.endswith("...") and "second" not in line


def test_a_skipped_scenario_says_why() -> None:
    reason = "scenario reasoning skipped: skipped on the command line"
    lines = summary_lines(doc(exchange("live/text", sse_done=rule("pass")),
                              exchange("live/reasoning", None, sse_done=rule("skipped", reason=reason), chunk_role=rule("skipped", reason=reason))))
    assert any(line.split()[0] == "live/reasoning" and line.endswith("skipped: skipped on the command line") for line in lines)


def test_variants_show_known_failures_and_the_new_one() -> None:
    variants = {"variants": 25, "seed": 0, "budget": 104, "sent": 40, "generated": 9, "shrinks": 31, "ok": False, "flaky": False,
                "notes": ["3 of 9 variants broke only rules the fixed scenarios already fail: ...", "the request budget of 104 was reached"],
                "known_failures": 3, "known_rules": {"chunk.role-only-first": 3}, "new_rules": ["request.variant-accepted"],
                "reproduce": "curl -N http://127.0.0.1:1/v1/chat/completions -d '{}'"}
    refused = exchange("live/variants", 500)
    refused["rules"]["request.variant-accepted"] = rule("fail", "A request valid against schemas/request.json was refused.")
    refused["request"] = {"model": "m", "stream": True, "messages": [{"role": "user", "content": '"'}]}
    lines = summary_lines(doc(exchange("live/text", chunk_role=rule("fail", "repeats role")), refused, variants=variants))
    line = next(line for line in lines if line.startswith("  live/variants"))
    assert "FAIL" in line and "9 of 25 generated (seed 0)" in line
    assert "3 broke only rules the fixed scenarios fail (chunk.role-only-first)" in line and "new: request.variant-accepted" in line
    assert sum(1 for line in lines if line.startswith("  live/variants")) == 1  # not also as an exchange line
    assert any("note: the request budget of 104 was reached" in line for line in lines)
    assert not any("note: 3 of 9" in line for line in lines)  # said on the line itself
    assert "  request.variant-accepted (live/variants): A request valid against schemas/request.json was refused." in lines
    assert 'smallest failing variant: {"model": "m", "stream": true, "messages": [{"role": "user", "content": "\\""}]}' in lines
    assert "reproduce: curl -N http://127.0.0.1:1/v1/chat/completions -d '{}'" in lines


def test_nothing_judged_is_said_plainly() -> None:
    assert summary_lines(doc())[0].startswith("sse-conformance: nothing was judged")


def test_an_error_outside_the_rules_is_not_a_pass() -> None:
    lines = summary_lines(doc(exchange("live/text", sse_done=rule("pass"))), errors=[("live/text::sse.done", "KeyError: 'choices'")])
    assert lines[0].startswith("sse-conformance: FAIL: 0 rule failures, 0 warnings, 1 error outside the rules")
    assert "  live/text::sse.done: KeyError: 'choices'" in lines


def test_a_models_variants_exchange_is_not_shown_as_a_scenario() -> None:
    # several models: ids are live/<model>/<scenario>, the variants' one live/<model>/variants
    refused = exchange("live/m/variants", 500)
    refused["rules"]["request.variant-accepted"] = rule("fail", "A request valid against schemas/request.json was refused.")
    refused["request"] = {"model": "m", "stream": True, "messages": [{"role": "user", "content": '"'}]}
    variants = {"variants": 2, "seed": 0, "budget": 12, "sent": 3, "generated": 1, "shrinks": 1, "ok": False, "flaky": False, "notes": []}
    lines = summary_lines(doc(exchange("live/m/text", sse_done=rule("pass")), refused, variants=variants))
    assert not any(line.startswith("  live/m/variants") for line in lines)  # the variants line speaks for it
    assert 'smallest failing variant: {"model": "m", "stream": true, "messages": [{"role": "user", "content": "\\""}]}' in lines

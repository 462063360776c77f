"""Plain-data payloads for reports, built where the exchange is at hand (the test item).

They must be JSON-serialisable: pytest-xdist carries them from the workers to the
controller on the test reports.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..exchange import Exchange
from ..findings import ERROR, FAIL, Finding, RuleResult, Verdict
from ..formatting import excerpt_around
from ..rules import get_rule

SKIPPED = "skipped"  # a report status beside the judge's four: the rule never ran on this exchange

__all__ = ["MAX_ARRIVALS", "MAX_CHOICES", "MAX_TEXT", "cap_text", "exchange_payload", "failed_payload", "result_payload", "skipped_payload"]

# The reports grow with the findings, never with the body: an endpoint that answers with
# 16 MB or 100,000 choices gets the first of them shown and the cut said in words.
MAX_TEXT = 4000  # characters of one assembled string (content, reasoning, arguments), of a finding or a request value
MAX_CHOICES = 20  # assembled choices shown per exchange
MAX_LIST = 50  # items of any list in the request echo
MAX_ARRIVALS = 2000  # event arrival times kept for the timeline (evenly thinned beyond)


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < 1000 else f"{n / 1000:.1f} KB" if n < 1_000_000 else f"{n / 1_000_000:.1f} MB"


def cap_text(text: str, limit: int = MAX_TEXT) -> str:
    """The first ``limit`` characters, and how much was left out: "[... 11.9 MB more]"."""
    if len(text) <= limit:
        return text
    rest = text[limit:]
    return text[:limit] + f" [... {_size(len(rest.encode('utf-8', 'replace')))} more]"


def _capped(value: Any) -> Any:
    """A JSON value with long strings and long lists cut, saying so."""
    if isinstance(value, str):
        return cap_text(value)
    if isinstance(value, dict):
        return {k: _capped(v) for k, v in value.items()}
    if isinstance(value, list):
        head = [_capped(v) for v in value[:MAX_LIST]]
        return head + ([f"[... {len(value) - MAX_LIST:,} more items]"] if len(value) > MAX_LIST else [])
    return value


def _thinned(times: list[float]) -> list[float]:
    """At most MAX_ARRIVALS times, evenly spread over the stream, first and last kept."""
    n = len(times)
    if n <= MAX_ARRIVALS:
        return list(times)
    step = (n - 1) / (MAX_ARRIVALS - 1)
    return [times[round(i * step)] for i in range(MAX_ARRIVALS)]


def _payload(exchange_id: str, rule_id: str, status: str, severity: str, reason: str | None, total: int, findings: list[dict[str, Any]]) -> dict[str, Any]:
    """The one shape of a rule's result in every report (compliance.json's rules, the page)."""
    rule = get_rule(rule_id)
    return {
        "exchange": exchange_id,
        "rule": rule_id,
        "status": status,
        "severity": severity,
        "reason": reason,
        "total": total,
        "title": rule.title,
        "section": rule.section,
        "source": rule.source,
        "findings": findings,
    }


def _finding(body: bytes, f: Finding) -> dict[str, Any]:
    return {**f.to_json(), "message": cap_text(f.message), "excerpt": excerpt_around(body, f)}


def result_payload(exchange_id: str, exchange: Exchange, result: RuleResult) -> dict[str, Any]:
    """One rule's result on one exchange; ``exchange`` (the copy that may be written) gives
    the excerpts around each finding."""
    return _payload(exchange_id, result.rule, result.status, result.severity, result.reason, result.total,
                    [_finding(exchange.body, f) for f in result.findings])


def failed_payload(exchange_id: str, rule: str, message: str) -> dict[str, Any]:
    """A rule that could not judge because the suite could not get the exchange (an unreadable
    recording, a crashed exploration): a failure at error level with the reason as its one
    finding, never a pass by absence."""
    return _payload(exchange_id, rule, FAIL, ERROR, None, 1, [_finding(b"", Finding(rule, ERROR, message))])


def skipped_payload(exchange_id: str, rule: str, reason: str) -> dict[str, Any]:
    """A rule on an exchange that was not captured (a scenario the endpoint does not support)
    or that validate did not judge (--select/--ignore): "skipped", a report status beside the
    judge's four."""
    return _payload(exchange_id, rule, SKIPPED, get_rule(rule).severity, reason, 0, [])


def exchange_payload(exchange_id: str, kind: str, exchange: Exchange, verdict: Verdict, context: dict[str, Any]) -> dict[str, Any]:
    """Once per exchange: what was asked, what came back, what a client ends up with."""
    choices = sorted(verdict.message.items())
    return {
        "id": exchange_id,
        "kind": kind,  # live | recording
        "profile": verdict.profile,
        "dialect": verdict.dialect,
        "ok": verdict.ok,
        "request": _capped(exchange.request),
        "status": exchange.status,
        "content_type": exchange.header("content-type"),
        "problem": cap_text(exchange.problem) if exchange.problem else exchange.problem,
        "bytes": len(exchange.body),
        "message": [_capped(m.to_json()) for _, m in choices[:MAX_CHOICES]],
        "message_total": len(choices),  # choices assembled; the first MAX_CHOICES are shown
        "timing": verdict.timing,
        "arrivals": _thinned(verdict.arrivals),
        "arrivals_total": len(verdict.arrivals),
        "suite_version": __version__,
        **context,
    }

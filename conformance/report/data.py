"""Plain-data payloads for reports, built where the exchange is at hand (the test item).

They must be JSON-serialisable: pytest-xdist carries them from the workers to the
controller on the test reports.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..exchange import Exchange
from ..findings import Finding, RuleResult, Verdict
from ..rules import get_rule

__all__ = ["MAX_ARRIVALS", "MAX_CHOICES", "MAX_TEXT", "cap_text", "excerpt_around", "exchange_payload", "result_payload"]

CONTEXT = 240  # bytes of stream shown before and after the offending event
HIT = 600  # bytes of the offending event shown at most
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


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def excerpt_around(body: bytes, finding: Finding) -> dict[str, str] | None:
    """The raw stream around the offending bytes: {before, hit, after}, as text, unescaped."""
    if finding.offset is None:
        return None
    start = finding.offset
    end = finding.end if finding.end is not None and finding.end > start else min(len(body), start + 80)
    cut = end - start > HIT
    hit_end = start + HIT if cut else end
    return {
        "before": _text(body[max(0, start - CONTEXT) : start]),
        "hit": _text(body[start:hit_end]) + (" [...]" if cut else ""),
        "after": _text(body[end : end + CONTEXT]),
    }


def result_payload(exchange_id: str, exchange: Exchange, result: RuleResult) -> dict[str, Any]:
    rule = get_rule(result.rule)
    return {
        "exchange": exchange_id,
        "rule": result.rule,
        "status": result.status,
        "severity": result.severity,
        "reason": result.reason,
        "total": result.total,
        "title": rule.title,
        "section": rule.section,
        "source": rule.source,
        "findings": [{**f.to_json(), "message": cap_text(f.message), "excerpt": excerpt_around(exchange.body, f)} for f in result.findings],
    }


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

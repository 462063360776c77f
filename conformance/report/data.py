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

__all__ = ["excerpt_around", "exchange_payload", "result_payload"]

CONTEXT = 240  # bytes of stream shown before and after the offending event
HIT = 600  # bytes of the offending event shown at most


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
        "findings": [{**f.to_json(), "excerpt": excerpt_around(exchange.body, f)} for f in result.findings],
    }


def exchange_payload(exchange_id: str, kind: str, exchange: Exchange, verdict: Verdict, context: dict[str, Any]) -> dict[str, Any]:
    """Once per exchange: what was asked, what came back, what a client ends up with."""
    return {
        "id": exchange_id,
        "kind": kind,  # live | recording
        "profile": verdict.profile,
        "dialect": verdict.dialect,
        "ok": verdict.ok,
        "request": exchange.request,
        "status": exchange.status,
        "content_type": exchange.header("content-type"),
        "problem": exchange.problem,
        "bytes": len(exchange.body),
        "message": [m.to_json() for _, m in sorted(verdict.message.items())],
        "timing": verdict.timing,
        "arrivals": verdict.arrivals,
        "suite_version": __version__,
        **context,
    }

"""The terminal summary a person reads at the end of a run: lines from the collected results.

A pure function of the compliance document (``ComplianceCollector.document()``, the same data
compliance.json holds) and the report files the run wrote, so that it is tested without
pytest and reads the same for a live run and for recordings. The plugin prints it from
``pytest_terminal_summary``; ``sse-conformance run`` quiets pytest's own output so that this
summary and a progress line are all a user sees unless they pass ``-v``.

Shape::

    sse-conformance: FAIL: 3 rule failures, 1 warning (endpoint ..., model ..., profile sansa)
      live/text            FAIL  status 200  pass 21  fail 1  warn 0  n/a 13
      live/reasoning       skipped: skipped on the command line
      live/variants        ok    25 generated (seed 0), 3 broke only rules failed above
    failures:
      chunk.role-only-first (live/text, live/length): A later delta of choice 0 repeats ...
      ... 2 more (see report.html)
    warnings:
      scenario.exercised (live/length): ...
    reports: reports/report.html, reports/compliance.json
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["LIMIT", "summary_lines"]

LIMIT = 8  # failures (and warnings) listed before "... N more": the rest is in the reports
WIDTH = 160  # longest line printed; endpoint text beyond it is cut (a person reads this)


def _cut(text: str, width: int = WIDTH) -> str:
    """The first line of ``text``, cut to ``width`` characters."""
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= width else first[: width - 3] + "..."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _skip_reason(exchange: Mapping[str, Any], rules: Mapping[str, Any]) -> str | None:
    """The reason a whole exchange was skipped (every one of its rules), or None."""
    if not rules or any(r.get("status") != "skipped" for r in rules.values()):
        return None
    reason = str(next(iter(rules.values())).get("reason") or "skipped")
    return re.sub(r"^scenario \S+ skipped: ", "", reason)


def _exchange_line(exchange: Mapping[str, Any], width: int) -> str:
    rules: Mapping[str, Any] = exchange.get("rules", {})
    name = str(exchange.get("id"))
    reason = _skip_reason(exchange, rules)
    if reason is not None:
        return f"  {name:<{width}}  skipped: {_cut(reason)}"
    counts = {"pass": 0, "fail": 0, "warn": 0, "n/a": 0, "skipped": 0}
    for r in rules.values():
        counts[r.get("status", "n/a")] = counts.get(r.get("status", "n/a"), 0) + 1
    state = "FAIL" if counts["fail"] else "warn" if counts["warn"] else "ok"
    status = exchange.get("status")
    where = f"status {status}" if status is not None else "no status" if exchange.get("kind") == "live" else ""
    cells = "  ".join(f"{k} {counts[k]:>2}" for k in ("pass", "fail", "warn", "n/a"))
    if counts["skipped"]:
        cells += f"  skipped {counts['skipped']}"
    problem = f"  ({_cut(str(exchange['problem']), 80)})" if exchange.get("problem") else ""
    return f"  {name:<{width}}  {state:<4}  {where:<10}  {cells}{problem}".rstrip()


def _variants_lines(v: Mapping[str, Any], width: int) -> list[str]:
    state = "ok" if v.get("ok") else "FAIL"
    text = f"{v.get('generated', 0)} of {v.get('variants', 0)} generated (seed {v.get('seed')}), {v.get('sent', 0)} requests (budget {v.get('budget')})"
    known = int(v.get("known_failures") or 0)
    if known:
        text += f"; {known} broke only rules the fixed scenarios fail ({', '.join(v.get('known_rules') or {})})"
    new = v.get("new_rules") or []
    if new:
        text += f"; new: {', '.join(new)}"
    elif not v.get("ok"):
        text += "; one broke a rule"
    if v.get("flaky"):
        text += "; flaky"
    lines = [f"  {'live/variants':<{width}}  {state:<4}  {text}"]
    # the known-failures note repeats the line above; the others (budget, xdist) are news
    lines += [f"  {'':<{width}}  note: {_cut(str(n))}" for n in v.get("notes") or [] if "fixed scenarios already fail" not in str(n)]
    return lines


def _grouped(exchanges: Sequence[Mapping[str, Any]], status: str) -> list[tuple[str, list[str], str, int]]:
    """(rule, exchange ids, first line of the first finding, findings) per rule and message:
    the same failure on five scenarios is one line that names the five."""
    groups: dict[tuple[str, str], tuple[list[str], int]] = {}
    for exchange in exchanges:
        for rule, res in exchange.get("rules", {}).items():
            if res.get("status") != status:
                continue
            findings = res.get("findings") or []
            message = _cut(str(findings[0].get("message") or "")) if findings else ""
            message = message or str(res.get("reason") or res.get("title") or "")
            label = rule + (f" [{res['baseline']}]" if res.get("baseline") else "")  # new | known, against a baseline
            ids, total = groups.setdefault((label, message), ([], 0))
            ids.append(str(exchange.get("id")))
            groups[(label, message)] = (ids, total + int(res.get("total") or len(findings) or 1))
    return [(rule, ids, message, total) for (rule, message), (ids, total) in groups.items()]


def _listing(title: str, groups: list[tuple[str, list[str], str, int]], limit: int, where: str) -> list[str]:
    if not groups:
        return []
    lines = [f"{title}:"]
    for rule, ids, message, total in groups[:limit]:
        names = ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
        extra = f" [{total} findings]" if total > len(ids) else ""
        lines.append(_cut(f"  {rule} ({names}){extra}: {message}", WIDTH + 40))
    if len(groups) > limit:
        lines.append(f"  ... {len(groups) - limit} more{where}")
    return lines


def _is_variants(exchange_id: Any) -> bool:
    """The variants' exchange: live/variants, or live/<model>/variants when a run has several models."""
    return isinstance(exchange_id, str) and exchange_id.startswith("live/") and exchange_id.endswith("/variants")


def _reproduce(doc: Mapping[str, Any]) -> list[str]:
    """The variants' minimal failing request and its curl, when a variant found a new failure."""
    v = doc.get("variants") or {}
    exchange = next((e for e in doc.get("exchanges", []) if _is_variants(e.get("id"))), None)
    if v.get("ok", True) or exchange is None or exchange.get("request") is None:
        return []
    lines = ["smallest failing variant: " + json.dumps(exchange["request"], ensure_ascii=True)]
    if v.get("reproduce"):
        lines.append(f"reproduce: {v['reproduce']}")
    return lines


def summary_lines(
    doc: Mapping[str, Any], reports: Sequence[str] = (), *, errors: Sequence[tuple[str, str]] = (), limit: int = LIMIT
) -> list[str]:
    """The summary of one run: verdict, one line per exchange, failures, warnings, reports.

    ``doc`` is the compliance document; ``reports`` the report files actually written (as
    they should be shown); ``errors`` the tests that failed without a rule result (test id,
    message): a crash or an error of the suite itself, which must not hide behind a PASS.
    The first line is the verdict."""
    exchanges = [e for e in doc.get("exchanges", []) if not _is_variants(e.get("id")) or e.get("rules")]
    counts = doc.get("counts") or {}
    failures = _grouped(exchanges, "fail")
    warnings = _grouped(exchanges, "warn")
    about = ", ".join(f"{k} {doc[k]}" for k in ("endpoint", "model", "profile") if doc.get(k))
    if not exchanges and not doc.get("variants") and not errors:
        verdict = "nothing was judged (no recording or scenario ran)"
    else:
        judged = "PASS" if doc.get("ok", not counts.get("fail")) and not errors else "FAIL"
        verdict = f"{judged}: {_plural(int(counts.get('fail', 0)), 'rule failure')}, {_plural(int(counts.get('warn', 0)), 'warning')}"
        base = doc.get("baseline")
        if isinstance(base, Mapping):  # gating on no new failure: the exit code follows the new ones
            judged = "PASS" if base.get("ok") and not errors else "FAIL"
            verdict = (f"{judged} against the baseline: {_plural(len(base.get('new') or []), 'new failure')} "
                       f"({len(base.get('known') or [])} known, {len(base.get('fixed') or [])} fixed), "
                       f"{_plural(int(counts.get('warn', 0)), 'warning')}")
    if errors:
        verdict += f", {_plural(len(errors), 'error')} outside the rules"
    lines = [f"sse-conformance: {verdict}" + (f" ({about})" if about else "")]
    shown = [e for e in exchanges if not _is_variants(e.get("id"))]
    width = max([len(str(e.get("id"))) for e in shown] + [len("live/variants") if doc.get("variants") else 0])
    lines += [_exchange_line(e, width) for e in shown]
    if doc.get("variants"):
        lines += _variants_lines(doc["variants"], width)
    where = f" (see {reports[0]})" if reports else ""
    lines += _listing("failures", failures, limit, where)
    lines += _reproduce(doc)
    lines += _listing("warnings", warnings, limit, where)
    if errors:
        lines.append("errors (not findings: the suite itself failed; -v shows the traceback):")
        lines += [_cut(f"  {test}: {message}", WIDTH + 40) for test, message in errors[:limit]]
        if len(errors) > limit:
            lines.append(f"  ... {len(errors) - limit} more")
    if reports:
        lines.append("reports: " + ", ".join(reports))
    return lines

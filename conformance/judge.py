"""Runs the applicable rules over one captured exchange and returns the verdict.

The judge is where rules meet their metadata: it picks the rules for the profile and the
user's selection, decides applicability (scope, then the rule's own ``applies``), stamps
each bare violation into a Finding, caps runaway findings, and turns a crash inside a rule
into a finding too, so that hostile input never ends a run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import UsageError
from .exchange import Exchange
from .findings import ERROR, FAIL, NA, PASS, WARN, WARNING, Finding, RuleResult, Severity, Verdict, Violation
from .profiles import Profile, get_profile
from .rules import ANY, PRESTREAM, STREAM, Rule, all_rules
from .stream import Stream, decode
from .timing import arrivals, summarize

__all__ = ["MAX_FINDINGS", "judge", "judge_stream", "run_under_profile", "select_rules", "undecodable"]

# Findings kept per rule and exchange: a 10,000-chunk stream that breaks a rule on every
# chunk needs the first few examples and a count, not 10,000 lines.
MAX_FINDINGS = 20


def _matches(rule_id: str, patterns: Iterable[str]) -> bool:
    """An exact id, or a group: ``tools`` and ``tools.`` select every tools.* rule."""
    return any(rule_id == p or rule_id.startswith(p.rstrip(".") + ".") for p in patterns)


def select_rules(select: Sequence[str] | None = None, ignore: Sequence[str] | None = None) -> list[Rule]:
    """The catalogue filtered by ``--select``/``--ignore``; unknown ids are a usage error."""
    rules = all_rules()
    known = {r.id for r in rules} | {r.group for r in rules}
    for pattern in [*(select or ()), *(ignore or ())]:
        if pattern.rstrip(".") not in known:
            raise UsageError(f"unknown rule id {pattern!r} (see `sse-conformance rules`)")
    if select:
        rules = [r for r in rules if _matches(r.id, select)]
    if ignore:
        rules = [r for r in rules if not _matches(r.id, ignore)]
    return rules


def _severity(rule: Rule, v: Violation) -> Severity:
    """The severity a violation carries: its own where the rule declares a conditional one."""
    if v.severity is None or v.severity == rule.severity:
        return rule.severity
    if rule.severity_note is None or v.severity not in (ERROR, WARNING):
        raise ValueError(f"{rule.id} yielded severity {v.severity!r} but declares no conditional severity")
    return v.severity


def _finding(rule: Rule, v: Violation) -> Finding:
    ev = v.event
    severity = _severity(rule, v)
    if ev is not None:
        return Finding(rule.id, severity, v.message, ev.index, ev.offset, ev.end, v.path, v.reason)
    return Finding(rule.id, severity, v.message, None, v.offset, None, v.path, v.reason)


def _scope_reason(rule: Rule, exchange: Exchange) -> str | None:
    if exchange.problem and exchange.headers is None and not exchange.body and not rule.without_response:
        return "no response was received (see capture.complete)"
    if rule.scope == STREAM and not exchange.is_stream:
        return f"status {exchange.status}: a non-2xx answer is judged by sections 1-2 alone"
    if rule.scope == PRESTREAM and exchange.is_stream:
        return "the answer is a 2xx stream, not a pre-stream error"
    assert rule.scope in (STREAM, PRESTREAM, ANY)
    return None


def run_rule(rule: Rule, stream: Stream) -> RuleResult:
    reason = _scope_reason(rule, stream.exchange)
    try:
        if reason is None and rule.applies is not None:
            reason = rule.applies(stream)
        if reason is not None:
            return RuleResult(rule.id, rule.severity, NA, reason=reason)
        findings: list[Finding] = []
        total = 0
        error = False  # an error-level finding, even one past the cap, fails the rule
        for violation in rule.check(stream):
            total += 1
            finding = _finding(rule, violation)
            error = error or finding.severity == ERROR
            if total <= MAX_FINDINGS:
                findings.append(finding)
    except Exception as exc:  # a rule must never end the run: hostile input becomes a finding
        message = f"The suite could not judge this rule ({type(exc).__name__}: {exc}); treat the stream as suspect."
        return RuleResult(rule.id, ERROR, FAIL, [Finding(rule.id, ERROR, message)], 1)
    if not findings:
        return RuleResult(rule.id, rule.severity, PASS)
    if error:
        return RuleResult(rule.id, ERROR, FAIL, findings, total)
    return RuleResult(rule.id, WARNING, WARN, findings, total)


def run_under_profile(rule: Rule, stream: Stream) -> RuleResult:
    """The dialect's step, after the rule's own: a rule it switches off is not run (n/a with
    its reason); a rule it demotes fails as a warning; findings on known quirks name them."""
    off = stream.profile.switched_off(rule.id)
    if off is not None:
        return RuleResult(rule.id, rule.severity, NA, reason=off)
    return stream.profile.adjust(run_rule(rule, stream), stream.events)


def judge_stream(stream: Stream, rules: Sequence[Rule] | None = None) -> Verdict:
    rules = all_rules() if rules is None else rules
    name = stream.profile.name
    results = [run_under_profile(r, stream) for r in rules if stream.profile.covers(r.profiles)]
    try:
        message = stream.message
        timing = summarize(stream)
        times = arrivals(stream) if timing is not None else []
    except Exception:  # best effort, for reports; the rules have judged already
        message, timing, times = {}, None, []
    return Verdict(stream.exchange.source, name, results, message, timing, times, stream.profile.summary())


def _folder(source: str | None) -> str | None:
    if not source:
        return None
    parent = Path(source).parent
    return str(parent) if parent.is_dir() else None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Judging a large body builds hundreds of thousands of small objects (events, items,
    visits) that form no cycles; CPython's cyclic collector would walk all of them again and
    again while they are built: two thirds of the time of judging a 16 MiB body of tiny chunks
    (benchmarks/hostile_bounds.py). It runs again once the verdict is out."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def judge(
    exchange: Exchange,
    profile: str | Profile | None = None,
    rules: Sequence[Rule] | None = None,
    clients: Mapping[str, Any] | None = None,
) -> Verdict:
    """Judge one exchange. ``profile`` overrides the recording's own (default: sansa); a
    recording's own .toml path is read relative to the recording.

    Never raises on what the endpoint sent: if decoding itself fails (a payload nested deeper
    than any decoder goes, a bug of ours), the verdict says so as a ``capture.complete``
    failure, and every other rule is not applicable for that reason.
    """
    if isinstance(profile, Profile):
        prof = profile
    elif profile:
        prof = get_profile(profile)
    else:
        prof = get_profile(exchange.profile, _folder(exchange.source))
    try:
        stream = decode(exchange, prof)
        if clients:
            stream.clients = dict(clients)
        with _collector_paused():
            return judge_stream(stream, rules)
    except Exception as exc:
        return undecodable(exchange, prof, rules, exc)


def undecodable(exchange: Exchange, profile: Profile, rules: Sequence[Rule] | None, exc: BaseException) -> Verdict:
    """The verdict on an exchange the suite could not even decode: a failure, never a pass."""
    message = f"The suite could not judge this exchange ({type(exc).__name__}: {str(exc)[:300]}); treat the stream as suspect."
    reason = "the exchange could not be decoded (see capture.complete)"
    results = []
    for rule in all_rules() if rules is None else rules:
        if not profile.covers(rule.profiles):
            continue
        if rule.id == "capture.complete":
            results.append(RuleResult(rule.id, ERROR, FAIL, [Finding(rule.id, ERROR, message)], 1))
        else:
            results.append(RuleResult(rule.id, rule.severity, NA, reason=reason))
    if not any(r.rule == "capture.complete" for r in results):  # --ignore capture.complete: still a failure
        results.append(RuleResult("capture.complete", ERROR, FAIL, [Finding("capture.complete", ERROR, message)], 1))
    return Verdict(exchange.source, profile.name, results)

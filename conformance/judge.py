"""Runs the applicable rules over one captured exchange and returns the verdict.

The judge is where rules meet their metadata: it picks the rules for the profile and the
user's selection, drives the one pass over the body (engine.Pass: the fold rules are fed as
the body is read, in blocks), decides applicability at the end (scope, then the rule's own
``applies`` over ``End``), stamps each bare violation into a Finding, caps runaway
findings, and turns a crash inside a rule into a finding too, so that hostile input never
ends a run. Nothing here holds the body or a list of its events: what rules remember is
bounded by what they need (rules/fold.py).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .engine import Pass
from .errors import UsageError
from .exchange import Exchange
from .findings import ERROR, FAIL, NA, PASS, WARN, WARNING, Finding, RuleResult, Severity, Verdict, Violation
from .profiles import Profile, get_profile
from .rules import ANY, PRESTREAM, STREAM, Rule, all_rules, catalogue
from .rules.fold import MAX_FINDINGS, Context, End, Findings, Fold
from .sse import Event

__all__ = ["MAX_FINDINGS", "finish_fold", "judge", "judge_exchange", "select_rules", "undecodable"]


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


def _scope_reason(rule: Rule, exchange: Exchange, size: int) -> str | None:
    if exchange.problem and exchange.headers is None and not size and not rule.without_response:
        return "no response was received (see capture.complete)"
    if rule.scope == STREAM and not exchange.is_stream:
        return f"status {exchange.status}: a non-2xx answer is judged by sections 1-2 alone"
    if rule.scope == PRESTREAM and exchange.is_stream:
        return "the answer is a 2xx stream, not a pre-stream error"
    assert rule.scope in (STREAM, PRESTREAM, ANY)
    return None


def _crashed(rule: Rule, exc: BaseException) -> RuleResult:
    """A rule must never end the run: hostile input that crashes one becomes a finding."""
    message = f"The suite could not judge this rule ({type(exc).__name__}: {exc}); treat the stream as suspect."
    return RuleResult(rule.id, ERROR, FAIL, [Finding(rule.id, ERROR, message)], 1)


def _collect(rule: Rule, violations: Iterable[Violation], cited: dict[int, Event]) -> RuleResult:
    """Stamp, cap and count a rule's violations; ``cited`` gets the events the kept ones name."""
    findings: list[Finding] = []
    total = 0
    error = False  # an error-level finding, even one past the cap, fails the rule
    for violation in violations:
        total += 1
        finding = _finding(rule, violation)
        error = error or finding.severity == ERROR
        if total <= MAX_FINDINGS:
            findings.append(finding)
            if violation.event is not None:
                cited[violation.event.index] = violation.event
    if isinstance(violations, Findings) and violations.dropped:
        total += violations.dropped
        error = error or violations.drops_error(rule.severity)
    if not findings:
        return RuleResult(rule.id, rule.severity, PASS)
    if error:
        return RuleResult(rule.id, ERROR, FAIL, findings, total)
    return RuleResult(rule.id, WARNING, WARN, findings, total)


def finish_fold(rule: Rule, fold: Fold | None, broken: BaseException | None, end: End, cited: dict[int, Event],
                reason: str | None = None, scoped: bool = False) -> RuleResult:
    """A fold rule at the end of the pass: applicable? then its violations (or its crash).
    ``scoped``: ``reason`` is the rule's scope reason already (judge_exchange computes it
    once per scope, not once per rule)."""
    if not scoped:
        reason = _scope_reason(rule, end.exchange, end.size)
    try:
        if reason is None and rule.applies is not None:
            reason = rule.applies(end)
        if reason is None and fold is not None and broken is None:
            reason = fold.applies(end)
        if reason is not None:
            return RuleResult(rule.id, rule.severity, NA, reason=reason)
        if broken is not None:
            raise broken
        assert fold is not None, f"{rule.id}: in scope at the end but not at the start"
        return _collect(rule, fold.finish(end), cited)
    except Exception as exc:
        return _crashed(rule, exc)


# (profile, rule selection) -> the rules the profile covers, each with its switch-off reason:
# computed once per selection, not once per exchange (validate judges thousands)
_PLANS: dict[tuple[int, int, int], tuple[Profile, Sequence[Rule], list[tuple[Rule, str | None]]]] = {}


def _plan(profile: Profile, rules: Sequence[Rule]) -> list[tuple[Rule, str | None]]:
    key = (id(profile), id(rules), len(rules))
    hit = _PLANS.get(key)
    if hit is not None and hit[0] is profile and hit[1] is rules:
        return hit[2]
    plan = [(r, profile.switched_off(r.id)) for r in rules if profile.covers(r.profiles)]
    if len(_PLANS) >= 64:
        _PLANS.clear()
    _PLANS[key] = (profile, rules, plan)  # holding both: their ids are not reused while cached
    return plan


def judge_exchange(
    exchange: Exchange,
    profile: Profile,
    rules: Sequence[Rule] | None = None,
    clients: Mapping[str, Any] | None = None,
    blocks: Iterable[bytes] | None = None,
) -> Verdict:
    """One pass over the body for every rule; then the dialect's step on each result, in
    catalogue order. ``blocks``: the body in the pieces to feed (default: the exchange's body
    in BLOCK-sized reads, from memory or disk); the verdict is the same however it is cut."""
    plan = _plan(profile, catalogue() if rules is None else rules)
    ctx = Context(exchange, profile, dict(clients or {}))
    is_stream = exchange.is_stream
    folds: list[Fold | None] = []  # in plan order
    early: dict[str, BaseException] = {}
    for r, off in plan:
        fold = None
        scope = r.scope  # worth a fold at the start: the scope a status decides is known before the first byte
        if off is None and (is_stream if scope == STREAM else not is_stream if scope == PRESTREAM else True):
            try:
                fold = r.fold(ctx)
            except Exception as exc:
                early[r.id] = exc
        folds.append(fold)
    run = Pass(exchange, profile, [f for f in folds if f is not None], clients)
    end = run.run(blocks)
    results: list[RuleResult] = []
    broken_in_run = run.broken
    scope_reasons: dict[tuple[str, bool], str | None] = {}  # (scope, without_response) -> _scope_reason
    for (r, off), fold in zip(plan, folds):
        if off is not None:
            results.append(RuleResult(r.id, r.severity, NA, reason=off))
            continue
        cited: dict[int, Event] = {}
        broken = early.get(r.id) if early else None
        if broken is None and fold is not None and broken_in_run:
            broken = broken_in_run.get(id(fold))
        key = (r.scope, r.without_response)
        if key in scope_reasons:
            reason = scope_reasons[key]
        else:
            reason = scope_reasons[key] = _scope_reason(r, exchange, end.size)
        result = finish_fold(r, fold, broken, end, cited, reason, True)
        results.append(profile.adjust(result, cited) if result.findings else result)
    try:
        delivery = run.delivery
        timing = times = None
        if delivery is not None and not delivery.broken:
            timing = delivery.summary(end.events, end.chunks)
            times = delivery.arrivals()
        message: dict[int, Any] = dict(end.message) if delivery is None or not delivery.broken else {}
    except Exception:  # best effort, for reports; the rules have judged already
        message, timing, times = {}, None, []
    return Verdict(exchange.source, profile.name, results, message, timing, times or [], profile.summary())


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
        # the recording's folder matters only to its own profile (a .toml path): no stat otherwise
        prof = get_profile(exchange.profile, _folder(exchange.source) if exchange.profile is not None else None)
    try:
        with _collector_paused():
            return judge_exchange(exchange, prof, rules, clients)
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

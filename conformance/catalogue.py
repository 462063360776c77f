"""One rule's documentation, as ``sse-conformance rules ID`` prints it: where the rule is
defined, and two examples taken from the project's own fixtures.

Why examples from the fixtures rather than prose: the fixtures are what the test suite
proves. The breaking example is a recording whose sidecar ``expect`` lists the rule
(``fixtures/violations/**``), shown with the finding the rule really writes and the bytes it
points at; the conformant one is the plainest recording under ``fixtures/conformant`` where
the rule applies and passes, shown at the same event. Docs made this way cannot drift from the checker.

The breaking example is found from the sidecars alone and judged with its one rule; the
conformant recordings are judged once per process (about 0.1 s for all of them, measured),
so no generated index is kept to drift. Where the fixtures are not
beside the code (an installed wheel), the examples say so.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .findings import FAIL, NA, PASS, WARN, Finding
from .judge import judge
from .recordings import load
from .rules import Rule
from .sse import Event, SSEParser

__all__ = ["FIXTURES", "Example", "breaking_example", "conformant_example", "defined_at", "details_json", "details_text"]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CLIENT_REPLAY = "a client rule is broken by replaying a stream through the client (tests/clients_streams.py; validate --clients), not by a recording alone"


def defined_at(check: object) -> tuple[str, int]:
    """The file (relative to the project root) and line of a rule's check: a function or a
    class (a fold), or an instance of one. The line is where its definition starts, the
    ``@rule(...)`` decorator included. A class built at run time (``type(name, bases, ...)``,
    one per client for the client rules) has no source of its own: its nearest base defined
    in the same module stands for it (the check they share)."""
    target: Any = inspect.unwrap(check) if inspect.isfunction(check) else check
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        target = type(target)
    candidates = [c for c in target.__mro__ if c.__module__ == target.__module__] if inspect.isclass(target) else [target]
    for candidate in candidates:
        try:
            _, line = inspect.getsourcelines(candidate)
        except (OSError, TypeError):
            continue
        return _relative(Path(inspect.getsourcefile(candidate) or inspect.getfile(candidate))), line
    module = sys.modules[target.__module__]
    return _relative(Path(inspect.getfile(module))), 1


def _relative(path: Path) -> str:
    path = path.resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


@dataclass(frozen=True, slots=True)
class Example:
    """A fixture shown for a rule, or why there is none (``fixture`` None, ``note`` says why)."""

    fixture: str | None
    note: str | None = None
    why: str | None = None  # the sidecar's own words
    status: str | None = None  # the rule's verdict on it
    finding: Finding | None = None  # breaking: the first finding
    event: int | None = None  # the event shown
    where: str | None = None
    excerpt: str | None = None
    # the rules that apply to the fixture: the conformant example is the recording most like
    # the breaking one by this set (not shown)
    applicable: frozenset[str] = frozenset()
    events: int = 0  # how many events the fixture has (not shown)

    def to_json(self) -> dict[str, Any]:
        return {
            "fixture": self.fixture,
            "note": self.note,
            "why": self.why,
            "status": self.status,
            "finding": None if self.finding is None else self.finding.to_json(),
            "event": self.event,
            "where": self.where,
            "excerpt": self.excerpt,
        }


def _sidecar(path: Path) -> dict[str, Any]:
    side = path.with_suffix(".json")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _lists(meta: dict[str, Any], rule_id: str) -> bool:
    expect = meta.get("expect")
    if not isinstance(expect, dict):
        return False
    return any(isinstance(ids, list) and rule_id in ids for ids in (expect.get("fail"), expect.get("warn")))


def _smallest_first(paths: list[Path]) -> list[Path]:
    return sorted(paths, key=lambda p: (p.stat().st_size, p.as_posix()))


def _shown(path: Path, fixtures: Path) -> str:
    try:
        return path.relative_to(fixtures.parent).as_posix()
    except ValueError:
        return str(path)


def breaking_example(rule: Rule, fixtures: Path = FIXTURES) -> Example:
    """The smallest recording whose sidecar says it breaks ``rule``, preferring the rule's own
    folder ``violations/<id>/``, with the first finding the rule writes on it."""
    from .formatting import escaped_excerpt as excerpt, location  # how every output shows a finding

    if rule.id.startswith("client."):
        return Example(None, CLIENT_REPLAY)
    root = fixtures / "violations"
    if not root.is_dir():
        return Example(None, f"no fixtures beside this installation ({_shown(root, fixtures)} is missing)")
    own = _smallest_first(list((root / rule.id).glob("*.sse")))
    others = _smallest_first([p for p in root.rglob("*.sse") if p.parent.name != rule.id])
    for path in own + others:
        meta = _sidecar(path)
        if not _lists(meta, rule.id):
            continue
        exchange = load(path)
        verdict = judge(exchange)
        applicable = frozenset(r.rule for r in verdict.results if r.status != NA)
        result = judge(exchange, rules=[rule]).result(rule.id)  # alone, as test_corpus proves it
        if result is None or not result.findings:
            status = "not judged under its profile" if result is None else f"{result.status}, no finding"
            return Example(_shown(path, fixtures), f"its sidecar lists the rule but the rule says: {status}", meta.get("why"))
        first = result.findings[0]
        return Example(
            _shown(path, fixtures), None, _text(meta.get("why")), result.status, first, first.event, location(first), excerpt(exchange.body, first),
            applicable, len(_events(exchange.body)),
        )
    return Example(None, f"no sidecar under {_shown(root, fixtures)} lists {rule.id} in its expect")


def _events(body: bytes) -> list[Event]:
    parser = SSEParser()
    return parser.feed(body) + parser.close()


def _counterpart(events: list[Event], like: Example | None) -> Event | None:
    """The event of a conformant body at the place of the breaking example's finding: the same
    index when the finding is in the first half of its stream, else the same distance from
    the end (a usage or [DONE] finding meets the conformant usage or [DONE])."""
    if not events:
        return None
    at = like.event if like is not None and like.event is not None else 0
    if like is not None and like.events and at >= like.events / 2:
        return events[max(0, len(events) - (like.events - at))]
    return events[min(at, len(events) - 1)]


def conformant_example(rule: Rule, like: Example | None = None, fixtures: Path = FIXTURES) -> Example:
    """The conformant recording where ``rule`` applies and passes that is most like the
    breaking example ``like`` (the same rules apply: a plain answer for chunk.role-first, a
    tool call for tools.*), shown at the event its finding points at, else at its first event.
    Ties, and a rule with no breaking example: the plainest (fewest rules apply), then the
    smallest, preferring recordings whose sidecar says what they show."""
    from .formatting import escaped_excerpt as excerpt, location

    if rule.id.startswith("client."):
        return Example(None, CLIENT_REPLAY)
    root = fixtures / "conformant"
    if not root.is_dir():
        return Example(None, f"no fixtures beside this installation ({_shown(root, fixtures)} is missing)")
    ranked = _conformant(root)
    if not ranked:
        return Example(None, f"no recording under {_shown(root, fixtures)}")
    seen: dict[str, int] = {}  # why it did not pass -> on how many fixtures
    def likeness(entry: tuple[Path, dict[str, tuple[str, str | None]]]) -> float:
        if like is None or not like.applicable:
            return 0.0
        applicable = {r for r, (status, _) in entry[1].items() if status != NA}
        return len(applicable & like.applicable) / len(applicable | like.applicable)

    for path, statuses in sorted(ranked, key=likeness, reverse=True):  # stable: the ranking breaks ties
        status, reason = statuses.get(rule.id, ("not judged under its profile", None))
        if status != PASS:
            why = reason or status if status == NA else status
            seen[why] = seen.get(why, 0) + 1
            continue
        exchange = load(path)
        ev = _counterpart(_events(exchange.body), like)
        if ev is None:  # a pre-stream answer: its body is the example
            mark = Finding(rule.id, rule.severity, "", None, 0, min(len(exchange.body), 160))
        else:
            path_ = like.finding.path if like is not None and like.finding is not None else None  # the excerpt moves to its key
            mark = Finding(rule.id, rule.severity, "", ev.index, ev.offset, ev.end, path_)
        return Example(
            _shown(path, fixtures), None, _text(_sidecar(path).get("why")), PASS, None, mark.event, location(mark), excerpt(exchange.body, mark)
        )
    common = max(seen, key=lambda k: seen[k])
    return Example(None, f"it passes on no conformant fixture (on {seen[common]} of {sum(seen.values())}: {common})")


@functools.cache
def _conformant(root: Path) -> list[tuple[Path, dict[str, tuple[str, str | None]]]]:
    """Every conformant recording with each rule's (status, reason): described ones (a sidecar
    ``why``) first, then the plainest (the fewest rules apply), then the smallest. Judged once
    per process (all of fixtures/conformant: about 0.1 s)."""
    judged = []
    for path in root.rglob("*.sse"):
        verdict = judge(load(path))
        statuses: dict[str, tuple[str, str | None]] = {r.rule: (r.status, r.reason) for r in verdict.results}
        applicable = sum(status != NA for status, _ in statuses.values())
        undescribed = _text(_sidecar(path).get("why")) is None
        judged.append((undescribed, applicable, path.stat().st_size, path.as_posix(), path, statuses))
    return [(path, statuses) for *_, path, statuses in sorted(judged, key=lambda j: j[:4])]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _examples(rule: Rule) -> tuple[Example, Example]:
    breaking = breaking_example(rule)
    return breaking, conformant_example(rule, breaking)


def details_json(rule: Rule) -> dict[str, Any]:
    """What ``rules ID --format json`` adds to the catalogue's entry."""
    path, line = defined_at(rule.check)
    breaking, conformant = _examples(rule)
    return {"defined_at": {"file": path, "line": line}, "examples": {"breaking": breaking.to_json(), "conformant": conformant.to_json()}}


def details_text(rule: Rule) -> str:
    """What ``rules ID`` adds under the catalogue's entry: where, and the two examples."""
    path, line = defined_at(rule.check)
    breaking, conformant = _examples(rule)
    lines = [f"  Defined at: {path}:{line}"]
    for label, ex in (("Breaking example", breaking), ("Conformant example", conformant)):
        if ex.fixture is None or ex.where is None:
            lines.append(f"  {label}: none ({ex.note})" if ex.fixture is None else f"  {label}: {ex.fixture}: {ex.note}")
            continue
        verdict = "the rule " + ("fails" if ex.status == FAIL else "warns" if ex.status == WARN else "passes")
        lines.append(f"  {label}: {ex.fixture} ({verdict})")
        if ex.why:
            lines.append(f"    {ex.why}")
        if ex.finding is not None:
            lines.append(f"    Finding ({ex.where}):")
            lines.extend(f"      {text}" for text in ex.finding.message.splitlines())
        else:
            lines.append(f"    Shown ({ex.where}):")
        if ex.excerpt:
            lines.append(f"    | {ex.excerpt}")
    return "\n".join(lines) + "\n"

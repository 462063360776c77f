"""The fold API: a rule as a judgement built up in one pass over an exchange.

``validate`` reads a recording in blocks and judges it as it goes; no rule may hold the
list of every event, payload or choice appearance, or the body. A rule is therefore a
``Fold``: one instance per exchange, fed in stream order through the hooks it overrides,
then asked for its violations once at the end, over ``End`` (the exchange's metadata and the
facts the engine derives once for every rule).

Hooks, in the order the engine calls them for each dispatched event:

- ``event(ev)``: every dispatched SSE event, ``[DONE]`` and what follows it included;
- ``payload(item)``: every classified payload before ``[DONE]`` (chunk, error, annotation, bad);
- ``visit(idx, v)``: every appearance of choice ``idx`` in a chunk, in stream order;
- ``block(b)``: every block a blank line ended without dispatching (no data line);
- ``finish(end)``: the violations, in report order.

A rule overrides only the hooks it needs: the engine calls each hook only on the folds that
override it, so a rule judged from ``End`` alone costs nothing per chunk. ``applies`` is
judged at the end, over ``End`` (many need whole-stream facts); a fold whose rule turns out
not applicable is simply never finished.

Findings stay bounded: ``Findings`` keeps the first ``MAX_FINDINGS`` violations per key (the
choice index, for the rules that report choice by choice) and counts the rest, so the report
order (by key, then stream order) and the totals are the same as a rule that saw everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from ..findings import ERROR, Violation
from ..sse import Block, Event

if TYPE_CHECKING:
    from ..exchange import Exchange
    from ..profiles import Profile
    from ..stream import AssembledChoice, DecodedEvent, Visit

__all__ = ["ARGUMENTS", "CONTENT", "HOOKS", "MAX_FINDINGS", "PLAIN_KINDS", "REASONING", "ChoiceFacts", "Context", "End", "Findings", "Fold", "hooks_of"]

# the kinds of plain chunk (Fold.needs_plain, Fold.plain_kinds)
CONTENT = "content"
REASONING = "reasoning"
ARGUMENTS = "arguments"
PLAIN_KINDS = frozenset({REASONING, ARGUMENTS})  # a fold idle on every kind, as needs_plain says

# Findings kept per rule and exchange: a 10,000-chunk stream that breaks a rule on every
# chunk needs the first few examples and a count, not 10,000 lines.
MAX_FINDINGS = 20


@dataclass(frozen=True, slots=True)
class Context:
    """What a fold may know before the first byte: the exchange's metadata and the profile.

    ``exchange.body`` is not for folds: a recording judged from a file has no body in memory.
    Read the few bytes a rule needs through ``End.read``.
    """

    exchange: Exchange
    profile: Profile
    clients: Mapping[str, Any] = field(default_factory=dict)  # client readings (client replay), known before the pass


@dataclass(slots=True)
class ChoiceFacts:
    """What the engine remembers of one choice index, for every rule: bounded, whatever the length."""

    index: int
    first: Visit  # the choice's first appearance
    last: Visit  # its last appearance
    visits: int = 1  # how many times it appeared
    finish: Visit | None = None  # the first appearance whose finish_reason is not null
    finished: bool = False  # some finish_reason is truthy (a real finish, section 6)


@dataclass(slots=True)
class End:
    """Everything a fold may read at the end of the exchange, besides what it folded itself.

    Holds no list that grows with the stream: counts, the first and last of things, the
    per-choice facts, and the few events findings cite.
    """

    exchange: Exchange  # metadata; never read ``exchange.body`` (see ``read``)
    profile: Profile
    size: int  # body length in bytes
    read: Callable[[int, int], bytes]  # read(offset, n): n bytes of the body from offset (fewer at its end)
    # the parser's summary
    bom: bool
    discarded: Block | None  # the trailing block no blank line ended
    oversized: list[tuple[int, int]]  # (offset, length) of each line over the limit (each >= 16 MiB: few)
    max_line: int
    events: int  # events dispatched, [DONE] and after included
    first_event: Event | None
    last_event: Event | None
    # [DONE] and after
    done: Event | None
    after_done: int  # events after [DONE]
    first_after_done: Event | None
    # payloads before [DONE]
    payloads: int
    last_payload: DecodedEvent | None
    chunks: int
    first_chunk: DecodedEvent | None
    last_chunk: DecodedEvent | None
    errors: int
    first_error: DecodedEvent | None
    bad: int  # payloads that are not one JSON object
    # usage
    usage_chunks: int  # chunks whose usage is not null
    first_usage: DecodedEvent | None  # the first of them
    second_usage: DecodedEvent | None  # the second (usage.only-last cites it)
    last_usage_chunk: DecodedEvent | None  # the last of them
    last_usage: dict[str, Any] | None  # the last usage that is an object (what clients keep)
    last_usage_object_chunk: DecodedEvent | None  # the chunk that carried it
    last_finish_chunk: DecodedEvent | None  # the last chunk that finishes some choice
    # per choice, in first-appearance order
    choices: dict[int, ChoiceFacts]
    # choice index -> (first two error events whose own choices entry finishes it, how many)
    error_entries: dict[int, tuple[list[DecodedEvent], int]]
    error_finishes: dict[int, DecodedEvent]  # choice index -> the error event that finished it
    message: dict[int, AssembledChoice]  # the assembled message per choice (the shared assembler)
    utf8_error: tuple[int, bytes, str] | None  # (offset, bad bytes, reason) of the first invalid UTF-8
    utf8_event: Event | None  # the event whose lines hold that offset
    clients: Mapping[str, Any] = field(default_factory=dict)  # client readings (client replay)
    # (choice index, plain kind) -> plain chunks of that kind (Fold.plain_kinds), hooks or not
    plain: Mapping[tuple[int, str], int] = field(default_factory=dict)

    @property
    def ends_with_error(self) -> bool:
        """Under a profile whose errors may end the stream: the last payload is an error, no [DONE]."""
        return (
            self.profile.error_may_end_stream
            and self.done is None
            and self.last_payload is not None
            and self.last_payload.kind == "error"
        )

    def holds(self, start: int, stop: int, needle: bytes) -> bool:
        """``needle`` occurs in the body's bytes [start, stop): read in blocks, so a block
        of any size is searched in bounded memory."""
        step = 1 << 20
        keep = len(needle) - 1
        carry = b""
        at = start
        while at < stop:
            piece = self.read(at, min(step, stop - at))
            if not piece:
                return False
            if needle in carry + piece:
                return True
            carry = piece[-keep:] if keep else b""
            at += len(piece)
        return False

    def time_of(self, event: Event) -> float | None:
        """When the event was complete: the arrival of its dispatching blank line."""
        if event.time is not None:
            return event.time
        timing = self.exchange.timing
        return timing.time_at(event.end) if timing is not None else None


class Findings:
    """A rule's violations in report order, bounded: the first MAX_FINDINGS per key, counted beyond.

    Keys sort the report (most rules: the choice index; key 0 for a rule with one list). The
    judge reads ``dropped`` and ``dropped_severities`` so that totals and the fail/warn
    status are those of the whole list.
    """

    __slots__ = ("_by_key", "dropped", "dropped_severities")

    def __init__(self) -> None:
        self._by_key: dict[int, list[Violation]] = {}
        self.dropped = 0
        self.dropped_severities: set[str | None] = set()

    def add(self, violation: Violation, key: int = 0) -> None:
        kept = self._by_key.get(key)
        if kept is None:
            self._by_key[key] = [violation]
        elif len(kept) < MAX_FINDINGS:
            kept.append(violation)
        else:
            self.dropped += 1
            self.dropped_severities.add(violation.severity)

    def full(self, key: int = 0) -> bool:
        """``key`` keeps no more: a rule may then ``tally`` instead of building a message."""
        return len(self._by_key.get(key, ())) >= MAX_FINDINGS

    def tally(self, severity: str | None = None) -> None:
        """Count a violation that would not be kept (its key is ``full``)."""
        self.dropped += 1
        self.dropped_severities.add(severity)

    def count(self, key: int) -> int:
        """Violations kept under ``key`` (a rule that reports once per choice checks this)."""
        return len(self._by_key.get(key, ()))

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def __iter__(self) -> Iterator[Violation]:
        for key in sorted(self._by_key):
            yield from self._by_key[key]

    def drops_error(self, rule_severity: str) -> bool:
        """A dropped violation was error-level (its own severity, or the rule's)."""
        return any((s or rule_severity) == ERROR for s in self.dropped_severities)


class Fold:
    """One rule's judgement of one exchange, built up in one pass (one instance per exchange).

    Override the hooks the rule needs; ``finish`` is the only one every rule has. A fold may
    return a ``Findings`` from ``finish`` (bounded, with a count of what it did not keep) or
    any iterable of violations it holds in full.
    """

    # which hooks this class overrides (set for each subclass as it is defined)
    overrides: ClassVar[frozenset[str]] = frozenset()
    # Does the fold need its payload/visit hooks called on *plain* chunks? A plain chunk is
    # the stream's template chunk again with another content string: the template is a
    # chunk of one choice whose delta is only a content string, with no finish_reason and
    # no usage, valid under the profile's chunk schema; a plain chunk's text is the
    # template's with another string (no quote, backslash or control character) in the
    # content's place, of a choice that has not finished, before any error event. Nearly
    # every chunk of a text answer is plain. Set False only if the fold's payload and visit
    # hooks, having seen the template chunk, would neither change state nor find anything
    # on such a chunk: the engine then does not call them (and does not decode the chunk).
    # Event hooks are always called. The default is the safe one.
    needs_plain: bool = True
    # Plain chunks come in three kinds: CONTENT (above), REASONING (the template's delta is
    # only reasoning_details: one reasoning.text item) and ARGUMENTS (only tool_calls: one
    # entry, an integer index and function.arguments), each another string in the same slot.
    # ``needs_plain`` speaks for content; for the other kinds a fold is called on every plain
    # chunk unless the kind is in ``plain_kinds``: then ``needs_plain`` speaks for it too
    # (False: having seen the template chunk, the hooks would neither change state nor find
    # anything on such a chunk). End.plain counts the plain chunks per (choice, kind) for a
    # fold that only counts appearances. The default is the safe one.
    plain_kinds: frozenset[str] = frozenset()
    # kinds (not CONTENT) the fold is idle on in its present state whatever needs_plain says
    # (a fold whose content and reasoning needs differ); ``skip_plain`` changes it
    plain_idle: frozenset[str] = frozenset()

    # The hooks the engine calls on an instance: those the class overrides; a fold that
    # knows at the start it has nothing to fold (no reading for its client, no arrival
    # times...) narrows them in its __init__ and then costs nothing per event. Like
    # needs_plain, plain_kinds and plain_idle (read when a template is chosen, after the
    # template chunk's own hooks ran; changed later with want_plain and skip_plain, which
    # re-route), an instance holds its own only once it changes it: the class's otherwise
    # (validate makes ~50 folds per exchange: each attribute set in __init__ costs).
    hooks: frozenset[str] = frozenset()
    _reroute: Callable[[], None] | None = None  # set by the engine

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.overrides = cls.hooks = hooks_of(cls)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def want_plain(self, on: bool) -> None:
        """Start (True) or stop (False) getting plain chunks from now on: a fold that needs
        them only in some states (until content began, after a usage chunk...) says so as
        its state changes, and costs nothing per plain chunk the rest of the time."""
        if on != self.needs_plain:
            self.needs_plain = on
            if self._reroute is not None:
                self._reroute()

    def skip_plain(self, kind: str, on: bool) -> None:
        """From now on, skip (True: ``kind`` joins ``plain_idle``) or take (False: ``kind``
        leaves ``plain_idle`` and ``plain_kinds``) the plain chunks of ``kind`` (a fold whose
        hooks are idle on a kind of plain chunk only in some states)."""
        idle = self.plain_idle | {kind} if on else self.plain_idle - {kind}
        kinds = self.plain_kinds if on else self.plain_kinds - {kind}
        if idle != self.plain_idle or kinds != self.plain_kinds:
            self.plain_idle, self.plain_kinds = idle, kinds
            if self._reroute is not None:
                self._reroute()

    def event(self, ev: Event) -> None:
        """Every dispatched SSE event, in order ([DONE] and after included)."""

    def payload(self, item: DecodedEvent) -> None:
        """Every classified payload before [DONE]."""

    def visit(self, idx: int, v: Visit) -> None:
        """Every appearance of choice ``idx`` in a chunk, in stream order."""

    def block(self, b: Block) -> None:
        """Every block a blank line ended without dispatching an event."""

    def applies(self, end: End) -> str | None:
        """The rule's own applicability where it needs what only the fold saw (the registered
        ``applies`` reads End alone): None, or the reason the rule cannot be judged. Called
        after the registered ``applies`` found nothing against it."""
        return None

    def finish(self, end: End) -> Iterable[Violation]:
        raise NotImplementedError


HOOKS = ("event", "payload", "visit", "block")


def hooks_of(cls: type[Fold]) -> frozenset[str]:
    """The hooks ``cls`` overrides: the engine calls only those."""
    return frozenset(h for h in HOOKS if getattr(cls, h) is not getattr(Fold, h))


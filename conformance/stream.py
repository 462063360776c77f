"""Events -> classified items -> per-choice traces -> what a client ends up with.

``decode`` makes the one pass over the events that every rule shares: each payload is
decoded once and classified (chunk, error event, annotation, ``[DONE]``, bad payload), and
each choice of each chunk is filed under its choice index. Rules then read these lists
instead of re-parsing the stream. ``assemble`` rebuilds, per choice, the message a client
would hold at the end: content, reasoning, tool calls merged by index, finish reason, usage.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress, count, repeat
from operator import attrgetter, is_not, itemgetter, methodcaller
from typing import Any, Final, Literal, NamedTuple

import orjson

from .exchange import Exchange
from .profiles import Profile
from .sse import Event, SSEParser, parse

__all__ = [
    "KIND_ANNOTATION",
    "KIND_BAD",
    "KIND_CHUNK",
    "KIND_ERROR",
    "AssembledChoice",
    "DecodedEvent",
    "PayloadKind",
    "Stream",
    "ToolCall",
    "Visit",
    "assemble",
    "decode",
]

DONE = "[DONE]"
_COMPACT = 4096  # pieces of an assembled string joined into one block when this many are pending


class Pieces(list[str]):
    """A string assembled from many pieces in linear time and bounded overhead: the pieces
    are joined into a block every _COMPACT of them (``spill``, in place: whoever holds
    ``append`` keeps it), and the blocks once at the end. Joining everything so far each
    time would copy the whole string again and again: quadratic in the tokens."""

    __slots__ = ("blocks",)

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] | None = None  # made at the first spill (most strings never need one)

    def add(self, piece: str) -> None:
        self.append(piece)
        if len(self) > _COMPACT:
            self.spill()

    def spill(self) -> None:
        if self.blocks is None:
            self.blocks = []
        self.blocks.append("".join(self))
        self.clear()

    def text(self) -> str:
        rest = "".join(self)
        return rest if self.blocks is None else "".join(self.blocks) + rest

_get_finish = methodcaller("get", "finish_reason")
_get_usage = methodcaller("get", "usage")
_choice_of = attrgetter("choice")
_obj_of = attrgetter("obj")

# What an event's payload is. Named KIND_* so that an error *event* is never mistaken for
# the error *severity* (findings.ERROR).
PayloadKind = Literal["chunk", "error", "annotation", "bad"]
KIND_CHUNK: Final = "chunk"
KIND_ERROR: Final = "error"
KIND_ANNOTATION: Final = "annotation"
KIND_BAD: Final = "bad"


class DecodedEvent(NamedTuple):
    """One dispatched event before ``[DONE]``, its payload decoded and classified."""

    event: Event
    kind: PayloadKind
    obj: Any  # the decoded JSON (any type for `bad`), None when it did not parse
    problem: str | None  # for `bad`: why it is not one JSON object


class Visit(NamedTuple):
    """One appearance of a choice in a chunk."""

    item: DecodedEvent
    pos: int  # position of the choice in the chunk's `choices`
    choice: dict[str, Any]
    delta: dict[str, Any]  # {} when absent or not an object


def as_index(value: Any) -> int | None:
    """An integer as JSON Schema counts it (1 and 1.0; not 1.5, not True), else None."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def choice_index(choice: dict[str, Any], pos: int) -> int:
    """The choice's `index`, or its position where the index is missing or not an integer
    (chunk.schema reports that; the other rules still get a sensible grouping)."""
    idx = as_index(choice.get("index"))
    return pos if idx is None else idx


@dataclass
class Stream:
    """An exchange's body, decoded once for every rule."""

    exchange: Exchange
    profile: Profile
    parser: SSEParser
    items: list[DecodedEvent]  # events before the first [DONE], [DONE] excluded
    chunks: list[DecodedEvent]
    errors: list[DecodedEvent]
    done: Event | None
    after_done: list[Event]
    choices: dict[int, list[Visit]]  # choice index -> visits in stream order
    body_text_ok: bool = True
    # client name -> what that client ended up with (conformance/clients replays; plain data);
    # empty unless client replay was requested. Read only by the client.* rules.
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def events(self) -> list[Event]:
        return self.parser.events

    def time_of(self, event: Event) -> float | None:
        """When the event was complete: the arrival of its dispatching blank line."""
        if event.time is not None:
            return event.time
        timing = self.exchange.timing
        return timing.time_at(event.end) if timing is not None else None

    @property
    def ends_with_error(self) -> bool:
        """Under a profile whose errors may end the stream: the last event is an error, no [DONE]."""
        return (
            self.profile.error_may_end_stream
            and self.done is None
            and bool(self.items)
            and self.items[-1].kind == KIND_ERROR
        )

    @cached_property
    def error_entries(self) -> dict[int, list[DecodedEvent]]:
        """Choice index -> the error events whose own ``choices`` entry finishes it, in order.

        An entry ``choices[k]`` without an index stands for choice k (section 6). Empty under
        a profile that ignores an error event's choices.
        """
        out: dict[int, list[DecodedEvent]] = {}
        if self.profile.error_may_end_stream:
            return out
        for item in self.errors:
            entries = item.obj.get("choices")
            if isinstance(entries, list):
                for pos, entry in enumerate(entries):
                    if isinstance(entry, dict) and entry.get("finish_reason") is not None:
                        out.setdefault(choice_index(entry, pos), []).append(item)
        return out

    @cached_property
    def error_finishes(self) -> dict[int, DecodedEvent]:
        """Choice index -> the error event that finished it (section 6): its own entry, or,
        for an error event without entries, every choice still open."""
        out: dict[int, DecodedEvent] = {idx: items[0] for idx, items in self.error_entries.items()}
        finished = {
            i for i, visits in self.choices.items() if any(visits[p].choice.get("finish_reason") for p in self.finishes[i])
        }
        for item in self.errors:
            entries = item.obj.get("choices") if not self.profile.error_may_end_stream else None
            if not (isinstance(entries, list) and entries):
                for idx in set(self.choices) | {0}:
                    if idx not in finished:
                        out.setdefault(idx, item)
        return out

    @cached_property
    def finishes(self) -> dict[int, list[int]]:
        """Choice index -> positions (in ``choices[idx]``) of the visits whose finish_reason is
        not null. Several rules look for these few visits among thousands; the scan runs
        once, in C (map, compress), instead of once per rule in Python."""
        out: dict[int, list[int]] = {}
        for idx, visits in self.choices.items():
            reasons = map(_get_finish, map(_choice_of, visits))
            out[idx] = list(compress(count(), map(is_not, reasons, repeat(None))))
        return out

    @cached_property
    def usage_positions(self) -> list[int]:
        """Positions in ``chunks`` of the chunks whose usage is not null (one, in a good stream)."""
        usages = map(_get_usage, map(_obj_of, self.chunks))
        return list(compress(count(), map(is_not, usages, repeat(None))))

    @cached_property
    def message(self) -> dict[int, AssembledChoice]:
        return assemble(self)


class NonStandardJSON(ValueError):
    """A payload uses NaN, Infinity or -Infinity: Python's json reads them, JSON has no such values."""


def _refuse_constant(name: str) -> Any:
    raise NonStandardJSON(f"{name} is not a JSON value; JSON.parse and strict decoders reject it")


def _load(data: str) -> tuple[Any, str | None]:
    """One payload: (the JSON value, None) or (None, why it is not standard JSON)."""
    try:
        return orjson.loads(data), None
    except orjson.JSONDecodeError as exc:
        try:  # orjson refuses some valid JSON (an escaped lone surrogate, 1e400); json does not
            return json.loads(data, parse_constant=_refuse_constant), None
        except NonStandardJSON as constant:
            return None, f"not standard JSON ({constant})"
        except (ValueError, RecursionError):  # nested deeper than json goes: a bad payload
            return None, f"not JSON ({exc})"


_new = tuple.__new__


def decode(exchange: Exchange, profile: Profile, parser: SSEParser | None = None) -> Stream:
    """Parse (unless a live capture already did) and classify every event, keeping them all.

    Not what judges (``engine.Pass`` reads a body once and keeps no list): this is the
    whole-stream reading the engine's tests compare the pass against (tests/test_engine.py,
    tests/test_stream.py), kept apart on purpose so that a slip in either shows as a
    difference. Payloads are decoded in one C-level ``map`` (a payload
    orjson refuses sends the whole stream through the per-payload path), and the tuples are
    built with ``tuple.__new__``, several times cheaper than a NamedTuple's own constructor.
    """
    if parser is None:
        parser = parse(exchange.body)
    events = parser.events
    datas = list(map(itemgetter(3), events))  # Event.data
    try:
        stop = datas.index(DONE)
    except ValueError:
        stop = len(datas)
    done: Event | None = events[stop] if stop < len(events) else None
    after: list[Event] = events[stop + 1 :]
    try:
        loaded: Any = zip(map(orjson.loads, datas[:stop]), repeat(None))
        loaded = list(loaded)
    except orjson.JSONDecodeError:
        loaded = list(map(_load, datas[:stop]))
    items: list[DecodedEvent] = []
    chunks: list[DecodedEvent] = []
    errors: list[DecodedEvent] = []
    choices: dict[int, list[Visit]] = {}
    annotations = profile.annotations
    for ev, (obj, problem) in zip(events, loaded):
        if problem is not None:
            items.append(_new(DecodedEvent, (ev, KIND_BAD, None, problem)))
            continue
        if type(obj) is not dict:
            items.append(_new(DecodedEvent, (ev, KIND_BAD, obj, f"a JSON {type(obj).__name__.replace('NoneType', 'null')}, not an object")))
            continue
        if obj.get("error"):  # section 0: an error that reads as false (null, {}, "", 0...) is no error
            item = _new(DecodedEvent, (ev, KIND_ERROR, obj, None))
            errors.append(item)
            items.append(item)
            continue
        chs = obj.get("choices")
        if (
            annotations
            and chs == []
            and obj.get("usage") is None
            and obj.get("object") != "chat.completion.chunk"
        ):
            items.append(_new(DecodedEvent, (ev, KIND_ANNOTATION, obj, None)))
            continue
        item = _new(DecodedEvent, (ev, KIND_CHUNK, obj, None))
        items.append(item)
        chunks.append(item)
        if type(chs) is list:
            if len(chs) == 1 and type(ch := chs[0]) is dict:  # nearly every chunk: one choice
                delta = ch.get("delta")
                visit = _new(Visit, (item, 0, ch, delta if type(delta) is dict else {}))
                idx = ch.get("index")
                if type(idx) is not int:
                    idx = choice_index(ch, 0)
                if idx in choices:
                    choices[idx].append(visit)
                else:
                    choices[idx] = [visit]
                continue
            for pos, ch in enumerate(chs):
                if type(ch) is not dict:
                    continue
                delta = ch.get("delta")
                visit = _new(Visit, (item, pos, ch, delta if type(delta) is dict else {}))
                idx = ch.get("index")
                if type(idx) is not int:
                    idx = choice_index(ch, pos)
                if idx in choices:
                    choices[idx].append(visit)
                else:
                    choices[idx] = [visit]
    return Stream(exchange, profile, parser, items, chunks, errors, done, after, choices)


# ---------------------------------------------------------------------------------------
# The assembler


@dataclass(slots=True)
class ToolCall:
    index: int | None
    id: str | None = None
    type: str | None = None
    name: str | None = None
    arguments: str = ""  # joined when the choice is assembled (``parts`` until then)
    first: Visit | None = None  # the fragment that opened the call (findings cite it)
    last: Visit | None = None  # its latest fragment
    count: int = 0  # fragments merged into it
    # the arguments' fragments, joined once at the end: += on an attribute copies the whole
    # string each time, quadratic in the number of fragments
    parts: Pieces = field(default_factory=Pieces, repr=False, compare=False)

    @property
    def fragments(self) -> list[Visit]:
        """The first and the last fragment (of possibly thousands): what findings cite."""
        if self.first is None or self.last is None:
            return []
        return [self.first] if self.first is self.last else [self.first, self.last]


@dataclass(slots=True)
class AssembledChoice:
    """What a client ends up with for one choice."""

    index: int
    role: str | None = None
    content: str = ""
    refusal: str = ""
    reasoning: str = ""  # text from reasoning_details (text/summary) or the flat string fields
    reasoning_items: int = 0  # raw reasoning_details items streamed (reasoning.schema judges each as it passes)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_entries: int = 0  # raw delta.tool_calls entries, objects or not ("streamed a tool call")
    unindexed_dropped: int = 0  # entries without an index past the first MAX_UNINDEXED: counted, not kept as calls
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "role": self.role,
            "content": self.content,
            "refusal": self.refusal or None,
            "reasoning": self.reasoning or None,
            "tool_calls": [
                {"index": t.index, "id": t.id, "type": t.type, "name": t.name, "arguments": t.arguments}
                for t in self.tool_calls
            ],
            "finish_reason": self.finish_reason,
            "usage": self.usage,
        }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""



def reasoning_text(delta: dict[str, Any]) -> str:
    """The reasoning a delta carries, in any of the fields servers use (section 8)."""
    out = _text(delta.get("reasoning_content")) or _text(delta.get("reasoning"))
    details = delta.get("reasoning_details")
    if isinstance(details, list):
        for d in details:
            if isinstance(d, dict):
                out += _text(d.get("text")) or _text(d.get("summary"))
    return out


def has_reasoning(delta: dict[str, Any]) -> bool:
    """Reasoning is a non-empty reasoning_details array or a non-empty flat string field."""
    if "reasoning_details" not in delta and "reasoning_content" not in delta and "reasoning" not in delta:
        return False
    details = delta.get("reasoning_details")
    return bool(
        (isinstance(details, list) and details)
        or _text(delta.get("reasoning_content"))
        or _text(delta.get("reasoning"))
    )


# Tool-call entries without an index kept as calls, per choice. Each such entry is a call of
# its own (section 7: it belongs to no call), so a hostile stream of them would grow the list
# without limit; what the verdict reads of them (that calls exist, that there are two or
# more, their names for the replay's declared tools) is in the first few, and the rest are
# counted (``AssembledChoice.unindexed_dropped``). tools.index reports every such entry.
MAX_UNINDEXED = 16


def _merge_tool_calls(assembly: ChoiceAssembly, entries: list[Any], visit: Visit) -> None:
    calls = assembly.calls
    assert calls is not None
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        index = as_index(entry.get("index"))
        if index is None:  # no index: no call (section 7), a call of its own
            if assembly.unindexed >= MAX_UNINDEXED:
                assembly.msg.unindexed_dropped += 1
                continue
            assembly.unindexed += 1
            key: Any = ("no-index", assembly.unindexed)
        else:
            key = index
        call = calls.get(key)
        if call is None:
            call = calls[key] = ToolCall(index)
        if call.first is None:
            call.first = visit
        call.last = visit
        call.count += 1
        raw_fn = entry.get("function")
        fn: dict[str, Any] = raw_fn if isinstance(raw_fn, dict) else {}
        call.id = call.id or _text(entry.get("id")) or None
        call.type = call.type or _text(entry.get("type")) or None
        call.name = call.name or _text(fn.get("name")) or None
        args = fn.get("arguments")
        if isinstance(args, str) and args:
            call.parts.add(args)


class ChoiceAssembly:
    """One choice being assembled the way clients do, one appearance at a time: strings
    concatenate (kept as a few joined pieces, however many tokens), tool calls merge by index.
    The one assembler: ``assemble`` (a decoded Stream) and the engine's pass both use it."""

    __slots__ = ("calls", "content", "msg", "reasoning", "refusal", "unindexed")

    def __init__(self, idx: int) -> None:
        self.msg = AssembledChoice(idx)
        self.content = Pieces()
        # made on first use: a stream may spread one answer over 100,000 choices
        self.calls: dict[Any, ToolCall] | None = None
        self.reasoning: Pieces | None = None
        self.refusal: Pieces | None = None
        self.unindexed = 0  # tool-call entries without an index kept as calls (MAX_UNINDEXED)

    def add(self, visit: Visit) -> None:
        d = visit.delta
        c = d.get("content")
        if c.__class__ is str:
            self.content.add(c)
            simple = len(d) == 1
        else:
            simple = not d
        if simple:
            return
        msg = self.msg
        if msg.role is None and isinstance(d.get("role"), str):
            msg.role = d["role"]
        refusal = d.get("refusal")
        if isinstance(refusal, str) and refusal:
            if self.refusal is None:
                self.refusal = Pieces()
            self.refusal.add(refusal)
        if has_reasoning(d):
            if self.reasoning is None:
                self.reasoning = Pieces()
            self.reasoning.add(reasoning_text(d))
            details = d.get("reasoning_details")
            if isinstance(details, list):
                msg.reasoning_items += len(details)
        tcs = d.get("tool_calls")
        if tcs.__class__ is list:
            msg.tool_entries += len(tcs)
            if self.calls is None:
                self.calls = {}
            _merge_tool_calls(self, tcs, visit)

    def done(self, finish: Visit | None, error_finished: bool, usage: dict[str, Any] | None) -> AssembledChoice:
        msg = self.msg
        if finish is not None:
            msg.finish_reason = finish.choice.get("finish_reason")
        msg.content = self.content.text()
        if self.reasoning is not None:
            msg.reasoning = self.reasoning.text()
        if self.refusal is not None:
            msg.refusal = self.refusal.text()
        if msg.finish_reason is None and error_finished:
            msg.finish_reason = "error"
        if self.calls is not None:
            for call in self.calls.values():
                call.arguments = call.parts.text()
                call.parts = Pieces()
            msg.tool_calls = list(self.calls.values())
        msg.usage = usage
        return msg


def assemble(stream: Stream) -> dict[int, AssembledChoice]:
    """Rebuild each choice of a decoded Stream the way clients do (ChoiceAssembly)."""
    usage = None
    for pos in stream.usage_positions:  # the last usage object wins
        u = stream.chunks[pos].obj.get("usage")
        if isinstance(u, dict):
            usage = u
    out: dict[int, AssembledChoice] = {}
    finishes = stream.finishes
    for idx, visits in stream.choices.items():
        assembly = ChoiceAssembly(idx)
        for visit in visits:
            assembly.add(visit)
        positions = finishes[idx]
        out[idx] = assembly.done(visits[positions[0]] if positions else None, idx in stream.error_finishes, usage)
    return out

"""Section 11: legal by the standard, yet known to break widely used clients."""

from __future__ import annotations

from collections.abc import Iterator
from operator import attrgetter, methodcaller
from typing import Any

from ..findings import ERROR, WARNING, Violation
from ..sse import Event
from ..stream import DONE, Stream, Visit, has_reasoning
from . import rule
from ._util import is_int, show

_choice_of = attrgetter("choice")

_DATALESS = {"event", "id", "retry"}


@rule(
    "compat.no-dataless-blocks",
    section="11",
    title="No block with event/id/retry but no data; after a non-empty id, no empty block.",
    why="The OpenAI SDKs dispatch such a block with empty data, fail on json.loads(''), and lose the rest of the answer.",
)
def no_dataless_blocks(stream: Stream) -> Iterator[Violation]:
    stop = stream.done.offset if stream.done is not None else None
    body = stream.exchange.body
    for block in stream.parser.skipped:
        if stop is not None and block.offset > stop:
            break
        fields = block.fields & _DATALESS
        if fields:
            what = f"a block with {', '.join(sorted(fields))} but no data line"
        elif block.after_id:
            what = "an empty block (extra blank line or comments only) after an id: line"
        else:
            continue
        yield Violation(f"{what}: {body[block.offset: block.end + 2][:80]!r}", offset=block.offset)


def _carried(obj: Any) -> str | None:
    """What an event's payload carries that a client needs beyond ``role`` (section 11:
    non-empty content or refusal, tool calls, reasoning, a finish reason, usage or an error),
    described for the finding; None when it carries nothing of that (role only, an empty delta)."""
    if not isinstance(obj, dict):
        return None
    if obj.get("error"):
        return f"an error {show(obj['error'], 40)}"
    if obj.get("usage") is not None:
        return "usage"
    choices = obj.get("choices")
    for ch in choices if isinstance(choices, list) else ():
        if not isinstance(ch, dict):
            continue
        raw = ch.get("delta")
        delta: dict[str, Any] = raw if isinstance(raw, dict) else {}
        content = delta.get("content")
        if content is not None and content != "":
            return f"content {show(content, 20)}"
        if delta.get("refusal"):
            return f"a refusal {show(delta['refusal'], 20)}"
        if isinstance(delta.get("tool_calls"), list) and delta["tool_calls"]:
            return "tool calls"
        if has_reasoning(delta):
            return "reasoning"
        if ch.get("finish_reason") is not None:
            return f"finish_reason {show(ch['finish_reason'], 20)}"
    return None


def _payload(stream: Stream, event: Event) -> Any:
    """The decoded payload of an event before [DONE] (None for [DONE] or a bad payload)."""
    for item in stream.items:
        if item.event is event:
            return item.obj
        if item.event.index > event.index:
            break
    return None


def _first_line_is_data(body: bytes) -> bool:
    """After the BOM, the body's first line is a ``data`` field line (the line a client that
    keeps the BOM in the field name ignores)."""
    line = body[3:].split(b"\n", 1)[0].split(b"\r", 1)[0]
    return line.split(b":", 1)[0] == b"data"


@rule(
    "compat.no-bom",
    section="11",
    title="The body does not start with a UTF-8 BOM.",
    why="The OpenAI Python SDK and httpx-sse keep the BOM in the first field name and drop the first event.",
    severity_note="error when the dropped first event carries data (content, tool calls, reasoning, a finish, usage, an error); "
    "warning when it carries only the role",
)
def no_bom(stream: Stream) -> Iterator[Violation]:
    if not stream.parser.bom:
        return
    body = stream.exchange.body
    events = stream.events
    first = events[0] if events and _first_line_is_data(body) and events[0].offset == 3 else None
    message = "The body starts with a UTF-8 BOM (EF BB BF): the OpenAI Python SDK and httpx-sse drop the first event."
    if first is None:
        reason = "warning: the BOM spoils a line that carries no event data (a comment or another field)"
        yield Violation(message, offset=0, severity=WARNING, reason=reason)
        return
    obj = _payload(stream, first)
    what = _carried(obj)
    if what is not None:
        yield Violation(message, first, offset=0, severity=ERROR, reason=f"error: the dropped first event carries {what}")
        return
    if first.data == DONE:
        reason = "warning: the dropped first event is [DONE], no chunk"
    elif not isinstance(obj, dict):
        reason = "warning: the dropped first event is no JSON object (sse.json-payload judges it)"
    elif any(isinstance(c, dict) and isinstance(c.get("delta"), dict) and c["delta"].get("role") for c in obj.get("choices") or ()):
        reason = "warning: the dropped first event carries only the role"
    else:
        reason = "warning: the dropped first event carries nothing a client needs (no role, no data)"
    yield Violation(message, first, offset=0, severity=WARNING, reason=reason)


@rule(
    "compat.no-trailing-cr",
    section="11",
    title="The body does not end in a lone CR line ending.",
    why="eventsource-parser (the Vercel AI SDK's) waits for a possible LF after a CR and never dispatches the last event.",
    severity_note="error when the event never dispatched is not [DONE] (a mid-stream error, say); warning when it is [DONE]",
)
def no_trailing_cr(stream: Stream) -> Iterator[Violation]:
    body = stream.exchange.body
    if not body.endswith(b"\r"):
        return
    message = "The body ends with a lone CR: eventsource-parser waits for an LF and never dispatches the last event."
    events = stream.events
    # the event whose dispatching blank line is the final CR is the one the client never sees
    last = events[-1] if events and events[-1].end == len(body) - 1 else None
    at = len(body) - 1
    if last is None:
        yield Violation(message, offset=at, severity=WARNING, reason="warning: the final CR dispatches no event")
    elif last.data == DONE:
        yield Violation(message, offset=at, severity=WARNING, reason="warning: the event never dispatched is [DONE]")
    else:
        obj = _payload(stream, last)
        what = "a mid-stream error event" if isinstance(obj, dict) and obj.get("error") else f"event #{last.index}, not [DONE]"
        yield Violation(message, offset=at, severity=ERROR, reason=f"error: the event never dispatched is {what}")


@rule(
    "compat.list-delta-index",
    section="11",
    title="A list delta field (not tool_calls) sent in several deltas of a choice has an integer index on every entry.",
    why="The OpenAI Python SDK's stream() helper merges such lists by index and raises on the second delta without one.",
)
def list_delta_index(stream: Stream) -> Iterator[Violation]:
    for idx, visits in sorted(stream.choices.items()):
        seen: dict[str, list[Visit]] = {}
        for visit in visits:
            delta = visit.delta
            if len(delta) == 1 and delta.get("content").__class__ is str:  # most deltas: one text piece
                continue
            for key, value in delta.items():
                if value.__class__ is list and key != "tool_calls":
                    seen.setdefault(key, []).append(visit)
        for key, appearances in seen.items():
            if len(appearances) < 2:
                continue
            bad = next(
                (
                    (visit, k, entry)
                    for visit in appearances
                    for k, entry in enumerate(visit.delta[key])
                    if not (isinstance(entry, dict) and is_int(entry.get("index")))
                ),
                None,
            )
            if bad is not None:
                visit, k, entry = bad
                got = "is not an object" if not isinstance(entry, dict) else "has no integer index" if "index" not in entry else f"has index={show(entry['index'])}"
                yield Violation(
                    f"delta.{key} of choice {idx} appears in {len(appearances)} deltas, and an entry {got}: the OpenAI Python SDK's "
                    f"stream() helper raises when it merges the lists.\nExpected: an integer index on every {key} entry",
                    visit.item.event,
                    path=f"$.choices[{visit.pos}].delta.{key}[{k}]",
                )


@rule(
    "compat.no-choice-message",
    section="11",
    title="No chunk's choice carries a message object (a non-streaming field).",
    why="The OpenAI Node SDK's stream() copies it over the message it has accumulated: the streamed content is lost.",
)
def no_choice_message(stream: Stream) -> Iterator[Violation]:
    for idx, visits in sorted(stream.choices.items()):
        carrying = [v for v in visits if "message" in v.choice and isinstance(v.choice["message"], dict)]
        if carrying:
            first = carrying[0]
            more = f" (and {len(carrying) - 1} later chunk(s))" if len(carrying) > 1 else ""
            yield Violation(
                f"Choice {idx} carries a message object{more}: {show(first.choice['message'], 60)}\n"
                "Expected: deltas only; message belongs to non-streaming answers",
                first.item.event,
                path=f"$.choices[{first.pos}].message",
            )


def _last_usage(stream: Stream) -> int | None:
    """Position in ``stream.chunks`` of the last chunk that carries usage."""
    positions = stream.usage_positions
    return positions[-1] if positions else None


def _carries_usage(stream: Stream) -> str | None:
    return None if _last_usage(stream) is not None else "no chunk carries usage"


@rule(
    "compat.usage-last",
    section="11",
    title="No chunk follows the last chunk that carries usage.",
    why="The SDKs' stream() accumulators take usage from the last chunk (Python) or copy each chunk over it (Node): they end with none.",
    severity="warning",
    applies=_carries_usage,
)
def usage_last(stream: Stream) -> Iterator[Violation]:
    chunks = stream.chunks
    last = _last_usage(stream)
    if last is not None and last < len(chunks) - 1:
        nxt = chunks[last + 1]
        after = len(chunks) - 1 - last
        yield Violation(
            f"{after} chunk(s) follow the last chunk that carries usage (event #{chunks[last].event.index}), from event #{nxt.event.index} on: "
            "the OpenAI SDKs' stream() helpers end with no usage.\nExpected: the usage chunk is the last chunk",
            nxt.event,
        )


@rule(
    "compat.finish-reason-key",
    section="11",
    title="Every choice carries the finish_reason key (null until it finishes).",
    why="OpenAI's schema requires the key; clients generated strictly from it reject a choice without it.",
    severity="warning",
)
def finish_reason_key(stream: Stream) -> Iterator[Violation]:
    for idx, visits in sorted(stream.choices.items()):
        choices = list(map(_choice_of, visits))
        if all(map(methodcaller("__contains__", "finish_reason"), choices)):  # the common case, in C
            continue
        for visit in visits:
            if "finish_reason" not in visit.choice:
                yield Violation(f"A choice {idx} object has no finish_reason key.", visit.item.event, path=f"$.choices[{visit.pos}]")

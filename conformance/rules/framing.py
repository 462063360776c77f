"""Section 3: framing. What the WHATWG parser saw, judged."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..stream import KIND_BAD, Stream
from . import rule
from ._util import show


def _has_headers(stream: Stream) -> str | None:
    return None if stream.exchange.headers is not None else "no response headers recorded"


@rule(
    "sse.content-type",
    section="3",
    title="A 2xx streaming answer has the media type text/event-stream.",
    why="EventSource and httpx-sse refuse any other media type; the OpenAI SDK never looks and silently yields nothing.",
    applies=_has_headers,
)
def content_type(stream: Stream) -> Iterator[Violation]:
    value = stream.exchange.header("content-type")
    media = (value or "").split(";", 1)[0].strip().lower()
    if media != "text/event-stream":
        yield Violation(f"Wrong media type.\nExpected: text/event-stream\nReceived: content-type={value!r}")


@rule(
    "sse.utf8",
    section="3",
    title="The body is UTF-8 (a leading BOM is allowed).",
    why="The OpenAI Python SDK decodes each line strictly and raises mid-stream; browsers show U+FFFD.",
)
def utf8(stream: Stream) -> Iterator[Violation]:
    body = stream.exchange.body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = body[exc.start : exc.end]
        event = next((e for e in stream.events if e.offset <= exc.start < e.end), None)
        yield Violation(
            f"Invalid UTF-8 at byte {exc.start}: {bad!r} ({exc.reason}); decoded as U+FFFD by the standard, "
            "a decode error in clients that decode strictly.",
            event,
            offset=exc.start,
        )


@rule(
    "sse.json-payload",
    section="3",
    title="Every data payload is [DONE] or one JSON object.",
    why="The OpenAI SDKs raise on a payload that is not JSON; the AI SDK turns it into an error part.",
)
def json_payload(stream: Stream) -> Iterator[Violation]:
    for item in stream.items:
        if item.kind == KIND_BAD:
            yield Violation(f"The payload is {item.problem}: {show(item.event.data)}", item.event)


def _done_applies(stream: Stream) -> str | None:
    if stream.ends_with_error:
        return "the stream ends with a mid-stream error, which may end it under this profile"
    return None


@rule(
    "sse.done",
    section="3",
    title="A data: [DONE] event ends the stream.",
    why="Without it a truncated stream looks complete: no OpenAI SDK or AI SDK version reports the difference.",
    applies=_done_applies,
)
def done(stream: Stream) -> Iterator[Violation]:
    if stream.done is not None:
        return
    tail = stream.parser.discarded
    body = stream.exchange.body
    if tail is not None and b"[DONE]" in body[tail.offset : tail.end]:
        yield Violation(
            "The body ends with a [DONE] line but no blank line after it: the standard discards an "
            "unterminated block, so no [DONE] event was dispatched.\nExpected: data: [DONE] followed by a blank line",
            offset=tail.offset,
        )
    elif not stream.events:
        yield Violation("The body holds no event at all, and no [DONE].", offset=0 if body else None)
    else:
        last = stream.events[-1]
        where = f" (and an unterminated block at byte {tail.offset})" if tail is not None else ""
        yield Violation(
            f"The stream ends after event #{last.index} without a [DONE] event{where}: it looks truncated.",
            last,
        )


@rule(
    "sse.nothing-after-done",
    section="3",
    title="No event follows [DONE].",
    why="The Vercel AI SDK keeps reading after [DONE] and acts on what follows (duplicate text or tool calls).",
)
def nothing_after_done(stream: Stream) -> Iterator[Violation]:
    after = stream.after_done
    if after:
        more = f" ({len(after)} events in all)" if len(after) > 1 else ""
        yield Violation(f"An event follows [DONE]{more}: {show(after[0].data)}", after[0])

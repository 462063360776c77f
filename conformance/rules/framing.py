"""Section 3: framing. What the WHATWG parser saw, judged."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..stream import KIND_BAD, DecodedEvent
from . import rule
from .fold import PLAIN_KINDS, Context, End, Findings, Fold
from .wording import expected_received, named, shown


def _has_headers(end: End) -> str | None:
    return None if end.exchange.headers is not None else "no response headers recorded"


@rule(
    "sse.content-type",
    section="3",
    title="A 2xx streaming answer has the media type text/event-stream.",
    why="EventSource and httpx-sse refuse any other media type; the OpenAI SDK never looks and silently yields nothing.",
    applies=_has_headers,
)
class ContentType(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        value = end.exchange.header("content-type")
        media = (value or "").split(";", 1)[0].strip().lower()
        if media != "text/event-stream":
            yield Violation(expected_received("Wrong media type.", expected="text/event-stream", received=named("content-type", value)))


@rule(
    "sse.utf8",
    section="3",
    title="The body is UTF-8 (a leading BOM is allowed).",
    why="The OpenAI Python SDK decodes each line strictly and raises mid-stream; browsers show U+FFFD.",
)
class Utf8(Fold):
    """The engine decodes each block as it reads it and keeps the first invalid sequence and
    the event whose lines hold it: nothing to fold here."""

    def finish(self, end: End) -> Iterator[Violation]:
        if end.utf8_error is None:
            return
        start, bad, reason = end.utf8_error
        yield Violation(
            expected_received(
                f"Invalid UTF-8 at byte {start}: decoded as U+FFFD by the standard, a decode error in clients that decode strictly.",
                expected="UTF-8",
                received=f"{shown(bad)} ({reason})",
            ),
            end.utf8_event,
            offset=start,
        )


@rule(
    "sse.json-payload",
    section="3",
    title="Every data payload is [DONE] or one JSON object.",
    why="The OpenAI SDKs raise on a payload that is not JSON; the AI SDK turns it into an error part.",
)
class JsonPayload(Fold):
    needs_plain = False  # a plain chunk has nothing for it (rules/fold.py)
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.found = Findings()

    def payload(self, item: DecodedEvent) -> None:
        if item.kind == KIND_BAD:
            text = expected_received(f"The payload is {item.problem}.", expected="one JSON object or [DONE]", received=named("data", item.event.data))
            self.found.add(Violation(text, item.event))

    def finish(self, end: End) -> Findings:
        return self.found


def _done_applies(end: End) -> str | None:
    if end.ends_with_error:
        return "the stream ends with a mid-stream error, which may end it under this profile"
    return None


@rule(
    "sse.done",
    section="3",
    title="A data: [DONE] event ends the stream.",
    why="Without it a truncated stream looks complete: no OpenAI SDK or AI SDK version reports the difference.",
    applies=_done_applies,
)
class Done(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        if end.done is not None:
            return
        tail = end.discarded
        if tail is not None and end.holds(tail.offset, tail.end, b"[DONE]"):
            yield Violation(
                expected_received(
                    "The body ends with a [DONE] line but no blank line after it: the standard discards an "
                    "unterminated block, so no [DONE] event was dispatched.",
                    expected="data: [DONE] followed by a blank line",
                    received=f"an unterminated block at byte {tail.offset} holding [DONE], then the end of the body",
                ),
                offset=tail.offset,
            )
        elif end.last_event is None:
            text = expected_received(
                "The body holds no event at all, and no [DONE].",
                expected="events, the last one data: [DONE]",
                received=f"{end.size:,} bytes and no event",
            )
            yield Violation(text, offset=0 if end.size else None)
        else:
            last = end.last_event
            where = f" (and an unterminated block at byte {tail.offset})" if tail is not None else ""
            yield Violation(
                expected_received(
                    f"The stream ends after event #{last.index} without a [DONE] event{where}: it looks truncated.",
                    expected="a last event data: [DONE]",
                    received=f"last event #{last.index}: {named('data', last.data)}",
                ),
                last,
            )


@rule(
    "sse.nothing-after-done",
    section="3",
    title="No event follows [DONE].",
    why="The Vercel AI SDK keeps reading after [DONE] and acts on what follows (duplicate text or tool calls).",
)
class NothingAfterDone(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        first = end.first_after_done
        if first is not None:
            more = f" ({end.after_done} events in all)" if end.after_done > 1 else ""
            yield Violation(
                expected_received(f"An event follows [DONE]{more}.", expected="nothing after [DONE]", received=named("data", first.data)), first
            )

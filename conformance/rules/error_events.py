"""Sections 2 and 6: errors before the stream (a JSON body) and inside it (an event)."""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from ..findings import Violation
from ..schemas import get_schema
from ..stream import Stream
from . import rule

# What status each provoked cause should give (section 2).
EXPECTED_STATUS = {
    "bad-key": (401, 403),
    "invalid-params": (400, 422),
    "no-credits": (402,),
    "rate-limit": (429,),
}


PROVOKED = ("bad-key", "invalid-params")


def _error_answer(stream: Stream) -> str | None:
    ex = stream.exchange
    if ex.status is not None and 300 <= ex.status < 400:
        # a redirect is an answer that points elsewhere, not an error body: capture.complete
        # (or run.endpoint-usable on the plain request) names its Location
        return f"a redirect ({ex.status}) is not an error answer: see capture.complete / run.endpoint-usable"
    if not ex.is_stream or ex.scenario in PROVOKED:
        return None
    return "the answer is a 2xx stream, not a pre-stream error"


@rule(
    "error.pre-stream-shape",
    section="2",
    title="A failed request gets a non-2xx answer with a JSON error.code and error.message (openai: error.message).",
    why="Clients build their exception from body['error']; a bad key answered with 200 is accepted as a success.",
    scope="any",
    applies=_error_answer,
)
def pre_stream_shape(stream: Stream) -> Iterator[Violation]:
    ex = stream.exchange
    if ex.is_stream:  # only a provoked failure gets here: the endpoint accepted it
        yield Violation(
            f"The {ex.scenario} request was accepted.\nExpected: a non-2xx answer with a JSON error body, before any stream\n"
            f"Received: status={ex.status}, content-type={ex.header('content-type')!r}"
        )
        return
    body = stream.exchange.body
    excerpt = body[:200].decode("utf-8", "replace")
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        yield Violation(f"The error body is not JSON: {excerpt!r}", offset=0)
        return
    schema = get_schema(stream.profile.error_schema)
    if not schema.is_valid(obj):
        yield Violation(f"The error body does not match {schema.name}: {schema.first_error(obj)}\nReceived: {excerpt!r}", offset=0)


def _provoked(stream: Stream) -> str | None:
    if stream.exchange.scenario not in EXPECTED_STATUS:
        return "judged only where the suite provoked the error (a live scenario such as bad-key)"
    return None


@rule(
    "error.pre-stream-status",
    section="2",
    title="The status matches the cause: 401/403 bad key, 400/422 invalid parameters, 402 credits, 429 rate limit.",
    why="Clients retry, re-authenticate or give up by status; a wrong one sends them down the wrong path.",
    severity="warning",
    applies=_provoked,
    scope="any",
    live=True,
)
def pre_stream_status(stream: Stream) -> Iterator[Violation]:
    scenario = stream.exchange.scenario
    expected = EXPECTED_STATUS[scenario or ""]
    status = stream.exchange.status
    if status not in expected:
        yield Violation(f"The {scenario} scenario was answered with the wrong status.\nExpected: {' or '.join(map(str, expected))}\nReceived: status={status}")


def _has_errors(stream: Stream) -> str | None:
    return None if stream.errors else "no mid-stream error event"


def _done_after_applies(stream: Stream) -> str | None:
    if stream.ends_with_error:
        return "the stream ends with the error, which may end it under this profile"
    return _has_errors(stream)


@rule(
    "error.mid-stream-shape",
    section="6",
    title='A mid-stream error event has error.code, error.message and choices[0].finish_reason == "error".',
    why="Clients recognise the error by these fields; without finish_reason error the choice looks unfinished.",
    applies=_has_errors,
)
def mid_stream_shape(stream: Stream) -> Iterator[Violation]:
    schema = get_schema(stream.profile.stream_error_schema)
    for item in stream.errors:
        if not schema.is_valid(item.obj):
            detail = schema.first_error(item.obj) or "does not match"
            path, _, message = detail.partition(": ")
            yield Violation(f"The error event does not match {schema.name}: {message}", item.event, path=path)


@rule(
    "error.done-after",
    section="6",
    title="The error event is followed by [DONE] and nothing else.",
    why="A stream that goes on after an error, or never closes with [DONE], leaves clients guessing whether it ended.",
    applies=_done_after_applies,
)
def done_after(stream: Stream) -> Iterator[Violation]:
    items = stream.items
    first = stream.errors[0]
    pos = items.index(first)
    if pos != len(items) - 1:
        nxt = items[pos + 1]
        yield Violation(
            f"Event #{nxt.event.index} follows the error event #{first.event.index}.\nExpected: [DONE] right after the error",
            nxt.event,
        )
    elif stream.done is None and not stream.profile.error_may_end_stream:
        yield Violation(f"The error event #{first.event.index} is not followed by [DONE].", first.event)

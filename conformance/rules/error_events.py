"""Sections 2 and 6: errors before the stream (a JSON body) and inside it (an event).

Folds (rules/fold.py): the error events are judged as they pass; the rest at the end.
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from ..findings import Violation
from ..schemas import get_schema
from ..stream import KIND_ERROR, DecodedEvent
from . import rule
from .fold import MAX_FINDINGS, PLAIN_KINDS, Context, End, Findings, Fold
from .wording import expected_received, named, shown

# A violation past the cap: only counted (Findings keeps MAX_FINDINGS per key).
UNKEPT = Violation("")

# What status each provoked cause should give (section 2).
EXPECTED_STATUS = {
    "bad-key": (401, 403),
    "invalid-params": (400, 422),
    "no-credits": (402,),
    "rate-limit": (429,),
}


PROVOKED = ("bad-key", "invalid-params")


def _error_answer(end: End) -> str | None:
    ex = end.exchange
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
class PreStreamShape(Fold):
    """Judged at the end from the metadata and the error body (a non-2xx answer's JSON, read
    whole through ``End.read``: only a provoked 2xx stream is not read, and it is not judged)."""

    def finish(self, end: End) -> Iterator[Violation]:
        ex = end.exchange
        if ex.is_stream:  # only a provoked failure gets here: the endpoint accepted it
            yield Violation(
                expected_received(
                    f"The {ex.scenario} request was accepted.",
                    expected="a non-2xx answer with a JSON error body, before any stream",
                    received={"status": ex.status, "content-type": ex.header("content-type")},
                )
            )
            return
        body = end.read(0, end.size)
        excerpt = body[:200].decode("utf-8", "replace")
        whole = "" if len(body) <= 200 else f" (the first 200 of {len(body):,} bytes)"
        received = f"body={shown(excerpt)}{whole}"
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            yield Violation(expected_received("The error body is not JSON.", expected="a JSON error body", received=received), offset=0)
            return
        schema = get_schema(end.profile.error_schema)
        if not schema.is_valid(obj):
            text = expected_received(
                f"The error body does not match {schema.name}: {schema.first_error(obj)}",
                expected=f"an error body that matches {schema.name}",
                received=received,
            )
            yield Violation(text, offset=0)


def _provoked(end: End) -> str | None:
    if end.exchange.scenario not in EXPECTED_STATUS:
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
class PreStreamStatus(Fold):
    """Metadata alone: the provoked cause and the status."""

    def finish(self, end: End) -> Iterator[Violation]:
        scenario = end.exchange.scenario
        expected = EXPECTED_STATUS[scenario or ""]
        status = end.exchange.status
        if status not in expected:
            yield Violation(
                expected_received(
                    f"The {scenario} scenario was answered with the wrong status.",
                    expected=f"status={' or '.join(map(str, expected))}",
                    received=named("status", status),
                )
            )


def _has_errors(end: End) -> str | None:
    return None if end.errors else "no mid-stream error event"


def _done_after_applies(end: End) -> str | None:
    if end.ends_with_error:
        return "the stream ends with the error, which may end it under this profile"
    return _has_errors(end)


@rule(
    "error.mid-stream-shape",
    section="6",
    title='A mid-stream error event has error.code, error.message and choices[0].finish_reason == "error".',
    why="Clients recognise the error by these fields; without finish_reason error the choice looks unfinished.",
    applies=_has_errors,
)
class MidStreamShape(Fold):
    """Each error event is judged as it comes, against the profile's schema; the findings are
    kept bounded (the first few and a count)."""

    needs_plain = False  # a plain chunk is no error event
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.schema = get_schema(ctx.profile.stream_error_schema)
        self.found = Findings()

    def payload(self, item: DecodedEvent) -> None:
        if item.kind == KIND_ERROR and not self.schema.is_valid(item.obj):
            if self.found.count(0) >= MAX_FINDINGS:  # counted, not described: jsonschema's
                self.found.add(UNKEPT)  # errors are costly and cyclic (kept till the verdict)
                return
            detail = self.schema.first_error(item.obj) or "does not match"
            path, _, message = detail.partition(": ")
            text = expected_received(
                f"The error event does not match {self.schema.name}.", expected=f"an error event that matches {self.schema.name}", received=message
            )
            self.found.add(Violation(text, item.event, path=path))

    def finish(self, end: End) -> Findings:
        return self.found


@rule(
    "error.done-after",
    section="6",
    title="The error event is followed by [DONE] and nothing else.",
    why="A stream that goes on after an error, or never closes with [DONE], leaves clients guessing whether it ended.",
    applies=_done_after_applies,
)
class DoneAfter(Fold):
    """Remembers the first error event and the payload right after it; [DONE] is End's."""

    needs_plain = False  # plain chunks come only before the first error event: nothing to remember
    plain_kinds = PLAIN_KINDS  # as idle on a reasoning or arguments plain chunk (rules/fold.py)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.first: DecodedEvent | None = None
        self.after: DecodedEvent | None = None

    def payload(self, item: DecodedEvent) -> None:
        if self.first is None:
            if item.kind == KIND_ERROR:
                self.first = item
        elif self.after is None:
            self.after = item

    def finish(self, end: End) -> Iterator[Violation]:
        first = self.first
        assert first is not None  # applies: the stream has an error event
        if self.after is not None:
            nxt = self.after
            yield Violation(
                expected_received(
                    f"Event #{nxt.event.index} follows the error event #{first.event.index}.",
                    expected="[DONE] right after the error",
                    received=named("data", nxt.event.data),
                ),
                nxt.event,
            )
        elif end.done is None and not end.profile.error_may_end_stream:
            text = expected_received(
                f"The error event #{first.event.index} is not followed by [DONE].",
                expected="[DONE] right after the error",
                received="no [DONE]: the stream ends",
            )
            yield Violation(text, first.event)

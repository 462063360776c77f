"""Section 1: the request. Judged only where the suite provoked the behaviour."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..stream import Stream
from . import ANY, rule


def _stream_options_scenario(stream: Stream) -> str | None:
    if stream.exchange.scenario != "stream-options":
        return "judged on the live scenario that sends stream_options (scenario 'stream-options')"
    return None


@rule(
    "request.stream-options-accepted",
    section="1",
    title="Sending stream_options does not turn a success into an error.",
    why="OpenAI clients send stream_options.include_usage by default; an endpoint that rejects it fails every such client.",
    applies=_stream_options_scenario,
    scope=ANY,
    live=True,
)
def stream_options_accepted(stream: Stream) -> Iterator[Violation]:
    status = stream.exchange.status
    if status is not None and not 200 <= status < 300:
        excerpt = stream.exchange.body[:200].decode("utf-8", "replace")
        yield Violation(
            f"A valid request with stream_options was refused.\nExpected: a 2xx stream\nReceived: status={status}, body={excerpt!r}"
        )


def _variant(stream: Stream) -> str | None:
    if stream.exchange.scenario != "variant":
        return "judged on generated request variants (valid against schemas/request.json)"
    return None


@rule(
    "request.variant-accepted",
    section="suite",
    title="A generated request that is valid against schemas/request.json gets a 2xx stream.",
    why="An endpoint that refuses a unicode prompt or a nested tool schema fails every user who sends one.",
    applies=_variant,
    scope=ANY,
    live=True,
)
def variant_accepted(stream: Stream) -> Iterator[Violation]:
    status = stream.exchange.status
    if status is not None and not 200 <= status < 300:
        excerpt = stream.exchange.body[:300].decode("utf-8", "replace")
        yield Violation(
            f"A request valid against schemas/request.json was refused.\nExpected: a 2xx stream\nReceived: status={status}, body={excerpt!r}"
        )

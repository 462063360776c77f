"""Section 1 (and the suite's variants): valid requests are accepted. Judged only on the
requests the suite sent on purpose: the stream-options scenario and generated variants."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..findings import Violation
from ..stream import Stream
from . import ANY, rule


def _on_scenario(name: str, reason: str) -> Callable[[Stream], str | None]:
    def applies(stream: Stream) -> str | None:
        return None if stream.exchange.scenario == name else reason

    return applies


def _refused(stream: Stream, what: str) -> Iterator[Violation]:
    status = stream.exchange.status
    if status is not None and not 200 <= status < 300:
        excerpt = stream.exchange.body[:300].decode("utf-8", "replace")
        yield Violation(f"{what} was refused.\nExpected: a 2xx stream\nReceived: status={status}, body={excerpt!r}")


@rule(
    "request.stream-options-accepted",
    section="1",
    title="Sending stream_options does not turn a success into an error.",
    why="OpenAI clients send stream_options.include_usage by default; an endpoint that rejects it fails every such client.",
    applies=_on_scenario("stream-options", "judged on the live scenario that sends stream_options (scenario 'stream-options')"),
    scope=ANY,
    live=True,
)
def stream_options_accepted(stream: Stream) -> Iterator[Violation]:
    yield from _refused(stream, "A valid request with stream_options")


@rule(
    "request.variant-accepted",
    section="suite",
    title="A generated request that is valid against schemas/request.json gets a 2xx stream.",
    why="An endpoint that refuses a unicode prompt or a nested tool schema fails every user who sends one.",
    applies=_on_scenario("variant", "judged on generated request variants (valid against schemas/request.json)"),
    scope=ANY,
    live=True,
)
def variant_accepted(stream: Stream) -> Iterator[Violation]:
    yield from _refused(stream, "A request valid against schemas/request.json")

"""Section 1 (and the suite's variants): valid requests are accepted. Judged only on the
requests the suite sent on purpose: the stream-options scenario and generated variants."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..findings import Violation
from . import ANY, rule
from .fold import End, Fold
from .wording import expected_received


def _on_scenario(name: str, reason: str) -> Callable[[End], str | None]:
    def applies(end: End) -> str | None:
        return None if end.exchange.scenario == name else reason

    return applies


def _refused(end: End, what: str) -> Iterator[Violation]:
    status = end.exchange.status
    if status is not None and not 200 <= status < 300:
        excerpt = end.read(0, 300).decode("utf-8", "replace")
        yield Violation(expected_received(f"{what} was refused.", expected="a 2xx stream", received={"status": status, "body": excerpt}))


@rule(
    "request.stream-options-accepted",
    section="1",
    title="Sending stream_options does not turn a success into an error.",
    why="OpenAI clients send stream_options.include_usage by default; an endpoint that rejects it fails every such client.",
    applies=_on_scenario("stream-options", "judged on the live scenario that sends stream_options (scenario 'stream-options')"),
    scope=ANY,
    live=True,
)
class StreamOptionsAccepted(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        yield from _refused(end, "A valid request with stream_options")


@rule(
    "request.variant-accepted",
    section="suite",
    title="A generated request that is valid against schemas/request.json gets a 2xx stream.",
    why="An endpoint that refuses a unicode prompt or a nested tool schema fails every user who sends one.",
    applies=_on_scenario("variant", "judged on generated request variants (valid against schemas/request.json)"),
    scope=ANY,
    live=True,
)
class VariantAccepted(Fold):
    def finish(self, end: End) -> Iterator[Violation]:
        yield from _refused(end, "A request valid against schemas/request.json")

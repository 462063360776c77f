"""The suite's own limits: a capture cut short is a finding, never a crash or a hang."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..stream import Stream
from . import ANY, rule


@rule(
    "capture.complete",
    section="suite",
    title="The capture is complete: no transport failure, no size limit reached.",
    why="What the suite could not read it cannot judge; an endpoint that sends endless or enormous lines must not pass by default.",
    scope=ANY,
    without_response=True,
)
def complete(stream: Stream) -> Iterator[Violation]:
    if stream.exchange.problem:
        yield Violation(stream.exchange.problem)
    for offset, length in stream.parser.oversized:
        yield Violation(
            f"A line of {length:,} bytes exceeds the {stream.parser.max_line:,}-byte line limit; it was skipped unjudged.",
            offset=offset,
        )

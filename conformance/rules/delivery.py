"""Section 10: delivery. Judged from the arrival times a live capture stamps."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Violation
from ..stream import Stream
from . import rule

# A stream is "one burst" when all its events arrive within this share of the time from
# request to last event...
BURST_SHARE = 0.10
# ...and the whole answer took long enough for buffering to matter to a user. Below this,
# a fast answer and a buffered one cannot be told apart.
MIN_DURATION = 0.5
MIN_EVENTS = 3


def _timed(stream: Stream) -> str | None:
    if stream.exchange.timing is None:
        return "needs arrival times (a live run, or a recording with 'timing')"
    if len(stream.events) < MIN_EVENTS:
        return f"fewer than {MIN_EVENTS} events"
    return None


@rule(
    "sse.incremental",
    section="10",
    title="Events arrive spread over time, not in one burst at the end.",
    why="A buffering proxy or server holds the whole answer: time to first token becomes the full generation time.",
    severity="warning",
    applies=_timed,
    live=True,
)
def incremental(stream: Stream) -> Iterator[Violation]:
    events = stream.events
    first, last = stream.time_of(events[0]), stream.time_of(events[-1])
    if first is None or last is None:
        return
    total = last
    if total >= MIN_DURATION and last - first <= BURST_SHARE * total:
        yield Violation(
            f"All {len(events)} events arrived within {1000 * (last - first):.0f} ms at the end of a {total:.2f} s answer "
            f"(first event at {first:.2f} s): the stream looks buffered.",
            events[0],
        )

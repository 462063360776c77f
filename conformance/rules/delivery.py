"""Section 10: delivery. Judged from the arrival times a live capture stamps.

A buffering proxy holds the body and sends it in one write: its events then arrive together,
whenever that is. So the rule judges the spread of the events themselves, never the time
since the request or the headers (a model that thinks for 5 s and then streams is not
buffered). A stream is one burst when nearly all of its events arrive within a window far
shorter than even a very fast model needs to generate them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from ..findings import Violation
from ..stream import Stream
from . import rule

# Below this many events a stream is too short to tell: a fast model sends a few events
# within milliseconds, and they look the same buffered or not. The live scenarios ask for
# answers longer than this.
MIN_EVENTS = 20
# The share of the events that arriving together makes a burst (the role chunk, or a first
# event a proxy flushed with the headers, may come earlier).
BURST_SHARE = 0.9
# Time per event below which events count as arriving at once: 0.2 ms, i.e. 5,000 events/s,
# 2.5 times faster than a model streaming 2,000 tokens/s one token per event. A body held and
# written at once arrives at network speed, microseconds per event.
BURST_GAP = 0.0002


def _times(stream: Stream) -> list[float]:
    return [t for t in (stream.time_of(e) for e in stream.events) if t is not None]


def _judgeable(stream: Stream) -> str | None:
    if stream.exchange.timing is None:
        return "needs arrival times (a live run, or a recording with 'timing')"
    n = len(_times(stream))
    if n < MIN_EVENTS:
        return (
            f"too short to tell: {n} timed event(s), fewer than {MIN_EVENTS} (a fast model sends a few events "
            "within milliseconds, buffered or not)"
        )
    return None


def burst_window(times: list[float], share: float = BURST_SHARE) -> tuple[int, int, float]:
    """The shortest window holding ``share`` of the (ordered) arrival times: (first position,
    number of events in it, its width in seconds)."""
    k = max(2, math.ceil(share * len(times)))
    best = (0, k, math.inf)
    for i in range(len(times) - k + 1):
        width = times[i + k - 1] - times[i]
        if width < best[2]:
            best = (i, k, width)
    return best


@rule(
    "sse.incremental",
    section="10",
    title="Events arrive spread over time, not in one burst at the end.",
    why="A buffering proxy or server holds the whole answer: time to first token becomes the full generation time.",
    severity="warning",
    applies=_judgeable,
    live=True,
)
def incremental(stream: Stream) -> Iterator[Violation]:
    times = _times(stream)
    start, count, width = burst_window(times)
    if width <= BURST_GAP * (count - 1):
        events = [e for e in stream.events if stream.time_of(e) is not None]
        yield Violation(
            f"{count} of the {len(times)} events arrived within {1000 * width:.1f} ms (from {times[start]:.3f} s on; "
            f"the first event at {times[0]:.3f} s, the last at {times[-1]:.3f} s): the stream looks buffered, "
            f"sent in one write.\nExpected: events spread over the time the answer takes to generate "
            f"(a burst is faster than {1 / BURST_GAP:,.0f} events/s)",
            events[start],
        )

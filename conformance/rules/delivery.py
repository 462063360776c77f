"""Section 10: delivery. Judged from the arrival times a live capture stamps.

A buffering proxy holds the body and sends it in one write: its events then arrive together,
whenever that is. So the rule judges the spread of the events themselves, never the time
since the request or the headers (a model that thinks for 5 s and then streams is not
buffered). A stream is one burst when nearly all of its events arrive within a window far
shorter than even a very fast model needs to generate them.

A fold (rules/fold.py): the events' arrival times are kept run-length encoded (a time and how
many events arrived at it in a row), so what the rule holds grows with the network reads,
not with the events; the shortest window is found over the runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from ..findings import Violation
from ..sse import Event, SSEParser
from . import rule
from .fold import Context, End, Fold
from .wording import expected_received

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


class Run:
    """Events that arrived at one time, in a row: the time, how many, the first of them."""

    __slots__ = ("count", "first", "time")

    def __init__(self, time: float, first: Event) -> None:
        self.time = time
        self.count = 1
        self.first = first


def run_window(runs: Sequence[Run], n: int, share: float = BURST_SHARE) -> tuple[int, int, float]:
    """``burst_window`` over run-length encoded times (``n`` of them in all): the same
    (first position, number of events in the window, its width).

    Within a stretch where neither end of the window leaves its run, the width is constant:
    only the stretch's first position can be a new minimum, so the walk is over stretches.
    """
    k = max(2, math.ceil(share * n))
    best = (0, k, math.inf)
    last = n - k
    if last < 0:
        return best
    a, a_left = 0, runs[0].count  # the run of position i, and how many of its positions are left
    b, pos = 0, k - 1  # the run of position i + k - 1
    while pos >= runs[b].count:
        pos -= runs[b].count
        b += 1
    b_left = runs[b].count - pos
    i = 0
    while i <= last:
        width = runs[b].time - runs[a].time
        if width < best[2]:
            best = (i, k, width)
        step = min(a_left, b_left)
        i += step
        a_left -= step
        b_left -= step
        if a_left == 0:
            a += 1
            a_left = runs[a].count if a < len(runs) else 0
        if b_left == 0:
            b += 1
            b_left = runs[b].count if b < len(runs) else 0
    return best


def _with_data(end: End, ev: Event) -> Event:
    """The cited event with its data again (the runs keep events without it): its block,
    parsed alone. A blank line first, so that bytes EF BB BF opening the block stay data."""
    parser = SSEParser()
    block = end.read(ev.offset, ev.end - ev.offset)
    alone = [*parser.feed(b"\n" + block + b"\n"), *parser.close()]
    return ev._replace(data=alone[0].data) if alone else ev


def _timed_event(end: End, position: int) -> Event:
    """The ``position``-th event that has an arrival time, found by parsing the body again.
    Only for a window that starts inside a run, which needs arrival times that go back in
    time (a hand-written timing): never for a live capture."""
    parser = SSEParser()
    seen = 0
    offset = 0
    block = 1 << 20
    while True:
        data = end.read(offset, block)
        offset += len(data)
        events = parser.feed(data) if data else parser.close()
        for ev in events:
            if end.time_of(ev) is not None:
                if seen == position:
                    return ev
                seen += 1
        if not data:
            raise LookupError(f"no timed event #{position}")


def _judgeable(end: End) -> str | None:
    if end.exchange.timing is None:
        return "needs arrival times (a live run, or a recording with 'timing')"
    return None


@rule(
    "sse.incremental",
    section="10",
    title="Events arrive spread over time, not in one burst at the end.",
    why="A buffering proxy or server holds the whole answer: time to first token becomes the full generation time.",
    severity="warning",
    applies=_judgeable,
    live=True,
)
class Incremental(Fold):
    """The events' arrival times as runs; the window is judged at the end."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.timing = ctx.exchange.timing
        if self.timing is None:  # not applicable: nothing to fold
            self.hooks = frozenset()
        self.runs: list[Run] = []
        self.n = 0  # events with an arrival time

    def event(self, ev: Event) -> None:
        t = ev.time
        if t is None:
            if self.timing is None:
                return
            t = self.timing.time_at(ev.end)
            if t is None:
                return
        self.n += 1
        runs = self.runs
        if runs and runs[-1].time == t:
            runs[-1].count += 1
        else:
            runs.append(Run(t, ev._replace(data="")))

    def applies(self, end: End) -> str | None:
        n = self.n
        if n < MIN_EVENTS:
            return (
                f"too short to tell: {n} timed event(s), fewer than {MIN_EVENTS} (a fast model sends a few events "
                "within milliseconds, buffered or not)"
            )
        return None

    def finish(self, end: End) -> Iterator[Violation]:
        runs, n = self.runs, self.n
        start, count, width = run_window(runs, n)
        if width <= BURST_GAP * (count - 1):
            first_time, last_time, start_time = runs[0].time, runs[-1].time, 0.0
            cited: Event | None = None
            seen = 0
            for run in runs:
                if seen <= start < seen + run.count:
                    start_time = run.time
                    if seen == start:
                        cited = run.first
                    break
                seen += run.count
            event = _with_data(end, cited) if cited is not None else _timed_event(end, start)
            yield Violation(
                expected_received(
                    f"The stream looks buffered, sent in one write (the first event at {first_time:.3f} s, the last at {last_time:.3f} s).",
                    expected=f"events spread over the time the answer takes to generate (a burst is faster than {1 / BURST_GAP:,.0f} events/s)",
                    received=f"{count} of the {n} events within {1000 * width:.1f} ms (from {start_time:.3f} s on)",
                ),
                event,
            )

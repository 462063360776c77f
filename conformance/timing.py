"""Delivery figures of one captured exchange: what a user of the endpoint waits for.

Derived from the arrival times the capture stamped, as the judge's one pass goes;
``sse.incremental`` judges delivery, these figures describe it (reports, JUnit properties):
seconds since the request was sent to the headers, the first event, the first content and
the last byte; the number of events and chunks; the longest and mean gap between two
events; and the event times thinned for the timeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .exchange import Timing
from .sse import Event

__all__ = ["TIMELINE_POINTS", "Delivery"]

TIMELINE_POINTS = 400  # event arrivals kept for the timeline picture


class Delivery:
    """The delivery figures of one exchange, gathered in one pass without the list of events:
    event times are kept as runs of equal times, so memory grows with the number of network
    reads (already in ``Timing``), not of events."""

    __slots__ = ("broken", "content_seen", "first_content", "known", "runs", "timing")

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.runs: list[list[Any]] = []  # [time, how many consecutive events arrived then]
        self.known = 0  # events with a known time
        self.content_seen = False
        self.first_content: float | None = None
        self.broken = False  # a chunk's choices could not be looked through (summarize raised)

    def _time(self, ev: Event) -> float | None:
        return ev.time if ev.time is not None else self.timing.time_at(ev.end)

    def events(self, events: Iterable[Event]) -> None:
        runs = self.runs
        for ev in events:
            t = self._time(ev)
            if t is None:
                continue
            self.known += 1
            if runs:
                last = runs[-1]
                if t == last[0] and t - last[0] == 0.0:
                    last[1] += 1
                    continue
            runs.append([t, 1])

    def content(self, ev: Event) -> None:
        """The first chunk that carries content or tool calls."""
        if not self.content_seen:
            self.content_seen = True
            self.first_content = self._time(ev)

    def content_broken(self) -> None:
        if not self.content_seen:
            self.broken = True

    def summary(self, events: int, chunks: int) -> dict[str, Any]:
        runs = self.runs
        gaps = [b[0] - a[0] for a, b in zip(runs, runs[1:])]
        zero = any(r[1] > 1 for r in runs)
        n_gaps = self.known - 1
        top: float | None = None
        if gaps:
            top = max(gaps)
            if zero:
                top = max(top, 0.0)
        elif zero:
            top = 0.0
        return {
            "headers": self.timing.headers_at,
            "first_event": runs[0][0] if runs else None,
            "first_content": self.first_content,
            "total": self.timing.arrivals[-1][1],
            "events": events,
            "chunks": chunks,
            "max_gap": top,
            "mean_gap": sum(gaps) / n_gaps if n_gaps > 0 else None,
        }

    def arrivals(self) -> list[float]:
        """``arrivals``: the event times thinned to TIMELINE_POINTS (the last kept), rounded."""
        n = self.known
        if n > TIMELINE_POINTS:
            step = n / TIMELINE_POINTS
            wanted = [int(i * step) for i in range(TIMELINE_POINTS)] + [n - 1]
        else:
            wanted = list(range(n))
        out: list[float] = []
        start = 0  # index of the run's first event
        runs = iter(self.runs)
        run = next(runs, None)
        for w in wanted:
            while run is not None and w >= start + run[1]:
                start += run[1]
                run = next(runs, None)
            if run is None:
                break
            out.append(round(run[0], 5))
        return out

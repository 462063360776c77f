"""Delivery figures of one captured exchange: what a user of the endpoint waits for.

Derived after the fact from the arrival times the capture stamped; ``sse.incremental``
judges delivery, these figures describe it (reports, JUnit properties).
"""

from __future__ import annotations

from typing import Any

from .stream import Stream

__all__ = ["TIMELINE_POINTS", "arrivals", "summarize"]

TIMELINE_POINTS = 400  # event arrivals kept for the timeline picture


def _event_times(stream: Stream) -> list[float]:
    return [t for t in (stream.time_of(e) for e in stream.events) if t is not None]


def arrivals(stream: Stream) -> list[float]:
    """Event arrival times for the timeline, thinned to TIMELINE_POINTS (the last kept)."""
    times = _event_times(stream)
    if len(times) > TIMELINE_POINTS:
        step = len(times) / TIMELINE_POINTS
        times = [times[int(i * step)] for i in range(TIMELINE_POINTS)] + [times[-1]]
    return [round(t, 5) for t in times]


def summarize(stream: Stream) -> dict[str, Any] | None:
    """Seconds since the request was sent: headers, first event, first content, last event;
    the number of events and chunks; the longest and mean gap between two events."""
    timing = stream.exchange.timing
    if timing is None or not timing.arrivals:
        return None
    known = _event_times(stream)
    first_content = None
    for item in stream.chunks:
        if any(
            isinstance(c, dict) and isinstance(c.get("delta"), dict) and (c["delta"].get("content") or c["delta"].get("tool_calls"))
            for c in item.obj.get("choices") or []
        ):
            first_content = stream.time_of(item.event)
            break
    gaps = [b - a for a, b in zip(known, known[1:])]
    return {
        "headers": timing.headers_at,
        "first_event": known[0] if known else None,
        "first_content": first_content,
        "total": timing.arrivals[-1][1],
        "events": len(stream.events),
        "chunks": len(stream.chunks),
        "max_gap": max(gaps) if gaps else None,
        "mean_gap": sum(gaps) / len(gaps) if gaps else None,
    }

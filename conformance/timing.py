"""Delivery figures of one captured exchange: what a user of the endpoint waits for.

Derived after the fact from the arrival times the capture stamped; ``sse.incremental``
judges delivery, these figures describe it (reports, JUnit properties).
"""

from __future__ import annotations

from typing import Any

from .stream import Stream

__all__ = ["summarize"]


def summarize(stream: Stream) -> dict[str, Any] | None:
    """Seconds since the request was sent: headers, first event, first content, last event;
    the number of events and chunks; the longest and mean gap between two events."""
    timing = stream.exchange.timing
    if timing is None or not timing.arrivals:
        return None
    times = [stream.time_of(e) for e in stream.events]
    known = [t for t in times if t is not None]
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

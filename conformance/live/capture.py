"""Capture one exchange over the network: bytes and their arrival times, nothing judged.

The endpoint under test is untrusted: connect and read timeouts bound each network
operation, a body limit bounds memory, and a total deadline bounds the whole exchange,
headers included (an endpoint that drips its headers one byte at a time satisfies every
per-read timeout for hours). The read runs in a worker thread so that the deadline holds
whatever the endpoint does; at the deadline the capture returns what arrived so far and the
worker is abandoned (a daemon, ended by its own read timeout or the process's end).
Every transport failure is written into ``Exchange.problem`` (judged by
``capture.complete``), never raised. Times are read with ``perf_counter`` as each piece
arrives, before anything parses it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..exchange import Exchange, Timing

__all__ = ["Limits", "capture"]


@dataclass(frozen=True, slots=True)
class Limits:
    connect: float = 10.0  # seconds to open the connection
    read: float = 30.0  # longest silence between two reads
    total: float = 120.0  # the whole exchange, request sent to last byte
    max_body: int = 64 * 1024 * 1024  # bytes kept; a live answer this large is runaway


@dataclass
class _Reading:
    """What the worker has read so far; the caller snapshots it at the end or the deadline."""

    pieces: list[bytes] = field(default_factory=list)
    arrivals: list[tuple[int, float]] = field(default_factory=list)
    status: int | None = None
    headers: dict[str, str] | None = None
    headers_at: float | None = None
    problem: str | None = None
    stop: bool = False  # set by the caller at the deadline: the worker leaves at its next read


def _problem(exc: Exception, limits: Limits, received: int) -> str:
    got = f"after {received:,} bytes" if received else "before any body byte"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"Could not connect within {limits.connect:g} s ({exc.__class__.__name__})."
    if isinstance(exc, httpx.ConnectError):
        return f"Could not connect: {exc} (connection refused or unreachable)."
    if isinstance(exc, httpx.ReadTimeout):
        return f"The endpoint went silent for {limits.read:g} s {got}: the stream hangs."
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return f"The connection was dropped {got} ({exc.__class__.__name__}: {exc})."
    return f"Transport failure {got}: {exc.__class__.__name__}: {exc}"


def _read(client: httpx.Client, url: str, request: dict[str, Any], headers: dict[str, str], limits: Limits, r: _Reading, start: float) -> None:
    received = 0
    timeout = httpx.Timeout(limits.read, connect=limits.connect)
    try:
        with client.stream("POST", url, json=request, headers=headers, timeout=timeout) as response:
            r.headers_at = time.perf_counter() - start
            r.status = response.status_code
            r.headers = {k.lower(): v for k, v in response.headers.items()}
            # the hot loop: one clock read and two appends per network read, nothing parsed
            clock, keep, stamp = time.perf_counter, r.pieces.append, r.arrivals.append
            max_body, deadline = limits.max_body, start + limits.total
            for piece in response.iter_bytes():
                now = clock()
                stamp((received, now - start))
                keep(piece)
                received += len(piece)
                if received > max_body:
                    r.problem = f"The body passed the {max_body:,}-byte limit; the capture stopped there."
                    break
                if now > deadline or r.stop:
                    r.problem = f"The answer was still streaming after the {limits.total:g} s total limit; the capture stopped there."
                    break
    except httpx.HTTPError as exc:  # every transport failure is a finding, never a crash
        r.problem = _problem(exc, limits, received)
    except Exception as exc:  # a malformed answer that trips the HTTP stack itself
        r.problem = f"The HTTP client failed on the answer {'after ' + format(received, ',') + ' bytes' if received else 'before any body byte'}: {exc.__class__.__name__}: {exc}"


def capture(
    client: httpx.Client,
    url: str,
    request: dict[str, Any],
    headers: dict[str, str],
    limits: Limits = Limits(),
    *,
    scenario: str | None = None,
    profile: str | None = None,
    source: str = "<live>",
) -> Exchange:
    """POST ``request`` to ``url`` and record the answer as it arrives, within ``limits.total``."""
    reading = _Reading()
    start = time.perf_counter()
    worker = threading.Thread(target=_read, args=(client, url, request, headers, limits, reading, start), daemon=True, name="sse-capture")
    worker.start()
    worker.join(limits.total)
    stuck = None
    if worker.is_alive():  # the endpoint outlasted the deadline: keep what arrived, move on
        reading.stop = True  # a body still streaming stops at its next read...
        worker.join(0.25)
        if worker.is_alive():  # ...a read that never returns is abandoned
            part = "its headers" if reading.status is None else "its body"
            stuck = f"No complete answer within the {limits.total:g} s total limit (still sending {part}); the capture stopped there."
    problem = stuck or reading.problem
    arrivals = list(reading.arrivals)
    pieces = list(reading.pieces)[: len(arrivals)]
    return Exchange(
        body=b"".join(pieces),
        request=request,
        status=reading.status,
        headers=dict(reading.headers) if reading.headers is not None else None,
        profile=profile,
        scenario=scenario,
        timing=Timing(tuple(arrivals[: len(pieces)]), reading.headers_at),
        problem=problem,
        source=source,
    )

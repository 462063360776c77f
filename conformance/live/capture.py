"""Capture one exchange over the network: bytes and their arrival times, nothing judged.

The endpoint under test is untrusted: the connect, read (silence between two reads) and
total timeouts, and the body limit, bound every capture, and every transport failure is
written into ``Exchange.problem`` (judged by ``capture.complete``) instead of raised.
Times are read with ``perf_counter`` as each piece arrives, before anything parses it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx

from ..exchange import Exchange, Timing

__all__ = ["Limits", "capture"]


@dataclass(frozen=True, slots=True)
class Limits:
    connect: float = 10.0  # seconds to open the connection
    read: float = 30.0  # longest silence between two reads
    total: float = 120.0  # the whole exchange, headers to last byte
    max_body: int = 64 * 1024 * 1024  # bytes kept; a live answer this large is runaway


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
    """POST ``request`` to ``url`` and record the answer as it arrives."""
    pieces: list[bytes] = []
    arrivals: list[tuple[int, float]] = []
    received = 0
    status: int | None = None
    response_headers: dict[str, str] | None = None
    headers_at: float | None = None
    problem: str | None = None
    timeout = httpx.Timeout(limits.read, connect=limits.connect)
    start = time.perf_counter()
    try:
        with client.stream("POST", url, json=request, headers=headers, timeout=timeout) as response:
            headers_at = time.perf_counter() - start
            status = response.status_code
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            # the hot loop: one clock read and two appends per network read, nothing parsed
            clock, keep, stamp = time.perf_counter, pieces.append, arrivals.append
            max_body, deadline = limits.max_body, start + limits.total
            for piece in response.iter_bytes():
                now = clock()
                stamp((received, now - start))
                keep(piece)
                received += len(piece)
                if received > max_body:
                    problem = f"The body passed the {max_body:,}-byte limit; the capture stopped there."
                    break
                if now > deadline:
                    problem = f"The answer was still streaming after the {limits.total:g} s total limit; the capture stopped there."
                    break
    except httpx.HTTPError as exc:  # every transport failure is a finding, never a crash
        problem = _problem(exc, limits, received)
    return Exchange(
        body=b"".join(pieces),
        request=request,
        status=status,
        headers=response_headers,
        profile=profile,
        scenario=scenario,
        timing=Timing(tuple(arrivals), headers_at),
        problem=problem,
        source=source,
    )

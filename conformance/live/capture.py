"""Capture one exchange over the network: bytes and their arrival times, nothing judged.

The endpoint under test is untrusted: connect and read timeouts bound each network
operation, a body limit bounds memory, and a total deadline bounds the whole exchange,
headers included (an endpoint that drips its headers one byte at a time satisfies every
per-read timeout for hours). The read runs in a worker thread so that the deadline holds
whatever the endpoint does; at the deadline the capture shuts the connection's socket down,
so the worker's read returns at once and it leaves holding nothing (a read still waiting for
headers on a reused connection, whose socket is not known, ends at its own read timeout).
The body limit counts decoded bytes as they come: Content-Encoding is undone here, in
bounded steps (decode.py), so a compression bomb is cut at the limit without ever being
inflated past it.
Every transport failure is written into ``Exchange.problem`` (judged by
``capture.complete``), never raised. Times are read with ``perf_counter`` as each piece
arrives, before anything parses it.

Captures may run concurrently (live/ahead.py): each one owns its reader thread, its
``_Reading`` and its clock origin (``start``, taken when this request is sent, not when a
batch of them was planned), so an exchange's arrival times are its own whatever else is in
flight; and each keeps at most ``max_body`` decoded bytes, so N captures in flight hold at
most N times that.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..exchange import Exchange, Timing
from .decode import DecodeError, decoded

__all__ = ["DEFAULT_MAX_BODY", "Limits", "capture"]

# 4 MiB: a chat answer streams ~150-300 bytes per token, so this holds 13,000+ tokens, far
# beyond any scenario's answer (each asks for a sentence, about 40 words or a small JSON
# document). What bounds it is the cost of a runaway answer: every exchange that reaches the
# limit is judged, and a live one is also scrubbed for the key before anything is written.
# Measured on 16 MiB of tiny chunks: judging 3.5 s, scrubbing 14 s, 181 MB traced; an endless
# endpoint fills the limit on all 17 requests of a default run (9 scenarios, 8 variants), so
# at 16 MiB such a run took 276 s against the 150 s a CI job should wait. At 4 MiB the same
# run costs a quarter of that and a 2-core, 7 GB runner judging several at once stays small.
DEFAULT_MAX_BODY = 4 * 1024 * 1024
_GRACE = 1.0  # seconds a stopped worker gets to leave after its socket is shut down
# An endpoint writing one byte per packet makes one arrival pair per byte; past this many
# pairs, reads less than a millisecond after the last pair join it (their bytes are dated
# at most 1 ms early), so the list grows with the stream's duration, not its byte count.
_PAIRS, _COALESCE = 10_000, 0.001


@dataclass(frozen=True, slots=True)
class Limits:
    connect: float = 10.0  # seconds to open the connection
    read: float = 30.0  # longest silence between two reads
    total: float = 120.0  # the whole exchange, request sent to last byte
    max_body: int = DEFAULT_MAX_BODY  # decoded bytes kept; a live answer this large is runaway


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
    sock: Any = None  # the connection's socket, once known: shut down to free an abandoned read
    raw_at: float = 0.0  # arrival time of the latest network read, stamped on what it decodes to

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: remember the socket of a new connection (headers phase)."""
        if event == "connection.connect_tcp.complete":
            self._remember(info.get("return_value"))

    def _remember(self, stream: Any) -> None:
        try:
            sock = stream.get_extra_info("socket") if stream is not None else None
        except Exception:  # a transport without sockets (tests' mocks): nothing to shut down
            sock = None
        if sock is not None:
            self.sock = sock

    def abandon(self) -> None:
        """Stop the worker's read now: a blocked recv returns once its socket is shut down."""
        self.stop = True
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


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


def _raw(response: httpx.Response, r: _Reading, start: float) -> Iterator[bytes]:
    """The body's bytes as they come off the wire, each read's arrival time noted first."""
    clock = time.perf_counter
    for piece in response.iter_raw():
        r.raw_at = clock() - start
        yield piece
        if r.stop:
            return


OnHeaders = Callable[[int, dict[str, str]], None]


def _read(client: httpx.Client, url: str, request: dict[str, Any], headers: dict[str, str], limits: Limits, r: _Reading, start: float,
          on_headers: OnHeaders | None = None) -> None:
    received = 0
    timeout = httpx.Timeout(limits.read, connect=limits.connect)
    try:
        with client.stream("POST", url, json=request, headers=headers, timeout=timeout, extensions={"trace": r.trace}) as response:
            r.headers_at = time.perf_counter() - start
            r._remember(response.extensions.get("network_stream"))
            r.status = response.status_code
            r.headers = {k.lower(): v for k, v in response.headers.items()}
            if on_headers is not None:  # the canary's status line releases the scenarios waiting on it
                on_headers(r.status, dict(r.headers))
            # the hot loop: one clock read per network read, two appends per decoded step, nothing
            # parsed; decoded bytes are counted as they come, so a bomb stops at the limit
            keep, stamp = r.pieces.append, r.arrivals.append
            max_body, deadline = limits.max_body, start + limits.total
            try:
                body = decoded(_raw(response, r, start), response.headers.get("content-encoding"))
            except DecodeError as exc:  # a coding we do not decode: judge the bytes as sent
                r.problem = f"{exc}; the body is judged as sent, undecoded."
                body = _raw(response, r, start)
            for piece in body:
                if received + len(piece) > max_body:
                    stamp((received, r.raw_at))
                    keep(piece[: max_body - received])
                    received = max_body
                    r.problem = f"The body passed the {max_body:,}-byte limit (decoded bytes); the capture kept the first {max_body:,} and stopped there."
                    break
                if len(r.arrivals) < _PAIRS or r.raw_at - r.arrivals[-1][1] >= _COALESCE:
                    stamp((received, r.raw_at))
                keep(piece)
                received += len(piece)
                if r.stop or time.perf_counter() > deadline:
                    r.problem = f"The answer was still streaming after the {limits.total:g} s total limit; the capture stopped there."
                    break
    except DecodeError as exc:
        r.problem = f"The body does not decode as its Content-Encoding says after {received:,} decoded bytes ({exc}); the capture stopped there."
    except httpx.HTTPError as exc:  # every transport failure is a finding, never a crash
        r.problem = _problem(exc, limits, received)
    except Exception as exc:  # a malformed answer that trips the HTTP stack itself
        r.problem = f"The HTTP client failed on the answer {'after ' + format(received, ',') + ' bytes' if received else 'before any body byte'}: {exc.__class__.__name__}: {exc}"
    if r.stop and r.problem is not None and r.problem.startswith(("The connection was dropped", "Transport failure")):
        r.problem = None  # our own shutdown at the deadline, not the endpoint's doing


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
    on_headers: OnHeaders | None = None,
) -> Exchange:
    """POST ``request`` to ``url`` and record the answer as it arrives, within ``limits.total``;
    ``on_headers(status, headers)`` is called (from the reader thread) once they arrive."""
    reading = _Reading()
    # only the codings the capture decodes itself, in bounded steps (decode.py)
    headers = {"accept-encoding": "gzip, deflate", **headers}
    start = time.perf_counter()
    worker = threading.Thread(target=_read, args=(client, url, request, headers, limits, reading, start, on_headers), daemon=True, name="sse-capture")
    worker.start()
    worker.join(limits.total)
    stuck = None
    if worker.is_alive():  # the endpoint outlasted the deadline: keep what arrived, move on
        part = "its headers" if reading.status is None else "its body"
        reading.abandon()  # the read in progress returns (its socket is shut down)...
        worker.join(_GRACE)  # ...or, on a reused connection still in its headers, times out alone
        if worker.is_alive() or reading.status is None or reading.problem is None:
            stuck = f"No complete answer within the {limits.total:g} s total limit (still sending {part}); the capture stopped there."
    problem = stuck or reading.problem
    # a worker still running may add a pair before its piece: pairs past the body are dropped
    body = b"".join(list(reading.pieces))
    reading.pieces.clear()  # an abandoned worker holds nothing it read
    arrivals = [pair for pair in list(reading.arrivals) if pair[0] < len(body)]
    return Exchange(
        body=body,
        request=request,
        status=reading.status,
        headers=dict(reading.headers) if reading.headers is not None else None,
        profile=profile,
        scenario=scenario,
        timing=Timing(tuple(arrivals), reading.headers_at),
        problem=problem,
        source=source,
    )

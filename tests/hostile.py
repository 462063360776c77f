"""A raw HTTP/1.1 endpoint on loopback for hostile-endpoint tests: an asyncio server in a
thread, answering each request with whatever bytes the test's handler writes.

Bounded: it stops accepting after ``max_requests`` and is torn down (connections closed) when
the ``with`` block ends, so no test leaves a server or a thread behind.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Handler = Callable[[int, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Served:
    url: str  # base URL, .../v1
    requests: list[bytes] = field(default_factory=list)  # each request's head and body as received


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head + (await reader.readexactly(length) if length else b"")


@contextmanager
def raw_endpoint(handler: Handler, max_requests: int = 20) -> Iterator[Served]:
    """Serve ``handler(request_number, writer)`` for each request, on 127.0.0.1, port 0."""
    loop = asyncio.new_event_loop()
    served = Served("")
    writers: set[asyncio.StreamWriter] = set()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        try:
            while len(served.requests) < max_requests:
                served.requests.append(await _read_request(reader))
                await handler(len(served.requests), writer)
        except (asyncio.IncompleteReadError, ConnectionError, OSError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass  # the client went away, or the test is over: a cancelled handler ends quietly
        finally:
            writer.close()
            writers.discard(writer)

    server = loop.run_until_complete(asyncio.start_server(on_connection, "127.0.0.1", 0))
    served.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
    thread = threading.Thread(target=loop.run_forever, daemon=True, name="hostile-endpoint")
    thread.start()
    try:
        yield served
    finally:

        async def shutdown() -> None:
            server.close()
            for w in list(writers):
                w.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def head(status: int, reason: str, *headers: tuple[str, str], body: bytes | None = None) -> bytes:
    """A response head (and a body with its length when given)."""
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    if body is not None:
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")

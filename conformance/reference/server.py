"""Serve an ASGI app on a loopback socket in a daemon thread (tests, the CLI's ``serve``).

A real socket, not an in-memory transport: timing, buffering, one-byte writes and dropped
connections only show over one (httpx's ASGITransport holds the whole response until the
app returns).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from .app import quiet_dropped_connections

__all__ = ["serve_in_thread"]

STARTUP_TIMEOUT = 10.0
# Stopping waits this long for open streams (an endless benchmark stream, a client that
# stopped reading) before cancelling them, so leaving the context never hangs a test run.
SHUTDOWN_GRACE = 1
JOIN_TIMEOUT = 5.0


@contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` with uvicorn until the block ends; yields the base URL ``http://HOST:PORT/v1``."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        ws="none",
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
    quiet_dropped_connections()  # after Config, which (re)configures uvicorn's loggers
    if hasattr(app, "closing"):
        app.closing = False
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="reference-endpoint", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the reference endpoint could not start on {host}:{port} (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the reference endpoint did not start within {STARTUP_TIMEOUT} s")
        time.sleep(0.005)
    bound = server.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{bound}/v1"
    finally:
        if hasattr(app, "closing"):
            app.closing = True  # the reference app aborts its open streams at the next event
        server.should_exit = True
        thread.join(JOIN_TIMEOUT)

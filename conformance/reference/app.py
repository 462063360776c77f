"""The reference endpoint as a plain ASGI app: routing, auth, validation, errors, writing.

No framework: the app is small, and owning every ``send`` is what lets faults write one byte
at a time, hold the body back, or abort mid-body. It shares the JSON Schemas with the
checker but never its parser, rules or judge (ARCHITECTURE.md, "Boundaries"): if both sides
shared code, one bug would hide in both.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import orjson

from .events import completion_object, iter_payloads, plan_answer
from .faults import FAULTS, FaultContext, apply_fault, error_kind
from .framing import Wire, error_body, frame
from .validate import RequestError, validate_request

__all__ = ["DroppedConnection", "ReferenceApp", "create_app", "fault_names"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PROFILES = ("sansa", "openai")
MODEL = "sansa-reference"
MAX_BODY = 8 * 1024 * 1024  # a request body is kilobytes; refuse to buffer an unbounded one
FAULT_HEADER = b"x-conformance-fault"


class DroppedConnection(Exception):
    """Raised on purpose by the drop-connection fault: the server then aborts the connection."""


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging a traceback for every drop the fault asked for."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def quiet_dropped_connections() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in logger.filters):
        logger.addFilter(_QuietDrops())


class ReferenceApp:
    """An OpenAI-compatible ``/v1/chat/completions`` that streams as streaming.md says.

    The faults (the app's, or the request's ``X-Conformance-Fault`` header, comma-separated)
    act in order on streamed answers of their scenario kinds only; ``stream: false`` answers
    and errors are never faulted.
    """

    def __init__(self, profile: str, fault: tuple[str, ...], api_key: str, no_credits_key: str, delay: float) -> None:
        self.profile, self.fault, self.delay = profile, fault, delay
        self.api_key, self.no_credits_key = api_key, no_credits_key
        # Set (from any thread) by serve_in_thread when the server stops: open streams then
        # abort their connection at the next event instead of holding the shutdown up.
        self.closing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # when run with lifespan on: acknowledge and wait
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/")
        if method == "GET" and path == "/v1/models":
            models = {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "sse-conformance"}]}
            await self._json(send, 200, orjson.dumps(models))
            return
        if method != "POST" or path != "/v1/chat/completions":
            await self._error(send, 404, "not_found", f"No route for {method} {scope['path']}.")
            return
        body = await self._read_body(receive)
        headers = {k.lower(): v for k, v in scope["headers"]}
        try:
            self._authorize(headers.get(b"authorization", b""))
            if body is None:
                raise RequestError(400, "invalid_request", f"The body exceeds {MAX_BODY} bytes.")
            request = validate_request(body)
            faults = self._fault(headers.get(FAULT_HEADER))
        except RequestError as exc:
            await self._refuse(send, exc, headers.get(FAULT_HEADER))
            return
        answer = plan_answer(request, self.profile)
        if request.get("stream") is not True:
            await self._json(send, 200, orjson.dumps(completion_object(answer, self.profile)))
            return
        options = request.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        wire = Wire(iter_payloads(answer, self.profile, include_usage))
        self._apply(faults, wire, request, answer.kind)
        if wire.refuse is not None:
            await self._answer(send, wire.refuse[0], wire.content_type, wire.refuse[1])
            return
        gone = asyncio.ensure_future(receive())  # completes with http.disconnect when the client leaves
        try:
            await self._stream(send, wire, gone)
        finally:
            gone.cancel()

    def _apply(self, faults: tuple[str, ...], wire: Wire, request: dict[str, Any], kind: str) -> None:
        for spec in faults:
            fault, _, only = spec.partition("@")  # NAME@MODEL: only on requests for that model (a router's one bad route)
            if not only or request.get("model") == only:
                apply_fault(fault, wire, FaultContext(request, self.profile), kind)

    async def _refuse(self, send: Send, exc: RequestError, header: bytes | None) -> None:
        """A pre-stream error, as a wire the faults of its kind (``ERROR_KINDS``) may bend."""
        wire = Wire((), content_type="application/json", refuse=(exc.status, error_body(self.profile, exc.status, exc.code, exc.message, exc.param)))
        try:
            faults = self._fault(header)
        except RequestError:  # the header itself was refused: no fault applies to that answer
            faults = ()
        self._apply(faults, wire, {}, error_kind(exc.code))
        assert wire.refuse is not None
        await self._answer(send, wire.refuse[0], wire.content_type, wire.refuse[1])

    def _authorize(self, header: bytes) -> None:
        scheme, _, key = header.decode("latin-1").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key or key not in (self.api_key, self.no_credits_key):
            raise RequestError(401, "invalid_api_key", "Missing or invalid API key: send Authorization: Bearer KEY.")
        if key == self.no_credits_key:
            raise RequestError(402, "insufficient_credits", "Insufficient credits. This key has no credits left.")

    def _fault(self, header: bytes | None) -> tuple[str, ...]:
        if header is None:
            return self.fault
        names = fault_names(header.decode("latin-1"))
        if names == ("none",):
            return ()
        for name in names:
            if name.partition("@")[0] not in FAULTS:
                raise RequestError(400, "unknown_fault", f"Unknown fault {name!r} in X-Conformance-Fault.")
        return names

    @staticmethod
    async def _read_body(receive: Receive) -> bytes | None:
        parts, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return None
            parts.append(chunk)
            if not message.get("more_body"):
                return b"".join(parts)

    async def _json(self, send: Send, status: int, body: bytes) -> None:
        await self._answer(send, status, "application/json", body)

    async def _answer(self, send: Send, status: int, content_type: str, body: bytes) -> None:
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _error(self, send: Send, status: int, code: str, message: str, param: str | None = None) -> None:
        await self._json(send, status, error_body(self.profile, status, code, message, param))

    async def _stream(self, send: Send, wire: Wire, gone: asyncio.Future[Any]) -> None:
        """Event by event with ``delay`` between, unless the wire says otherwise."""
        headers = [(b"content-type", wire.content_type.encode()), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        pieces = frame(wire)
        if wire.buffered:
            await asyncio.sleep(wire.buffered)
            pieces = iter([b"".join(pieces)])
        for n, piece in enumerate(pieces):
            if gone.done():
                return  # the client left: stop generating (sends after a disconnect are dropped)
            if self.closing:
                raise DroppedConnection("the server is stopping")
            if n and self.delay and not wire.buffered:
                await asyncio.sleep(self.delay)
            if wire.byte_per_write:
                for i in range(len(piece)):
                    await send({"type": "http.response.body", "body": piece[i : i + 1], "more_body": True})
                    await asyncio.sleep(0)  # let the loop flush each byte on its own
            else:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
                if not self.delay and n % 4 == 3:
                    # delay 0 (benchmarks): give the loop a turn, so a disconnect is noticed
                    # before asyncio starts logging writes to a dead socket (after 5)
                    await asyncio.sleep(0)
        if wire.drop:
            raise DroppedConnection("drop-connection fault: abort mid-body")
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def fault_names(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"a,b"``, ``["a", "b,c"]`` or None -> the fault names, in order."""
    if value is None:
        return ()
    parts = [value] if isinstance(value, str) else list(value)
    return tuple(name.strip() for part in parts for name in part.split(",") if name.strip())


def create_app(
    profile: str = "sansa",
    fault: str | Sequence[str] | None = None,
    api_key: str = "sk-reference",
    no_credits_key: str = "sk-no-credits",
    delay: float = 0.002,
) -> ReferenceApp:
    """The reference endpoint; ``fault`` (FAULTS names: one, several, or comma-separated)
    acts on every request of its kinds, the faults applied in the order given; ``NAME@MODEL``
    acts only on requests for that model."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    faults = fault_names(fault)
    for name in faults:
        if name.partition("@")[0] not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
    if delay < 0:
        raise ValueError("delay must be >= 0")
    quiet_dropped_connections()
    return ReferenceApp(profile, faults, api_key, no_credits_key, delay)

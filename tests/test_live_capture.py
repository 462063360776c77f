"""Live capture against hostile endpoints on a real socket: every failure is a finding, no hang.

Each endpoint here is a few lines of raw ASGI served by uvicorn on 127.0.0.1, port 0.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from conformance import judge
from conformance.findings import FAIL, NA
from conformance.live import Limits, capture
from conformance.live.config import Settings, load_settings
from conformance.live.runner import run_scenario
from conformance.live.scenarios import SCENARIOS
from conformance.redact import MASK, Scrubber

from .conftest import stream_body, text_stream

reference = pytest.importorskip("conformance.reference")

App = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]], Awaitable[None]]


def asgi(status: int, content_type: str, chunks: Callable[[], Any]) -> App:
    """A raw ASGI app: `chunks` is an async generator of body pieces (or sleeps)."""

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type.encode())]})
        async for piece in chunks():
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c


def run(client: httpx.Client, app: App, limits: Limits = Limits()) -> Any:
    with reference.serve_in_thread(app) as url:
        return capture(client, url + "/chat/completions", {"model": "m", "stream": True}, {}, limits)


def failed(exchange: Any) -> set[str]:
    return {r.rule for r in judge(exchange).results if r.status == FAIL}


def test_connection_refused_is_one_finding(client: httpx.Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ex = capture(client, f"http://127.0.0.1:{port}/v1/chat/completions", {}, {}, Limits(connect=1))
    assert "Could not connect" in (ex.problem or "")
    verdict = judge(ex)
    assert failed(ex) == {"capture.complete"}
    assert verdict.result("sse.done").status == NA  # type: ignore[union-attr]


def test_a_hanging_endpoint_times_out(client: httpx.Client) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b": hello\n\n"
        await asyncio.sleep(30)
        yield b""

    start = time.perf_counter()
    ex = run(client, asgi(200, "text/event-stream", chunks), Limits(read=0.3))
    assert time.perf_counter() - start < 5
    assert "went silent for 0.3 s after 9 bytes" in (ex.problem or "")
    assert "capture.complete" in failed(ex)


def test_a_trickling_endpoint_is_cut_at_the_total_limit(client: httpx.Client) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        while True:
            yield b": still here\n"
            await asyncio.sleep(0.05)

    start = time.perf_counter()
    ex = run(client, asgi(200, "text/event-stream", chunks), Limits(read=2, total=0.5))
    assert time.perf_counter() - start < 5
    assert "total limit" in (ex.problem or "")


def test_body_limit(client: httpx.Client) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(50):
            yield b"data: " + b"x" * 10_000 + b"\n\n"

    ex = run(client, asgi(200, "text/event-stream", chunks), Limits(max_body=100_000))
    assert "byte limit" in (ex.problem or "") and len(ex.body) <= 110_000


def test_an_html_error_page_is_a_pre_stream_finding(client: httpx.Client) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b"<html><body><h1>502 Bad Gateway</h1></body></html>"

    ex = run(client, asgi(502, "text/html", chunks))
    assert ex.status == 502 and ex.problem is None
    assert failed(ex) == {"error.pre-stream-shape"}


def test_a_json_200_is_not_an_event_stream(client: httpx.Client) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield json.dumps({"choices": [{"message": {"content": "hi"}}]}).encode()

    ex = run(client, asgi(200, "application/json", chunks))
    assert {"sse.content-type", "sse.done"} <= failed(ex)


def test_arrival_times_are_taken_as_bytes_arrive(client: httpx.Client) -> None:
    body = stream_body(*text_stream("a", "b", "c", "d"))
    events = body.split(b"\n\n")

    async def chunks():  # type: ignore[no-untyped-def]
        for e in events[:-1]:
            yield e + b"\n\n"
            await asyncio.sleep(0.1)

    ex = run(client, asgi(200, "text/event-stream", chunks))
    times = [t for _, t in ex.timing.arrivals]  # type: ignore[union-attr]
    assert len(times) >= 5 and times[-1] - times[0] >= 0.45
    assert ex.timing.headers_at is not None and ex.timing.headers_at <= times[0]  # type: ignore[union-attr]
    assert judge(ex).ok


def test_the_capture_keeps_an_echoed_key_and_the_writer_stars_it(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """Judge what arrived (the capture is byte-exact), redact what is written (the scrubber)."""
    secret = "sk-live-DO-NOT-LEAK-1234"

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        await receive()
        auth = dict(scope["headers"]).get(b"authorization", b"")
        await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"application/json"), (b"x-echo", auth), (b"authorization", auth)]})
        await send({"type": "http.response.body", "body": json.dumps({"error": {"code": "bad_key", "message": f"key {auth.decode()} refused"}}).encode()})

    monkeypatch.setenv("MY_KEY", secret)
    with reference.serve_in_thread(app) as url:
        settings = load_settings({"endpoint": url, "api_key_env": "MY_KEY"}, env={"MY_KEY": secret})
        raw = run_scenario(client, settings, SCENARIOS["text"])
    assert secret.encode() in raw.body
    ex = Scrubber([secret]).exchange(raw)
    text = ex.body.decode() + json.dumps(ex.headers) + json.dumps(ex.request)
    assert secret not in text and "*" * len(secret) in ex.body.decode() and len(ex.body) == len(raw.body)
    assert ex.headers["authorization"] == MASK  # type: ignore[index]


def test_settings_precedence(tmp_path: Any) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.sse-conformance]\nmodel = "from-file"\nprofile = "openai"\nskip = ["reasoning"]\n')
    s = load_settings({"model": "from-cli"}, env={"SSE_CONFORMANCE_PROFILE": "sansa", "SSE_CONFORMANCE_API_KEY": "k"}, pyproject=pyproject)
    assert (s.model, s.profile, s.api_key, s.skip) == ("from-cli", "sansa", "k", {"reasoning": "skipped by configuration"})
    assert Settings(endpoint="https://user:pw@api.example.com/v1?x=1").display_url == "https://api.example.com/v1/chat/completions"


def test_delivery_figures_are_derived_from_arrival_times(client: httpx.Client) -> None:
    body = stream_body(*text_stream("a", "b", "c"))
    events = body.split(b"\n\n")[:-1]

    async def chunks():  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.2)
        for e in events:
            yield e + b"\n\n"
            await asyncio.sleep(0.05)

    t = judge(run(client, asgi(200, "text/event-stream", chunks))).timing
    assert t is not None
    assert t["events"] == 6 and t["chunks"] == 5
    assert t["headers"] <= t["first_event"] and t["first_event"] >= 0.2
    assert t["first_content"] > t["first_event"]  # the role chunk carries no content
    assert 0.04 <= t["mean_gap"] <= t["max_gap"] < 1 and t["total"] >= t["first_content"]


def test_headers_dripped_byte_by_byte_cannot_outlast_the_total_limit(client: httpx.Client) -> None:
    """Every per-read timeout is met (a byte every 0.1 s), yet the exchange must end on time."""

    stopped = False

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000:
            if stopped:
                break
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.1)
        writer.close()

    import threading

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(drip, "127.0.0.1", 0))
    port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        start = time.perf_counter()
        ex = capture(client, f"http://127.0.0.1:{port}/v1/chat/completions", {}, {}, Limits(read=1, total=1.0))
        assert time.perf_counter() - start < 2.5
        assert "still sending its headers" in (ex.problem or "")
        assert failed(ex) == {"capture.complete"}
    finally:
        stopped = True
        time.sleep(0.3)
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(2)
        loop.close()


@pytest.mark.parametrize(
    ("options", "env", "says"),
    [
        ({"timeout": -1}, {}, "positive number"),
        ({"timeout": float("nan")}, {}, "positive number"),
        ({"endpoint": "http://127.0.0.1:99999/v1"}, {}, "out of range"),
        ({"endpoint": "ftp://host/v1"}, {}, "http:// or https://"),
        ({"skip": "structured"}, {}, "list of scenario names"),
        ({"skip": ["reasonning"]}, {}, "unknown scenario"),
        ({"reasoning": "low"}, {}, "must be a table"),
        ({}, {"SSE_CONFORMANCE_API_KEY": "sk-secret\n"}, "control character"),
        ({}, {"SSE_CONFORMANCE_API_KEY": "sk-sécret"}, "non-ASCII"),
    ],
)
def test_bad_settings_are_one_usage_error(options: dict[str, Any], env: dict[str, str], says: str) -> None:
    from conformance.errors import UsageError

    with pytest.raises(UsageError, match=says) as info:
        load_settings(options, env=env)
    assert "sk-s" not in str(info.value)  # the message never quotes the key


def test_the_key_is_never_in_the_settings_repr() -> None:
    assert "sk-hidden" not in repr(load_settings({}, env={"SSE_CONFORMANCE_API_KEY": "sk-hidden"}))

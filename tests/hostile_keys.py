"""Hostile endpoints on loopback for the hostile-endpoint tests, and the leak search.

Each endpoint is a tiny ASGI app served by uvicorn on 127.0.0.1, port 0 (the reference
endpoint's ``serve_in_thread``). Every answer is a fixed, bounded list of bytes; the app
counts the requests it got, so a test can prove that each scenario was sent exactly once.

What a leak is (``pieces``): for a key of 8 characters or more, any 4-character substring
of it anywhere in a written file or the console; for a shorter key, the key written between
the echo markers ``~~`` that the endpoint puts around it (a one-letter key such as ``x``
occurs in every report's own words, so only the endpoint's echo of it can be a leak).
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conformance.reference import serve_in_thread

MARK = "~~"  # the endpoint writes the key between these
KEY_ENV = "SSE_CONFORMANCE_HOSTILE_KEY"

Answer = Callable[[dict[str, Any], str], tuple[int, dict[str, str], list[bytes]]]


class Endpoint:
    """An ASGI app answering every POST with ``answer(request, key)``; counts requests."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body") or len(body) > 1_000_000:
                break
        self.requests += 1
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        key = auth.split(" ", 1)[1] if " " in auth else auth
        try:
            request = json.loads(body)
        except ValueError:
            request = {}
        status, headers, pieces = self.answer(request if isinstance(request, dict) else {}, key)
        await send({"type": "http.response.start", "status": status, "headers": [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]})
        for piece in pieces:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@contextmanager
def serving(answer: Answer) -> Iterator[tuple[str, Endpoint]]:
    app = Endpoint(answer)
    with serve_in_thread(app) as url:
        yield url, app


def chunk(content: str | None = None, index: int = 0, finish: str | None = None, role: bool = False, **top: Any) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role:
        delta["role"] = "assistant"
    if content is not None:
        delta["content"] = content
    return {"id": "chatcmpl-h", "object": "chat.completion.chunk", "created": 1, "model": "hostile",
            "choices": [{"index": index, "delta": delta, "finish_reason": finish}], **top}


def sse(*payloads: Any) -> list[bytes]:
    out = [f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n".encode() for p in payloads]
    return out + [b"data: [DONE]\n\n"]


STREAM = {"content-type": "text/event-stream"}


def always_500(request: dict[str, Any], key: str) -> tuple[int, dict[str, str], list[bytes]]:
    """A 500 to every request, echoing the key in its body and a header."""
    body = {"error": {"code": "internal", "message": f"upstream refused {MARK}{key}{MARK} (Bearer {MARK}{key}{MARK})"}}
    return 500, {"content-type": "application/json", "x-echo": f"{MARK}{key}{MARK}"}, [json.dumps(body).encode()]


def run_cli(*args: str, key: str | None, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``sse-conformance ARGS`` in a child process (what a user runs), the key in KEY_ENV."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    if key is not None:
        env[KEY_ENV] = key
    return subprocess.run([sys.executable, "-m", "conformance.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def live_run(url: str, key: str, reports: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("run", "--endpoint", url, "--api-key-env", KEY_ENV, "--reports", str(reports), "--variants", "0",
                   "--timeout", "20", *extra, key=key, cwd=reports.parent)


def pieces(key: str) -> list[str]:
    """What must never be written of ``key`` (see the module docstring)."""
    if len(key) >= 8:
        return sorted({key[i : i + 4] for i in range(len(key) - 3)})
    return [f"{MARK}{key}{MARK}", f"{MARK}{key}", f"{key}{MARK}"]


def readable(path: Path) -> str:
    """A written file as a reader sees it: HTML and XML entities and JSON escapes undone."""
    text = path.read_bytes().decode("utf-8", "replace")
    if path.suffix in (".html", ".xml"):
        text = html.unescape(html.unescape(text))
    if path.suffix == ".json":
        try:
            text += "\n" + json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            pass
    return text


def leaks(key: str, files: list[Path], *streams: str) -> list[tuple[str, str]]:
    """(where, piece) for every piece of ``key`` found in the files or the console text."""
    found = []
    for path in files:
        text = readable(path)
        found += [(str(path), p) for p in pieces(key) if p in text]
    for n, text in enumerate(streams):
        found += [(f"console #{n}", p) for p in pieces(key) if p in text]
    return found


def written(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())

"""One replay step for a run: every requested client over every exchange.

``Replayer.replay(exchange)`` returns ``{client: reading}`` for one exchange; a run keeps one
Replayer (and so one Node process) for all its exchanges and closes it at the end.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from ..engine import assembled
from ..exchange import Exchange
from ..profiles import get_profile
from .app import Reading, skipped
from .names import NODE_CLIENTS, PYTHON_CLIENTS
from .node import NodeProcess, node_versions
from .python_clients import PYTHON_REPLAYS, python_versions, unavailable

__all__ = ["PIECES_NOTE", "Replayer", "client_versions", "pieces"]

PIECES_NOTE = ("each body is served in the pieces it arrived in (its arrival times); "
               "a recording without arrival times is served as one piece")


def pieces(exchange: Exchange) -> list[bytes]:
    """The body split where the network split it (``timing.arrivals`` offsets); one piece
    when no arrival times were captured; none for an empty body."""
    body = exchange.body
    if not body:
        return []
    offsets = sorted({0, *(o for o, _ in (exchange.timing.arrivals if exchange.timing else ()) if 0 < o < len(body))})
    return [body[a:b] for a, b in zip(offsets, [*offsets[1:], len(body)])]


def _tools(exchange: Exchange, called: Sequence[str]) -> list[str]:
    """Tool names the Node harness declares (the AI SDK refuses calls to undeclared tools):
    the request's, plus any the stream calls (a bare recording has no request)."""
    names: list[str] = []
    for tool in (exchange.request or {}).get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            names.append(fn["name"])
    return list(dict.fromkeys([*names, *called]))


def _called(exchange: Exchange) -> list[str]:
    """Names of the functions the stream calls, by the spec's reading."""
    try:
        message = assembled(exchange, get_profile(exchange.profile))
        return [t.name for m in message.values() for t in m.tool_calls if t.name]
    except Exception:  # a stream the suite cannot read declares nothing; the rules report it
        return []


class Replayer:
    """Replays exchanges through the requested clients; a context manager (the Node process)."""

    def __init__(self, clients: Sequence[str]) -> None:
        self.clients = tuple(clients)
        self.node = NodeProcess()

    def replay(self, exchange: Exchange) -> dict[str, Reading]:
        if not self.clients:
            return {}
        if not exchange.is_stream or (exchange.problem and not exchange.body and exchange.headers is None):
            reason = "no stream to replay (a non-2xx answer or no response)"
            return {c: skipped(reason) for c in self.clients}
        parts = pieces(exchange)
        status = exchange.status or 200
        ctype = exchange.header("content-type") or "text/event-stream"
        out: dict[str, Reading] = {}
        for name in self.clients:
            if name in PYTHON_CLIENTS:
                why = unavailable(name)
                with warnings.catch_warnings():
                    # a client's own warnings (pydantic on an unexpected field type) are not
                    # what it ends up with; under `-W error` they would pass for a crash
                    warnings.simplefilter("ignore")
                    out[name] = skipped(why) if why else PYTHON_REPLAYS[name](parts, status, ctype)
        node = [c for c in self.clients if c in NODE_CLIENTS]
        if node:
            out.update(self.node.replay(parts, status, ctype, _tools(exchange, _called(exchange)), node))
        return {c: out[c] for c in self.clients}

    def versions(self) -> dict[str, Any]:
        return client_versions(self.clients, self.node.folder)

    def close(self) -> None:
        self.node.close()

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def client_versions(clients: Sequence[str], folder: Any = None) -> dict[str, Any]:
    """What the replay ran on, for every report: {client: "package version"}, and the runtimes."""
    if not clients:
        return {}
    py = python_versions()
    out: dict[str, Any] = {}
    nodes: dict[str, str | None] = node_versions(folder) if any(c in NODE_CLIENTS for c in clients) else {}
    for c in clients:
        if c.startswith("openai-python"):
            http = f"httpx2 {py['httpx2']}" if py.get("httpx2") else f"httpx {py['httpx']}"
            out[c] = f"openai {py['openai']} ({http})" if py["openai"] else "openai not installed"
        elif c == "httpx-sse":
            out[c] = f"httpx-sse {py['httpx-sse']} (httpx {py['httpx']})"
        elif c.startswith("openai-node"):
            out[c] = f"openai {nodes.get('openai')} (node {nodes.get('node')})" if nodes.get("openai") else "not installed (npm ci on first use)"
        elif c == "vercel-ai":
            out[c] = (f"ai {nodes.get('ai')} + @ai-sdk/openai-compatible {nodes.get('@ai-sdk/openai-compatible')} (node {nodes.get('node')})"
                      if nodes.get("ai") else "not installed (npm ci on first use)")
    return out

"""Run one scenario against the configured endpoint: build the request, capture.

The capture comes back byte-exact, key and all: it is judged as it arrived, and every writer
scrubs it on the way out (``redact.Scrubber``). Redacting before judging made a short key
(``null``, ``stop``) change the verdict."""

from __future__ import annotations

from typing import Any

import httpx

from .. import __version__
from ..exchange import Exchange
from .capture import Limits, capture
from .config import Settings
from .scenarios import BAD_KEY, Scenario

__all__ = ["capture_request", "limits_for", "new_client", "run_scenario"]


def limits_for(settings: Settings) -> Limits:
    return Limits(read=min(settings.read_timeout, settings.timeout), total=settings.timeout)


def new_client() -> httpx.Client:
    """One client per run: connection reuse, no redirects followed (a redirect is an answer)."""
    return httpx.Client(follow_redirects=False, headers={"user-agent": f"sse-conformance/{__version__}"})


def capture_request(
    client: httpx.Client, settings: Settings, request: dict[str, Any], *, key: str | None = None, tag: str | None = None, source: str = "<live>"
) -> Exchange:
    """Send one request with the configured key (or ``key``) and capture it, unredacted."""
    headers = {"content-type": "application/json", "accept": "text/event-stream", **settings.headers}
    key = key or settings.api_key
    if key:
        headers["authorization"] = f"Bearer {key}"
    return capture(client, settings.url, request, headers, limits_for(settings), scenario=tag, profile=settings.profile, source=source)


def run_scenario(client: httpx.Client, settings: Settings, scenario: Scenario) -> Exchange:
    key = BAD_KEY if scenario.bad_key else None
    return capture_request(client, settings, scenario.request(settings), key=key, tag=scenario.tag, source=f"live/{scenario.name}")

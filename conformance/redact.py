"""Secrets never leave the process: API keys are cut out of everything we write.

Applied to every exchange before it is saved or reported: credential-like headers lose their
value, and the key's own value is replaced wherever it appears (body, request, headers,
problem text), in case an endpoint echoes it back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from .exchange import Exchange

__all__ = ["MASK", "SECRET_HEADERS", "redact", "redact_text"]

MASK = "[REDACTED]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"})


def redact_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def _redact_json(value: Any, secrets: list[str]) -> Any:
    # a round trip through JSON text catches the key in any string, key or nested value
    return json.loads(redact_text(json.dumps(value, ensure_ascii=False), [json.dumps(s)[1:-1] for s in secrets]))


def redact(exchange: Exchange, secrets: Iterable[str | None]) -> Exchange:
    """A copy of ``exchange`` with credential headers masked and every secret value replaced."""
    keys = [s for s in secrets if s]
    headers = None
    if exchange.headers is not None:
        headers = {
            name: MASK if name.lower() in SECRET_HEADERS else redact_text(value, keys)
            for name, value in exchange.headers.items()
        }
    body = exchange.body
    for key in keys:
        body = body.replace(key.encode(), MASK.encode())
    return dataclasses.replace(
        exchange,
        body=body,
        headers=headers,
        request=_redact_json(exchange.request, keys) if exchange.request is not None and keys else exchange.request,
        problem=redact_text(exchange.problem, keys) if exchange.problem else exchange.problem,
        extra=_redact_json(exchange.extra, keys) if keys else exchange.extra,
    )

"""Secrets never leave the process: API keys are cut out of everything we write.

Applied to every live exchange before it is judged, saved or reported: credential-like
headers lose their value, and the key is replaced wherever it appears: as raw bytes, in
the escaped forms a JSON encoder writes (``\\/``, ``\\u002d``...), inside any event whose
JSON *decodes* to a string holding the key, however it was escaped, and split over several
events (those events are re-serialised with the key's characters starred out). Byte offsets
move when a replacement is shorter or longer, so arrival times are remapped to the new body:
timings stay true after redaction.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable
from typing import Any

from .exchange import Exchange, Timing
from .sse import parse

__all__ = ["MASK", "SECRET_HEADERS", "redact", "redact_text", "scrub"]

MASK = "[REDACTED]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"})

Span = tuple[int, int, bytes]  # replace body[start:end] with the bytes


def redact_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def scrub(value: Any, secrets: Iterable[str | None]) -> Any:
    """Any JSON-like value with every string (keys included) redacted."""
    keys = [s for s in secrets if s]
    if not keys:
        return value
    if isinstance(value, str):
        return redact_text(value, keys)
    if isinstance(value, list):
        return [scrub(v, keys) for v in value]
    if isinstance(value, dict):
        return {scrub(k, keys): scrub(v, keys) for k, v in value.items()}
    return value


def _forms(key: str) -> set[bytes]:
    """The key as bytes, raw and as JSON encoders commonly escape it."""
    forms = {key.encode(), json.dumps(key)[1:-1].encode(), key.replace("/", "\\/").encode()}
    for fmt in ("\\u{:04x}", "\\u{:04X}"):
        forms.add("".join(fmt.format(ord(c)) for c in key).encode())
    return forms


def _contains(value: Any, keys: list[str]) -> bool:
    if isinstance(value, str):
        return any(k in value for k in keys)
    if isinstance(value, list):
        return any(_contains(v, keys) for v in value)
    if isinstance(value, dict):
        return any(_contains(k, keys) or _contains(v, keys) for k, v in value.items())
    return False


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    """Every string in a JSON value, with its path, in document order."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    return []


def _set(value: Any, path: tuple[Any, ...], new: str) -> None:
    for step in path[:-1]:
        value = value[step]
    value[path[-1]] = new


def _event_rewrites(body: bytes, keys: list[str]) -> dict[tuple[int, int], Any]:
    """Events to re-serialise: their JSON holds a key, whole (however escaped) or split over
    several events (an endpoint that echoes the key token by token). For a split key, the
    strings at the same path in successive events are read as one text, as a client
    concatenates them, and every character of an occurrence is starred out where it came."""
    decoded = []
    for event in parse(body).events:
        try:
            decoded.append((event, json.loads(event.data)))
        except ValueError:
            continue
    rewrites: dict[tuple[int, int], Any] = {}
    # one text per field path (choices[0].delta.content, ...): what a client concatenates
    streams: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
    for n, (event, value) in enumerate(decoded):
        if _contains(value, keys):
            rewrites[(event.offset, event.end)] = scrub(value, keys)
            continue
        for path, text in _leaves(value):
            streams.setdefault(path, []).append((n, text))
    for path, pieces in streams.items():
        text = "".join(piece for _, piece in pieces)
        hits = [(i, i + len(key)) for key in keys for i in _find_all(text, key)]
        begin = 0
        for n, piece in pieces:
            end = begin + len(piece)
            if any(a < end and b > begin for a, b in hits):
                masked = "".join("*" if any(a <= begin + i < b for a, b in hits) else c for i, c in enumerate(piece))
                event, value = decoded[n]
                _set(rewrites.setdefault((event.offset, event.end), value), path, masked)
            begin = end
    return rewrites


def _find_all(text: str, key: str) -> list[int]:
    out, at = [], text.find(key)
    while at >= 0:
        out.append(at)
        at = text.find(key, at + 1)
    return out


def _spans(body: bytes, keys: list[str]) -> list[Span]:
    rewrites = _event_rewrites(body, keys)
    spans: list[Span] = [(a, b, b"data: " + json.dumps(v).encode() + b"\n") for (a, b), v in rewrites.items()]
    for key in keys:  # raw and escaped forms anywhere else (comments, non-JSON bodies)
        for form in _forms(key):
            at = body.find(form)
            while at >= 0:
                if not any(a <= at < b for a, b in rewrites):
                    spans.append((at, at + len(form), MASK.encode()))
                at = body.find(form, at + len(form))
    return spans


def _apply(body: bytes, spans: list[Span]) -> tuple[bytes, Callable[[int], int]]:
    """Replace non-overlapping spans (the earliest, then the longest, wins); return the new
    body and a map from old offsets to new ones."""
    kept: list[Span] = []
    for span in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
        elif span[1] > kept[-1][1]:  # overlapping: widen to one replacement
            kept[-1] = (kept[-1][0], span[1], MASK.encode()) if span[2] == MASK.encode() == kept[-1][2] else (kept[-1][0], span[1], span[2])
    out, pos = [], 0
    for start, end, new in kept:
        out += [body[pos:start], new]
        pos = end
    out.append(body[pos:])

    def remap(offset: int) -> int:
        shift = 0
        for start, end, new in kept:
            if offset >= end:
                shift += len(new) - (end - start)
            elif offset > start:
                return start + shift
            else:
                break
        return offset + shift

    return b"".join(out), remap


def redact(exchange: Exchange, secrets: Iterable[str | None]) -> Exchange:
    """A copy of ``exchange`` with credential headers masked and every secret replaced."""
    keys = [s for s in secrets if s]
    headers = None
    if exchange.headers is not None:
        headers = {
            name: MASK if name.lower() in SECRET_HEADERS else redact_text(value, keys)
            for name, value in exchange.headers.items()
        }
    body, timing = exchange.body, exchange.timing
    if keys:
        body, remap = _apply(exchange.body, _spans(exchange.body, keys))
        if timing is not None and body != exchange.body:
            timing = Timing(tuple((remap(o), t) for o, t in timing.arrivals), timing.headers_at)
    return dataclasses.replace(
        exchange,
        body=body,
        headers=headers,
        timing=timing,
        request=scrub(exchange.request, keys),
        problem=redact_text(exchange.problem, keys) if exchange.problem else exchange.problem,
        extra=scrub(exchange.extra, keys),
    )

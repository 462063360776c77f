"""Payloads -> bytes on the wire, written by our own framer (never the checker's parser).

``Wire`` is everything about one response a fault may change besides the payloads: the
media type, the line ending, comments, ``data:`` style, a byte-level edit, a block
before the first event, and how the bytes are written (event by event, one byte per write,
all at once after a pause, or cut off), or an answer sent instead of the stream (``refuse``:
a status and a body, for the faults that break pre-stream answers). The framer
turns each payload into one event's bytes; the writer in ``app.py`` sends them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["STREAM_CONTENT_TYPE", "Wire", "error_body", "frame"]

STREAM_CONTENT_TYPE = "text/event-stream; charset=utf-8"


@dataclass
class Wire:
    """One streamed response, before framing. Faults edit it; the default is conformant."""

    payloads: Iterable[dict[str, Any] | str]
    content_type: str = STREAM_CONTENT_TYPE
    eol: str = "\n"
    # The ending of the body's very last line, where it must differ from ``eol``: a body
    # that ends in a lone CR is a compat.no-trailing-cr warning, so CR framing ends in CRLF.
    last_eol: str | None = None
    comment: str | None = None  # a comment line written before every event (keep-alives)
    data_space: bool = True  # "data: x" rather than "data:x"
    multiline: bool = False  # each payload pretty-printed over several data: lines
    byte_per_write: bool = False
    buffered: float = 0.0  # hold the whole body this long, then send it in one write
    drop: bool = False  # abort the connection after the payloads instead of ending the body
    bom: bool = False  # a UTF-8 BOM before the first byte (legal, yet clients drop the first event)
    # (old, new): replaced in every framed event's bytes, as a broken transcoder would
    # (b"\xc3\xa9" -> b"\xe9": the UTF-8 of é becomes its Latin-1 byte, not UTF-8)
    mangle: tuple[bytes, bytes] | None = None
    preamble: str | None = None  # the lines of one block written before the first event ("event: ping")
    # (status, body): answer this instead of the stream, in ``content_type`` (a refused
    # request, a gateway's error page); the pre-stream errors are wires of this kind too
    refuse: tuple[int, bytes] | None = None

    def materialize(self) -> list[Any]:
        """The payloads as a list (dicts and ``"[DONE]"``), for faults that edit them in place."""
        if not isinstance(self.payloads, list):
            self.payloads = list(self.payloads)
        return self.payloads


def _lines(payload: dict[str, Any] | str, multiline: bool) -> list[str]:
    if isinstance(payload, str):
        return [payload]
    if multiline:
        # A line break between JSON tokens is whitespace, so the joined data is the same
        # object; indent=1 never produces an empty line.
        return json.dumps(payload, indent=1, ensure_ascii=False).split("\n")
    return [orjson.dumps(payload).decode()]


def _bytes(text: str, wire: Wire) -> bytes:
    data = text.encode()
    return data if wire.mangle is None else data.replace(*wire.mangle)


def frame(wire: Wire) -> Iterator[bytes]:
    """One ``bytes`` per event: optional comment, data lines, the dispatching blank line."""
    prefix = "data: " if wire.data_space else "data:"
    eol = wire.eol
    comment = f"{wire.comment}{eol}" if wire.comment is not None else ""
    previous: str | None = None
    head = "\ufeff" if wire.bom else ""  # written before the first event; U+FEFF encodes as EF BB BF
    if wire.preamble is not None:
        head += "".join(f"{line}{eol}" for line in wire.preamble.split("\n")) + eol
    for payload in wire.payloads:
        if previous is not None:
            yield _bytes(previous, wire)
        body = "".join(f"{prefix}{line}{eol}" for line in _lines(payload, wire.multiline))
        previous = f"{head}{comment}{body}{eol}"
        head = ""
    if previous is not None:
        if wire.last_eol is not None:
            previous = previous[: -len(eol)] + wire.last_eol
        yield _bytes(previous, wire)


def error_body(profile: str, status: int, code: str, message: str, param: str | None = None) -> bytes:
    """sansa: {error: {code, message}}; openai: {error: {message, type, param, code}}."""
    if profile == "openai":
        kind = {401: "authentication_error", 402: "insufficient_quota"}.get(status, "invalid_request_error")
        return orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}})
    return orjson.dumps({"error": {"code": code, "message": message}})

"""Faults that change how the payloads travel: headers, delivery, and the legal framings.

The legal framings are what a careful client must accept (CRLF, lone CR, comments,
``data:`` without a space, multi-line data, one byte per write); the others break delivery.
The refusals answer with an error (or a gateway's page) instead of the stream, or bend the
endpoint's own pre-stream errors (the ``ERROR_KINDS``).
"""

from __future__ import annotations

from typing import Any

from .framing import Wire, error_body
from .payload_faults import _chunks, _delta, _error, _non_ascii, _with, cut
from .registry import ALL_KINDS, TEXT, FaultContext, fault

# ---- headers and delivery -----------------------------------------------------------------


@fault("wrong-content-type", "The stream is sent as application/json.", ("sse.content-type",), TEXT)
def _content_type(wire: Wire, ctx: FaultContext) -> None:
    wire.content_type = "application/json"


@fault(
    "buffered",
    "Headers at once, then the whole body in one write after 0.7 s (on the answers long enough to judge, "
    "not the 5-token length one).",
    ("sse.incremental",),
    ("text", "stream-options"),
)
def _buffered(wire: Wire, ctx: FaultContext) -> None:
    wire.buffered = 0.7


@fault(
    "drop-connection",
    "The role chunk and two content chunks, then the connection is aborted mid-body "
    "(capture.complete is the live client's finding about the broken transfer).",
    ("capture.complete", "chunk.finish-reason-once", "sse.done", "usage.present-last"),
    TEXT,
)
def _drop(wire: Wire, ctx: FaultContext) -> None:
    cut(wire.materialize())
    wire.drop = True


@fault(
    "bom-content",
    "A UTF-8 BOM before a first event that carries the first word with the role: the clients that drop "
    "that event lose content (an error).",
    ("compat.no-bom",),
    TEXT,
)
def _bom_content(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    first, word = _chunks(ps)[0], _with(ps, "content")[0]
    _delta(ps[first])["content"] = _delta(ps[word])["content"]
    del ps[word]
    wire.bom = True


@fault(
    "error-trailing-cr",
    "After two content chunks a proper error event ends the body, its blank line a lone CR: "
    "eventsource-parser never dispatches the error (under openai, where an error may end a stream, "
    "that is the only fault).",
    ("compat.no-trailing-cr", "error.done-after", "sse.done"),
    TEXT,
)
def _error_trailing_cr(wire: Wire, ctx: FaultContext) -> None:
    ps: list[Any] = wire.materialize()
    cut(ps)
    ps.append(_error(ctx, "error"))
    wire.last_eol = "\r"


@fault("not-utf8", "The first word carries an é sent as its Latin-1 byte 0xE9, which is not UTF-8.", ("sse.utf8",), TEXT)
def _not_utf8(wire: Wire, ctx: FaultContext) -> None:
    ps = wire.materialize()
    word = _delta(ps[_with(ps, "content")[0]])
    word["content"] = "Café " + word["content"]
    wire.mangle = ("é".encode(), "é".encode("latin-1"))


@fault(
    "dataless-block",
    "An 'event: ping' block with no data line before the first event (WHATWG dispatches nothing; some clients do).",
    ("compat.no-dataless-blocks",),
    TEXT,
)
def _dataless_block(wire: Wire, ctx: FaultContext) -> None:
    wire.preamble = "event: ping"


# ---- refusals: an answer instead of the stream, and bent pre-stream errors ----------------


def _refuse(wire: Wire, ctx: FaultContext, status: int, code: str, message: str) -> None:
    wire.content_type = "application/json"
    wire.refuse = (status, error_body(ctx.profile, status, code, message))


@fault(
    "stream-options-refused",
    "A request with stream_options is refused: 400 'Unknown parameter: stream_options'.",
    ("request.stream-options-accepted",),
    ("stream-options",),
)
def _stream_options_refused(wire: Wire, ctx: FaultContext) -> None:
    _refuse(wire, ctx, 400, "invalid_request", "Unknown parameter: stream_options.")


@fault(
    "unicode-refused",
    "A request is refused with 400 when a message has a non-ASCII character: a validation bug only generated "
    "request variants find.",
    ("request.variant-accepted",),
    ALL_KINDS,
    conditional="a message contains a non-ASCII character",
)
def _unicode_refused(wire: Wire, ctx: FaultContext) -> None:
    if _non_ascii(ctx.request):
        _refuse(wire, ctx, 400, "invalid_request", "messages[0].content: only ASCII is accepted.")


GATEWAY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n"


@fault(
    "gateway-error-page",
    "The plain text request gets a proxy's 502 HTML page instead of a stream (no JSON error body).",
    ("error.pre-stream-shape", "run.endpoint-usable"),
    ("text",),
)
def _gateway_page(wire: Wire, ctx: FaultContext) -> None:
    wire.content_type = "text/html"
    wire.refuse = (502, GATEWAY_PAGE)


@fault("bad-key-400", "A wrong API key is answered 400, not 401 or 403 (the JSON error body stays right).", ("error.pre-stream-status",), ("bad-key",))
def _bad_key_400(wire: Wire, ctx: FaultContext) -> None:
    assert wire.refuse is not None, "a bad-key answer is a refusal"
    wire.refuse = (400, wire.refuse[1])


# ---- legal framings: awkward, yet every rule must pass ------------------------------------


@fault("crlf", "Every line ends in CRLF.", (), ALL_KINDS, legal=True)
def _crlf(wire: Wire, ctx: FaultContext) -> None:
    wire.eol = "\r\n"


@fault(
    "cr",
    "Every line ends in a lone CR, except the final blank line, which ends in CRLF: a body ending "
    "in a lone CR would be a compat.no-trailing-cr warning.",
    (),
    ALL_KINDS,
    legal=True,
)
def _cr(wire: Wire, ctx: FaultContext) -> None:
    wire.eol, wire.last_eol = "\r", "\r\n"


@fault("comments", "A ': keep-alive' comment line before every event.", (), ALL_KINDS, legal=True)
def _comments(wire: Wire, ctx: FaultContext) -> None:
    wire.comment = ": keep-alive"


@fault("data-no-space", "'data:{...}' with no space after the colon.", (), ALL_KINDS, legal=True)
def _no_space(wire: Wire, ctx: FaultContext) -> None:
    wire.data_space = False


@fault("multiline-data", "Each JSON payload pretty-printed over several data: lines (breaks fall between tokens).", (), ALL_KINDS, legal=True)
def _multiline(wire: Wire, ctx: FaultContext) -> None:
    wire.multiline = True


@fault("byte-per-write", "Every byte of the body in its own write.", (), ALL_KINDS, legal=True)
def _byte_per_write(wire: Wire, ctx: FaultContext) -> None:
    wire.byte_per_write = True

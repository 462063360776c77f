"""From one recorded HTTP interaction (a cassette entry, a HAR entry) to an Exchange, or a skip.

Cassettes and HAR files hold every request a test or a browser made, not only chat
completions; the format readers (cassettes.py, har.py) turn each entry into an
``Interaction`` as stored, and this module decides, the same way for every format, which
ones are streamed chat completions to judge:

- a chat completion is a POST (or a method not recorded) whose URL path ends in
  ``/chat/completions`` (query string ignored). The path alone decides: a request body with
  ``messages`` also marks Anthropic's ``/v1/messages``, Bedrock and other APIs whose streams
  are another protocol, and judging those as chat completions would give only false failures.
  Every OpenAI-compatible client (the SDKs, LangChain, LiteLLM, curl examples) posts to
  ``<base>/chat/completions``.
- a streamed one: the request body says ``"stream": true``, or the answer is
  ``text/event-stream``. A chat completion that is neither (a JSON answer to a request
  without ``stream: true``) is skipped with that reason; a ``stream: true`` request that got a
  JSON error (401, 429, ...) is judged: that is a pre-stream error (spec sections 1-2).

The body is decoded per the response's ``content-encoding`` (gzip, deflate), as a client
would, and bounded by the same limit as a ``.sse`` recording.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import RecordingError
from .exchange import Exchange
from .formatting import line_and_column
from .recordings import MAX_BODY  # a decoded body is bounded like a .sse one: a gzip bomb is cut, with a finding

__all__ = ["Contents", "Interaction", "Recorded", "Skipped", "judge_interaction", "skipped_summary"]


# Skip kinds, counted separately in every output
OTHER = "other"  # not a chat completion (a GET /models, an embeddings call, a YAML that is no cassette)
NOT_STREAMED = "not-streamed"  # a chat completion answered as one JSON body
NO_BODY = "no-body"  # the recording kept no response body (a browser HAR of an EventSource)


@dataclass(frozen=True, slots=True)
class Interaction:
    """One request/response pair as a recording format stores it (nothing decided yet)."""

    index: int  # position in interactions[] / log.entries[], 0-based: the N of FILE#N
    method: str | None
    url: str | None
    request_body: bytes | dict[str, Any] | None  # raw, or already parsed (pydantic-ai's parsed_body)
    status: int | None
    headers: dict[str, str]  # response headers, lower-case names, repeated values joined by ", "
    body: bytes | None  # as stored; may still be content-encoded; None: not recorded
    body_is_json: bool = False  # the format stored a parsed JSON body (a non-streamed answer)
    line: int = 1  # 1-based line of the interaction in the file
    body_line: int | None = None  # 1-based line where the body's text starts, when known
    body_lines: bool = False  # the body's lines are the file's lines from body_line on (YAML literal block)
    body_indent: int = 0  # columns before the body's text on those lines
    decoded: bool = False  # the format stores bodies after content decoding (HAR content.text)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One exchange read from a recording file, with where its body sits in that file."""

    id: str  # FILE for a .sse recording, FILE#N for an interaction of a cassette or HAR
    exchange: Exchange
    path: Path
    line: int = 1  # 1-based line of the body (or of the interaction) in the file
    body_lines: bool = True  # offsets in the body map onto the file's lines from `line` on
    indent: int = 0

    def position(self, offset: int | None) -> tuple[int, int | None]:
        """(line, column) in the recording file of the body byte at ``offset``, 1-based.

        Exact for a .sse file and for a YAML literal-block body (each body line is a file
        line); otherwise the line where the body (or the interaction) starts, no column."""
        if offset is None or not self.body_lines:
            return self.line, None
        breaks, column = line_and_column(self.exchange.body, offset)
        return self.line + breaks, self.indent + column


@dataclass(frozen=True, slots=True)
class Skipped:
    id: str
    kind: str  # OTHER | NOT_STREAMED | NO_BODY
    reason: str


@dataclass(slots=True)
class Contents:
    """Everything one recording file holds: the exchanges to judge and what was skipped."""

    path: Path
    exchanges: list[Recorded] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


_KIND_TEXT = {
    OTHER: "other interaction(s) skipped (not chat completions)",
    NOT_STREAMED: "non-streamed answer(s) skipped (no stream: true, JSON body)",
    NO_BODY: "interaction(s) skipped (no response body recorded)",
}


def skipped_summary(skipped: list[Skipped]) -> str:
    """'3 other interaction(s) skipped (not chat completions); 1 non-streamed ...', or ''."""
    counts: dict[str, int] = {}
    for s in skipped:
        counts[s.kind] = counts.get(s.kind, 0) + 1
    return "; ".join(f"{n} {_KIND_TEXT[k]}" for k, n in counts.items())


def _path(url: str | None) -> str:
    return urlsplit(url).path if url else ""


def is_chat_completion(method: str | None, url: str | None) -> bool:
    return (method is None or method.upper() == "POST") and _path(url).rstrip("/").endswith("/chat/completions")


def _request_json(raw: bytes | dict[str, Any] | None) -> dict[str, Any] | None:
    if isinstance(raw, dict):
        return raw
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None  # a body that is not JSON: judged as a body alone, like a bare .sse
    return value if isinstance(value, dict) else None


def decode_body(body: bytes, coding: str | None, where: str, decoded: bool = False) -> bytes:
    """The body as a client reads it: content-encoding undone, in the order applied, by the
    live capture's bounded decoder (live/decode.py), and cut just past MAX_BODY.

    ``decoded``: the format keeps bodies decoded already (HAR); the header then only says what
    came over the wire, and a body is inflated only when it still starts like gzip or zlib."""
    from .live.decode import DecodeError, decoded as inflate, encodings  # httpx comes with live/: only for encoded bodies

    codings = [c for c in encodings(coding) if c != "identity"]
    if not codings or (decoded and not body.startswith((b"\x1f\x8b", b"\x78"))):
        return body
    out = bytearray()
    try:
        for piece in inflate([body], coding):
            out += piece
            if len(out) > MAX_BODY:
                break
    except DecodeError as exc:
        hint = "; record with decoding on (VCR.py: decode_compressed_response=True)" if "not one the suite decodes" in str(exc) else ""
        raise RecordingError(f"{where}: the body does not decode per its content-encoding: {exc}{hint}") from exc
    return bytes(out)


def judge_interaction(it: Interaction, file: Path, fmt: str) -> Recorded | Skipped:
    """Decide what one interaction is: an exchange to judge, or a skip with its reason."""
    ident = f"{file}#{it.index}"
    if not is_chat_completion(it.method, it.url):
        return Skipped(ident, OTHER, f"{it.method or '?'} {_path(it.url) or it.url or '(no URL)'} is not a chat completion")
    request = _request_json(it.request_body)
    content_type = it.headers.get("content-type", "").lower()
    asked = bool(request and request.get("stream") is True)
    if not asked and not content_type.startswith("text/event-stream"):
        if it.body_is_json or content_type.startswith("application/json") or request is not None:
            why = "request without stream: true" if request is not None else "no request body recorded"
            return Skipped(ident, NOT_STREAMED, f"not streamed ({why}; answer {content_type or 'JSON'})")
    if it.body is None:
        return Skipped(ident, NO_BODY, "the recording kept no response body")
    body = decode_body(it.body, it.headers.get("content-encoding"), ident, it.decoded)
    if not asked and not content_type and body.lstrip()[:1] == b"{":  # no request, no headers: a JSON answer
        return Skipped(ident, NOT_STREAMED, "not streamed (no request body or content-type recorded; the answer is a JSON object)")
    problem = None
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY]
        problem = f"the decoded body is larger than the {MAX_BODY:,}-byte limit; only its start was judged"
    exchange = Exchange(
        body=body,
        request=request,
        status=it.status,
        headers=dict(it.headers),
        problem=problem,
        source=ident,
        extra={"source": f"{fmt}: {file}, interaction {it.index}"},
    )
    line = it.body_line or it.line
    return Recorded(ident, exchange, file, line, it.body_lines and it.body_line is not None, it.body_indent)

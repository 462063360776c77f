"""How a finding is shown, the same way by every writer: where it is, the bytes it is about,
and a URL that may be shared.

The terminal, the pytest items, the page, compliance.json, the Markdown summary and the
GitHub annotations all say where a finding is (``event #7, byte 1234, $.choices[0].delta``)
and show its bytes. One module holds these so that a finding reads the same in every output,
and so that no writer imports another writer (or the command line) to borrow them.

Pure functions of a finding (a ``Finding`` or its JSON form) and the body: no I/O, no
escaping for a target format (HTML, Markdown and workflow commands escape their own).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .exchange import BodyFile
from .findings import Finding
from .redact import MASK

# A body in memory, or one left on disk (a recording judged in one pass): an excerpt reads
# only the bytes around a finding, which both serve.
Body = bytes | BodyFile

__all__ = [
    "CONTEXT", "EXCERPT", "HIT", "MASK", "SECRETISH", "escaped_excerpt", "excerpt_around", "line_and_column", "location",
    "shareable_url", "where",
]

EXCERPT = 160  # bytes of the offending event shown on one escaped line (terminal, pytest)
CONTEXT = 240  # bytes of stream shown before and after the offending event (reports)
HIT = 600  # bytes of the offending event shown at most (reports)
SECRETISH = re.compile(r"key|token|secret|sig|auth|pass|code|cred", re.I)  # query names whose values are masked

FindingLike = Finding | Mapping[str, Any]


def _field(finding: FindingLike, name: str) -> Any:
    return finding.get(name) if isinstance(finding, Mapping) else getattr(finding, name)


def where(event: int | None, offset: int | None, path: str | None) -> str:
    """``event #7, byte 1234, $.choices[0].delta.role``: the parts that are known."""
    parts = [f"event #{event}" if event is not None else "", f"byte {offset}" if offset is not None else "", path or ""]
    return ", ".join(p for p in parts if p) or "whole exchange"


def location(finding: FindingLike) -> str:
    """Where a finding is, from a ``Finding`` or its JSON form (compliance.json's findings)."""
    return where(_field(finding, "event"), _field(finding, "offset"), _field(finding, "path"))


def line_and_column(body: bytes, offset: int) -> tuple[int, int]:
    """(line breaks before ``offset``, 1-based column of its byte), line breaks counted as the
    event-stream standard counts them (CRLF, LF, CR) and columns in characters, so that an
    annotation lands on the character an editor shows."""
    head = body[:offset]
    single = head.replace(b"\r\n", b"")
    breaks = head.count(b"\r\n") + single.count(b"\n") + single.count(b"\r")
    start = max(head.rfind(b"\n"), head.rfind(b"\r")) + 1
    return breaks, len(head[start:].decode("utf-8", "replace")) + 1


def _end(finding: Finding, default: int) -> int:
    """The end of the offending bytes: the finding's, else ``default`` bytes on."""
    start = finding.offset or 0
    return finding.end if finding.end is not None and finding.end > start else start + default


def escaped_excerpt(body: Body, finding: Finding) -> str | None:
    """The offending bytes on one line, escaped so that control characters and bad UTF-8 stay
    visible (terminal, pytest failure text).

    Where the finding names a JSON path, the window is moved to the last key of that path
    inside the event, so a long chunk still shows the part that is wrong.
    """
    if finding.offset is None:
        return None
    start = finding.offset
    end = _end(finding, EXCERPT)
    if finding.path and end - start > EXCERPT:
        keys = re.findall(r"\.([A-Za-z_][\w-]*)", finding.path)
        if keys:
            at = body.find(b'"' + keys[-1].encode() + b'"', start, end)
            if at > start + EXCERPT // 3:
                start = at - EXCERPT // 3
    raw = body[start : min(end, start + EXCERPT)]
    before = "..." if start > finding.offset else ""
    after = "..." if end > start + EXCERPT else ""
    return before + repr(raw)[2:-1] + after


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def excerpt_around(body: Body, finding: Finding) -> dict[str, str] | None:
    """The raw stream around the offending bytes: {before, hit, after}, as text, unescaped
    (compliance.json; the page escapes it for HTML and marks the hit)."""
    if finding.offset is None:
        return None
    start = finding.offset
    end = finding.end if finding.end is not None and finding.end > start else min(len(body), start + 80)
    cut = end - start > HIT
    hit_end = start + HIT if cut else end
    return {
        "before": _text(body[max(0, start - CONTEXT) : start]),
        "hit": _text(body[start:hit_end]) + (" [...]" if cut else ""),
        "after": _text(body[end : end + CONTEXT]),
    }


def shareable_url(url: str, *, query: bool = False) -> str:
    """The URL without ``user:password`` and without a fragment. ``query=False`` drops the
    query string (the endpoint as reports name it); ``query=True`` keeps it with the values of
    secret-looking names masked (a curl command that must still reach the same endpoint)."""
    parts = urlsplit(url)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    kept = urlencode([(k, MASK if SECRETISH.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]) if query else ""
    return urlunsplit((parts.scheme, host, parts.path, kept, ""))

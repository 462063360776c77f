"""HAR 1.2 files (browser devtools, mitmproxy, Charles, Proxyman exports).

``log.entries[N]`` is one interaction: ``request.method``/``url``, the request body in
``request.postData.text``, ``response.status``, ``response.headers`` (a list of
``{name, value}``), the body in ``response.content.text``, base64 when
``content.encoding`` is ``"base64"``. HAR keeps the body after content decoding, so a
``content-encoding: gzip`` header is only undone when the text still is gzip. Browsers keep
no body for an EventSource: such an entry is skipped with that reason.

Annotations need the line of each body in the JSON text, which ``json`` does not give; a small
scanner (regular expressions over the tokens, no recursion) finds it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Any

from .errors import RecordingError
from .interactions import Contents, Interaction, Skipped, judge_interaction

__all__ = ["read"]

# strings as an unrolled loop (runs of plain characters, then one escape): a body of several
# megabytes is one string token, and a per-character alternation made it 100x slower
_TOKEN = re.compile(r'\s*(?:("[^"\\]*(?:\\.[^"\\]*)*")|([{}\[\],:])|([^\s{}\[\],:"]+))', re.S)


def _body_offsets(text: str) -> tuple[dict[int, int], dict[int, int]]:
    """Character offsets of each ``log.entries[i]`` and of its ``response.content.text``."""
    entries: dict[int, int] = {}
    bodies: dict[int, int] = {}
    stack: list[list[Any]] = []  # frames: [is_object, key or index, waiting for a key]
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        string, punct = m.group(1), m.group(2)
        start = m.start(1) if string else m.start(2) if punct else m.start(3)
        top = stack[-1] if stack else None
        if punct in ("}", "]"):
            stack.pop() if stack else None
            continue
        if punct == ",":
            if top is not None:
                if top[0]:
                    top[2] = True
                else:
                    top[1] += 1
            continue
        if punct == ":":
            continue
        if top is not None and top[0] and top[2]:  # a key
            top[1] = json.loads(string) if string else m.group(3)
            top[2] = False
            continue
        path = [f[1] for f in stack]  # a value starts here
        if len(path) == 3 and path[:2] == ["log", "entries"]:
            entries[path[2]] = start
        elif len(path) == 6 and path[:2] == ["log", "entries"] and path[3:] == ["response", "content", "text"]:
            bodies[path[2]] = start
        if punct == "{":
            stack.append([True, None, True])
        elif punct == "[":
            stack.append([False, 0, False])
    return entries, bodies


def _line(text: str, offset: int | None) -> int | None:
    return None if offset is None else text.count("\n", 0, offset) + 1


def _body(content: dict[str, Any], where: str) -> bytes | None:
    raw = content.get("text")
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise RecordingError(f"{where}: response.content.text must be a string")
    if content.get("encoding") == "base64":
        try:
            return base64.b64decode(raw, validate=False)
        except (binascii.Error, ValueError) as exc:
            raise RecordingError(f"{where}: response.content.text is not valid base64: {exc}") from exc
    return raw.encode("utf-8", "surrogatepass")


def read(path: Path, text: str) -> Contents:
    where = str(path)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordingError(f"{where}: not a readable HAR file: {exc}") from exc
    entries = data.get("log", {}).get("entries") if isinstance(data, dict) and isinstance(data.get("log"), dict) else None
    if not isinstance(entries, list):
        raise RecordingError(f"{where}: not a HAR file (no log.entries list)")
    starts, bodies = _body_offsets(text)
    contents = Contents(path)
    for index, entry in enumerate(entries):
        ident = f"{where}#{index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict) or not isinstance(entry.get("response"), dict):
            raise RecordingError(f"{ident}: a HAR entry needs request and response objects")
        req, resp = entry["request"], entry["response"]
        post = req.get("postData") if isinstance(req.get("postData"), dict) else {}
        post_text = post.get("text")
        headers: dict[str, str] = {}
        for h in resp.get("headers") or []:
            if isinstance(h, dict) and "name" in h:
                name = str(h["name"]).lower()
                headers[name] = f"{headers[name]}, {h.get('value', '')}" if name in headers else str(h.get("value", ""))
        content = resp.get("content") if isinstance(resp.get("content"), dict) else {}
        if "content-type" not in headers and content.get("mimeType"):
            headers["content-type"] = str(content["mimeType"])  # HAR always has mimeType; some exporters drop headers
        status = resp.get("status")
        it = Interaction(
            index=index,
            method=str(req.get("method")) if req.get("method") else None,
            url=str(req.get("url")) if req.get("url") else None,
            request_body=post_text.encode("utf-8", "surrogatepass") if isinstance(post_text, str) else None,
            status=status if isinstance(status, int) and status > 0 else None,  # 0: the browser got no answer
            headers=headers,
            body=_body(content, ident),
            line=_line(text, starts.get(index)) or 1,
            body_line=_line(text, bodies.get(index)),
            decoded=True,
        )
        outcome = judge_interaction(it, path, "HAR")
        (contents.skipped if isinstance(outcome, Skipped) else contents.exchanges).append(outcome)  # type: ignore[arg-type]
    return contents

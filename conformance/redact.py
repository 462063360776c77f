"""Judge what arrived, redact what is written: the one scrubber every writer goes through.

Captures stay byte-exact in memory and are judged as they came. Whatever leaves the process
(recordings, compliance.json, junit.xml, the page, the terminal) passes through a
``Scrubber`` built from the run's key, which stars out every *piece* of the key in text that
came from the endpoint:

- a piece is the key itself and, for a key of ``LONG_KEY`` characters or more, any
  ``PIECE``-character substring of it (so a prefix quoted in a message, or the tail of a cut
  stream, is caught too);
- it is found in the raw bytes, inside decoded JSON strings however they were escaped, in
  text a client assembles across events (content, reasoning, refusal and tool arguments,
  grouped by choice ``index`` and tool-call ``index``, not by position in ``choices``), and
  in non-JSON text read across lines and events (comments, broken payloads, HTML pages).

Our own vocabulary is never damaged: only values that came from the endpoint are scrubbed,
never the keys of our reports, rule ids or titles; and inside the endpoint's JSON a token
whose whole text is a term of the protocol (a field name or enum value of ``schemas/``, a
finish reason, a JSON Schema keyword) is kept, so a short key such as ``stop``, ``null`` or
``index`` does not change what a stream means. Free text (content, arguments, messages) is
always scrubbed: with the key ``x``, every ``x`` the endpoint wrote there is starred.

A redacted body keeps its length: each starred character's bytes (a UTF-8 sequence, a
``\\u0073`` escape) become as many ``*`` bytes, inside JSON strings only, so offsets, arrival
times and JSON structure stay as they were and a recording is judged like the live capture
(``record`` checks that and says so when it cannot hold). The request we sent is scrubbed by
the same token rule, so names and enum values it shares with the body stay consistent.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from .exchange import Exchange

__all__ = ["LONG_KEY", "MASK", "PIECE", "SECRET_HEADERS", "Scrubber", "pieces", "redact", "scrub"]

MASK = "[REDACTED]"  # a whole secret header value
STAR = "*"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie"})

# A key this long is starred wherever any PIECE characters of it appear: a prefix of it is
# as good as a leak. A shorter key collides with ordinary words, so only whole occurrences
# (and occurrences assembled across events) are starred.
LONG_KEY = 8
PIECE = 4

# Fields whose value is free text, never protocol vocabulary; the first group is what a
# client concatenates across events.
ASSEMBLED = frozenset({"content", "reasoning", "reasoning_content", "refusal", "arguments"})
FREE_TEXT = ASSEMBLED | {"text", "summary", "message", "description", "data", "signature", "param"}

_SCHEMA_WORDS = (
    "type properties required items enum const additionalProperties minimum maximum exclusiveMinimum exclusiveMaximum "
    "minItems maxItems minLength maxLength pattern format title anyOf oneOf allOf not $ref $defs default examples "
    "uniqueItems minProperties maxProperties prefixItems strict multipleOf patternProperties propertyNames if then else "
    "nullable object array string integer number boolean null stop length tool_calls content_filter error [DONE] ping"
)

_STR_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"?|[{}\[\],:]|[^\s{}\[\],:"]+', re.S)
_BYTE_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+', re.S)
_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n|$)")
_WORD = re.compile(r"[\w$\[\]][\w.\-/$\[\]]*")
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_FIELDS = (b"data", b"event", b"id", b"retry")
_BOM = b"\xef\xbb\xbf"


def pieces(key: str) -> list[str]:
    """What of ``key`` must never be written: the key, and for a long key every PIECE-gram."""
    if len(key) < LONG_KEY:
        return [key]
    return [key, *{key[i : i + PIECE] for i in range(len(key) - PIECE + 1)}]


@cache
def vocabulary() -> frozenset[str]:
    """Protocol terms: field names and enum values of our schemas, JSON Schema keywords."""
    words = set(_SCHEMA_WORDS.split())
    root = Path(__file__).resolve().parent.parent / "schemas"
    for path in sorted(root.glob("*.json")):
        stack: list[Any] = [json.loads(path.read_text(encoding="utf-8"))]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                words.update(node)
                stack.extend(node.values())
                for name in ("enum", "const"):
                    value = node.get(name)
                    for v in value if isinstance(value, list) else [value]:
                        if isinstance(v, str):
                            words.add(v)
            elif isinstance(node, list):
                stack.extend(node)
    words.discard("")
    return frozenset(words)


@cache
def _own_words() -> frozenset[str]:
    """Every word of the suite's own text (its modules, rule catalogue, schemas), for text
    that mixes our prose with the endpoint's values: such words are never starred unless
    they sit inside a quoted value. The reference endpoint's sources are not ours here:
    they hold the words it answers with."""
    package = Path(__file__).resolve().parent
    words = set(vocabulary())
    for path in package.rglob("*.py"):
        if "reference" in path.relative_to(package).parts:
            continue
        source = re.sub(r"\\[nrtbfu]", " ", path.read_text(encoding="utf-8"))  # "\nExpected" holds the word Expected
        words.update(w.strip(".-/") for w in _WORD.findall(source))
    return frozenset(w for w in words if len(w) > 1)


def _json_string(raw: str) -> str:
    if "\\" not in raw:
        return raw[1:-1]
    try:
        value = json.loads(raw)
    except ValueError:
        return raw[1:-1]
    return value if isinstance(value, str) else raw[1:-1]


def _decode_chars(raw: bytes, at: int, escapes: bool = True) -> tuple[str, list[tuple[int, int]]]:
    """A JSON string token's text, with the raw byte span of each character (escapes and
    UTF-8 sequences map to all of their bytes). ``escapes=False`` reads plain text."""
    inner = raw[1:-1]
    if (not escapes or b"\\" not in inner) and inner.isascii():
        text = inner.decode("ascii")
        return text, [(at + 1 + i, at + 2 + i) for i in range(len(text))]
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 1, len(raw) - 1
    while i < n:
        b = raw[i]
        if escapes and b == 0x5C and i + 1 < n:
            e = raw[i + 1]
            j = i + 2
            if e == 0x75:
                try:
                    cp = int(raw[i + 2 : i + 6], 16)
                except ValueError:
                    cp = 0xFFFD
                j = i + 6
                if 0xD800 <= cp < 0xDC00 and raw[j : j + 2] == b"\\u":
                    try:
                        low = int(raw[j + 2 : j + 6], 16)
                    except ValueError:
                        low = 0
                    if 0xDC00 <= low < 0xE000:
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                        j += 6
                ch = chr(cp) if not 0xD800 <= cp < 0xE000 else "\ufffd"
            else:
                ch = {0x6E: "\n", 0x74: "\t", 0x72: "\r", 0x62: "\b", 0x66: "\f"}.get(e, chr(e))
        else:
            size = 1 if b < 0x80 else 2 if b >> 5 == 6 else 3 if b >> 4 == 14 else 4 if b >> 3 == 30 else 1
            j = min(i + size, n)
            ch = raw[i:j].decode("utf-8", "replace")
        for c in ch or "\ufffd":  # an invalid sequence may decode to several replacement chars
            chars.append(c)
            spans.append((at + i, at + j))
        i = j
    return "".join(chars), spans


def _json_tokens(data: Any, pattern: re.Pattern[Any]) -> Iterator[tuple[tuple[Any, ...], str, int, int]]:
    """(path, kind, start, end) of every key, string and other scalar token, in order.

    Iterative: a payload nested 100,000 levels deep costs a list, not the call stack.
    ``kind`` is "key", "str" or "lit" (numbers, true/false/null, and anything unexpected).
    """
    stack: list[list[Any]] = []  # [kind, key or index]
    expect_key = False
    quote = b'"' if isinstance(data, bytes) else '"'
    for m in pattern.finditer(data):
        tok = m.group()
        c = tok[:1]
        if c in (b"{", "{"):
            stack.append(["o", None])
            expect_key = True
        elif c in (b"[", "["):
            stack.append(["a", 0])
            expect_key = False
        elif c in (b"}", b"]", "}", "]"):
            if stack:
                stack.pop()
            expect_key = False
        elif c in (b",", ","):
            if stack and stack[-1][0] == "a":
                stack[-1][1] += 1
            else:
                expect_key = True
        elif c in (b":", ":"):
            expect_key = False
        else:
            path = tuple(f[1] for f in stack)
            if c == quote and expect_key and stack and stack[-1][0] == "o":
                raw = tok.decode("utf-8", "replace") if isinstance(tok, bytes) else tok
                stack[-1][1] = _json_string(raw)
                yield path[:-1], "key", m.start(), m.end()
                expect_key = False
            else:
                yield path, "str" if c == quote else "lit", m.start(), m.end()


def _field(path: tuple[Any, ...]) -> str | None:
    for step in reversed(path):
        if isinstance(step, str):
            return step
    return None


class _Plan:
    """Byte spans of one body to star, gathered per text stream before matching."""

    def __init__(self, scrubber: Scrubber) -> None:
        self.s = scrubber
        self.stars: list[tuple[int, int]] = []
        # stream -> pieces of (text, spans, protected whole)
        self.streams: dict[Any, list[tuple[str, list[tuple[int, int]], bool]]] = {}
        self.loose: list[tuple[str, list[tuple[int, int]], bool]] = []

    def token(self, stream: Any, text: str, spans: list[tuple[int, int]], protected: bool) -> None:
        self.streams.setdefault(stream, []).append((text, spans, protected))

    def finish(self) -> list[tuple[int, int]]:
        for stream, parts in self.streams.items():
            self._match(parts, inner_json=isinstance(stream, tuple) and stream[0] == "assembled")
        self._match(self.loose, inner_json=False, loose=True)
        return self.stars

    def _match(self, parts: list[tuple[str, list[tuple[int, int]], bool]], inner_json: bool, loose: bool = False) -> None:
        if not parts:
            return
        text = "".join(p[0] for p in parts)
        hits = self.s.hits(text, loose=loose)
        if not hits:
            return
        spans: list[tuple[int, int]] = []
        keep = bytearray(len(text))
        pos = 0
        for piece, piece_spans, protected in parts:
            spans.extend(piece_spans() if callable(piece_spans) else piece_spans)
            if protected:
                keep[pos : pos + len(piece)] = b"\x01" * len(piece)
            pos += len(piece)
        if inner_json and text.lstrip()[:1] in ("{", "["):
            self._protect_inner(text, keep)
        starred = set()
        for a, b in hits:
            for i in range(a, b):
                if not keep[i]:
                    self.stars.append(spans[i])
                    starred.add(i)
        pos = 0
        for piece, _, _ in parts:  # remembered, for messages that quote this very piece
            if any(i in starred for i in range(pos, pos + len(piece))):
                self.s.learned[piece] = "".join(STAR if pos + i in starred else c for i, c in enumerate(piece))
            pos += len(piece)

    def _protect_inner(self, text: str, keep: bytearray) -> None:
        """JSON carried in free text (tool arguments, structured content): its structure,
        its field names and values that are protocol terms stay, the rest is text."""
        allowed = bytearray(len(text))  # 1: may be starred
        words = self.s.vocabulary
        for _, kind, start, end in _json_tokens(text, _STR_TOKENS):
            if kind == "lit" or end - start < 2:
                continue
            if _json_string(text[start:end]) in words:
                continue
            close = end - 1 if text[end - 1] == '"' and end - start >= 2 else end
            allowed[start + 1 : close] = b"\x01" * (close - start - 1)
        for i in range(len(text)):
            if not allowed[i]:
                keep[i] = 1


class Scrubber:
    """Stars out the run's key in whatever is written. One per run; cheap when no key."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.keys = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.vocabulary = vocabulary()
        grams = sorted({p for k in self.keys for p in pieces(k)}, key=len, reverse=True)
        self._pattern = re.compile("(?=(" + "|".join(map(re.escape, grams)) + "))") if grams else None
        forms = set(grams)
        for key in self.keys:  # escaped as JSON encoders write it, for text that is not JSON
            forms.add(json.dumps(key)[1:-1])
            forms.add(key.replace("/", "\\/"))
            forms.update("".join(f.format(ord(c)) for c in key) for f in ("\\u{:04x}", "\\u{:04X}"))
        loose = sorted(forms, key=len, reverse=True)
        self._loose = re.compile("(?=(" + "|".join(map(re.escape, loose)) + "))") if loose else None
        # pieces of text starred in a body this scrubber redacted (a key split over events):
        # a message that quotes one of them quotes it starred
        self.learned: dict[str, str] = {}
        self._prefilter = re.compile(b"|".join([re.escape(p.encode()) for p in grams] + [rb"\\"])) if grams else None

    def __bool__(self) -> bool:
        return bool(self.keys)

    def hits(self, text: str, loose: bool = False) -> list[tuple[int, int]]:
        pattern = self._loose if loose else self._pattern
        if pattern is None:
            return []
        return [(m.start(), m.start() + len(m.group(1))) for m in pattern.finditer(text)]

    # ------------------------------------------------------------------ text

    def text(self, value: str) -> str:
        """Endpoint text: every piece of the key starred."""
        hits = self.hits(value, loose=True) if self.keys else []
        if not hits:
            return value
        out = list(value)
        for a, b in hits:
            out[a:b] = STAR * (b - a)
        return "".join(out)

    def mixed(self, value: str | None) -> str | None:
        """Our prose with the endpoint's values in it (finding messages, reasons, transport
        problems): pieces are starred, except inside a word of the suite's own text that is
        not quoted (``chunk.schema`` stays whole with the key ``k``; ``'k'`` does not)."""
        if not value or not self.keys:
            return value
        if self.learned:
            value = _QUOTED.sub(lambda m: self._learned(m.group()), value)
        hits = self.hits(value, loose=True)
        if not hits:
            return value
        own = _own_words()
        quoted = bytearray(len(value))
        for m in _QUOTED.finditer(value):
            quoted[m.start() : m.end()] = b"\x01" * (m.end() - m.start())
        kept = bytearray(len(value))
        for m in _WORD.finditer(value):
            word = m.group()
            core = word.strip(".-/")
            if core in own:
                start = m.start() + word.index(core)
                for i in range(start, start + len(core)):
                    kept[i] = not quoted[i]
        out = list(value)
        for a, b in hits:
            for i in range(a, b):
                if not kept[i]:
                    out[i] = STAR
        return "".join(out)

    def _learned(self, quoted: str) -> str:
        for raw in sorted(self.learned, key=len, reverse=True):
            for form in {raw, repr(raw)[1:-1], json.dumps(raw, ensure_ascii=False)[1:-1]}:
                if form and form in quoted:
                    new = self.learned[raw]
                    quoted = quoted.replace(form, new if form == raw else repr(new)[1:-1] if form == repr(raw)[1:-1] else json.dumps(new, ensure_ascii=False)[1:-1])
        return quoted

    def headers(self, headers: dict[str, str] | None) -> dict[str, str] | None:
        if headers is None:
            return None
        # the media type is judged (sse.content-type): our words in it stay, like any message
        return {k: MASK if k.lower() in SECRET_HEADERS else (self.mixed(v) or v) if k.lower() == "content-type" else self.text(v)
                for k, v in headers.items()}

    def request(self, value: Any) -> Any:
        """JSON-like data (the request we sent): the token rule of the body, so that a tool
        name or enum value shared by request and answer is starred the same way in both."""
        if not self.keys:
            return value
        return self._tree(value, None)

    def _tree(self, value: Any, field: str | None) -> Any:
        # iterative copy: hostile data may nest deeper than the call stack
        root: list[Any] = [None]
        stack: list[tuple[Any, Any, Any, str | None]] = [(value, root, 0, field)]
        while stack:
            node, parent, slot, name = stack.pop()
            if isinstance(node, dict):
                new: Any = {}
                parent[slot] = new
                for k, v in node.items():
                    nk = k if not isinstance(k, str) or k in self.vocabulary else self.text(k)
                    new[nk] = None
                    stack.append((v, new, nk, k if isinstance(k, str) else name))
            elif isinstance(node, list):
                new = [None] * len(node)
                parent[slot] = new
                stack.extend((v, new, i, name) for i, v in enumerate(node))
            elif isinstance(node, str):
                parent[slot] = node if (node in self.vocabulary and name not in FREE_TEXT) else self.text(node)
            else:
                parent[slot] = node
        return root[0]

    # ------------------------------------------------------------------ bodies

    def body(self, body: bytes) -> bytes:
        """The body with every piece of the key starred, byte for byte (same length)."""
        if not self.keys or not body:
            return body
        plan = _Plan(self)
        doc = _load(body)
        if isinstance(doc, (dict, list)):  # a JSON document (an error answer), not a stream
            self._json(plan, body, [(0, 0, len(body))], doc, "doc")
        else:
            self._events(plan, body)
        out = bytearray(body)
        for a, b in plan.finish():
            out[a:b] = b"*" * (b - a)
        return bytes(out)

    def _events(self, plan: _Plan, body: bytes) -> None:
        from .sse import parse  # the parser the judge uses: the same events, the same bytes

        covered: list[tuple[int, int]] = []
        for n, event in enumerate(parse(body).events):
            values = _data_values(body, event.offset, event.end)
            if event.data == "[DONE]":
                covered.extend((a, a + ln) for _, a, ln in values)
                continue
            joined = b"\n".join(body[a : a + ln] for _, a, ln in values)
            doc = _load(joined) if values else None
            if doc is None:
                continue  # not JSON: read as loose text below
            self._json(plan, joined, values, doc, n)
            covered.extend((a, a + ln) for _, a, ln in values)
        self._loose_text(plan, body, covered)

    def _json(self, plan: _Plan, data: bytes, segments: list[tuple[int, int, int]], doc: Any, event: Any) -> None:
        words = self.vocabulary

        def where(p: int) -> int:
            for joined_at, raw_at, _length in reversed(segments):
                if p >= joined_at:
                    return raw_at + (p - joined_at)
            return p

        def located(raw: bytes, start: int) -> list[tuple[int, int]]:
            if len(segments) == 1:
                return _decode_chars(raw, where(start))[1]
            # a multi-line data value: map each span through its line
            return [(where(a), where(b - 1) + 1) for a, b in _decode_chars(raw, start)[1]]

        # an event with no piece of the key and no escape can only hold one split over events
        whole = self._prefilter is not None and self._prefilter.search(data) is not None
        for path, kind, start, end in _json_tokens(data, _BYTE_TOKENS):
            if kind == "lit":
                continue
            name = None if kind == "key" else _field(path)
            if not whole and name not in ASSEMBLED:
                continue
            raw = data[start:end]
            spans: Any
            if raw.isascii() and b"\\" not in raw:  # the common case: spans only if a hit needs them
                text = raw[1:-1].decode("ascii")
                spans = lambda raw=raw, start=start: located(raw, start)  # noqa: E731
            else:
                text, spans = _decode_chars(raw, start)
                spans = located(raw, start)
            if name not in ASSEMBLED and not self.hits(text):
                continue  # a token on its own, with nothing of the key in it
            if kind == "key":
                plan.token(("key", event, start), text, spans, text in words)
                continue
            name = _field(path)
            if name in ASSEMBLED:
                plan.token(("assembled", _logical(path, doc)), text, spans, False)
            else:
                plan.token(("token", event, start), text, spans, name not in FREE_TEXT and text in words)

    def _loose_text(self, plan: _Plan, body: bytes, covered: list[tuple[int, int]]) -> None:
        """Everything that is not a JSON data value: comments, field values, broken
        payloads, a whole HTML page; read as one text across lines and events, so a key
        split over two non-JSON events is found."""
        covered.sort()
        ci = 0
        for m in _LINES.finditer(body, len(_BOM) if body.startswith(_BOM) else 0):
            start, end = m.start(), m.end()
            if start == end:
                break
            line = body[start:end].rstrip(b"\r\n")
            end = start + len(line)
            while ci < len(covered) and covered[ci][1] <= start:
                ci += 1
            if ci < len(covered) and covered[ci][0] < end:
                continue  # a JSON data value's line: judged token by token above
            colon = line.find(b":")
            name = line if colon < 0 else line[:colon]
            if colon < 0 and name in _FIELDS:
                continue
            at = start
            if colon == 0 or name in _FIELDS:
                at = start + colon + 1 + (line[colon + 1 : colon + 2] == b" ")
            if at >= end:
                continue
            text, spans = _decode_chars(b'"' + body[at:end] + b'"', at - 1, escapes=False)
            plan.loose.append((text, spans, text in self.vocabulary))

    def exchange(self, exchange: Exchange) -> Exchange:
        """What may be written of ``exchange``: same length, same offsets, same timings."""
        if not self.keys:
            return dataclasses.replace(exchange, headers=self.headers(exchange.headers))
        return dataclasses.replace(
            exchange,
            body=self.body(exchange.body),
            headers=self.headers(exchange.headers),
            request=self.request(exchange.request),
            problem=self.mixed(exchange.problem),
            extra=self.request(exchange.extra),
        )


def _load(data: bytes) -> Any:
    """Decode as the judge does (orjson, then json for what orjson refuses); None if not JSON."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            return None


def _data_values(body: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    """(position in the joined data, raw offset, length) of each data line's value."""
    out: list[tuple[int, int, int]] = []
    joined = 0
    if start == 0 and body.startswith(_BOM):
        start = len(_BOM)
    for m in _LINES.finditer(body, start, end):
        if m.start() == m.end():
            break
        line = body[m.start() : m.end()].rstrip(b"\r\n")
        if line == b"data" or line.startswith(b"data:"):
            at = m.start() + 5 + (line[5:6] == b" ") if len(line) > 4 else m.start() + len(line)
            length = m.start() + len(line) - at
            out.append((joined, at, max(length, 0)))
            joined += max(length, 0) + 1
    return out


def _logical(path: tuple[Any, ...], doc: Any) -> tuple[Any, ...]:
    """The stream a client assembles: choices by their ``index``, tool calls by theirs."""
    from .stream import as_index, choice_index

    if len(path) < 2 or path[0] != "choices" or not isinstance(path[1], int):
        return path
    try:
        choice = doc["choices"][path[1]]
        idx = choice_index(choice, path[1])
    except (KeyError, IndexError, TypeError):
        return path
    out: tuple[Any, ...] = ("choices", ("index", idx), *path[2:])
    if len(path) >= 5 and path[3] == "tool_calls" and isinstance(path[4], int):
        try:
            call = choice[path[2]]["tool_calls"][path[4]]
            t = as_index(call.get("index"))
        except (KeyError, IndexError, TypeError, AttributeError):
            t = None
        out = (*out[:4], ("index", path[4] if t is None else t), *path[5:])
    return out


def scrub(value: Any, secrets: Iterable[str | None]) -> Any:
    """JSON-like data with the key starred in its values (our keys untouched)."""
    return Scrubber(secrets).request(value)


def redact(exchange: Exchange, secrets: Iterable[str | None]) -> Exchange:
    """A copy of ``exchange`` fit to be written: credential headers masked, the key starred."""
    return Scrubber(secrets).exchange(exchange)

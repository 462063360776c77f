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

A key of digits can be echoed outside any string, as a JSON number (``"n": 12345678``, or
inside ``9123456789``). A star there would break the JSON, and a 0 cannot lead a number, so
the digits of the hit become ``Scrubber.fill``: 9, or the highest digit no key holds (then no
piece can form around it). The number keeps its length and stays a number; its value is
not the endpoint's any more, which ``record`` names when a verdict depends on it. With a
short key, a number under a protocol field (``index``, ``created``, token counts) stays, as
``stop`` does in ``finish_reason``. JSON's literals ``true``, ``false`` and ``null`` are the
JSON's own words: a key spelled so is starred in text, never as the literal.

Cost (issue 12: fast at every size). A stream is read in two passes (``Scrubber._events``):
the first decodes each event and looks at it whole (the key's pieces in the body's bytes,
found in one search; an event holding an escape written back plainly by orjson and
searched; the texts each choice and tool call assembles, joined and searched), the second
reads token by token only the events where a piece can be, and an assembled text's event
only where a hit falls. A body with no piece of the key costs one decode per event.
"""

from __future__ import annotations

import dataclasses
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from functools import cache, partial
from pathlib import Path
from typing import Any

import orjson

from .exchange import Exchange
from .stream import as_index, choice_index  # how a client groups choices and tool calls

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
_EOL = re.compile(rb"[\r\n]")
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')  # every string token of valid JSON
_NUMBER_START = frozenset(b"-0123456789")
_DIGITS = frozenset("0123456789")

# How each character of a planned text may change: starred, kept (our vocabulary, JSON
# structure), or, inside a JSON number, replaced by a digit (a star would break the JSON).
_STAR, _KEEP, _DIGIT = 0, 1, 2
Part = tuple[str, Any, int]  # (text, spans or a callable giving them, mode for every character)


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
    arrays: list[bool] = []  # per open container: is it an array
    names: list[Any] = []  # per open container: the current key or index (the path)
    expect_key = False
    quote: Any
    open_obj: Any
    open_arr: Any
    close: Any
    comma: Any
    colon: Any
    if isinstance(data, bytes):
        quote, open_obj, open_arr, close, comma, colon = b'"', b"{", b"[", (b"}", b"]"), b",", b":"
    else:
        quote, open_obj, open_arr, close, comma, colon = '"', "{", "[", ("}", "]"), ",", ":"
    for m in pattern.finditer(data):
        tok = m.group()
        c = tok[:1]
        if c == quote:
            if expect_key and arrays and not arrays[-1]:
                raw = tok.decode("utf-8", "replace") if isinstance(tok, bytes) else tok
                yield tuple(names[:-1]), "key", m.start(), m.end()
                names[-1] = _json_string(raw)
                expect_key = False
            else:
                yield tuple(names), "str", m.start(), m.end()
        elif c == open_obj:
            arrays.append(False)
            names.append(None)
            expect_key = True
        elif c == open_arr:
            arrays.append(True)
            names.append(0)
            expect_key = False
        elif c in close:
            if arrays:
                arrays.pop()
                names.pop()
            expect_key = False
        elif c == comma:
            if arrays and arrays[-1]:
                names[-1] += 1
            else:
                expect_key = True
        elif c == colon:
            expect_key = False
        else:
            yield tuple(names), "lit", m.start(), m.end()


def _field(path: tuple[Any, ...]) -> str | None:
    for step in reversed(path):
        if isinstance(step, str):
            return step
    return None


class _Plan:
    """Byte spans of one body to star (or, in numbers, to overwrite with a digit), gathered
    per text stream before matching."""

    def __init__(self, scrubber: Scrubber) -> None:
        self.s = scrubber
        self.stars: list[tuple[int, int]] = []
        self.digits: list[tuple[int, int]] = []
        # stream -> pieces of (text, spans, mode)
        self.streams: dict[Any, list[Part]] = {}
        self.loose: list[Part] = []

    def token(self, stream: Any, text: str, spans: Any, mode: int) -> None:
        self.streams.setdefault(stream, []).append((text, spans, mode))

    def finish(self) -> list[tuple[int, int]]:
        for stream, parts in self.streams.items():
            self._match(parts, inner_json=isinstance(stream, tuple) and stream[0] == "assembled")
        self._match(self.loose, inner_json=False, loose=True)
        return self.stars

    def _match(self, parts: list[Part], inner_json: bool, loose: bool = False) -> None:
        if not parts:
            return
        text = "".join(p[0] for p in parts)
        hits = self.s.hits(text, loose=loose)
        if not hits:
            return
        starts: list[int] = []  # where each part begins in ``text``
        keep = bytearray(len(text))  # per character: _STAR, _KEEP or _DIGIT
        pos = 0
        for piece, _, mode in parts:
            starts.append(pos)
            if mode:
                keep[pos : pos + len(piece)] = bytes([mode]) * len(piece)
            pos += len(piece)
        if inner_json and text.lstrip()[:1] in ("{", "["):
            self._protect_inner(text, keep)
        # the byte spans of the parts a hit touches, and only of those: a part's spans may
        # cost reading its event token by token
        spans: dict[int, list[tuple[int, int]]] = {}
        starred: dict[int, set[int]] = {}
        for a, b in hits:
            k = bisect_right(starts, a) - 1
            for i in range(a, b):
                while k + 1 < len(starts) and starts[k + 1] <= i:
                    k += 1
                mode = keep[i]
                if mode == _KEEP or (mode == _DIGIT and text[i] not in _DIGITS):  # a sign, point or exponent stays
                    continue
                if k not in spans:
                    got = parts[k][1]
                    spans[k] = got() if callable(got) else got
                span = spans[k][i - starts[k]]
                (self.digits if mode == _DIGIT else self.stars).append(span)
                starred.setdefault(k, set()).add(i - starts[k])
        for k, where in starred.items():  # remembered, for messages that quote this very piece
            piece = parts[k][0]
            before = self.s.learned.get(piece, piece)  # several streams may star it: all they starred
            self.s.learned[piece] = "".join(STAR if i in where or before[i] == STAR else c for i, c in enumerate(piece))

    def _protect_inner(self, text: str, keep: bytearray) -> None:
        """JSON carried in free text (tool arguments, structured content): its structure,
        its field names and values that are protocol terms stay, the rest is text; its
        numbers take digits, so that the arguments stay JSON."""
        allowed = bytearray(len(text))  # 1: may be starred, 2: a number's digit may change
        words = self.s.vocabulary
        for path, kind, start, end in _json_tokens(text, _STR_TOKENS):
            if kind == "lit":
                if text[start] in "-0123456789" and not self.s.number_kept(_field(path)):
                    allowed[start:end] = b"\x02" * (end - start)
                continue
            if end - start < 2:
                continue
            if _json_string(text[start:end]) in words:
                continue
            close = end - 1 if text[end - 1] == '"' and end - start >= 2 else end
            allowed[start + 1 : close] = b"\x01" * (close - start - 1)
        for i in range(len(text)):
            if not allowed[i]:
                keep[i] = _KEEP
            elif allowed[i] == 2 and not keep[i]:
                keep[i] = _DIGIT


class Scrubber:
    """Stars out the run's key in whatever is written. One per run; cheap when no key."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.keys = sorted({s for s in secrets if s}, key=len, reverse=True)
        self.vocabulary = vocabulary()
        grams = sorted({p for k in self.keys for p in pieces(k)}, key=len, reverse=True)
        self._pattern = re.compile("(?=(" + "|".join(map(re.escape, grams)) + "))") if grams else None
        self._any = re.compile("|".join(map(re.escape, grams))) if grams else None  # whether, not where
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
        # Where a body may hold the key, found without reading it token by token: the pieces
        # as raw bytes (one pass over the whole body), and as orjson writes them, to search
        # an event that holds an escape once its JSON is decoded and written back plainly.
        self._raw = re.compile(b"|".join(re.escape(p.encode()) for p in grams)) if grams else None
        self._eol_in_key = any("\r" in k or "\n" in k for k in self.keys)
        canon: set[bytes] = set()
        for p in grams:
            canon.add(p.encode())
            try:
                canon.add(orjson.dumps(p)[1:-1])
            except orjson.JSONEncodeError:  # a lone surrogate: such an event is read token by token
                canon.clear()
                break
        self._canon = re.compile(b"|".join(map(re.escape, sorted(canon, key=len, reverse=True)))) if canon else None
        # A short key collides with protocol numbers (an index, a token count): like a
        # protocol word, a number in a protocol field stays for it. A long key's piece is
        # masked wherever it is.
        self._numbers_of_protocol_kept = all(len(k) < LONG_KEY for k in self.keys)
        self.fill = _fill_digit(self.keys)
        # whether a piece could sit in a JSON number (all its characters could be a number's)
        self._number_pieces = any(all(c in "0123456789+-.eE" for c in p) for p in grams)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def number_kept(self, field: str | None) -> bool:
        """Whether a JSON number that holds the key stays as it is: only under a protocol
        field (``index``, ``created``, ``total_tokens`` ...) and only when every key is short."""
        return self._numbers_of_protocol_kept and field in self.vocabulary and field not in FREE_TEXT

    def number_text(self, text: str, field: str | None) -> str:
        """A number's text (as JSON writes it) with the digits of every hit replaced by
        ``fill``; unchanged when the number stays (see ``number_kept``)."""
        hits = self.hits(text) if self.keys else []
        if not hits or self.number_kept(field):
            return text
        out = list(text)
        for a, b in hits:
            for i in range(a, b):
                if out[i] in _DIGITS:
                    out[i] = self.fill
        return "".join(out)

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
        # the media type is judged (sse.content-type): our words in it stay, like any message;
        # a number (content-length, retry-after) stays a number of the same length
        return {k: MASK if k.lower() in SECRET_HEADERS else (self.mixed(v) or v) if k.lower() == "content-type"
                else self.number_text(v, None) if v.isdigit() and v.isascii() else self.text(v)
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
            elif isinstance(node, (int, float)) and not isinstance(node, bool):
                parent[slot] = self._request_number(node, name)
            else:
                parent[slot] = node
        return root[0]

    def _request_number(self, value: float, field: str | None) -> Any:
        """A number of JSON-like data, masked as in a body (``number_text``); a float that
        would still show a piece once written back becomes stars."""
        text = json.dumps(value)
        masked = self.number_text(text, field)
        if masked == text:
            return value
        new = int(masked) if isinstance(value, int) else float(masked)
        return new if not self.hits(json.dumps(new)) else STAR * len(text)

    # ------------------------------------------------------------------ bodies

    def body(self, body: bytes, exhaustive: bool = False) -> bytes:
        """The body with every piece of the key starred, byte for byte (same length).

        ``exhaustive`` reads every event token by token (slow at every size): the reference
        the tests hold the two-pass reading of ``_events`` to."""
        if not self.keys or not body:
            return body
        plan = _Plan(self)
        doc = _load(body)
        if isinstance(doc, (dict, list)):  # a JSON document (an error answer), not a stream
            self._json(plan, body, [(0, 0, len(body))], doc, "doc")
        elif exhaustive:
            self._every_event(plan, body)
        else:
            self._events(plan, body)
        out = bytearray(body)
        for a, b in plan.finish():
            out[a:b] = b"*" * (b - a)
        fill = self.fill.encode()
        for a, b in plan.digits:  # a digit of a number: a plain byte, or a \u0031 escape inside a string
            out[a:b] = fill if b - a == 1 else b"\\u003" + fill if b - a == 6 and out[a : a + 2] == b"\\u" else b"*" * (b - a)
        return bytes(out)

    def _events(self, plan: _Plan, body: bytes) -> None:
        """A stream, read in two passes so that the cost follows where the key can be.

        The first pass decodes each event's JSON (as the judge does) and looks, without
        reading tokens: whether any piece of the key is in its bytes (one search over the
        whole body) or, for an event holding an escape, in its JSON written back plainly;
        if so, whether its decoded JSON has a token that could be starred (``_walk_needed``);
        and what each choice and tool call assembles (content, arguments ...), by stream.
        Then an assembled text that holds a piece is planned from what was read, its bytes
        found only where a hit falls (``_quick_spans``, else that event's tokens), and the
        events with a token to star are read token by token. What it stars is what reading
        every event would star: ``body(exhaustive=True)``, which tests/test_redact.py holds
        it to. Its only imports from the decoder are ``sse.parse`` and ``stream.as_index``
        and ``stream.choice_index`` (how a client groups choices and tool calls)."""
        from .sse import parse  # the parser the judge uses: the same events, the same bytes

        events = parse(body).events
        near = self._near(body)  # raw offsets of pieces of the key, ascending
        ni = 0
        covered: list[tuple[int, int]] = []
        lines: list[tuple[int, int]] | None = []  # (start, end) of each covered line, if all are plain
        walk: set[int] = set()
        streams: dict[Any, list[tuple[int, str]]] = {}
        for n, event in enumerate(events):
            values, line = _single_value(body, event.offset, event.end)
            if line is None:
                values = _data_values(body, event.offset, event.end)
                lines = None
            if event.data == "[DONE]":
                covered.extend((a, a + ln) for _, a, ln in values)
                if lines is not None and line is not None:
                    lines.append(line)
                continue
            if not values:
                continue
            joined = body[values[0][1] : values[0][1] + values[0][2]] if len(values) == 1 else b"\n".join(body[a : a + ln] for _, a, ln in values)
            try:
                doc, exact = orjson.loads(joined), True
            except orjson.JSONDecodeError:
                doc, exact = _load(joined), False  # json's leniency (a lone surrogate, NaN) is read token by token
                if doc is None:
                    continue  # not JSON: read as loose text below
            covered.extend((a, a + ln) for _, a, ln in values)
            if lines is not None and line is not None:
                lines.append(line)
            if near:
                while ni < len(near) and near[ni] < event.offset:
                    ni += 1
                hit = ni < len(near) and near[ni] < event.end
            else:
                hit = False
            if self._eol_in_key:  # a key with a line break: found in the joined data only
                hit = self._raw is not None and self._raw.search(joined) is not None
            escaped = b"\\" in joined
            found = None if escaped or not exact else _assembled_chunk(doc, joined)
            if found is None and exact:
                paths, strings = _assembled(doc)
                # every string of the bytes is in the doc, unless a key was given twice
                exact = strings == (len(_STRINGS.findall(joined)) if escaped else joined.count(b'"') // 2)
                found = [(_logical(path, doc), text) for path, text in paths]
            if not exact:  # the decoded doc is not all the bytes: read them
                walk.add(n)
                found = [(_logical(path, doc), text) for path, text in _assembled_tokens(joined, doc)]
            elif (hit or (escaped and self._escaped_hit(doc))) and self._walk_needed(doc, joined, escaped):
                walk.add(n)
            for stream, text in found or ():
                streams.setdefault(stream, []).append((n, text))
        # an assembled text with a piece of the key in it is planned from what pass one read;
        # where a hit falls, its event is read token by token to find the bytes
        located: dict[int, dict[tuple[Any, int], Any]] = {}

        def spans(n: int, stream: Any, j: int, size: int) -> list[tuple[int, int]]:
            if n not in located:
                if j == 0 and isinstance(stream[-1], str):
                    quick = _quick_spans(body, events[n].offset, events[n].end, stream[-1])
                    if quick is not None and len(quick) == size:
                        return quick
                located[n] = self._assembled_spans(body, events[n].offset, events[n].end)
            got = located[n][(stream, j)]
            found: list[tuple[int, int]] = got() if callable(got) else got
            return found

        for stream, parts in streams.items():
            if self._any is None or not self._any.search("".join(t for _, t in parts)):
                continue
            seen: dict[int, int] = {}
            for n, text in parts:
                j = seen[n] = seen.get(n, -1) + 1
                plan.token(("assembled", stream), text, partial(spans, n, stream, j, len(text)), _STAR)
        for n in sorted(walk):  # the tokens that are no assembled text, where a piece may be
            event = events[n]
            values = _single_value(body, event.offset, event.end)[0] or _data_values(body, event.offset, event.end)
            joined = b"\n".join(body[a : a + ln] for _, a, ln in values)
            located[n] = {}
            self._json(plan, joined, values, _load(joined), n, set(), located[n])
        self._loose_text(plan, body, covered, _gaps(body, lines))

    def _assembled_spans(self, body: bytes, offset: int, end: int) -> dict[tuple[Any, int], list[tuple[int, int]]]:
        """The byte spans of each assembled string of one event, by (stream, occurrence)."""
        values = _single_value(body, offset, end)[0] or _data_values(body, offset, end)
        joined = b"\n".join(body[a : a + ln] for _, a, ln in values)
        doc = _load(joined)
        out: dict[tuple[Any, int], list[tuple[int, int]]] = {}
        seen: dict[Any, int] = {}
        for path, kind, start, stop in _json_tokens(joined, _BYTE_TOKENS):
            if kind == "str" and _field(path) in ASSEMBLED:
                stream = _logical(path, doc)
                j = seen[stream] = seen.get(stream, -1) + 1
                out[(stream, j)] = _located(values, joined[start:stop], start)
        return out

    def _every_event(self, plan: _Plan, body: bytes) -> None:
        """Every event read token by token, every assembled text planned: what ``_events``
        must star, at a cost that grows with every token of the body."""
        from .sse import parse

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

    def _walk_needed(self, doc: Any, data: bytes, escaped: bool) -> bool:
        """Whether reading ``data`` token by token can star more than its assembled texts: a
        key or a string that is not assembled, not kept as a protocol word, and holds a
        piece; a number, when a piece could be one; a string the doc lost (a key given
        twice). Read from the decoded ``doc``, which costs a fraction of the tokens."""
        if self._number_pieces or self._any is None:
            return True
        search, words = self._any.search, self.vocabulary
        strings = 0
        stack: list[tuple[Any, Any]] = [(doc, None)]
        while stack:
            node, field = stack.pop()
            t = type(node)
            if t is dict:
                strings += len(node)
                for k, v in node.items():
                    if k not in words and search(k):
                        return True
                    t = type(v)
                    if t is str:
                        strings += 1
                        if k not in ASSEMBLED and not (k not in FREE_TEXT and v in words) and search(v):
                            return True
                    elif t is dict or t is list:
                        stack.append((v, k))
            elif t is list:
                for v in node:
                    t = type(v)
                    if t is str:
                        strings += 1
                        if field not in ASSEMBLED and not (field not in FREE_TEXT and v in words) and search(v):
                            return True
                    elif t is dict or t is list:
                        stack.append((v, field))
            elif t is str:
                strings += 1
                if node not in words and search(node):
                    return True
        return strings != (len(_STRINGS.findall(data)) if escaped else data.count(b'"') // 2)

    def _near(self, body: bytes) -> list[int]:
        """Offsets in ``body`` where a piece of the key starts (some, at least one per line
        that holds one: enough to tell which events to read)."""
        if self._raw is None:
            return []
        return [m.start() for m in self._raw.finditer(body)]

    def _escaped_hit(self, doc: Any) -> bool:
        """Whether a decoded event holds a piece of the key: its JSON written back by orjson
        (no escapes but those of quotes, backslashes and control characters)."""
        if self._canon is None:
            return True
        try:
            return self._canon.search(orjson.dumps(doc)) is not None
        except (orjson.JSONEncodeError, TypeError):  # json's leniency (a big integer, NaN): read it
            return True

    def _json(self, plan: _Plan, data: bytes, segments: list[tuple[int, int, int]], doc: Any, event: Any,
              hot: set[Any] | None = None, elsewhere: dict[tuple[Any, int], Any] | None = None) -> None:
        """Plan the stars of one JSON value token by token. ``hot``: the assembled streams
        planned here (None: all of them); ``elsewhere`` receives, for each of the others,
        how to find its spans (by stream and occurrence, as ``_assembled_spans``)."""
        words = self.vocabulary
        located = partial(_located, segments)
        where = partial(_where, segments)

        # an event with no piece of the key and no escape can only hold one split over events
        whole = self._prefilter is not None and self._prefilter.search(data) is not None
        seen: dict[Any, int] = {}
        for path, kind, start, end in _json_tokens(data, _BYTE_TOKENS):
            if kind == "lit":
                if whole and data[start] in _NUMBER_START:
                    self._number(plan, data[start:end].decode("ascii", "replace"), where(start), path, event)
                continue
            name = None if kind == "key" else _field(path)
            if not whole and name not in ASSEMBLED:
                continue
            stream: Any = None
            if name in ASSEMBLED:
                stream = ("assembled", _logical(path, doc))
                if hot is not None and stream not in hot:  # planned by the caller, if it holds a piece
                    if elsewhere is not None:
                        j = seen[stream[1]] = seen.get(stream[1], -1) + 1
                        elsewhere[(stream[1], j)] = partial(located, data[start:end], start)
                    continue
            raw = data[start:end]
            spans: Any
            if raw.isascii() and b"\\" not in raw:  # the common case: spans only if a hit needs them
                text = raw[1:-1].decode("ascii")
                spans = lambda raw=raw, start=start: located(raw, start)  # noqa: E731
            else:
                text = _decode_chars(raw, start)[0]
                spans = located(raw, start)
            if stream is not None:
                plan.token(stream, text, spans, _STAR)
            elif self._any is not None and self._any.search(text):  # a token on its own, with a piece of the key in it
                kept = text in words if kind == "key" else name not in FREE_TEXT and text in words
                if not kept:  # a kept token, alone in its stream, could star nothing
                    plan.token((kind, event, start), text, spans, _STAR)

    def _number(self, plan: _Plan, text: str, at: int, path: tuple[Any, ...], event: Any) -> None:
        """A JSON number holding a piece of the key (a key of digits, echoed as a number):
        its digits in the hit become ``fill``, so the number keeps its length and stays a
        number (stars would break the JSON; 0 cannot lead a number)."""
        if text.isascii() and self.hits(text) and not self.number_kept(_field(path)):
            plan.token(("number", event, at), text, [(at + i, at + i + 1) for i in range(len(text))], _DIGIT)

    def _loose_text(self, plan: _Plan, body: bytes, covered: list[tuple[int, int]],
                    regions: list[tuple[int, int]] | None = None) -> None:
        """Everything that is not a JSON data value: comments, field values, broken
        payloads, a whole HTML page; read as one text across lines and events, so a key
        split over two non-JSON events is found. ``regions``: the parts of the body that
        can hold such lines (all of it when None)."""
        covered.sort()
        ci = 0
        first = len(_BOM) if body.startswith(_BOM) else 0
        for r_start, r_end in [(first, len(body))] if regions is None else regions:
            for m in _LINES.finditer(body, max(r_start, first), r_end):
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
                # a retry value is a number (a star would make the parser drop the field)
                mode = _DIGIT if name == b"retry" and text.isdigit() and text.isascii() else _STAR
                plan.loose.append((text, spans, _KEEP if text in self.vocabulary else mode))

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


def _fill_digit(keys: list[str]) -> str:
    """The digit a masked number's key digits become: one that occurs in no key (so no
    piece can form around it), else one whose run is no piece of any key; 9 when it can.
    Never 0: a JSON number may not start with 0 followed by digits."""
    digits = "987654321"
    for d in digits:
        if not any(d in k for k in keys):
            return d
    for d in digits:
        if not any(d * PIECE in k if len(k) >= LONG_KEY else k == d * len(k) for k in keys):
            return d
    return "9"  # every run of every digit is a piece: unreachable for a key of fewer than 36 characters


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


def _quick_spans(body: bytes, start: int, end: int, field: str) -> list[tuple[int, int]] | None:
    """The spans of the string value of ``field`` in an event of one ``data:`` line with no
    escape, where ``"field"`` occurs once: without an escape no string holds a quote, so
    that occurrence is the key and the next string its value. None for any other event."""
    values, line = _single_value(body, start, end)
    if line is None:
        return None
    _, at, length = values[0]
    data = body[at : at + length]
    name = b'"' + field.encode() + b'"'
    if b"\\" in data or data.count(name) != 1:
        return None
    p = data.find(name) + len(name)
    q = data.find(b'"', p)
    r = data.find(b'"', q + 1) if q >= 0 else -1
    if r < 0 or data[p:q].strip(b" \t\r\n") != b":":
        return None
    return _decode_chars(data[q : r + 1], at + q)[1]


def _where(segments: list[tuple[int, int, int]], p: int) -> int:
    """The raw offset of position ``p`` of joined data (see ``_data_values``)."""
    for joined_at, raw_at, _length in reversed(segments):
        if p >= joined_at:
            return raw_at + (p - joined_at)
    return p


def _located(segments: list[tuple[int, int, int]], raw: bytes, start: int) -> list[tuple[int, int]]:
    """The raw byte span of each character of the string token ``raw`` at ``start`` in the
    joined data."""
    if len(segments) == 1:
        return _decode_chars(raw, _where(segments, start))[1]
    # a multi-line data value: map each span through its line
    return [(_where(segments, a), _where(segments, b - 1) + 1) for a, b in _decode_chars(raw, start)[1]]


def _single_value(body: bytes, start: int, end: int) -> tuple[list[tuple[int, int, int]], tuple[int, int] | None]:
    """An event that is one ``data: `` line (nearly every event of every provider): its
    value as ``_data_values`` gives it, and the line without its end, found with a few
    C-level calls; ([], None) for any other event."""
    if not body.startswith(b"data: ", start) or (start == 0 and body.startswith(_BOM)):
        return [], None
    m = _EOL.search(body, start, end)
    if m is None or body[m.start() : end] not in (b"\n", b"\r\n", b"\r"):
        return [], None
    return [(0, start + 6, m.start() - start - 6)], (start, m.start())


def _gaps(body: bytes, lines: list[tuple[int, int]] | None) -> list[tuple[int, int]] | None:
    """The parts of the body between covered data lines that hold more than line ends: the
    only places loose text can be (None: read the whole body)."""
    if lines is None:
        return None
    out: list[tuple[int, int]] = []
    prev = len(_BOM) if body.startswith(_BOM) else 0
    for start, end in [*lines, (len(body), len(body))]:
        if start > prev and body[prev:start].translate(None, b"\r\n"):
            out.append((prev, start))
        prev = end
    return out


def _assembled(doc: Any) -> tuple[list[tuple[tuple[Any, ...], str]], int]:
    """The strings a client assembles (a field of ``ASSEMBLED`` nearest above them), with
    their paths, in document order; and how many strings ``doc`` holds, keys included (to
    tell a key given twice, whose first value the decoded doc no longer holds)."""
    found: list[tuple[tuple[Any, ...], str]] = []
    strings = 0
    stack: list[tuple[tuple[Any, ...], Any, Any]] = [((), doc, None)]
    push = stack.append
    while stack:
        path, node, field = stack.pop()
        mark = len(stack)
        t = type(node)
        if t is dict:
            strings += len(node)
            for k, v in node.items():
                t = type(v)
                if t is str:
                    strings += 1
                    if k in ASSEMBLED:
                        found.append(((*path, k), v))
                elif t is dict or t is list:
                    push(((*path, k), v, k))
        elif t is list:
            for i, v in enumerate(node):
                t = type(v)
                if t is str:
                    strings += 1
                    if field in ASSEMBLED:
                        found.append(((*path, i), v))
                elif t is dict or t is list:
                    push(((*path, i), v, field))
        elif t is str:
            strings += 1
        if len(stack) - mark > 1:  # children in document order
            stack[mark:] = stack[mark:][::-1]
    return found, strings


_NAMES = tuple(f'"{name}"'.encode() for name in sorted(ASSEMBLED))
_DELTA_TEXT = tuple(sorted(ASSEMBLED - {"arguments"}))


def _assembled_chunk(doc: Any, data: bytes) -> list[tuple[tuple[Any, ...], str]] | None:
    """``_assembled`` for a chunk of the usual shape, by stream (see ``_logical``): the text
    fields of each choice's ``delta`` and its tool calls' ``arguments``. None when ``data``
    (holding no escape) names such a field anywhere else, or a value is not a string or null:
    then the general walk reads it."""
    names = sum(data.count(name) for name in _NAMES)
    if not names:
        return []
    choices = doc.get("choices") if type(doc) is dict else None
    if type(choices) is not list:
        return None
    found: list[tuple[tuple[Any, ...], str]] = []
    for pos, choice in enumerate(choices):
        delta = choice.get("delta") if type(choice) is dict else None
        if type(delta) is not dict:
            continue
        stream = ("choices", ("index", choice_index(choice, pos)), "delta")
        for name in _DELTA_TEXT:
            if name in delta:
                names -= 1
                value = delta[name]
                if type(value) is str:
                    found.append(((*stream, name), value))
                elif value is not None:
                    return None
        calls = delta.get("tool_calls")
        if type(calls) is not list:
            continue
        for j, call in enumerate(calls):
            function = call.get("function") if type(call) is dict else None
            if type(function) is not dict or "arguments" not in function:
                continue
            names -= 1
            value = function["arguments"]
            if type(value) is str:
                t = as_index(call.get("index"))
                found.append(((*stream, "tool_calls", ("index", j if t is None else t), "function", "arguments"), value))
            elif value is not None:
                return None
    return found if names == 0 else None


def _assembled_tokens(data: bytes, doc: Any) -> list[tuple[tuple[Any, ...], str]]:
    """``_assembled`` read from the bytes, token by token: every string, a repeated key's too."""
    return [(path, _decode_chars(data[start:end], start)[0]) for path, kind, start, end in _json_tokens(data, _BYTE_TOKENS)
            if kind == "str" and _field(path) in ASSEMBLED]


def _logical(path: tuple[Any, ...], doc: Any) -> tuple[Any, ...]:
    """The stream a client assembles: choices by their ``index``, tool calls by theirs."""
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

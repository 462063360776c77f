"""WHATWG event-stream parsing over bytes, sans I/O.

The verdicts of the suite rest on this parser, so it follows the HTML standard's algorithm
(9.2.5 "Parsing an event stream", 9.2.6 "Interpreting an event stream") exactly, on raw bytes
so that every event keeps its byte offset, and it can be fed in arbitrary pieces: the same
events come out however the body is split. It knows no verdicts. Besides the events it
reports what a rule may need to judge: blocks a blank line ended without dispatching (they
crash some clients), the trailing block that no blank line ended, lines over the size limit,
and a leading BOM.

Decoding happens per data value with ``errors="replace"``; that equals decoding the whole
stream first, because CR and LF never occur inside a UTF-8 sequence.
"""

from __future__ import annotations

import re
from itertools import accumulate, compress, count, repeat
from operator import add, gt
from typing import NamedTuple

__all__ = ["Block", "Event", "MAX_LINE", "SSEParser", "parse"]

# One line (one `data:` value, in practice one chunk) above this size is dropped and reported:
# chunks are kilobytes; a line this long means a broken or hostile endpoint, and buffering it
# without a bound would let the endpoint under test exhaust our memory.
MAX_LINE = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"[\r\n]")
# A run of blocks that are each one `data: ` line and a blank line: how nearly every provider
# frames every chunk. Such a run is parsed in bulk (C-level split, decode and tuple building)
# instead of line by line; it yields exactly the events the line loop would.
_SIMPLE_RUN = re.compile(rb"(?:data: [^\n]*\n\n)+")
_NEW = tuple.__new__


class Event(NamedTuple):
    """A dispatched event. A NamedTuple rather than a dataclass: one is built per chunk, and
    tuple construction is several times cheaper on the hot path."""

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the event's number
    offset: int  # raw-body offset of the block's first line (comments included)
    end: int  # raw-body offset where the dispatching blank line starts: [offset, end) is the
    # event's own lines. (Past the blank line would depend on how a CRLF was split.)
    data: str
    type: str
    last_id: str
    time: float | None


class Block(NamedTuple):
    """A block that was not dispatched: no data line, or no blank line before the body ended."""

    offset: int
    end: int
    fields: frozenset[str]  # kinds of line seen: data, event, id, retry, comment, other
    after_id: bool  # a non-empty id had been seen by the end of this block


def _field_kind(name: bytes) -> str:
    if name in (b"data", b"event", b"id", b"retry"):
        return name.decode()
    return "other"


class SSEParser:
    """Incremental parser: ``feed(bytes, t)`` returns the events those bytes completed."""

    def __init__(self, max_line: int = MAX_LINE, keep: bool = True) -> None:
        """``keep=False`` (the one-pass judge): events are only returned, never kept, and
        ``skipped`` holds the undispatched blocks until the caller takes them."""
        self.max_line = max_line
        self.keep = keep
        self.count = 0  # events dispatched so far
        self.events: list[Event] = []
        self.skipped: list[Block] = []
        self.discarded: Block | None = None
        self.oversized: list[tuple[int, int]] = []
        self.bom = False
        self._head: bytes | None = b""  # bytes held back until the BOM question is settled
        # The unterminated start of the current line, in the pieces it came in: joined only
        # once a line ending arrives, so a long line fed in small reads costs linear time.
        self._tail: list[bytes] = []
        self._tail_len = 0
        self._pos = 0  # raw-body offset of the tail's first byte
        self._skip_lf = False  # the previous piece ended in CR: a leading LF completes CRLF
        self._dropping = -1  # offset of an oversized line being skipped, or -1
        # the block being built
        self._start = -1
        self._data: list[bytes] = []
        self._type = b""
        self._fields: set[str] = set()
        self._last_id = ""
        self._seen_id = False

    def feed(self, data: bytes, t: float | None = None) -> list[Event]:
        if self._head is not None:
            head = self._head + data
            if len(head) < 3 and _BOM.startswith(head):
                self._head = head
                return []
            self._head = None
            if head.startswith(_BOM):
                self.bom = True
                head = head[3:]
                self._pos = 3
            data = head
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == 0x0A:
                data = data[1:]
                self._pos += 1
        if self._dropping >= 0:
            m = _EOL.search(data)
            if m is None:
                self._pos += len(data)
                return []
            cut = m.start()
            self.oversized.append((self._dropping, self._pos + cut - self._dropping))
            self._dropping = -1
            nxt = cut + 1  # consume the dropped line's own line ending
            if data[cut] == 0x0D:
                if nxt == len(data):
                    self._skip_lf = True
                elif data[nxt] == 0x0A:
                    nxt += 1
            self._pos += nxt
            data = data[nxt:]
        if _EOL.search(data) is None:  # no line ends here: hold the piece
            self._tail.append(data)
            self._tail_len += len(data)
            self._check_tail()
            return []
        buf = b"".join((*self._tail, data)) if self._tail else data
        out: list[Event] = []
        rest = self._lines(buf, t, out)
        self._pos += rest
        self._tail = [buf[rest:]] if rest < len(buf) else []
        self._tail_len = len(buf) - rest
        self._check_tail()
        return out

    def _check_tail(self) -> None:
        """An unterminated line over the limit is dropped now, not buffered to the end."""
        if self._tail_len > self.max_line:
            if self._start < 0:
                self._start = self._pos
            self._dropping = self._pos
            self._pos += self._tail_len
            self._tail = []
            self._tail_len = 0

    def close(self) -> list[Event]:
        """End of body. WHATWG drops a block no blank line ended; we keep a note of it."""
        out: list[Event] = []
        if self._head:  # a body of one or two bytes that began like a BOM
            head, self._head = self._head, None
            rest = self._lines(head, None, out)
            self._tail, self._tail_len, self._pos = [head[rest:]], len(head) - rest, rest
        self._head = None
        end = self._pos + self._tail_len
        if self._dropping >= 0:
            self.oversized.append((self._dropping, end - self._dropping))
            self._dropping = -1
        if self._tail_len:
            if self._start < 0:
                self._start = self._pos
            line = b"".join(self._tail)
            if line[:1] == b":":
                self._fields.add("comment")
            else:
                colon = line.find(b":")
                self._fields.add(_field_kind(line if colon < 0 else line[:colon]))
        if self._start >= 0:
            self.discarded = Block(self._start, end, frozenset(self._fields), self._seen_id)
        self._tail, self._tail_len = [], 0
        return out

    def _lines(self, buf: bytes, t: float | None, out: list[Event]) -> int:
        """Process every complete line of ``buf``; return where the unterminated rest starts."""
        base = self._pos
        pos = 0
        size = len(buf)
        plain = b"\r" not in buf  # the fast path: LF-only framing, the common case
        max_line = self.max_line
        data = self._data
        while pos < size:
            if plain and self._start < 0:  # a fresh block: try the bulk path
                run = _SIMPLE_RUN.match(buf, pos)
                if run is not None:
                    done = self._bulk(buf, pos, run.end(), base + pos, t, out)
                    if done > pos:
                        pos = done
                        continue
            if plain:
                eol = buf.find(b"\n", pos)
                if eol < 0:
                    break
                nxt = eol + 1
            else:
                m = _EOL.search(buf, pos)
                if m is None:
                    break
                eol = m.start()
                nxt = eol + 1
                if buf[eol] == 0x0D:
                    if nxt < size:
                        if buf[nxt] == 0x0A:
                            nxt += 1
                    else:
                        self._skip_lf = True  # a LF in the next piece belongs to this CR
            if eol == pos:  # blank line: dispatch
                if data:
                    text = b"\n".join(data).decode("utf-8", "replace")
                    ev = Event(
                        self.count,
                        self._start,
                        base + pos,
                        text,
                        self._type.decode("utf-8", "replace") if self._type else "message",
                        self._last_id,
                        t,
                    )
                    self.count += 1
                    if self.keep:
                        self.events.append(ev)
                    out.append(ev)
                    data = self._data = []
                else:
                    start = self._start if self._start >= 0 else base + pos
                    self.skipped.append(Block(start, base + pos, frozenset(self._fields), self._seen_id))
                self._start = -1
                self._type = b""
                if self._fields:
                    self._fields = set()
                pos = nxt
                continue
            if self._start < 0:
                self._start = base + pos
            if eol - pos > max_line:
                self.oversized.append((base + pos, eol - pos))
            elif buf.startswith(b"data: ", pos):
                data.append(buf[pos + 6 : eol])
                self._fields.add("data")
            elif buf[pos] == 0x3A:
                self._fields.add("comment")
            else:
                colon = buf.find(b":", pos, eol)
                if colon < 0:
                    name, value = buf[pos:eol], b""
                else:
                    name = buf[pos:colon]
                    vstart = colon + 2 if buf.startswith(b" ", colon + 1) else colon + 1
                    value = buf[vstart:eol]
                kind = _field_kind(name)
                self._fields.add(kind)
                if kind == "data":
                    data.append(value)
                elif kind == "event":
                    self._type = value
                elif kind == "id":
                    if b"\x00" not in value:
                        self._last_id = value.decode("utf-8", "replace")
                        if value:
                            self._seen_id = True
            pos = nxt
        return pos

    def _bulk(self, buf: bytes, start: int, stop: int, offset: int, t: float | None, out: list[Event]) -> int:
        """Dispatch the run of one-line ``data: `` blocks ``buf[start:stop]`` (``offset`` is
        its raw-body offset) up to the first line over the limit, which the line loop then
        reports; return where the dispatched blocks end."""
        raw = buf[start + 6 : stop - 2]
        # Decoding the run at once equals decoding each value: LF never occurs inside a UTF-8
        # sequence and a replacement character is never LF, so the split points are the same.
        values = raw.decode("utf-8", "replace").split("\n\ndata: ")
        if raw.isascii():
            sizes = list(map(len, values))
        else:
            sizes = list(map(len, raw.split(b"\n\ndata: ")))
        if stop - start > self.max_line:  # only a run this long can hold an oversized line
            over = next(compress(count(), map(gt, sizes, repeat(self.max_line - 6))), None)
            if over is not None:
                del values[over:], sizes[over:]
                stop = start + sum(sizes) + 8 * over
                if not values:
                    return start
        # a block "data: V\n\n" starts at o, its blank line at o + 7 + len(V), the next at o + 8 + len(V)
        starts = list(accumulate(map(add, sizes, repeat(8)), initial=offset))
        starts.pop()
        ends = map(add, starts, map(add, sizes, repeat(7)))
        first = self.count
        events = list(
            map(
                _NEW,
                repeat(Event),
                zip(range(first, first + len(values)), starts, ends, values, repeat("message"), repeat(self._last_id), repeat(t)),
            )
        )
        self.count += len(events)
        if self.keep:
            self.events.extend(events)
        out.extend(events)
        return stop


def parse(body: bytes, max_line: int = MAX_LINE) -> SSEParser:
    """Parse a whole body; the parser keeps events, skipped blocks and notes."""
    parser = SSEParser(max_line)
    parser.feed(body)
    parser.close()
    return parser

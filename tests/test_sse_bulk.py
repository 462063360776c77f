"""The parser's bulk path (runs of one-line `data:` blocks) gives the events, notes and
offsets of the line-by-line path: fed one byte at a time, no run is ever seen whole."""

from __future__ import annotations

from conformance.sse import SSEParser, parse


def _bytewise(body: bytes, max_line: int) -> SSEParser:
    parser = SSEParser(max_line)
    for k in range(len(body)):
        parser.feed(body[k : k + 1])
    parser.close()
    return parser


def _same(body: bytes, max_line: int) -> SSEParser:
    whole, slow = parse(body, max_line), _bytewise(body, max_line)
    assert whole.events == slow.events
    assert whole.skipped == slow.skipped
    assert whole.oversized == slow.oversized
    assert whole.discarded == slow.discarded
    return whole


def test_a_run_with_an_oversized_line_inside_it() -> None:
    small = b"".join(b'data: {"n":%d}\n\n' % n for n in range(40))
    body = small + b"data: " + b"x" * 300 + b"\n\n" + small + b": note\n\n" + small
    parser = _same(body, max_line=200)
    assert len(parser.events) == 120 and len(parser.oversized) == 1
    assert parser.oversized[0] == (len(small), 306)


def test_offsets_of_a_run_with_multibyte_and_invalid_utf8() -> None:
    body = "data: héllo\n\ndata: 😀\n\n".encode() + b"data: \xff\xfe ok\n\ndata: \n\ndata: [DONE]\n\n"
    parser = _same(body, max_line=1024)
    assert [e.data for e in parser.events] == ["héllo", "😀", "\ufffd\ufffd ok", "", "[DONE]"]
    for ev in parser.events:
        assert body[ev.offset : ev.offset + 6] == b"data: " and body[ev.end : ev.end + 1] == b"\n"


def test_a_run_then_other_fields_then_a_run() -> None:
    body = b"data: a\n\ndata: b\n\nid: 7\ndata: c\n\nevent: x\ndata: d\n\ndata: e\n\ndata: f\n\ndata: g"
    parser = _same(body, max_line=1024)
    assert [(e.data, e.type, e.last_id) for e in parser.events] == [
        ("a", "message", ""), ("b", "message", ""), ("c", "message", "7"), ("d", "x", "7"), ("e", "message", "7"), ("f", "message", "7")
    ]
    assert parser.discarded is not None

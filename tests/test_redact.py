"""Redaction: the key goes, however the endpoint escapes it, and timings stay true."""

from __future__ import annotations

import json

from conformance import Exchange, Timing, judge
from conformance.redact import MASK, redact, scrub

from .conftest import USAGE, chunk, stream_body, text_stream

KEY = "sk-live/SECRET-abc123"


def echoed(text: str) -> bytes:
    return stream_body(chunk({"role": "assistant", "content": ""}), chunk({"content": text}), chunk({}, "stop", usage=USAGE))


def test_raw_and_escaped_forms_are_replaced() -> None:
    escaped_unicode = "".join(f"\\u{ord(c):04x}" for c in KEY)
    for raw in (KEY, KEY.replace("/", "\\/"), escaped_unicode, "sk-live\\/SECRET\\u002dabc123"):
        body = echoed("your key: PLACEHOLDER").replace(b"PLACEHOLDER", raw.encode())
        out = redact(Exchange(body), [KEY])
        text = out.body.decode()
        assert KEY not in json.dumps([json.loads(line[6:]) for line in text.split("\n\n") if line.startswith("data: {")])
        assert MASK in text
        assert judge(out).ok  # still a well-formed stream


def test_offsets_of_arrivals_follow_the_replacements() -> None:
    pieces = [stream_body(chunk({"role": "assistant", "content": f"key {KEY}"}), done=False), stream_body(*text_stream("a")[1:])]
    body = b"".join(pieces)
    ex = Exchange(body, timing=Timing(((0, 0.1), (len(pieces[0]), 5.0))))
    out = redact(ex, [KEY])
    assert out.timing is not None
    (_, t0), (offset, t1) = out.timing.arrivals
    assert out.body[offset:].startswith(b"data: ") and t1 == 5.0
    assert len(out.body) - offset == len(pieces[1])


def test_headers_request_and_payloads() -> None:
    ex = Exchange(b"", headers={"authorization": "Bearer x", "x-echo": f"k={KEY}"}, request={"user": KEY, KEY: 1})
    out = redact(ex, [KEY])
    assert out.headers == {"authorization": MASK, "x-echo": f"k={MASK}"}
    assert KEY not in json.dumps(out.request)
    assert scrub({"a": [f"x{KEY}"]}, [KEY]) == {"a": [f"x{MASK}"]}


def test_a_key_echoed_token_by_token_is_starred_out_of_the_recording() -> None:
    parts = ["Your key is sk-li", "ve/SECR", "ET-abc", "123, keep it safe"]
    body = stream_body(chunk({"role": "assistant", "content": ""}), *[chunk({"content": p}) for p in parts], chunk({}, "stop", usage=USAGE))
    out = redact(Exchange(body), [KEY])
    verdict = judge(out)
    content = verdict.message[0].content
    assert KEY not in content and "*" * len(KEY) in content and content.startswith("Your key is ")
    assert verdict.ok

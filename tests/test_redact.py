"""The scrubber: the key goes from whatever is written, however it was escaped or split, and
nothing the suite judged or wrote itself changes (same length, same verdicts, our words whole)."""

from __future__ import annotations

import json
import random

import pytest

from conformance import Exchange, Timing, judge
from conformance.redact import MASK, Scrubber, pieces, redact, scrub

from .conftest import USAGE, chunk, stream_body, text_stream

KEY = "sk-live/SECRET-abc123"


def echoed(text: str) -> bytes:
    return stream_body(chunk({"role": "assistant", "content": ""}), chunk({"content": text}), chunk({}, "stop", usage=USAGE))


def leaked(text: str | bytes, key: str) -> list[str]:
    """The pieces of ``key`` found in ``text`` (see redact.pieces)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [p for p in pieces(key) if p in text]


def test_raw_and_escaped_forms_are_starred_in_place() -> None:
    escaped_unicode = "".join(f"\\u{ord(c):04x}" for c in KEY)
    for raw in (KEY, KEY.replace("/", "\\/"), escaped_unicode, "sk-live\\/SECRET\\u002dabc123"):
        body = echoed("your key: PLACEHOLDER").replace(b"PLACEHOLDER", raw.encode())
        out = redact(Exchange(body), [KEY])
        assert len(out.body) == len(body)  # offsets and arrival times stay true
        content = judge(out).message[0].content
        assert content.startswith("your key: ") and set(content[10:]) == {"*"}, content
        assert not leaked(json.dumps(content), KEY)
        assert judge(out).statuses() == judge(Exchange(body)).statuses()


def test_arrival_offsets_do_not_move() -> None:
    pieces_ = [stream_body(chunk({"role": "assistant", "content": f"key {KEY}"}), done=False), stream_body(*text_stream("a")[1:])]
    body = b"".join(pieces_)
    ex = Exchange(body, timing=Timing(((0, 0.1), (len(pieces_[0]), 5.0))))
    out = redact(ex, [KEY])
    assert out.timing == ex.timing and len(out.body) == len(body)
    assert not leaked(out.body, KEY)


def test_headers_request_and_values() -> None:
    ex = Exchange(b"", headers={"authorization": "Bearer x", "x-echo": f"k={KEY}"}, request={"user": KEY, KEY: 1, "model": "m"})
    out = redact(ex, [KEY])
    assert out.headers is not None and out.headers["authorization"] == MASK
    assert not leaked(json.dumps(out.headers), KEY) and not leaked(json.dumps(out.request), KEY)
    assert out.request is not None and out.request["model"] == "m"  # our words stay
    assert scrub({"exchange": [f"x{KEY}"]}, [KEY]) == {"exchange": ["x" + "*" * len(KEY)]}  # keys of our data never change


def test_a_key_echoed_token_by_token_is_starred_where_each_piece_came() -> None:
    parts = ["Your key is sk", "-l", "iv", "e/S", "EC", "RET-abc", "123, keep it safe"]
    body = stream_body(chunk({"role": "assistant", "content": ""}), *[chunk({"content": p}) for p in parts], chunk({}, "stop", usage=USAGE))
    out = redact(Exchange(body), [KEY])
    content = judge(out).message[0].content
    assert content == "Your key is " + "*" * len(KEY) + ", keep it safe"
    assert judge(out).ok


def test_pieces_are_grouped_by_choice_index_not_position() -> None:
    """Choice 1 sits first in one chunk and second in the next: its text is still one text."""
    def two(first: dict, second: dict) -> dict:
        c = chunk()
        c["choices"] = [first, second]
        return c

    c0 = {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    c1 = {"index": 1, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    a = two({"index": 1, "delta": {"content": "sk-li"}, "finish_reason": None}, {"index": 0, "delta": {"content": "sk-"}, "finish_reason": None})
    b = two({"index": 0, "delta": {"content": "hello"}, "finish_reason": None}, {"index": 1, "delta": {"content": "ve/SECRET-abc123"}, "finish_reason": None})
    end = two({"index": 0, "delta": {}, "finish_reason": "stop"}, {"index": 1, "delta": {}, "finish_reason": "stop"})
    body = stream_body(two(c0, c1), a, b, end)
    out = Scrubber([KEY]).body(body)
    message = judge(Exchange(out)).message
    assert message[1].content == "*" * len(KEY)
    assert message[0].content == "sk-hello"  # three characters of choice 0 are no piece of the key
    assert not leaked(out, KEY)


def test_tool_arguments_are_grouped_by_tool_call_index() -> None:
    def call(index: int, args: str, first: bool = False) -> dict:
        entry: dict = {"index": index, "function": {"arguments": args}}
        if first:
            entry.update(id=f"call_{index}", type="function")
            entry["function"]["name"] = "get_weather"
        return entry

    body = stream_body(
        chunk({"role": "assistant", "tool_calls": [call(0, "", True), call(1, "", True)]}),
        chunk({"tool_calls": [call(1, '{"city": "sk-live/'), call(0, '{"city": "Paris"}')]}),
        chunk({"tool_calls": [call(1, 'SECRET-abc123"}')]}),
        chunk({}, "tool_calls", usage=USAGE),
    )
    out = Scrubber([KEY]).body(body)
    calls = judge(Exchange(out)).message[0].tool_calls
    args = {c.index: c.arguments for c in calls}
    assert args[1] == '{"city": "' + "*" * len(KEY) + '"}' and args[0] == '{"city": "Paris"}'
    assert judge(Exchange(out)).statuses() == judge(Exchange(body)).statuses()


def test_a_key_split_over_two_non_json_events_and_comments() -> None:
    body = b": sk-live/\n\ndata: SECRET\n\ndata: -abc123 and more\n\n" + stream_body(*text_stream("hi"))
    out = Scrubber([KEY]).body(body)
    assert len(out) == len(body) and not leaked(out, KEY)
    assert b"and more" in out and b"data: ******" in out
    assert judge(Exchange(out)).statuses() == judge(Exchange(body)).statuses()


@pytest.mark.parametrize("key", ["x", "k", "null", "stop", "EMPTY", "index", "assistant", "chat", "data", "DONE", "sansa"])
def test_a_short_key_never_changes_structure_or_verdicts(key: str) -> None:
    body = stream_body(*text_stream(f"say {key} x null stop k EMPTY"), ": comment", done=True)
    body = body.replace(b"data: [DONE]", b"event: ping\ndata: [DONE]")
    out = Scrubber([key]).body(body)
    assert len(out) == len(body)
    assert judge(Exchange(out)).statuses() == judge(Exchange(body)).statuses()
    content = judge(Exchange(out)).message[0].content
    assert key not in content and "say " in content  # the content is starred, our framing is not


def test_mixed_text_keeps_our_words_and_stars_the_endpoints() -> None:
    sc = Scrubber(["k"])
    assert sc.mixed("chunk.schema: content 'k' at key k") == "chunk.schema: content '*' at key *"
    long = Scrubber(["sk-Qz7vW2pL9xT4mN"])
    # a prefix of the key, quoted by a rule that shows the content so far
    assert long.mixed("content so far: 'Your key is sk-Qz7vW2pL9'") == "content so far: 'Your key is " + "*" * 12 + "'"
    assert Scrubber(["stop"]).mixed("finish_reason 'stop' is not one of the profile's stop reasons") == "finish_reason '****' is not one of the profile's stop reasons"


def test_a_json_error_body_is_scrubbed_token_by_token() -> None:
    body = json.dumps({"error": {"code": "invalid_api_key", "message": "bad key Bearer x; index x"}}).encode()
    out = Scrubber(["x"]).body(body)
    assert json.loads(out) == {"error": {"code": "invalid_api_key", "message": "bad key Bearer *; inde* *"}}
    assert judge(Exchange(out, status=401)).statuses() == judge(Exchange(body, status=401)).statuses()


def test_the_request_is_scrubbed_like_the_body_so_names_still_match() -> None:
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    request = {"model": "m", "messages": [{"role": "user", "content": "weather?"}], "tools": tools}
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'}}
    body = stream_body(chunk({"role": "assistant", "tool_calls": [first]}), chunk({}, "tool_calls", usage=USAGE))
    for key in ("e", "ci", "get"):
        sc = Scrubber([key])
        raw = Exchange(body, request=request)
        out = sc.exchange(raw)
        assert judge(out).statuses() == judge(raw).statuses(), key
        assert out.request is not None and out.request["tools"][0]["type"] == "function"


def test_deep_nesting_is_scrubbed_without_recursion() -> None:
    body = b"data: " + b"[" * 100_000 + b'"x"' + b"]" * 100_000 + b"\n\n" + stream_body(*text_stream("x"))
    out = Scrubber(["x"]).body(body)
    assert len(out) == len(body) and b'"x"' not in out


# ---------------------------------------------------------------- the two-pass reading
# Scrubber.body reads most events without their tokens (issue 12: fast at every size); each
# body below is one it could misread, and body(..., exhaustive=True), which reads every event
# token by token, is what it must write.

def _u(text: str) -> str:
    """``text`` as JSON \\u escapes, every character."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def _raw_chunk(delta_json: str, index: int = 0, extra: str = "") -> str:
    return ('{"id":"c","object":"chat.completion.chunk","created":1,"model":"m"' + extra
            + ',"choices":[{"index":' + str(index) + ',"delta":' + delta_json + ',"finish_reason":null}]}')


TWO_PASS_CASES: dict[str, bytes] = {
    "content split over events": stream_body(*text_stream("Your key is sk-li", "ve/SECRET", "-abc123!")),
    "reasoning and refusal split": stream_body(*[chunk({"reasoning_content": p}) for p in ("sk-li", "ve/SEC", "RET-abc123")],
                                               *[chunk({"refusal": p}) for p in ("sk-", "live/SECRET", "-abc123")]),
    "escaped pieces split over events": stream_body(_raw_chunk('{"content":"' + _u("sk-li") + '"}'),
                                                    _raw_chunk('{"content":"ve/SE\\u0043RET-abc123"}')),
    "escaped key in a protocol field": stream_body(_raw_chunk('{"content":"hi"}', extra=',"model":"' + _u(KEY) + '"')),
    "escaped key as an object key": stream_body(_raw_chunk('{"content":"hi"}', extra=',"' + _u(KEY) + '":1')),
    "raw key as an object key": stream_body(_raw_chunk('{"content":"hi","' + KEY + '":null}')),
    "a key given twice": stream_body(_raw_chunk('{"content":"sk-live/","content":"ok"}'), _raw_chunk('{"content":"SECRET-abc123"}')),
    "an escaped key given twice": stream_body(_raw_chunk('{"content":"\\u0073k-l","content":""}'), _raw_chunk('{"content":"ive/SECRET-abc123"}')),
    "a protocol field given twice": stream_body(_raw_chunk('{"content":"hi"}', extra=f',"model":"{KEY}","model":"m"')),
    "two choices in one event": stream_body(
        '{"choices":[{"index":0,"delta":{"content":"abcd"}},{"index":1,"delta":{"content":"sk-l"}}]}',
        _raw_chunk('{"content":"ive/SECRET-abc123"}', index=1)),
    "content as a list": stream_body(_raw_chunk('{"content":["sk-li","x"]}'), _raw_chunk('{"content":["ve/SECRET-abc123"]}')),
    "content outside choices": stream_body('{"content":"sk-live"}', '{"content":"/SECRET-abc123"}', *text_stream("hi")),
    "a message, not a delta": stream_body('{"choices":[{"index":0,"message":{"content":"sk-live/"}}]}',
                                          '{"choices":[{"index":0,"message":{"content":"SECRET-abc123"}}]}'),
    "content not a string": stream_body(_raw_chunk('{"content":{"text":"sk-live/"}}'), _raw_chunk('{"content":"SECRET-abc123"}')),
    "tool arguments split, escaped": stream_body(
        chunk({"tool_calls": [{"index": 3, "id": "c", "type": "function", "function": {"name": "f", "arguments": '{"k": "sk-l'}}]}),
        _raw_chunk('{"tool_calls":[{"index":3,"function":{"arguments":"' + _u("ive/SECRET") + '-abc123\\"}"}}]}')),
    "multi-line and CRLF events": (b"data: " + _raw_chunk('{"content":"sk-li"}').encode() + b"\r\n\r\n"
                                   + b'data: {"choices":[{"index":0,\ndata: "delta":{"content":"ve/SECRET-abc123"}}]}\n\n'),
    "a BOM and comments around events": (b"\xef\xbb\xbf: sk-live\n" + stream_body(*text_stream("a", "b"), done=False)
                                         + b": /SECRET-abc123\nevent: x\n" + stream_body(*text_stream("c"))),
    "a lone surrogate (json, not orjson)": stream_body(_raw_chunk('{"content":"\\ud800sk-li"}'), _raw_chunk('{"content":"ve/SECRET-abc123"}')),
    "a number and a big integer": stream_body(_raw_chunk('{"content":"sk-li"}', extra=',"n":123456789012345678901234567890'),
                                              _raw_chunk('{"content":"ve/SECRET-abc123"}')),
}


@pytest.mark.parametrize("name", list(TWO_PASS_CASES))
def test_the_two_pass_reading_writes_what_reading_every_token_writes(name: str) -> None:
    body = TWO_PASS_CASES[name]
    sc, reference = Scrubber([KEY]), Scrubber([KEY])
    out = sc.body(body)
    assert out == reference.body(body, exhaustive=True)
    assert sc.learned == reference.learned  # what messages quoting a piece will show
    assert out != body  # every case holds the key (or a piece of it) somewhere


def test_the_two_pass_reading_on_generated_streams() -> None:
    """Seeded random streams: the key cut at random places, over random choices and tool
    calls, some pieces escaped, some events holding nothing of it."""
    rng = random.Random(12)
    for case in range(300):
        key = rng.choice([KEY, "x", "null", "12345678", 'a"b\\c/d\u00e9\U0001f600zz'])
        events: list[str] = []
        text = f"say {key} and {key[: rng.randint(0, len(key))]}"
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, min(6, len(text) - 1))))
        for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True):
            piece = json.dumps(text[a:b], ensure_ascii=rng.random() < 0.3)[1:-1]
            if rng.random() < 0.2:
                piece = _u(text[a:b])
            choice = rng.choice([0, 1])
            if rng.random() < 0.3:
                delta = '{"tool_calls":[{"index":' + str(rng.choice([0, 5])) + ',"function":{"arguments":"' + piece + '"}}]}'
            else:
                delta = '{"' + rng.choice(["content", "reasoning", "refusal"]) + '":"' + piece + '"}'
            events.append(_raw_chunk(delta, index=choice))
            if rng.random() < 0.3:
                events.append(_raw_chunk('{"content":"ok"}', index=1 - choice, extra=',"usage":{"total_tokens":12345678}'))
        body = stream_body(*events)
        if rng.random() < 0.2:
            body = b": " + key[:4].encode() + b"\n" + body
        sc, reference = Scrubber([key]), Scrubber([key])
        assert sc.body(body) == reference.body(body, exhaustive=True), (case, body)
        assert sc.learned == reference.learned, case


# ---------------------------------------------------------------- the key as a JSON number
DIGITS = "73105846"  # a key of digits (no 9): a hostile endpoint may echo it as a number


def _events_json(body: bytes) -> list[object]:
    """Every data value of ``body`` that is not [DONE], decoded (fails if one is not JSON)."""
    return [json.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: {")]


def test_a_key_of_digits_echoed_as_a_number_is_masked_and_stays_a_number() -> None:
    body = stream_body(
        _raw_chunk('{"role":"assistant","content":""}', extra=f',"echo":{DIGITS},"big":9{DIGITS}1,"neg":-{DIGITS[:4]}.{DIGITS[4:]}e12,"list":[{DIGITS}]'),
        _raw_chunk('{"content":"ok"}', extra=f',"usage":{{"total_tokens":{DIGITS}}}'),
    )
    out = Scrubber([DIGITS]).body(body)
    assert len(out) == len(body) and not leaked(out, DIGITS)
    first, second = _events_json(out)
    assert isinstance(first, dict) and isinstance(second, dict)
    # the digits of the key become 9s (no 9 in the key): same length, still numbers
    assert first["echo"] == int("9" * 8) and first["big"] == int("9" * 9 + "1") and first["list"] == [int("9" * 8)]
    assert first["neg"] == float("-9999.9999e12")
    assert second["usage"]["total_tokens"] == int("9" * 8)  # a long key's piece goes even from a protocol field
    assert out == Scrubber([DIGITS]).body(body, exhaustive=True)


def test_a_key_of_digits_in_tool_arguments_keeps_the_arguments_json() -> None:
    first = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"n": ' + DIGITS[:3]}}
    body = stream_body(
        chunk({"role": "assistant", "tool_calls": [first]}),
        _raw_chunk('{"tool_calls":[{"index":0,"function":{"arguments":"05\\u0038' + '46, \\"s\\": \\"' + DIGITS + '\\"}"}}]}'),
        chunk({}, "tool_calls", usage=USAGE),
    )
    out = Scrubber([DIGITS]).body(body)
    assert len(out) == len(body) and not leaked(out, DIGITS)
    args = judge(Exchange(out)).message[0].tool_calls[0].arguments
    assert json.loads(args) == {"n": 99999999, "s": "********"}  # the number a number, the string starred
    assert judge(Exchange(out)).statuses() == judge(Exchange(body)).statuses()


def test_a_number_is_masked_with_a_digit_no_key_holds() -> None:
    key = "sk-1234567890"  # every digit is in the key, but 9999 is no piece of it
    out = Scrubber([key]).body(stream_body(_raw_chunk('{"content":"ok"}', extra=',"n":12345678901')))
    assert b'"n":99999999991' in out and not leaked(out, key)
    out = Scrubber(["98765432"]).body(stream_body(_raw_chunk('{"content":"ok"}', extra=',"n":98765432')))
    assert b'"n":11111111' in out  # 1 is in no key


def test_a_short_key_of_digits_leaves_protocol_numbers() -> None:
    """Like ``stop`` in finish_reason: with the key ``1``, index 1 and the token counts stay
    (the stream means what it meant); a number in a field of the endpoint's own is masked."""
    body = stream_body(*text_stream("1 and 21"), _raw_chunk('{"content":""}', index=0, extra=',"echo":21'))
    out = Scrubber(["1"]).body(body)
    assert judge(Exchange(out)).statuses() == judge(Exchange(body)).statuses()
    assert b'"created": 1700000000' in out and b'"total_tokens": 8' in out and b'"echo":29' in out
    assert judge(Exchange(out)).message[0].content == "* and 2*"


@pytest.mark.parametrize("key", ["true", "false", "null"])
def test_json_literals_are_json_s_own_words(key: str) -> None:
    """A key spelled like a JSON literal is starred in text; the literal itself is the
    JSON's structure, never the endpoint's echo, and stays."""
    body = stream_body(_raw_chunk(f'{{"content":"is {key}"}}', extra=f',"flag":{key}'))
    out = Scrubber([key]).body(body)
    assert f'"flag":{key}'.encode() in out and b'"content":"is ' + b"*" * len(key) + b'"' in out


def test_numbers_of_the_request_are_masked_like_the_body_s() -> None:
    assert scrub({"seed": int(DIGITS), "temperature": 0.73105846, "n": 1, "stream": True}, [DIGITS]) == {
        "seed": 99999999, "temperature": 0.99999999, "n": 1, "stream": True}
    assert scrub({"n": 1, "seed": 21}, ["1"]) == {"n": 1, "seed": 21}  # protocol fields, a short key


def test_a_key_of_digits_in_a_retry_field_and_number_headers_stays_a_number() -> None:
    body = f"retry: {DIGITS}\n: {DIGITS}\n\n".encode() + stream_body(*text_stream("hi"))
    out = Scrubber([DIGITS]).body(body)
    assert out.startswith(b"retry: 99999999\n: ********\n") and not leaked(out, DIGITS)
    assert out == Scrubber([DIGITS]).body(body, exhaustive=True)
    headers = Scrubber([DIGITS]).headers({"retry-after": DIGITS, "x-echo": f"k={DIGITS}", "content-length": "12"})
    assert headers == {"retry-after": "99999999", "x-echo": "k=********", "content-length": "12"}

"""Hostile bytes are findings with a clear message, never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings, strategies as st

from conformance import Exchange, judge, load
from conformance.findings import FAIL, NA

from .conftest import stream_body, text_stream


def failed(body: bytes, **kw: object) -> dict[str, list[str]]:
    verdict = judge(Exchange(body, **kw))  # type: ignore[arg-type]
    for r in verdict.results:
        assert "could not judge" not in " ".join(f.message for f in r.findings), (r.rule, r.findings)
    return {r.rule: [f.message for f in r.findings] for r in verdict.results if r.status == FAIL}


def test_invalid_utf8() -> None:
    body = stream_body(*text_stream("caf")).replace(b'"caf"', b'"caf\xc3"')
    out = failed(body)
    assert list(out) == ["sse.utf8"]
    assert "Invalid UTF-8 at byte" in out["sse.utf8"][0]


def test_json_that_is_not_an_object() -> None:
    out = failed(stream_body(*text_stream("x"), "[1, 2]", "null", "{broken"))
    assert len(out["sse.json-payload"]) == 3
    assert "a JSON list, not an object" in out["sse.json-payload"][0]


def test_empty_body() -> None:
    out = failed(b"")
    assert "no event at all" in out["sse.done"][0]


def test_truncated_mid_chunk() -> None:
    body = stream_body(*text_stream("Hello", "world"))
    out = failed(body[: len(body) // 2])
    assert {"sse.done", "chunk.finish-reason-once", "usage.present-last"} <= set(out)


def test_a_20_mb_line_is_a_finding_and_the_rest_is_judged(tmp_path: Path) -> None:
    body = b"data: " + b"x" * 20_000_000 + b"\n\n" + stream_body(*text_stream("after"))
    path = tmp_path / "huge.sse"
    path.write_bytes(body)
    verdict = judge(load(path))
    result = verdict.result("capture.complete")
    assert result is not None and result.status == FAIL
    assert "\nReceived: a line of 20,000,006 bytes" in result.findings[0].message
    assert verdict.message[0].content == "after"  # the stream after the long line was judged


def test_non_2xx_html_page_is_judged_as_a_pre_stream_error() -> None:
    out = failed(b"<html><body>502 Bad Gateway</body></html>", status=502, headers={"content-type": "text/html"})
    assert list(out) == ["error.pre-stream-shape"]
    verdict = judge(Exchange(b"<html></html>", status=502))
    assert verdict.result("sse.done").status == NA  # type: ignore[union-attr]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(body: bytes) -> None:
    failed(body)


_pieces = st.sampled_from(
    [b"data: ", b"data:", b"\n", b"\r", b"\r\n", b"[DONE]", b"{", b"}", b'"choices":', b"[", b"]", b",", b"null",
     b'"delta":{"role":"assistant"}', b'"finish_reason":"stop"', b'"usage":{}', b'"error":{}', b"event: ping", b"id: 1", b":", b"\xef\xbb\xbf", b"\xff"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=40).map(b"".join), st.sampled_from(["sansa", "openai"]))
def test_stream_shaped_garbage_never_raises(body: bytes, profile: str) -> None:
    verdict = judge(Exchange(body, request={"tools": "x", "response_format": {"type": "json_schema"}}), profile)
    for r in verdict.results:
        assert "could not judge" not in " ".join(f.message for f in r.findings), (r.rule, r.findings)


def test_broken_schemas_in_the_request_give_nothing_to_judge_not_a_crash() -> None:
    from .conftest import USAGE, chunk

    request = {
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"$ref": "#/missing", "pattern": "("}}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "strin"}}},
    }
    calls = [
        chunk({"role": "assistant", "tool_calls": [{"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}),
        chunk({}, "tool_calls", usage=USAGE),
    ]
    verdict = judge(Exchange(stream_body(*calls), request=request))
    assert verdict.result("tools.arguments-schema").status == "pass"  # type: ignore[union-attr]
    assert verdict.result("structured.schema").status in ("pass", "n/a")  # type: ignore[union-attr]
    assert verdict.ok

"""Run-level failures get clear answers: a refused plain request is one failure with its
likely cause, a redirect names its Location, a 429 is retried as Retry-After asks and then
reported as rate limiting. Raw endpoints on loopback (tests/hostile.py), real httpx.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import time

import pytest

from conformance import judge
from conformance.findings import FAIL, NA
from conformance.live.config import load_settings
from conformance.live.runner import NotSent, new_client, refused, retry_after, run_scenario
from conformance.live.scenarios import SCENARIOS

from .conftest import stream_body, text_stream
from .hostile import head, raw_endpoint

ERROR_401 = json.dumps({"error": {"code": "invalid_api_key", "message": "Incorrect API key provided"}}).encode()


def _settings(url: str, **extra: object):  # type: ignore[no-untyped-def]
    return load_settings({"endpoint": url, "api_key_env": "MY_GATEWAY_KEY", "timeout": 10.0, **extra}, env={"MY_GATEWAY_KEY": "sk-test-123"})


def _failed(ex) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {r.rule: "\n".join(f.message for f in r.findings) for r in judge(ex).results if r.status == FAIL}


def test_a_401_on_the_plain_request_is_one_failure_naming_the_key_variable() -> None:
    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        w.write(head(401, "Unauthorized", ("content-type", "application/json"), body=ERROR_401))
        await w.drain()

    with raw_endpoint(answer) as ep:
        settings = _settings(ep.url)
        with new_client() as client:
            text = run_scenario(client, settings, SCENARIOS["text"])
            with pytest.raises(NotSent, match=r"refused the plain text request with status 401.*live/text::run.endpoint-usable"):
                run_scenario(client, settings, SCENARIOS["tool-call"])
            with pytest.raises(NotSent):
                run_scenario(client, settings, SCENARIOS["invalid-params"])  # would say 401, not 400: not sent
            bad_key = run_scenario(client, settings, SCENARIOS["bad-key"])  # still meaningful: the endpoint answers
            assert "run.endpoint-usable" in (refused(client) or "")
        sent = len(ep.requests)
    failed = _failed(text)
    assert list(failed) == ["run.endpoint-usable"]
    message = failed["run.endpoint-usable"]
    assert "status 401" in message and "Incorrect API key provided" in message and "$MY_GATEWAY_KEY" in message
    assert sent == 2 and bad_key.status == 401
    assert "sk-test-123" not in message


@pytest.mark.parametrize(
    ("status", "body", "cause"),
    [
        (404, b'{"error":{"message":"Not Found"}}', "/v1"),
        (400, b'{"error":{"code":"bad_request","message":"model gpt-x does not exist"}}', "the model name"),
        (503, b"<html>upstream connect error</html>", "the upstream"),
    ],
)
def test_each_refusal_names_its_likely_cause(status: int, body: bytes, cause: str) -> None:
    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        w.write(head(status, "Nope", ("content-type", "application/json"), body=body))
        await w.drain()

    with raw_endpoint(answer) as ep, new_client() as client:
        ex = run_scenario(client, _settings(ep.url), SCENARIOS["text"])
    result = judge(ex).result("run.endpoint-usable")
    assert result is not None and result.status == FAIL and cause in result.findings[0].message


def test_connection_refused_on_the_plain_request_is_one_failure_naming_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with new_client() as client:
        settings = _settings(f"http://127.0.0.1:{port}/v1")
        ex = run_scenario(client, settings, SCENARIOS["text"])
        with pytest.raises(NotSent):
            run_scenario(client, settings, SCENARIOS["bad-key"])  # nothing answers: nothing more is sent
    verdict = judge(ex)
    assert list(_failed(ex)) == ["run.endpoint-usable"]
    assert "the URL or port" in verdict.result("run.endpoint-usable").findings[0].message  # type: ignore[union-attr]
    assert verdict.result("capture.complete").status == NA  # type: ignore[union-attr]


def test_a_redirect_names_its_location() -> None:
    where = "https://gateway.example.com/v1/chat/completions"

    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        w.write(head(302, "Found", ("location", where), body=b""))
        await w.drain()

    with raw_endpoint(answer) as ep, new_client() as client:
        settings = _settings(ep.url)
        length = run_scenario(client, settings, SCENARIOS["length"])  # before text: judged by capture.complete
        text = run_scenario(client, settings, SCENARIOS["text"])
        sent = len(ep.requests)
    assert sent == 2  # redirects are answers: never followed
    for ex, rule in ((text, "run.endpoint-usable"), (length, "capture.complete")):
        message = _failed(ex)[rule]
        assert f"redirected (302) to {where}" in message and "Point --endpoint there" in message
    assert "capture.complete" not in _failed(text)  # one failure for the text scenario
    for ex in (text, length):  # a redirect has no error body to judge: not "The error body is not JSON: ''"
        assert "error.pre-stream-shape" not in _failed(ex)


def _rate_limited(retry: str, then_ok_after: int | None = None):  # type: ignore[no-untyped-def]
    body = json.dumps({"error": {"code": "rate_limit", "message": "Too many requests"}}).encode()
    ok = stream_body(*text_stream("hi"))

    async def answer(n: int, w: asyncio.StreamWriter) -> None:
        if then_ok_after is not None and n > then_ok_after:
            w.write(head(200, "OK", ("content-type", "text/event-stream"), body=ok))
        else:
            w.write(head(429, "Too Many Requests", ("content-type", "application/json"), ("retry-after", retry), body=body))
        await w.drain()

    return answer


def test_a_429_is_retried_as_retry_after_asks_then_reported_as_rate_limiting() -> None:
    with raw_endpoint(_rate_limited("0")) as ep, new_client() as client:
        settings = _settings(ep.url)
        ex = run_scenario(client, settings, SCENARIOS["text"])
        with pytest.raises(NotSent, match="rate limiting"):
            run_scenario(client, settings, SCENARIOS["length"])
        sent = len(ep.requests)
    assert sent == 4  # the request and 3 retries, then no more
    failed = _failed(ex)
    assert list(failed) == ["run.endpoint-usable"]
    assert "status 429" in failed["run.endpoint-usable"] and "rate limiting after 3 retries" in failed["run.endpoint-usable"]
    assert "Retry-After: 0" in failed["run.endpoint-usable"]


def test_a_429_that_clears_is_judged_as_the_answer_that_followed() -> None:
    date = email.utils.formatdate(time.time() + 1, usegmt=True)  # an HTTP date, about a second ahead
    with raw_endpoint(_rate_limited(date, then_ok_after=1)) as ep, new_client() as client:
        start = time.perf_counter()
        ex = run_scenario(client, _settings(ep.url), SCENARIOS["text"])
        took = time.perf_counter() - start
        sent = len(ep.requests)
    assert sent == 2 and ex.status == 200 and judge(ex).ok
    assert took < 5


def test_a_429_asking_for_longer_than_the_retry_budget_is_not_waited_for() -> None:
    with raw_endpoint(_rate_limited("3600")) as ep, new_client() as client:
        start = time.perf_counter()
        ex = run_scenario(client, _settings(ep.url), SCENARIOS["text"])
        took = time.perf_counter() - start
        sent = len(ep.requests)
    assert sent == 1 and took < 5
    assert "Retry-After: 3600" in _failed(ex)["run.endpoint-usable"]


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = 1_800_000_000.0
    assert retry_after("7") == 7.0
    assert retry_after(email.utils.formatdate(now + 5, usegmt=True), now=now) == pytest.approx(5.0)
    assert retry_after(email.utils.formatdate(now - 5, usegmt=True), now=now) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None and retry_after("-3") is None

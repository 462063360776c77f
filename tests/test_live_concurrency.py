"""Concurrent live runs (--concurrency N): captures sent ahead, N at a time, canary first;
variants in batches; the same verdicts, honest timings, the budget and 429s shared."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.errors import UsageError
from conformance.exchange import Exchange
from conformance.live.ahead import Ahead
from conformance.live.config import DEFAULT_CONCURRENCY, Settings, load_settings
from conformance.live.runner import NotSent, RunState, capture_request, new_client, run_scenario, send_ahead
from conformance.live.scenarios import SCENARIOS
from conformance.live.variants import default_budget, explore, first_batch, generate
from conformance.plugin import DEFAULT_VARIANTS

from .asgi import read_body, replaying
from .test_variants import quoted, refusing

reference = pytest.importorskip("conformance.reference")


class Watched:
    """An ASGI app in front of another: notes when each request arrives, its body, when its
    answer ended, and the most requests it ever had open at once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.arrived: list[tuple[float, dict[str, Any]]] = []
        self.spans: list[tuple[float, float]] = []  # (arrived, answer ended), as they end
        self.open = self.most = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        arrived = time.perf_counter()
        self.arrived.append((arrived, json.loads(body or b"{}")))
        replay = replaying(body, receive)
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            await self.app(scope, replay, send)
        finally:
            self.open -= 1
            self.spans.append((arrived, time.perf_counter()))


def paced(slow: float, fast: float, events: int = 10, slow_when: str = "slow") -> Any:
    """A tiny streaming endpoint: ``events`` text chunks, ``slow`` s apart when the request's
    text holds ``slow_when``, else ``fast`` s apart."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        pause = slow if slow_when in body.decode() else fast
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for n in range(events):
            if n:
                await asyncio.sleep(pause)
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                     "choices": [{"index": 0, "delta": {"content": f"w{n} "}, "finish_reason": None}]}
            await send({"type": "http.response.body", "body": f"data: {json.dumps(chunk)}\n\n".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    return app


def settings_for(url: str, **options: Any) -> Settings:
    return load_settings({"endpoint": url, "api_key_env": "K", **options}, env={"K": "sk-reference"})


@pytest.fixture
def serve() -> Iterator[Any]:
    stack: list[Any] = []

    def start(app: Any) -> str:
        ctx = reference.serve_in_thread(app)
        stack.append(ctx)
        return str(ctx.__enter__())

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


def chat(text: str) -> dict[str, Any]:
    return {"model": "m", "stream": True, "messages": [{"role": "user", "content": text}]}


# ---------------------------------------------------------------------------------------
# timing


def gaps(exchange: Exchange) -> list[float]:
    assert exchange.timing is not None
    times = [t for _, t in exchange.timing.arrivals]
    return [b - a for a, b in zip(times, times[1:])]


def test_a_slow_exchange_does_not_shift_a_fast_ones_timings(serve: Any) -> None:
    """Each capture's clock starts when its own request is sent: a fast answer captured
    beside a slow one, or queued behind two, has the arrival times it has alone."""
    url = serve(paced(slow=0.2, fast=0.01)) + "/chat/completions"
    cfg = settings_for(url)
    with new_client() as client:
        alone = capture_request(client, cfg, chat("fast"))
        with ThreadPoolExecutor(2) as pool:  # two slow ones take both threads; the fast one waits its turn
            slow = [pool.submit(capture_request, client, cfg, chat("slow")) for _ in range(2)]
            queued = pool.submit(capture_request, client, cfg, chat("fast"))
            started = time.perf_counter()
            queued_ex = queued.result()
            waited = time.perf_counter() - started
            slow_ex = [f.result() for f in slow]
    assert waited > 1.5  # it really was queued behind the slow ones (9 gaps of 0.2 s)
    for fast in (alone, queued_ex):
        assert fast.timing is not None and fast.timing.headers_at is not None
        assert fast.timing.arrivals[-1][1] < 0.6 and fast.timing.headers_at < 0.3
        assert max(gaps(fast)) < 0.15
    for ex in slow_ex:
        assert ex.timing is not None and 1.6 < ex.timing.arrivals[-1][1] < 3.5
        assert min(gaps(ex)[:-1]) > 0.1  # its own pace, not the fast one's ([DONE] follows the last chunk at once)


# ---------------------------------------------------------------------------------------
# the run's state, shared by threads


def test_overlapping_captures_spend_the_budget_once() -> None:
    """The budget bounds how long a run takes: two captures in flight together for 0.3 s
    spend 0.3 s of it, not 0.6 s."""
    state = RunState(budget=10.0)

    def busy() -> None:
        with state.in_progress():
            time.sleep(0.3)

    threads = [threading.Thread(target=busy) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    assert 9.7 < state.remaining() < 9.95  # the open stretch counts while it runs
    for t in threads:
        t.join()
    assert 0.28 < state.spent < 0.45
    state.wait(0.1)
    assert 0.38 < state.spent < 0.6


def test_a_429_holds_back_every_request_of_the_run(serve: Any) -> None:
    """A 429's Retry-After holds back the run's other requests too, not only its retry."""
    answered: list[float] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        answered.append(time.perf_counter())
        if len(answered) == 1:
            await send({"type": "http.response.start", "status": 429, "headers": [(b"retry-after", b"1"), (b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"error": {"code": "rate_limited", "message": "slow down"}}'})
            return
        await paced(0.0, 0.0, events=2)(scope, _body(b"{}"), send)

    url = serve(app) + "/chat/completions"
    cfg = settings_for(url)
    with new_client() as client:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(capture_request, client, cfg, chat("a"))
            time.sleep(0.3)  # the 429 has arrived by now: the second request must wait for the hold
            second = pool.submit(capture_request, client, cfg, chat("b"))
            assert first.result().status == second.result().status == 200
    assert len(answered) == 3
    assert answered[2] - answered[0] > 0.9 and answered[1] - answered[0] > 0.9  # nobody went before the second was up


def _body(data: bytes) -> Any:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": data, "more_body": False}

    return receive


# ---------------------------------------------------------------------------------------
# the canary, concurrently


def ahead_run(url: str, concurrency: int = 4, names: list[str] | None = None) -> dict[str, Exchange | str]:
    """Send the scenarios ahead and collect each one's exchange, or why it was not sent."""
    cfg = settings_for(url, concurrency=concurrency)
    out: dict[str, Exchange | str] = {}
    with new_client() as client:
        ahead = Ahead(client, concurrency)
        send_ahead(client, ahead)
        chosen = [SCENARIOS[n] for n in (names or list(SCENARIOS))]
        ahead.start([(cfg, s) for s in chosen])
        for scenario in chosen:
            try:
                out[scenario.name] = run_scenario(client, cfg, scenario)
            except NotSent as exc:
                out[scenario.name] = str(exc)
        ahead.close()
    return out


@pytest.mark.parametrize(("status", "sent"), [(500, 1), (401, 2)])
def test_a_refused_plain_request_stops_the_others_sent_concurrently(serve: Any, status: int, sent: int) -> None:
    """As one after another: a refused canary stops its dependents; a 401 still lets the
    wrong-key scenario go (the endpoint is reachable)."""

    async def refuse(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"error": {"code": "no", "message": "refused"}}'})

    app = Watched(refuse)
    out = ahead_run(serve(app))
    assert len(app.arrived) == sent
    assert isinstance(out["text"], Exchange) and out["text"].status == status
    not_sent = [n for n, v in out.items() if isinstance(v, str)]
    assert len(not_sent) == len(SCENARIOS) - sent
    assert all("see live/text::run.endpoint-usable" in str(out[n]) for n in not_sent)
    assert ("bad-key" in not_sent) == (status != 401)


def test_the_canarys_status_line_releases_the_others(serve: Any) -> None:
    """A 2xx status cannot be a refusal: the other scenarios go once the plain request's
    headers arrive, not after its last event; still, none goes before them."""
    app = Watched(paced(slow=0.2, fast=0.0, slow_when="rivers"))  # the plain request streams for ~1.8 s
    out = ahead_run(serve(app))
    first, *rest = [t for t, _ in app.arrived]
    assert "rivers" in json.dumps(app.arrived[0][1])  # the canary went first, alone
    text = out["text"]
    assert isinstance(text, Exchange) and text.timing is not None and text.timing.arrivals[-1][1] > 1.5
    assert rest and max(t - first for t in rest) < 1.0  # long before the canary ended
    assert all(isinstance(v, Exchange) for v in out.values())


def test_at_most_n_requests_are_in_flight(serve: Any) -> None:
    """The pool's size bounds what is in flight (and so the memory: each capture keeps at
    most max_body bytes)."""
    app = Watched(reference.create_app(profile="sansa", delay=0.02))
    out = ahead_run(serve(app), concurrency=3)
    assert len(app.arrived) == len(SCENARIOS) and all(isinstance(v, Exchange) for v in out.values())
    assert 2 <= app.most <= 3


def test_the_default_concurrency_sends_a_models_first_wave_at_once(serve: Any) -> None:
    """A default run of one model (the canary, every scenario, the first batch of variants):
    all of them are sent before any answer behind the canary ends, so a slow model costs its
    longest answer, not two waves of answers (with 8 in flight, half of them queued)."""
    app = Watched(reference.create_app(profile="sansa", delay=0.05))  # the shortest streamed answer takes ~0.35 s
    cfg = settings_for(serve(app))
    assert cfg.concurrency == DEFAULT_CONCURRENCY
    planned = first_batch(cfg, DEFAULT_VARIANTS, 0, default_budget(DEFAULT_VARIANTS))  # generated before: only the sending is timed
    assert len(planned) == DEFAULT_VARIANTS
    with new_client() as client:
        ahead = Ahead(client, cfg.concurrency)
        send_ahead(client, ahead)
        ahead.start([(cfg, s) for s in SCENARIOS.values()], lambda: [(cfg, planned)])
        ahead.wait_all()
        ahead.close()
    assert len(app.arrived) == len(SCENARIOS) + DEFAULT_VARIANTS
    streamed = [end for arrived, end in app.spans if end - arrived > 0.2]  # not bad-key, invalid-params: answered at once
    assert max(t for t, _ in app.arrived) < min(streamed)


# ---------------------------------------------------------------------------------------
# variants in batches


def outcome_of(url: str, concurrency: int, variants: int, seed_value: int, budget: int, known: dict[str, list[str]] | None = None) -> Any:
    with httpx.Client() as client:
        return explore(client, settings_for(url, concurrency=concurrency), variants, seed_value, budget, known)


def same_search(a: Any, b: Any) -> None:
    assert a.request == b.request
    assert (a.generated, a.shrinks, a.ok, a.flaky, a.known_failures, a.known_rules) == (b.generated, b.shrinks, b.ok, b.flaky, b.known_failures, b.known_rules)
    # sse.incremental judges arrival times: at delay 0 whether events come in one burst is the
    # machine's doing, in either mode; every other rule judges the bytes
    statuses = [{r.rule: r.status for r in o.verdict.results if r.rule != "sse.incremental"} if o.verdict else None for o in (a, b)]
    assert statuses[0] == statuses[1]


@pytest.mark.parametrize(("fault", "refuse", "seed_value"), [("unicode-usage-missing", None, 7), (None, quoted, 0), ("role-repeated", quoted, 0)])
def test_batches_find_the_same_smallest_failing_variant(serve: Any, fault: str | None, refuse: Any, seed_value: int) -> None:
    """The same seed, one at a time or in batches of 4: the same smallest request, the same
    verdict, the same counts; a batch may send at most 3 requests the search did not need."""
    results = {}
    for concurrency in (1, 4):
        inner = reference.create_app(profile="sansa", fault=fault, delay=0.0)
        app = Watched(refusing(inner, refuse) if refuse else inner)
        known = {"chunk.role-only-first": ["live/text"]} if fault == "role-repeated" else None
        results[concurrency] = (outcome_of(serve(app), concurrency, 25, seed_value, 104, known), len(app.arrived))
    (one, sent_one), (four, sent_four) = results[1], results[4]
    assert not one.ok and one.request is not None
    same_search(one, four)
    assert one.sent == sent_one and four.sent == sent_four
    assert sent_one <= sent_four <= sent_one + 3


def test_a_green_endpoint_gets_the_same_variants_in_batches(serve: Any) -> None:
    app = Watched(reference.create_app(profile="openai", delay=0.0))
    cfg = settings_for(serve(app), profile="openai", concurrency=4)
    with httpx.Client() as client:
        outcome = explore(client, cfg, 10, 5, 44)
    assert outcome.ok and outcome.sent == outcome.generated == 10 and not outcome.notes
    assert sorted(json.dumps(b, sort_keys=True) for _, b in app.arrived) == sorted(json.dumps(r, sort_keys=True) for r in generate(cfg, 10, 5))
    assert app.most <= 4


def test_batches_never_exceed_the_budget(serve: Any) -> None:
    app = Watched(reference.create_app(profile="sansa", fault="unicode-usage-missing", delay=0.0))
    outcome = outcome_of(serve(app), 4, 25, 7, 6)
    assert outcome.sent == len(app.arrived) <= 6
    assert any("budget" in n for n in outcome.notes)


# ---------------------------------------------------------------------------------------
# settings and the run


@pytest.mark.parametrize(
    ("options", "env", "expected"),
    [({}, {}, DEFAULT_CONCURRENCY), ({"concurrency": "2"}, {"SSE_CONFORMANCE_CONCURRENCY": "5"}, 2), ({}, {"SSE_CONFORMANCE_CONCURRENCY": "5"}, 5)],
)
def test_concurrency_is_a_setting(tmp_path: Path, options: dict[str, Any], env: dict[str, str], expected: int) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.sse-conformance]\nconcurrency = 3\n")
    assert load_settings(options, env=env, pyproject=tmp_path / "absent.toml").concurrency == expected
    if not options and not env:
        assert load_settings({}, env={}, pyproject=pyproject).concurrency == 3


@pytest.mark.parametrize("value", [0, 33, "four", 2.5, True])
def test_a_bad_concurrency_is_a_usage_error(value: Any) -> None:
    with pytest.raises(UsageError, match="concurrency"):
        load_settings({"concurrency": value}, env={}, pyproject=Path("/nonexistent/pyproject.toml"))


def compliance(pytester: pytest.Pytester, url: str, *args: str) -> dict[str, Any]:
    report = pytester.path / "compliance.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--endpoint", url, "--api-key-env", "K", "--sse-json", str(report), *args)
    assert result.ret in (0, 1), result.stdout.str()[-3000:]
    doc: dict[str, Any] = json.loads(report.read_text())
    return doc


def verdicts(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {e["id"]: {rule: r["status"] for rule, r in e["rules"].items()} for e in doc["exchanges"]}


def test_the_plugin_gives_the_same_verdicts_one_at_a_time_and_concurrently(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, serve: Any) -> None:
    """--sse-concurrency 1 sends in item order, each scenario once; 4 sends the same requests,
    each once, and the report holds the same verdicts."""
    monkeypatch.setenv("K", "sk-reference")
    docs, orders = {}, {}
    for n in ("1", "4"):
        app = Watched(refusing(reference.create_app(profile="sansa", fault="role-repeated", delay=0.002), quoted))
        docs[n] = compliance(pytester, serve(app), "--variants", "6", "--variants-budget", "200", "--sse-concurrency", n)
        orders[n] = [json.dumps(body, sort_keys=True) for _, body in app.arrived]
    assert verdicts(docs["1"]) == verdicts(docs["4"])
    one, four = docs["1"]["variants"], docs["4"]["variants"]
    same = ("ok", "generated", "shrinks", "new_rules", "known_failures", "known_rules", "flaky", "seed", "budget")
    assert not one["ok"] and {k: one[k] for k in same} == {k: four[k] for k in same}
    assert one["reproduce"].split(" -d ")[1] == four["reproduce"].split(" -d ")[1]  # the same smallest request
    assert one["sent"] <= four["sent"] <= one["sent"] + 3
    cfg = settings_for("http://127.0.0.1:9/v1")
    assert orders["1"][: len(SCENARIOS)] == [json.dumps(s.request(cfg), sort_keys=True) for s in SCENARIOS.values()]  # in the items' order
    from collections import Counter

    scenario_requests = set(orders["1"][: len(SCENARIOS)])
    assert Counter(o for o in orders["4"] if o in scenario_requests) == Counter(scenario_requests)  # each scenario once
    extra = Counter(orders["4"]) - Counter(orders["1"])
    assert not Counter(orders["1"]) - Counter(orders["4"]) and sum(extra.values()) <= 3  # the same requests, and the rest of one batch


def test_deselected_scenarios_are_not_sent_ahead(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, serve: Any) -> None:
    monkeypatch.setenv("K", "sk-reference")
    app = Watched(reference.create_app(profile="sansa", delay=0.0))
    doc = compliance(pytester, serve(app), "--variants", "0", "--sse-concurrency", "4", "-k", "live/length or live/structured")
    assert len(app.arrived) == 2
    assert {e["id"] for e in doc["exchanges"]} == {"live/length", "live/structured"}


def test_run_delay_is_for_the_embedded_endpoint_only(tmp_path: Path) -> None:
    import io

    from conformance.cli import main

    out, err = io.StringIO(), io.StringIO()
    assert main(["run", "--endpoint", "http://127.0.0.1:9/v1", "--delay", "0.05", "--reports", str(tmp_path)], out, err) == 2
    assert "--delay acts on the embedded endpoint" in err.getvalue()
    err = io.StringIO()
    assert main(["run", "--delay", "-1", "--reports", str(tmp_path)], out, err) == 2
    assert "--delay must be between 0 and 60" in err.getvalue()


def test_record_captures_concurrently_what_it_did_one_by_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serve: Any) -> None:
    import io

    from conformance.cli import main

    monkeypatch.setenv("K", "sk-reference")
    bodies = {}
    for n in ("1", "4"):
        app = Watched(reference.create_app(profile="sansa", delay=0.0))
        out, err = io.StringIO(), io.StringIO()
        assert main(["record", "--endpoint", serve(app), "--api-key-env", "K", "--concurrency", n, "--out", str(tmp_path / n)], out, err) == 0, err.getvalue()
        assert len(app.arrived) == len(SCENARIOS)
        bodies[n] = {p.name: p.read_bytes() for p in (tmp_path / n).glob("*.sse")}
    assert set(bodies["1"]) == set(bodies["4"]) == {f"{name}.sse" for name in SCENARIOS}
    assert bodies["1"]["bad-key.sse"] == bodies["4"]["bad-key.sse"]


def test_dataclass_replace_keeps_concurrency() -> None:
    cfg = settings_for("http://127.0.0.1:9/v1", concurrency=5)
    assert dataclasses.replace(cfg, model="other").concurrency == 5 and all(s.concurrency == 5 for s in cfg.per_model())

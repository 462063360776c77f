"""Request variants: generated from request.json, every rule on each, failures shrunk."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings

from conformance.live.config import Settings, load_settings
from conformance.live.variants import curl_command, explore, json_schemas, requests, summary
from conformance.schemas import get_schema

from .asgi import read_body, replaying

reference = pytest.importorskip("conformance.reference")
CFG = load_settings({"endpoint": "http://127.0.0.1:1/v1"}, env={})


@settings(max_examples=150, deadline=None)
@given(requests(CFG))
def test_every_variant_is_a_valid_request(request: dict[str, Any]) -> None:
    schema = get_schema("request.json")
    assert schema.is_valid(request), schema.first_error(request)
    assert request["stream"] is True and request["messages"][-1]["role"] == "user"


@settings(max_examples=100, deadline=None)
@given(json_schemas())
def test_generated_parameter_schemas_are_valid_schemas(schema: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["required"] == sorted(schema["properties"])


class Counting:
    """Wraps the reference app to count (and keep) the requests it is sent."""

    def __init__(self, app: Any) -> None:
        self.app, self.bodies = app, []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []

        async def recorded() -> Any:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):  # counted on arrival, before any answer goes out
                self.bodies.append(b"".join(chunks))
            return message

        await self.app(scope, recorded, send)


@pytest.fixture
def served() -> Iterator[Any]:
    def start(fault: str | None = None, profile: str = "sansa") -> tuple[Counting, Settings]:
        app = Counting(reference.create_app(profile=profile, fault=fault, delay=0.0))
        ctx = reference.serve_in_thread(app)
        url = ctx.__enter__()
        stack.append(ctx)
        return app, load_settings({"endpoint": url, "profile": profile, "api_key_env": "K"}, env={"K": "sk-reference"})

    stack: list[Any] = []
    yield start
    for ctx in stack:
        ctx.__exit__(None, None, None)


@pytest.mark.parametrize("profile", ["sansa", "openai"])
def test_the_conformant_endpoint_passes_all_variants(served: Any, profile: str) -> None:
    app, cfg = served(profile=profile)
    with httpx.Client() as client:
        outcome = explore(client, cfg, 25, 7, 104)
    assert outcome.ok, (outcome.request, [(r.rule, r.findings) for r in outcome.verdict.results if r.status == "fail"] if outcome.verdict else None)
    assert outcome.sent == len(app.bodies) == 25


def test_a_conditional_fault_is_found_and_shrunk(served: Any) -> None:
    app, cfg = served(fault="unicode-usage-missing")
    with httpx.Client() as client:
        outcome = explore(client, cfg, 25, 7, 104)
    assert not outcome.ok and outcome.request is not None and outcome.verdict is not None
    assert {r.rule for r in outcome.verdict.results if r.status == "fail"} == {"usage.present-last"}
    minimal = outcome.request
    assert set(minimal) == {"model", "stream", "messages"}  # every optional parameter shrunk away
    texts = [m["content"] for m in minimal["messages"]]
    assert len(texts) <= 2 and sum(len(t) for t in texts) <= 20 and not "".join(texts).isascii()
    assert outcome.sent == len(app.bodies) <= 104
    command = curl_command(cfg, minimal)
    assert command.startswith("curl -N ") and "$K" in command and "sk-reference" not in command


def test_the_budget_is_never_exceeded(served: Any) -> None:
    app, cfg = served(fault="unicode-usage-missing")
    with httpx.Client() as client:
        outcome = explore(client, cfg, 25, 7, 6)
    assert outcome.sent == len(app.bodies) <= 6
    assert any("budget" in n for n in outcome.notes)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_the_same_seed_sends_the_same_variants(served: Any, concurrency: int) -> None:
    """One at a time, in the same order; in batches, the same requests (a batch's requests
    reach the endpoint in whatever order their connections make)."""

    def sent(bodies: list[bytes]) -> list[str]:
        texts = [json.dumps(json.loads(b), sort_keys=True) for b in bodies]
        return texts if concurrency == 1 else sorted(texts)

    runs = []
    for _ in range(2):
        app, cfg = served()
        with httpx.Client() as client:
            explore(client, dataclasses.replace(cfg, concurrency=concurrency), 10, 42, 44)
        runs.append(sent(app.bodies))
    assert runs[0] == runs[1] and len(runs[0]) == 10
    app, cfg = served()
    with httpx.Client() as client:
        explore(client, dataclasses.replace(cfg, concurrency=concurrency), 10, 43, 44)
    assert sent(app.bodies) != runs[0]


def test_run_with_variants_reports_the_shrunk_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    # the green run with variants is test_report.py::test_a_live_run_records_its_variants_green_or_red's
    # (and 25 variants pass in-process: test_the_conformant_endpoint_passes_all_variants)
    base = [sys.executable, "-m", "conformance.cli", "run", "--variants", "25", "--seed", "3", "--reports", str(tmp_path), "-q"]
    red = subprocess.run([*base, "--fault", "unicode-usage-missing"], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert red.returncode == 1
    # the summary ends with the shrunk request and the curl that replays it
    assert "smallest failing variant: {" in red.stdout and "reproduce: curl -N" in red.stdout
    assert "new: usage.present-last" in red.stdout
    doc = json.loads((tmp_path / "compliance.json").read_text())
    variants = next(e for e in doc["exchanges"] if e["id"] == "live/variants")
    assert variants["rules"]["usage.present-last"]["status"] == "fail"
    assert set(variants["request"]) == {"model", "stream", "messages"}


def refusing(inner: Any, refuse: Any) -> Any:
    """An ASGI app that answers 500 to a request whose message texts ``refuse`` accepts and
    passes every other request to ``inner`` (the reference endpoint)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await inner(scope, receive, send)
        body = await read_body(receive)
        try:
            texts = [m.get("content") or "" for m in json.loads(body or b"{}").get("messages", [])]
        except (ValueError, AttributeError):
            texts = []
        if refuse([t for t in texts if isinstance(t, str)]):
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"error": {"code": "internal", "message": "unescaped quote"}}'})
            return
        await inner(scope, replaying(body, receive), send)

    return app


def test_a_refused_valid_variant_fails(served: Any) -> None:
    """An endpoint that answers 500 to non-ASCII prompts: the variants must not pass it."""
    app, cfg = served()
    app.app = refusing(app.app, lambda texts: not all(t.isascii() for t in texts))
    with httpx.Client() as client:
        outcome = explore(client, cfg, 25, 7, 104)
    assert not outcome.ok and outcome.verdict is not None
    assert {r.rule for r in outcome.verdict.results if r.status == "fail"} == {"request.variant-accepted"}


def quoted(texts: list[str]) -> bool:
    return any('"' in t for t in texts)


def fixed_failures(client: httpx.Client, cfg: Settings) -> dict[str, list[str]]:
    """What the fixed scenarios fail against the endpoint (the run's known failures)."""
    from conformance import judge
    from conformance.live.runner import run_scenario
    from conformance.live.scenarios import SCENARIOS

    known: dict[str, list[str]] = {}
    for name, scenario in SCENARIOS.items():
        for r in judge(run_scenario(client, cfg, scenario), cfg.profile).results:
            if r.status == "fail":
                known.setdefault(r.rule, []).append(f"live/{name}")
    return known


@pytest.mark.parametrize("seed_value", [0, 7])
def test_a_500_on_any_double_quote_is_caught(served: Any, seed_value: int) -> None:
    """The fixed scenarios send no double quote, so they all pass; a variant must find it."""
    app, cfg = served()
    app.app = refusing(app.app, quoted)
    with httpx.Client() as client:
        assert fixed_failures(client, cfg) == {}
        scenarios = len(app.bodies)
        outcome = explore(client, cfg, 25, seed_value, 104, known={})
    assert not outcome.ok and outcome.request is not None
    assert outcome.new_rules == ["request.variant-accepted"]
    assert quoted([m["content"] for m in outcome.request["messages"]])
    assert outcome.sent == len(app.bodies) - scenarios <= 104


def test_a_known_failure_does_not_stop_the_search(served: Any) -> None:
    """Every stream repeats its role (the fixed scenarios fail chunk.role-only-first too) and a
    prompt with a double quote gets a 500: the known rule is counted and noted, the search goes
    on, and the 500 is shrunk and reported."""
    app, cfg = served(fault="role-repeated")
    app.app = refusing(app.app, quoted)
    with httpx.Client() as client:
        known = fixed_failures(client, cfg)
        assert set(known) == {"chunk.role-only-first"} and "live/text" in known["chunk.role-only-first"]
        scenarios = len(app.bodies)
        outcome = explore(client, cfg, 25, 0, 104, known=known)
    assert not outcome.ok and outcome.verdict is not None and outcome.request is not None
    assert outcome.new_rules == ["request.variant-accepted"]
    assert outcome.known_failures >= 1 and set(outcome.known_rules) == {"chunk.role-only-first"}
    assert outcome.generated > outcome.known_failures  # it went on past the known failures
    assert any("also seen in live/text" in n for n in outcome.notes)
    assert quoted([m["content"] for m in outcome.request["messages"]])
    assert outcome.sent == len(app.bodies) - scenarios <= 104
    doc = summary(outcome)
    assert doc["known_failures"] == outcome.known_failures and doc["new_rules"] == ["request.variant-accepted"]


def test_only_known_failures_pass_with_a_count(served: Any) -> None:
    app, cfg = served(fault="role-repeated")
    with httpx.Client() as client:
        known = fixed_failures(client, cfg)
        outcome = explore(client, cfg, 10, 0, 44, known=known)
        blind = explore(client, cfg, 10, 0, 44)  # without the fixed results: the old behaviour
    # the fault repeats the role of text streams (not every variant is one)
    assert outcome.ok and outcome.generated == 10 and 1 <= outcome.known_failures <= 10
    assert outcome.known_rules == {"chunk.role-only-first": outcome.known_failures}
    assert not blind.ok and blind.new_rules == ["chunk.role-only-first"]


def test_running_out_of_budget_while_shrinking_is_not_called_flaky(served: Any) -> None:
    app, cfg = served(fault="role-repeated")
    with httpx.Client() as client:
        outcome = explore(client, cfg, 8, 0, 3)
    assert not outcome.ok and not outcome.flaky and outcome.sent <= 3
    assert any("budget" in note for note in outcome.notes)
    assert outcome.generated + outcome.shrinks == outcome.sent


def test_the_curl_command_carries_no_credential_from_the_url() -> None:
    cfg = load_settings({"endpoint": "https://user:pw@api.example.com/v1?api-key=QSECRET&api-version=2024-01"}, env={})
    command = curl_command(cfg, {"model": "m"})
    assert "QSECRET" not in command and "pw@" not in command and "api-version=2024-01" in command


def test_the_variants_item_learns_the_fixed_failures_of_the_run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest --endpoint: the scenarios run first, so the variants item knows their failures;
    a known failure is noted, the search goes on and the 500 on a double quote is reported."""
    monkeypatch.setenv("K", "sk-reference")
    app = refusing(reference.create_app(profile="sansa", fault="role-repeated", delay=0.0), quoted)
    report = pytester.path / "compliance.json"
    with reference.serve_in_thread(app) as url:
        result = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "--endpoint", url, "--api-key-env", "K", "--variants", "25", "--sse-json", str(report),
            "--sse-skip", "reasoning", "-q",
        )
    assert result.ret == 1
    doc = json.loads(report.read_text())
    v = doc["variants"]
    assert not v["ok"] and v["new_rules"] == ["request.variant-accepted"]
    assert v["known_failures"] >= 1 and set(v["known_rules"]) == {"chunk.role-only-first"}
    assert "$K" in v["reproduce"] and "sk-reference" not in json.dumps(doc)
    assert not any("counts as new" in n for n in v["notes"])  # the fixed results were there
    out = result.stdout.str()
    assert "broke only rules the fixed scenarios fail (chunk.role-only-first)" in out and "new: request.variant-accepted" in out
    reasoning = next(e for e in doc["exchanges"] if e["id"] == "live/reasoning")
    assert all(r["status"] == "skipped" and "skipped on the command line" in r["reason"] for r in reasoning["rules"].values())


def test_without_the_fixed_results_the_variants_say_so(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K", "sk-reference")
    report = pytester.path / "compliance.json"
    with reference.serve_in_thread(reference.create_app(profile="sansa", delay=0.0)) as url:
        result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--endpoint", url, "--api-key-env", "K", "--variants", "2",
                                              "--sse-json", str(report), "-k", "variants", "--sse-skip", "bad-key")
    assert result.ret == 0
    notes = json.loads(report.read_text())["variants"]["notes"]
    assert any("counts as new" in n and "live/text" in n and "live/bad-key" not in n for n in notes), notes
    assert "note: a failure shared with these fixed scenarios counts as new" in result.stdout.str()

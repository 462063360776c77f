"""Request variants: generated from request.json, every rule on each, failures shrunk."""

from __future__ import annotations

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
from conformance.live.variants import curl_command, explore, json_schemas, requests
from conformance.schemas import get_schema

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


def test_the_same_seed_sends_the_same_variants(served: Any) -> None:
    runs = []
    for _ in range(2):
        app, cfg = served()
        with httpx.Client() as client:
            explore(client, cfg, 10, 42, 44)
        runs.append([json.loads(b) for b in app.bodies])
    assert runs[0] == runs[1] and len(runs[0]) == 10
    app, cfg = served()
    with httpx.Client() as client:
        explore(client, cfg, 10, 43, 44)
    assert [json.loads(b) for b in app.bodies] != runs[0]


def test_run_with_variants_reports_the_shrunk_request(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSE_CONFORMANCE_")}
    base = [sys.executable, "-m", "conformance.cli", "run", "--variants", "25", "--seed", "3", "--reports", str(tmp_path), "-q"]
    green = subprocess.run(base, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert green.returncode == 0, green.stdout[-3000:]
    red = subprocess.run([*base, "--fault", "unicode-usage-missing"], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert red.returncode == 1
    assert "Minimal request:" in red.stdout and "Reproduce:" in red.stdout and "curl -N" in red.stdout
    doc = json.loads((tmp_path / "compliance.json").read_text())
    variants = next(e for e in doc["exchanges"] if e["id"] == "live/variants")
    assert variants["rules"]["usage.present-last"]["status"] == "fail"
    assert set(variants["request"]) == {"model", "stream", "messages"}


def test_a_refused_valid_variant_fails(served: Any) -> None:
    """An endpoint that answers 500 to non-ASCII prompts: the variants must not pass it."""
    app, cfg = served()

    inner = app.app

    async def refusing(scope: Any, receive: Any, send: Any) -> None:
        message = await receive()
        body = message.get("body", b"")
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        texts = [m.get("content") or "" for m in json.loads(body or b"{}").get("messages", [])]
        if not all(t.isascii() for t in texts):
            await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": b'{"error": {"code": "internal", "message": "ascii codec"}}'})
            return
        await inner(scope, replay, send)

    app.app = refusing
    with httpx.Client() as client:
        outcome = explore(client, cfg, 25, 7, 104)
    assert not outcome.ok and outcome.verdict is not None
    assert {r.rule for r in outcome.verdict.results if r.status == "fail"} == {"request.variant-accepted"}


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

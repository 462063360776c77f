"""The schemas are valid Draft 2020-12, have ids, and say what the spec says."""

from __future__ import annotations

import jsonschema
import pytest

from conformance.schemas import SCHEMA_BASE, all_schemas, get_schema

from .conftest import USAGE, chunk

NAMES = sorted(all_schemas())


def test_the_designed_schemas_exist() -> None:
    for name in ("chunk.json", "usage.json", "error.json", "stream-error.json", "tool-call-delta.json", "reasoning-detail.json", "request.json"):
        assert name in NAMES
    assert "chunk.openai.json" in NAMES and "error.openai.json" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_against_the_metaschema(name: str) -> None:
    schema = all_schemas()[name]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_BASE + name
    jsonschema.Draft202012Validator.check_schema(schema)


def both(name: str, instance: object) -> bool:
    """The fast and the detailed validator must agree: one decides, the other explains."""
    schema = get_schema(name)
    fast = schema.is_valid(instance)
    slow = not list(schema.errors(instance))
    assert fast == slow, (name, instance)
    return fast


def test_chunk_schema() -> None:
    assert both("chunk.json", chunk({"role": "assistant", "content": ""}))
    assert both("chunk.json", chunk({}, "stop", usage=USAGE, provider="x", system_fingerprint="fp"))  # open
    assert both("chunk.json", {**chunk(), "created": 1.0})  # an integer as JSON Schema counts
    assert not both("chunk.json", {**chunk(), "created": 1.5})
    assert not both("chunk.json", {**chunk(), "created": "1700000000"})
    assert not both("chunk.json", {**chunk(), "object": "chat.completion.done"})
    assert not both("chunk.json", chunk({"content": [{"type": "text", "text": "hi"}]}))
    missing = chunk()
    del missing["model"]
    assert not both("chunk.json", missing)
    # section 4 says only "array or null": the entries belong to the tools.* and reasoning rules
    assert both("chunk.json", chunk({"tool_calls": [{"index": "0"}], "reasoning_details": ["x"]}))
    assert not both("chunk.json", chunk({"tool_calls": {"index": 0}}))
    assert both("tool-call-delta.json", {"index": 0, "id": "c", "type": "function", "function": {"name": "f", "arguments": ""}})
    assert not both("tool-call-delta.json", {"index": 0, "function": {"arguments": {"x": 1}}})
    assert not both("tool-call-delta.json", {"index": 0, "id": 7})


def test_error_schemas_differ_by_profile() -> None:
    sansa = {"error": {"code": "insufficient_credits", "message": "Insufficient credits."}}
    openai = {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}
    assert both("error.json", sansa) and not both("error.json", openai)
    assert both("error.openai.json", openai) and both("error.openai.json", sansa)
    assert both("stream-error.json", {"error": {"code": "provider_error", "message": "x"}, "choices": [{"finish_reason": "error"}]})
    assert not both("stream-error.json", {"error": {"code": "provider_error", "message": "x"}, "choices": [{"finish_reason": "stop"}]})
    assert both("stream-error.openai.json", {"error": {"message": "x", "type": "server_error"}})


def test_usage_and_reasoning_schemas() -> None:
    assert both("usage.json", USAGE)
    assert not both("usage.json", {**USAGE, "prompt_tokens": -1})
    assert both("reasoning-detail.json", {"type": "reasoning.text", "text": "hm"})
    assert both("reasoning-detail.json", {"type": "some.future.type"})
    assert not both("reasoning-detail.json", {"type": "reasoning.encrypted"})
    assert not both("reasoning-detail.json", {"text": "no type"})


def test_request_schema() -> None:
    good = {
        "model": "sansa-auto",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True}},
    }
    assert both("request.json", good)
    assert not both("request.json", {"model": "m", "messages": []})
    assert not both("request.json", {**good, "temperature": 3})


def test_first_error_names_path_and_received_value() -> None:
    message = get_schema("chunk.json").first_error({**chunk(), "object": "chat.completion.done"})
    assert message is not None
    assert message.startswith("$.object:") and "chat.completion.done" in message


def test_a_signature_only_reasoning_text_item_is_legal() -> None:
    """Section 8 (2026-11-29): reasoning.text needs text or signature; null counts as absent."""
    assert both("reasoning-detail.json", {"type": "reasoning.text", "signature": "EqQB", "index": 0})
    assert both("reasoning-detail.json", {"type": "reasoning.text", "text": None, "signature": "EqQB"})
    assert both("reasoning-detail.json", {"type": "reasoning.text", "text": "hm", "signature": None})
    assert not both("reasoning-detail.json", {"type": "reasoning.text", "text": None, "signature": None})
    assert not both("reasoning-detail.json", {"type": "reasoning.text", "format": "unknown"})
    assert not both("reasoning-detail.json", {"type": "reasoning.text", "signature": 7})
    assert not both("reasoning-detail.json", {"type": "reasoning.text", "text": 7, "signature": "EqQB"})
